"""The rule editor and the approval matrix in the back office: validated, dry run before saving,
every write audited."""

from __future__ import annotations

from typing import Any

from django.test import Client

from claimwise.core.models import AuditEntry
from claimwise.process.models import AuthorityLimit, AutoReviewRule
from tests.process.test_review import _closed
from tests.test_admin import root, staff  # noqa: F401  (fixtures)

RULE = {
    "code": "small-glass",
    "name": "小额玻璃",
    "name_en": "Small glass",
    "line": "motor",
    "expression": 'loss_type == "glass" and claimed_amount <= 3000',
    "status": "draft",
    "position": "0",
    "last_n": "500",
}


def test_rule_is_created_through_the_service(staff: Client) -> None:  # noqa: F811
    response = staff.post("/admin/process/autoreviewrule/add/", RULE)
    assert response.status_code == 302, response.content
    rule = AutoReviewRule.objects.get(code="small-glass")
    assert AuditEntry.objects.filter(action="process.rule_save", object_id=str(rule.pk)).count() == 1


def test_a_broken_expression_is_shown_and_nothing_saved(staff: Client) -> None:  # noqa: F811
    before = AuditEntry.objects.count()
    response = staff.post("/admin/process/autoreviewrule/add/", {**RULE, "expression": "claimed_amount <= and"})
    assert response.status_code == 200
    assert "position 19" in str(response.context["adminform"].form.errors["expression"])
    assert not AutoReviewRule.objects.exists() and AuditEntry.objects.count() == before


def test_dry_run_reports_and_saves_nothing(staff: Client, world: dict[str, Any]) -> None:  # noqa: F811
    from tests.process import builders

    builders.definition()
    _closed(world, "1200")
    denied = _closed(world, "2000", deny=True)
    before = AuditEntry.objects.count()
    response = staff.post("/admin/process/autoreviewrule/add/", {**RULE, "_dry_run": "1"}, follow=True)
    assert response.status_code == 200
    text = " ".join(str(m) for m in response.context["messages"])
    assert "2 would have been approved" in text and denied.number in text
    assert not AutoReviewRule.objects.exists() and AuditEntry.objects.count() == before
    assert response.context["adminform"].form["expression"].value() == RULE["expression"]


def test_authority_limit_through_the_service(staff: Client) -> None:  # noqa: F811
    response = staff.post("/admin/process/authoritylimit/add/", {"role": "reviewer", "line": "", "max_amount": "50000"})
    assert response.status_code == 302, response.content
    row = AuthorityLimit.objects.get(role="reviewer")
    assert AuditEntry.objects.filter(action="process.authority_save", object_id=str(row.pk)).exists()
    refused = staff.post("/admin/process/authoritylimit/add/", {"role": "auditor", "line": "", "max_amount": "1"})
    assert refused.status_code == 200 and "role" in refused.context["adminform"].form.errors
