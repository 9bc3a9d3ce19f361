"""Fraud API under /api/v1: a claim's risk score with its reasons, the model registry, the red flags.
Staff only; a claim's risk only within the reader's scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from claimwise.accounts.models import User
from claimwise.fraud import selectors
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
