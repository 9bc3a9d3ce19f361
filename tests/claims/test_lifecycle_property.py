"""Property test of the claim lifecycle: random roles take random actions with random (often invalid)
parameters through the services. An independent oracle, written from the rules rather than from
`lifecycle.py`'s guard functions, predicts each outcome; after every step the claim, its timeline
and the audit trail must agree with the prediction and with the invariants of the lifecycle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.claims import services
from claimwise.claims.choices import DecisionOutcome, DocumentsJustification, PaymentStatus, ReasonCode
from claimwise.claims.lifecycle import TRANSITIONS, Action, ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent, Decision, Payment
from claimwise.core.audit import audit_verify
from claimwise.core.errors import (
    DomainError,
    ErrorCode,
    GuardFailed,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from claimwise.core.models import AuditEntry
from claimwise.process.authority import LEGACY_DECIDERS, assessor_id
from tests import factories

pytestmark = pytest.mark.django_db


S = ClaimStatus
ROLES = ["customer", "other_customer", "handler", "reviewer", "supervisor", "compliance", "auditor", "partner", "admin"]
# Scope (selectors.claim_scope): the other customer and a partner the claim was never shared with
# cannot see the claim at all; every staff role of the branch can.
BLIND = {"other_customer", "partner"}
CLAIM_KINDS = ["good", "good", "early", "uncovered", "big"]

AMOUNTS = [None, "0", "-5", "1.00", "5000.00", "7800.00", "8199.99", "99500.00", "99500.01", "250000.00"]
REASONS = [[], ["deductible_applied"], ["not_covered", "other"], ["no_such_code"]]
NOTES = ["", "   ", "Explained in words for the claimant."]
JUSTIFICATIONS = [None, DocumentsJustification.NEW_FACTS.value, "because"]
ITEMS = [[], ["invoice"], ["invoice", "damage_photo"]]
ACCOUNTS = ["", "123", "6222020200112233445", "6222 0202 0011 2233 445"]


def params_for(action: Action, *, valid: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Parameters for one service call; `valid` leans towards parameters the rules accept."""
    pick = st.sampled_from
    if action == Action.REQUEST_DOCUMENTS:
        if valid:
            return st.fixed_dictionaries({"items": pick(ITEMS[1:]), "justification": pick(JUSTIFICATIONS[1:2])})
        return st.fixed_dictionaries({"items": pick(ITEMS), "justification": pick(JUSTIFICATIONS)})
    # Decisions are where the money is: even "sensible" amounts probe the limit (99,500 is the most
    # a claim may get: limit 100,000 minus deductible 500), so runs test it often.
    if action == Action.SUBMIT_FOR_APPROVAL:
        return st.fixed_dictionaries(
            {"assessed_amount": pick(["1000.00", "7800.00", "99500.01"] if valid else AMOUNTS)}
        )
    if action == Action.APPROVE:
        return st.fixed_dictionaries({"amount": pick([None, "5000.00", "99500.00", "99500.01"] if valid else AMOUNTS)})
    if action == Action.APPROVE_PARTIAL:
        return st.fixed_dictionaries(
            {
                "amount": pick(["1.00", "5000.00", "99500.01"] if valid else [a for a in AMOUNTS if a is not None]),
                "reason_codes": pick(REASONS[1:3] if valid else REASONS),
            }
        )
    if action == Action.DENY:
        return st.fixed_dictionaries(
            {"reason_codes": pick(REASONS[1:3] if valid else REASONS), "note": pick(NOTES[2:] if valid else NOTES)}
        )
    if action == Action.REQUEST_PAYMENT:
        return st.fixed_dictionaries(
            {
                "payee_name": pick(["张伟"] if valid else ["", " ", "张伟"]),
                "bank_account": pick(ACCOUNTS[2:] if valid else ACCOUNTS),
            }
        )
    if action == Action.CONFIRM_PAYMENT:
        return st.fixed_dictionaries({"reference": pick(["", "BANK-REF-1"])})
    if action == Action.REOPEN:
        return st.fixed_dictionaries({"note": pick(NOTES[2:] if valid else NOTES)})
    return st.fixed_dictionaries({"note": pick(NOTES)})


