"""Writes of the customer portal: sign-in by mobile number (with the staff sign-in's lock-out),
drafts, and reporting a claim with its files in one go. Each is audited; the claim itself goes
through the same FNOL and document services as every other channel."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import IO, Any

from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.accounts.services import user_create, user_set_password
from claimwise.claims.documents import check_upload
from claimwise.claims.fnol import Payee, SubmitResult, claim_submit, normalise_account
from claimwise.claims.models import Claim
from claimwise.claims.services import document_upload
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.crypto import keyed_hash
from claimwise.core.errors import DomainError, ErrorCode, ValidationFailed
from claimwise.notifications.choices import Channel, Event
from claimwise.notifications.services import customer_recipient, enabled_channels, messages_queue
from claimwise.policies.models import Customer, Policy
from claimwise.policies.selectors import mobile_in_use
from claimwise.policies.services import customer_account_link, customer_contact_change
from claimwise.policies.validators import clean_id_number, clean_mobile
from claimwise.portal.models import ClaimDraft, OneTimeCode
from claimwise.workbench.selectors import lockout_until
from claimwise.workbench.services import sign_in_cleared, sign_in_failed, sign_in_succeeded

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
    """The mobile number as customers' records keep it (E.164), or None when it is not one."""
    try:
        return clean_mobile(mobile.strip())
    except ValueError:
        return None


def masked_mobile(mobile: str) -> str:
    phone = e164(mobile) or mobile
    return f"{phone[:-8]}****{phone[-4:]}" if len(phone) > 8 else "****"


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


# --- accounts: sign-up and password reset by a code sent to the mobile on the policy -----------------

CODE_MINUTES = 10
CODE_TRIES = 5
CODE_GAP = dt.timedelta(seconds=60)  # one new code a minute per number and purpose


def _code_hash(code_row_key: str, code: str) -> str:
    return keyed_hash(f"{code_row_key}:{code}")


def _policyholder(id_number: str, mobile: str) -> Customer | None:
    """The customer whose verified ID number is on a policy and whose mobile is the one given."""
    try:
        number, _birth, _gender = clean_id_number(id_number)
    except ValueError:
        return None
    phone = e164(mobile)
    if phone is None:
        return None
    customer = Customer.objects.filter(id_hash=keyed_hash(number), phone=phone).select_related("user").first()
    if customer is None or not Policy.objects.filter(Q(holder=customer) | Q(insured_person=customer)).exists():
        return None
    return customer


@transaction.atomic
def code_send(
    *,
    purpose: str,
    customer: Customer,
    now: dt.datetime | None = None,
    to: tuple[str, str] | None = None,
    field: str = "mobile",
) -> OneTimeCode:
    """A fresh code to the customer's mobile (and email, when they have one), or only `to`
    (channel, address: a new address the customer must prove is theirs), through the notification
    outbox in this transaction. At most one a minute."""
    now = now or timezone.now()
    recent = OneTimeCode.objects.filter(purpose=purpose, phone=customer.phone, created_at__gt=now - CODE_GAP)
    if recent.exists():
        raise ValidationFailed({field: _("A code was sent less than a minute ago. Wait a moment, then ask again.")})
    recipient = customer_recipient(customer)
    if to is None:
        addresses = {c: a for c, a in recipient.addresses.items() if c in (Channel.SMS, Channel.EMAIL)}
    else:
        addresses = {to[0]: to[1]} if to[0] in enabled_channels() else {}
    if not addresses:
        raise DomainError(
            _("We cannot send you a code: no text message or email service is set up. Please call us."),
            code=ErrorCode.CONFLICT,
        )
    code = f"{secrets.randbelow(10**6):06d}"
    row = OneTimeCode.objects.create(
        purpose=purpose,
        phone=customer.phone,
        customer=customer,
        address=to[1] if to else "",
        code_hash="",
        created_at=now,
        expires_at=now + dt.timedelta(minutes=CODE_MINUTES),
    )
    row.code_hash = _code_hash(f"{row.pk}:{purpose}", code)
    row.save(update_fields=["code_hash"])
    messages_queue(
        event=Event.ONE_TIME_CODE,
        claim=None,
        recipients=[replace(recipient, key=f"code{row.pk}", addresses=addresses)],
        context=lambda: {"code": code, "minutes": CODE_MINUTES},
        key=f"code:{row.pk}",
        now=now,
    )
    audit_record(actor=None, action=f"portal.code_send.{purpose}", obj=row, after={"customer": customer.pk})
    return row


@transaction.atomic
def _code_try(
    purpose: str, phone: str, code: str, now: dt.datetime, *, customer_id: int | None = None
) -> tuple[OneTimeCode | None, str]:
    """The attempt is counted even when it fails (so this commits; the caller raises). Codes for a
    new address are the customer's own: found by customer, not by number."""
    mine: dict[str, Any] = {"customer_id": customer_id} if customer_id is not None else {"phone": phone}
    row = (
        OneTimeCode.objects.select_for_update()
        .filter(purpose=purpose, used_at__isnull=True, **mine)
        .order_by("-created_at", "-pk")
        .first()
    )
    if row is None or row.expires_at <= now or row.attempts >= CODE_TRIES:
        return None, _("This code is no longer valid. Ask for a new one.")
    if not hmac.compare_digest(row.code_hash, _code_hash(f"{row.pk}:{purpose}", code.strip())):
        row.attempts += 1
        row.save(update_fields=["attempts"])
        audit_record(actor=None, action="portal.code_wrong", obj=row, after={"attempts": row.attempts})
        return None, _("The code is not correct. Check the last message we sent you.")
    row.used_at = now
    row.save(update_fields=["used_at"])
    return row, ""


