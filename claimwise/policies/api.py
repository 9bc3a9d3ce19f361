from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from claimwise.policies.models import Policy
from claimwise.policies.selectors import policy_get_by_number, policy_list

router = Router(tags=["policies"])
ERRORS = {401: dict, 403: dict, 404: dict, 422: dict}


class CoverageOut(Schema):
    code: str
    name: str
    limit: Decimal
    deductible: Decimal
    currency: str
    loss_types: list[str]


class PolicyOut(Schema):
    number: str
    product_code: str
    product: str
    line: str
    status: str
    holder: str
    insured_person: str | None
    vehicle_plate: str
    effective_from: dt.datetime
    effective_to: dt.datetime
    sum_insured: Decimal
    premium: Decimal
    currency: str
    coverages: list[CoverageOut]


def policy_out(p: Policy) -> dict[str, Any]:
    return {
        "number": p.number,
        "product_code": p.product.code,
        "product": p.product.name,
        "line": p.product.line,
        "status": p.status,
        "holder": p.holder.name,
        "insured_person": p.insured_person.name if p.insured_person else None,
        "vehicle_plate": p.vehicle_plate,
        "effective_from": p.effective_from,
        "effective_to": p.effective_to,
        "sum_insured": p.sum_insured,
        "premium": p.premium,
        "currency": p.currency,
        "coverages": list(p.product.coverages.all()),
    }


@router.get("/{number}", response={200: PolicyOut, **ERRORS}, summary="Look up a policy by number")
def get_policy(request: HttpRequest, number: str) -> dict[str, Any]:
    return policy_out(policy_get_by_number(number, user=request.auth))  # type: ignore[attr-defined]


@router.get("", response={200: list[PolicyOut], **ERRORS}, summary="My policies (customers) or recent policies")
def list_policies(request: HttpRequest, limit: int = 50) -> list[dict[str, Any]]:
    qs = policy_list(user=request.auth).prefetch_related("product__coverages")  # type: ignore[attr-defined]
    return [policy_out(p) for p in qs[: max(1, min(limit, 200))]]
