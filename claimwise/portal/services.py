"""Writes of the customer portal: sign-in by mobile number (with the staff sign-in's lock-out),
drafts, and reporting a claim with its files in one go. Each is audited; the claim itself goes
through the same FNOL and document services as every other channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

import phonenumbers
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.claims.documents import check_upload
from claimwise.claims.fnol import Payee, SubmitResult, claim_submit, normalise_account
from claimwise.claims.models import Claim
from claimwise.claims.services import document_upload
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.errors import DomainError, ValidationFailed
from claimwise.policies.models import Customer
from claimwise.portal.models import ClaimDraft
from claimwise.workbench.selectors import lockout_until
from claimwise.workbench.services import sign_in_failed, sign_in_succeeded

# Drafts keep what was typed, never the bank account (PIPL: no sensitive data without need).
DRAFT_FIELDS = (
    "loss_type",
    "incident_at",
    "incident_place",
    "description",
    "claimed_amount",
    "payee_name",
    "payee_bank",
)


def e164(mobile: str) -> str | None:
    try:
        number = phonenumbers.parse(mobile.strip(), "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def throttle_name(mobile: str) -> str:
    return f"portal:{e164(mobile) or mobile.strip()}"


class SignInRefused(DomainError):
    def __init__(self, message: Any, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


def portal_sign_in(request: HttpRequest, *, mobile: str, password: str) -> User:
    """A customer signs in with their mobile number and password. The same answer whether the number
    is known or not; five failures in a row lock the number (as the staff sign-in does)."""
    name = throttle_name(mobile)
    if lockout_until(name):
        raise SignInRefused(_locked(), locked=True)
    number = e164(mobile)
    customer = Customer.objects.filter(phone=number).select_related("user").first() if number else None
    account = customer.user if customer is not None else None
    user = None
    if account is not None and account.role == Role.CUSTOMER:
        user = authenticate(request, username=account.get_username(), password=password)
    if user is None:
        throttle = sign_in_failed(username=name)
        if throttle.locked_until:
            raise SignInRefused(_locked(), locked=True)
        raise SignInRefused(_("The mobile number or password is not correct."))
    sign_in_succeeded(user=user, method="portal:password")  # type: ignore[arg-type]
    return user  # type: ignore[return-value]


def _locked() -> str:
    from django.conf import settings

    return _("Too many failed attempts. Sign-in is locked for %(minutes)d minutes.") % {
        "minutes": settings.WORKBENCH_LOCKOUT_MINUTES
    }


@transaction.atomic
def draft_save(*, actor: User, policy_number: str, data: dict[str, Any]) -> ClaimDraft:
    kept = {k: str(data[k]) for k in DRAFT_FIELDS if data.get(k) not in (None, "")}
    draft, _created = ClaimDraft.objects.update_or_create(
        user=actor, policy_number=policy_number, defaults={"data": kept}
    )
    audit_record(actor=actor, action="portal.draft_save", obj=draft, after=snapshot(draft))
    return draft


@transaction.atomic
def draft_delete(*, actor: User, policy_number: str) -> None:
    for draft in ClaimDraft.objects.filter(user=actor, policy_number=policy_number):
        audit_record(actor=actor, action="portal.draft_delete", obj=draft, before=snapshot(draft))
        draft.delete()


@dataclass(frozen=True)
class Upload:
    doc_type: str
    name: str
    stream: IO[bytes]
    size: int


@dataclass(frozen=True)
class Report:
    policy_number: str
    loss_type: str
    incident_at: dt.datetime
    incident_place: str
    description: str
    claimed_amount: Decimal
    payee_name: str = ""
    payee_bank: str = ""
    payee_account: str = ""


def check_uploads(uploads: Sequence[Upload]) -> None:
    """Every file is checked before anything is written: one bad file refuses the report, with the
    file's name, and nothing is created."""
    problems = []
    for upload in uploads:
        try:
            check_upload(upload.stream, declared_size=upload.size)
        except DomainError as exc:
            problems.append({"field": "files", "message": f"{upload.name}: {exc.message}"})
    if problems:
        raise ValidationFailed(problems)


@transaction.atomic
def claim_report(*, actor: User, report: Report, uploads: Sequence[Upload], idempotency_key: str) -> Claim:
    """The customer's report and its files in one transaction: the claim exists with all of its
    files or not at all. A resent form (same key) returns the claim the first one created."""
    check_uploads(uploads)
    account = normalise_account(report.payee_account)
    result: SubmitResult = claim_submit(
        actor=actor,
        policy_number=report.policy_number,
        incident_at=report.incident_at,
        incident_place=report.incident_place,
        loss_type=report.loss_type,
        claimed_amount=report.claimed_amount,
        description=report.description,
        payee=Payee(report.payee_name.strip(), account, report.payee_bank.strip()) if account else None,
        idempotency_key=idempotency_key,
    )
    if not result.replayed:
        for upload in uploads:
            document_upload(
                actor=actor,
                claim_id=result.claim.pk,
                doc_type=upload.doc_type,
                stream=upload.stream,
                original_name=upload.name,
                size=upload.size,
            )
        draft_delete(actor=actor, policy_number=report.policy_number)
    return result.claim
