"""Reads of the fraud app, permission-checked: staff only, and a claim's risk only within the
reader's scope (a claim out of scope is not found, so ids reveal nothing)."""

from __future__ import annotations

from django.db.models import QuerySet

from claimwise.accounts.choices import STAFF_ROLES
from claimwise.accounts.models import User
from claimwise.claims.models import Claim
from claimwise.claims.selectors import claim_get
from claimwise.core.errors import PermissionDenied
from claimwise.fraud.models import FraudModel, RedFlagRule, RiskAssessment


def _staff(user: User) -> None:
    if user.role not in STAFF_ROLES:
        raise PermissionDenied()


def claim_risk(claim_id: int, *, user: User) -> tuple[Claim, RiskAssessment | None]:
    """A claim the user may see and its latest assessment (None while it was never scored). The scope
    first: out of scope is not found for anyone, so an id reveals nothing; in scope, staff only."""
    claim = claim_get(claim_id, user=user)
    _staff(user)
    return claim, RiskAssessment.objects.filter(claim=claim).order_by("-at", "-pk").first()


def model_list(*, user: User) -> QuerySet[FraudModel]:
    _staff(user)
    return FraudModel.objects.defer("artifact").select_related("trained_by").order_by("-version")


def rule_list(*, user: User) -> QuerySet[RedFlagRule]:
    _staff(user)
    return RedFlagRule.objects.order_by("position", "code")
