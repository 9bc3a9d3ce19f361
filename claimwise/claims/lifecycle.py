"""The claim lifecycle, declared once (P2, P4).

Every status change is one row of TRANSITIONS: the states it may start from, where it goes, the
roles allowed to take it and the guards that must hold. `claims.services` is the only caller, and
always under a row lock; nothing else assigns `Claim.status`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claimwise.accounts.choices import Role
from claimwise.claims.choices import DecisionOutcome, DocumentsJustification, ReasonCode

if TYPE_CHECKING:
    from claimwise.claims.models import Claim


class ClaimStatus(models.TextChoices):
    REPORTED = "reported", gettext_lazy("Reported")
    REGISTERED = "registered", gettext_lazy("Registered")
    INVESTIGATION = "investigation", gettext_lazy("Under investigation")
    ASSESSMENT = "assessment", gettext_lazy("Assessment")
    AWAITING_DOCUMENTS = "awaiting_documents", gettext_lazy("Awaiting documents")
    PENDING_APPROVAL = "pending_approval", gettext_lazy("Pending approval")
    APPROVED = "approved", gettext_lazy("Approved")
    PARTIALLY_APPROVED = "partially_approved", gettext_lazy("Partially approved")
    DENIED = "denied", gettext_lazy("Denied")
    PAYMENT_PENDING = "payment_pending", gettext_lazy("Payment pending")
    PAID = "paid", gettext_lazy("Paid")
    CLOSED = "closed", gettext_lazy("Closed")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn")


class Action(models.TextChoices):
    REGISTER = "register", gettext_lazy("Register")
    INVESTIGATE = "investigate", gettext_lazy("Start investigation")
    ASSESS = "assess", gettext_lazy("Start assessment")
    REQUEST_DOCUMENTS = "request_documents", gettext_lazy("Request documents")
    RESUME = "resume", gettext_lazy("Documents received: resume handling")
    SUBMIT_FOR_APPROVAL = "submit_for_approval", gettext_lazy("Submit for approval")
    APPROVE = "approve", gettext_lazy("Approve")
    APPROVE_PARTIAL = "approve_partial", gettext_lazy("Approve in part")
    DENY = "deny", gettext_lazy("Deny")
    SEND_DENIAL_NOTICE = "send_denial_notice", gettext_lazy("Send denial notice")
    REQUEST_PAYMENT = "request_payment", gettext_lazy("Request payment")
    CONFIRM_PAYMENT = "confirm_payment", gettext_lazy("Confirm payment")
    CLOSE = "close", gettext_lazy("Close")
    WITHDRAW = "withdraw", gettext_lazy("Withdraw")
    REOPEN = "reopen", gettext_lazy("Reopen")


S = ClaimStatus
OPEN_WORK = frozenset({S.REGISTERED, S.INVESTIGATION, S.ASSESSMENT})
BEFORE_DECISION = frozenset(
    {S.REPORTED, S.REGISTERED, S.INVESTIGATION, S.ASSESSMENT, S.AWAITING_DOCUMENTS, S.PENDING_APPROVAL}
)
HANDLING = frozenset({Role.HANDLER, Role.SUPERVISOR})
DECIDING = frozenset({Role.REVIEWER, Role.SUPERVISOR})
# Handlers approve only within an approval authority (the process app's matrix), never a claim
# they assessed; without a matrix only reviewers and supervisors decide.
APPROVING = DECIDING | {Role.HANDLER}

Params = Mapping[str, Any]
Guard = Callable[["Claim", Params], str | None]


# --- guards: pure checks that return a translated reason when the rule says no ----------------


def _amount(params: Params) -> Decimal | None:
    value = params.get("amount")
    return None if value is None else Decimal(value)


def needs_coverage(claim: Claim, params: Params) -> str | None:
    if claim.coverage_id is None:
        return _("The policy has no coverage for this loss type; the claim can only be denied.")
    return None


def incident_within_policy_period(claim: Claim, params: Params) -> str | None:
    policy = claim.policy
    if not policy.effective_from <= claim.incident_at <= policy.effective_to:
        return _("The incident happened outside the policy period; the claim can only be denied.")
    return None


def amount_positive(claim: Claim, params: Params) -> str | None:
    amount = _amount(params)
    if amount is None or amount <= 0:
        return _("Give an amount above zero.")
    return None


def amount_within_limit(claim: Claim, params: Params) -> str | None:
    """Approved in total on this claim ≤ coverage limit − deductible, and ≤ the sum insured.

    A decision's amount is the claim's total (a reopened claim is re-assessed in full and payment
    pays the decision minus what was already paid), so earlier decisions are not added to it; and a
    new decision cannot go below what was already paid (recovering money is not a payment)."""
    amount = _amount(params)
    coverage = claim.coverage
    if amount is None or coverage is None:
        return None
    ceiling = min(coverage.limit - coverage.deductible, claim.policy.sum_insured)
    if amount > ceiling:
        return _("The amount exceeds what the coverage allows (limit minus deductible): at most %(max)s.") % {
            "max": max(ceiling, Decimal(0))
        }
    if amount < claim.paid_amount:
        return _("%(paid)s was already paid on this claim; the approved total cannot be lower.") % {
            "paid": claim.paid_amount
        }
    return None


def partial_below_claimed(claim: Claim, params: Params) -> str | None:
    amount = _amount(params)
    if amount is not None and amount >= claim.claimed_amount:
        return _("A partial approval must be below the claimed amount; use “Approve” instead.")
    return None


def reasons_given(claim: Claim, params: Params) -> str | None:
    codes = params.get("reason_codes") or []
    if not codes:
        return _("Give at least one reason code.")
    unknown = [c for c in codes if c not in ReasonCode.values]
    if unknown:
        return _("Unknown reason code: %(codes)s.") % {"codes": ", ".join(map(str, unknown))}
    return None


def denial_explained(claim: Claim, params: Params) -> str | None:
    """Insurance Law art. 24: the denial notice states its reasons."""
    if not str(params.get("note") or "").strip():
        return _("State the reasons for the denial; they go into the denial notice.")
    return None


def documents_listed(claim: Claim, params: Params) -> str | None:
    """Insurance Law art. 22: one consolidated notice of everything missing; a second request
    needs a justification code."""
    if not params.get("items"):
        return _("List every missing document in one request.")
    if claim.documents_requests > 0:
        justification = params.get("justification")
        if justification not in DocumentsJustification.values:
            return _(
                "Documents were already requested once. A further request needs a justification code "
                "(Insurance Law art. 22)."
            )
    return None


def assessed_amount_set(claim: Claim, params: Params) -> str | None:
    amount = _amount(params) if params.get("amount") is not None else claim.assessed_amount
    if amount is None or amount <= 0:
        return _("Record the assessed amount before submitting for approval.")
    return None


def approved_decision_open(claim: Claim, params: Params) -> str | None:
    decision = claim.current_decision()
    if decision is None or decision.outcome == DecisionOutcome.DENY:
        return _("There is no approved amount to pay.")
    if not params.get("payee_name") or not params.get("bank_account"):
        return _("Give the payee and the bank account.")
    return None


def payment_pending_exists(claim: Claim, params: Params) -> str | None:
    if claim.pending_payment() is None:
        return _("There is no pending payment to confirm.")
    return None


def close_allowed(claim: Claim, params: Params) -> str | None:
    """No close before payment, or before the denial notice went out (art. 24)."""
    if claim.status == S.DENIED:
        decision = claim.current_decision()
        if decision is None or decision.notice_sent_at is None:
            return _("Send the denial notice before closing the claim.")
    return None


def denial_notice_not_sent(claim: Claim, params: Params) -> str | None:
    decision = claim.current_decision()
    if decision is not None and decision.notice_sent_at is not None:
        return _("The denial notice has already been sent.")
    return None


def reason_text_given(claim: Claim, params: Params) -> str | None:
    if not str(params.get("note") or "").strip():
        return _("Give the reason in the note.")
    return None


# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[ClaimStatus]
    target: ClaimStatus | None  # None: back to the state the claim came from (after documents)
    roles: frozenset[Role]
    guards: tuple[Guard, ...] = ()


TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in [
        Transition(Action.REGISTER, frozenset({S.REPORTED}), S.REGISTERED, HANDLING),
        Transition(Action.INVESTIGATE, frozenset({S.REGISTERED}), S.INVESTIGATION, HANDLING),
        Transition(Action.ASSESS, frozenset({S.REGISTERED, S.INVESTIGATION}), S.ASSESSMENT, HANDLING),
        Transition(Action.REQUEST_DOCUMENTS, OPEN_WORK, S.AWAITING_DOCUMENTS, HANDLING, (documents_listed,)),
        Transition(Action.RESUME, frozenset({S.AWAITING_DOCUMENTS}), None, HANDLING),
        Transition(
            Action.SUBMIT_FOR_APPROVAL, frozenset({S.ASSESSMENT}), S.PENDING_APPROVAL, HANDLING, (assessed_amount_set,)
        ),
        Transition(
            Action.APPROVE,
            frozenset({S.PENDING_APPROVAL}),
            S.APPROVED,
            APPROVING,
            (needs_coverage, incident_within_policy_period, amount_positive, amount_within_limit),
        ),
        Transition(
            Action.APPROVE_PARTIAL,
            frozenset({S.PENDING_APPROVAL}),
            S.PARTIALLY_APPROVED,
            APPROVING,
            (
                needs_coverage,
                incident_within_policy_period,
                amount_positive,
                amount_within_limit,
                partial_below_claimed,
                reasons_given,
            ),
        ),
        Transition(Action.DENY, frozenset({S.PENDING_APPROVAL}), S.DENIED, DECIDING, (reasons_given, denial_explained)),
        Transition(
            Action.SEND_DENIAL_NOTICE,
            frozenset({S.DENIED}),
            S.DENIED,
            frozenset({Role.HANDLER, Role.REVIEWER, Role.SUPERVISOR}),
            (denial_notice_not_sent,),
        ),
        Transition(
            Action.REQUEST_PAYMENT,
            frozenset({S.APPROVED, S.PARTIALLY_APPROVED}),
            S.PAYMENT_PENDING,
            HANDLING,
            (approved_decision_open,),
        ),
        Transition(
            Action.CONFIRM_PAYMENT,
            frozenset({S.PAYMENT_PENDING}),
            S.PAID,
            frozenset({Role.SUPERVISOR}),
            (payment_pending_exists,),
        ),
        Transition(Action.CLOSE, frozenset({S.PAID, S.DENIED}), S.CLOSED, HANDLING, (close_allowed,)),
        Transition(
            Action.WITHDRAW,
            BEFORE_DECISION,
            S.WITHDRAWN,
            frozenset({Role.CUSTOMER, Role.HANDLER, Role.SUPERVISOR}),
        ),
        Transition(
            Action.REOPEN, frozenset({S.CLOSED}), S.REGISTERED, frozenset({Role.SUPERVISOR}), (reason_text_given,)
        ),
    ]
}


def target_of(transition: Transition, claim: Claim) -> ClaimStatus:
    if transition.target is not None:
        return transition.target
    return ClaimStatus(claim.resume_status)


def allowed_actions(claim: Claim, role: str) -> list[Action]:
    """Actions this role could take now, guards aside (used to show the right buttons)."""
    return [a for a, t in TRANSITIONS.items() if claim.status in t.sources and role in t.roles]


# Guards that later apps add to an action (the process app's approval authority), run after the
# table's own. `params["actor"]` is the user taking the action (None: the system).
EXTRA_GUARDS: dict[Action, list[Guard]] = {}


def register_guard(actions: list[Action], guard: Guard) -> None:
    for action in actions:
        if guard not in EXTRA_GUARDS.setdefault(action, []):
            EXTRA_GUARDS[action].append(guard)


def first_failed_guard(transition: Transition, claim: Claim, params: Params) -> str | None:
    for guard in (*transition.guards, *EXTRA_GUARDS.get(transition.action, ())):
        problem = guard(claim, params)
        if problem:
            return problem
    return None
