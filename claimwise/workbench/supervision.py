"""What a supervisor steers by (R3): backlog per step and team, claims at risk and breached, each
handler's workload and throughput over time. Reads only, always within the supervisor's scope
(`claims.selectors.claim_queryset`), a fixed number of queries whatever the team's size; every
figure carries the filters that list the claims behind it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from claimwise.accounts.models import User
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.selectors import claim_queryset
from claimwise.process.choices import Urgency

CLOSED = (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN)


def open_claims(user: User) -> QuerySet[Claim]:
    return claim_queryset(user).exclude(status__in=CLOSED)


@dataclass(frozen=True)
class BacklogCell:
    step_key: str
    team_id: int | None
    count: int
    warning: int
    breached: int

    @property
    def filters(self) -> dict[str, Any]:
        return {"step": self.step_key, "team": self.team_id or "none"}


def backlog(user: User) -> list[BacklogCell]:
    """Open claims per process step and team, with how many are at risk or breached."""
    rows = (
        open_claims(user)
        .values("process__step_key", "team_id")
        .annotate(
            n=Count("pk"),
            warning=Count("pk", filter=Q(process__urgency=Urgency.WARNING)),
            breached=Count("pk", filter=Q(process__urgency=Urgency.BREACHED)),
        )
        .order_by("process__step_key", "team_id")
    )
    return [BacklogCell(r["process__step_key"] or "", r["team_id"], r["n"], r["warning"], r["breached"]) for r in rows]


def at_risk(user: User, *, limit: int = 50) -> list[Claim]:
    """Breached first, then at risk, nearest deadline first."""
    return list(
        open_claims(user)
        .filter(process__urgency__in=[Urgency.BREACHED, Urgency.WARNING])
        .select_related("handler", "team", "process")
        .annotate(rank=Case(When(process__urgency=Urgency.BREACHED, then=Value(0)), default=Value(1)))
        .order_by("rank", "process__next_due_at", "pk")[:limit]
    )


@dataclass
class HandlerLoad:
    handler_id: int | None
    name: str
    open: int = 0
    warning: int = 0
    breached: int = 0
    closed_per_day: dict[dt.date, int] = field(default_factory=dict)

    @property
    def filters(self) -> dict[str, Any]:
        return {"handler": self.handler_id or "none"}


def workload(user: User, *, days: int = 30, now: dt.datetime | None = None) -> list[HandlerLoad]:
    """Each handler's open claims (and how many at risk or breached) and claims closed per day over
    the last `days` days; unassigned claims as one row with no handler. Two queries."""
    now = now or timezone.now()
    loads: dict[int | None, HandlerLoad] = {}
    for r in (
        open_claims(user)
        .values("handler_id", "handler__username", "handler__first_name", "handler__last_name")
        .annotate(
            n=Count("pk"),
            warning=Count("pk", filter=Q(process__urgency=Urgency.WARNING)),
            breached=Count("pk", filter=Q(process__urgency=Urgency.BREACHED)),
        )
    ):
        name = f"{r['handler__last_name'] or ''}{r['handler__first_name'] or ''}" or (r["handler__username"] or "")
        loads[r["handler_id"]] = HandlerLoad(r["handler_id"], name, r["n"], r["warning"], r["breached"])
    since = now - dt.timedelta(days=days)
    closed = (
        ClaimEvent.objects.filter(kind="close", at__gte=since, claim__in=claim_queryset(user))
        .annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
        .values("claim__handler_id", "claim__handler__username", "day")
        .annotate(n=Count("pk"))
    )
    per_day: dict[int | None, dict[dt.date, int]] = defaultdict(dict)
    for r in closed:
        handler = r["claim__handler_id"]
        per_day[handler][r["day"]] = r["n"]
        if handler not in loads:
            loads[handler] = HandlerLoad(handler, r["claim__handler__username"] or "")
    for handler, series in per_day.items():
        loads[handler].closed_per_day = series
    return sorted(loads.values(), key=lambda h: (h.handler_id is None, -h.breached, -h.open, h.name))


def _step_labels(keys: set[str]) -> dict[str, tuple[int, str]]:
    """Position and name of each step key in the published definitions (keys repeat across lines;
    the earliest position and its name win)."""
    from claimwise.process.choices import DefinitionStatus
    from claimwise.process.models import ProcessStep

    found: dict[str, tuple[int, str]] = {}
    for step in ProcessStep.objects.filter(key__in=keys, definition__status=DefinitionStatus.PUBLISHED).order_by(
        "position", "pk"
    ):
        found.setdefault(step.key, (step.position, step.label))
    return found


def overview(user: User, *, days: int = 14, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the supervisor page shows, ready for the template and the charts."""
    from urllib.parse import urlencode

    from django.urls import reverse

    from claimwise.accounts.models import Team

    now = now or timezone.now()
    cells = backlog(user)
    team_ids = sorted({c.team_id for c in cells if c.team_id is not None})
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name"))
    columns: list[int | None] = [*team_ids, *([None] if any(c.team_id is None for c in cells) else [])]
    labels = _step_labels({c.step_key for c in cells if c.step_key})
    queue = reverse("workbench:queue")

    def link(**params: Any) -> str:
        return f"{queue}?{urlencode({'tab': 'team', **{k: v for k, v in params.items() if v not in (None, '')}})}"

    by_cell = {(c.step_key, c.team_id): c for c in cells}
    steps = sorted({c.step_key for c in cells}, key=lambda k: (labels.get(k, (999, k))[0], k))
    rows = [
        {
            "label": labels.get(key, (0, key))[1] if key else "—",
            "cells": [{"cell": by_cell.get((key, team)), "link": link(step=key, team=team)} for team in columns],
            "total": sum(c.count for (k, _t), c in by_cell.items() if k == key),
        }
        for key in steps
    ]
    loads = workload(user, days=days, now=now)
    today = timezone.localdate(now)
    day_list = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    handlers = [h for h in loads if h.handler_id is not None]
    return {
        "columns": [teams.get(t, "—") if t is not None else None for t in columns],
        "rows": rows,
        "at_risk": at_risk(user, limit=20),
        "loads": [
            {"load": h, "link": link(handler=h.handler_id or "none"), "closed": sum(h.closed_per_day.values())}
            for h in loads
        ],
        "chart": {
            "handlers": [h.name for h in handlers],
            "on_time": [h.open - h.warning - h.breached for h in handlers],
            "warning": [h.warning for h in handlers],
            "breached": [h.breached for h in handlers],
            "days": [d.strftime("%m-%d") for d in day_list],
            "closed": [sum(h.closed_per_day.get(d, 0) for h in loads) for d in day_list],
        },
        "days": days,
    }
