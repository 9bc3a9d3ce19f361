"""Materials checklists (Insurance Law art. 22): required per line and loss type with conditions,
evaluated on submission and every upload; one consolidated notice; the one-time-notice KPI."""

from __future__ import annotations

import io
from typing import Any

import pytest

from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.services import claim_register, document_upload
from claimwise.core.errors import GuardFailed, ValidationFailed
from claimwise.process.materials import materials_checklist, materials_notice_send, one_time_notice_rate
from claimwise.process.models import ClaimProcess
from tests import factories
from tests.claims.test_api import png
from tests.process import builders


def upload(claim: Claim, actor: Any, doc_type: str) -> None:
    data = png()
    document_upload(
        actor=actor,
        claim_id=claim.pk,
        doc_type=doc_type,
        stream=io.BytesIO(data),
        original_name="a.png",
        size=len(data),
    )


def missing(claim: Claim) -> list[str]:
    return [m["doc_type"] for m in ClaimProcess.objects.get(claim=claim).missing_materials]


@pytest.fixture
def motor(world: dict[str, Any]) -> Any:
    return builders.definition()


def test_conditions_decide_what_is_required(world: dict[str, Any], motor: Any) -> None:
    big = factories.claim(actor=world["customer"], policy=world["policy"], claimed_amount="8200.00")
    assert big.process.definition == motor
    assert missing(big) == ["claim_form", "damage_photo", "repair_estimate"]  # above 5,000: repair estimate

    theft = factories.claim(actor=world["customer"], policy=world["policy"], loss_type="theft", claimed_amount="3000")
    assert missing(theft) == ["claim_form", "damage_photo", "police_report"]  # theft: police report
    assert not ClaimProcess.objects.get(claim=theft).documents_complete


def test_each_upload_is_evaluated(world: dict[str, Any], motor: Any) -> None:
    claim = factories.claim(actor=world["customer"], policy=world["policy"], claimed_amount="3000")
    upload(claim, world["customer"], "claim_form")
    assert missing(claim) == ["damage_photo"]
    upload(claim, world["customer"], "damage_photo")
    process = ClaimProcess.objects.get(claim=claim)
    assert process.documents_complete and process.documents_complete_at is not None
    assert [m.received for m in materials_checklist(Claim.objects.get(pk=claim.pk))] == [True, True]


def test_registration_sends_one_consolidated_notice_and_uploads_resume(world: dict[str, Any], motor: Any) -> None:
    claim = factories.claim(actor=world["customer"], policy=world["policy"])
    claim = claim_register(actor=world["handler"], claim_id=claim.pk)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.AWAITING_DOCUMENTS and claim.documents_requests == 1
    notice = ClaimEvent.objects.get(claim=claim, kind="request_documents")
    assert notice.actor is None and notice.visible_to_customer
    assert notice.data["items"] == ["索赔申请书", "损失照片", "维修估价单"]  # everything at once

    for doc_type in ("claim_form", "damage_photo"):
        upload(claim, world["customer"], doc_type)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.AWAITING_DOCUMENTS  # one still missing
    upload(claim, world["customer"], "repair_estimate")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REGISTERED  # complete: back to where it was
    assert ClaimEvent.objects.filter(claim=claim, kind="resume", actor=None).count() == 1


def test_a_second_notice_needs_a_justification_and_counts(world: dict[str, Any], motor: Any) -> None:
    first = factories.claim(actor=world["customer"], policy=world["policy"], claimed_amount="3000")
    claim_register(actor=world["handler"], claim_id=first.pk)  # notice no. 1 (form and photos missing)
    for doc_type in ("claim_form", "damage_photo"):
        upload(first, world["customer"], doc_type)
    with pytest.raises(ValidationFailed):  # nothing is missing and nothing named
        materials_notice_send(actor=world["handler"], claim_id=first.pk)
    with pytest.raises(GuardFailed):
        materials_notice_send(actor=world["handler"], claim_id=first.pk, extra_items=["驾驶证副本"])
    materials_notice_send(
        actor=world["handler"], claim_id=first.pk, extra_items=["驾驶证副本"], justification="new_facts"
    )
    second = factories.claim(actor=world["customer"], policy=world["policy"], claimed_amount="3000")
    claim_register(actor=world["handler"], claim_id=second.pk)  # one notice only
    factories.claim(actor=world["customer"], policy=world["policy"])  # no notice at all

    rate = one_time_notice_rate(Claim.objects.all())
    assert (rate.claims_with_notice, rate.claims_with_one_notice) == (2, 1)
    assert str(rate.rate) == "0.5000"


def test_without_a_definition_nothing_is_required(world: dict[str, Any]) -> None:
    claim = factories.claim(actor=world["customer"], policy=world["policy"])
    claim = claim_register(actor=world["handler"], claim_id=claim.pk)
    assert claim.status == ClaimStatus.REGISTERED
    assert ClaimProcess.objects.get(claim=claim).definition is None
