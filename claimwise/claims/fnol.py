"""First notice of loss (P2): validation, idempotency, the claim and its first event and audit entry.

The hot path of intake: its statements are hand-written (`core.rows`), see docs/performance.md."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.claims.changes import ClaimChange, react, track
from claimwise.claims.choices import (
    Channel,
    Complexity,
    LossType,
    Priority,
)
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent, ClaimShare, IdempotencyKey
from claimwise.core import rows
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.choices import LineOfBusiness
from claimwise.core.crypto import keyed_hash
from claimwise.core.errors import (
    DomainError,
    ErrorCode,
    PermissionDenied,
    ValidationFailed,
)
from claimwise.core.money import to_money
from claimwise.policies.models import Coverage, Customer, Policy, Product

LINE_PREFIX = {
    LineOfBusiness.MOTOR: "MV",
    LineOfBusiness.HEALTH: "MH",
    LineOfBusiness.ACCIDENT: "AC",
    LineOfBusiness.PROPERTY: "PR",
    LineOfBusiness.LIFE: "LF",
    LineOfBusiness.TRAVEL: "TR",
}
SUBMIT_ROLES = frozenset({Role.CUSTOMER, Role.HANDLER, Role.SUPERVISOR, Role.PARTNER})
LATE_REPORT_AFTER = dt.timedelta(hours=48)
# Small-claim fast track presets (保险小额理赔服务指引, 2015).
FAST_TRACK = {
    LineOfBusiness.MOTOR: (Decimal("5000"), {LossType.COLLISION, LossType.GLASS}),
    LineOfBusiness.HEALTH: (Decimal("3000"), {LossType.OUTPATIENT, LossType.HOSPITALIZATION}),
}


def claim_number(line: str, reported_at: dt.datetime, pk: int) -> str:
    local = timezone.localtime(reported_at)
    return f"{LINE_PREFIX[LineOfBusiness(line)]}{local:%Y%m%d}{pk:08d}"


def limitation_date(line: str, incident_at: dt.datetime) -> dt.date:
    """Insurance Law art. 26: two years for non-life claims, five for life, from the event."""
    years = 5 if line == LineOfBusiness.LIFE else 2
    day = timezone.localtime(incident_at).date()
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def triage(line: str, loss_type: str, amount: Decimal) -> tuple[str, str]:
    """(priority, complexity) at intake; the process rules refine these later."""
    fast = FAST_TRACK.get(LineOfBusiness(line))
    if fast and amount <= fast[0] and loss_type in fast[1]:
        complexity = Complexity.SIMPLE
    elif amount > Decimal("200000") or loss_type in (LossType.DEATH, LossType.DISABILITY, LossType.CRITICAL_ILLNESS):
        complexity = Complexity.COMPLEX
    else:
        complexity = Complexity.STANDARD
    if loss_type in (LossType.DEATH, LossType.CRITICAL_ILLNESS):
        priority = Priority.URGENT
    elif amount > Decimal("100000"):
        priority = Priority.HIGH
    elif complexity == Complexity.SIMPLE:
        priority = Priority.LOW
    else:
        priority = Priority.NORMAL
    return priority, complexity


# --- FNOL ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payee:
    """Where an approved claim is paid, as the claimant gives it at report time."""

    name: str
    account: str
    bank_name: str = ""


def normalise_account(value: str) -> str:
    return "".join(value.split())


def account_valid(value: str) -> bool:
    account = normalise_account(value)
    return account.isdigit() and 12 <= len(account) <= 30


@dataclass(frozen=True)
class SubmitResult:
    claim: Claim
    replayed: bool


def _fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _replay(actor: User, key: str, fingerprint: str) -> SubmitResult | None:
    # Almost every key is new: one narrow statement on the unique key; the claim is loaded only
    # when one is found.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT fingerprint, claim_id FROM {rows.table(IdempotencyKey)} WHERE user_id = %s AND key = %s",  # noqa: S608
            [actor.pk, key],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    claim = Claim.objects.get(pk=found[1])
    if found[0] != fingerprint:
        raise DomainError(
            _("This Idempotency-Key was already used for a different claim; use a new key for a new claim."),
            code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
            detail={"claim_number": claim.number},
        )
    return SubmitResult(claim, True)


def claim_submit(
    *,
    actor: User,
    policy_number: str,
    incident_at: dt.datetime,
    incident_place: str,
    loss_type: str,
    claimed_amount: Decimal | str,
    description: str = "",
    channel: str | None = None,
    currency: str | None = None,
    insured_id_number: str | None = None,
    idempotency_key: str | None = None,
    payee: Payee | None = None,
) -> SubmitResult:
    """First notice of loss (P2). With an idempotency key, a retried submit — also after a crash
    between commit and response — returns the claim the first one created, never a second one.
    Insurance Law art. 21: a late report is flagged, never refused."""
    payload: dict[str, Any] = {
        "policy_number": policy_number,
        "incident_at": incident_at.astimezone(dt.UTC).isoformat(),  # one moment, whatever the offset
        "incident_place": incident_place,
        "loss_type": loss_type,
        "claimed_amount": str(to_money(claimed_amount)),
        "description": description,
        "channel": channel,
        "currency": currency,
        "insured_id_number": keyed_hash(insured_id_number) if insured_id_number else None,
    }
    if payee is not None:  # only when given, so fingerprints of submits without one stay as they were
        payload["payee"] = [payee.name, payee.bank_name, keyed_hash(payee.account)]
    fingerprint = _fingerprint(payload)
    if idempotency_key:
        replay = _replay(actor, idempotency_key, fingerprint)
        if replay is not None:
            return replay
    try:
        claim = _claim_create(
            actor=actor,
            policy_number=policy_number,
            incident_at=incident_at,
            incident_place=incident_place,
            loss_type=loss_type,
            claimed_amount=to_money(claimed_amount),
            description=description,
            channel=channel,
            currency=currency,
            insured_id_number=insured_id_number,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            payee=payee,
        )
    except IntegrityError:
        # A concurrent submit with the same key won the race; answer with its claim.
        if idempotency_key:
            replay = _replay(actor, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        raise
    return SubmitResult(claim, False)


def _policy_not_found() -> ValidationFailed:
    return ValidationFailed({"policy_number": _("No policy with this number is available to you.")})


@cache
def _policy_sql(customer: bool) -> str:
    """The policy, its product and the claimant in one statement (core.rows). A customer claims as
    themselves and must hold or be insured by the policy; staff and partners claim for the insured
    person (the holder on policies without one)."""
    claimant = (
        "c.user_id = %s AND c.id IN (p.holder_id, p.insured_person_id)"
        if customer
        else "c.id = COALESCE(p.insured_person_id, p.holder_id)"
    )
    return (
        f"SELECT {rows.columns(Policy, alias='p')}, {rows.columns(Product, alias='r')}, "  # noqa: S608
        f"{rows.columns(Customer, alias='c')} FROM {rows.table(Policy)} p "
        f"INNER JOIN {rows.table(Product)} r ON r.id = p.product_id "
        f"LEFT OUTER JOIN {rows.table(Customer)} c ON {claimant} WHERE p.number = %s"
    )


def _policy_for_submit(actor: User, policy_number: str, insured_id_number: str | None) -> tuple[Policy, Customer]:
    """The policy (its product loaded) and the claimant, if the actor may claim on it."""
    role = actor.role
    customer = role == Role.CUSTOMER
    with connection.cursor() as cursor:
        cursor.execute(
            _policy_sql(customer), [actor.pk, policy_number.strip()] if customer else [policy_number.strip()]
        )
        found = cursor.fetchone()
    if found is None:
        raise _policy_not_found()
    n_policy, n_product = len(Policy._meta.concrete_fields), len(Product._meta.concrete_fields)
    policy = rows.instance(Policy, found[:n_policy])
    policy.product = rows.instance(Product, found[n_policy : n_policy + n_product])
    claimant_row = found[n_policy + n_product :]
    if claimant_row[0] is None:  # a customer who neither holds nor is insured by it
        raise _policy_not_found()
    claimant = rows.instance(Customer, claimant_row)
    if role == Role.PARTNER:
        if not insured_id_number or keyed_hash(insured_id_number) != claimant.id_hash:
            raise ValidationFailed(
                {"insured_id_number": _("Give the insured person's ID number as it appears on the policy.")}
            )
    elif not customer:
        if actor.branch_id is not None and policy.branch_id != actor.branch_id:
            raise _policy_not_found()
        if actor.lines and policy.product.line not in actor.lines:
            raise _policy_not_found()
    return policy, claimant


@cache
def _coverages_sql() -> str:
    # By code: the default ordering (product, code) would join the product table to sort one product's rows.
    return f"SELECT {rows.columns(Coverage)} FROM {rows.table(Coverage)} WHERE product_id = %s ORDER BY code"  # noqa: S608


def _coverage_for(product: Product, loss_type: str) -> Coverage | None:
    with connection.cursor() as cursor:
        cursor.execute(_coverages_sql(), [product.pk])
        coverages = [rows.instance(Coverage, row) for row in cursor.fetchall()]
    return next((c for c in coverages if loss_type in c.loss_types), None)


@cache
def _claim_id_sql() -> str | None:
    """PostgreSQL: the next claim id, taken before the insert so the number (made from the id) is
    written with the row; elsewhere the number is set right after the insert."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Claim._meta.db_table])
        sequence = cursor.fetchone()[0]
    return f"SELECT nextval('{sequence}')"


