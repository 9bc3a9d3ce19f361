"""The deadline job (G3): every few minutes, `clocks_tick`.

1. the 72-hour rule: a reported claim not registered in time is registered by the system;
2. every open claim's clocks are recomputed in batches (`clocks_recompute_all`): set-based reads, one
   pass, only differences written; further per-batch evaluations join `PER_BATCH_EVALUATIONS`;
3. warnings and breaches raise a timeline event and staff alerts, each exactly once (a conditional
   update claims the clock first, so a second tick, or a concurrent one, sends nothing again).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from claimwise.accounts.choices import Role
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.services import claim_register
from claimwise.core.audit import audit_record
from claimwise.core.calendar import calendar_refresh
from claimwise.process.choices import STATUTORY_CLOCKS, AlertKind, ClockState
from claimwise.process.clocks import (
    CLOCK_FIELDS,
    CLOCK_ORDER,
    CLOCK_ORDER_SQL,
    DEFAULT_FORCED_REGISTRATION_HOURS,
    INFORMATIONAL,
    LIFECYCLE_KINDS,
    ClaimFacts,
    ClockChanges,
    PlannedClock,
    Transition,
    clocks_diff,
    deadlines_forget,
    plan_clocks,
    urgency_of,
)
from claimwise.process.models import ClaimClock, ClaimProcess, ProcessDefinition, StaffAlert
from claimwise.process.progress import (
    TERMINAL,
    DefinitionSpec,
    definition_spec,
    open_claims,
    processes_bind_missing,
)

log = logging.getLogger(__name__)
S = ClockState
CLAIM_FIELDS = ("id", "line", "status", "complexity", "claimed_amount", "incident_at", "reported_at", "limitation_date")
PROCESS_FIELDS = (
    "claim_id",
    "id",
    "definition_id",
    "documents_complete_at",
    "callback_done_at",
    "next_due_at",
    "next_due_kind",
    "urgency",
)


# --- 2. recompute ----------------------------------------------------------------------------------


@dataclass(slots=True)
class ClaimBatch:
    """One batch of open claims, read set-based: what every per-batch evaluation works from."""

    now: dt.datetime
    facts: list[ClaimFacts]
    processes: dict[int, tuple[Any, ...]]  # claim id -> PROCESS_FIELDS row
    written: int = 0


BatchEvaluation = Callable[[ClaimBatch], int]


def _fast_rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """PostgreSQL reads for batches: one array parameter instead of thousands of placeholders, and
    psycopg's C loaders (Django's timestamp loader is pure Python and dominated the pass)."""
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    import psycopg

    # Binary results (Django's timestamp loader is registered for text only) need a server-binding
    # cursor; Django's connection makes client-binding ones.
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


_LIFECYCLE_LIST = sorted(LIFECYCLE_KINDS)


def _open_claim_rows(after: int, limit: int) -> list[tuple[Any, ...]]:
    if connection.vendor == "postgresql":
        return _fast_rows(
            f"SELECT {', '.join(CLAIM_FIELDS)} FROM claims_claim"  # noqa: S608  # column names are ours
            " WHERE id > %s AND NOT status = ANY(%s) ORDER BY id LIMIT %s",
            [after, list(TERMINAL), limit],
        )
    return list(open_claims().filter(pk__gt=after).order_by("pk").values_list(*CLAIM_FIELDS)[:limit])


def _id_array(ids: list[int]) -> str:
    """An id list as one array literal: psycopg's list dumper is pure Python, a join is not."""
    return "{" + ",".join(map(str, ids)) + "}"


def _process_rows(ids: list[int]) -> list[tuple[Any, ...]]:
    if connection.vendor == "postgresql":
        return _fast_rows(
            f"SELECT {', '.join(PROCESS_FIELDS)} FROM process_claimprocess WHERE claim_id = ANY(%s::bigint[])",  # noqa: S608
            [_id_array(ids)],
        )
    return list(ClaimProcess.objects.filter(claim_id__in=ids).values_list(*PROCESS_FIELDS))


