"""Binding a claim to its process definition and following its steps."""

from __future__ import annotations

from typing import Any

from claimwise.claims import services as cs
from claimwise.process.models import ClaimProcess
from tests.process.factories import T0, H, act, definition, frozen, shanghai, submit


def test_a_claim_without_a_definition_still_gets_a_process_row(world: dict[str, Any]) -> None:
    claim = submit(world)
    process = ClaimProcess.objects.get(claim=claim)
    assert process.definition is None and process.step_key == "" and process.completed_steps == []
    act(T0 + H, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    assert ClaimProcess.objects.get(claim=claim).step_key == ""


def test_the_claim_keeps_the_version_it_started_under(world: dict[str, Any]) -> None:
    v1 = definition(code="motor", version=1)
    claim = submit(world)
    definition(code="motor", version=2)
    act(T0 + H, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    assert ClaimProcess.objects.get(claim=claim).definition == v1


def test_steps_follow_the_lifecycle(world: dict[str, Any]) -> None:
    definition()
    claim = submit(world)
    process = ClaimProcess.objects.get(claim=claim)
    assert (process.step_key, process.step_entered_at) == ("report", T0)
    act(T0 + H, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    act(T0 + 2 * H, cs.claim_investigate, actor=world["handler"], claim_id=claim.pk)
    process = ClaimProcess.objects.get(claim=claim)
    # Registered and under investigation are one step: entering investigation does not restart it.
    assert (process.step_key, process.step_entered_at, process.completed_steps) == ("survey", T0 + H, ["report"])
    act(T0 + 3 * H, cs.claim_request_documents, actor=world["handler"], claim_id=claim.pk, items=["invoice"])
    assert ClaimProcess.objects.get(claim=claim).step_key == "survey"  # awaiting documents stays in the step
    act(T0 + 4 * H, cs.claim_resume, actor=world["handler"], claim_id=claim.pk)
    act(T0 + 5 * H, cs.claim_assess, actor=world["handler"], claim_id=claim.pk)
    act(T0 + 6 * H, cs.claim_submit_for_approval, actor=world["handler"], claim_id=claim.pk, assessed_amount="800")
    process = ClaimProcess.objects.get(claim=claim)
    assert process.step_key == "approve" and process.completed_steps == ["report", "survey", "assess"]


def test_withdrawal_ends_the_step_without_completing_it(world: dict[str, Any]) -> None:
    definition()
    claim = submit(world)
    with frozen(shanghai(2026, 10, 12, 12, 0)):
        cs.claim_withdraw(actor=world["handler"], claim_id=claim.pk)
    process = ClaimProcess.objects.get(claim=claim)
    assert process.step_key == "" and process.completed_steps == [] and process.step_entered_at is None
