"""The supervisor's figures (R3): backlog per step and team, claims at risk, workload and
throughput per handler; scoped, with a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.claims.services import (
    claim_approve,
    claim_assess,
    claim_close,
    claim_confirm_payment,
    claim_register,
    claim_request_payment,
    claim_submit_for_approval,
)
from claimwise.process.choices import Urgency
from claimwise.process.models import ClaimProcess
from claimwise.workbench.supervision import at_risk, backlog, workload
from tests import factories
from tests.process import builders


def _claims(world: dict[str, Any], n: int) -> list[int]:
    return [
        factories.claim(actor=world["customer"], policy=world["policy"], claimed_amount="3000").pk for _ in range(n)
    ]


def _close(world: dict[str, Any], claim_id: int, handler: Any) -> None:
    claim_register(actor=handler, claim_id=claim_id)
    claim_assess(actor=handler, claim_id=claim_id)
    claim_submit_for_approval(actor=handler, claim_id=claim_id, assessed_amount="3000")
    claim_approve(actor=world["reviewer"], claim_id=claim_id)
    claim_request_payment(actor=handler, claim_id=claim_id, payee_name="张伟", bank_account="6222020200112233445")
    claim_confirm_payment(actor=world["supervisor"], claim_id=claim_id)
    claim_close(actor=handler, claim_id=claim_id)


def test_backlog_risk_and_workload(world: dict[str, Any]) -> None:
    builders.definition(materials=[], steps=[dict(s, checklist=[]) for s in builders.MOTOR_STEPS])
    other = factories.user(Role.HANDLER)
    ids = _claims(world, 6)
    for claim_id in ids[:3]:
        claim_register(actor=world["handler"], claim_id=claim_id)
    claim_register(actor=other, claim_id=ids[3])
    ClaimProcess.objects.filter(claim_id=ids[0]).update(urgency=Urgency.BREACHED)
    ClaimProcess.objects.filter(claim_id=ids[1]).update(urgency=Urgency.WARNING)
    _close(world, _claims(world, 1)[0], other)

    cells = {(c.step_key, c.team_id): c for c in backlog(world["supervisor"])}
    team = world["handler"].team_id  # the handlers' team takes the claims they register
    survey = cells[("survey", team)]
    assert (survey.count, survey.warning, survey.breached) == (4, 1, 1)
    assert cells[("report", None)].count == 2  # reported, not yet anyone's
    assert survey.filters == {"step": "survey", "team": team}

    risky = at_risk(world["supervisor"])
    assert [c.pk for c in risky] == [ids[0], ids[1]]  # breached first

    loads = {h.handler_id: h for h in workload(world["supervisor"])}
    assert (loads[world["handler"].pk].open, loads[world["handler"].pk].breached) == (3, 1)
    assert loads[other.pk].open == 1
    today = timezone.localdate()
    assert loads[other.pk].closed_per_day == {today: 1}
    assert loads[None].open == 2  # the unassigned pool

    with CaptureQueriesContext(connection) as ctx:
        workload(world["supervisor"], days=7)
    assert len(ctx.captured_queries) == 2


def test_figures_stay_in_scope(world: dict[str, Any]) -> None:
    _claims(world, 2)
    elsewhere = factories.user(Role.SUPERVISOR, branch=factories.branch("SH"))
    assert backlog(elsewhere) == [] and workload(elsewhere, now=timezone.now() + dt.timedelta(days=1)) == []
