from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    name: str
    role: str
    branch: str | None
    team: str | None
    lines: list[str]
    partner: str | None


@router.get("/me", response=MeOut, summary="Who am I")
def me(request: HttpRequest) -> dict[str, Any]:
    u = request.auth  # type: ignore[attr-defined]
    return {
        "username": u.username,
        "name": u.get_full_name(),
        "role": u.role,
        "branch": u.branch.code if u.branch else None,
        "team": u.team.code if u.team else None,
        "lines": u.lines,
        "partner": u.partner.code if u.partner else None,
    }
