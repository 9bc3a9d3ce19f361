"""The audit trail (G2): `audit_record` appends, `audit_verify` proves nothing was changed or removed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, Protocol
from uuid import UUID

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from claimwise.core import rows
from claimwise.core.context import request_id_var
from claimwise.core.models import AuditEntry, AuditHead

GENESIS = "0" * 64


class Actor(Protocol):
    pk: Any

    def get_username(self) -> str: ...


def _plain(value: Any) -> Any:
    if value is None or type(value) in (str, int, bool):  # most values, answered first
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):  # JSON floats do not round-trip across databases exactly
        return repr(value)
    return str(value)


def snapshot(instance: models.Model, fields: list[str] | None = None, *, secret: tuple[str, ...] = ()) -> dict:
    """A JSON-stable picture of a row for before/after. Secret fields are recorded as changed-or-not
    only: the audit trail must not become a copy of the personal data it protects."""
    result: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        name = field.attname
        if fields is not None and field.name not in fields and name not in fields:
            continue
        value = getattr(instance, name)
        result[name] = "***" if field.name in secret and value else _plain(value)
    return result


def _digest(prev_hash: str, entry: dict[str, Any]) -> str:
    payload = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def _content(e: AuditEntry) -> dict[str, Any]:
    return _payload(e, e.seq, e.at.astimezone(dt.UTC).isoformat(timespec="microseconds"))


def _payload(e: AuditEntry, seq: Any, at: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at,
        "actor_id": e.actor_id,
        "actor_label": e.actor_label,
        "request_id": e.request_id,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "before": e.before,
        "after": e.after,
    }


LINKED_FIELDS = ("actor_id", "actor_label", "request_id", "action", "object_type", "object_id", "before", "after")


@cache
def _link_sql() -> str:
    """PostgreSQL: lock the head, then number, time and hash the entry, insert it and move the head,
    in one statement, so the chain lock is held for this statement and the commit only. The hash is
    `_digest`'s: SHA-256 of the previous hash and the entry's canonical JSON, which Python prepares
    around the two values that only the locked head gives (time and sequence number)."""
    quote = connection.ops.quote_name
    head, entries = quote(AuditHead._meta.db_table), quote(AuditEntry._meta.db_table)
    columns = ", ".join(quote(field.column) for field in _linked_fields())
    marks = ", ".join(["%s"] * len(LINKED_FIELDS))
    return f"""
        WITH head AS (
            SELECT seq + 1 AS seq, hash AS prev_hash, clock_timestamp() AS at FROM {head} WHERE id = 1 FOR UPDATE
        ), linked AS (
            SELECT seq, at, prev_hash, encode(sha256(convert_to(
                prev_hash || %s || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
                || %s || seq || %s, 'UTF8')), 'hex') AS hash
            FROM head
        ), entry AS (
            INSERT INTO {entries} ({columns}, seq, at, prev_hash, hash)
            SELECT {marks}, seq, at, prev_hash, hash FROM linked RETURNING id
        )
        UPDATE {head} SET seq = linked.seq, hash = linked.hash FROM linked WHERE {head}.id = 1
        RETURNING (SELECT id FROM entry), linked.seq, linked.at, linked.prev_hash, linked.hash"""  # noqa: S608


def _link_postgresql(entry: AuditEntry) -> bool:
    """Append `entry` with `_link_sql`; False when there is no head yet (the first entry ever)."""
    at_mark, seq_mark = f"at-{uuid.uuid4().hex}", f"seq-{uuid.uuid4().hex}"
    payload = json.dumps(_payload(entry, seq_mark, at_mark), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    before_at, rest = payload.split(at_mark)  # the time goes inside its quotes,
    before_seq, after_seq = rest.split(json.dumps(seq_mark))  # the number replaces its string
    values = [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in _linked_fields()]
    with connection.cursor() as cursor:
        cursor.execute(_link_sql(), [before_at, before_seq, after_seq, *values])
        row = cursor.fetchone()
    if row is None:
        return False
    entry.pk, entry.seq, entry.at, entry.prev_hash, entry.hash = row
    entry._state.adding, entry._state.db = False, connection.alias
    if entry.hash != _digest(entry.prev_hash, _content(entry)):  # never a chain that would not verify
        raise RuntimeError("the database's audit hash differs from audit_verify's")
    return True


@cache
def _linked_fields() -> list[Any]:
    return [AuditEntry._meta.get_field(name) for name in LINKED_FIELDS]


def audit_record(
    *,
    actor: Actor | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: Any = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Append one entry to the chain inside the caller's transaction. Call it as the last write of a
    service: it holds the chain lock until commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the writing transaction")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    entry = AuditEntry(
        actor_id=getattr(actor, "pk", None),
        actor_label=actor.get_username() if actor is not None else "system",
        request_id=request_id_var.get(),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
    )
    # Every append waits for this lock until the holder commits: only the linking happens under it.
    if connection.vendor == "postgresql" and _link_postgresql(entry):
        return entry
    # Elsewhere (and for the first entry): hand-written statements (core.rows), little Python under the lock.
    head_table = rows.table(AuditHead)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash FROM {head_table} WHERE id = 1{lock}")  # noqa: S608
        head = cursor.fetchone()
        if head is None:  # the first entry ever
            created = AuditHead.objects.select_for_update().get_or_create(pk=1)[0]
            head = (created.seq, created.hash)
        entry.seq, entry.at, entry.prev_hash = head[0] + 1, timezone.now(), head[1]
        entry.hash = _digest(entry.prev_hash, _content(entry))
        head_update = f"UPDATE {head_table} SET seq = %s, hash = %s WHERE id = 1"  # noqa: S608
        rows.insert(entry, then=(head_update, [entry.seq, entry.hash]))
    return entry


PROBLEM_LABELS = {
    "missing": gettext_lazy("an entry is missing"),
    "broken link": gettext_lazy("an entry does not link to the one before it"),
    "tampered": gettext_lazy("an entry was changed"),
}


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""


def audit_verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order. Reports the first entry whose content was changed, that is missing
    (a gap in sequence numbers), or that does not link to its predecessor, and a head that no
    longer matches the last entry (entries removed from the end)."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    qs = AuditEntry.objects.order_by("seq")
    last_seq = 0
    while True:
        chunk = list(qs.filter(seq__gt=last_seq)[:batch])
        if not chunk:
            break
        for e in chunk:
            if e.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, "missing")
            if e.prev_hash != prev_hash:
                return VerifyResult(False, checked, e.seq, "broken link")
            if _digest(prev_hash, _content(e)) != e.hash:
                return VerifyResult(False, checked, e.seq, "tampered")
            prev_hash, expected_seq, checked = e.hash, e.seq + 1, checked + 1
        last_seq = chunk[-1].seq
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return VerifyResult(False, checked, expected_seq, "missing")
    return VerifyResult(True, checked)
