"""GET /api/v1/claims/{id}/risk, /fraud/models, /fraud/rules: staff only, in scope, the project's
error format, reasons in the reader's language."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from claimwise.accounts.choices import Role
from tests import factories

pytestmark = pytest.mark.usefixtures("presets")


def test_a_claims_risk_with_reasons_in_the_readers_language(world: dict[str, Any], api_client: Any) -> None:
    fresh = factories.policy_from(holder=world["holder"], starts=timezone.now() - dt.timedelta(days=6, hours=3))
    claim = factories.claim(actor=world["handler"], policy=fresh, incident_at=timezone.now() - dt.timedelta(hours=1))
    client = api_client.as_user(world["handler"])
    body = client.get(f"/api/v1/claims/{claim.pk}/risk").json()
    assert body["score"] == "0.250" and body["trigger"] == "submitted"
    assert body["reasons"] == [
        {"kind": "rule", "code": "early-claim", "weight": 0.25, "text": "incident 6 days after the policy began"}
    ]
    assert body["components"]["rules"]["fired"] == ["early-claim"]
    zh = client.get(f"/api/v1/claims/{claim.pk}/risk", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert zh["reasons"][0]["text"] == "出险距保单生效仅 6 天"


def test_customers_are_refused_and_out_of_scope_claims_are_not_found(world: dict[str, Any], api_client: Any) -> None:
    claim = factories.claim(actor=world["handler"], policy=world["policy"])
    refused = api_client.as_user(world["customer"]).get(f"/api/v1/claims/{claim.pk}/risk")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"  # own claim, not staff
    other_branch = factories.user(Role.HANDLER, branch=factories.branch("SH"), team=factories.team("SH-M", "SH"))
    hidden = api_client.as_user(other_branch).get(f"/api/v1/claims/{claim.pk}/risk")
    assert hidden.status_code == 404 and set(hidden.json()) == {"code", "message", "detail"}


def test_rules_and_models_lists(world: dict[str, Any], api_client: Any) -> None:
    client = api_client.as_user(world["supervisor"])
    rules = client.get("/api/v1/fraud/rules").json()
    assert len(rules) == 11 and rules[0]["code"] == "early-claim"
    assert rules[0]["reason"] == "incident {days_since_inception:.0f} days after the policy began"
    assert client.get("/api/v1/fraud/models").json() == []
    assert api_client.as_user(world["customer"]).get("/api/v1/fraud/models").status_code == 403


def test_an_unscored_claim_has_no_score_yet(world: dict[str, Any], api_client: Any) -> None:
    from claimwise.fraud.models import RedFlagRule
    from claimwise.fraud.rules import rules_changed

    RedFlagRule.objects.update(status="disabled")
    rules_changed()
    claim = factories.claim(actor=world["handler"], policy=world["policy"])
    body = api_client.as_user(world["handler"]).get(f"/api/v1/claims/{claim.pk}/risk").json()
    assert body["score"] is None and body["reasons"] == []
