"""Each preset red flag on constructed claims: it fires where it should and not elsewhere; the
score is stored with its version, components and reasons in Chinese and English; the claim's
risk_score is written and read by straight-through review."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from claimwise.claims.fnol import Payee, claim_submit
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.claims.services import claim_share, document_upload
from claimwise.core.errors import ValidationFailed
from claimwise.core.models import AuditEntry
from claimwise.fraud.models import RedFlagRule, RiskAssessment
from claimwise.fraud.rules import rule_save
from claimwise.fraud.scoring import evaluate, reason_texts
from claimwise.fraud.services import watchlist_add
from tests import factories
from tests.process import builders
from tests.process.test_materials import png

pytestmark = pytest.mark.usefixtures("presets")


def fired(claim: Claim) -> list[str]:
    return evaluate(claim).components["rules"]["fired"]


def report(world: dict[str, Any], *, policy: Any = None, actor: Any = None, **kwargs: Any) -> Claim:
    return factories.claim(actor=actor or world["handler"], policy=policy or world["policy"], **kwargs)


def upload(claim: Claim, actor: Any, doc_type: str, data: bytes) -> None:
    document_upload(
        actor=actor,
        claim_id=claim.pk,
        doc_type=doc_type,
        stream=io.BytesIO(data),
        original_name="a.png",
        size=len(data),
    )


def test_early_claim(world: dict[str, Any]) -> None:
    fresh = factories.policy_from(holder=world["holder"], starts=timezone.now() - dt.timedelta(days=6))
    claim = report(world, policy=fresh)
    assert "early-claim" in fired(claim)
    assert "early-claim" not in fired(report(world))  # the usual policy began 100 days ago


def test_late_report(world: dict[str, Any]) -> None:
    assert "late-report" in fired(report(world, incident_at=timezone.now() - dt.timedelta(days=9)))
    assert "late-report" not in fired(report(world, incident_at=timezone.now() - dt.timedelta(days=2)))


def test_amount_near_the_sum_insured(world: dict[str, Any]) -> None:
    assert "near-sum-insured" in fired(report(world, claimed_amount="95000"))  # the coverage limit is 100,000
    assert "near-sum-insured" not in fired(report(world, claimed_amount="60000"))


def test_just_under_the_fast_track_limit(world: dict[str, Any]) -> None:
    assert "under-fast-track" in fired(report(world, claimed_amount="4900"))  # motor fast track: 5,000
    assert "under-fast-track" not in fired(report(world, claimed_amount="5100"))
    assert "under-fast-track" not in fired(report(world, claimed_amount="2000"))


def test_just_under_an_approval_authority(world: dict[str, Any]) -> None:
    builders.limits({"handler": "20000", "reviewer": "80000"})
    assert "under-authority" in fired(report(world, claimed_amount="19800"))
    assert "under-authority" in fired(report(world, claimed_amount="79000"))
    assert "under-authority" not in fired(report(world, claimed_amount="30000"))


def test_frequent_claimant(world: dict[str, Any]) -> None:
    first = [report(world) for _ in range(3)]
    assert "frequent-claimant" not in fired(first[-1])  # two before it
    assert "frequent-claimant" in fired(report(world))
    other = factories.policy()  # another claimant, no history
    assert "frequent-claimant" not in fired(report(world, policy=other))


def _with_payee(world: dict[str, Any], account: str) -> Claim:
    return claim_submit(
        actor=world["handler"],
        policy_number=world["policy"].number,
        incident_at=timezone.now() - dt.timedelta(hours=2),
        incident_place="北京",
        loss_type="collision",
        claimed_amount="3000",
        payee=Payee(name="张伟", account=account, bank_name="ICBC"),
    ).claim


def test_new_payee_account(world: dict[str, Any]) -> None:
    first = _with_payee(world, "6222020200112233445")
    assert "new-payee-account" not in fired(first)  # no earlier claim to compare with
    assert "new-payee-account" not in fired(_with_payee(world, "6222020200112233445"))
    assert "new-payee-account" in fired(_with_payee(world, "6228480000998877665"))


def test_watch_list(world: dict[str, Any]) -> None:
    clean = report(world)
    assert "watch-list" not in fired(clean)
    watchlist_add(actor=world["supervisor"], kind="phone", value=world["holder"].phone, reason="ring suspect")
    assert "watch-list" in fired(report(world))
    entry = watchlist_add(actor=None, kind="account_hash", value="6222 0202 0011 2233 445", reason="mule account")
    assert len(entry.value) == 64 and "6222" not in entry.value  # stored as a keyed hash only


def test_night_incident_without_police_report_motor(world: dict[str, Any]) -> None:
    local = timezone.localtime(timezone.now() - dt.timedelta(days=1)).replace(hour=23, minute=30)
    night = report(world, incident_at=local)
    assert "night-no-police" in fired(night)
    upload(night, world["handler"], "police_report", png())
    assert "night-no-police" not in fired(night)
    assert RiskAssessment.objects.filter(claim=night).first().trigger == "document_added"  # rescored
    day = report(world, incident_at=local.replace(hour=14))
    assert "night-no-police" not in fired(day)


def test_same_document_on_another_claim(world: dict[str, Any]) -> None:
    data = png()
    a, b = report(world), report(world)
    upload(a, world["handler"], "damage_photo", data)
    assert "duplicate-document" not in fired(a)
    upload(b, world["handler"], "damage_photo", data)
    assert "duplicate-document" in fired(b) and "duplicate-document" in fired(a)
    latest = RiskAssessment.objects.filter(claim=b).first()
    assert "duplicate-document" in latest.components["rules"]["fired"]


def test_provider_with_many_flagged_claims(world: dict[str, Any]) -> None:
    shop = factories.partner("SHOP1")

    def shared() -> Claim:
        claim = report(world)
        claim_share(actor=world["handler"], claim_id=claim.pk, partner=shop)
        return claim

    earlier = [shared() for _ in range(10)]
    assert "provider-flagged" not in fired(earlier[-1])  # none of them flagged
    Claim.objects.filter(pk__in=[c.pk for c in earlier[:4]]).update(risk_score=Decimal("0.7"))
    assert "provider-flagged" in fired(shared())
    assert "provider-flagged" not in fired(report(world))  # not through that partner


def test_score_stored_with_version_components_and_reasons_in_both_languages(world: dict[str, Any]) -> None:
    fresh = factories.policy_from(holder=world["holder"], starts=timezone.now() - dt.timedelta(days=6, hours=3))
    claim = report(world, policy=fresh, incident_at=timezone.now() - dt.timedelta(hours=1))
    stored = RiskAssessment.objects.get(claim=claim)
    assert stored.trigger == "submitted"
    assert stored.version.startswith("rules-") and stored.version.endswith("+model-none+network-v1")
    assert stored.components["network"] == {"score": 0.0, "computed": True, "rings": []}
    assert stored.components["model"] is None
    assert stored.score == Decimal("0.250")
    claim.refresh_from_db()
    assert claim.risk_score == stored.score
    assert reason_texts(stored.reasons, "en") == ["incident 6 days after the policy began"]
    assert reason_texts(stored.reasons, "zh-hans") == ["出险距保单生效仅 6 天"]


def test_flags_combine_below_one(world: dict[str, Any]) -> None:
    watchlist_add(actor=None, kind="phone", value=world["holder"].phone, reason="x")
    claim = report(world, claimed_amount="4900", incident_at=timezone.now() - dt.timedelta(days=8))
    score = evaluate(claim)
    # watch list 0.6, late report 0.15, under fast track 0.15: 1 − 0.4 · 0.85 · 0.85
    assert score.score == Decimal("0.711")
    assert [r["code"] for r in score.reasons][0] == "watch-list"  # strongest first


def test_straight_through_review_reads_the_score(world: dict[str, Any]) -> None:
    builders.definition()
    builders.rule('loss_type == "glass" and claimed_amount <= 3000 and documents_complete and risk_score < 0.5')
    customer = world["customer"]
    ordinary = report(world, actor=customer, loss_type="glass", claimed_amount="800")
    for doc_type in ("claim_form", "damage_photo"):
        upload(ordinary, customer, doc_type, png())
    ordinary.refresh_from_db()
    assert ordinary.status == ClaimStatus.APPROVED and ordinary.risk_score == Decimal("0.000")

    watchlist_add(actor=None, kind="phone", value=world["holder"].phone, reason="x")
    watched = report(world, actor=customer, loss_type="glass", claimed_amount="800")
    for doc_type in ("claim_form", "damage_photo"):
        upload(watched, customer, doc_type, png() + doc_type.encode())
    watched.refresh_from_db()
    assert watched.risk_score == Decimal("0.600")
    assert watched.status == ClaimStatus.REPORTED  # left for a person, not paid automatically


def test_nothing_to_score_with_leaves_the_claim_unscored(world: dict[str, Any]) -> None:
    RedFlagRule.objects.update(status="disabled")
    from claimwise.fraud.rules import rules_changed

    rules_changed()
    claim = report(world)
    claim.refresh_from_db()
    assert claim.risk_score is None and not RiskAssessment.objects.filter(claim=claim).exists()


def test_rules_are_validated_and_audited(world: dict[str, Any]) -> None:
    base = {"code": "x", "name": "x", "weight": "0.3", "reason": "{report_delay_days} 天", "status": "active"}
    with pytest.raises(ValidationFailed) as bad:
        rule_save(actor=None, data={**base, "expression": "report_delay > 3"})
    assert bad.value.detail[0]["field"] == "expression"
    with pytest.raises(ValidationFailed) as bad:
        rule_save(actor=None, data={**base, "expression": "report_delay_days > 3", "reason": "{claim.__class__}"})
    assert bad.value.detail[0]["field"] == "reason"
    with pytest.raises(ValidationFailed):
        rule_save(actor=None, data={**base, "expression": "report_delay_days > 3", "weight": "1.5"})
    rule = rule_save(actor=world["supervisor"], data={**base, "expression": "report_delay_days > 3"})
    assert AuditEntry.objects.filter(action="fraud.rule_save", object_id=str(rule.pk)).exists()


def test_what_scoring_adds_to_a_report(world: dict[str, Any]) -> None:
    """With the presets active, a staff report without a payee account adds four statements: the
    claimant's earlier claims, the watch list, the assessment and the claim's score. Rules, the
    model and the line set-up are cached; documents and shares are known at report time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from claimwise.fraud.rules import rules_changed

    def statements() -> list[str]:
        report(world)  # warm the caches
        with CaptureQueriesContext(connection) as ctx:
            report(world)
        return [q["sql"] for q in ctx.captured_queries if q["sql"].split()[0] in ("SELECT", "INSERT", "UPDATE")]

    scored = statements()
    RedFlagRule.objects.update(status="disabled")
    rules_changed()
    unscored = statements()
    assert len(scored) - len(unscored) == 4, scored
