"""Red-flag rules as data (T5): validated on save, audited, edited in the back office through these
services, with a preset library a company starts from. Active rules are kept in memory for at most
`TTL` seconds (the writing services clear the cache at once in this process)."""

from __future__ import annotations

import string
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from claimwise.accounts.models import User
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.errors import DomainError, ErrorCode, ValidationFailed
from claimwise.fraud.choices import RuleStatus
from claimwise.fraud.facts import FRAUD_FACT_TYPES, expression_problem
from claimwise.fraud.models import RedFlagRule

RULE_FIELDS = ("code", "name", "name_en", "expression", "weight", "reason", "reason_en", "status", "position")
TTL = 30.0
_lock = threading.Lock()
_cache: list[tuple[float, list[RedFlagRule]]] = []


def active_rules() -> list[RedFlagRule]:
    now = time.monotonic()
    if _cache and now - _cache[0][0] < TTL:
        return _cache[0][1]
    rules = list(RedFlagRule.objects.filter(status=RuleStatus.ACTIVE).order_by("position", "code"))
    with _lock:
        _cache[:] = [(now, rules)]
    return rules


def rules_changed() -> None:
    with _lock:
        _cache.clear()


def template_problem(text: str) -> str | None:
    """A reason template may insert facts by name ({days_since_inception}, {amount_ratio:.0%}), nothing else."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return _("Unbalanced braces: write {fact} to insert a value, {{ and }} for braces.")
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in FRAUD_FACT_TYPES or conversion:
            return _("“{%(name)s}” is not a fact a reason may insert.") % {"name": name}
        try:
            format(Decimal("1.5"), spec or "")
        except (ValueError, InvalidOperation):
            return _("“%(spec)s” is not a number format.") % {"spec": spec}
    return None


def render(text: str, facts: Any) -> str:
    """A reason with the facts inserted; numbers without a format are shown whole or with 2 decimals."""
    out: list[str] = []
    for literal, name, spec, _conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is None:
            continue
        value = facts[name]
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            number = Decimal(str(value))
            out.append(
                format(number, spec)
                if spec
                else (f"{number:.0f}" if number == number.to_integral() else f"{number:.2f}")
            )
        else:
            out.append(str(value))
    return "".join(out)


def _problems(data: dict[str, Any]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    code = str(data.get("code") or "")
    if not code or slugify(code) != code:
        problems.append({"field": "code", "message": _("Use lower-case letters, digits and hyphens.")})
    if not str(data.get("name") or "").strip():
        problems.append({"field": "name", "message": _("Give the rule a name.")})
    if data.get("status") not in RuleStatus.values:
        problems.append({"field": "status", "message": _("Unknown status.")})
    try:
        weight = Decimal(str(data.get("weight")))
        if not Decimal(0) < weight <= Decimal(1):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        problems.append({"field": "weight", "message": _("The weight is a number above 0 and at most 1.")})
    problem = expression_problem(str(data.get("expression") or ""))
    if problem is not None:
        problems.append({"field": "expression", "message": problem})
    if not str(data.get("reason") or "").strip():
        problems.append({"field": "reason", "message": _("Say in plain language why this is a red flag.")})
    for name in ("reason", "reason_en"):
        problem = template_problem(str(data.get(name) or ""))
        if problem is not None:
            problems.append({"field": name, "message": problem})
    return problems


@transaction.atomic
def rule_save(*, actor: User | None, data: dict[str, Any], rule_id: int | None = None) -> RedFlagRule:
    """Create or change a red-flag rule; an invalid expression or reason template is refused."""
    rule = RedFlagRule() if rule_id is None else RedFlagRule.objects.select_for_update().get(pk=rule_id)
    before = None if rule_id is None else snapshot(rule)
    merged = {f: data.get(f, getattr(rule, f)) for f in RULE_FIELDS}
    merged["status"] = merged["status"] or RuleStatus.DRAFT
    merged["position"] = merged["position"] or 0
    problems = _problems(merged)
    if problems:
        raise ValidationFailed(problems)
    for name, value in merged.items():
        setattr(rule, name, value.strip() if isinstance(value, str) else value)
    rule.weight = Decimal(str(merged["weight"]))
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise ValidationFailed({"code": _("Another rule already uses this code.")}) from None
    audit_record(actor=actor, action="fraud.rule_save", obj=rule, before=before, after=snapshot(rule))
    transaction.on_commit(rules_changed)
    rules_changed()
    return rule


@transaction.atomic
def rule_delete(*, actor: User | None, rule_id: int) -> None:
    rule = RedFlagRule.objects.select_for_update().get(pk=rule_id)
    if rule.status == RuleStatus.ACTIVE:
        raise DomainError(_("Disable the rule before deleting it."), code=ErrorCode.CONFLICT)
    audit_record(actor=actor, action="fraud.rule_delete", obj=rule, before=snapshot(rule))
    rule.delete()
    rules_changed()


# The preset library (反保险欺诈工作办法 2024: warning before, control during, look-back after).
# Weights are starting points for a company to tune; none of them alone reaches the investigation
# threshold except the watch list and a document seen on another claim.
PRESETS: list[dict[str, Any]] = [
    {
        "code": "early-claim",
        "name": "保单生效后不久出险",
        "name_en": "Claim soon after inception",
        "expression": "days_since_inception >= 0 and days_since_inception < 30",
        "weight": "0.25",
        "reason": "出险距保单生效仅 {days_since_inception:.0f} 天",
        "reason_en": "incident {days_since_inception:.0f} days after the policy began",
        "position": 10,
    },
    {
        "code": "late-report",
        "name": "报案延迟",
        "name_en": "Late report",
        "expression": "report_delay_days >= 7",
        "weight": "0.15",
        "reason": "出险 {report_delay_days:.0f} 天后才报案",
        "reason_en": "reported {report_delay_days:.0f} days after the incident",
        "position": 20,
    },
    {
        "code": "near-sum-insured",
        "name": "索赔金额接近保额",
        "name_en": "Amount near the sum insured",
        "expression": "amount_ratio >= 0.9",
        "weight": "0.2",
        "reason": "索赔金额为保额的 {amount_ratio:.0%}",
        "reason_en": "claimed {amount_ratio:.0%} of the sum insured",
        "position": 30,
    },
    {
        "code": "under-fast-track",
        "name": "金额略低于小额快赔上限",
        "name_en": "Just under the fast-track limit",
        "expression": "fast_track_ratio >= 0.9 and fast_track_ratio <= 1",
        "weight": "0.15",
        "reason": "金额略低于小额快赔上限（为上限的 {fast_track_ratio:.0%}）",
        "reason_en": "amount just under the small-claim fast-track limit ({fast_track_ratio:.0%} of it)",
        "position": 40,
    },
    {
        "code": "under-authority",
        "name": "金额略低于审批权限",
        "name_en": "Just under an approval authority",
        "expression": "authority_ratio >= 0.95 and authority_ratio <= 1",
        "weight": "0.1",
        "reason": "金额略低于审批权限（为权限的 {authority_ratio:.0%}）",
        "reason_en": "amount just under an approval authority ({authority_ratio:.0%} of it)",
        "position": 50,
    },
    {
        "code": "frequent-claimant",
        "name": "频繁索赔",
        "name_en": "Frequent claimant",
        "expression": "prior_claims_12m >= 3",
        "weight": "0.25",
        "reason": "同一索赔人过去 12 个月另有 {prior_claims_12m:.0f} 件索赔",
        "reason_en": "{prior_claims_12m:.0f} other claims by the same claimant in the last 12 months",
        "position": 60,
    },
    {
        "code": "new-payee-account",
        "name": "收款账户变更",
        "name_en": "New payee account",
        "expression": "payee_account_new",
        "weight": "0.2",
        "reason": "收款账户与该客户以往索赔使用的账户不同",
        "reason_en": "paid to a bank account the claimant has not used on earlier claims",
        "position": 70,
    },
    {
        "code": "watch-list",
        "name": "命中关注名单",
        "name_en": "On the watch list",
        "expression": "watchlist_hits > 0",
        "weight": "0.6",
        "reason": "索赔人、收款账户或车牌在关注名单上",
        "reason_en": "the claimant, the payee account or the plate is on the watch list",
        "position": 80,
    },
    {
        "code": "night-no-police",
        "name": "夜间出险且无报警记录（车险）",
        "name_en": "Night incident without a police report (motor)",
        "expression": 'line == "motor" and night_incident and not police_report',
        "weight": "0.15",
        "reason": "夜间 {incident_hour:.0f} 点出险，没有交警或事故报告",
        "reason_en": "incident at {incident_hour:.0f}:00 at night with no police report",
        "position": 90,
    },
    {
        "code": "duplicate-document",
        "name": "材料在其他案件中出现过",
        "name_en": "Document seen on another claim",
        "expression": "duplicate_documents > 0",
        "weight": "0.5",
        "reason": "{duplicate_documents:.0f} 份材料（同一文件）也出现在其他案件中",
        "reason_en": "{duplicate_documents:.0f} document(s) of this claim are also on another claim",
        "position": 100,
    },
    {
        "code": "provider-flagged",
        "name": "合作机构可疑案件比例异常",
        "name_en": "Provider with many flagged claims",
        "expression": "provider_claims >= 10 and provider_flagged_share >= 0.3",
        "weight": "0.2",
        "reason": "相关修理厂或医院近 12 个月 {provider_flagged_share:.0%} 的案件风险较高",
        "reason_en": "{provider_flagged_share:.0%} of the partner's claims in the last 12 months were flagged",
        "position": 110,
    },
]


def presets_install(*, actor: User | None) -> int:
    """Install the preset red-flag rules that do not exist yet (by code), active."""
    created = 0
    for data in PRESETS:
        if not RedFlagRule.objects.filter(code=data["code"]).exists():
            rule_save(actor=actor, data={**data, "status": RuleStatus.ACTIVE})
            created += 1
    return created
