"""Approval authority matrix and four eyes, enforced inside the approval service (P2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from claimwise.accounts.choices import Role
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.services import claim_approve, claim_assess, claim_register, claim_submit_for_approval
from claimwise.core.errors import GuardFailed, PermissionDenied
from claimwise.process.authority import approval_sign, authority_for
from tests import factories
from tests.process import builders

MATRIX = {"handler": "5000", "reviewer": "50000", "supervisor": "500000"}


def pending(world: dict[str, Any], amount: str, *, assessor: Any = None) -> Claim:
    claim = factories.claim(actor=world["customer"], policy=world["policy"], claimed_amount=amount)
    claim_register(actor=world["handler"], claim_id=claim.pk)
    claim_assess(actor=world["handler"], claim_id=claim.pk)
    return claim_submit_for_approval(actor=assessor or world["handler"], claim_id=claim.pk, assessed_amount=amount)


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


@pytest.fixture
def matrix(world: dict[str, Any]) -> None:
    builders.limits(MATRIX)
    # Large motor losses need more than the all-lines row: a line row wins over it.
    builders.limits({"supervisor": "800000"}, line="motor")
    # The second supervisor/handler of the team.
    world["supervisor2"] = factories.user(Role.SUPERVISOR)
    world["handler2"] = factories.user(Role.HANDLER)
    world["policy"].product.coverages.update(limit=Decimal("2000000"))
    world["policy"].sum_insured = Decimal("2000000")
    world["policy"].save(update_fields=["sum_insured"])


def test_each_role_approves_within_its_limit(world: dict[str, Any], matrix: None) -> None:
    small = pending(world, "4800", assessor=world["handler"])
    claim_approve(actor=world["handler2"], claim_id=small.pk)  # another handler, within 5,000
    assert Claim.objects.get(pk=small.pk).status == ClaimStatus.APPROVED

    medium = pending(world, "12000")
    with pytest.raises(GuardFailed, match="5000"):
        claim_approve(actor=world["handler2"], claim_id=medium.pk)
    claim_approve(actor=world["reviewer"], claim_id=medium.pk)
    assert Claim.objects.get(pk=medium.pk).status == ClaimStatus.APPROVED


def test_line_row_wins_and_authority_is_shown(world: dict[str, Any], matrix: None) -> None:
    claim = pending(world, "700000")
    authority = authority_for(world["supervisor"], claim)
    assert authority.limit == Decimal("800000") and authority.top_limit == Decimal("800000")
    assert not authority.needs_two(Decimal("700000")) and authority.assessor_id == world["handler"].pk
    claim_approve(actor=world["supervisor"], claim_id=claim.pk)


def test_nobody_approves_what_they_assessed(world: dict[str, Any], matrix: None) -> None:
    claim = pending(world, "3000", assessor=world["supervisor"])
    before = Claim.objects.get(pk=claim.pk)
    with pytest.raises(GuardFailed, match="four eyes"):
        claim_approve(actor=world["supervisor"], claim_id=claim.pk)
    after = Claim.objects.get(pk=claim.pk)
    assert (after.status, after.version) == (before.status, before.version)
    claim_approve(actor=world["reviewer"], claim_id=claim.pk)


def test_above_the_top_limit_two_approvers(world: dict[str, Any], matrix: None) -> None:
    claim = pending(world, "900000")
    with pytest.raises(GuardFailed, match="two approvers"):
        claim_approve(actor=world["supervisor"], claim_id=claim.pk)
    with pytest.raises(GuardFailed, match="highest authority"):
        approval_sign(actor=world["reviewer"], claim_id=claim.pk, amount="900000")
    approval_sign(actor=world["supervisor"], claim_id=claim.pk, amount="900000", note="查勘报告已复核")
    with pytest.raises(GuardFailed):  # the one who signed cannot also be the second approver
        claim_approve(actor=world["supervisor"], claim_id=claim.pk)
    claim_approve(actor=world["supervisor2"], claim_id=claim.pk)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.APPROVED
    assert ClaimEvent.objects.filter(claim=claim, kind="approval_signed").count() == 1


def test_a_role_without_authority_is_refused(world: dict[str, Any]) -> None:
    # No matrix: reviewers and supervisors decide, handlers may not.
    claim = pending(world, "1000")
    with pytest.raises(PermissionDenied):
        claim_approve(actor=world["handler"], claim_id=claim.pk)
    builders.limits({"reviewer": "50000"})  # a matrix without a handler row: still no
    with pytest.raises(PermissionDenied):
        claim_approve(actor=world["handler"], claim_id=claim.pk)
    claim_approve(actor=world["reviewer"], claim_id=claim.pk)


def test_over_authority_through_the_api_is_a_coded_conflict(
    world: dict[str, Any], matrix: None, api_client: Any
) -> None:
    claim = pending(world, "60000")
    response = api_client.as_user(world["reviewer"]).post(
        f"/api/v1/claims/{claim.pk}/approve", data={}, content_type="application/json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "guard_failed" and "50000" in body["message"]
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.PENDING_APPROVAL
