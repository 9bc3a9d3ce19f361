"""The demo's fraud layer on a small seeded book: every claim indexed and scored, the planted ring
found and investigated, the sample files shared by the seeded claims kept out of the evidence."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage
from django.test import override_settings

from claimwise.claims.models import Claim
from claimwise.demo.fraud import RING_SIZE, fraud_layer
from claimwise.demo.seed import DEMO_BRANCH, seed
from claimwise.fraud.choices import CaseStatus, LinkKind
from claimwise.fraud.models import InvestigationCase, LinkKey, RedFlagRule, RingAlert

pytestmark = pytest.mark.django_db
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_demo_book_is_indexed_scored_and_its_ring_investigated(tmp_path: Any) -> None:
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS, MEDIA_ROOT=str(tmp_path)):
        seed(claims=120, seed=3, storage=FileSystemStorage(location=tmp_path), workers=1)
        lines: list[str] = []
        result = fraud_layer(branch_code=DEMO_BRANCH, say=lines.append)
    claims = Claim.objects.count()
    assert result["indexed"] == claims and any("risk scores" in line for line in lines)
    assert not Claim.objects.filter(risk_score__isnull=True).exists()  # every claim scored
    assert not LinkKey.objects.filter(kind=LinkKind.DOCUMENT).exists()  # the shared sample files
    assert RedFlagRule.objects.get(code="duplicate-document").status == "disabled"
    ring = RingAlert.objects.get(kind=LinkKind.ACCOUNT)
    assert ring.claimants == RING_SIZE and ring.claims.count() == RING_SIZE
    ringed = set(ring.claims.values_list("pk", flat=True))
    assert InvestigationCase.objects.filter(claim_id__in=ringed, status=CaseStatus.OPEN).exists()
    for claim in Claim.objects.filter(pk__in=ringed):
        assert claim.risk_score is not None and claim.risk_score >= 0.5  # the network part counts
    assert result["rings"] == 1 and result["cases"] >= 1
