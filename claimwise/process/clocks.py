"""Deadline clocks (G3, P6): every clock a claim should have, computed in one place.

`plan_clocks(facts, now)` is pure: from a claim's lifecycle history, its definition and `now` it
returns every clock the claim should have, with its state. The same function serves one claim
(`clocks_sync`, called on every claim change) and a million (`recompute.clocks_recompute_all`), so the
rules exist once. `clocks_apply` then writes only what differs from the rows already there.

Statutory clocks (PRC Insurance Law) exist on every claim, with or without a definition; presets
and step clocks come from the claim's definition. A clock is identified by (kind, step, start): a
restarted clock (a fast track whose materials became complete later) is a new row, and the old one
is cancelled. Clock rows are derived from audited claim changes, in the same transaction, so they
carry no audit entry of their own; the alerts they raise do (see tasks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.claims.choices import Complexity
from claimwise.claims.lifecycle import Action, ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.selectors import claim_get
from claimwise.core import calendar, rows
from claimwise.core.audit import audit_record
from claimwise.core.choices import LineOfBusiness
from claimwise.core.errors import IllegalTransition, PermissionDenied
from claimwise.process.choices import STATUTORY_CLOCKS, ClockKind, ClockState, LimitUnit, Urgency
from claimwise.process.models import ClaimClock, ClaimProcess, ProcessStep, localized, queue_rank
from claimwise.process.progress import AWAITING, DefinitionSpec, definition_spec, process_for

K = ClockKind
S = ClockState
LIFECYCLE_KINDS = frozenset({"submitted", *Action.values})
DECISIONS = frozenset({Action.APPROVE, Action.APPROVE_PARTIAL, Action.DENY})
PAYABLE_DECISIONS = frozenset({Action.APPROVE, Action.APPROVE_PARTIAL})
ENDINGS = frozenset({Action.WITHDRAW, Action.CLOSE})
DEFAULT_WARN_PERCENT = 75
DEFAULT_FORCED_REGISTRATION_HOURS = 72
OPEN_STATES = frozenset({S.RUNNING, S.PAUSED, S.BREACHED})
# Informational clocks: shown, never alerting, never the claim's "next deadline".
INFORMATIONAL = frozenset({K.LIMITATION})
CLOCK_FIELDS = (
    "kind",
    "step_key",
    "started_at",
    "due_at",
    "warn_at",
    "paused_at",
    "paused_seconds",
    "stopped_at",
    "state",
    "escalate_to",
    "provisional",
)


# Stored rows read in the plan's order; PostgreSQL compares the strings bytewise ("C"), as Python does.
CLOCK_ORDER = ("kind", "step_key", "started_at")
CLOCK_ORDER_SQL = 'kind COLLATE "C", step_key COLLATE "C", started_at'


class Transition(NamedTuple):
    at: dt.datetime
    kind: str  # "submitted" or a lifecycle action value
    to_status: str


class PlannedClock(NamedTuple):
    """One clock as it should be; field order is CLOCK_FIELDS."""

    kind: str
    step_key: str
    started_at: dt.datetime
    due_at: dt.datetime
    warn_at: dt.datetime | None
    paused_at: dt.datetime | None
    paused_seconds: int
    stopped_at: dt.datetime | None
    state: str
    escalate_to: str
    provisional: bool


@dataclass(slots=True)
class ClaimFacts:
    claim_id: int
    line: str
    status: str
    complexity: str
    claimed_amount: Decimal
    incident_at: dt.datetime
    reported_at: dt.datetime
    limitation_date: dt.date
    history: Sequence[Transition]  # lifecycle transitions in time order, "submitted" first
    definition: DefinitionSpec | None
    documents_complete_at: dt.datetime | None = None
    callback_done_at: dt.datetime | None = None


# Day-unit deadlines depend only on the local start date: memoised for batch runs.
_DEADLINES: dict[tuple[int, int, str], tuple[dt.datetime, bool]] = {}


def _deadline(start: dt.datetime, value: int, unit: str) -> tuple[dt.datetime, bool]:
    if unit == LimitUnit.HOURS:
        return start + dt.timedelta(hours=value), False
    # The China day number (UTC+8 all year, no daylight saving since 1991), without a zone conversion.
    key = (int((start.timestamp() + 28800) // 86400), value, unit)
    found = _DEADLINES.get(key)
    if found is None:
        if len(_DEADLINES) > 200_000:
            _DEADLINES.clear()
        found = _DEADLINES[key] = calendar.deadline(start, value, unit)
    return found


def deadlines_forget() -> None:
    """After a calendar change: memoised deadlines may be wrong."""
    _DEADLINES.clear()


class _Planner:
    def __init__(self, facts: ClaimFacts, now: dt.datetime, *, count_final: bool = False) -> None:
        self.f, self.now = facts, now
        self.out: list[PlannedClock] = []
        # Counting mode (bulk pass): stopped clocks on the official calendar are only counted.
        self.count_final, self.final = count_final, 0
        self.pauses: list[tuple[dt.datetime, dt.datetime | None]] = []
        start: dt.datetime | None = None
        for t in facts.history:
            if t.to_status == AWAITING and start is None:
                start = t.at
            elif t.to_status != AWAITING and start is not None:
                self.pauses.append((start, t.at))
                start = None
        if start is not None:
            self.pauses.append((start, None))

    def first(self, kinds: Iterable[str], after: dt.datetime, before: dt.datetime | None) -> dt.datetime | None:
        for t in self.f.history:
            if t.at >= after and (before is None or t.at < before) and t.kind in kinds:
                return t.at
        return None

    def paused(self, start: dt.datetime, stop: dt.datetime | None) -> tuple[int, dt.datetime | None]:
        """Seconds paused between start and stop (or now), and when an ongoing pause began."""
        total, paused_at = 0.0, None
        until = stop or self.now
        for ps, pe in self.pauses:
            if pe is None and stop is None and ps <= until:
                paused_at = max(ps, start)  # ongoing: the due time moves once the pause ends
                continue
            lo, hi = max(ps, start), min(pe or until, until)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return int(total), paused_at

    def add(
        self,
        kind: str,
        start: dt.datetime,
        value: int,
        unit: str,
        *,
        done: dt.datetime | None = None,
        ended: dt.datetime | None = None,
        pausable: bool = False,
        step_key: str = "",
        warn_percent: int | None = DEFAULT_WARN_PERCENT,
        escalate_to: str = Role.SUPERVISOR,
    ) -> None:
        """`done`: the duty was fulfilled then (met, or met late); `ended`: it stopped applying then
        (withdrawal, closure, a denial ending a payment promise): cancelled if not yet due, else it
        stays breached on the record."""
        if done is not None and ended is not None:
            done, ended = (done, None) if done <= ended else (None, ended)
        stop = done or ended
        paused_seconds, paused_at = self.paused(start, stop) if pausable and self.pauses else (0, None)
        effective = start + dt.timedelta(seconds=paused_seconds) if paused_seconds else start
        if unit == LimitUnit.HOURS:
            due, provisional = effective + dt.timedelta(hours=value), False
        else:
            due, provisional = _deadline(effective, value, unit)
        if self.count_final and stop is not None and not provisional:
            self.final += 1
            return
        warn_at = effective + (due - effective) * (warn_percent / 100) if warn_percent else None
        if done is not None:
            state = S.MET if done <= due else S.MET_LATE
        elif ended is not None:
            state = S.CANCELLED if ended <= due else S.BREACHED
        elif paused_at is not None:
            state = S.PAUSED
        else:
            state = S.BREACHED if self.now >= due else S.RUNNING
        self.out.append(
            PlannedClock(
                kind, step_key, start, due, warn_at, paused_at, paused_seconds, stop, state, escalate_to, provisional
            )
        )

    def plan(self) -> list[PlannedClock]:
        f, spec = self.f, self.f.definition
        history = f.history
        reopens = [t.at for t in history if t.kind == Action.REOPEN]
        cycles = list(zip([f.reported_at, *reopens], [*reopens, None], strict=True))
        for n, (start, end) in enumerate(cycles):
            self.cycle(start, end, first=n == 0)
        # Art. 26: informational, fulfilled by a report before the limitation date.
        limitation_due = calendar.end_of_day(f.limitation_date)
        if self.count_final:
            self.final += 1
        else:
            self.out.append(
                PlannedClock(
                    K.LIMITATION,
                    "",
                    f.incident_at,
                    limitation_due,
                    None,
                    None,
                    0,
                    f.reported_at,
                    S.MET if f.reported_at <= limitation_due else S.MET_LATE,
                    "",
                    False,
                )
            )
        if spec is not None:
            self.callbacks(spec)
            self.steps(spec)
        return self.out

    def cycle(self, start: dt.datetime, end: dt.datetime | None, *, first: bool) -> None:
        """One handling cycle: from the report, or from a reopening to the next one."""
        f, spec = self.f, self.f.definition
        decided = self.first(DECISIONS, start, end)
        ended = self.first(ENDINGS, start, end)
        # Insurance Law art. 23 + SPC interpretation II art. 15: documents time excluded.
        self.add(K.DECISION_30D, start, 30, LimitUnit.CALENDAR_DAYS, done=decided, ended=ended, pausable=True)
        # Art. 25: after 60 days without a decision, pay what can be determined.
        self.add(K.ADVANCE_PAYMENT_60D, start, 60, LimitUnit.CALENDAR_DAYS, done=decided, ended=ended)
        for t in f.history:
            if not (t.at >= start and (end is None or t.at < end)):
                continue
            if t.kind in PAYABLE_DECISIONS:  # art. 23: pay within 10 days of agreeing the amount
                paid = self.first((Action.CONFIRM_PAYMENT,), t.at, end)
                stop = self.first(ENDINGS, t.at, end)
                self.add(K.PAYMENT_10D, t.at, 10, LimitUnit.CALENDAR_DAYS, done=paid, ended=stop)
            elif t.kind == Action.DENY:  # art. 24: denial notice within 3 days
                sent = self.first((Action.SEND_DENIAL_NOTICE,), t.at, end)
                stop = self.first(ENDINGS, t.at, end)
                self.add(K.DENIAL_NOTICE_3D, t.at, 3, LimitUnit.CALENDAR_DAYS, done=sent, ended=stop)
        if not first:
            return
        withdrawn = self.first((Action.WITHDRAW,), start, end)
        hours = spec.forced_registration_hours if spec else DEFAULT_FORCED_REGISTRATION_HOURS
        registered = self.first((Action.REGISTER,), start, end)
        self.add(K.FORCED_REGISTRATION, start, hours, LimitUnit.HOURS, done=registered, ended=withdrawn)
        if spec is None:
            return
        if (
            spec.fast_track_limit is not None
            and f.complexity == Complexity.SIMPLE
            and f.claimed_amount <= spec.fast_track_limit
        ):
            begin = max(f.documents_complete_at or start, start)
            paid = self.first((Action.CONFIRM_PAYMENT,), start, end)
            stop = self.first((Action.DENY, Action.WITHDRAW, Action.CLOSE), start, end)
            self.add(K.FAST_TRACK, begin, spec.fast_track_days, LimitUnit.CALENDAR_DAYS, done=paid, ended=stop)
        if f.line == LineOfBusiness.LIFE and f.complexity != Complexity.COMPLEX:
            self.add(
                K.LIFE_DECISION,
                start,
                spec.life_decision_working_days,
                LimitUnit.WORKING_DAYS,
                done=decided,
                ended=withdrawn,
                pausable=True,
            )
        if f.line == LineOfBusiness.HEALTH:
            # 保险小额理赔服务指引: tell the claimant what to submit within 1 working day.
            answered = [
                t
                for t in (self.first((Action.REQUEST_DOCUMENTS,), start, end), f.documents_complete_at, decided)
                if t is not None and t >= start
            ]
            self.add(
                K.MATERIALS_NOTICE,
                start,
                1,
                LimitUnit.WORKING_DAYS,
                done=min(answered) if answered else None,
                ended=withdrawn,
            )

    def callbacks(self, spec: DefinitionSpec) -> None:
        """机动车辆保险理赔管理指引: call the customer back after each payment; runs on after closure."""
        payments = [t.at for t in self.f.history if t.kind == Action.CONFIRM_PAYMENT]
        for n, paid in enumerate(payments):
            later = payments[n + 1] if n + 1 < len(payments) else None
            done = self.f.callback_done_at if self.f.callback_done_at and self.f.callback_done_at >= paid else None
            if done is not None and later is not None and done >= later:
                done = None
            self.add(K.CALLBACK, paid, spec.callback_working_days, LimitUnit.WORKING_DAYS, done=done, ended=later)

    def steps(self, spec: DefinitionSpec) -> None:
        """One clock per visit to a step; awaiting documents stays in the step it interrupts."""
        current, entered = "", None
        step = None
        for t in self.f.history:
            if t.to_status in (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN):
                new = ""
            else:
                hit = spec.status_step.get(t.to_status)
                new = hit.key if hit else (current if t.to_status == AWAITING else "")
            if new == current:
                continue
            if step is not None and entered is not None:
                self.step_clock(spec, step.key, entered, t.at, withdrawn=t.kind == Action.WITHDRAW)
            current, entered = new, t.at
            step = spec.step(new) if new else None
        if step is not None and entered is not None:
            self.step_clock(spec, step.key, entered, None, withdrawn=False)

    def step_clock(
        self, spec: DefinitionSpec, key: str, start: dt.datetime, stop: dt.datetime | None, *, withdrawn: bool
    ) -> None:
        step = spec.step(key)
        assert step is not None
        # A step that is itself "awaiting documents" is not paused by it.
        pausable = spec.pause_on_documents and AWAITING not in step.states
        self.add(
            K.STEP,
            start,
            step.limit_value,
            step.limit_unit,
            done=None if withdrawn else stop,
            ended=stop if withdrawn else None,
            pausable=pausable,
            step_key=key,
            warn_percent=step.warn_percent,
            escalate_to=step.escalate_to,
        )


def plan_clocks(facts: ClaimFacts, now: dt.datetime) -> list[PlannedClock]:
    """Every clock the claim should have at `now`, with its state, in (kind, step, start) order.
    Pure: no database access beyond the cached working-day calendar."""
    plan = _Planner(facts, now).plan()
    plan.sort()  # tuples sort by their first fields: kind, step_key, started_at
    return plan


def plan_open_clocks(facts: ClaimFacts, now: dt.datetime) -> tuple[list[PlannedClock], int]:
    """For the bulk pass: the clocks still open (and stopped ones counted on a provisional calendar),
    in plan order, and how many other (final) clocks the claim should have. A stopped clock on the
    official calendar is a closed record: its inputs (past events) cannot change, so it is counted,
    not recomputed; a calendar change or a new version of these rules runs a full pass."""
    planner = _Planner(facts, now, count_final=True)
    plan = planner.plan()
    plan.sort()
    return plan, planner.final


def urgency_of(plan: Sequence[PlannedClock], now: dt.datetime) -> tuple[dt.datetime | None, str, str]:
    """(next due time, its kind, urgency) over the open, alerting clocks: what queues sort by."""
    next_due, next_kind, urgency = None, "", Urgency.NONE
    rank = {Urgency.NONE: 0, Urgency.ON_TIME: 1, Urgency.WARNING: 2, Urgency.BREACHED: 3}
    for c in plan:
        if c.stopped_at is not None or c.kind in INFORMATIONAL or c.state not in OPEN_STATES:
            continue
        if c.state == S.BREACHED:
            level = Urgency.BREACHED
        elif c.state == S.RUNNING and c.warn_at is not None and c.warn_at <= now:
            level = Urgency.WARNING
        else:
            level = Urgency.ON_TIME
        if rank[level] > rank[urgency]:
            urgency = level
        if c.state != S.PAUSED and (next_due is None or c.due_at < next_due):
            next_due, next_kind = c.due_at, c.kind
    return next_due, next_kind, urgency


# --- diffing against stored rows -------------------------------------------------------------------

ExistingRow = tuple[Any, ...]  # (id, *CLOCK_FIELDS)


@dataclass(slots=True)
class ClockChanges:
    inserts: list[PlannedClock]
    updates: list[tuple[int, PlannedClock]]
    cancels: list[int]

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates or self.cancels)


def clocks_diff(plan: Sequence[PlannedClock], existing: Iterable[ExistingRow]) -> ClockChanges:
    """Rows to insert, rows whose fields differ, and open rows the plan no longer has (cancelled).
    Rows read in (kind, step, start) order that equal the plan one for one (the usual case in a
    batch) are recognised without building a lookup."""
    changes = ClockChanges([], [], [])
    existing = existing if isinstance(existing, list) else list(existing)
    if len(existing) == len(plan) and all(r[1:] == c for r, c in zip(existing, plan, strict=True)):
        return changes
    by_key: dict[tuple[str, str, dt.datetime], ExistingRow] = {(r[1], r[2], r[3]): r for r in existing}
    for c in plan:
        row = by_key.pop((c.kind, c.step_key, c.started_at), None)
        if row is None:
            changes.inserts.append(c)
        elif row[1:] != c:  # a NamedTuple compares as the plain tuple
            changes.updates.append((row[0], c))
    changes.cancels = [r[0] for r in by_key.values() if r[8] is None and r[9] in OPEN_STATES]
    return changes


def clock_row(claim_id: int, c: PlannedClock) -> ClaimClock:
    return ClaimClock(claim_id=claim_id, **c._asdict())


# --- one claim -------------------------------------------------------------------------------------


def claim_history(claim_id: int) -> list[Transition]:
    rows = (
        ClaimEvent.objects.filter(claim_id=claim_id, kind__in=LIFECYCLE_KINDS)
        .order_by("at", "pk")
        .values_list("at", "kind", "to_status")
    )
    return [Transition(*r) for r in rows]


def claim_facts(claim: Claim, process: ClaimProcess | None, history: Sequence[Transition]) -> ClaimFacts:
    return ClaimFacts(
        claim_id=claim.pk,
        line=claim.line,
        status=claim.status,
        complexity=claim.complexity,
        claimed_amount=claim.claimed_amount,
        incident_at=claim.incident_at,
        reported_at=claim.reported_at,
        limitation_date=claim.limitation_date,
        history=history,
        definition=definition_spec(process.definition) if process is not None else None,
        documents_complete_at=process.documents_complete_at if process is not None else None,
        callback_done_at=process.callback_done_at if process is not None else None,
    )


def clocks_sync(
    claim: Claim,
    now: dt.datetime,
    *,
    process: ClaimProcess | None = None,
    history: Sequence[Transition] | None = None,
    existing: Iterable[ExistingRow] | None = None,
) -> list[PlannedClock]:
    """Bring one claim's clocks and its next deadline in line with the plan, writing only changes.
    A caller that already holds the process, the history or the rows passes them (a new claim has
    no rows): no query is repeated."""
    if process is None:
        process = process_for(claim, now)
    if history is None:
        history = claim_history(claim.pk)
    plan = plan_clocks(claim_facts(claim, process, history), now)
    if existing is None:
        existing = ClaimClock.objects.filter(claim_id=claim.pk).order_by(*CLOCK_ORDER).values_list("id", *CLOCK_FIELDS)
    clocks_apply({claim.pk: clocks_diff(plan, existing)}, now)
    next_due, next_kind, urgency = urgency_of(plan, now)
    rank = queue_rank(urgency, claim.status)
    if process.pk is None:
        process.next_due_at, process.next_due_kind, process.urgency = next_due, next_kind, urgency
        process.queue_rank = rank
        process.save()
    elif (process.next_due_at, process.next_due_kind, process.urgency, process.queue_rank) != (
        next_due,
        next_kind,
        urgency,
        rank,
    ):
        process.next_due_at, process.next_due_kind, process.urgency = next_due, next_kind, urgency
        process.queue_rank = rank
        process.save(update_fields=["next_due_at", "next_due_kind", "urgency", "queue_rank", "updated_at"])
    return plan


def clocks_apply(changes: dict[int, ClockChanges], now: dt.datetime) -> int:
    """Write the differences for many claims: one insert for all new rows, one update per changed
    row, one update for every cancellation. Returns the rows written."""
    inserts = [clock_row(claim_id, c) for claim_id, ch in changes.items() for c in ch.inserts]
    # Statements built once per row count (core.rows): a submit inserts its clocks in one.
    rows.insert_many(inserts)
    written = len(inserts)
    for ch in changes.values():
        for pk, c in ch.updates:
            ClaimClock.objects.filter(pk=pk).update(**c._asdict())
            written += 1
    cancels = [pk for ch in changes.values() for pk in ch.cancels]
    if cancels:
        written += ClaimClock.objects.filter(pk__in=cancels).update(state=S.CANCELLED, stopped_at=now, paused_at=None)
    return written


# --- reading and the customer callback ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClockView:
    clock: ClaimClock
    label: str
    state: str
    state_label: str
    due_day: dt.date  # the day it falls on (a 24:00 due is that day)
    remaining: dt.timedelta | None  # None once stopped or paused; negative when overdue
    remaining_label: str
    statutory: bool


def _duration_label(delta: dt.timedelta) -> str:
    seconds = abs(int(delta.total_seconds()))
    days, hours = seconds // 86400, seconds % 86400 // 3600
    if days:
        text = _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    else:
        text = _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": seconds % 3600 // 60}
    return text if delta >= dt.timedelta(0) else _("%(time)s overdue") % {"time": text}


def clock_view(clock: ClaimClock, now: dt.datetime, step_names: dict[str, str] | None = None) -> ClockView:
    label = clock.get_kind_display()
    if clock.kind == K.STEP and clock.step_key:
        label = _("Step “%(step)s”") % {"step": (step_names or {}).get(clock.step_key, clock.step_key)}
    open_running = clock.stopped_at is None and clock.state in (S.RUNNING, S.BREACHED)
    remaining = clock.due_at - now if open_running else None
    if remaining is not None:
        remaining_label = _duration_label(remaining)
    elif clock.state == S.PAUSED:
        remaining_label = _("Paused while the claimant supplies documents")
    else:
        remaining_label = ""
    return ClockView(
        clock=clock,
        label=str(label),
        state=clock.state,
        state_label=str(clock.get_state_display()),
        due_day=calendar.last_day(clock.due_at),
        remaining=remaining,
        remaining_label=remaining_label,
        statutory=clock.kind in STATUTORY_CLOCKS,
    )


def claim_clocks(claim: Claim) -> list[ClaimClock]:
    """The claim's clocks, nearest due first (the caller checked the user may see the claim)."""
    return list(ClaimClock.objects.filter(claim=claim).order_by("due_at", "pk"))


