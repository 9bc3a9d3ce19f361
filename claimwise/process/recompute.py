"""Recomputing every open claim's clocks in batches (G3): the periodic job's bulk pass.

Set-based reads per batch (claims, process rows, lifecycle events, stored clocks), one pure plan per
claim (`clocks.plan_clocks`, the same function the per-claim sync uses), and only differences
written. Further per-batch evaluations join `PER_BATCH_EVALUATIONS`. Batches are independent, so
`workers` > 1 splits the claims by id range over processes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Count, Max, Min, Q

from claimwise.claims.models import ClaimEvent
from claimwise.process.choices import ClockState
from claimwise.process.clocks import (
    CLOCK_FIELDS,
    CLOCK_ORDER,
    CLOCK_ORDER_SQL,
    LIFECYCLE_KINDS,
    ClaimFacts,
    ClockChanges,
    PlannedClock,
    Transition,
    clocks_diff,
    plan_clocks,
    plan_open_clocks,
    urgency_of,
)
from claimwise.process.models import ClaimClock, ClaimProcess, ProcessDefinition, queue_rank
from claimwise.process.progress import (
    TERMINAL,
    DefinitionSpec,
    definition_spec,
    open_claims,
    processes_bind_missing,
)
from claimwise.process.review import evaluate_auto_review

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
    "queue_rank",
)


@dataclass(slots=True)
class ClaimBatch:
    """One batch of open claims, read set-based: what every per-batch evaluation works from."""

    now: dt.datetime
    facts: list[ClaimFacts]
    processes: dict[int, tuple[Any, ...]]  # claim id -> PROCESS_FIELDS row
    full: bool = False  # compare every stored row, final ones included


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


def _open_claim_rows(after: int, limit: int, upto: int | None = None) -> list[tuple[Any, ...]]:
    upto = upto if upto is not None else 2**62
    if connection.vendor == "postgresql":
        return _fast_rows(
            f"SELECT {', '.join(CLAIM_FIELDS)} FROM claims_claim"  # noqa: S608  # column names are ours
            " WHERE id > %s AND id <= %s AND NOT status = ANY(%s) ORDER BY id LIMIT %s",
            [after, upto, list(TERMINAL), limit],
        )
    qs = open_claims().filter(pk__gt=after, pk__lte=upto).order_by("pk")
    return list(qs.values_list(*CLAIM_FIELDS)[:limit])


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


def _clock_rows(ids: list[int], *, open_only: bool = False) -> list[tuple[Any, ...]]:
    """Stored clocks in plan order; `open_only`: running ones and those on a provisional calendar."""
    if connection.vendor == "postgresql":
        only = " AND (stopped_at IS NULL OR provisional)" if open_only else ""
        return _fast_rows(
            f"SELECT claim_id, id, {', '.join(CLOCK_FIELDS)} FROM process_claimclock"  # noqa: S608
            f" WHERE claim_id = ANY(%s::bigint[]){only} ORDER BY claim_id, {CLOCK_ORDER_SQL}",
            [_id_array(ids)],
        )
    qs = ClaimClock.objects.filter(claim_id__in=ids)
    if open_only:
        qs = qs.filter(Q(stopped_at__isnull=True) | Q(provisional=True))
    return list(qs.order_by("claim_id", *CLOCK_ORDER).values_list("claim_id", "id", *CLOCK_FIELDS))


def _final_counts(ids: list[int]) -> list[tuple[int, int]]:
    if connection.vendor == "postgresql":
        return [
            (r[0], r[1])
            for r in _fast_rows(
                "SELECT claim_id, count(*) FROM process_claimclock WHERE claim_id = ANY(%s::bigint[])"
                " AND stopped_at IS NOT NULL AND NOT provisional GROUP BY claim_id",
                [_id_array(ids)],
            )
        ]
    qs = ClaimClock.objects.filter(claim_id__in=ids, stopped_at__isnull=False, provisional=False)
    return list(qs.values("claim_id").annotate(n=Count("id")).values_list("claim_id", "n"))


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
    claims' next deadlines. Outside a full pass only open (and provisional) rows are read and
    compared; final rows are counted, and a claim whose count differs gets the full comparison."""
    changes: dict[int, ClockChanges] = {}
    process_updates: list[tuple[int, dt.datetime | None, str, str, int | None]] = []

    def compare(facts: ClaimFacts, plan: list[PlannedClock], rows: list[tuple[Any, ...]]) -> None:
        diff = clocks_diff(plan, rows)
        if diff:
            changes[facts.claim_id] = diff
        p = batch.processes[facts.claim_id]
        next_due, next_kind, urgency = urgency_of(plan, batch.now)
        due = (next_due, next_kind, urgency, queue_rank(urgency, facts.status))
        if (p[5], p[6], p[7], p[8]) != due:
            process_updates.append((p[1], *due))

    ids = [f.claim_id for f in batch.facts]
    recheck = batch.facts
    if not batch.full:
        rows = _grouped(ids, _clock_rows(ids, open_only=True))
        finals = dict(_final_counts(ids))
        recheck = []
        for facts in batch.facts:
            plan, final = plan_open_clocks(facts, batch.now)
            if final == finals.get(facts.claim_id, 0):
                compare(facts, plan, rows[facts.claim_id])
            else:
                recheck.append(facts)
    if recheck:
        ids = [f.claim_id for f in recheck]
        rows = _grouped(ids, _clock_rows(ids))
        for facts in recheck:
            compare(facts, plan_clocks(facts, batch.now), rows[facts.claim_id])
    written = _write_clock_changes(changes, batch.now)
    _update_rows(
        "process_claimprocess",
        ("next_due_at", "next_due_kind", "urgency", "queue_rank"),
        ("timestamptz", "varchar", "varchar", "smallint"),
        process_updates,
    )
    return written + len(process_updates)


