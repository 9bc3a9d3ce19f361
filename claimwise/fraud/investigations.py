"""Writes of the investigation queue (SIU, issue 6 item 5): cases, their tasks and notes, and the
outcome that becomes a training label.

The guarantee (anti-fraud work must not delay honest claims): a case runs beside the claim. Opening
and closing one writes a staff-only timeline entry and nothing else on the claim: no status change,
no claim-change listeners, so no clock pauses, moves or stops; the deadline job keeps warning and
breaching as before. A claim cleared as "not fraud" is where it was and continues at once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.choices import STAFF_ROLES, Role
from claimwise.accounts.models import User
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.selectors import claim_get
from claimwise.core import calendar
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.errors import (
    DomainError,
    ErrorCode,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from claimwise.fraud.choices import CaseOutcome, CaseStatus
from claimwise.fraud.models import InvestigationCase, InvestigationNote, InvestigationTask, RiskAssessment

# Who runs investigations: open, assign and close cases. The case's investigator may also add tasks
# and notes and mark tasks done.
SIU_ROLES = frozenset({Role.SUPERVISOR, Role.COMPLIANCE})
MAX_TEXT = 4000
EVENT_OPENED = "siu_case_opened"
EVENT_CLOSED = "siu_case_closed"


def threshold() -> Decimal:
    return Decimal(str(settings.CLAIMWISE_SIU_THRESHOLD))


def case_due(opened_at: dt.datetime) -> dt.datetime:
    """The case's own deadline: CLAIMWISE_SIU_DAYS working days on the project calendar."""
    return calendar.add_working_days(opened_at, int(settings.CLAIMWISE_SIU_DAYS))[0]