def _event_rows(ids: list[int]) -> list[tuple[Any, ...]]:
    if connection.vendor == "postgresql":
        return _fast_rows(
            "SELECT claim_id, at, kind, to_status FROM claims_claimevent"
            " WHERE claim_id = ANY(%s::bigint[]) AND kind = ANY(%s) ORDER BY claim_id, at, id",
            [_id_array(ids), _LIFECYCLE_LIST],
        )
    return list(
        ClaimEvent.objects.filter(claim_id__in=ids, kind__in=LIFECYCLE_KINDS)
        .order_by("claim_id", "at", "pk")
        .values_list("claim_id", "at", "kind", "to_status")
    )


def _clock_rows(ids: list[int]) -> list[tuple[Any, ...]]:
    if connection.vendor == "postgresql":
        return _fast_rows(
            f"SELECT claim_id, id, {', '.join(CLOCK_FIELDS)} FROM process_claimclock"  # noqa: S608
            f" WHERE claim_id = ANY(%s::bigint[]) ORDER BY claim_id, {CLOCK_ORDER_SQL}",
            [_id_array(ids)],
        )
    return list(
        ClaimClock.objects.filter(claim_id__in=ids)
        .order_by("claim_id", *CLOCK_ORDER)
        .values_list("claim_id", "id", *CLOCK_FIELDS)
    )


def _load_batch(claim_rows: list[tuple[Any, ...]], now: dt.datetime, specs: dict[int, DefinitionSpec]) -> ClaimBatch:
    ids = [r[0] for r in claim_rows]
    processes = {r[0]: r for r in _process_rows(ids)}
    if len(processes) < len(ids):  # claims from before the process app: bind them now
        processes_bind_missing([i for i in ids if i not in processes], now)
        processes = {r[0]: r for r in _process_rows(ids)}
    wanted = {p[2] for p in processes.values() if p[2] is not None} - specs.keys()
    for definition in ProcessDefinition.objects.filter(pk__in=wanted):
        spec = definition_spec(definition)
        assert spec is not None
        specs[definition.pk] = spec
    history: dict[int, list[Transition]] = {i: [] for i in ids}
    for claim_id, at, kind, to_status in _event_rows(ids):
        history[claim_id].append(Transition(at, kind, to_status))
    facts = []
    for cid, line, status, complexity, amount, incident_at, reported_at, limitation in claim_rows:
        p = processes[cid]
        facts.append(
            ClaimFacts(
                claim_id=cid,
                line=line,
                status=status,
                complexity=complexity,
                claimed_amount=amount,
                incident_at=incident_at,
                reported_at=reported_at,
                limitation_date=limitation,
                history=history[cid],
                definition=specs.get(p[2]) if p[2] is not None else None,
                documents_complete_at=p[3],
                callback_done_at=p[4],
            )
        )
    return ClaimBatch(now=now, facts=facts, processes=processes)


def evaluate_clocks(batch: ClaimBatch) -> int:
    """Plan every claim's clocks, diff against the stored rows, write the differences and the
    claims' next deadlines."""
    ids = [f.claim_id for f in batch.facts]
    existing: dict[int, list[tuple[Any, ...]]] = {i: [] for i in ids}
    for row in _clock_rows(ids):
        existing[row[0]].append(row[1:])
    changes: dict[int, ClockChanges] = {}
    process_updates: list[tuple[int, dt.datetime | None, str, str]] = []
    for facts in batch.facts:
        plan = plan_clocks(facts, batch.now)
        diff = clocks_diff(plan, existing[facts.claim_id])
        if diff:
            changes[facts.claim_id] = diff
        p = batch.processes[facts.claim_id]
        due = urgency_of(plan, batch.now)
        if (p[5], p[6], p[7]) != due:
            process_updates.append((p[1], *due))
    written = _write_clock_changes(changes, batch.now)
    _update_rows(
        "process_claimprocess",
        ("next_due_at", "next_due_kind", "urgency"),
        ("timestamptz", "varchar", "varchar"),
        process_updates,
    )
    return written + len(process_updates)


