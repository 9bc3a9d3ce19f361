"""Automatic assignment on registration (H5, R3): line, skills, workload, availability; manual
reassignment by a supervisor needs a reason; every assignment is an event."""

from __future__ import annotations

from typing import Any

import pytest

from claimwise.accounts.choices import Role
from claimwise.accounts.services import reference_save
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.services import claim_assign, claim_register
from claimwise.core.errors import ValidationFailed
from claimwise.process.assignment import required_skills
from tests import factories


def register(world: dict[str, Any], **claim: Any) -> Claim:
    created = factories.claim(actor=world["customer"], policy=world["policy"], **claim)
    claim_register(actor=world["supervisor"], claim_id=created.pk)
    return Claim.objects.select_related("handler").get(pk=created.pk)


@pytest.fixture
def teams(world: dict[str, Any]) -> dict[str, Any]:
    world["handler"].is_available = False  # the world's handler is away: only the teams below count
    world["handler"].save(update_fields=["is_available"])
    regular = factories.team("BJ-MOTOR", "BJ")
    special = factories.team("BJ-INJURY", "BJ")
    special.is_specialist, special.skills = True, ["injury", "complex", "large_loss"]
    reference_save(actor=None, instance=special)
    return {
        "a": factories.user(Role.HANDLER, team=regular, branch=regular.branch),
        "b": factories.user(Role.HANDLER, team=regular, branch=regular.branch),
        "s": factories.user(Role.HANDLER, team=special, branch=special.branch),
        "health_only": factories.user(Role.HANDLER, team=regular, branch=regular.branch, lines=["health"]),
    }


def test_the_least_loaded_regular_handler_gets_the_claim(world: dict[str, Any], teams: dict[str, Any]) -> None:
    first = register(world, claimed_amount="3000")
    assert first.handler == teams["a"]  # equal load: the first
    second = register(world, claimed_amount="3000")
    assert second.handler == teams["b"]  # a has one open claim now
    third = register(world, claimed_amount="3000")
    assert third.handler in (teams["a"], teams["b"])  # never the specialist, never health-only
    event = ClaimEvent.objects.get(claim=first, kind="assigned")
    assert event.actor is None and event.data["handler"] == teams["a"].pk and event.note


def test_skills_go_to_the_specialist_team(world: dict[str, Any], teams: dict[str, Any]) -> None:
    big = register(world, claimed_amount="250000")
    assert required_skills(big) == {"large_loss", "complex"}
    assert big.handler == teams["s"]
    injury = register(world, loss_type="third_party", claimed_amount="8000")
    assert injury.handler == teams["s"]


def test_nobody_available_leaves_the_claim_in_the_pool(world: dict[str, Any], teams: dict[str, Any]) -> None:
    for user in teams.values():
        user.is_available = False
        user.save(update_fields=["is_available"])
    claim = register(world)
    assert claim.handler is None
    assert not ClaimEvent.objects.filter(claim=claim, kind="assigned").exists()


def test_a_handler_who_registers_keeps_the_claim(world: dict[str, Any], teams: dict[str, Any]) -> None:
    created = factories.claim(actor=world["customer"], policy=world["policy"])
    claim_register(actor=teams["b"], claim_id=created.pk)
    assert Claim.objects.get(pk=created.pk).handler == teams["b"]
    assert not ClaimEvent.objects.filter(claim=created, kind="assigned").exists()


def test_reassignment_needs_a_reason(world: dict[str, Any], teams: dict[str, Any]) -> None:
    claim = register(world)
    other = teams["b"] if claim.handler == teams["a"] else teams["a"]
    with pytest.raises(ValidationFailed) as refused:
        claim_assign(actor=world["supervisor"], claim_id=claim.pk, handler=other)
    assert refused.value.detail[0]["field"] == "note"
    claim_assign(actor=world["supervisor"], claim_id=claim.pk, handler=other, note="原经办人休假")
    assert Claim.objects.get(pk=claim.pk).handler == other
    assert ClaimEvent.objects.filter(claim=claim, kind="assigned").count() == 2