def _text(value: str | None, field: str, missing: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed({field: missing})
    if len(text) > limit:
        raise ValidationFailed({field: _("Keep it under %(max)d characters.") % {"max": limit}})
    return text


def _siu(actor: User | None) -> None:
    if actor is not None and actor.role not in SIU_ROLES:
        raise PermissionDenied()


def _case_for_update(actor: User | None, case_id: int) -> InvestigationCase:
    """The case, locked, when its claim is in the actor's scope (else not found: ids reveal nothing)."""
    case = InvestigationCase.objects.select_for_update(of=("self",)).filter(pk=case_id).first()
    if case is None:
        raise NotFound()
    if actor is not None:
        claim_get(case.claim_id, user=actor)
        if actor.role not in STAFF_ROLES:
            raise PermissionDenied()
    return case


def _worker(actor: User | None, case: InvestigationCase) -> None:
    """SIU roles, or the case's investigator."""
    if actor is not None and actor.role not in SIU_ROLES and actor.pk != case.assignee_id:
        raise PermissionDenied()


def _open_only(case: InvestigationCase) -> None:
    if case.status != CaseStatus.OPEN:
        raise IllegalTransition(_("The investigation is closed."))


def _timeline(claim: Claim, kind: str, actor: User | None, at: dt.datetime, note: str, data: dict[str, Any]) -> None:
    # Written directly, not through the claim-change listeners: the claim's step, clocks and
    # straight-through review must not see an investigation at all.
    ClaimEvent.objects.create(
        claim=claim,
        kind=kind,
        at=at,
        actor=actor,
        from_status=claim.status,
        to_status=claim.status,
        note=note,
        data=data,
        visible_to_customer=False,
    )


def _assignee(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.role not in STAFF_ROLES:
        raise ValidationFailed({"assignee_id": _("Choose an active staff member.")})
    return user


def _open(
    *, actor: User | None, claim: Claim, reason: str, score: Decimal | None, assignee: User | None
) -> InvestigationCase:
    now = timezone.now()
    case = InvestigationCase(
        claim=claim,
        opened_at=now,
        opened_by=actor,
        reason=reason,
        score_at_opening=score,
        assignee=assignee,
        due_at=case_due(now),
    )
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        raise DomainError(_("This claim is under investigation already."), code=ErrorCode.CONFLICT) from None
    _timeline(
        claim, EVENT_OPENED, actor, now, reason, {"case": case.pk, "score": None if score is None else str(score)}
    )
    audit_record(actor=actor, action="fraud.case_open", obj=case, after=snapshot(case))
    return case


@transaction.atomic
def case_open(*, actor: User | None, claim_id: int, reason: str, assignee_id: int | None = None) -> InvestigationCase:
    """Open an investigation of a claim by hand (supervisors and compliance). At most one open case
    per claim; the claim's status and clocks stay as they are."""
    claim = claim_get(claim_id, user=actor, for_update=True)
    _siu(actor)
    reason = _text(reason, "reason", _("Say why the claim is investigated."), limit=300)
    if InvestigationCase.objects.filter(claim=claim, status=CaseStatus.OPEN).exists():
        raise DomainError(_("This claim is under investigation already."), code=ErrorCode.CONFLICT)
    return _open(actor=actor, claim=claim, reason=reason, score=claim.risk_score, assignee=_assignee(assignee_id))


def case_auto_open(claim: Claim) -> InvestigationCase | None:
    """The system opens a case when a claim's risk score reaches CLAIMWISE_SIU_THRESHOLD: only when it
    crosses it (the previous assessment was below it, or there was none) and no case is open. Runs
    inside the claim's transaction after it was scored; below the threshold it costs nothing."""
    score = claim.risk_score
    limit = threshold()
    if score is None or score < limit:
        return None
    latest = list(RiskAssessment.objects.filter(claim=claim).order_by("-at", "-pk").values_list("score", flat=True)[:2])
    if len(latest) == 2 and latest[1] >= limit:
        return None  # it was above already: crossed before, a case was opened (or closed) then
    if InvestigationCase.objects.filter(claim=claim, status=CaseStatus.OPEN).exists():
        return None
    reason = _("Risk score %(score)s reached the investigation threshold %(threshold)s.") % {
        "score": score,
        "threshold": limit,
    }
    return _open(actor=None, claim=claim, reason=reason, score=score, assignee=None)


@transaction.atomic
def case_assign(*, actor: User | None, case_id: int, assignee_id: int | None) -> InvestigationCase:
    """Give the case to an investigator (any active staff member), or take it back (None)."""
    case = _case_for_update(actor, case_id)
    _siu(actor)
    _open_only(case)
    before = snapshot(case)
    case.assignee = _assignee(assignee_id)
    case.save(update_fields=["assignee"])
    audit_record(actor=actor, action="fraud.case_assign", obj=case, before=before, after=snapshot(case))
    return case


@transaction.atomic
def case_task_add(
    *,
    actor: User | None,
    case_id: int,
    text: str,
    assignee_id: int | None = None,
    due_at: dt.datetime | None = None,
) -> InvestigationTask:
    case = _case_for_update(actor, case_id)
    _worker(actor, case)
    _open_only(case)
    text = _text(text, "text", _("Say what is to be done."), limit=500)
    task = InvestigationTask.objects.create(
        case=case, text=text, assignee=_assignee(assignee_id), due_at=due_at, created_at=timezone.now()
    )
    audit_record(actor=actor, action="fraud.case_task_add", obj=task, after=snapshot(task))
    return task


@transaction.atomic
def case_task_done(*, actor: User | None, task_id: int) -> InvestigationTask:
    task = InvestigationTask.objects.filter(pk=task_id).first()
    if task is None:
        raise NotFound()
    case = _case_for_update(actor, task.case_id)
    if actor is not None and actor.role not in SIU_ROLES and actor.pk not in (case.assignee_id, task.assignee_id):
        raise PermissionDenied()
    _open_only(case)
    task = InvestigationTask.objects.select_for_update().get(pk=task_id)
    if task.done_at is not None:
        raise IllegalTransition(_("The task is done already."))
    before = snapshot(task)
    task.done_at, task.done_by = timezone.now(), actor
    task.save(update_fields=["done_at", "done_by"])
    audit_record(actor=actor, action="fraud.case_task_done", obj=task, before=before, after=snapshot(task))
    return task


@transaction.atomic
def case_note_add(*, actor: User | None, case_id: int, text: str) -> InvestigationNote:
    case = _case_for_update(actor, case_id)
    _worker(actor, case)
    text = _text(text, "text", _("Write the note."))
    note = InvestigationNote.objects.create(case=case, author=actor, text=text, at=timezone.now())
    audit_record(actor=actor, action="fraud.case_note_add", obj=note, after=snapshot(note))
    return note


def _amount(value: Decimal | str | int | None) -> Decimal:
    try:
        amount = Decimal(str(value if value is not None else "0"))
    except (InvalidOperation, ValueError):
        raise ValidationFailed({"amount_saved": _("Give an amount.")}) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationFailed({"amount_saved": _("The amount saved cannot be negative.")})
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
def case_close(
    *,
    actor: User | None,
    case_id: int,
    outcome: str,
    note: str,
    amount_saved: Decimal | str | int | None = None,
) -> InvestigationCase:
    """Close an investigation with its outcome (supervisors and compliance). Something is saved only
    when fraud is confirmed: the amount saved is ≥ 0 then, and must be 0 otherwise. Nothing happens
    to the claim: cleared as not fraud it simply continues where it is; on confirmed fraud the
    decision is still taken on the claim, by people, through its own lifecycle."""
    case = _case_for_update(actor, case_id)
    _siu(actor)
    _open_only(case)
    if outcome not in CaseOutcome.values:
        raise ValidationFailed({"outcome": _("Choose the outcome of the investigation.")})
    note = _text(note, "note", _("Say what the investigation found."))
    amount = _amount(amount_saved)
    if outcome != CaseOutcome.CONFIRMED_FRAUD and amount != 0:
        raise ValidationFailed({"amount_saved": _("An amount is saved only when fraud is confirmed.")})
    before = snapshot(case)
    now = timezone.now()
    case.status, case.outcome, case.outcome_note = CaseStatus.CLOSED, outcome, note
    case.amount_saved, case.closed_at, case.closed_by = amount, now, actor
    case.save(update_fields=["status", "outcome", "outcome_note", "amount_saved", "closed_at", "closed_by"])
    claim = Claim.objects.get(pk=case.claim_id)
    _timeline(claim, EVENT_CLOSED, actor, now, note, {"case": case.pk, "outcome": outcome, "amount_saved": str(amount)})
    audit_record(actor=actor, action="fraud.case_close", obj=case, before=before, after=snapshot(case))
    return case
