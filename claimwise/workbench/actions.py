"""What a user may do on the claim page now, and doing it. Each action is a form and one call to an
audited service; what is offered follows the lifecycle table (roles, states), the claim's owner, the
approval authority and the guards that depend only on the claim, so a button is never a dead end.
Whatever the service refuses comes back to the form as its reason, and nothing is changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.claims import lifecycle, services
from claimwise.claims.lifecycle import Action, ClaimStatus
from claimwise.claims.models import Claim
from claimwise.core.errors import DomainError, ErrorCode, ValidationFailed
from claimwise.process.authority import Authority, approval_sign
from claimwise.process.materials import materials_notice_send
from claimwise.process.stepchecks import step_checks_confirm
from claimwise.workbench import forms as f

Run = Callable[[User, Claim, f.ClaimActionForm], object]


@dataclass(frozen=True)
class PageAction:
    key: str
    label: Any
    form: type[f.ClaimActionForm]
    run: Run
    tone: str = "primary"  # primary, plain or danger: how the button looks
    checks_version: bool = True  # False for additions that cannot overwrite anyone's change


def _note(form: f.ClaimActionForm) -> str:
    return str(form.cleaned_data.get("note") or "")


def _simple(service: Callable[..., object]) -> Run:
    return lambda user, claim, form: service(actor=user, claim_id=claim.pk, note=_note(form))


def _register(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    return services.claim_register(
        actor=user, claim_id=claim.pk, note=_note(form), reserve=form.cleaned_data.get("reserve")
    )


def _request_documents(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    assert isinstance(form, f.RequestDocumentsForm)
    return materials_notice_send(
        actor=user,
        claim_id=claim.pk,
        justification=form.cleaned_data.get("justification") or None,
        extra_items=form.items(),
        note=_note(form),
    )


def _submit(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    amount = form.cleaned_data["amount"]
    return services.claim_submit_for_approval(actor=user, claim_id=claim.pk, assessed_amount=amount, note=_note(form))


def _approve(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    return services.claim_approve(actor=user, claim_id=claim.pk, amount=form.cleaned_data["amount"], note=_note(form))


def _approve_partial(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    data = form.cleaned_data
    return services.claim_approve_partial(
        actor=user, claim_id=claim.pk, amount=data["amount"], reason_codes=data["reason_codes"], note=_note(form)
    )


def _deny(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    data = form.cleaned_data
    return services.claim_deny(actor=user, claim_id=claim.pk, reason_codes=data["reason_codes"], note=data["note"])


def _request_payment(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    assert isinstance(form, f.PaymentForm)
    data = form.cleaned_data
    return services.claim_request_payment(
        actor=user,
        claim_id=claim.pk,
        payee_name=data["payee_name"],
        bank_account=form.account(),
        bank_name=data.get("bank_name") or "",
        note=_note(form),
    )


def _confirm_payment(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    reference = form.cleaned_data.get("reference") or ""
    return services.claim_confirm_payment(actor=user, claim_id=claim.pk, reference=reference, note=_note(form))


def _reserve(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    data = form.cleaned_data
    return services.claim_reserve_change(actor=user, claim_id=claim.pk, amount=data["amount"], reason=data["reason"])


def _checks(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    return step_checks_confirm(actor=user, claim_id=claim.pk, items=form.cleaned_data["items"], note=_note(form))


def _internal_note(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    return services.claim_note_add(actor=user, claim_id=claim.pk, text=form.cleaned_data["text"])


def _message(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    return services.claim_message_send(actor=user, claim_id=claim.pk, body=form.cleaned_data["body"])


def _upload(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    upload = form.cleaned_data["file"]
    return services.document_upload(
        actor=user,
        claim_id=claim.pk,
        doc_type=form.cleaned_data["doc_type"],
        stream=upload,
        original_name=upload.name,
        size=upload.size,
    )


def _assign(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    handler = User.objects.filter(pk=form.cleaned_data["handler"]).first()
    if handler is None:
        raise ValidationFailed({"handler": _("Choose an active claim handler.")})
    return services.claim_assign(actor=user, claim_id=claim.pk, handler=handler, note=form.cleaned_data["reason"])


def _sign(user: User, claim: Claim, form: f.ClaimActionForm) -> object:
    return approval_sign(actor=user, claim_id=claim.pk, amount=form.cleaned_data["amount"], note=_note(form))


def _lifecycle(action: Action, form: type[f.ClaimActionForm], run: Run, tone: str = "primary") -> PageAction:
    return PageAction(action.value, action.label, form, run, tone)


ACTIONS: dict[str, PageAction] = {
    a.key: a
    for a in [
        _lifecycle(Action.REGISTER, f.RegisterForm, _register),
        _lifecycle(Action.INVESTIGATE, f.NoteForm, _simple(services.claim_investigate), "plain"),
        _lifecycle(Action.ASSESS, f.NoteForm, _simple(services.claim_assess)),
        _lifecycle(Action.REQUEST_DOCUMENTS, f.RequestDocumentsForm, _request_documents, "plain"),
        _lifecycle(Action.RESUME, f.NoteForm, _simple(services.claim_resume)),
        _lifecycle(Action.SUBMIT_FOR_APPROVAL, f.SubmitForm, _submit),
        _lifecycle(Action.APPROVE, f.ApproveForm, _approve),
        _lifecycle(Action.APPROVE_PARTIAL, f.PartialForm, _approve_partial, "plain"),
        _lifecycle(Action.DENY, f.DenyForm, _deny, "danger"),
        _lifecycle(Action.SEND_DENIAL_NOTICE, f.NoteForm, _simple(services.claim_send_denial_notice)),
        _lifecycle(Action.REQUEST_PAYMENT, f.PaymentForm, _request_payment),
        _lifecycle(Action.CONFIRM_PAYMENT, f.ConfirmPaymentForm, _confirm_payment),
        _lifecycle(Action.CLOSE, f.NoteForm, _simple(services.claim_close)),
        _lifecycle(Action.WITHDRAW, f.ReasonForm, _simple(services.claim_withdraw), "danger"),
        _lifecycle(Action.REOPEN, f.ReasonForm, _simple(services.claim_reopen), "plain"),
        PageAction("sign", gettext_lazy("Sign as first approver"), f.SignForm, _sign),
        PageAction("checks", gettext_lazy("Confirm checklist items"), f.ChecklistForm, _checks, "plain"),
        PageAction("reserve", gettext_lazy("Change the reserve"), f.ReserveForm, _reserve, "plain"),
        PageAction("assign", gettext_lazy("Reassign"), f.AssignForm, _assign, "plain"),
        PageAction("upload", gettext_lazy("Add a document"), f.UploadForm, _upload, "plain", checks_version=False),
        PageAction("note", gettext_lazy("Add note"), f.InternalNoteForm, _internal_note, "plain", checks_version=False),
        PageAction("message", gettext_lazy("Send to the customer"), f.MessageForm, _message, checks_version=False),
    ]
}

APPROVALS = frozenset({Action.APPROVE, Action.APPROVE_PARTIAL})
# Decisions belong to whoever has the authority; everything else to the claim's own handler.
NOT_OWNED = APPROVALS | {Action.DENY}
# Guards that depend on the claim alone: when one fails the action is not offered at all.
STATE_GUARDS: dict[Action, tuple[lifecycle.Guard, ...]] = {
    Action.APPROVE: (lifecycle.needs_coverage, lifecycle.incident_within_policy_period),
    Action.APPROVE_PARTIAL: (lifecycle.needs_coverage, lifecycle.incident_within_policy_period),
    Action.SEND_DENIAL_NOTICE: (lifecycle.denial_notice_not_sent,),
    Action.CONFIRM_PAYMENT: (lifecycle.payment_pending_exists,),
    Action.CLOSE: (lifecycle.close_allowed,),
}
DONE = (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN)
STAFF_UPLOAD = frozenset({Role.HANDLER, Role.SUPERVISOR})


def offered(user: User, claim: Claim, *, authority: Authority | None, open_checks: int) -> list[PageAction]:
    """The actions this user may take on this claim now, in the order a handler works."""
    owns = user.role == Role.SUPERVISOR or claim.handler_id in (None, user.pk)
    keys: list[str] = []
    for action in lifecycle.allowed_actions(claim, user.role):
        if action in APPROVALS and (authority is None or not authority.may_approve or authority.assessor_id == user.pk):
            continue
        if action not in NOT_OWNED and not owns:
            continue
        if any(guard(claim, {}) for guard in STATE_GUARDS.get(action, ())):
            continue
        keys.append(action.value)
    if Action.APPROVE.value in keys and authority is not None and _may_sign(user, claim, authority):
        keys.append("sign")
    if claim.status not in DONE:
        if open_checks and owns and user.role in (Role.HANDLER, Role.SUPERVISOR, Role.REVIEWER):
            keys.append("checks")
        if owns and user.role in services.RESERVE_ROLES:
            keys.append("reserve")
        if owns and user.role in STAFF_UPLOAD:
            keys.append("upload")
        if user.role in services.ASSIGN_ROLES:
            keys.append("assign")
    if user.role in services.NOTE_ROLES:
        keys.append("note")
        if claim.status != ClaimStatus.WITHDRAWN:
            keys.append("message")
    return [ACTIONS[k] for k in keys]


def _may_sign(user: User, claim: Claim, authority: Authority) -> bool:
    """Above the highest single ceiling two approvers with the highest authority are needed."""
    amount = claim.assessed_amount or claim.claimed_amount
    top = authority.top_limit
    return (
        authority.needs_two(amount)
        and authority.limit is not None
        and top is not None
        and authority.limit >= top
        and not any(s.signed_by_id == user.pk for s in authority.signatures)
    )


class StaleClaim(DomainError):
    code = ErrorCode.CONFLICT


def perform(action: PageAction, user: User, claim: Claim, form: f.ClaimActionForm) -> None:
    """Run the action under the claim's row lock, refusing it when the claim changed since the form
    was shown. Raises DomainError with the reason; on any error nothing is written."""
    with transaction.atomic():
        if action.checks_version:
            current = Claim.objects.select_for_update().filter(pk=claim.pk).values_list("version", flat=True).first()
            if current != form.cleaned_data["version"]:
                raise StaleClaim(
                    _(
                        "Someone changed this claim after you opened it. Reload the page to see the change, then try again."
                    )
                )
        action.run(user, claim, form)
