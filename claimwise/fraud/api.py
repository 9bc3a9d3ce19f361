"""Fraud API under /api/v1: a claim's risk score with its reasons, the model registry, the red flags,
the investigation queue (SIU). Staff only; a claim's risk and cases only within the reader's scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from claimwise.accounts.models import User
from claimwise.claims.selectors import claim_queryset
from claimwise.fraud import investigations, selectors
from claimwise.fraud.models import InvestigationCase, WarningAlert
from claimwise.fraud.scoring import reason_texts

router = Router(tags=["fraud"])
ERRORS = {401: dict, 403: dict, 404: dict}


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined, no-any-return]


class ReasonOut(Schema):
    kind: str = Field(description="rule or model")
    code: str
    weight: float
    text: str = Field(description="in the reader's language")


class RiskOut(Schema):
    claim_id: int
    score: Decimal | None = Field(description="0–1; null while the claim was never scored")
    version: str
    trigger: str
    scored_at: dt.datetime | None
    reasons: list[ReasonOut]
    components: dict[str, Any]


class ModelOut(Schema):
    id: int
    version: int
    scope: str
    name: str
    status: str
    data_fingerprint: str
    rows: int
    features: list[str]
    metrics: dict[str, Any]
    comparison: dict[str, Any]
    artifact_sha256: str
    trained_by: str | None
    trained_at: dt.datetime


class RuleOut(Schema):
    code: str
    name: str
    expression: str
    weight: Decimal
    reason: str
    status: str


@router.get("/claims/{claim_id}/risk", response={200: RiskOut, **ERRORS}, summary="A claim's risk score and reasons")
def claim_risk(request: HttpRequest, claim_id: int) -> dict[str, Any]:
    claim, risk = selectors.claim_risk(claim_id, user=_user(request))
    if risk is None:
        return {
            "claim_id": claim.pk,
            "score": None,
            "version": "",
            "trigger": "",
            "scored_at": None,
            "reasons": [],
            "components": {},
        }
    texts = reason_texts(risk.reasons)
    return {
        "claim_id": risk.claim_id,
        "score": risk.score,
        "version": risk.version,
        "trigger": risk.trigger,
        "scored_at": risk.at,
        "reasons": [
            {"kind": r.get("kind", "rule"), "code": r["code"], "weight": r["weight"], "text": t}
            for r, t in zip(risk.reasons, texts, strict=True)
        ],
        "components": risk.components,
    }


@router.get("/fraud/models", response={200: list[ModelOut], **ERRORS}, summary="The model registry with metrics")
def models(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "id": m.pk,
            "version": m.version,
            "scope": m.scope,
            "name": m.name,
            "status": m.status,
            "data_fingerprint": m.data_fingerprint,
            "rows": m.rows,
            "features": m.features,
            "metrics": m.metrics,
            "comparison": m.comparison,
            "artifact_sha256": m.artifact_sha256,
            "trained_by": m.trained_by.get_username() if m.trained_by else None,
            "trained_at": m.trained_at,
        }
        for m in selectors.model_list(user=_user(request))[:100]
    ]


@router.get("/fraud/rules", response={200: list[RuleOut], **ERRORS}, summary="The red-flag rules")
def rules(request: HttpRequest) -> list[dict[str, Any]]:
    english = (request.LANGUAGE_CODE or "").startswith("en")  # type: ignore[attr-defined]
    return [
        {
            "code": r.code,
            "name": r.label,
            "expression": r.expression,
            "weight": r.weight,
            "reason": r.reason_en if english and r.reason_en else r.reason,
            "status": r.status,
        }
        for r in selectors.rule_list(user=_user(request))
    ]


# --- the investigation queue (SIU) ------------------------------------------------------------------


class CaseOut(Schema):
    id: int
    claim_id: int
    claim_number: str
    claim_status: str = Field(description="the claim's status, which an investigation never changes")
    status: str = Field(description="open or closed")
    reason: str
    score_at_opening: Decimal | None
    opened_at: dt.datetime
    opened_by: str | None = Field(description="null: opened by the system at the score threshold")
    assignee_id: int | None
    due_at: dt.datetime
    outcome: str = Field(description="confirmed_fraud, not_fraud or inconclusive; empty while open")
    amount_saved: Decimal
    outcome_note: str
    closed_at: dt.datetime | None


class TaskOut(Schema):
    id: int
    text: str
    assignee_id: int | None
    due_at: dt.datetime | None
    done_at: dt.datetime | None
    done_by: str | None


class NoteOut(Schema):
    id: int
    author: str | None
    text: str
    at: dt.datetime


class CaseDetailOut(CaseOut):
    tasks: list[TaskOut]
    notes: list[NoteOut]


class CaseOpenIn(Schema):
    claim_id: int
    reason: str
    assignee_id: int | None = None


class CaseCloseIn(Schema):
    outcome: str = Field(description="confirmed_fraud, not_fraud or inconclusive")
    note: str
    amount_saved: Decimal | None = Field(default=None, description="only for confirmed fraud; ≥ 0")


class TaskIn(Schema):
    text: str
    assignee_id: int | None = None
    due_at: dt.datetime | None = None


class NoteIn(Schema):
    text: str


class AssignIn(Schema):
    assignee_id: int | None = Field(description="an active staff member; null takes the case back")


def _name(user: User | None) -> str | None:
    return user.get_username() if user is not None else None


def _case(case: InvestigationCase) -> dict[str, Any]:
    return {
        "id": case.pk,
        "claim_id": case.claim_id,
        "claim_number": case.claim.number,
        "claim_status": case.claim.status,
        "status": case.status,
        "reason": case.reason,
        "score_at_opening": case.score_at_opening,
        "opened_at": case.opened_at,
        "opened_by": _name(case.opened_by),
        "assignee_id": case.assignee_id,
        "due_at": case.due_at,
        "outcome": case.outcome,
        "amount_saved": case.amount_saved,
        "outcome_note": case.outcome_note,
        "closed_at": case.closed_at,
    }


def _detail(case_id: int, user: User) -> dict[str, Any]:
    case = selectors.case_get(case_id, user=user)
    return {
        **_case(case),
        "tasks": [
            {
                "id": t.pk,
                "text": t.text,
                "assignee_id": t.assignee_id,
                "due_at": t.due_at,
                "done_at": t.done_at,
                "done_by": _name(t.done_by),
            }
            for t in case.tasks.all()
        ],
        "notes": [{"id": n.pk, "author": _name(n.author), "text": n.text, "at": n.at} for n in case.notes.all()],
    }


@router.get(
    "/fraud/cases", response={200: list[CaseOut], **ERRORS}, summary="The investigation queue, most urgent first"
)
def case_queue(request: HttpRequest) -> list[dict[str, Any]]:
    return [_case(c) for c in selectors.case_queue(user=_user(request))[:200]]


@router.get("/fraud/cases/{int:case_id}", response={200: CaseDetailOut, **ERRORS}, summary="An investigation")
def case_detail(request: HttpRequest, case_id: int) -> dict[str, Any]:
    return _detail(case_id, _user(request))


@router.post(
    "/fraud/cases", response={201: CaseDetailOut, **ERRORS, 409: dict, 422: dict}, summary="Open an investigation"
)
def case_open(request: HttpRequest, payload: CaseOpenIn) -> Status[dict[str, Any]]:
    user = _user(request)
    case = investigations.case_open(
        actor=user, claim_id=payload.claim_id, reason=payload.reason, assignee_id=payload.assignee_id
    )
    return Status(201, _detail(case.pk, user))


@router.post(
    "/fraud/cases/{int:case_id}/close",
    response={200: CaseDetailOut, **ERRORS, 409: dict, 422: dict},
    summary="Close an investigation with its outcome",
)
def case_close(request: HttpRequest, case_id: int, payload: CaseCloseIn) -> dict[str, Any]:
    user = _user(request)
    investigations.case_close(
        actor=user, case_id=case_id, outcome=payload.outcome, note=payload.note, amount_saved=payload.amount_saved
    )
    return _detail(case_id, user)


@router.post(
    "/fraud/cases/{int:case_id}/tasks",
    response={201: CaseDetailOut, **ERRORS, 409: dict, 422: dict},
    summary="Add a task to an investigation",
)
def case_task_add(request: HttpRequest, case_id: int, payload: TaskIn) -> Status[dict[str, Any]]:
    user = _user(request)
    investigations.case_task_add(
        actor=user, case_id=case_id, text=payload.text, assignee_id=payload.assignee_id, due_at=payload.due_at
    )
    return Status(201, _detail(case_id, user))


@router.post(
    "/fraud/cases/{int:case_id}/notes",
    response={201: CaseDetailOut, **ERRORS, 409: dict, 422: dict},
    summary="Add a note to an investigation",
)
def case_note_add(request: HttpRequest, case_id: int, payload: NoteIn) -> Status[dict[str, Any]]:
    user = _user(request)
    investigations.case_note_add(actor=user, case_id=case_id, text=payload.text)
    return Status(201, _detail(case_id, user))


@router.post(
    "/fraud/cases/{int:case_id}/assign",
    response={200: CaseDetailOut, **ERRORS, 409: dict, 422: dict},
    summary="Give an investigation to an investigator",
)
def case_assign(request: HttpRequest, case_id: int, payload: AssignIn) -> dict[str, Any]:
    user = _user(request)
    investigations.case_assign(actor=user, case_id=case_id, assignee_id=payload.assignee_id)
    return _detail(case_id, user)


@router.post(
    "/fraud/tasks/{int:task_id}/done",
    response={200: CaseDetailOut, **ERRORS, 409: dict, 422: dict},
    summary="Mark an investigation task done",
)
def case_task_done(request: HttpRequest, task_id: int) -> dict[str, Any]:
    user = _user(request)
    task = investigations.case_task_done(actor=user, task_id=task_id)
    return _detail(task.case_id, user)


class RingAlertOut(Schema):
    kind: str
    entity: str = Field(description="the shared entity, masked")
    claimants: int
    claim_count: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    claims: list[str] = Field(description="numbers of the ring's claims the caller may see")


@router.get("/fraud/ring-alerts", response={200: list[RingAlertOut], **ERRORS}, summary="Rings found by link analysis")
def ring_alerts(request: HttpRequest) -> list[dict[str, Any]]:
    """Rings with at least one claim in the caller's scope; only those claims are named."""
    user = _user(request)
    visible = claim_queryset(user)
    out = []
    for alert in selectors.ring_alert_list(user=user).filter(claims__in=visible).distinct()[:200]:
        numbers = list(alert.claims.filter(pk__in=visible.values("pk")).values_list("number", flat=True))
        out.append(
            {
                "kind": alert.kind,
                "entity": alert.entity,
                "claimants": alert.claimants,
                "claim_count": alert.claim_count,
                "first_seen": alert.first_seen,
                "last_seen": alert.last_seen,
                "claims": numbers,
            }
        )
    return out


