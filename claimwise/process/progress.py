"""A claim's place in its process (P6): which definition it runs under and which step it is in.

The definition is bound once, at the report, and never changes (published versions are frozen).
Each lifecycle transition moves the claim to the step that covers its new state; a state no step
covers (typically "awaiting documents") keeps the claim in the step it was in.

`ClaimProcess` rows are derived from audited claim changes and written inside that change's
transaction, so they carry no audit entry of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models

from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.process.choices import Urgency
from claimwise.process.models import ClaimProcess, ProcessDefinition, queue_rank
from claimwise.process.setup import line_setup

AWAITING = ClaimStatus.AWAITING_DOCUMENTS
TERMINAL = frozenset({ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN})


@dataclass(frozen=True, slots=True)
class StepSpec:
    key: str
    states: frozenset[str]
    role: str
    limit_value: int
    limit_unit: str
    warn_percent: int
    escalate_to: str


@dataclass(frozen=True, slots=True)
class DefinitionSpec:
    """A published definition reduced to what deadlines and steps need (immutable, cacheable)."""

    id: int
    pause_on_documents: bool
    fast_track_limit: Decimal | None
    fast_track_days: int
    life_decision_working_days: int
    forced_registration_hours: int
    callback_working_days: int
    default_reserve: Decimal | None
    steps: tuple[StepSpec, ...]
    status_step: dict[str, StepSpec]
    step_by_key: dict[str, StepSpec]

    def step(self, key: str) -> StepSpec | None:
        return self.step_by_key.get(key)


# Keyed by (id, updated_at): published definitions never change, and a changed row gets a new key.
_SPECS: dict[tuple[int, Any], DefinitionSpec] = {}


def definition_spec(definition: ProcessDefinition | None) -> DefinitionSpec | None:
    if definition is None:
        return None
    key = (definition.pk, definition.updated_at)
    spec = _SPECS.get(key)
    if spec is None:
        steps = tuple(
            StepSpec(
                key=s.key,
                states=frozenset(s.states or ()),
                role=s.role,
                limit_value=s.limit_value,
                limit_unit=s.limit_unit,
                warn_percent=s.warn_percent,
                escalate_to=s.escalate_to,
            )
            for s in definition.steps.order_by("position", "pk")
        )
        status_step: dict[str, StepSpec] = {}
        for s in steps:
            for state in s.states:
                status_step.setdefault(state, s)  # the first step listing a state owns it
        spec = DefinitionSpec(
            id=definition.pk,
            pause_on_documents=definition.pause_on_documents,
            fast_track_limit=definition.fast_track_limit,
            fast_track_days=definition.fast_track_days,
            life_decision_working_days=definition.life_decision_working_days,
            forced_registration_hours=definition.forced_registration_hours,
            callback_working_days=definition.callback_working_days,
            default_reserve=definition.default_reserve,
            steps=steps,
            status_step=status_step,
            step_by_key={s.key: s for s in steps},
        )
        if len(_SPECS) > 1000:
            _SPECS.clear()
        _SPECS[key] = spec
    return spec


def step_for_status(spec: DefinitionSpec | None, status: str, current: str) -> str:
    """The step a claim is in after entering `status`: the step covering it; a state no step covers
    keeps the current step (awaiting documents) or ends it (closed, withdrawn, states past the
    process)."""
    if spec is None:
        return ""
    step = spec.status_step.get(status)
    if step is not None:
        return step.key
    if status == AWAITING:
        return current
    return ""


def process_new(claim: Claim, at: dt.datetime) -> ClaimProcess:
    """An unsaved `ClaimProcess` bound to the claim's definition (None when there is none)."""
    definition = line_setup(claim.line).definition_for(claim.loss_type)
    spec = definition_spec(definition)
    step = step_for_status(spec, claim.status, "")
    return ClaimProcess(
        claim=claim,
        definition=definition,
        step_key=step,
        step_entered_at=at if step else None,
        queue_rank=queue_rank(Urgency.NONE, claim.status),
    )


def process_advance(process: ClaimProcess, to_status: str, at: dt.datetime) -> list[str]:
    """Move the process to the step of `to_status`; returns the changed field names (unsaved)."""
    spec = definition_spec(process.definition)
    new = step_for_status(spec, to_status, process.step_key)
    if new == process.step_key:
        return []
    changed = ["step_key", "step_entered_at"]
    # Leaving a step by withdrawal does not complete it.
    if process.step_key and to_status != ClaimStatus.WITHDRAWN and process.step_key not in process.completed_steps:
        process.completed_steps = [*process.completed_steps, process.step_key]
        changed.append("completed_steps")
    process.step_key = new
    process.step_entered_at = at if new else None
    return changed


def process_for(claim: Claim, at: dt.datetime) -> ClaimProcess:
    """The claim's process row, created (bound) when a claim from before the process app has none."""
    process = ClaimProcess.objects.select_related("definition").filter(claim=claim).first()
    if process is None:
        process = process_new(claim, at)
        process.save()
    return process


def processes_bind_missing(claim_ids: list[int], at: dt.datetime) -> int:
    """Create the process rows missing for these claims (claims reported before the process app)."""
    have = set(ClaimProcess.objects.filter(claim_id__in=claim_ids).values_list("claim_id", flat=True))
    missing = [c for c in Claim.objects.filter(pk__in=[i for i in claim_ids if i not in have])]
    rows = [process_new(c, at) for c in missing]
    ClaimProcess.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def open_claims() -> models.QuerySet[Claim]:
    return Claim.objects.exclude(status__in=TERMINAL)