SERVICE = {
    Action.REGISTER: services.claim_register,
    Action.INVESTIGATE: services.claim_investigate,
    Action.ASSESS: services.claim_assess,
    Action.REQUEST_DOCUMENTS: services.claim_request_documents,
    Action.RESUME: services.claim_resume,
    Action.SUBMIT_FOR_APPROVAL: services.claim_submit_for_approval,
    Action.APPROVE: services.claim_approve,
    Action.APPROVE_PARTIAL: services.claim_approve_partial,
    Action.DENY: services.claim_deny,
    Action.SEND_DENIAL_NOTICE: services.claim_send_denial_notice,
    Action.REQUEST_PAYMENT: services.claim_request_payment,
    Action.CONFIRM_PAYMENT: services.claim_confirm_payment,
    Action.CLOSE: services.claim_close,
    Action.WITHDRAW: services.claim_withdraw,
    Action.REOPEN: services.claim_reopen,
}
assert set(SERVICE) == set(TRANSITIONS) == set(Action), "a lifecycle action has no service or no test"


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def _blank(text: Any) -> bool:
    return not str(text or "").strip()


def _reasons_bad(codes: list[str]) -> bool:
    return not codes or any(c not in ReasonCode.values for c in codes)


class LifecycleMachine(RuleBasedStateMachine):
    """One claim per run; `world` (users of every role, policies) is set by the test. The state is
    read with a handful of queries per step so that many walks fit in a CI run."""

    world: dict[str, Any]

    # --- setup --------------------------------------------------------------------------------

    @initialize(kind=st.sampled_from(CLAIM_KINDS))
    def report(self, kind: str) -> None:
        w, now = self.world, timezone.now()
        if kind == "early":  # the incident happened ten days before the policy started
            claim = factories.claim(
                actor=w["customer"], policy=w["late_policy"], incident_at=now - dt.timedelta(days=20)
            )
        elif kind == "uncovered":  # fire is not a loss type the motor product covers
            claim = factories.claim(actor=w["customer"], policy=w["policy"], loss_type="fire")
        elif kind == "big":
            claim = factories.claim(actor=w["customer"], policy=w["policy"], claimed_amount="150000.00")
        else:
            claim = factories.claim(actor=w["customer"], policy=w["policy"])
        claim = Claim.objects.select_related("policy", "coverage").get(pk=claim.pk)
        self.claim_id = claim.pk
        policy, cover = claim.policy, claim.coverage
        self.in_period = policy.effective_from <= claim.incident_at <= policy.effective_to
        assert self.in_period == (kind != "early")
        assert (cover is None) == (kind == "uncovered")
        # What a claim may be approved for in total: limit minus deductible, never above the sum insured.
        self.ceiling = None if cover is None else min(cover.limit - cover.deductible, policy.sum_insured)
        # The state at the end of each step, verified then; the next step starts from it, since
        # nothing but this machine touches the claim.
        self.state = self._state()
        self.lifecycle_rules_hold(self.state)

    # --- rules --------------------------------------------------------------------------------

    @rule(data=st.data(), mode=st.sampled_from(["progress", "progress", "chaos"]))
    def act(self, data: st.DataObject, mode: str) -> None:
        """Two in three steps are an action the table allows now, by a role allowed to take it,
        with sensible parameters, so runs reach decisions, payments, closing and reopening. The
        rest are any action by anyone, with parameters valid or not."""
        if mode == "chaos":
            action = data.draw(st.sampled_from(list(Action)), label="action")
            role = data.draw(st.sampled_from(ROLES), label="role")
            self._step(action, role, data.draw(params_for(action, valid=False), label="params"))
            return
        claim = self.state["claim"]
        actions = [a for a, t in TRANSITIONS.items() if claim["status"] in t.sources and a != Action.WITHDRAW]
        if claim["documents_requests"] >= 2:  # enough document loops; move on
            actions = [a for a in actions if a != Action.REQUEST_DOCUMENTS] or actions
        if claim["status"] == S.PENDING_APPROVAL:  # denials always pass; give approvals more tries
            actions = [Action.APPROVE, Action.APPROVE, Action.APPROVE_PARTIAL, Action.APPROVE_PARTIAL, Action.DENY]
        action = data.draw(st.sampled_from(actions or [Action.WITHDRAW]), label="action")
        roles = [r for r in ROLES if r not in BLIND and self.world[r].role in TRANSITIONS[action].roles]
        if action in (Action.APPROVE, Action.APPROVE_PARTIAL):  # progress: someone with authority, four eyes
            assessor = assessor_id(Claim.objects.get(pk=self.claim_id))
            roles = [
                r for r in roles if self.world[r].role in LEGACY_DECIDERS and self.world[r].pk != assessor
            ] or roles
        role = data.draw(st.sampled_from(roles), label="role")
        self._step(action, role, data.draw(params_for(action, valid=True), label="params"))

    # --- the step and its checks --------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        """Everything a step may change: the claim row, its decisions and payments, and the sizes
        of the timeline and the audit trail (with the chain's head)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT COUNT(*) FROM claims_claimevent), (SELECT COUNT(*) FROM core_auditentry),"
                " (SELECT seq FROM core_audithead WHERE id = 1), (SELECT hash FROM core_audithead WHERE id = 1)"
            )
            events, audit, head_seq, head_hash = cursor.fetchone()
        return {
            "claim": Claim.objects.filter(pk=self.claim_id).values().get(),
            "decisions": list(Decision.objects.filter(claim_id=self.claim_id).order_by("decided_at", "pk").values()),
            "payments": list(Payment.objects.filter(claim_id=self.claim_id).order_by("pk").values()),
            "events": events,
            "audit": audit,
            "head": (head_seq, head_hash),
        }

    def _expected_error(self, state: dict[str, Any], action: Action, role: str, params: dict[str, Any]) -> Any:
        """The oracle: which error the rules demand, or None for success. Checks run in the order
        the service promises: input format, visibility, role, state, then the business guards."""
        if action == Action.REQUEST_PAYMENT:
            account = "".join(params["bank_account"].split())
            if account and not (account.isdigit() and 12 <= len(account) <= 30):
                return ValidationFailed
        if role in BLIND:
            return NotFound
        transition = TRANSITIONS[action]
        if self.world[role].role not in transition.roles:
            return PermissionDenied
        if state["claim"]["status"] not in transition.sources:
            return IllegalTransition
        if self._guard_fails(state, action, params):
            return GuardFailed
        if action in (Action.APPROVE, Action.APPROVE_PARTIAL):
            # Approval authority (process app), with no matrix configured: reviewers and supervisors
            # decide, handlers may not; and nobody approves a claim they assessed (four eyes).
            if self.world[role].role not in LEGACY_DECIDERS:
                return PermissionDenied
            if assessor_id(Claim.objects.get(pk=self.claim_id)) == self.world[role].pk:
                return GuardFailed
        return None

    def _guard_fails(self, state: dict[str, Any], action: Action, params: dict[str, Any]) -> bool:
        claim = state["claim"]
        current = state["decisions"][-1] if state["decisions"] else None
        if action == Action.REQUEST_DOCUMENTS:  # art. 22: one notice; a second needs a justification
            if not params["items"]:
                return True
            return claim["documents_requests"] > 0 and params["justification"] not in DocumentsJustification.values
        if action == Action.SUBMIT_FOR_APPROVAL:
            amount = _money(params["assessed_amount"])
            amount = claim["assessed_amount"] if amount is None else amount
            return amount is None or amount <= 0
        if action in (Action.APPROVE, Action.APPROVE_PARTIAL):
            amount = _money(params["amount"])
            if amount is None:
                amount = claim["assessed_amount"] or claim["claimed_amount"]
            if self.ceiling is None or not self.in_period:
                return True
            # A decision is the claim's total: within the ceiling and not below what was paid already.
            if amount <= 0 or amount > self.ceiling or amount < claim["paid_amount"]:
                return True
            if action == Action.APPROVE_PARTIAL:
                return amount >= claim["claimed_amount"] or _reasons_bad(params["reason_codes"])
            return False
        if action == Action.DENY:  # art. 24: coded reasons and words for the notice
            return _reasons_bad(params["reason_codes"]) or _blank(params["note"])
        if action == Action.SEND_DENIAL_NOTICE:
            return current is not None and current["notice_sent_at"] is not None
        if action == Action.REQUEST_PAYMENT:
            if current is None or current["outcome"] == DecisionOutcome.DENY:
                return True
            return _blank(params["payee_name"]) or not "".join(params["bank_account"].split())
        if action == Action.CONFIRM_PAYMENT:
            return not any(p["status"] == PaymentStatus.PENDING for p in state["payments"])
        if action == Action.CLOSE:  # art. 24: no close of a denial before its notice went out
            return claim["status"] == S.DENIED and (current is None or current["notice_sent_at"] is None)
        if action == Action.REOPEN:
            return _blank(params["note"])
        return False

    def _step(self, action: Action, role: str, params: dict[str, Any]) -> None:
        before = self.state
        old_status = before["claim"]["status"]
        expected = self._expected_error(before, action, role, params)
        user = self.world[role]
        try:
            SERVICE[action](actor=user, claim_id=self.claim_id, **params)
        except DomainError as exc:
            assert expected is not None, f"{action} by {role} {params} from {old_status} refused: {exc.code} {exc}"
            assert isinstance(exc, expected), f"{action} by {role} from {old_status}: {exc!r}, expected {expected}"
            assert exc.code in ErrorCode and 400 <= exc.status < 500
            if isinstance(exc, IllegalTransition | GuardFailed):
                assert exc.status == 409
            after = self._state()
            assert after == before, f"refused {action} by {role} changed something"
            self.state = after
            return
        assert expected is None, f"{action} by {role} {params} from {old_status} was allowed; expected {expected}"

        after = self.state = self._state()
        claim = after["claim"]
        transition = TRANSITIONS[action]
        assert old_status in transition.sources and user.role in transition.roles
        target = transition.target or S(before["claim"]["resume_status"])
        assert claim["status"] == target
        assert claim["version"] == before["claim"]["version"] + 1
        assert after["events"] == before["events"] + 1, "a change writes exactly one timeline event"
        assert after["audit"] == before["audit"] + 1, "a change writes exactly one audit entry"
        written = ClaimEvent.objects.order_by("-pk").first()
        assert (written.claim_id, written.kind, written.actor_id) == (self.claim_id, action.value, user.pk)
        assert (written.from_status, written.to_status) == (old_status, target)
        entry = AuditEntry.objects.order_by("-seq").first()
        assert (entry.seq, entry.prev_hash) == (before["head"][0] + 1, before["head"][1])
        assert (entry.seq, entry.hash) == after["head"]
        assert (entry.action, entry.actor_id, entry.object_type, entry.object_id) == (
            f"claim.{action.value}",
            user.pk,
            "claims.claim",
            str(self.claim_id),
        )
        assert entry.before["status"] == old_status and entry.after["status"] == target
        self.lifecycle_rules_hold(after)

    # --- invariants (checked after every change; a refused step is proven to change nothing) ---

    def lifecycle_rules_hold(self, state: dict[str, Any]) -> None:
        claim, decisions, payments = state["claim"], state["decisions"], state["payments"]
        status = claim["status"]
        assert status in S.values
        current = decisions[-1] if decisions else None
        paid = [p for p in payments if p["status"] == PaymentStatus.PAID]
        pending = [p for p in payments if p["status"] == PaymentStatus.PENDING]
        granted = [d for d in decisions if d["outcome"] != DecisionOutcome.DENY]

        if self.ceiling is None or not self.in_period:
            assert not granted, "an uncovered or out-of-period claim can only be denied"
        for d in granted:  # every approval is a total for the claim within limit minus deductible
            assert Decimal(0) < d["amount"] <= self.ceiling
            if d["outcome"] == DecisionOutcome.PARTIAL:
                assert d["amount"] < claim["claimed_amount"] and d["reason_codes"]
        for d in decisions:
            if d["outcome"] == DecisionOutcome.DENY:
                assert d["reason_codes"] and d["note"].strip() and d["amount"] == 0
        assert claim["paid_amount"] == sum((p["amount"] for p in paid), Decimal(0))
        assert (status == S.PAYMENT_PENDING) == bool(pending) and len(pending) <= 1
        if status in (S.APPROVED, S.PARTIALLY_APPROVED, S.PAYMENT_PENDING, S.PAID):
            assert current is not None and current["outcome"] != DecisionOutcome.DENY
            assert claim["approved_amount"] == current["amount"]
        if status == S.APPROVED:
            assert current["outcome"] == DecisionOutcome.APPROVE
        if status == S.PARTIALLY_APPROVED:
            assert current["outcome"] == DecisionOutcome.PARTIAL
        if status == S.PAID:
            assert paid and paid[-1]["decision_id"] == current["id"], "no PAID without a paid payment"
            assert claim["paid_amount"] == current["amount"], "paid in total what was approved in total"
        if status == S.DENIED:
            assert current is not None and current["outcome"] == DecisionOutcome.DENY
        if status in (S.CLOSED, S.WITHDRAWN):
            assert claim["closed_at"] is not None and claim["reserve"] == 0
        # The timeline replays to the current status, and every close had its reason to happen.
        events = list(
            ClaimEvent.objects.filter(claim_id=self.claim_id)
            .order_by("at", "pk")
            .values_list("kind", "from_status", "to_status")
        )
        assert events[0][0] == "submitted"
        replay = S.REPORTED
        for kind, frm, to in events[1:]:
            assert frm == replay, f"event {kind} starts from {frm}, the claim was {replay}"
            replay = to
        assert replay == status
        if status == S.CLOSED:
            closed_from = events[-1][1]
            assert events[-1][0] == Action.CLOSE and closed_from in (S.PAID, S.DENIED)
            if closed_from == S.DENIED:  # no close of a denial before the notice (art. 24)
                assert current["outcome"] == DecisionOutcome.DENY and current["notice_sent_at"] is not None
            else:  # no close before payment
                assert paid and paid[-1]["decision_id"] == current["id"]