def code_check(*, purpose: str, mobile: str, code: str, now: dt.datetime | None = None) -> OneTimeCode:
    row, problem = _code_try(purpose, e164(mobile) or "", code, now or timezone.now())
    if row is None:
        raise ValidationFailed({"code": problem})
    return row


NO_MATCH = gettext_lazy(
    "We could not match these details to a policy. Give the ID number on your policy and the mobile "
    "number you gave us when you took it out."
)


def sign_up_start(*, id_number: str, mobile: str) -> OneTimeCode:
    """Step 1: the person proves they hold a policy (ID number and the mobile on file); a code goes
    to that mobile."""
    customer = _policyholder(id_number, mobile)
    if customer is None:
        raise ValidationFailed({"id_number": str(NO_MATCH)})
    if customer.user_id is not None:
        raise ValidationFailed({"mobile": _("You already have an account: sign in, or reset your password.")})
    return code_send(purpose=OneTimeCode.Purpose.SIGN_UP, customer=customer)


def _password_problems(password: str, user: User | None = None) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed({"password": " ".join(exc.messages)}) from exc


def sign_up_finish(*, mobile: str, code: str, password: str) -> User:
    """Step 2: the right code and a good password make the account, tied to the customer's policies.
    The password is checked first (a weak one does not use up the code); the code check commits on
    its own, so wrong tries count even though this step then fails."""
    _password_problems(password)
    row = code_check(purpose=OneTimeCode.Purpose.SIGN_UP, mobile=mobile, code=code)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=row.customer_id)
        if customer.user_id is not None:
            raise ValidationFailed({"mobile": _("You already have an account: sign in, or reset your password.")})
        user = user_create(actor=None, username=f"c{customer.pk}", password=password, role=Role.CUSTOMER)
        customer_account_link(actor=user, customer=customer, user=user)
    return user


def reset_start(*, mobile: str) -> None:
    """Step 1 of a reset: a code when the number belongs to an account; the same answer either way."""
    phone = e164(mobile)
    customer = Customer.objects.filter(phone=phone, user__isnull=False, user__is_active=True).first() if phone else None
    if customer is not None:
        code_send(purpose=OneTimeCode.Purpose.RESET, customer=customer)


def reset_finish(*, mobile: str, code: str, password: str) -> User:
    """A new password with the right code; the lock-out on the number ends."""
    _password_problems(password)
    row = code_check(purpose=OneTimeCode.Purpose.RESET, mobile=mobile, code=code)
    with transaction.atomic():
        user = User.objects.get(customer__pk=row.customer_id)
        user_set_password(actor=user, user=user, password=password)
        sign_in_cleared(name=throttle_name(mobile))
    return user


# --- a new mobile number or email address -----------------------------------------------------------

CONTACT_FIELD: dict[str, str] = {OneTimeCode.Purpose.MOBILE: "mobile", OneTimeCode.Purpose.EMAIL: "email"}


def contact_change_start(*, actor: User, customer: Customer, purpose: str, value: str, password: str) -> OneTimeCode:
    """Step 1 of a new mobile or email: the password again (a phone left unlocked is not enough),
    then a code to the NEW address, which proves it is the customer's. Nothing changes yet."""
    field = CONTACT_FIELD[purpose]
    if not actor.check_password(password):
        raise ValidationFailed({"password": _("The password is not correct.")})
    if purpose == OneTimeCode.Purpose.MOBILE:
        try:
            value = clean_mobile(value)
        except ValueError as exc:
            raise ValidationFailed({field: str(exc)}) from exc
        if value == customer.phone:
            raise ValidationFailed({field: _("This is already the mobile number we have.")})
        if mobile_in_use(value, other_than=customer.pk):
            raise ValidationFailed({field: _("This mobile number is used by another account.")})
        to = (Channel.SMS, value)
    else:
        value = value.strip().lower()
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise ValidationFailed({field: _("Enter a valid email address.")}) from exc
        if value == customer.email.lower():
            raise ValidationFailed({field: _("This is already the email address we have.")})
        to = (Channel.EMAIL, value)
    return code_send(purpose=purpose, customer=customer, to=to, field=field)


def contact_change_finish(*, actor: User, customer: Customer, purpose: str, code: str) -> Customer:
    """Step 2: the code sent to the new address makes it the customer's; the old one is told, so a
    change the customer did not make does not go unnoticed."""
    row, problem = _code_try(purpose, "", code, timezone.now(), customer_id=customer.pk)
    if row is None:
        raise ValidationFailed({"code": problem})
    with transaction.atomic():
        old = customer_recipient(customer)
        mobile = purpose == OneTimeCode.Purpose.MOBILE
        changed = customer_contact_change(
            actor=actor,
            customer_id=customer.pk,
            phone=row.address if mobile else None,
            email=None if mobile else row.address,
        )
        shown = masked_address(row)
        messages_queue(
            event=Event.CONTACT_CHANGED,
            claim=None,
            recipients=[replace(old, key=f"contact{row.pk}")],
            context=lambda: {"what": _("mobile number") if mobile else _("email address"), "new": shown},
            key=f"contact:{row.pk}",
        )
    return changed


def masked_address(row: OneTimeCode) -> str:
    """The new address a code went to, masked: a mobile's middle digits, an email's name."""
    if row.purpose == OneTimeCode.Purpose.MOBILE:
        return masked_mobile(row.address)
    name, _at, domain = row.address.partition("@")
    return f"{name[:1]}•••@{domain}"
