"""The step's quality checklist (P1, P5): what the step's owner confirms before the claim leaves it.

A person moving a claim out of a step with unconfirmed items is refused with the list; pausing for
documents and the claimant's withdrawal are not leaving the step, and the system's own actions
(straight-through review, forced registration) are governed by their rules instead.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.models import User
from claimwise.claims.lifecycle import TRANSITIONS, Action, register_guard
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.selectors import claim_get
from claimwise.claims.services import check_role
from claimwise.core.audit import audit_record
from claimwise.core.errors import ValidationFailed
from claimwise.process.models import ClaimProcess, ProcessStep, StepCheck, localized

NOT_LEAVING = frozenset({Action.REQUEST_DOCUMENTS, Action.RESUME, Action.WITHDRAW, Action.SEND_DENIAL_NOTICE})


def current_step(claim: Claim) -> ProcessStep | None:
    try:
        process = claim.process
    except ClaimProcess.DoesNotExist:
        return None
    if process.definition_id is None or not process.step_key:
        return None
    return ProcessStep.objects.filter(definition_id=process.definition_id, key=process.step_key).first()


def step_checklist(claim: Claim, step: ProcessStep | None = None) -> list[dict[str, Any]]:
    """The current step's items with who confirmed them and when."""
    step = step or current_step(claim)
    if step is None or not step.checklist:
        return []
    done = {
        c.item_key: c
        for c in StepCheck.objects.filter(claim_id=claim.pk, step_key=step.key).select_related("confirmed_by")
    }
    return [
        {
            "key": item["key"],
            "text": localized(item.get("text", ""), item.get("text_en", "")),
            "confirmed_by": done[item["key"]].confirmed_by if item["key"] in done else None,
            "confirmed_at": done[item["key"]].confirmed_at if item["key"] in done else None,
        }
        for item in step.checklist
    ]


def _guard_for(action: Action) -> Any:
    transition = TRANSITIONS[action]

    def checklist_confirmed(claim: Claim, params: Any) -> str | None:
        if params.get("actor") is None:
            return None
        step = current_step(claim)
        if step is None or not step.checklist:
            return None
        if transition.target is not None and transition.target in step.states:
            return None  # staying in the step
        open_items = [i["text"] for i in step_checklist(claim, step) if i["confirmed_by"] is None]
        if open_items:
            return _("Confirm the step's quality checklist first: %(items)s.") % {"items": "; ".join(open_items)}
        return None

    return checklist_confirmed


for _action in Action:
    if _action not in NOT_LEAVING:
        register_guard([_action], _guard_for(_action))


@transaction.atomic
def step_checks_confirm(*, actor: User, claim_id: int, items: list[str], note: str = "") -> list[StepCheck]:
    """Confirm checklist items of the claim's current step (by their keys)."""
    claim = claim_get(claim_id, user=actor, for_update=True)
    step = current_step(claim)
    if step is None:
        raise ValidationFailed({"items": _("The claim's current step has no checklist.")})
    check_role(actor, frozenset({step.role, "supervisor"}))  # type: ignore[arg-type]
    known = {i["key"] for i in step.checklist}
    unknown = [k for k in items if k not in known]
    if not items:
        raise ValidationFailed({"items": _("Choose at least one checklist item.")})
    if unknown:
        raise ValidationFailed({"items": _("Unknown checklist item: %(items)s.") % {"items": ", ".join(unknown)}})
    now = timezone.now()
    already = set(
        StepCheck.objects.filter(claim_id=claim.pk, step_key=step.key, item_key__in=items).values_list(
            "item_key", flat=True
        )
    )
    created = StepCheck.objects.bulk_create(
        [
            StepCheck(claim=claim, step_key=step.key, item_key=k, confirmed_by=actor, confirmed_at=now)
            for k in dict.fromkeys(items)
            if k not in already
        ]
    )
    if created:
        ClaimEvent.objects.create(
            claim=claim,
            kind="checks_confirmed",
            at=now,
            actor=actor,
            from_status=claim.status,
            to_status=claim.status,
            note=note,
            data={"step": step.key, "items": [c.item_key for c in created]},
            visible_to_customer=False,
        )
        audit_record(
            actor=actor,
            action="claim.checks_confirm",
            obj=claim,
            after={"step": step.key, "items": [c.item_key for c in created]},
        )
    return created