# The evaluations run on every batch, in order. Add further ones here (e.g. straight-through review):
# each takes the batch and returns the rows it wrote.
PER_BATCH_EVALUATIONS: list[BatchEvaluation] = [evaluate_clocks]


@dataclass(slots=True)
class RecomputeResult:
    claims: int = 0
    batches: int = 0
    written: int = 0
    per_evaluation: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A pass allocates millions of short-lived tuples; the cyclic collector, triggered by the
    allocations, rescans every live row each time and doubled the pass. Nothing here makes cycles
    that reference counting would not free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def clocks_recompute_all(
    now: dt.datetime, *, batch_size: int = 5000, evaluations: list[BatchEvaluation] | None = None
) -> RecomputeResult:
    """Recompute every open claim's clocks in one pass over the claims in id order. Each batch is a
    few set-based reads and commits on its own (a crash loses at most the batch in progress)."""
    result = RecomputeResult()
    specs: dict[int, DefinitionSpec] = {}
    evaluations = PER_BATCH_EVALUATIONS if evaluations is None else evaluations
    with _no_cyclic_gc():
        last = 0
        while True:
            rows = _open_claim_rows(last, batch_size)
            if not rows:
                break
            last = rows[-1][0]
            with transaction.atomic():
                batch = _load_batch(rows, now, specs)
                for evaluate in evaluations:
                    n = evaluate(batch)
                    result.per_evaluation[evaluate.__name__] = result.per_evaluation.get(evaluate.__name__, 0) + n
                    result.written += n
            result.claims += len(rows)
            result.batches += 1
    return result


def _write_clock_changes(changes: dict[int, ClockChanges], now: dt.datetime) -> int:
    inserts = [(cid, c) for cid, ch in changes.items() for c in ch.inserts]
    _insert_clocks(inserts)
    updates = [(pk, *c) for ch in changes.values() for pk, c in ch.updates]
    _update_rows("process_claimclock", CLOCK_FIELDS, _CLOCK_TYPES, updates)
    cancels = [pk for ch in changes.values() for pk in ch.cancels]
    if cancels:
        ClaimClock.objects.filter(pk__in=cancels).update(state=S.CANCELLED, stopped_at=now, paused_at=None)
    return len(inserts) + len(updates) + len(cancels)


_CLOCK_TYPES = (
    "varchar",
    "varchar",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "integer",
    "timestamptz",
    "varchar",
    "varchar",
    "boolean",
)


