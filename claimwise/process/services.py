"""Writes to the process set-up that are not definitions: auto-review rules and approval limits.
Every write is validated, audited and clears the cached line set-up."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.choices import LineOfBusiness
from claimwise.core.errors import DomainError, ErrorCode, ValidationFailed
from claimwise.core.money import to_money
from claimwise.process.choices import RuleStatus
from claimwise.process.facts import expression_problem
from claimwise.process.models import AuthorityLimit, AutoReviewRule
from claimwise.process.setup import setup_changed

RULE_FIELDS = ("code", "name", "name_en", "line", "expression", "status", "position")


def _rule_problems(data: dict[str, Any]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    if not str(data.get("name") or "").strip():
        problems.append({"field": "name", "message": _("Give the rule a name.")})
    if data.get("line") not in LineOfBusiness.values:
        problems.append({"field": "line", "message": _("Choose a line of business.")})
    if data.get("status", RuleStatus.DRAFT) not in RuleStatus.values:
        problems.append({"field": "status", "message": _("Unknown status.")})
    code = str(data.get("code") or "")
    if not code or slugify(code) != code:
        problems.append({"field": "code", "message": _("Use lower-case letters, digits and hyphens.")})
    problem = expression_problem(str(data.get("expression") or ""))
    if problem is not None:
        problems.append({"field": "expression", "message": problem.message, "position": problem.position})
    return problems


@transaction.atomic
def rule_save(*, actor: User | None, data: dict[str, Any], rule_id: int | None = None) -> AutoReviewRule:
    """Create or change an auto-review rule. An invalid expression is refused with its position."""
    rule = AutoReviewRule() if rule_id is None else AutoReviewRule.objects.select_for_update().get(pk=rule_id)
    before = None if rule_id is None else snapshot(rule)
    merged = {f: data.get(f, getattr(rule, f)) for f in RULE_FIELDS}
    merged["status"] = merged["status"] or RuleStatus.DRAFT
    problems = _rule_problems(merged)
    if problems:
        raise ValidationFailed(problems)
    for name, value in merged.items():
        setattr(rule, name, value.strip() if isinstance(value, str) else value)
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise ValidationFailed({"code": _("Another rule already uses this code.")}) from None
    audit_record(actor=actor, action="process.rule_save", obj=rule, before=before, after=snapshot(rule))
    setup_changed()
    return rule


@transaction.atomic
def rule_delete(*, actor: User | None, rule_id: int) -> None:
    rule = AutoReviewRule.objects.select_for_update().get(pk=rule_id)
    if rule.status == RuleStatus.ACTIVE:
        raise DomainError(_("Disable the rule before deleting it."), code=ErrorCode.CONFLICT)
    audit_record(actor=actor, action="process.rule_delete", obj=rule, before=snapshot(rule))
    rule.delete()
    setup_changed()


APPROVER_ROLES = frozenset({Role.HANDLER, Role.REVIEWER, Role.SUPERVISOR})


@transaction.atomic
def authority_limit_save(
    *, actor: User | None, role: str, line: str, max_amount: Decimal | str, limit_id: int | None = None
) -> AuthorityLimit:
    """Set one role's approval ceiling for a line (blank: every line)."""
    problems: dict[str, str] = {}
    if role not in APPROVER_ROLES:
        problems["role"] = _("Only handlers, reviewers and supervisors approve claims.")
    if line and line not in LineOfBusiness.values:
        problems["line"] = _("Choose a line of business.")
    try:
        amount = to_money(max_amount)
    except (TypeError, ValueError):
        amount = Decimal(0)
    if amount <= 0:
        problems["max_amount"] = _("The limit must be above zero.")
    if problems:
        raise ValidationFailed(problems)
    row = AuthorityLimit() if limit_id is None else AuthorityLimit.objects.select_for_update().get(pk=limit_id)
    before = None if limit_id is None else snapshot(row)
    row.role, row.line, row.max_amount = role, line, amount
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ValidationFailed({"role": _("This role already has a limit for this line.")}) from None
    audit_record(actor=actor, action="process.authority_save", obj=row, before=before, after=snapshot(row))
    setup_changed()
    return row


@transaction.atomic
def authority_limit_delete(*, actor: User | None, limit_id: int) -> None:
    row = AuthorityLimit.objects.select_for_update().get(pk=limit_id)
    audit_record(actor=actor, action="process.authority_delete", obj=row, before=snapshot(row))
    row.delete()
    setup_changed()


DEFAULT_LIMITS = {Role.HANDLER: "5000", Role.REVIEWER: "50000", Role.SUPERVISOR: "500000"}


def authority_defaults_install(*, actor: User | None) -> int:
    """The usual matrix (handler 5,000, reviewer 50,000, supervisor 500,000, two approvers above),
    for a fresh installation; rows that exist are kept."""
    created = 0
    for role, amount in DEFAULT_LIMITS.items():
        if not AuthorityLimit.objects.filter(role=role, line="").exists():
            authority_limit_save(actor=actor, role=role, line="", max_amount=amount)
            created += 1
    return created


# Straight-through rules a company starts from: small, clear, fully documented claims only
# (保险小额理赔服务指引: motor damage-only ≤ 5,000, medical ≤ 3,000, facts clear, no investigation).
STARTER_RULES = [
    {
        "code": "motor-glass-small",
        "name": "小额玻璃单独破碎",
        "name_en": "Small glass-only claims",
        "line": LineOfBusiness.MOTOR,
        "expression": 'loss_type == "glass" and claimed_amount <= 2000 and documents_complete and policy_in_force '
        "and coverage_match and prior_claims_12m < 2 and not late_report and risk_score < 0.5",
        "status": RuleStatus.ACTIVE,
        "position": 10,
    },
    {
        "code": "health-outpatient-small",
        "name": "小额门诊医疗",
        "name_en": "Small outpatient claims",
        "line": LineOfBusiness.HEALTH,
        "expression": 'loss_type == "outpatient" and claimed_amount <= 1000 and documents_complete and policy_in_force '
        "and coverage_match and days_since_inception > 30 and prior_claims_12m < 4 and risk_score < 0.5",
        "status": RuleStatus.ACTIVE,
        "position": 10,
    },
]


def starter_rules_install(*, actor: User | None) -> int:
    """Install the starter auto-review rules that do not exist yet (by code)."""
    created = 0
    for data in STARTER_RULES:
        if not AutoReviewRule.objects.filter(code=data["code"]).exists():
            rule_save(actor=actor, data=dict(data))
            created += 1
    return created
