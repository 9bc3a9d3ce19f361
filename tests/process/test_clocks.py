"""Deadline clocks through the real services, with the services' clock frozen and `now` passed to ours."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from claimwise.accounts.choices import Role
from claimwise.claims import services as cs
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.core import calendar
from claimwise.core.calendar import add_calendar_days, add_working_days, calendar_day_save
from claimwise.core.models import AuditEntry, CalendarDay
from claimwise.process.choices import AlertKind, ClockKind, ClockState, Urgency
from claimwise.process.clocks import callback_record, claim_clock_views, clocks_sync
from claimwise.process.models import ClaimClock, ClaimProcess, MaterialRequirement, ProcessStep, StaffAlert
from claimwise.process.recompute import clocks_recompute_all
from claimwise.process.setup import setup_changed
from claimwise.process.tasks import clocks_tick
from tests import factories
from tests.process.factories import T0, D, H, act, definition, fast_track_definition, frozen, shanghai, submit

K, S = ClockKind, ClockState


@pytest.fixture(autouse=True)
def _fresh_calendar() -> Any:
    calendar.calendar_refresh()
    yield
    calendar.calendar_refresh()


def clock(claim: Claim, kind: str, step: str = "") -> ClaimClock:
    return ClaimClock.objects.get(claim=claim, kind=kind, step_key=step)


def to_assessment(world: dict[str, Any], claim: Claim, at: dt.datetime) -> None:
    act(at, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    act(at + H, cs.claim_assess, actor=world["handler"], claim_id=claim.pk)


def to_decision(world: dict[str, Any], claim: Claim, at: dt.datetime) -> None:
    to_assessment(world, claim, at)
    act(at + 2 * H, cs.claim_submit_for_approval, actor=world["handler"], claim_id=claim.pk, assessed_amount="8000")


# --- statutory clocks ----------------------------------------------------------------------------


def test_a_new_claim_gets_the_statutory_clocks_even_without_a_definition(world: dict[str, Any]) -> None:
    claim = submit(world)
    process = ClaimProcess.objects.get(claim=claim)
    assert process.definition is None and process.step_key == ""
    kinds = set(ClaimClock.objects.filter(claim=claim).values_list("kind", flat=True))
    assert kinds == {K.DECISION_30D, K.ADVANCE_PAYMENT_60D, K.LIMITATION, K.FORCED_REGISTRATION}
    decision = clock(claim, K.DECISION_30D)
    assert decision.due_at == add_calendar_days(T0, 30)[0] == shanghai(2026, 11, 12)  # 24:00 on 11 Nov
    assert decision.state == S.RUNNING and decision.escalate_to == Role.SUPERVISOR
    assert clock(claim, K.ADVANCE_PAYMENT_60D).due_at == shanghai(2026, 12, 12)
    assert clock(claim, K.FORCED_REGISTRATION).due_at == T0 + 72 * H
    limitation = clock(claim, K.LIMITATION)
    assert limitation.state == S.MET and limitation.due_at == shanghai(2028, 10, 13)  # art. 26: two years
    assert (process.next_due_at, process.next_due_kind, process.urgency) == (
        T0 + 72 * H,
        K.FORCED_REGISTRATION,
        "on_time",
    )


def test_decision_clock_breaches_once_with_warning_and_escalation(world: dict[str, Any]) -> None:
    claim = submit(world)
    to_assessment(world, claim, T0 + D)  # the handler registers and owns the claim
    due = clock(claim, K.DECISION_30D).due_at
    warn_at = clock(claim, K.DECISION_30D).warn_at
    assert warn_at == T0 + (due - T0) * 0.75

    clocks_tick(warn_at - H)
    assert not ClaimEvent.objects.filter(claim=claim, kind="deadline_warning").exists()
    clocks_tick(warn_at + H)
    clocks_tick(warn_at + 2 * H)  # idempotent
    warning = ClaimEvent.objects.get(claim=claim, kind="deadline_warning", data__kind=K.DECISION_30D)
    assert warning.visible_to_customer is False
    alert = StaffAlert.objects.get(claim=claim, kind=AlertKind.WARNING, clock=clock(claim, K.DECISION_30D))
    assert alert.recipient == world["handler"] and alert.recipient_role == ""
    assert ClaimProcess.objects.get(claim=claim).urgency == Urgency.WARNING

    clocks_tick(due + H)
    second = clocks_tick(due + 2 * H)
    assert second.breaches == 0 and second.warnings == 0 and second.recompute.written == 0
    breached = clock(claim, K.DECISION_30D)
    assert breached.state == S.BREACHED and breached.breached_at == due + H
    assert ClaimEvent.objects.filter(claim=claim, kind="deadline_breached", data__kind=K.DECISION_30D).count() == 1
    alerts = StaffAlert.objects.filter(clock=breached)
    assert set(alerts.values_list("kind", "recipient_id", "recipient_role")) == {
        (AlertKind.WARNING, world["handler"].pk, ""),
        (AlertKind.BREACH, world["handler"].pk, ""),
        (AlertKind.ESCALATION, None, Role.SUPERVISOR),
    }
    process = ClaimProcess.objects.get(claim=claim)
    assert process.urgency == Urgency.BREACHED and process.next_due_kind == K.DECISION_30D
    assert AuditEntry.objects.filter(action="clock.breach", object_id=str(breached.pk)).count() == 1

    # Deciding late stops the clock as met late.
    act(due + 3 * H, cs.claim_submit_for_approval, actor=world["handler"], claim_id=claim.pk, assessed_amount="8000")
    act(due + 4 * H, cs.claim_approve, actor=world["reviewer"], claim_id=claim.pk)
    late = clock(claim, K.DECISION_30D)
    assert (late.state, late.stopped_at) == (S.MET_LATE, due + 4 * H)


def test_decision_clock_pauses_while_the_claimant_supplies_documents(world: dict[str, Any]) -> None:
    claim = submit(world)
    to_assessment(world, claim, T0 + D)
    asked, received = T0 + 2 * D, T0 + 12 * D + 5 * H
    act(asked, cs.claim_request_documents, actor=world["handler"], claim_id=claim.pk, items=["police_report"])
    paused = clock(claim, K.DECISION_30D)
    assert paused.state == S.PAUSED and paused.paused_at == asked
    assert ClaimProcess.objects.get(claim=claim).urgency == Urgency.ON_TIME
    # While paused nothing breaches or warns, however long the pause.
    clocks_tick(T0 + 11 * D)
    assert clock(claim, K.DECISION_30D).state == S.PAUSED
    assert clock(claim, K.ADVANCE_PAYMENT_60D).state == S.RUNNING  # art. 25 counts from the report

    act(received, cs.claim_resume, actor=world["handler"], claim_id=claim.pk)
    resumed = clock(claim, K.DECISION_30D)
    assert resumed.paused_seconds == (received - asked).total_seconds() and resumed.paused_at is None
    # 30 days from 22 Oct 15:00 end on Saturday 21 Nov: moved to 24:00 on Monday 23 Nov (art. 203).
    assert resumed.due_at == add_calendar_days(T0 + (received - asked), 30)[0] == shanghai(2026, 11, 24)
    # Past the original due time the clock still runs; past the shifted one it breaches.
    clocks_tick(shanghai(2026, 11, 12, 1, 0))
    assert clock(claim, K.DECISION_30D).state == S.RUNNING
    clocks_tick(shanghai(2026, 11, 23, 23, 0))
    assert clock(claim, K.DECISION_30D).state == S.RUNNING
    clocks_tick(shanghai(2026, 11, 24, 1, 0))
    assert clock(claim, K.DECISION_30D).state == S.BREACHED


def test_payment_within_10_days_of_agreement(world: dict[str, Any]) -> None:
    claim = submit(world)
    to_decision(world, claim, T0 + D)
    approved = T0 + 2 * D
    act(approved, cs.claim_approve, actor=world["reviewer"], claim_id=claim.pk)
    assert clock(claim, K.DECISION_30D).state == S.MET
    assert clock(claim, K.ADVANCE_PAYMENT_60D).state == S.MET
    payment = clock(claim, K.PAYMENT_10D)
    assert payment.started_at == approved and payment.due_at == add_calendar_days(approved, 10)[0]
    act(
        approved + H,
        cs.claim_request_payment,
        actor=world["handler"],
        claim_id=claim.pk,
        payee_name="张伟",
        bank_account="6222020200112233445",
    )
    clocks_tick(payment.due_at + H)
    assert clock(claim, K.PAYMENT_10D).state == S.BREACHED
    assert ClaimEvent.objects.get(claim=claim, kind="deadline_breached").visible_to_customer is True  # statutory
    act(payment.due_at + 2 * H, cs.claim_confirm_payment, actor=world["supervisor"], claim_id=claim.pk)
    assert clock(claim, K.PAYMENT_10D).state == S.MET_LATE


def test_denial_notice_within_3_days(world: dict[str, Any]) -> None:
    claim = submit(world)
    to_decision(world, claim, T0 + D)
    denied = shanghai(2026, 10, 14, 16, 0)  # Wednesday: due 24:00 Saturday, moved to Monday (art. 203)
    act(denied, cs.claim_deny, actor=world["reviewer"], claim_id=claim.pk, reason_codes=["exclusion"], note="免责条款")
    notice = clock(claim, K.DENIAL_NOTICE_3D)
    assert notice.due_at == shanghai(2026, 10, 20)
    clocks_tick(shanghai(2026, 10, 19, 12, 0))
    assert clock(claim, K.DENIAL_NOTICE_3D).state == S.RUNNING
    assert ClaimEvent.objects.filter(claim=claim, kind="deadline_warning", data__kind=K.DENIAL_NOTICE_3D).count() == 1
    clocks_tick(shanghai(2026, 10, 20, 0, 5))
    assert clock(claim, K.DENIAL_NOTICE_3D).state == S.BREACHED
    act(shanghai(2026, 10, 20, 9, 0), cs.claim_send_denial_notice, actor=world["handler"], claim_id=claim.pk)
    assert clock(claim, K.DENIAL_NOTICE_3D).state == S.MET_LATE
    assert clock(claim, K.DECISION_30D).state == S.MET


def test_advance_payment_trigger_at_60_days(world: dict[str, Any]) -> None:
    claim = submit(world)
    to_assessment(world, claim, T0 + D)
    due = clock(claim, K.ADVANCE_PAYMENT_60D).due_at
    assert due == add_calendar_days(T0, 60)[0]
    clocks_tick(due + H)
    trigger = clock(claim, K.ADVANCE_PAYMENT_60D)
    assert trigger.state == S.BREACHED and trigger.breached_at == due + H
    assert StaffAlert.objects.filter(clock=trigger, kind=AlertKind.ESCALATION).count() == 1


def test_withdrawal_ends_open_clocks(world: dict[str, Any]) -> None:
    claim = submit(world)
    act(T0 + 80 * H, cs.claim_withdraw, actor=world["handler"], claim_id=claim.pk)
    assert clock(claim, K.DECISION_30D).state == S.CANCELLED
    assert clock(claim, K.ADVANCE_PAYMENT_60D).state == S.CANCELLED
    # Already overdue when withdrawn: the breach stays on the record.
    assert clock(claim, K.FORCED_REGISTRATION).state == S.BREACHED
    assert ClaimProcess.objects.get(claim=claim).urgency == Urgency.NONE
    assert clocks_tick(T0 + 100 * D).breaches == 0  # nothing alerts on a withdrawn claim


# --- forced registration ---------------------------------------------------------------------------


def test_forced_registration_after_72_hours_without_a_definition(world: dict[str, Any]) -> None:
    claim = submit(world)
    with frozen(T0 + 71 * H):
        assert clocks_tick(T0 + 71 * H).registered == 0
    with frozen(T0 + 73 * H):
        result = clocks_tick(T0 + 73 * H)
        assert clocks_tick(T0 + 73 * H).registered == 0
    assert result.registered == 1
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REGISTERED and claim.reserve == Decimal("8200.00")
    event = ClaimEvent.objects.get(claim=claim, kind="forced_registration")
    assert event.data["rule"] == "forced_registration" and event.data["hours"] == 72 and event.actor is None
    assert ClaimEvent.objects.get(claim=claim, kind="register").actor is None
    assert clock(claim, K.FORCED_REGISTRATION).state == S.MET_LATE
    assert AuditEntry.objects.filter(action="claim.forced_registration", object_id=str(claim.pk)).count() == 1


def test_forced_registration_uses_the_definition_hours_and_default_reserve(world: dict[str, Any]) -> None:
    definition(forced_registration_hours=48, default_reserve=Decimal("3000"))
    claim = submit(world)
    assert clock(claim, K.FORCED_REGISTRATION).due_at == T0 + 48 * H
    with frozen(T0 + 49 * H):
        assert clocks_tick(T0 + 49 * H).registered == 1
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REGISTERED and claim.reserve == Decimal("3000")
    assert ClaimProcess.objects.get(claim=claim).step_key == "survey"


# --- presets -----------------------------------------------------------------------------------------


def test_fast_track_clock_runs_from_complete_materials(world: dict[str, Any]) -> None:
    fast_track_definition()
    claim = submit(world, loss_type="glass", claimed_amount="3000")
    assert claim.complexity == "simple"
    first = clock(claim, K.FAST_TRACK)
    assert first.started_at == T0 and first.due_at == add_calendar_days(T0, 3)[0]
    # Materials complete later: the promise counts from then (the first clock is replaced).
    complete = T0 + 2 * D
    ClaimProcess.objects.filter(claim=claim).update(documents_complete=True, documents_complete_at=complete)
    clocks_sync(claim, complete)
    assert ClaimClock.objects.get(pk=first.pk).state == S.CANCELLED
    restarted = ClaimClock.objects.get(claim=claim, kind=K.FAST_TRACK, state=S.RUNNING)
    assert restarted.started_at == complete and restarted.due_at == add_calendar_days(complete, 3)[0]
    to_decision(world, claim, complete + H)
    act(complete + 4 * H, cs.claim_approve, actor=world["reviewer"], claim_id=claim.pk, amount="2500")
    act(
        complete + 5 * H,
        cs.claim_request_payment,
        actor=world["handler"],
        claim_id=claim.pk,
        payee_name="张伟",
        bank_account="6222020200112233445",
    )
    act(complete + 6 * H, cs.claim_confirm_payment, actor=world["supervisor"], claim_id=claim.pk)
    assert ClaimClock.objects.get(pk=restarted.pk).state == S.MET


def test_no_fast_track_above_the_limit_or_without_the_preset(world: dict[str, Any]) -> None:
    fast_track_definition()
    big = submit(world, loss_type="collision", claimed_amount="8200")
    assert not ClaimClock.objects.filter(claim=big, kind=K.FAST_TRACK).exists()


def test_life_claims_decided_within_5_working_days_unless_complex(world: dict[str, Any]) -> None:
    definition(line="life", steps=[])
    life_policy = factories.policy(holder=world["holder"], line="life")
    claim = submit(world, policy=life_policy, loss_type="accidental_injury", claimed_amount="10000")
    life = clock(claim, K.LIFE_DECISION)
    assert life.due_at == add_working_days(T0, 5)[0] == shanghai(2026, 10, 20)
    complex_claim = submit(world, policy=life_policy, loss_type="accidental_injury", claimed_amount="300000")
    assert complex_claim.complexity == "complex"
    assert not ClaimClock.objects.filter(claim=complex_claim, kind=K.LIFE_DECISION).exists()


def test_medical_materials_list_within_one_working_day(world: dict[str, Any]) -> None:
    health_definition = definition(line="health", steps=[], forced_registration_hours=96)
    MaterialRequirement.objects.create(definition=health_definition, key="invoice", doc_type="invoice", name="发票")
    setup_changed()
    health = factories.policy(holder=world["holder"], line="health")
    friday = shanghai(2026, 10, 16, 18, 0)
    claim = submit(world, friday, policy=health, loss_type="outpatient", claimed_amount="1200")
    notice = clock(claim, K.MATERIALS_NOTICE)
    assert notice.state == S.RUNNING and notice.due_at == shanghai(2026, 10, 20)  # 24:00 Monday
    clocks_tick(shanghai(2026, 10, 20, 8, 0))
    assert clock(claim, K.MATERIALS_NOTICE).state == S.BREACHED
    # Registration sends the consolidated notice of missing materials: the duty is done, late.
    registered = shanghai(2026, 10, 20, 9, 0)
    act(registered, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    notice = clock(claim, K.MATERIALS_NOTICE)
    assert (notice.state, notice.stopped_at) == (S.MET_LATE, registered)


def test_materials_complete_at_the_report_fulfil_the_medical_notice(world: dict[str, Any]) -> None:
    definition(line="health", steps=[])  # nothing required
    health = factories.policy(holder=world["holder"], line="health")
    claim = submit(world, policy=health, loss_type="outpatient", claimed_amount="1200")
    assert (clock(claim, K.MATERIALS_NOTICE).state, ClaimProcess.objects.get(claim=claim).documents_complete) == (
        S.MET,
        True,
    )


def _paid(world: dict[str, Any], claim: Claim, at: dt.datetime) -> dt.datetime:
    to_decision(world, claim, at)
    act(at + 3 * H, cs.claim_approve, actor=world["reviewer"], claim_id=claim.pk)
    act(
        at + 4 * H,
        cs.claim_request_payment,
        actor=world["handler"],
        claim_id=claim.pk,
        payee_name="张伟",
        bank_account="6222020200112233445",
    )
    act(at + 5 * H, cs.claim_confirm_payment, actor=world["supervisor"], claim_id=claim.pk)
    return at + 5 * H


def test_callback_after_payment_runs_on_after_closure_and_stops_when_recorded(world: dict[str, Any]) -> None:
    definition()
    claim = submit(world)
    paid = _paid(world, claim, T0 + D)
    callback = clock(claim, K.CALLBACK)
    assert callback.due_at == add_working_days(paid, 15)[0]
    act(paid + H, cs.claim_close, actor=world["handler"], claim_id=claim.pk)
    assert clock(claim, K.CALLBACK).state == S.RUNNING
    clocks_tick(callback.due_at + H)  # a closed claim: the job's breach pass still sees it
    assert clock(claim, K.CALLBACK).state == S.BREACHED
    assert StaffAlert.objects.filter(clock=callback, kind=AlertKind.BREACH).count() == 1
    callback_record(actor=world["handler"], claim_id=claim.pk, note="客户满意", now=callback.due_at + 2 * H)
    assert clock(claim, K.CALLBACK).state == S.MET_LATE
    assert ClaimEvent.objects.filter(claim=claim, kind="callback").count() == 1
    assert AuditEntry.objects.filter(action="claim.callback").count() == 1


def test_callback_needs_a_payment_and_a_staff_role(world: dict[str, Any]) -> None:
    from claimwise.core.errors import IllegalTransition, PermissionDenied

    claim = submit(world)
    with pytest.raises(IllegalTransition):
        callback_record(actor=world["handler"], claim_id=claim.pk)
    with pytest.raises(PermissionDenied):
        callback_record(actor=world["reviewer"], claim_id=claim.pk)


# --- step clocks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pause", [True, False])
def test_step_clocks_follow_the_steps_and_pause_per_definition(world: dict[str, Any], pause: bool) -> None:
    definition(pause_on_documents=pause)
    claim = submit(world)
    report = clock(claim, K.STEP, "report")
    assert report.due_at == T0 + 24 * H and report.warn_at == T0 + 18 * H
    registered = T0 + 30 * H
    act(registered, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    assert clock(claim, K.STEP, "report").state == S.MET_LATE
    survey = clock(claim, K.STEP, "survey")
    assert survey.due_at == add_working_days(registered, 3)[0]
    asked = registered + D
    act(asked, cs.claim_request_documents, actor=world["handler"], claim_id=claim.pk, items=["police_report"])
    process = ClaimProcess.objects.get(claim=claim)
    assert process.step_key == "survey" and process.completed_steps == ["report"]
    survey = clock(claim, K.STEP, "survey")
    assert survey.state == (S.PAUSED if pause else S.RUNNING)
    act(asked + 5 * D, cs.claim_resume, actor=world["handler"], claim_id=claim.pk)
    survey = clock(claim, K.STEP, "survey")
    expected_start = registered + (5 * D if pause else dt.timedelta(0))
    assert survey.due_at == add_working_days(expected_start, 3)[0]
    act(asked + 5 * D + H, cs.claim_assess, actor=world["handler"], claim_id=claim.pk)
    assert clock(claim, K.STEP, "survey").stopped_at == asked + 5 * D + H
    assert clock(claim, K.STEP, "assess").state == S.RUNNING
    assert ClaimProcess.objects.get(claim=claim).completed_steps == ["report", "survey"]


def test_step_warning_goes_to_the_step_role_when_nobody_owns_the_claim(world: dict[str, Any]) -> None:
    definition()
    claim = submit(world)
    clocks_tick(T0 + 19 * H)
    alert = StaffAlert.objects.get(claim=claim, kind=AlertKind.WARNING)
    assert alert.recipient is None and alert.recipient_role == Role.HANDLER
    clocks_tick(T0 + 25 * H)
    escalation = StaffAlert.objects.get(claim=claim, kind=AlertKind.ESCALATION)
    assert escalation.recipient_role == Role.SUPERVISOR and escalation.clock == clock(claim, K.STEP, "report")


# --- batches, calendar changes, queries, display ----------------------------------------------------


def test_recompute_all_writes_only_changes_and_follows_calendar_overrides(world: dict[str, Any]) -> None:
    definition()
    claims = [submit(world, T0 + n * H) for n in range(3)]
    to_assessment(world, claims[0], T0 + D)
    now = T0 + 2 * D
    first = clocks_recompute_all(now, batch_size=2)
    assert first.claims == 3 and first.batches == 2
    assert clocks_recompute_all(now, batch_size=2).written == 0
    assess = clock(claims[0], K.STEP, "assess")
    old_due = assess.due_at
    # The operator enters a day off inside the step's period: its due time moves a day.
    calendar_day_save(actor=None, instance=CalendarDay(date=calendar.last_day(old_due), is_workday=False, name="x"))
    result = clocks_tick(now)
    assert result.recompute.written >= 1
    assert clock(claims[0], K.STEP, "assess").due_at > old_due


def test_a_submit_costs_one_insert_for_all_its_clocks(world: dict[str, Any]) -> None:
    definition()
    submit(world)  # warm caches (line set-up, definition steps, calendar)
    with CaptureQueriesContext(connection) as ctx, frozen(T0):
        claim = factories.claim(actor=world["handler"], policy=world["policy"], incident_at=T0 - H)
    ours = [q["sql"] for q in ctx.captured_queries if "process_" in q["sql"]]
    # The process row (inserted once, with its next deadline) and one bulk insert of the clocks.
    assert len(ours) == 2, ours
    # The whole submit (staff, no idempotency key): PostgreSQL takes the claim id first and links the
    # audit chain in one statement, SQLite needs two more (see tests/claims/test_fnol_response.py).
    # Link analysis adds two: the claim's link index entries and its rings (decision 23).
    total = 12 if connection.vendor == "postgresql" else 14
    assert len(ctx.captured_queries) == total, [q["sql"] for q in ctx.captured_queries]
    assert ClaimClock.objects.filter(claim=claim).count() == 5
    assert ClaimProcess.objects.get(claim=claim).next_due_kind == K.STEP


def test_clock_views_label_remaining_time(world: dict[str, Any]) -> None:
    definition()
    claim = submit(world)
    views = {v.clock.kind + v.clock.step_key: v for v in claim_clock_views(claim, T0 + 2 * H)}
    report = views["stepreport"]
    assert report.remaining == 22 * H and report.state == S.RUNNING and not report.statutory
    assert "22" in report.remaining_label
    assert views[K.DECISION_30D].statutory and views[K.DECISION_30D].due_day == dt.date(2026, 11, 11)
    assert views[K.LIMITATION].remaining is None
    overdue = {v.clock.kind + v.clock.step_key: v for v in claim_clock_views(claim, T0 + 30 * H)}["stepreport"]
    assert overdue.remaining is not None and overdue.remaining < dt.timedelta(0)
    ProcessStep.objects.filter(key="report").update(name="报案受理", name_en="Report and dispatch")
    for language, name in (("zh-hans", "报案受理"), ("en", "Report and dispatch")):
        with translation.override(language):
            labels = [v.label for v in claim_clock_views(claim, T0)]
        assert any(name in label for label in labels), labels  # steps by name, in the reader's language


def test_batch_and_single_claim_paths_plan_the_same_rows(world: dict[str, Any]) -> None:
    definition()
    claim = submit(world)
    to_assessment(world, claim, T0 + D)
    act(T0 + 2 * D, cs.claim_request_documents, actor=world["handler"], claim_id=claim.pk, items=["invoice"])
    fields = ("kind", "step_key", "started_at", "due_at", "warn_at", "paused_at", "paused_seconds", "state")
    synced = sorted(ClaimClock.objects.filter(claim=claim).values_list(*fields))
    ClaimClock.objects.filter(claim=claim).delete()
    result = clocks_recompute_all(T0 + 2 * D)
    assert result.written == len(synced)
    assert sorted(ClaimClock.objects.filter(claim=claim).values_list(*fields)) == synced


def test_further_per_batch_evaluations_see_every_open_claim(world: dict[str, Any]) -> None:
    from claimwise.process.recompute import PER_BATCH_EVALUATIONS, ClaimBatch

    claims = [submit(world, T0 + n * H) for n in range(3)]
    act(T0 + 5 * H, cs.claim_withdraw, actor=world["handler"], claim_id=claims[1].pk)
    seen: list[int] = []

    def count_claims(batch: ClaimBatch) -> int:
        seen.extend(f.claim_id for f in batch.facts)
        return 0

    result = clocks_recompute_all(T0 + D, batch_size=1, evaluations=[*PER_BATCH_EVALUATIONS, count_claims])
    assert seen == [claims[0].pk, claims[2].pk] and result.per_evaluation["count_claims"] == 0


@pytest.mark.django_db(transaction=True)
def test_worker_processes_split_the_claims_by_id_range(world: dict[str, Any]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("worker processes are for PostgreSQL (a forked SQLite connection is not safe)")
    definition()
    claims = [submit(world, T0 + n * H) for n in range(5)]
    ClaimClock.objects.filter(claim__in=claims[:2]).delete()
    result = clocks_recompute_all(T0 + D, batch_size=2, workers=2)
    assert result.claims == 5 and result.batches >= 3
    assert all(ClaimClock.objects.filter(claim=c, kind=K.DECISION_30D).count() == 1 for c in claims)
    assert clocks_recompute_all(T0 + D, workers=2).written == 0


def test_stopped_clocks_are_final_records_outside_a_full_pass(world: dict[str, Any]) -> None:
    definition()
    claim = submit(world)
    to_assessment(world, claim, T0 + D)
    now = T0 + 2 * D
    report = clock(claim, K.STEP, "report")
    ClaimClock.objects.filter(pk=report.pk).update(state=S.CANCELLED)  # as if older rules had judged it
    assert clocks_recompute_all(now).written == 0  # counted, not recompared
    assert clocks_recompute_all(now, full=True).written == 1
    assert clock(claim, K.STEP, "report").state == S.MET  # registered at 24 h: on time
    # A final clock missing from the table: the claim's count differs, so it is compared in full.
    ClaimClock.objects.filter(pk=report.pk).delete()
    assert clocks_recompute_all(now).written == 1
    assert clock(claim, K.STEP, "report").state == S.MET  # registered at 24 h: on time


def test_a_calendar_change_makes_the_next_tick_a_full_pass(world: dict[str, Any]) -> None:
    claim = submit(world)
    to_assessment(world, claim, T0 + D)
    clocks_tick(T0 + 2 * D)
    forced = clock(claim, K.FORCED_REGISTRATION)
    ClaimClock.objects.filter(pk=forced.pk).update(state=S.CANCELLED)
    assert clocks_tick(T0 + 2 * D).recompute.written == 0
    calendar_day_save(actor=None, instance=CalendarDay(date=dt.date(2027, 5, 6), is_workday=False, name="x"))
    assert clocks_tick(T0 + 2 * D).recompute.written == 1
    assert clock(claim, K.FORCED_REGISTRATION).state == S.MET
