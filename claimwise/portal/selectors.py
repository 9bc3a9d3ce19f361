"""Reads of the customer portal. A customer sees only their own policies and claims: anything else
is "not found" (404), never "forbidden", so claim ids reveal nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.claims.choices import LossType, ReasonCode
from claimwise.claims.lifecycle import BEFORE_DECISION, ClaimStatus
from claimwise.claims.models import Claim
from claimwise.claims.selectors import claim_get, claim_queryset, claim_timeline
from claimwise.core.choices import LineOfBusiness
from claimwise.core.errors import NotFound
from claimwise.policies.models import Customer, Policy
from claimwise.policies.selectors import policy_scope
from claimwise.portal.models import ClaimDraft, OneTimeCode
from claimwise.process.choices import ClockKind
from claimwise.process.clocks import ClockView, claim_clock_views
from claimwise.process.materials import materials_checklist
from claimwise.process.models import MaterialRequirement, ProcessDefinition
from claimwise.process.setup import line_setup
from claimwise.process.stepchecks import current_step
from claimwise.process.svg import claim_map_svg


def is_customer(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role == Role.CUSTOMER)


def customer_of(user: User) -> Customer | None:
    return Customer.objects.filter(user=user).first()


def my_policies(user: User) -> list[Policy]:
    return list(Policy.objects.filter(policy_scope(user)).select_related("product").order_by("-effective_from"))


def my_claims(user: User) -> QuerySet[Claim]:
    return claim_queryset(user).select_related("policy", "policy__product").order_by("-reported_at", "-pk")


def my_policy(user: User, number: str) -> Policy:
    policy = Policy.objects.filter(policy_scope(user), number=number).select_related("product").first()
    if policy is None:
        raise NotFound()
    return policy


def my_drafts(user: User) -> dict[str, ClaimDraft]:
    return {d.policy_number: d for d in ClaimDraft.objects.filter(user=user)}


def loss_types_of(policy: Policy) -> list[str]:
    """The loss types the policy's coverages pay for, in the product's order."""
    seen: dict[str, None] = {}
    for coverage in policy.product.coverages.order_by("code"):
        for loss_type in coverage.loss_types:
            seen.setdefault(loss_type, None)
    return list(seen)


@dataclass(frozen=True)
class Requirement:
    label: str
    conditional: bool  # needed only in some cases (the notice after reporting says exactly)


def materials_before_start(line: str, loss_type: str = "") -> list[Requirement]:
    """What the customer should have at hand before reporting, from the process definition that
    will govern the claim (the same list the system enforces)."""
    setup = line_setup(line)
    definition = setup.definition_for(loss_type) if loss_type else next(iter(setup.definitions), None)
    if definition is None:
        return []
    return [Requirement(m.label, bool(m.condition.strip())) for m in setup.materials.get(definition.pk, [])]


# The customer's deadlines: what the law and the company's published promises bind it to.
CUSTOMER_CLOCKS = frozenset(ClockKind.values) - {ClockKind.STEP, ClockKind.CALLBACK}


@dataclass(frozen=True)
class Tracking:
    claim: Claim
    step_text: str
    process_map: str | None
    needed: list[str]  # materials still missing
    deadlines: list[ClockView]
    decision: Any
    reasons: list[str]
    payments: list[Any]
    timeline: list[Any]
    thread: list[Any]
    can_withdraw: bool
    can_upload: bool
    key: str  # changes whenever anything on the page would change (for live updates)


def claim_tracking(user: User, claim_id: int, now: dt.datetime | None = None) -> Tracking:
    """Where the claim stands, in plain language; NotFound for anyone else's claim."""
    now = now or timezone.now()
    claim = claim_get(claim_id, user=user)
    step = current_step(claim)
    done = claim.status in (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN)
    # What the last evaluation found missing (the list the notice was made of), in the reader's words.
    process = getattr(claim, "process", None)
    missing = {m.get("key") for m in (process.missing_materials if process is not None else [])}
    needed = [] if done or not missing else [m.label for m in materials_checklist(claim) if m.key in missing]
    try:
        process_map: str | None = mark_safe(claim_map_svg(claim, customer=True, now=now))  # noqa: S308 - escaped SVG
    except NotFound:
        process_map = None
    decision = claim.current_decision()
    labels = dict(ReasonCode.choices)
    timeline = list(claim_timeline(claim, user=user))
    thread = list(claim.messages.select_related("author"))
    payments = list(claim.payments.all())
    documents = claim.documents.count()
    fingerprint = f"{claim.version}:{len(timeline)}:{len(thread)}:{documents}:{len(payments)}"
    return Tracking(
        claim=claim,
        step_text=step.customer_label if step is not None else str(ClaimStatus(claim.status).label),
        process_map=process_map,
        needed=needed,
        deadlines=[v for v in claim_clock_views(claim, now) if v.clock.kind in CUSTOMER_CLOCKS],
        decision=decision,
        reasons=[str(labels.get(code, code)) for code in (decision.reason_codes if decision else [])],
        payments=payments,
        timeline=timeline,
        thread=thread,
        can_withdraw=claim.status in BEFORE_DECISION,
        can_upload=not done,
        key=hashlib.sha256(fingerprint.encode()).hexdigest()[:16],
    )


# --- claim guides (C4): generated from what the system enforces -------------------------------------


@dataclass(frozen=True)
class Guide:
    line: str
    line_label: str
    definition: ProcessDefinition
    steps: list[Any]
    materials: list[MaterialRequirement]
    loss_types: list[str]  # what the line's products cover, in words
    promises: list[str]  # the company's published commitments from the definition


def guide_lines() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in LineOfBusiness.choices if line_setup(value).definitions]


def guide(line: str) -> Guide:
    """The line's published process as the customer should know it: what is covered, the steps and
    their time limits, the materials (with the conditions), and the deadlines the law sets."""
    if line not in LineOfBusiness.values:
        raise NotFound()
    setup = line_setup(line)
    definition = next((d for d in setup.definitions if not d.loss_types), None) or next(iter(setup.definitions), None)
    if definition is None:
        raise NotFound()
    from claimwise.policies.models import Coverage

    covered: dict[str, None] = {}
    for loss_types in Coverage.objects.filter(product__line=line, product__is_active=True).values_list(
        "loss_types", flat=True
    ):
        for loss_type in loss_types:
            covered.setdefault(loss_type, None)
    labels = dict(LossType.choices)
    return Guide(
        line=line,
        line_label=str(LineOfBusiness(line).label),
        definition=definition,
        steps=list(definition.steps.order_by("position")),
        materials=setup.materials.get(definition.pk, []),
        loss_types=[str(labels.get(t, t)) for t in covered],
        promises=_promises(definition),
    )


def _promises(definition: ProcessDefinition) -> list[str]:
    out = []
    if definition.fast_track_limit:
        out.append(
            _("Small claims up to %(limit)s with complete documents are paid within %(days)d days.")
            % {"limit": definition.fast_track_limit, "days": definition.fast_track_days}
        )
    if definition.line == LineOfBusiness.LIFE:
        out.append(
            _("Life claims are decided within %(days)d working days once the documents are complete.")
            % {"days": definition.life_decision_working_days}
        )
    out.append(
        _("A report not registered within %(hours)d hours is registered automatically.")
        % {"hours": definition.forced_registration_hours}
    )
    return out


def pending_contact(customer: Customer, code_id: int) -> OneTimeCode | None:
    """The code sent to a new address of the customer's (for the page that asks for it)."""
    return OneTimeCode.objects.filter(pk=code_id, customer=customer).first()
