"""What produces messages (C1, C2): claim changes (a reactor, inside the claim's transaction, after
its audit entry), the deadline job's customer-visible events and its staff alerts (process.listeners).

Every message is keyed by its event, so the same event never makes the same message twice: a
transition by the claim's version, a decision by the decision, a payment by the payment, a message by
the message, a deadline event by the clock, an alert by the alert."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone

from claimwise.accounts.models import User
from claimwise.claims.changes import ClaimChange, on_claim_change
from claimwise.claims.choices import DecisionOutcome, ReasonCode
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent, ClaimMessage, Decision, Payment
from claimwise.notifications.choices import Event
from claimwise.notifications.services import customer_recipient, enabled_channels, messages_queue, staff_recipient
from claimwise.process.choices import STATUTORY_CLOCKS, AlertKind, ClockKind
from claimwise.process.listeners import on_deadline_event, on_staff_alert
from claimwise.process.models import ClaimClock, StaffAlert

DECISIONS = frozenset({"approve", "approve_partial", "deny", "send_denial_notice"})
# Deadlines the company owes the claimant (the limitation date is the claimant's own).
COMPANY_CLOCKS = STATUTORY_CLOCKS - {ClockKind.LIMITATION}
ALERT_EVENTS = {
    AlertKind.WARNING: Event.STAFF_WARNING,
    AlertKind.BREACH: Event.STAFF_BREACH,
    AlertKind.ESCALATION: Event.STAFF_ESCALATION,
    AlertKind.ASSIGNMENT: Event.STAFF_ASSIGNMENT,
    AlertKind.MESSAGE: Event.STAFF_CUSTOMER_MESSAGE,
}


def _status(claim: Claim) -> str:
    return str(ClaimStatus(claim.status).label)


def _base(claim: Claim) -> dict[str, Any]:
    return {"claim_number": claim.number or "", "status": _status(claim), "currency": claim.currency}


def _to_claimant(claim: Claim, event: Event, key: str, extra: Any = None) -> None:
    def context() -> dict[str, Any]:
        return {**_base(claim), **(extra() if extra else {})}

    messages_queue(event=event, claim=claim, recipients=[customer_recipient(claim.claimant)], context=context, key=key)


def _decision_context(decision: Decision) -> dict[str, Any]:
    labels = dict(ReasonCode.choices)
    return {
        "outcome": str(decision.get_outcome_display()),
        "denied": decision.outcome == DecisionOutcome.DENY,
        "reasons": "; ".join(str(labels.get(code, code)) for code in decision.reason_codes or []),
        "notice": decision.note,
        "amount": f"{decision.amount:.2f}",
    }


def _payment_context(payment: Payment) -> dict[str, Any]:
    return {
        "amount": f"{payment.amount:.2f}",
        "reference": payment.reference,
        "account": (payment.bank_account or "")[-4:],
    }


@on_claim_change()
def claim_notified(change: ClaimChange) -> None:
    """Customer events from lifecycle changes; the new handler's message on assignment."""
    if not enabled_channels():
        return  # notifications switched off: not even a look-up
    claim, kind, data = change.claim, change.kind, change.data
    stamp = f"{claim.pk}:v{claim.version}"
    if kind == "submitted":
        _to_claimant(claim, Event.CLAIM_RECEIVED, f"received:{claim.pk}")
    elif kind == "register":
        _to_claimant(claim, Event.REGISTERED, f"registered:{stamp}")
    elif kind == "request_documents":
        items = [str(i) for i in data.get("items") or []]
        notice = data.get("notice_number") or claim.version
        _to_claimant(claim, Event.DOCUMENTS_NEEDED, f"documents:{claim.pk}:{notice}", lambda: {"items": items})
    elif kind in DECISIONS and data.get("decision"):
        # A denial's message carries the reasons (the notice of Insurance Law art. 24); the notice
        # action that follows is the same decision, so it adds no second message.
        decision = Decision.objects.get(pk=data["decision"])
        _to_claimant(claim, Event.DECISION, f"decision:{decision.pk}", lambda: _decision_context(decision))
    elif kind == "confirm_payment" and data.get("payment"):
        payment = Payment.objects.get(pk=data["payment"])
        _to_claimant(claim, Event.PAYMENT_MADE, f"payment:{payment.pk}", lambda: _payment_context(payment))
    elif kind == "message" and not data.get("from_customer") and data.get("message"):
        message = ClaimMessage.objects.only("pk").get(pk=data["message"])
        _to_claimant(claim, Event.NEW_MESSAGE, f"message:{message.pk}")
    elif kind == "assigned" and claim.handler_id is not None and claim.handler_id != getattr(change.actor, "pk", None):
        handler = claim.handler
        assert handler is not None
        note = (
            ClaimEvent.objects.filter(claim=claim, kind="assigned")
            .order_by("-at", "-pk")
            .values_list("note", flat=True)
            .first()
        ) or ""

        def context() -> dict[str, Any]:
            return {**_base(claim), "note": note}

        messages_queue(
            event=Event.STAFF_ASSIGNMENT,
            claim=claim,
            recipients=[staff_recipient(handler)],
            context=context,
            key=f"assigned:{stamp}",
            now=change.at,
        )


@on_deadline_event
def deadline_notified(clock: ClaimClock, kind: str, at: dt.datetime, visible_to_customer: bool) -> None:
    """A statutory deadline the company owes the claimant at risk or missed: the claimant is told (C2)."""
    if clock.kind not in COMPANY_CLOCKS or not enabled_channels():
        return
    event = {"deadline_warning": Event.DEADLINE_AT_RISK, "deadline_breached": Event.DEADLINE_BREACHED}.get(kind)
    if event is None:
        return
    claim = clock.claim

    def context() -> dict[str, Any]:
        return {
            **_base(claim),
            "deadline": str(clock.get_kind_display()),
            "due": timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M"),
        }

    messages_queue(
        event=event,
        claim=claim,
        recipients=[customer_recipient(claim.claimant)],
        context=context,
        key=f"{kind}:{clock.pk}",
        now=at,
    )


def alert_recipients(alert: StaffAlert) -> list[User]:
    """The named user, or every active member of the role in the claim's branch (or of no branch)."""
    if alert.recipient_id is not None:
        return [u for u in [alert.recipient] if u is not None and u.is_active]
    branch_id = alert.claim.branch_id
    return list(
        User.objects.filter(role=alert.recipient_role, is_active=True)
        .filter(Q(branch_id=branch_id) | Q(branch__isnull=True))
        .order_by("pk")
    )


@on_staff_alert
def alert_notified(alert: StaffAlert) -> None:
    """Staff warnings (deadline at risk, breach, escalation) go out as messages too."""
    event = ALERT_EVENTS.get(AlertKind(alert.kind))
    if event is None or not enabled_channels():
        return
    claim = alert.claim

    def context() -> dict[str, Any]:
        return {**_base(claim), "alert": alert.message}

    messages_queue(
        event=event,
        claim=claim,
        recipients=[staff_recipient(u) for u in alert_recipients(alert)],
        context=context,
        key=f"alert:{alert.pk}",
        now=alert.created_at,
    )
