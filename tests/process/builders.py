"""Process set-ups for tests: a published definition with steps and materials, rules, limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from claimwise.process.choices import DefinitionStatus, LimitUnit, RuleStatus
from claimwise.process.models import AuthorityLimit, AutoReviewRule, MaterialRequirement, ProcessDefinition, ProcessStep
from claimwise.process.setup import setup_changed

MOTOR_STEPS: list[dict[str, Any]] = [
    {
        "key": "report",
        "name": "报案",
        "states": ["reported"],
        "role": "handler",
        "limit_value": 72,
        "limit_unit": LimitUnit.HOURS,
    },
    {
        "key": "survey",
        "name": "查勘",
        "states": ["registered", "investigation"],
        "role": "handler",
        "limit_value": 3,
        "checklist": [
            {"key": "scene", "text": "现场照片已核实", "text_en": "Scene photos checked"},
            {"key": "third_party", "text": "三者信息已核实", "text_en": "Third-party details verified"},
        ],
    },
    {"key": "assess", "name": "定损", "states": ["assessment"], "role": "handler", "limit_value": 5},
    {"key": "approve", "name": "核赔", "states": ["pending_approval"], "role": "reviewer", "limit_value": 2},
    {
        "key": "pay",
        "name": "支付",
        "states": ["approved", "partially_approved", "payment_pending"],
        "role": "handler",
        "limit_value": 10,
        "limit_unit": LimitUnit.CALENDAR_DAYS,
    },
]
MOTOR_MATERIALS: list[dict[str, Any]] = [
    {"key": "claim_form", "doc_type": "claim_form", "name": "索赔申请书", "name_en": "Claim form"},
    {"key": "photos", "doc_type": "damage_photo", "name": "损失照片", "name_en": "Damage photos"},
    {
        "key": "police",
        "doc_type": "police_report",
        "name": "报警回执",
        "name_en": "Police report",
        "condition": 'loss_type == "theft"',
    },
    {
        "key": "invoice",
        "doc_type": "repair_estimate",
        "name": "维修估价单",
        "name_en": "Repair estimate",
        "condition": "claimed_amount > 5000",
    },
]


def definition(
    *,
    line: str = "motor",
    code: str = "motor-std",
    steps: list[dict[str, Any]] | None = None,
    materials: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> ProcessDefinition:
    defaults: dict[str, Any] = {"name": "机动车理赔", "name_en": "Motor claims", "line": line}
    if line == "motor":
        defaults["fast_track_limit"] = Decimal("5000")
    definition = ProcessDefinition.objects.create(
        code=code, status=DefinitionStatus.PUBLISHED, **{**defaults, **fields}
    )
    step_rows = MOTOR_STEPS if steps is None else steps
    for position, step in enumerate(step_rows):
        keys = [s["key"] for s in step_rows]
        ProcessStep.objects.create(
            definition=definition,
            position=position,
            next_steps=keys[position + 1 : position + 2],
            **{"limit_unit": LimitUnit.WORKING_DAYS, "name_en": step["key"], **step},
        )
    for position, material in enumerate(MOTOR_MATERIALS if materials is None else materials):
        MaterialRequirement.objects.create(definition=definition, position=position, **material)
    setup_changed()
    return definition


def rule(
    expression: str, *, code: str = "small-glass", line: str = "motor", status: str = RuleStatus.ACTIVE
) -> AutoReviewRule:
    created = AutoReviewRule.objects.create(
        code=code, name="小额玻璃险", name_en="Small glass claims", line=line, expression=expression, status=status
    )
    setup_changed()
    return created


def limits(rows: dict[str, str], *, line: str = "") -> None:
    for role, amount in rows.items():
        AuthorityLimit.objects.create(role=role, line=line, max_amount=Decimal(amount))
    setup_changed()


def confirm_step(actor: Any, claim_id: int) -> None:
    """The step owner ticks every item of the claim's current step (before moving it on)."""
    from claimwise.claims.models import Claim
    from claimwise.process.stepchecks import current_step, step_checks_confirm

    step = current_step(Claim.objects.get(pk=claim_id))
    if step is not None and step.checklist:
        step_checks_confirm(actor=actor, claim_id=claim_id, items=[item["key"] for item in step.checklist])
