"""The deadline job (G3): every few minutes, `clocks_tick`.

1. the 72-hour rule: a reported claim not registered in time is registered by the system;
2. every open claim's clocks are recomputed in batches (`recompute.clocks_recompute_all`): set-based
   reads, one pass, only differences written; a full pass after a calendar or rules change;
3. warnings and breaches raise a timeline event and staff alerts, each exactly once (a conditional
   update claims the clock first, so a second tick, or a concurrent one, sends nothing again).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from claimwise.accounts.choices import Role
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.services import claim_register
from claimwise.core.audit import audit_record
from claimwise.core.calendar import calendar_refresh
from claimwise.core.models import CalendarDay
from claimwise.process.choices import STATUTORY_CLOCKS, AlertKind, ClockState
from claimwise.process.clocks import DEFAULT_FORCED_REGISTRATION_HOURS, INFORMATIONAL, deadlines_forget
from claimwise.process.listeners import alert_created, deadline_announced
from claimwise.process.models import ClaimClock, ProcessDefinition, StaffAlert
from claimwise.process.progress import definition_spec
from claimwise.process.recompute import RecomputeResult, clocks_recompute_all

log = logging.getLogger(__name__)
S = ClockState


# --- 1. forced registration ----------------------------------------------------------------------


@transaction.atomic
def claim_force_register(*, claim_id: int, hours: int, default_reserve: Decimal | None, now: dt.datetime) -> Claim:
    """Forced registration (系统强制立案, industry indicator): a reported claim not registered within
    the definition's hours (72 without one) is registered by the system, with the definition's
    default reserve (else the claimed amount)."""
    note = _("Registered by the system: not registered within %(hours)d hours of the report.") % {"hours": hours}
    before = Claim.objects.values_list("reserve", flat=True).get(pk=claim_id)
    claim = claim_register(actor=None, claim_id=claim_id, note=note, reserve=default_reserve)
    reserve = claim.reserve
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


def _message_parts(clock: ClaimClock) -> dict[str, str]:
    return {
        "number": clock.claim.number or "",
        "clock": _clock_label(clock),
        "due": timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M"),
    }


def _announce(clock: ClaimClock, kind: str, message: str, now: dt.datetime, *, visible_to_customer: bool) -> None:
    """The claim's timeline entry for a deadline warning or breach."""
    claim = clock.claim
    ClaimEvent.objects.create(
        claim=claim,
        kind=kind,
        at=now,
        from_status=claim.status,
        to_status=claim.status,
        note=message,
        data={"clock": clock.pk, "kind": clock.kind, "step": clock.step_key, "due_at": clock.due_at.isoformat()},
        visible_to_customer=visible_to_customer,
    )
    deadline_announced(clock, kind, now, visible_to_customer)


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
            message = _("Claim %(number)s: %(clock)s is due %(due)s.") % _message_parts(clock)
            _announce(clock, "deadline_warning", message, now, visible_to_customer=False)
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
            message = _("Claim %(number)s: %(clock)s was due %(due)s and is breached.") % _message_parts(clock)
            # The claimant is owed the statutory deadlines; internal promises stay internal.
            _announce(clock, "deadline_breached", message, now, visible_to_customer=clock.kind in STATUTORY_CLOCKS)
            _alert(clock, AlertKind.BREACH, message, now)
            alert_created(
                StaffAlert.objects.create(
                    claim=clock.claim,
                    kind=AlertKind.ESCALATION,
                    recipient_role=clock.escalate_to or Role.SUPERVISOR,
                    clock=clock,
                    message=message[:300],
                    created_at=now,
                )
            )
            audit_record(actor=None, action="clock.breach", obj=clock, after={"breached_at": now})
            sent += 1
    return sent


def _alert(clock: ClaimClock, kind: str, message: str, now: dt.datetime) -> StaffAlert:
    """To the claim's handler; with no handler, to everyone of the owning step's role."""
    handler_id = clock.claim.handler_id
    alert = StaffAlert.objects.create(
        claim=clock.claim,
        kind=kind,
        recipient_id=handler_id,
        recipient_role="" if handler_id else _owner_role(clock),
        clock=clock,
        message=message[:300],
        created_at=now,
    )
    return alert_created(alert)


# --- the job -------------------------------------------------------------------------------------


FINGERPRINT_KEY = "process.clocks.rules"
# Raise when the clock rules change: the next tick then recompares stopped clocks too.
PLAN_VERSION = 1


def _rules_fingerprint() -> str:
    """What stopped clocks depend on besides past events: the rules, the calendar package and the
    operators' calendar entries. A change (or a fresh worker) makes the next pass a full one."""
    days = list(CalendarDay.objects.order_by("date").values_list("date", "is_workday"))
    text = repr((PLAN_VERSION, metadata.version("chinesecalendar"), metadata.version("holidays"), days))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(slots=True)
class TickResult:
    registered: int
    recompute: RecomputeResult
    breaches_marked: int
    warnings: int
    breaches: int


def clocks_tick(
    now: dt.datetime | None = None, *, batch_size: int = 5000, workers: int | None = None, full: bool = False
) -> TickResult:
    """One run of the deadline job at `now` (tests pass a frozen time). `workers`: processes for the
    recompute pass (default `settings.CLAIMWISE_CLOCK_WORKERS`, else 1)."""
    now = now or timezone.now()
    calendar_refresh()  # operators' calendar entries made in other processes
    deadlines_forget()
    registered = force_registrations(now)
    workers = workers or int(getattr(settings, "CLAIMWISE_CLOCK_WORKERS", 1))
    fingerprint = _rules_fingerprint()
    full = full or cache.get(FINGERPRINT_KEY) != fingerprint
    recompute = clocks_recompute_all(now, batch_size=batch_size, workers=workers, full=full)
    cache.set(FINGERPRINT_KEY, fingerprint, None)
    marked = mark_breaches(now)
    result = TickResult(registered, recompute, marked, send_warnings(now), send_breaches(now))
    log.info("clocks tick %s", result)
    return result


@db_periodic_task(crontab(minute="*/5"))
def clocks_tick_task() -> None:
    # One tick at a time across all consumers: a long pass must not overlap the next one.
    with lock_task("process.clocks_tick"):
        clocks_tick()
