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


def test_assigning_an_investigation_and_marking_a_task_done(world: dict[str, Any], api_client: Any) -> None:
    from claimwise.core.models import AuditEntry
    from claimwise.fraud.investigations import case_open, case_task_add

    claim = factories.claim(actor=world["handler"], policy=world["policy"])
    case = case_open(actor=world["supervisor"], claim_id=claim.pk, reason="可疑")
    task = case_task_add(actor=world["supervisor"], case_id=case.pk, text="走访修理厂")
    sup = api_client.as_user(world["supervisor"])
    url = f"/api/v1/fraud/cases/{case.pk}/assign"

    assigned = sup.post(url, {"assignee_id": world["handler"].pk}, content_type="application/json")
    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["assignee_id"] == world["handler"].pk and assigned.json()["id"] == case.pk
    assert AuditEntry.objects.filter(action="fraud.case_assign").count() == 1
    # Only supervisors and compliance assign, even the investigator cannot hand the case on.
    refused = api_client.as_user(world["handler"]).post(url, {"assignee_id": None}, content_type="application/json")
    assert refused.status_code == 403 and set(refused.json()) == {"code", "message", "detail"}
    bad = sup.post(url, {"assignee_id": world["customer"].pk}, content_type="application/json")
    assert (
        bad.status_code == 422
        and bad.json()["code"] == "validation_error"
        and [d["field"] for d in bad.json()["detail"]] == ["assignee_id"]
    )

    # The case's investigator marks the task done; done twice is a conflict.
    done = api_client.as_user(world["handler"]).post(f"/api/v1/fraud/tasks/{task.pk}/done")
    assert done.status_code == 200, done.content
    (shown,) = done.json()["tasks"]
    assert shown["id"] == task.pk and shown["done_at"] is not None and shown["done_by"] == world["handler"].username
    again = sup.post(f"/api/v1/fraud/tasks/{task.pk}/done")
    assert again.status_code == 409 and set(again.json()) == {"code", "message", "detail"}
    assert sup.post("/api/v1/fraud/tasks/999999/done").status_code == 404
    # Taken back (null), the handler is no longer the investigator.
    taken = sup.post(url, {"assignee_id": None}, content_type="application/json")
    assert taken.status_code == 200 and taken.json()["assignee_id"] is None
    outsider = factories.user(Role.SUPERVISOR, branch=factories.branch("SH"))
    hidden = api_client.as_user(outsider).post(url, {"assignee_id": None}, content_type="application/json")
    assert hidden.status_code == 404
    assert api_client.as_user(world["customer"]).post(f"/api/v1/fraud/tasks/{task.pk}/done").status_code == 403


def test_early_warning_alerts_name_the_partner(world: dict[str, Any], api_client: Any) -> None:
    from decimal import Decimal

    from claimwise.fraud.models import WarningAlert

    WarningAlert.objects.create(
        day=dt.date(2026, 10, 20),
        measure="frequency",
        dimension="repair_shop",
        key="SHOP1",
        label="安达汽修",
        value=Decimal(7),
        expected_value=Decimal(1),
        upper_limit=Decimal(5),
        history=[["2026-10-20", 7.0]],
        claim_ids=[1, 2],
        created_at=timezone.now(),
    )
    (alert,) = api_client.as_user(world["supervisor"]).get("/api/v1/fraud/warnings").json()
    assert (alert["dimension"], alert["key"], alert["label"], alert["claim_count"]) == (
        "repair_shop",
        "SHOP1",
        "安达汽修",
        2,
    )