def _grouped(ids: list[int], rows: list[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    grouped: dict[int, list[tuple[Any, ...]]] = {i: [] for i in ids}
    for row in rows:
        grouped[row[0]].append(row[1:])
    return grouped


# The evaluations run on every batch, in order; each takes the batch and returns the rows it wrote
# (straight-through review: the claims it moved on).
PER_BATCH_EVALUATIONS: list[BatchEvaluation] = [evaluate_clocks, evaluate_auto_review]


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
    now: dt.datetime,
    *,
    batch_size: int = 5000,
    evaluations: list[BatchEvaluation] | None = None,
    workers: int = 1,
    full: bool = False,
) -> RecomputeResult:
    """Recompute every open claim's clocks in one pass over the claims in id order. Each batch is a
    few set-based reads and commits on its own (a crash loses at most the batch in progress).
    `workers` > 1: that many processes, each over its own id range (PostgreSQL; forks this one).
    `full`: also recompare stopped clocks (after a calendar change or a new version of the rules)."""
    evaluations = PER_BATCH_EVALUATIONS if evaluations is None else evaluations
    if workers > 1 and connection.vendor == "postgresql":
        return _recompute_parallel(now, batch_size, evaluations, workers, full)
    return _recompute_range(now, batch_size, evaluations, full, 0, None)


def _recompute_range(
    now: dt.datetime, batch_size: int, evaluations: list[BatchEvaluation], full: bool, after: int, upto: int | None
) -> RecomputeResult:
    result = RecomputeResult()
    specs: dict[int, DefinitionSpec] = {}
    with _no_cyclic_gc():
        last = after
        while True:
            rows = _open_claim_rows(last, batch_size, upto)
            if not rows:
                break
            last = rows[-1][0]
            with transaction.atomic():
                batch = _load_batch(rows, now, specs)
                batch.full = full
                for evaluate in evaluations:
                    n = evaluate(batch)
                    result.per_evaluation[evaluate.__name__] = result.per_evaluation.get(evaluate.__name__, 0) + n
                    result.written += n
            result.claims += len(rows)
            result.batches += 1
    return result


# What forked workers inherit (evaluations need not be picklable).
_FORK_STATE: tuple[dt.datetime, int, list[BatchEvaluation], bool] | None = None


def _recompute_slice(bounds: tuple[int, int]) -> RecomputeResult:
    assert _FORK_STATE is not None
    now, batch_size, evaluations, full = _FORK_STATE
    try:
        return _recompute_range(now, batch_size, evaluations, full, *bounds)
    finally:
        connections.close_all()


def _recompute_parallel(
    now: dt.datetime, batch_size: int, evaluations: list[BatchEvaluation], workers: int, full: bool
) -> RecomputeResult:
    global _FORK_STATE
    span = open_claims().aggregate(lo=Min("pk"), hi=Max("pk"))
    if span["lo"] is None:
        return RecomputeResult()
    lo, hi = span["lo"] - 1, span["hi"]
    step = -(-(hi - lo) // workers)
    slices = [(a, min(a + step, hi)) for a in range(lo, hi, step)]
    connections.close_all()  # a forked child must open its own connection
    _FORK_STATE = (now, batch_size, evaluations, full)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = list(pool.map(_recompute_slice, slices))
    finally:
        _FORK_STATE = None
    total = RecomputeResult()
    for part in parts:
        total.claims += part.claims
        total.batches += part.batches
        total.written += part.written
        for name, n in part.per_evaluation.items():
            total.per_evaluation[name] = total.per_evaluation.get(name, 0) + n
    return total


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
