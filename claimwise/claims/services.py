"""Writes for claims. Every status change runs `_transition` under a row lock, writes one timeline
event and one audit entry in the same transaction, and changes nothing when a rule says no.
First notice of loss lives in `claims.fnol`; its names are re-exported here for callers."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import IO, Any

from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.choices import Role
from claimwise.accounts.models import PartnerOrganization, Team, User
from claimwise.claims.changes import ClaimChange, on_claim_change, react, track
from claimwise.claims.choices import (
    DecisionOutcome,
    DocumentType,
    PaymentStatus,
)
from claimwise.claims.documents import check_upload
from claimwise.claims.fnol import (
    FAST_TRACK,
    LINE_PREFIX,
    Payee,
    SubmitResult,
    account_valid,
    claim_number,
    claim_submit,
    limitation_date,
    normalise_account,
    triage,
)
from claimwise.claims.lifecycle import TRANSITIONS, Action, ClaimStatus, first_failed_guard, target_of
from claimwise.claims.models import Claim, ClaimEvent, ClaimMessage, ClaimShare, Decision, Document, Payment
from claimwise.claims.selectors import claim_get
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.errors import (
    GuardFailed,
    IllegalTransition,
    PermissionDenied,
    ValidationFailed,
)
from claimwise.core.money import to_money

__all__ = [
    "FAST_TRACK",
    "LINE_PREFIX",
    "ClaimChange",
    "Payee",
    "SubmitResult",
    "claim_number",
    "claim_submit",
    "limitation_date",
    "on_claim_change",
    "triage",
]

AUDITED_CLAIM_FIELDS = [
    "status",
    "resume_status",
    "handler",
    "team",
    "reserve",
    "assessed_amount",
    "approved_amount",
    "paid_amount",
    "documents_requests",
    "version",
]


# --- lifecycle ----------------------------------------------------------------------------------


ASSIGN_ROLES = frozenset({Role.SUPERVISOR})
SHARE_ROLES = frozenset({Role.HANDLER, Role.SUPERVISOR})


def check_role(actor: User | None, roles: frozenset[Role]) -> None:
    """None is the system (deadline jobs, straight-through review), which the rules allow everything
    its callers ask for; people need one of the roles."""
    if actor is not None and actor.role not in roles:
        raise PermissionDenied()


def _transition(
    *,
    claim_id: int,
    actor: User | None,
    action: Action,
    params: dict[str, Any] | None = None,
    effect: Callable[[Claim, dt.datetime], dict[str, Any] | None] | None = None,
    note: str = "",
    visible_to_customer: bool = True,
) -> Claim:
    """Run one row of the lifecycle table. Must be called inside a transaction."""
    params = params or {}
    claim = claim_get(claim_id, user=actor, for_update=True)
    transition = TRANSITIONS[action]
    check_role(actor, transition.roles)
    if claim.status not in transition.sources:
        raise IllegalTransition(
            _("“%(action)s” is not possible while the claim is “%(status)s”.")
            % {"action": action.label, "status": ClaimStatus(claim.status).label},
            detail={"action": action.value, "status": claim.status},
        )
    problem = first_failed_guard(transition, claim, {**params, "actor": actor})
    if problem:
        raise GuardFailed(problem, detail={"action": action.value})
    before = snapshot(claim, AUDITED_CLAIM_FIELDS)
    from_status = claim.status
    now = timezone.now()
    target = target_of(transition, claim)
    data = (effect(claim, now) if effect else None) or {}
    claim.__dict__["_lifecycle_unlocked"] = True
    try:
        claim.status = target
    finally:
        claim.__dict__.pop("_lifecycle_unlocked", None)
    claim.status_changed_at = now
    claim.version += 1
    claim.save()
    ClaimEvent.objects.create(
        claim=claim,
        kind=action.value,
        at=now,
        actor=actor,
        from_status=from_status,
        to_status=target,
        note=note,
        data=data,
        visible_to_customer=visible_to_customer,
    )
    change = track(ClaimChange(claim, action.value, actor, now, from_status, target, data))
    audit_record(
        actor=actor,
        action=f"claim.{action.value}",
        obj=claim,
        before=before,
        after={**snapshot(claim, AUDITED_CLAIM_FIELDS), **({"data": data} if data else {})},
    )
    react(change)
    return claim


@transaction.atomic
def claim_register(*, actor: User | None, claim_id: int, note: str = "", reserve: Decimal | str | None = None) -> Claim:
    """立案. A handler who registers an unassigned claim takes it. `reserve` sets the case reserve
    (forced registration uses the process's default reserve)."""
    initial_reserve = to_money(reserve) if reserve is not None else None

    def effect(claim: Claim, now: dt.datetime) -> dict[str, Any]:
        claim.registered_at = claim.registered_at or now
        if claim.handler_id is None and actor is not None and actor.role == Role.HANDLER:
            claim.handler = actor
            claim.team_id = actor.team_id
        if initial_reserve is not None:
            claim.reserve = initial_reserve
        return {"handler": claim.handler_id}

    return _transition(claim_id=claim_id, actor=actor, action=Action.REGISTER, effect=effect, note=note)


@transaction.atomic
def claim_investigate(*, actor: User, claim_id: int, note: str = "") -> Claim:
    return _transition(claim_id=claim_id, actor=actor, action=Action.INVESTIGATE, note=note)


@transaction.atomic
def claim_assess(*, actor: User | None, claim_id: int, note: str = "") -> Claim:
    return _transition(claim_id=claim_id, actor=actor, action=Action.ASSESS, note=note)


@transaction.atomic
def claim_request_documents(
    *, actor: User | None, claim_id: int, items: list[str], note: str = "", justification: str | None = None
) -> Claim:
    """Insurance Law art. 22: one consolidated notice of everything missing."""

    def effect(claim: Claim, now: dt.datetime) -> dict[str, Any]:
        claim.resume_status = claim.status
        claim.documents_requests += 1
        return {"items": items, "justification": justification, "notice_number": claim.documents_requests}

    return _transition(
        claim_id=claim_id,
        actor=actor,
        action=Action.REQUEST_DOCUMENTS,
        params={"items": items, "justification": justification},
        effect=effect,
        note=note,
    )


@transaction.atomic
def claim_resume(*, actor: User | None, claim_id: int, note: str = "") -> Claim:
    def effect(claim: Claim, now: dt.datetime) -> None:
        claim.resume_status = ""

    return _transition(claim_id=claim_id, actor=actor, action=Action.RESUME, effect=effect, note=note)


@transaction.atomic
def claim_submit_for_approval(
    *, actor: User | None, claim_id: int, assessed_amount: Decimal | str | None = None, note: str = ""
) -> Claim:
    """定损/理算 done: record the assessed amount and hand over to 核赔."""
    amount = to_money(assessed_amount) if assessed_amount is not None else None

    def effect(claim: Claim, now: dt.datetime) -> dict[str, Any]:
        if amount is not None:
            claim.assessed_amount = amount
        claim.reserve = claim.assessed_amount or claim.reserve
        return {"assessed_amount": str(claim.assessed_amount)}

    return _transition(
        claim_id=claim_id,
        actor=actor,
        action=Action.SUBMIT_FOR_APPROVAL,
        params={"amount": amount},
        effect=effect,
        note=note,
    )


def _decide(
    *,
    actor: User | None,
    claim_id: int,
    action: Action,
    outcome: str,
    amount: Decimal,
    reason_codes: list[str],
    note: str,
) -> Claim:
    def effect(claim: Claim, now: dt.datetime) -> dict[str, Any]:
        decision = Decision.objects.create(
            claim=claim,
            outcome=outcome,
            amount=amount,
            currency=claim.currency,
            reason_codes=reason_codes,
            note=note,
            decided_by=actor,
            decided_at=now,
        )
        claim.decided_at = now
        claim.approved_amount = amount if outcome != DecisionOutcome.DENY else Decimal(0)
        claim.reserve = claim.approved_amount
        return {"decision": decision.pk, "amount": str(amount), "reason_codes": reason_codes}

    return _transition(
        claim_id=claim_id,
        actor=actor,
        action=action,
        params={"amount": amount, "reason_codes": reason_codes, "note": note},
        effect=effect,
        note=note,
    )


@transaction.atomic
def claim_approve(*, actor: User | None, claim_id: int, amount: Decimal | str | None = None, note: str = "") -> Claim:
    """核赔: approve the assessed amount (or the given one) within limit minus deductible and the
    policy period."""
    if amount is None:
        current = claim_get(claim_id, user=actor, for_update=True)
        amount = current.assessed_amount or current.claimed_amount
    return _decide(
        actor=actor,
        claim_id=claim_id,
        action=Action.APPROVE,
        outcome=DecisionOutcome.APPROVE,
        amount=to_money(amount),
        reason_codes=[],
        note=note,
    )


@transaction.atomic
def claim_approve_partial(
    *, actor: User, claim_id: int, amount: Decimal | str, reason_codes: list[str], note: str = ""
) -> Claim:
    return _decide(
        actor=actor,
        claim_id=claim_id,
        action=Action.APPROVE_PARTIAL,
        outcome=DecisionOutcome.PARTIAL,
        amount=to_money(amount),
        reason_codes=list(reason_codes),
        note=note,
    )


@transaction.atomic
def claim_deny(*, actor: User, claim_id: int, reason_codes: list[str], note: str) -> Claim:
    """A denial needs a reason code and words for the notice (Insurance Law art. 24)."""
    return _decide(
        actor=actor,
        claim_id=claim_id,
        action=Action.DENY,
        outcome=DecisionOutcome.DENY,
        amount=Decimal(0),
        reason_codes=list(reason_codes),
        note=note,
    )


@transaction.atomic
def claim_send_denial_notice(*, actor: User, claim_id: int, note: str = "") -> Claim:
    """Insurance Law art. 24: the notice with reasons, within 3 days of the decision."""

    def effect(claim: Claim, now: dt.datetime) -> dict[str, Any]:
        decision = claim.current_decision()
        assert decision is not None  # the guard checked it
        decision.notice_sent_at = now
        decision.save(update_fields=["notice_sent_at"])
        return {"decision": decision.pk, "notice_sent_at": now.isoformat()}

    return _transition(claim_id=claim_id, actor=actor, action=Action.SEND_DENIAL_NOTICE, effect=effect, note=note)


@transaction.atomic
def claim_request_payment(
    *, actor: User | None, claim_id: int, payee_name: str, bank_account: str, bank_name: str = "", note: str = ""
) -> Claim:
    """No payment before approval; pays what was approved and not yet paid."""
    account = normalise_account(bank_account)
    if bank_account and not account_valid(account):
        raise ValidationFailed({"bank_account": _("A bank account number has 12 to 30 digits.")})

    def effect(claim: Claim, now: dt.datetime) -> dict[str, Any]:
        decision = claim.current_decision()
        assert decision is not None
        payment = Payment.objects.create(
            claim=claim,
            decision=decision,
            payee_name=payee_name.strip(),
            bank_name=bank_name.strip(),
            bank_account=account,
            amount=to_money(decision.amount - claim.paid_amount if claim.paid_amount < decision.amount else 0),
            currency=claim.currency,
            requested_by=actor,
            requested_at=now,
        )
        return {"payment": payment.pk, "amount": str(payment.amount), "bank_account": payment.bank_account_masked}

    return _transition(
        claim_id=claim_id,
        actor=actor,
        action=Action.REQUEST_PAYMENT,
        params={"payee_name": payee_name.strip(), "bank_account": account},
        effect=effect,
        note=note,
    )


@transaction.atomic
def claim_confirm_payment(*, actor: User | None, claim_id: int, reference: str = "", note: str = "") -> Claim:
    def effect(claim: Claim, now: dt.datetime) -> dict[str, Any]:
        payment = claim.pending_payment()
        assert payment is not None
        payment.status = PaymentStatus.PAID
        payment.paid_at = now
        payment.reference = reference or uuid.uuid4().hex[:16].upper()
        payment.save(update_fields=["status", "paid_at", "reference"])
        claim.paid_amount += payment.amount
        claim.reserve = Decimal(0)
        return {"payment": payment.pk, "amount": str(payment.amount), "reference": payment.reference}

    return _transition(claim_id=claim_id, actor=actor, action=Action.CONFIRM_PAYMENT, effect=effect, note=note)


@transaction.atomic
def claim_close(*, actor: User | None, claim_id: int, note: str = "") -> Claim:
    def effect(claim: Claim, now: dt.datetime) -> None:
        claim.closed_at = now
        claim.reserve = Decimal(0)

    return _transition(claim_id=claim_id, actor=actor, action=Action.CLOSE, effect=effect, note=note)


@transaction.atomic
def claim_withdraw(*, actor: User, claim_id: int, note: str = "") -> Claim:
    """The claimant may withdraw any time before a decision."""

    def effect(claim: Claim, now: dt.datetime) -> None:
        claim.closed_at = now
        claim.reserve = Decimal(0)
        claim.resume_status = ""  # nothing to resume once withdrawn

    return _transition(claim_id=claim_id, actor=actor, action=Action.WITHDRAW, effect=effect, note=note)


@transaction.atomic
def claim_reopen(*, actor: User, claim_id: int, note: str) -> Claim:
    def effect(claim: Claim, now: dt.datetime) -> None:
        claim.closed_at = None
        claim.assessed_amount = None

    return _transition(
        claim_id=claim_id, actor=actor, action=Action.REOPEN, params={"note": note}, effect=effect, note=note
    )


# --- documents, assignment, sharing ---------------------------------------------------------------

UPLOAD_ROLES = frozenset({Role.CUSTOMER, Role.PARTNER, Role.HANDLER, Role.SUPERVISOR})


@transaction.atomic
def document_upload(
    *, actor: User, claim_id: int, doc_type: str, stream: IO[bytes], original_name: str, size: int | None = None
) -> Document:
    """Type judged from the bytes (a renamed executable is refused), size limited, SHA-256 kept."""
    check_role(actor, UPLOAD_ROLES)
    if doc_type not in DocumentType.values:
        raise ValidationFailed({"doc_type": _("Unknown document type.")})
    claim = claim_get(claim_id, user=actor, for_update=True)
    if claim.status in (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN):
        raise IllegalTransition(_("The claim is closed; ask for it to be reopened to add documents."))
    checked = check_upload(stream, declared_size=size)
    now = timezone.now()
    name = (original_name or "document").replace("/", "_").replace("\\", "_")[-200:]
    doc = Document(
        claim=claim,
        doc_type=doc_type,
        original_name=name,
        size=checked.size,
        content_type=checked.content_type,
        sha256=checked.sha256,
        uploaded_by=actor,
        uploaded_at=now,
    )
    doc.file.save(f"{claim.number}-{uuid.uuid4().hex}.{checked.extension}", File(stream), save=False)
    try:
        doc.save()
        ClaimEvent.objects.create(
            claim=claim,
            kind="document_added",
            at=now,
            actor=actor,
            from_status=claim.status,
            to_status=claim.status,
            data={"document": doc.pk, "doc_type": doc_type, "sha256": checked.sha256},
        )
        change = track(
            ClaimChange(claim, "document_added", actor, now, claim.status, claim.status, {"doc_type": doc_type})
        )
        audit_record(actor=actor, action="document.upload", obj=doc, after=snapshot(doc))
        react(change)
    except Exception:
        doc.file.delete(save=False)  # no orphan file when the row does not commit
        raise
    return doc


@transaction.atomic
def claim_assign(
    *, actor: User | None, claim_id: int, handler: User | None, team: Team | None = None, note: str = ""
) -> Claim:
    """Supervisors route claims to a handler and team (H5, R3); the system assigns on registration
    (process.assignment). Taking a claim away from its handler needs a reason."""
    check_role(actor, ASSIGN_ROLES)
    claim = claim_get(claim_id, user=actor, for_update=True)
    if claim.status in (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN):
        raise IllegalTransition(_("A closed claim cannot be reassigned."))
    if claim.handler_id is not None and claim.handler_id != getattr(handler, "pk", None) and not note.strip():
        raise ValidationFailed({"note": _("Give the reason for taking the claim from its handler.")})
    if handler is not None and (handler.role != Role.HANDLER or not handler.is_active):
        raise ValidationFailed({"handler": _("Choose an active claim handler.")})
    if handler is not None and handler.branch_id not in (None, claim.branch_id):
        raise ValidationFailed({"handler": _("This handler works for another branch.")})
    before = snapshot(claim, AUDITED_CLAIM_FIELDS)
    now = timezone.now()
    claim.handler = handler
    claim.team = team or (handler.team if handler is not None else None)
    claim.version += 1
    claim.save(update_fields=["handler", "team", "version", "updated_at"])
    data = {"handler": claim.handler_id, "team": claim.team_id}
    _event, change = _side_event(claim, "assigned", actor, now, note=note, data=data, visible=False)
    audit_record(
        actor=actor, action="claim.assign", obj=claim, before=before, after=snapshot(claim, AUDITED_CLAIM_FIELDS)
    )
    react(change)
    return claim


@transaction.atomic
def claim_share(*, actor: User, claim_id: int, partner: PartnerOrganization, note: str = "") -> ClaimShare:
    """S3: give one partner organisation access to one claim."""
    check_role(actor, SHARE_ROLES)
    claim = claim_get(claim_id, user=actor, for_update=True)
    share, created = ClaimShare.objects.get_or_create(
        claim=claim, partner=partner, defaults={"shared_by": actor, "shared_at": timezone.now()}
    )
    if created:
        # A change like a note's, so the apps that follow claims learn of it (fraud links the partner).
        _event, change = _side_event(
            claim, "shared", actor, share.shared_at, note=note, data={"partner": partner.pk}, visible=False
        )
        audit_record(actor=actor, action="claim.share", obj=share, after=snapshot(share))
        react(change)
    return share


# --- reserve, notes and messages ---------------------------------------------------------------------

RESERVE_ROLES = frozenset({Role.HANDLER, Role.SUPERVISOR})
NOTE_ROLES = frozenset({Role.HANDLER, Role.REVIEWER, Role.SUPERVISOR})
MESSAGE_ROLES = NOTE_ROLES | {Role.CUSTOMER}
MAX_TEXT = 4000


def _text(value: str, field: str, missing: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed({field: missing})
    if len(text) > MAX_TEXT:
        raise ValidationFailed({field: _("Keep it under %(max)d characters.") % {"max": MAX_TEXT}})
    return text


def _side_event(
    claim: Claim,
    kind: str,
    actor: User | None,
    now: dt.datetime,
    *,
    note: str = "",
    data: dict[str, Any],
    visible: bool,
) -> tuple[ClaimEvent, ClaimChange]:
    """A timeline entry that leaves the status as it is, and the change it makes for the trackers."""
    event = ClaimEvent.objects.create(
        claim=claim,
        kind=kind,
        at=now,
        actor=actor,
        from_status=claim.status,
        to_status=claim.status,
        note=note,
        data=data,
        visible_to_customer=visible,
    )
    return event, track(ClaimChange(claim, kind, actor, now, claim.status, claim.status, data))


@transaction.atomic
def claim_reserve_change(*, actor: User, claim_id: int, amount: Decimal | str, reason: str) -> Claim:
    """The case reserve (未决赔款准备金) follows the handler's best estimate; every change has a reason."""
    check_role(actor, RESERVE_ROLES)
    try:
        value = to_money(amount)
    except (ArithmeticError, TypeError, ValueError):
        raise ValidationFailed({"amount": _("Give an amount.")}) from None
    if value < 0:
        raise ValidationFailed({"amount": _("A reserve cannot be negative.")})
    reason = _text(reason, "reason", _("Say why the reserve changes."))
    claim = claim_get(claim_id, user=actor, for_update=True)
    if claim.status in (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN):
        raise IllegalTransition(_("A closed claim has no reserve to change."))
    if value == claim.reserve:
        raise ValidationFailed({"amount": _("The reserve is already %(amount)s.") % {"amount": value}})
    before = snapshot(claim, AUDITED_CLAIM_FIELDS)
    now = timezone.now()
    data = {"from": str(claim.reserve), "to": str(value)}
    claim.reserve = value
    claim.version += 1
    claim.save(update_fields=["reserve", "version", "updated_at"])
    _event, change = _side_event(claim, "reserve_changed", actor, now, note=reason, data=data, visible=False)
    audit_record(
        actor=actor, action="claim.reserve", obj=claim, before=before, after=snapshot(claim, AUDITED_CLAIM_FIELDS)
    )
    react(change)
    return claim


@transaction.atomic
def claim_note_add(*, actor: User, claim_id: int, text: str) -> ClaimEvent:
    """An internal note on the claim's timeline; never shown to the customer."""
    check_role(actor, NOTE_ROLES)
    text = _text(text, "text", _("Write the note."))
    claim = claim_get(claim_id, user=actor, for_update=True)
    now = timezone.now()
    event, _change = _side_event(claim, "note", actor, now, note=text, data={}, visible=False)
    audit_record(actor=actor, action="claim.note", obj=event, after=snapshot(event))
    return event


@transaction.atomic
def claim_message_send(*, actor: User, claim_id: int, body: str) -> ClaimMessage:
    """A message between the claimant and the claim's handlers; the customer sees the whole thread."""
    check_role(actor, MESSAGE_ROLES)
    body = _text(body, "body", _("Write the message."))
    claim = claim_get(claim_id, user=actor, for_update=True)
    if claim.status == ClaimStatus.WITHDRAWN:
        raise IllegalTransition(_("The claim was withdrawn; messages are closed."))
    now = timezone.now()
    message = ClaimMessage.objects.create(
        claim=claim, author=actor, from_customer=actor.role == Role.CUSTOMER, body=body, sent_at=now
    )
    data = {"message": message.pk, "from_customer": message.from_customer}
    _event, change = _side_event(claim, "message", actor, now, data=data, visible=True)
    audit_record(actor=actor, action="claim.message", obj=message, after=snapshot(message))
    react(change)
    return message
