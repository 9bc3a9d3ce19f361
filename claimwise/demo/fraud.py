"""The demo's fraud layer (issue 6): what a fraud team would find on the generated book. The seeded
claims are written set-based, past the report path that indexes and scores each claim, so here the
link index is built for every claim, one small ring is planted in the demo branch (four unrelated
claimants paid into one bank account), every claim is scored by the batch scorer, the claims over
the investigation threshold get their cases, and the early-warning pass runs over yesterday.

The generated claims' documents are a handful of sample files shared by all of them (the seeder
writes each file once): as evidence they would make every claim a duplicate-document ring. So their
files stay out of the link index and the duplicate-document flag is switched off in the demo (an
audited rule change, visible in the back office); documents uploaded in the demo are indexed as
everywhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.fraud.batch import score_claims
from claimwise.fraud.choices import LinkKind, RuleStatus
from claimwise.fraud.investigations import case_auto_open, case_open, threshold
from claimwise.fraud.links import claim_entities, claim_partners, rings_of
from claimwise.fraud.models import InvestigationCase, RedFlagRule
from claimwise.fraud.rules import rule_save
from claimwise.fraud.services import links_record, ring_alerts_raise
from claimwise.fraud.warning import early_warning_run

RING_ACCOUNT = "6222 0212 3456 7890 123"  # a made-up account number, paid by four strangers' claims
RING_SIZE = 4
CLOSED = (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN)


def fraud_layer(*, branch_code: str, say: Callable[[str], None] = lambda _line: None) -> dict[str, int]:
    planted = _plant_ring(branch_code)
    duplicate = RedFlagRule.objects.filter(code="duplicate-document", status=RuleStatus.ACTIVE).first()
    if duplicate is not None:
        rule_save(actor=None, rule_id=duplicate.pk, data={"status": RuleStatus.DISABLED})
    indexed = 0
    for claim in Claim.objects.select_related("claimant", "policy").order_by("pk").iterator(chunk_size=500):
        found = claim_entities(claim, documents=(), partners=claim_partners(claim.pk))
        links_record(claim=claim, found=[e for e in found if e.kind != LinkKind.DOCUMENT])
        indexed += 1
    say(f"  link index: {indexed} claims")
    rings = 0
    if planted:
        last = Claim.objects.select_related("claimant", "policy").get(pk=planted[-1])
        found = claim_entities(last, documents=())
        rings = len(ring_alerts_raise(actor=None, claim=last, rings=rings_of(last, found)))
    summary = score_claims()
    say(f"  risk scores: {summary.claims} claims ({summary.rate:,.0f} claims/s); rings: {rings}")
    cases = 0
    over = Claim.objects.filter(risk_score__gte=threshold()).exclude(status__in=CLOSED).order_by("pk")
    for claim in over:
        with transaction.atomic():
            cases += case_auto_open(claim) is not None
    if planted and not InvestigationCase.objects.filter(claim_id__in=planted).exists():
        case_open(actor=None, claim_id=planted[-1], reason="Four unrelated claimants are paid into one bank account.")
        cases += 1
    alerts = early_warning_run(day=timezone.localdate() - dt.timedelta(days=1))
    say(f"  investigations opened: {cases}; early-warning alerts: {len(alerts)}")
    return {"indexed": indexed, "rings": rings, "cases": cases, "alerts": len(alerts)}


def _plant_ring(branch_code: str) -> list[int]:
    """The payee account of the latest open claims of four different claimants of the branch."""
    chosen: list[int] = []  # newest first
    claimants: set[int] = set()
    open_claims = (
        Claim.objects.filter(branch__code=branch_code)
        .exclude(status__in=CLOSED)
        .order_by("-reported_at", "-pk")
        .values_list("pk", "claimant_id")
    )
    for pk, claimant in open_claims[:200]:
        if claimant not in claimants:
            chosen.append(pk)
            claimants.add(claimant)
        if len(chosen) == RING_SIZE:
            break
    if len(chosen) < RING_SIZE:
        return []
    for claim in Claim.objects.filter(pk__in=chosen):
        claim.payee_account = RING_ACCOUNT
        claim.save(update_fields=["payee_account"])
    return chosen[::-1]  # in report order, the last one reported last
