"""Straight-through review (P3): a simple claim matching an active rule goes through without a
person; everything else waits for the handler; the dry run replays a draft over closed claims."""

from __future__ import annotations

from typing import Any

import pytest

from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent, Decision
from claimwise.claims.services import (
    claim_approve,
    claim_assess,
    claim_close,
    claim_confirm_payment,
    claim_deny,
    claim_register,
    claim_request_payment,
    claim_send_denial_notice,
    claim_submit_for_approval,
)
from claimwise.core.audit import audit_verify
from claimwise.core.errors import ValidationFailed
from claimwise.core.models import AuditEntry
from claimwise.process.choices import RuleStatus
from claimwise.process.models import ClaimProcess
from claimwise.process.review import review_dry_run
from tests import factories
from tests.process import builders
from tests.process.test_materials import upload

GLASS = 'loss_type == "glass" and claimed_amount <= 3000 and documents_complete and policy_in_force'


@pytest.fixture
def setup(world: dict[str, Any]) -> Any:
    builders.definition()
    return builders.rule(GLASS)


def test_a_simple_claim_goes_straight_through(world: dict[str, Any], setup: Any) -> None:
    claim = factories.claim(actor=world["customer"], policy=world["policy"], loss_type="glass", claimed_amount="1800")
    assert claim.status == ClaimStatus.REPORTED  # materials missing: the rule does not match yet
    upload(claim, world["customer"], "claim_form")
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.REPORTED
    upload(claim, world["customer"], "damage_photo")  # complete now

    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED and claim.approved_amount == claim.claimed_amount
    decision = Decision.objects.get(claim=claim)
    assert decision.decided_by is None and "small-glass" in decision.note
    kinds = list(ClaimEvent.objects.filter(claim=claim, actor=None).values_list("kind", flat=True))
    assert kinds == ["register", "assess", "submit_for_approval", "approve"]
    assert ClaimProcess.objects.get(claim=claim).auto_review_rule == setup
    assert audit_verify().ok


def test_everything_else_waits_for_a_person(world: dict[str, Any], setup: Any) -> None:
    claim = factories.claim(actor=world["customer"], policy=world["policy"], loss_type="glass", claimed_amount="4200")
    for doc_type in ("claim_form", "damage_photo"):
        upload(claim, world["customer"], doc_type)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.REPORTED  # above 3,000

    setup.status = RuleStatus.DRAFT  # a draft rule never acts
    setup.save()
    from claimwise.process.setup import setup_changed

    setup_changed()
    small = factories.claim(actor=world["customer"], policy=world["policy"], loss_type="glass", claimed_amount="900")
    for doc_type in ("claim_form", "damage_photo"):
        upload(small, world["customer"], doc_type)
    assert Claim.objects.get(pk=small.pk).status == ClaimStatus.REPORTED


def test_a_rule_cannot_overrule_the_lifecycle(world: dict[str, Any]) -> None:
    builders.definition(materials=[])
    rule = builders.rule("claimed_amount > 0", code="everything")
    entries = AuditEntry.objects.count()
    # Above limit minus deductible (100,000 − 500): approval is refused, so nothing of the run stays.
    claim = factories.claim(actor=world["customer"], policy=world["policy"], claimed_amount="150000")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REPORTED and claim.approved_amount is None
    stopped = ClaimEvent.objects.get(claim=claim, kind="auto_review_stopped")
    assert stopped.data["rule"] == rule.code and stopped.data["code"] == "guard_failed"
    assert not ClaimEvent.objects.filter(claim=claim, kind__in=["register", "assess"]).exists()
    assert AuditEntry.objects.count() == entries + 2  # the submit and the recorded stop
    assert audit_verify().ok