def _insert_clocks(rows: list[tuple[int, PlannedClock]]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        # COPY: a first run inserts millions of rows; INSERT statements would dominate the pass.
        columns = ", ".join(("claim_id", *CLOCK_FIELDS))
        sql = f"COPY process_claimclock ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:  # type: ignore[attr-defined]
            for claim_id, c in rows:
                copy.write_row((claim_id, *c))
        return
    ClaimClock.objects.bulk_create([ClaimClock(claim_id=cid, **c._asdict()) for cid, c in rows], batch_size=500)


def _update_rows(table: str, columns: tuple[str, ...], types: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """UPDATE many rows by id, each with its own values: `UPDATE .. FROM (VALUES ..)` on PostgreSQL,
    `bulk_update` elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model: Any = ClaimClock if table == "process_claimclock" else ClaimProcess
        objs = []
        for row in rows:
            obj = model(pk=row[0])
            for name, value in zip(columns, row[1:], strict=True):
                setattr(obj, name, value)
            objs.append(obj)
        model.objects.bulk_update(objs, list(columns), batch_size=200)
        return
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    names = ", ".join(("id", *columns))
    placeholder = "(" + ", ".join(["%s::bigint", *(f"%s::{t}" for t in types)]) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            values = ", ".join([placeholder] * len(chunk))
            params = [v for row in chunk for v in row]
            sql = f"UPDATE {table} AS t SET {sets} FROM (VALUES {values}) AS v({names}) WHERE t.id = v.id"  # noqa: S608  # names are ours
            cursor.execute(sql, params)


# --- 1. forced registration ----------------------------------------------------------------------


@transaction.atomic
def claim_force_register(*, claim_id: int, hours: int, default_reserve: Decimal | None, now: dt.datetime) -> Claim:
    """Forced registration (系统强制立案, industry indicator): a reported claim not registered within
    the definition's hours (72 without one) is registered by the system, with the definition's
    default reserve (else the claimed amount)."""
    note = _("Registered by the system: not registered within %(hours)d hours of the report.") % {"hours": hours}
    claim = claim_register(actor=None, claim_id=claim_id, note=note)
    reserve = default_reserve if default_reserve is not None else claim.claimed_amount
    before = claim.reserve
    if reserve != before:
        Claim.objects.filter(pk=claim.pk).update(reserve=reserve)
        claim.reserve = reserve
    ClaimEvent.objects.create(
        claim=claim,
        kind="forced_registration",
        at=now,
        actor=None,
        from_status=ClaimStatus.REPORTED,
        to_status=ClaimStatus.REGISTERED,
        note=note,
        data={"rule": "forced_registration", "hours": hours, "reserve": str(reserve)},
        visible_to_customer=False,
    )
    audit_record(
        actor=None,
        action="claim.forced_registration",
        obj=claim,
        before={"reserve": before},
        after={"reserve": reserve, "hours": hours},
    )
    return claim


def force_registrations(now: dt.datetime) -> int:
    shortest = ProcessDefinition.objects.aggregate(m=Min("forced_registration_hours"))["m"]
    shortest = min(shortest or DEFAULT_FORCED_REGISTRATION_HOURS, DEFAULT_FORCED_REGISTRATION_HOURS)
    candidates = (
        Claim.objects.filter(status=ClaimStatus.REPORTED, reported_at__lte=now - dt.timedelta(hours=shortest))
        .order_by("pk")
        .values_list(
            "pk",
            "reported_at",
            "process__definition__forced_registration_hours",
            "process__definition__default_reserve",
        )
    )
    done = 0
    for claim_id, reported_at, hours, reserve in list(candidates):
        hours = hours if hours is not None else DEFAULT_FORCED_REGISTRATION_HOURS
        if reported_at + dt.timedelta(hours=hours) <= now:
            claim_force_register(claim_id=claim_id, hours=hours, default_reserve=reserve, now=now)
            done += 1
    return done


# --- 3. warnings and breaches --------------------------------------------------------------------


def _alertable(qs: Any) -> Any:
    return (
        qs.exclude(kind__in=INFORMATIONAL)
        .select_related("claim", "claim__process", "claim__process__definition")
        .order_by("pk")
    )


def _owner_role(clock: ClaimClock) -> str:
    process = getattr(clock.claim, "process", None)
    spec = definition_spec(process.definition) if process is not None else None
    key = clock.step_key or (process.step_key if process is not None else "")
    step = spec.step(key) if spec is not None and key else None
    return step.role if step is not None else Role.HANDLER


def _clock_label(clock: ClaimClock) -> str:
    if clock.step_key:
        return _("step “%(step)s”") % {"step": clock.step_key}
    return str(clock.get_kind_display())


def send_warnings(now: dt.datetime) -> int:
    """At the warning threshold: a staff-only timeline event and an alert to the owner."""
    sent = 0
    qs = ClaimClock.objects.filter(
        state=S.RUNNING, warned_at__isnull=True, warn_at__lte=now, due_at__gt=now, stopped_at__isnull=True
    )
    for clock in _alertable(qs).iterator(chunk_size=500):
        with transaction.atomic():
            if not ClaimClock.objects.filter(pk=clock.pk, warned_at__isnull=True).update(warned_at=now):
                continue  # another tick took it
            claim = clock.claim
            message = _("Claim %(number)s: %(clock)s is due %(due)s.") % {
                "number": claim.number,
                "clock": _clock_label(clock),
                "due": timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M"),
            }
            ClaimEvent.objects.create(
                claim=claim,
                kind="deadline_warning",
                at=now,
                from_status=claim.status,
                to_status=claim.status,
                note=message,
                data={
                    "clock": clock.pk,
                    "kind": clock.kind,
                    "step": clock.step_key,
                    "due_at": clock.due_at.isoformat(),
                },
                visible_to_customer=False,
            )
            _alert(clock, AlertKind.WARNING, message, now)
            audit_record(actor=None, action="clock.warning", obj=clock, after={"warned_at": now})
            sent += 1
    return sent


def mark_breaches(now: dt.datetime) -> int:
    """Running clocks past due, on any claim (a callback clock runs on after closure)."""
    return (
        ClaimClock.objects.filter(state=S.RUNNING, stopped_at__isnull=True, paused_at__isnull=True, due_at__lte=now)
        .exclude(kind__in=INFORMATIONAL)
        .update(state=S.BREACHED)
    )


def send_breaches(now: dt.datetime) -> int:
    """At breach: a timeline event, an alert to the owner and one to the escalation role."""
    sent = 0
    qs = ClaimClock.objects.filter(state=S.BREACHED, breached_at__isnull=True, stopped_at__isnull=True)
    for clock in _alertable(qs).iterator(chunk_size=500):
        with transaction.atomic():
            if not ClaimClock.objects.filter(pk=clock.pk, breached_at__isnull=True).update(breached_at=now):
                continue
            claim = clock.claim
            message = _("Claim %(number)s: %(clock)s was due %(due)s and is breached.") % {
                "number": claim.number,
                "clock": _clock_label(clock),
                "due": timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M"),
            }
            ClaimEvent.objects.create(
                claim=claim,
                kind="deadline_breached",
                at=now,
                from_status=claim.status,
                to_status=claim.status,
                note=message,
                data={
                    "clock": clock.pk,
                    "kind": clock.kind,
                    "step": clock.step_key,
                    "due_at": clock.due_at.isoformat(),
                },
                # The claimant is owed the statutory deadlines; internal promises stay internal.
                visible_to_customer=clock.kind in STATUTORY_CLOCKS,
            )
            _alert(clock, AlertKind.BREACH, message, now)
            StaffAlert.objects.create(
                claim=claim,
                kind=AlertKind.ESCALATION,
                recipient_role=clock.escalate_to or Role.SUPERVISOR,
                clock=clock,
                message=message[:300],
                created_at=now,
            )
            audit_record(actor=None, action="clock.breach", obj=clock, after={"breached_at": now})
            sent += 1
    return sent


def _alert(clock: ClaimClock, kind: str, message: str, now: dt.datetime) -> StaffAlert:
    """To the claim's handler; with no handler, to everyone of the owning step's role."""
    handler_id = clock.claim.handler_id
    return StaffAlert.objects.create(
        claim=clock.claim,
        kind=kind,
        recipient_id=handler_id,
        recipient_role="" if handler_id else _owner_role(clock),
        clock=clock,
        message=message[:300],
        created_at=now,
    )


# --- the job -------------------------------------------------------------------------------------


@dataclass(slots=True)
class TickResult:
    registered: int
    recompute: RecomputeResult
    breaches_marked: int
    warnings: int
    breaches: int


def clocks_tick(now: dt.datetime | None = None, *, batch_size: int = 5000) -> TickResult:
    """One run of the deadline job at `now` (tests pass a frozen time)."""
    now = now or timezone.now()
    calendar_refresh()  # operators' calendar entries made in other processes
    deadlines_forget()
    registered = force_registrations(now)
    recompute = clocks_recompute_all(now, batch_size=batch_size)
    marked = mark_breaches(now)
    result = TickResult(registered, recompute, marked, send_warnings(now), send_breaches(now))
    log.info("clocks tick %s", result)
    return result


@db_periodic_task(crontab(minute="*/5"))
def clocks_tick_task() -> None:
    clocks_tick()