def claim_clock_views(claim: Claim, now: dt.datetime | None = None) -> list[ClockView]:
    """The claim's clocks for people to read, steps by their names in the reader's language."""
    now = now or timezone.now()
    clocks = claim_clocks(claim)
    keys = {c.step_key for c in clocks if c.kind == K.STEP and c.step_key}
    names: dict[str, str] = {}
    if keys:
        definition = ClaimProcess.objects.filter(claim_id=claim.pk).values("definition_id")[:1]
        found = ProcessStep.objects.filter(definition_id=Subquery(definition), key__in=keys)
        names = {k: localized(n, e) for k, n, e in found.values_list("key", "name", "name_en")}
    return [clock_view(c, now, names) for c in clocks]


CALLBACK_ROLES = frozenset({Role.HANDLER, Role.SUPERVISOR})


@transaction.atomic
def callback_record(
    *, actor: User | None, claim_id: int, note: str = "", now: dt.datetime | None = None
) -> ClaimProcess:
    """机动车辆保险理赔管理指引: the customer was called back after payment (stops the callback clock)."""
    if actor is not None and actor.role not in CALLBACK_ROLES:
        raise PermissionDenied()
    claim = claim_get(claim_id, user=actor, for_update=True)
    if claim.paid_amount <= 0:
        raise IllegalTransition(_("A callback is recorded after a payment."))
    now = now or timezone.now()
    process = process_for(claim, now)
    before = process.callback_done_at
    process.callback_done_at = now
    process.save(update_fields=["callback_done_at", "updated_at"])
    ClaimEvent.objects.create(
        claim=claim,
        kind="callback",
        at=now,
        actor=actor,
        from_status=claim.status,
        to_status=claim.status,
        note=note,
        visible_to_customer=False,
    )
    clocks_sync(claim, now, process=process)
    audit_record(
        actor=actor,
        action="claim.callback",
        obj=claim,
        before={"callback_done_at": before},
        after={"callback_done_at": now, "note": note},
    )
    return process
