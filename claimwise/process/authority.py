"""Approval authority (P2): who may approve how much, and four eyes on every approval.

Limits come from `AuthorityLimit` rows by role and line of business (a row for one line wins over
the all-lines row). Above the highest limit of a line two different approvers are needed: the
first signs (`approval_sign`), the second approves. Nobody approves a claim they assessed. A fresh
installation without a matrix keeps the lifecycle's own rule: reviewers and supervisors decide.
Enforced inside the approval service, as a guard on the lifecycle's approve actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.claims.lifecycle import Action, ClaimStatus, register_guard
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.selectors import claim_get
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.errors import GuardFailed, IllegalTransition, PermissionDenied, ValidationFailed
from claimwise.core.money import to_money
from claimwise.process.models import ApprovalSignature
from claimwise.process.setup import line_setup

# Without a matrix the lifecycle's deciding roles approve without a ceiling.
LEGACY_DECIDERS = frozenset({Role.REVIEWER, Role.SUPERVISOR})


@dataclass(frozen=True)
class Authority:
    """What one user may do on one claim's approval, for the claim page and the guard."""

    limit: Decimal | None  # None: no ceiling (no matrix configured)
    may_approve: bool
    top_limit: Decimal | None
    assessor_id: int | None
    signatures: list[ApprovalSignature]

    def needs_two(self, amount: Decimal) -> bool:
        return self.top_limit is not None and amount > self.top_limit


def assessor_id(claim: Claim) -> int | None:
    """Who assessed: the person who last submitted the claim for approval."""
    return (
        ClaimEvent.objects.filter(claim_id=claim.pk, kind=Action.SUBMIT_FOR_APPROVAL)
        .order_by("-at", "-pk")
        .values_list("actor_id", flat=True)
        .first()
    )


def authority_for(user: User, claim: Claim) -> Authority:
    limits = line_setup(claim.line).limits
    signatures = list(
        ApprovalSignature.objects.filter(claim_id=claim.pk, signed_at__gte=claim.status_changed_at).select_related(
            "signed_by"
        )
    )
    if not limits:
        may = user.role in LEGACY_DECIDERS
        return Authority(None, may, None, assessor_id(claim), signatures)
    limit = limits.get(user.role)
    return Authority(limit, limit is not None, max(limits.values()), assessor_id(claim), signatures)


def authority_guard(claim: Claim, params: Any) -> str | None:
    """Authority at all, four eyes, the approver's ceiling, then the second approver above the top."""
    actor: User | None = params.get("actor")
    if actor is None:  # the system approves only through an active auto-review rule
        return None
    amount = params.get("amount")
    if amount is None:
        return None
    amount = Decimal(amount)
    authority = authority_for(actor, claim)
    if not authority.may_approve:
        raise PermissionDenied(_("Your role has no approval authority for this line of business."))
    if authority.assessor_id == actor.pk:
        return _("You assessed this claim; another person must approve it (four eyes).")
    if authority.limit is None or amount <= authority.limit:
        return None
    if authority.top_limit is not None and authority.limit < authority.top_limit and amount <= authority.top_limit:
        return _("Your approval authority is %(limit)s; %(amount)s needs an approver with a higher limit.") % {
            "limit": authority.limit,
            "amount": amount,
        }
    # Above every single approver's ceiling: two approvers with the highest authority.
    if authority.limit < (authority.top_limit or amount):
        return _("Amounts above %(top)s need two approvers with the highest authority.") % {"top": authority.top_limit}
    if not any(s.signed_by_id != actor.pk and s.amount == amount for s in authority.signatures):
        return _(
            "Amounts above %(top)s need two approvers: a first approver signs for %(amount)s, then a second one "
            "approves."
        ) % {"top": authority.top_limit, "amount": amount}
    return None


register_guard([Action.APPROVE, Action.APPROVE_PARTIAL], authority_guard)


@transaction.atomic
def approval_sign(*, actor: User, claim_id: int, amount: Decimal | str, note: str = "") -> ApprovalSignature:
    """The first of two approvals above the highest single ceiling."""
    claim = claim_get(claim_id, user=actor, for_update=True)
    if claim.status != ClaimStatus.PENDING_APPROVAL:
        raise IllegalTransition(_("Only a claim pending approval can be signed."))
    try:
        value = to_money(amount)
    except (TypeError, ValueError):
        raise ValidationFailed({"amount": _("Give an amount.")}) from None
    authority = authority_for(actor, claim)
    if not authority.may_approve:
        raise PermissionDenied(_("Your role has no approval authority for this line of business."))
    if authority.assessor_id == actor.pk:
        raise GuardFailed(_("You assessed this claim; another person must approve it (four eyes)."))
    if not authority.needs_two(value):
        raise GuardFailed(_("This amount needs one approver: approve it directly."))
    if authority.limit is not None and authority.limit < (authority.top_limit or value):
        raise GuardFailed(
            _("Amounts above %(top)s need two approvers with the highest authority.") % {"top": authority.top_limit}
        )
    if any(s.signed_by_id == actor.pk and s.amount == value for s in authority.signatures):
        raise GuardFailed(_("You already signed for this amount; a second approver must approve."))
    now = timezone.now()
    signature = ApprovalSignature.objects.create(
        claim=claim, signed_by=actor, amount=value, signed_at=now, note=note.strip()
    )
    ClaimEvent.objects.create(
        claim=claim,
        kind="approval_signed",
        at=now,
        actor=actor,
        from_status=claim.status,
        to_status=claim.status,
        note=note.strip(),
        data={"amount": str(value)},
        visible_to_customer=False,
    )
    audit_record(actor=actor, action="claim.approval_sign", obj=signature, after=snapshot(signature))
    return signature
