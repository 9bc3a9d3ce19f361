"""Straight-through review (P3).

Per line of business, active auto-review rules (`rule-engine` expressions over the claim's facts)
decide which simple claims need no person: a matching claim is registered, assessed, approved and
sent to payment by the system, with "automatic review" and the rule recorded on each step.
Everything else goes to the handler's queue. The whole run is one savepoint: if any rule of the
lifecycle says no (a limit, the policy period), nothing of it stays and the refusal is recorded.

A rule editor's dry run replays a draft rule over the last N closed claims of the line and shows
how many it would have approved and how those claims actually ended.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.models import User
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent, Decision, Document
from claimwise.claims.selectors import claim_get
from claimwise.claims.services import (
    claim_approve,
    claim_assess,
    claim_register,
    claim_request_payment,
    claim_submit_for_approval,
)
from claimwise.core.audit import audit_record
from claimwise.core.errors import DomainError
from claimwise.process.facts import FACT_SOURCE, Facts, claim_facts, compile_expression, facts_from_values
from claimwise.process.materials import claim_process
from claimwise.process.models import AutoReviewRule
from claimwise.process.setup import line_setup

if TYPE_CHECKING:
    from claimwise.process.recompute import ClaimBatch

REVIEWABLE = frozenset({ClaimStatus.REPORTED, ClaimStatus.REGISTERED})
_reviewing: ContextVar[bool] = ContextVar("claimwise_auto_reviewing", default=False)


def reviewing() -> bool:
    """Inside a straight-through run (its nested changes need no person)."""
    return _reviewing.get()


def first_match(rules: Iterable[AutoReviewRule], facts: Mapping[str, Any]) -> AutoReviewRule | None:
    for rule in rules:
        if compile_expression(rule.expression).matches(facts):
            return rule
    return None


def auto_review(claim: Claim, *, now: dt.datetime) -> AutoReviewRule | None:
    """Run the line's rules on a claim that has not been assessed yet; act on the first match."""
    if _reviewing.get() or claim.status not in REVIEWABLE:
        return None
    rules = line_setup(claim.line).rules
    if not rules:
        return None
    process = claim_process(claim)
    rule = first_match(rules, claim_facts(claim, documents_complete=process.documents_complete))
    if rule is None:
        return None
    token = _reviewing.set(True)
    try:
        with transaction.atomic():
            _straight_through(claim, rule)
    except DomainError as refusal:
        _record_stop(claim, rule, refusal, now)
        return None
    finally:
        _reviewing.reset(token)
    process.auto_review_rule = rule
    process.save(update_fields=["auto_review_rule", "updated_at"])
    return rule


def _straight_through(claim: Claim, rule: AutoReviewRule) -> None:
    note = _("Automatic review: rule “%(rule)s” (%(code)s).") % {"rule": rule.label, "code": rule.code}
    if claim.status == ClaimStatus.REPORTED:
        claim = claim_register(actor=None, claim_id=claim.pk, note=note)
        if claim.status != ClaimStatus.REGISTERED:  # materials were missing: the notice went out instead
            raise DomainError(_("Materials are missing."))
    claim_assess(actor=None, claim_id=claim.pk, note=note)
    claim_submit_for_approval(actor=None, claim_id=claim.pk, assessed_amount=claim.claimed_amount, note=note)
    claim_approve(actor=None, claim_id=claim.pk, amount=claim.claimed_amount, note=note)
    if claim.payee_account:  # the claimant said where to pay: straight on to payment
        claim_request_payment(
            actor=None,
            claim_id=claim.pk,
            payee_name=claim.payee_name,
            bank_account=claim.payee_account,
            bank_name=claim.payee_bank,
            note=note,
        )


def _record_stop(claim: Claim, rule: AutoReviewRule, refusal: DomainError, now: dt.datetime) -> None:
    """The rule matched but the lifecycle said no: the claim goes to a person, and the reason stays."""
    ClaimEvent.objects.create(
        claim=claim,
        kind="auto_review_stopped",
        at=now,
        actor=None,
        from_status=claim.status,
        to_status=claim.status,
        note=str(refusal.message),
        data={"rule": rule.code, "code": str(refusal.code)},
        visible_to_customer=False,
    )
    audit_record(
        actor=None, action="claim.auto_review_stopped", obj=claim, after={"rule": rule.code, "reason": str(refusal)}
    )


# --- dry run ------------------------------------------------------------------------------------