def _claim_insert(claim: Claim, line: str, now: dt.datetime) -> None:
    id_sql = _claim_id_sql()
    with connection.cursor() as cursor:
        if id_sql is not None:
            cursor.execute(id_sql)
            claim.pk = cursor.fetchone()[0]
            claim.number = claim_number(line, now, claim.pk)
            rows.insert(claim)
        else:
            rows.insert(claim)
            claim.number = claim_number(line, now, claim.pk)
            cursor.execute(f"UPDATE {rows.table(Claim)} SET number = %s WHERE id = %s", [claim.number, claim.pk])  # noqa: S608


@transaction.atomic
def _claim_create(
    *,
    actor: User,
    policy_number: str,
    incident_at: dt.datetime,
    incident_place: str,
    loss_type: str,
    claimed_amount: Decimal,
    description: str,
    channel: str | None,
    currency: str | None,
    insured_id_number: str | None,
    idempotency_key: str | None,
    fingerprint: str,
    payee: Payee | None = None,
) -> Claim:
    if actor.role not in SUBMIT_ROLES:
        raise PermissionDenied()
    policy, claimant = _policy_for_submit(actor, policy_number, insured_id_number)
    now = timezone.now()
    errors: dict[str, str] = {}
    if incident_at > now + dt.timedelta(minutes=5):
        errors["incident_at"] = _("The incident time is in the future.")
    if loss_type not in LossType.values:
        errors["loss_type"] = _("Unknown loss type.")
    if claimed_amount <= 0:
        errors["claimed_amount"] = _("The claimed amount must be above zero.")
    if currency and currency != policy.currency:
        errors["currency"] = _("Claims on this policy must be in %(currency)s.") % {"currency": policy.currency}
    if not incident_place.strip():
        errors["incident_place"] = _("Enter where the incident happened.")
    if payee is not None and not account_valid(payee.account):
        errors["payee.account"] = _("A bank account number has 12 to 30 digits.")
    if payee is not None and not payee.name.strip():
        errors["payee.name"] = _("Give the payee's name.")
    if errors:
        raise ValidationFailed(errors)

    line = policy.product.line
    coverage = _coverage_for(policy.product, loss_type)
    if channel is None:
        defaults: dict[str, str] = {Role.CUSTOMER: Channel.WEB, Role.PARTNER: Channel.PARTNER}
        channel = defaults.get(actor.role, Channel.PHONE)
    priority, complexity = triage(line, loss_type, claimed_amount)
    claim = Claim(
        policy=policy,
        claimant=claimant,
        coverage=coverage,
        line=line,
        branch_id=policy.branch_id,
        status=ClaimStatus.REPORTED,
        status_changed_at=now,
        incident_at=incident_at,
        incident_place=incident_place.strip(),
        reported_at=now,
        channel=channel,
        loss_type=loss_type,
        description=description.strip(),
        late_report=now - incident_at > LATE_REPORT_AFTER,
        limitation_date=limitation_date(line, incident_at),
        currency=policy.currency,
        claimed_amount=claimed_amount,
        reserve=claimed_amount,
        payee_name=payee.name.strip() if payee else "",
        payee_bank=payee.bank_name.strip() if payee else "",
        payee_account=normalise_account(payee.account) if payee else None,
        priority=priority,
        complexity=complexity,
    )
    # FNOL's inserts are hand-written statements (core.rows): the ORM's compilation was most of a submit's CPU.
    _claim_insert(claim, line, now)
    if actor.role == Role.PARTNER and actor.partner_id is not None:
        rows.insert(ClaimShare(claim=claim, partner_id=actor.partner_id, shared_by=actor, shared_at=now))
    if idempotency_key:
        rows.insert(IdempotencyKey(user=actor, key=idempotency_key, fingerprint=fingerprint, claim=claim))
    rows.insert(
        ClaimEvent(
            claim=claim,
            kind="submitted",
            at=now,
            actor=actor,
            to_status=ClaimStatus.REPORTED,
            data={"channel": channel, "late_report": claim.late_report},
        )
    )
    change = track(ClaimChange(claim, "submitted", actor, now, "", ClaimStatus.REPORTED, {"channel": channel}))
    audit_record(actor=actor, action="claim.submit", obj=claim, after=snapshot(claim))
    react(change)
    return claim
