"""The investigation queue (SIU, issue 6 item 5): cases open at the score threshold or by hand, are
worked with tasks and notes, close with an outcome that becomes a training label, and never delay
the claim: its status and statutory clocks are untouched and the deadline job still alerts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from claimwise.accounts.choices import Role
from claimwise.claims import services as cs
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.core import calendar
from claimwise.core.errors import DomainError, IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from claimwise.core.models import AuditEntry
from claimwise.fraud import selectors
from claimwise.fraud.investigations import (
    case_assign,
    case_close,
    case_note_add,
    case_open,
    case_task_add,
    case_task_done,
)
from claimwise.fraud.models import InvestigationCase
from claimwise.fraud.rules import rule_save
from claimwise.process.choices import ClockKind, ClockState, Urgency
from claimwise.process.models import ClaimClock, ClaimProcess
from claimwise.process.tasks import clocks_tick
from tests import factories
from tests.process.factories import T0, D, H, act, submit

BIG = "60000"  # fires the test rule below: score 0.800


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Any:
    calendar.calendar_refresh()
    yield
    calendar.calendar_refresh()


@pytest.fixture
def big_rule(db: Any) -> None:
    rule_save(
        actor=None,
        data={
            "code": "big-amount",
            "name": "大额",
            "expression": "claimed_amount > 50000",
            "weight": "0.8",
            "reason": "金额大",
            "status": "active",
        },
    )


def clocks(claim: Claim) -> list[tuple[Any, ...]]:
    return list(
        ClaimClock.objects.filter(claim=claim)
        .order_by("kind", "step_key", "started_at")
        .values_list("kind", "state", "due_at", "warn_at", "paused_at", "paused_seconds")
    )


# --- opening ----------------------------------------------------------------------------------------


def test_the_system_opens_a_case_when_the_score_crosses_the_threshold(world: dict[str, Any], big_rule: None) -> None:
    claim = submit(world, claimed_amount=BIG)
    assert claim.risk_score == Decimal("0.800")
    case = InvestigationCase.objects.get(claim=claim)
    assert case.opened_by is None and case.status == "open" and case.score_at_opening == Decimal("0.800")
    assert case.due_at == calendar.add_working_days(case.opened_at, 10)[0]
    assert "0.800" in case.reason
    event = ClaimEvent.objects.get(claim=claim, kind="siu_case_opened")
    assert event.visible_to_customer is False and event.from_status == event.to_status == ClaimStatus.REPORTED
    assert AuditEntry.objects.filter(action="fraud.case_open", object_id=str(case.pk), actor_id=None).count() == 1
    # The claim is untouched: reported, no clock paused.
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REPORTED
    assert all(c[1] != ClockState.PAUSED and c[4] is None for c in clocks(claim))

    # Rescoring above the threshold opens nothing new, even once the case is closed (not crossed again).
    act(T0 + D, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    case_close(actor=world["supervisor"], case_id=case.pk, outcome="not_fraud", note="核实无误")
    act(T0 + D + H, cs.claim_assess, actor=world["handler"], claim_id=claim.pk)
    act(T0 + D + 2 * H, cs.claim_submit_for_approval, actor=world["handler"], claim_id=claim.pk, assessed_amount=BIG)
    assert Claim.objects.get(pk=claim.pk).risk_score == Decimal("0.800")
    assert InvestigationCase.objects.filter(claim=claim).count() == 1


def test_no_case_below_the_threshold_and_the_threshold_is_a_setting(world: dict[str, Any], big_rule: None) -> None:
    claim = factories.claim(actor=world["handler"], policy=world["policy"], claimed_amount="8000")
    assert claim.risk_score == Decimal("0") and not InvestigationCase.objects.exists()
    with override_settings(CLAIMWISE_SIU_THRESHOLD="0.9"):
        high = factories.claim(actor=world["handler"], policy=world["policy"], claimed_amount=BIG)
    assert high.risk_score == Decimal("0.800") and not InvestigationCase.objects.exists()


def test_manual_open_by_supervisor_or_compliance_with_audit(world: dict[str, Any]) -> None:
    claim = factories.claim(actor=world["handler"], policy=world["policy"])
    for role in ("handler", "reviewer", "auditor"):
        with pytest.raises(PermissionDenied):
            case_open(actor=world[role], claim_id=claim.pk, reason="可疑")
    with pytest.raises(ValidationFailed):
        case_open(actor=world["supervisor"], claim_id=claim.pk, reason="  ")
    case = case_open(
        actor=world["supervisor"], claim_id=claim.pk, reason="线人举报", assignee_id=world["compliance"].pk
    )
    assert case.opened_by == world["supervisor"] and case.assignee == world["compliance"]
    entry = AuditEntry.objects.get(action="fraud.case_open", object_id=str(case.pk))
    assert entry.actor_id == world["supervisor"].pk
    with pytest.raises(DomainError) as exc:
        case_open(actor=world["compliance"], claim_id=claim.pk, reason="再开")
    assert exc.value.code == "conflict"
    other = factories.user(Role.SUPERVISOR, branch=factories.branch("SH"), team=factories.team("SH-M", "SH"))
    with pytest.raises(NotFound):
        case_open(actor=other, claim_id=claim.pk, reason="可疑")


# --- working and closing ------------------------------------------------------------------------------


def test_tasks_notes_assign_and_close_with_audit(world: dict[str, Any]) -> None:
    claim = factories.claim(actor=world["handler"], policy=world["policy"])
    case = case_open(actor=world["supervisor"], claim_id=claim.pk, reason="可疑")
    with pytest.raises(PermissionDenied):
        case_note_add(actor=world["handler"], case_id=case.pk, text="看看")
    case_assign(actor=world["supervisor"], case_id=case.pk, assignee_id=world["handler"].pk)
    # The investigator works the case: tasks and notes.
    task = case_task_add(actor=world["handler"], case_id=case.pk, text="走访修理厂", due_at=T0 + 3 * D)
    note = case_note_add(actor=world["handler"], case_id=case.pk, text="修理厂报价偏高")
    case_task_done(actor=world["handler"], task_id=task.pk)
    with pytest.raises(IllegalTransition):
        case_task_done(actor=world["handler"], task_id=task.pk)
    with pytest.raises(PermissionDenied):  # the investigator may not close the case
        case_close(actor=world["handler"], case_id=case.pk, outcome="not_fraud", note="无")
    with pytest.raises(ValidationFailed):
        case_close(actor=world["supervisor"], case_id=case.pk, outcome="maybe", note="无")
    with pytest.raises(ValidationFailed):  # nothing is saved when there is no fraud
        case_close(actor=world["supervisor"], case_id=case.pk, outcome="not_fraud", note="无", amount_saved="10")
    with pytest.raises(ValidationFailed):
        case_close(
            actor=world["supervisor"], case_id=case.pk, outcome="confirmed_fraud", note="伪造", amount_saved="-1"
        )
    closed = case_close(
        actor=world["compliance"], case_id=case.pk, outcome="confirmed_fraud", note="发票伪造", amount_saved="8200"
    )
    assert closed.status == "closed" and closed.amount_saved == Decimal("8200.00")
    assert closed.closed_by == world["compliance"] and closed.closed_at is not None
    with pytest.raises(IllegalTransition):
        case_task_add(actor=world["supervisor"], case_id=case.pk, text="再查")
    actions = set(AuditEntry.objects.filter(action__startswith="fraud.case_").values_list("action", flat=True))
    assert actions == {
        "fraud.case_open",
        "fraud.case_assign",
        "fraud.case_task_add",
        "fraud.case_task_done",
        "fraud.case_note_add",
        "fraud.case_close",
    }
    assert AuditEntry.objects.filter(action="fraud.case_note_add", object_id=str(note.pk)).exists()
    closing = ClaimEvent.objects.get(claim=claim, kind="siu_case_closed")
    assert closing.visible_to_customer is False and closing.data["outcome"] == "confirmed_fraud"
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.REPORTED  # the decision is the claim's own


def test_outcomes_become_training_labels(world: dict[str, Any]) -> None:
    claims = [factories.claim(actor=world["handler"], policy=world["policy"]) for _ in range(4)]
    outcomes = ["confirmed_fraud", "not_fraud", "inconclusive"]
    for claim, outcome in zip(claims, outcomes, strict=False):
        case = case_open(actor=world["supervisor"], claim_id=claim.pk, reason="抽查")
        case_close(actor=world["supervisor"], case_id=case.pk, outcome=outcome, note="结论")
    case_open(actor=world["supervisor"], claim_id=claims[3].pk, reason="抽查")  # still open: no label
    assert selectors.training_labels() == [(claims[0].pk, 1), (claims[1].pk, 0)]
    # Investigated again: the last closed case decides.
    again = case_open(actor=world["supervisor"], claim_id=claims[1].pk, reason="新线索")
    case_close(actor=world["supervisor"], case_id=again.pk, outcome="confirmed_fraud", note="确认", amount_saved=1)
    assert selectors.training_labels() == [(claims[0].pk, 1), (claims[1].pk, 1)]


# --- the guarantee: an investigation never delays the claim ----------------------------------------


def test_an_investigation_pauses_no_clock_and_the_deadline_job_still_alerts(world: dict[str, Any]) -> None:
    claim = submit(world)
    act(T0 + D, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    act(T0 + D + H, cs.claim_assess, actor=world["handler"], claim_id=claim.pk)
    before = clocks(claim)
    process_before = ClaimProcess.objects.values_list("next_due_at", "urgency").get(claim=claim)
    case = act(T0 + 2 * D, case_open, actor=world["supervisor"], claim_id=claim.pk, reason="可疑")
    act(T0 + 3 * D, case_note_add, actor=world["supervisor"], case_id=case.pk, text="调查中")
    assert clocks(claim) == before
    assert ClaimProcess.objects.values_list("next_due_at", "urgency").get(claim=claim) == process_before
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.ASSESSMENT

    decision = ClaimClock.objects.get(claim=claim, kind=ClockKind.DECISION_30D, step_key="")
    assert decision.state == ClockState.RUNNING and decision.paused_at is None
    clocks_tick(decision.warn_at + H)
    assert ClaimEvent.objects.filter(claim=claim, kind="deadline_warning", data__kind=ClockKind.DECISION_30D).exists()
    clocks_tick(decision.due_at + H)
    decision.refresh_from_db()
    assert decision.state == ClockState.BREACHED and decision.breached_at == decision.due_at + H
    assert ClaimProcess.objects.get(claim=claim).urgency == Urgency.BREACHED
    assert InvestigationCase.objects.get(pk=case.pk).status == "open"  # still investigating: no excuse


def test_a_claim_cleared_as_not_fraud_continues_at_once(world: dict[str, Any], big_rule: None) -> None:
    claim = submit(world, claimed_amount=BIG)
    act(T0 + H, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    case = InvestigationCase.objects.get(claim=claim)
    before = clocks(claim)
    version = Claim.objects.get(pk=claim.pk).version
    act(T0 + 2 * H, case_close, actor=world["supervisor"], case_id=case.pk, outcome="not_fraud", note="核实无误")
    after = Claim.objects.get(pk=claim.pk)
    assert (after.status, after.version) == (ClaimStatus.REGISTERED, version)
    assert clocks(claim) == before
    # No action is needed to continue: the handler assesses right away.
    act(T0 + 3 * H, cs.claim_assess, actor=world["handler"], claim_id=claim.pk)
    assert Claim.objects.get(pk=claim.pk).status == ClaimStatus.ASSESSMENT


# --- reading: the queue and a case --------------------------------------------------------------------


def test_the_queue_is_scoped_and_most_urgent_first(world: dict[str, Any]) -> None:
    first = factories.claim(actor=world["handler"], policy=world["policy"])
    second = factories.claim(actor=world["handler"], policy=world["policy"])
    late = act(T0, case_open, actor=world["supervisor"], claim_id=first.pk, reason="晚")
    early = act(T0 - 5 * D, case_open, actor=world["supervisor"], claim_id=second.pk, reason="早")
    assert list(selectors.case_queue(user=world["handler"])) == [early, late]
    sh = factories.branch("SH")
    outsider = factories.user(Role.HANDLER, branch=sh, team=factories.team("SH-M", "SH"))
    assert list(selectors.case_queue(user=outsider)) == []
    with pytest.raises(NotFound):
        selectors.case_get(early.pk, user=outsider)
    with pytest.raises(PermissionDenied):
        selectors.case_queue(user=world["customer"])
    with pytest.raises(PermissionDenied):  # the customer's own claim: in scope, not staff
        selectors.case_get(early.pk, user=world["customer"])


def test_the_api(world: dict[str, Any], api_client: Any) -> None:
    claim = factories.claim(actor=world["handler"], policy=world["policy"])
    sup = api_client.as_user(world["supervisor"])
    opened = sup.post("/api/v1/fraud/cases", {"claim_id": claim.pk, "reason": "可疑"}, content_type="application/json")
    assert opened.status_code == 201, opened.content
    case = opened.json()
    assert case["claim_id"] == claim.pk and case["status"] == "open" and case["opened_by"] is not None
    again = sup.post("/api/v1/fraud/cases", {"claim_id": claim.pk, "reason": "再开"}, content_type="application/json")
    assert again.status_code == 409 and set(again.json()) == {"code", "message", "detail"}
    url = f"/api/v1/fraud/cases/{case['id']}"
    assert sup.post(f"{url}/tasks", {"text": "走访"}, content_type="application/json").status_code == 201
    noted = sup.post(f"{url}/notes", {"text": "记录"}, content_type="application/json")
    assert noted.status_code == 201 and [n["text"] for n in noted.json()["notes"]] == ["记录"]
    queue = api_client.as_user(world["handler"]).get("/api/v1/fraud/cases").json()
    assert [c["id"] for c in queue] == [case["id"]]
    detail = sup.get(url).json()
    assert [t["text"] for t in detail["tasks"]] == ["走访"] and detail["claim_status"] == "reported"
    bad = sup.post(f"{url}/close", {"outcome": "not_fraud", "note": ""}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    closed = sup.post(f"{url}/close", {"outcome": "not_fraud", "note": "无欺诈"}, content_type="application/json")
    assert closed.status_code == 200 and closed.json()["outcome"] == "not_fraud"
    assert api_client.as_user(world["handler"]).get("/api/v1/fraud/cases").json() == []
    refused = api_client.as_user(world["customer"]).get(url)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    outsider = factories.user(Role.HANDLER, branch=factories.branch("SH"), team=factories.team("SH-M", "SH"))
    assert api_client.as_user(outsider).get(url).status_code == 404


def test_the_back_office_lists_cases_read_only(world: dict[str, Any], client: Any) -> None:
    claim = factories.claim(actor=world["handler"], policy=world["policy"])
    case = case_open(actor=world["supervisor"], claim_id=claim.pk, reason="可疑")
    case_task_add(actor=world["supervisor"], case_id=case.pk, text="走访")
    client.force_login(world["admin"])
    listing = client.get("/admin/fraud/investigationcase/")
    assert listing.status_code == 200 and claim.number in listing.content.decode()
    assert client.get(f"/admin/fraud/investigationcase/{case.pk}/change/").status_code == 200
    assert client.get("/admin/fraud/investigationcase/add/").status_code == 403
