"""Who else hears about the deadline job's warnings and alerts (notifications, later apps).

The process may not import the apps above it, so they subscribe here at start-up. Listeners run
inside the transaction that writes the timeline event or the alert: what they write (an outbox row)
commits or rolls back with it. Explicit calls from `process.tasks`, not model signals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from claimwise.process.models import ClaimClock, StaffAlert

#: Called with each StaffAlert just created (deadline warning, breach, escalation).
AlertListener = Callable[["StaffAlert"], None]
#: Called with the clock, the timeline event's kind ("deadline_warning", "deadline_breached"), the
#: time, and whether the event is shown to the customer.
DeadlineListener = Callable[["ClaimClock", str, dt.datetime, bool], None]

ALERT_LISTENERS: list[AlertListener] = []
DEADLINE_LISTENERS: list[DeadlineListener] = []


def on_staff_alert(listener: AlertListener) -> AlertListener:
    if listener not in ALERT_LISTENERS:
        ALERT_LISTENERS.append(listener)
    return listener


def on_deadline_event(listener: DeadlineListener) -> DeadlineListener:
    if listener not in DEADLINE_LISTENERS:
        DEADLINE_LISTENERS.append(listener)
    return listener


def alert_created(alert: StaffAlert) -> StaffAlert:
    for listener in ALERT_LISTENERS:
        listener(alert)
    return alert


def deadline_announced(clock: ClaimClock, kind: str, at: dt.datetime, visible_to_customer: bool) -> None:
    for listener in DEADLINE_LISTENERS:
        listener(clock, kind, at, visible_to_customer)
