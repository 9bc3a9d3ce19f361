"""Bulk inserts for the demo data generator: `COPY` on PostgreSQL, one prepared `executemany` on SQLite.

`bulk_create` spends most of its time compiling SQL and preparing each value through the field
(measured: ~75% of a 10,000-claim seed). Here each column's conversion is chosen once per table,
from the model's own field types and with the same storage format Django uses (aware datetimes
as naive UTC text on SQLite, JSON text, encrypted text), so the ORM reads the rows back exactly as
if it had written them. Only the seed uses this; every other write goes through the services.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from django.db import connection, models

from claimwise.core.crypto import EncryptedTextField, encrypt

Converter = Callable[[Any], Any]
UTC = dt.UTC


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    # Django's SQLite backend: aware datetimes become naive UTC, stored as str(datetime), which is
    # isoformat(" ") without the offset ("2024-05-01 08:30:00[.ffffff]").
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ")[:-6]


def _plain_str(value: Any) -> Any:
    # Choices are str-enums; drivers may adapt enums by name, so hand them the plain value.
    return value if value is None or type(value) is str else str(value)


def _same(value: Any) -> Any:
    return value


def _encrypted(value: Any) -> Any:
    return value if value in (None, "") else encrypt(str(value))


def _json(value: Any) -> str:
    return json.dumps(value) if value else "{}" if isinstance(value, dict) else json.dumps(value)


def _converter(field: models.Field, vendor: str) -> Converter | None:
    if isinstance(field, EncryptedTextField):
        return _encrypted
    if isinstance(field, models.JSONField):
        return _json
    if isinstance(field, models.DateTimeField):
        return _sqlite_datetime if vendor == "sqlite" else None
    if isinstance(field, models.DateField):
        return (lambda v: None if v is None else v.isoformat()) if vendor == "sqlite" else None
    if isinstance(field, models.DecimalField):
        return (lambda v: None if v is None else str(v)) if vendor == "sqlite" else None
    if isinstance(field, models.CharField | models.TextField | models.FileField) and vendor != "sqlite":
        return _plain_str  # sqlite3 binds str subclasses as text
    return None


class Table:
    """One model's columns, defaults and per-column conversions. Rows are dicts by attname; the
    columns written are the ones the first row has (the primary key is left to the database when
    the rows do not carry it), other fields take their Python default."""

    def __init__(self, model: type[models.Model], now: dt.datetime) -> None:
        self.model = model
        self.vendor = connection.vendor
        self.fields = list(model._meta.concrete_fields)
        self.pk = model._meta.pk.attname  # type: ignore[union-attr]
        self.defaults: dict[str, Any] = {}
        for f in self.fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self.defaults[f.attname] = now
            elif f.has_default():
                self.defaults[f.attname] = f.get_default()
            elif f.null:
                self.defaults[f.attname] = None
        self.table = connection.ops.quote_name(model._meta.db_table)
        self._plans: dict[frozenset[str], tuple[tuple[str, ...], str]] = {}

    def _plan(self, present: frozenset[str]) -> tuple[tuple[str, ...], str]:
        plan = self._plans.get(present)
        if plan is None:
            names = tuple(f.attname for f in self.fields if f.attname in present or f.attname != self.pk)
            missing = [n for n in names if n not in present and n not in self.defaults]
            if missing:
                raise ValueError(f"seed rows for {self.model._meta.label} lack {missing}")
            qn = connection.ops.quote_name
            column_sql = ", ".join(qn(f.column) for f in self.fields if f.attname in names)
            plan = self._plans[present] = (names, column_sql)
        return plan

    def tuples(self, rows: Iterable[dict[str, Any]]) -> tuple[tuple[str, ...], list[tuple]]:
        """Rows as value tuples ready for `insert`: plain Python values only, so they cross a process
        boundary cheaply."""
        out: list[tuple] = []
        rows = iter(rows)
        first = next(rows, None)
        if first is None:
            return (), out
        names, _sql = self._plan(frozenset(first))
        missing = {n: self.defaults[n] for n in names if n not in first}
        get = itemgetter(*names)
        by_name = {f.attname: f for f in self.fields}
        converters = [(i, c) for i, n in enumerate(names) if (c := _converter(by_name[n], self.vendor)) is not None]
        for row in (first, *rows):
            values = list(get({**missing, **row} if missing else row))
            for i, convert in converters:
                values[i] = convert(values[i])
            out.append(tuple(values))
        return names, out

    def converter(self, attname: str) -> Converter:
        """How this column's values are stored (the identity when the driver takes them as they are)."""
        field = next(f for f in self.fields if f.attname == attname)
        return _converter(field, self.vendor) or _same

    def takes(self, names: tuple[str, ...]) -> bool:
        """Whether tuples of exactly these fields are complete rows (all but an automatic primary
        key): a field added to the model later makes the caller fall back to dict rows."""
        return set(names) | {self.pk} == {f.attname for f in self.fields} | {self.pk}

    def insert(self, names: tuple[str, ...], data: list[tuple]) -> int:
        if not data:
            return 0
        by_name = {f.attname: f for f in self.fields}
        column_sql = ", ".join(connection.ops.quote_name(by_name[n].column) for n in names)
        if self.vendor == "postgresql":
            raw = connection.connection  # psycopg 3, inside Django's transaction
            with raw.cursor() as cursor, cursor.copy(f"COPY {self.table} ({column_sql}) FROM STDIN") as copy:
                for values in data:
                    copy.write_row(values)
        else:
            marks = ", ".join(["%s"] * len(names))
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {self.table} ({column_sql}) VALUES ({marks})", data)  # noqa: S608
        return len(data)