def _closed(world: dict[str, Any], amount: str, *, deny: bool = False, loss_type: str = "glass") -> Claim:
    claim = factories.claim(actor=world["customer"], policy=world["policy"], loss_type=loss_type, claimed_amount=amount)
    for doc_type in ("claim_form", "damage_photo"):
        upload(claim, world["customer"], doc_type)
    for step in (claim_register, claim_assess):
        builders.confirm_step(world["handler"], claim.pk)
        step(actor=world["handler"], claim_id=claim.pk)
    builders.confirm_step(world["handler"], claim.pk)
    claim_submit_for_approval(actor=world["handler"], claim_id=claim.pk, assessed_amount=amount)
    builders.confirm_step(world["reviewer"], claim.pk)
    if deny:
        claim_deny(actor=world["reviewer"], claim_id=claim.pk, reason_codes=["exclusion"], note="免责条款")
        claim_send_denial_notice(actor=world["handler"], claim_id=claim.pk)
    else:
        claim_approve(actor=world["reviewer"], claim_id=claim.pk)
        builders.confirm_step(world["handler"], claim.pk)
        claim_request_payment(
            actor=world["handler"], claim_id=claim.pk, payee_name="张伟", bank_account="6222020200112233445"
        )
        claim_confirm_payment(actor=world["supervisor"], claim_id=claim.pk)
    return claim_close(actor=world["handler"], claim_id=claim.pk)


def test_dry_run_shows_what_a_draft_would_have_done(world: dict[str, Any]) -> None:
    builders.definition()
    paid = [_closed(world, "1200"), _closed(world, "2500")]
    denied = _closed(world, "2000", deny=True)
    _closed(world, "2800", loss_type="collision")
    _closed(world, "3600")

    run = review_dry_run(actor=world["supervisor"], line="motor", expression=GLASS, last_n=100)
    assert run.examined == 5 and run.matched == 3
    assert dict(run.outcomes) == {"approve": 2, "deny": 1}
    assert run.would_have_erred == [denied.number]
    assert run.matched_paid == sum(c.claimed_amount for c in paid)

    recent = review_dry_run(actor=world["supervisor"], line="motor", expression=GLASS, last_n=2)
    assert recent.examined == 2


def test_a_broken_rule_is_refused_with_its_position(world: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        review_dry_run(actor=world["supervisor"], line="motor", expression="claimed_amount <= and glass")
    detail = refused.value.detail[0]
    assert detail["field"] == "expression" and detail["position"] == 18
    with pytest.raises(ValidationFailed) as unknown:
        review_dry_run(actor=world["supervisor"], line="motor", expression="amount_claimed < 5")
    assert "amount_claimed" in unknown.value.detail[0]["message"] and unknown.value.detail[0]["position"] == 0


def test_the_periodic_pass_reviews_claims_a_new_rule_covers(world: dict[str, Any]) -> None:
    from django.utils import timezone

    from claimwise.process.recompute import clocks_recompute_all

    builders.definition()
    waiting = factories.claim(actor=world["customer"], policy=world["policy"], loss_type="glass", claimed_amount="1500")
    for doc_type in ("claim_form", "damage_photo"):
        upload(waiting, world["customer"], doc_type)
    other = factories.claim(actor=world["customer"], policy=world["policy"], loss_type="glass", claimed_amount="9000")
    assert Claim.objects.get(pk=waiting.pk).status == ClaimStatus.REPORTED  # no rule yet

    builders.rule(GLASS)  # activated later: the next pass picks the claim up
    result = clocks_recompute_all(timezone.now())
    assert result.per_evaluation["evaluate_auto_review"] == 1
    assert Claim.objects.get(pk=waiting.pk).status == ClaimStatus.APPROVED
    assert Claim.objects.get(pk=other.pk).status == ClaimStatus.REPORTED
    assert clocks_recompute_all(timezone.now()).per_evaluation["evaluate_auto_review"] == 0
    assert audit_verify().ok


def test_with_a_payee_on_file_the_claim_goes_on_to_payment(world: dict[str, Any], setup: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    from claimwise.claims.models import Payment
    from claimwise.claims.services import Payee, claim_submit

    claim = claim_submit(
        actor=world["customer"],
        policy_number=world["policy"].number,
        incident_at=timezone.now() - dt.timedelta(hours=2),
        incident_place="北京市海淀区",
        loss_type="glass",
        claimed_amount="1200",
        payee=Payee("张伟", "6222020200112233445", "中国工商银行"),
    ).claim
    for doc_type in ("claim_form", "damage_photo"):
        upload(claim, world["customer"], doc_type)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAYMENT_PENDING
    payment = Payment.objects.get(claim=claim)
    assert (payment.payee_name, payment.bank_account, payment.amount) == (
        "张伟",
        "6222020200112233445",
        claim.claimed_amount,
    )
    assert payment.requested_by is None