@dataclass
class DryRun:
    line: str
    expression: str
    examined: int = 0
    matched: int = 0
    outcomes: Counter = field(default_factory=Counter)  # how the matched claims actually ended
    matched_claimed: Decimal = Decimal(0)
    matched_paid: Decimal = Decimal(0)
    would_have_erred: list[str] = field(default_factory=list)  # matched, but denied or cut in reality

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "expression": self.expression,
            "examined": self.examined,
            "matched": self.matched,
            "outcomes": dict(self.outcomes),
            "matched_claimed": str(self.matched_claimed),
            "matched_paid": str(self.matched_paid),
            "would_have_erred": self.would_have_erred[:50],
        }


def facts_batch(claims: list[Claim]) -> list[Facts]:
    """Facts for many claims with a fixed number of queries: documents, prior claims and
    completeness against the line's current published materials."""
    ids = [c.pk for c in claims]
    documents: dict[int, set[str]] = defaultdict(set)
    for claim_id, doc_type in Document.objects.filter(claim_id__in=ids).values_list("claim_id", "doc_type"):
        documents[claim_id].add(doc_type)
    earliest = min((c.reported_at for c in claims), default=timezone.now()) - dt.timedelta(days=365)
    history: dict[int, list[dt.datetime]] = defaultdict(list)
    for policy_id, reported_at in Claim.objects.filter(
        policy_id__in={c.policy_id for c in claims}, reported_at__gte=earliest
    ).values_list("policy_id", "reported_at"):
        history[policy_id].append(reported_at)
    result = []
    for claim in claims:
        docs = tuple(sorted(documents[claim.pk]))
        prior = sum(
            1 for at in history[claim.policy_id] if claim.reported_at - dt.timedelta(days=365) <= at < claim.reported_at
        )
        facts = claim_facts(claim, documents=docs, prior_claims_12m=prior)
        setup = line_setup(claim.line)  # the line's current published materials
        definition = setup.definition_for(claim.loss_type)
        if definition is not None:
            needed = setup.materials[definition.pk]
            facts["documents_complete"] = all(
                m.doc_type in docs
                for m in needed
                if not m.condition.strip() or compile_expression(m.condition).matches(facts)
            )
        result.append(facts)
    return result


def review_dry_run(
    *, actor: User | None, line: str, expression: str, last_n: int = 500, scope: QuerySet[Claim] | None = None
) -> DryRun:
    """How a draft rule would have done on the last N closed claims of the line (within `scope`,
    the claims the asking user may see)."""
    rule = compile_expression(expression)
    last_n = max(1, min(int(last_n), 5000))
    closed: QuerySet[Claim] = (
        (scope if scope is not None else Claim.objects.all())
        .filter(line=line, status=ClaimStatus.CLOSED)
        .select_related("policy", "coverage")
        .order_by("-closed_at", "-pk")[:last_n]
    )
    claims = list(closed)
    outcome_of: dict[int, str] = {}
    for claim_id, outcome in (
        Decision.objects.filter(claim_id__in=[c.pk for c in claims])
        .order_by("decided_at", "pk")
        .values_list("claim_id", "outcome")
    ):
        outcome_of[claim_id] = outcome  # the last decision wins
    run = DryRun(line=line, expression=expression, examined=len(claims))
    for claim, facts in zip(claims, facts_batch(claims), strict=True):
        if not rule.matches(facts):
            continue
        run.matched += 1
        outcome = outcome_of.get(claim.pk, "none")
        run.outcomes[outcome] += 1
        run.matched_claimed += claim.claimed_amount
        run.matched_paid += claim.paid_amount
        if outcome in ("deny", "partial"):
            run.would_have_erred.append(claim.number or str(claim.pk))
    return run


# --- the periodic pass ----------------------------------------------------------------------------


def evaluate_auto_review(batch: ClaimBatch) -> int:
    """Per batch of the periodic pass: unassessed claims of lines with active rules are evaluated
    again (a rule activated since, a risk score lowered) and the matching ones go straight through.
    One query for the candidates' facts; documents and prior claims are read only for claims a rule
    gets that far with."""
    candidates = {f.claim_id: f.line for f in batch.facts if f.status in REVIEWABLE and line_setup(f.line).rules}
    if not candidates:
        return 0
    matched: list[tuple[int, AutoReviewRule]] = []
    for values in Claim.objects.filter(pk__in=list(candidates)).values(*FACT_SOURCE):
        process = batch.processes.get(values["id"])
        complete = process is not None and process[3] is not None  # documents_complete_at
        rule = first_match(line_setup(values["line"]).rules, facts_from_values(values, documents_complete=complete))
        if rule is not None:
            matched.append((values["id"], rule))
    acted = 0
    for claim_id, _rule in matched:
        with transaction.atomic():
            claim = claim_get(claim_id, user=None, for_update=True)
            if auto_review(claim, now=batch.now) is not None:
                acted += 1
    return acted