class WarningOut(Schema):
    day: dt.date
    measure: str
    dimension: str = Field(description="line, region, provider or repair_shop")
    key: str = Field(description="the line, the region or the partner's code")
    label: str = Field(description="the partner's name (providers and repair shops)")
    value: Decimal
    expected_value: Decimal
    upper_limit: Decimal
    expected: bool = Field(description="inside a declared catastrophe")
    claim_count: int
    history: list[tuple[str, float]] = Field(description="the daily series behind the alert, the day last")


@router.get("/fraud/warnings", response={200: list[WarningOut], **ERRORS}, summary="Early-warning alerts")
def warnings(request: HttpRequest, expected: bool | None = None) -> list[dict[str, Any]]:
    """Frequency and severity above their control limits, newest first (`expected=false`: only the
    ones no declared catastrophe explains)."""
    selectors.rule_list(user=_user(request))  # staff only
    qs = WarningAlert.objects.order_by("-day", "-pk")
    if expected is not None:
        qs = qs.filter(expected=expected)
    return [
        {
            "day": a.day,
            "measure": a.measure,
            "dimension": a.dimension,
            "key": a.key,
            "label": a.label,
            "value": a.value,
            "expected_value": a.expected_value,
            "upper_limit": a.upper_limit,
            "expected": a.expected,
            "claim_count": len(a.claim_ids),
            "history": [tuple(p) for p in a.history],
        }
        for a in qs[:200]
    ]