def test_lifecycle_random_walks(world: dict[str, Any]) -> None:
    # The walks check the lifecycle's own events; automatic assignment on registration (a second,
    # separate change) has its own tests in tests/process/test_assignment.py.
    User.objects.filter(role=Role.HANDLER).update(is_available=False)
    w = dict(world)
    w["late_policy"] = factories.policy_from(holder=world["holder"], starts=timezone.now() - dt.timedelta(days=10))

    class Machine(LifecycleMachine):
        world = w

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    result = audit_verify()
    assert result.ok, result
    assert result.checked == AuditEntry.objects.count()
    # The walks must have gone somewhere: the whole main flow, both ways out and a reopening.
    reached = set(ClaimEvent.objects.values_list("to_status", flat=True))
    kinds = set(ClaimEvent.objects.values_list("kind", flat=True))
    main_flow = {S.REGISTERED, S.ASSESSMENT, S.AWAITING_DOCUMENTS, S.PENDING_APPROVAL, S.APPROVED, S.DENIED}
    main_flow |= {S.PAYMENT_PENDING, S.PAID, S.CLOSED}
    assert main_flow <= reached, main_flow - reached
    assert {Action.REOPEN.value, Action.SEND_DENIAL_NOTICE.value} <= kinds


def _pay(world: dict[str, Any], claim_id: int, amount: str) -> None:
    """From pending approval: approve `amount`, pay it and close."""
    services.claim_approve(actor=world["reviewer"], claim_id=claim_id, amount=amount)
    services.claim_request_payment(
        actor=world["handler"], claim_id=claim_id, payee_name="张伟", bank_account="6222020200112233445"
    )
    services.claim_confirm_payment(actor=world["supervisor"], claim_id=claim_id)
    services.claim_close(actor=world["handler"], claim_id=claim_id)


