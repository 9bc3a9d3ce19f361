"""Writes for claims. Every status change runs `_transition` under a row lock, writes one timeline
event and one audit entry in the same transaction, and changes nothing when a rule says no."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import IO, Any

from django.core.files.base import File
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.choices import Role
from claimwise.accounts.models import PartnerOrganization, Team, User
from claimwise.claims.choices import (
    Channel,
    Complexity,
    DecisionOutcome,
    DocumentType,
    LossType,
    PaymentStatus,
    Priority,
)
from claimwise.claims.documents import check_upload
from claimwise.claims.lifecycle import TRANSITIONS, Action, ClaimStatus, first_failed_guard, target_of
from claimwise.claims.models import Claim, ClaimEvent, ClaimShare, Decision, Document, IdempotencyKey, Payment
from claimwise.claims.selectors import claim_get
from claimwise.core import rows
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.choices import LineOfBusiness
from claimwise.core.crypto import keyed_hash
from claimwise.core.errors import (
    DomainError,
    ErrorCode,
    GuardFailed,
    IllegalTransition,
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


@dataclass(frozen=True)
class ClaimChange:
    """What just happened to a claim, for the apps that react to it inside the same transaction."""

    claim: Claim
    kind: str  # "submitted", a lifecycle action, "document_added", "assigned"
    actor: User | None  # None: the system
    at: dt.datetime
    from_status: str
    to_status: str
    data: Mapping[str, Any]


ClaimListener = Callable[[ClaimChange], None]
# Later apps (the process: step, clocks, materials, straight-through review) register here at
# start-up. Explicit calls from each service, not model signals: a bulk update can never skip them.
# Trackers keep derived state (a claim's step, clocks, completeness) and run before the audit entry,
# whose chain lock every write waits for until commit; reactors may take further audited actions
# (a notice, an automatic approval) and run after it, so the chain shows cause before effect.
CLAIM_TRACKERS: list[ClaimListener] = []
CLAIM_REACTORS: list[ClaimListener] = []


def on_claim_change(*, track: bool = False) -> Callable[[ClaimListener], ClaimListener]:
    def register(listener: ClaimListener) -> ClaimListener:
        listeners = CLAIM_TRACKERS if track else CLAIM_REACTORS
        if listener not in listeners:
            listeners.append(listener)
        return listener

    return register


def _track(change: ClaimChange) -> ClaimChange:
    for listener in CLAIM_TRACKERS:
        listener(change)
    return change


def _react(change: ClaimChange) -> None:
    for listener in CLAIM_REACTORS:
        listener(change)


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


def _account(value: str) -> str:
    return "".join(value.split())


def _account_valid(value: str) -> bool:
    account = _account(value)
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
        cursor.execute(_policy_sql(customer), [actor.pk, policy_number.strip()] if customer else [policy_number.strip()])
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
    if payee is not None and not _account_valid(payee.account):
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
        payee_account=_account(payee.account) if payee else None,
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
    change = _track(ClaimChange(claim, "submitted", actor, now, "", ClaimStatus.REPORTED, {"channel": channel}))
    audit_record(actor=actor, action="claim.submit", obj=claim, after=snapshot(claim))
    _react(change)
    return claim


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
    change = _track(ClaimChange(claim, action.value, actor, now, from_status, target, data))
    audit_record(
        actor=actor,
        action=f"claim.{action.value}",
        obj=claim,
        before=before,
        after={**snapshot(claim, AUDITED_CLAIM_FIELDS), **({"data": data} if data else {})},
    )
    _react(change)
    return claim


@transaction.atomic
def claim_register(
    *, actor: User | None, claim_id: int, note: str = "", reserve: Decimal | str | None = None
) -> Claim:
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
    *, actor: User | None, claim_id: int, action: Action, outcome: str, amount: Decimal, reason_codes: list[str], note: str
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
    account = _account(bank_account)
    if bank_account and not _account_valid(account):
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
        change = _track(
            ClaimChange(claim, "document_added", actor, now, claim.status, claim.status, {"doc_type": doc_type})
        )
        audit_record(actor=actor, action="document.upload", obj=doc, after=snapshot(doc))
        _react(change)
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
    ClaimEvent.objects.create(
        claim=claim,
        kind="assigned",
        at=now,
        actor=actor,
        from_status=claim.status,
        to_status=claim.status,
        note=note,
        data={"handler": claim.handler_id, "team": claim.team_id},
        visible_to_customer=False,
    )
    change = _track(
        ClaimChange(claim, "assigned", actor, now, claim.status, claim.status, {"handler": claim.handler_id})
    )
    audit_record(actor=actor, action="claim.assign", obj=claim, before=before, after=snapshot(claim, AUDITED_CLAIM_FIELDS))
    _react(change)
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
        ClaimEvent.objects.create(
            claim=claim,
            kind="shared",
            at=share.shared_at,
            actor=actor,
            from_status=claim.status,
            to_status=claim.status,
            note=note,
            data={"partner": partner.pk},
            visible_to_customer=False,
        )
        audit_record(actor=actor, action="claim.share", obj=share, after=snapshot(share))
    return share
