"""Hand-written SQL for hot paths (FNOL, token authentication), with the models' own conversions.

The ORM compiles every statement anew: for a submit that was most of the server's CPU (see
docs/performance.md). Here the SQL of a row shape is built once per process, and values go through
the same field methods the ORM uses (`get_db_prep_save` on the way in, the database converters and
`from_db_value` on the way out), so an instance loaded or saved here equals one the ORM would give.
Portable SQL only: the tests run on SQLite and PostgreSQL. Claimwise uses no model signals (see
claims.services), so none are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

M = TypeVar("M", bound=models.Model)
Converter = Callable[[Any, Any, Any], Any]


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _shape(model: type[models.Model], names: tuple[str, ...]) -> tuple[list[Any], list[tuple[Any, list[Converter]]]]:
    fields: list[Any] = [model._meta.get_field(name) for name in names]
    converters = []
    for field in fields:
        col = field.get_col(model._meta.db_table)
        converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
    return fields, converters


def columns(model: type[models.Model], names: Sequence[str] | None = None, alias: str = "") -> str:
    """`alias."col", ...` for a SELECT of these fields (default: all concrete fields)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + connection.ops.quote_name(f.column) for f in _fields(model, names))


def _fields(model: type[models.Model], names: Sequence[str] | None) -> list[Any]:
    return _shape(model, _names(model, names))[0]


def _names(model: type[models.Model], names: Sequence[str] | None) -> tuple[str, ...]:
    return _ordered(model, None if names is None else tuple(names))


@cache
def _ordered(model: type[models.Model], names: tuple[str, ...] | None) -> tuple[str, ...]:
    """The attnames in the model's field order (the order `Model.from_db` expects)."""
    every = tuple(f.attname for f in model._meta.concrete_fields)
    if names is None:
        return every
    unknown = set(names) - set(every)
    if unknown:
        raise ValueError(f"not concrete fields of {model.__name__}: {sorted(unknown)}")
    return tuple(name for name in every if name in names)


def instance(model: type[M], values: Sequence[Any], names: Sequence[str] | None = None) -> M:
    """A model instance from a row of `columns(model, names)`; fields left out load when read."""
    key = _names(model, names)
    conn = connections[DEFAULT_DB_ALIAS]  # once: `connection` is a thread-local proxy
    converted = []
    for value, (col, converters) in zip(values, _shape(model, key)[1], strict=True):
        for convert in converters:
            value = convert(value, col, conn)
        converted.append(value)
    return model.from_db(conn.alias, list(key), converted)


@cache
def _insert_sql(model: type[models.Model], names: tuple[str, ...]) -> tuple[str, bool]:
    quote = connection.ops.quote_name
    fields = _fields(model, names)
    returning = connection.features.can_return_columns_from_insert
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model
        table(model), ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields))
    )
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql, returning


def insert(obj: models.Model, *, then: tuple[str, Sequence[Any]] | None = None) -> None:
    """`obj.save()` of a new row (auto_now fields set, the primary key read back) with a statement
    built once per model. The primary key is inserted when it is set (an id taken beforehand).
    `then`: an UPDATE of another row to make with it; on PostgreSQL in the same statement (a
    data-modifying WITH: one round trip, for the audit chain's lock), elsewhere right after it."""
    model = type(obj)
    with_pk = obj.pk is not None
    names = tuple(f.attname for f in model._meta.concrete_fields if with_pk or not f.primary_key)
    fields = _fields(model, names)
    sql, returning = _insert_sql(model, names)
    conn = connections[DEFAULT_DB_ALIAS]  # once: `connection` is a thread-local proxy
    params = [f.get_db_prep_save(f.pre_save(obj, True), conn) for f in fields]
    together = then is not None and conn.vendor == "postgresql" and returning and not with_pk
    with conn.cursor() as cursor:
        if together:
            assert then is not None
            pk = conn.ops.quote_name(model._meta.pk.column)
            statement = f"WITH inserted AS ({sql}) {then[0]} RETURNING (SELECT {pk} FROM inserted)"  # noqa: S608
            cursor.execute(statement, [*params, *then[1]])
            row = cursor.fetchone()
            if row is None:
                raise RuntimeError(f"the row to update with this insert was not found: {then[0]}")
            obj.pk = model._meta.pk.to_python(row[0])
        else:
            cursor.execute(sql, params)
            if not with_pk:
                obj.pk = model._meta.pk.to_python(cursor.fetchone()[0] if returning else cursor.lastrowid)
            if then is not None:
                cursor.execute(*then)
    obj._state.adding = False
    obj._state.db = conn.alias


@cache
def _insert_many_sql(model: type[models.Model], names: tuple[str, ...], count: int) -> str:
    quote = connection.ops.quote_name
    row = "({})".format(", ".join(["%s"] * len(names)))
    return "INSERT INTO {} ({}) VALUES {}".format(  # noqa: S608 - names from the model
        table(model), ", ".join(quote(f.column) for f in _fields(model, names)), ", ".join([row] * count)
    )


def insert_many(objs: Sequence[models.Model], *, chunk: int = 500) -> None:
    """New rows of one model in one statement per `chunk`, primary keys not read back (for rows
    nobody refers to in the same transaction, such as a claim's clocks)."""
    if not objs:
        return
    model = type(objs[0])
    names = tuple(f.attname for f in model._meta.concrete_fields if not f.primary_key)
    fields = _fields(model, names)
    conn = connections[DEFAULT_DB_ALIAS]
    with conn.cursor() as cursor:
        for start in range(0, len(objs), chunk):
            part = objs[start : start + chunk]
            params = [f.get_db_prep_save(f.pre_save(obj, True), conn) for obj in part for f in fields]
            cursor.execute(_insert_many_sql(model, names, len(part)), params)