def _reassess(world: dict[str, Any], claim_id: int, amount: str) -> None:
    """Reopen a closed claim and bring it back to pending approval with a new assessed total."""
    services.claim_reopen(actor=world["supervisor"], claim_id=claim_id, note="More invoices arrived")
    services.claim_assess(actor=world["handler"], claim_id=claim_id)
    services.claim_submit_for_approval(actor=world["handler"], claim_id=claim_id, assessed_amount=amount)


def test_reopened_claim_is_approved_and_paid_as_a_total(world: dict[str, Any]) -> None:
    """Found by the walk above: a decision is the claim's total. A reopened claim paid 60,000 may be
    approved for 90,000 in total (the limit minus deductible is 99,500) and then pays the 30,000
    difference; approving less than was already paid is refused instead of 'paying' 0.00."""
    claim = factories.claim(actor=world["customer"], policy=world["policy"], claimed_amount="90000.00")
    for service in (services.claim_register, services.claim_assess):
        service(actor=world["handler"], claim_id=claim.pk)
    services.claim_submit_for_approval(actor=world["handler"], claim_id=claim.pk, assessed_amount="60000.00")
    _pay(world, claim.pk, "60000.00")

    _reassess(world, claim.pk, "90000.00")
    with pytest.raises(GuardFailed):
        services.claim_approve(actor=world["reviewer"], claim_id=claim.pk, amount="50000.00")
    _pay(world, claim.pk, "90000.00")
    claim.refresh_from_db()
    assert claim.status == S.CLOSED and claim.paid_amount == Decimal("90000.00")
    assert list(claim.payments.order_by("pk").values_list("amount", flat=True)) == [
        Decimal("60000.00"),
        Decimal("30000.00"),
    ]

    _reassess(world, claim.pk, "99500.01")
    with pytest.raises(GuardFailed):
        services.claim_approve(actor=world["reviewer"], claim_id=claim.pk)
    assert audit_verify().ok
