"""Permission-checked reads of policies."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.core.errors import NotFound
from claimwise.policies.models import Customer, Policy


def policy_scope(user: User) -> Q:
    """Customers see policies they hold or are insured by; staff their branch and lines;
    partners none (they work on shared claims)."""
    if not user.is_active or user.role == Role.PARTNER:
        return Q(pk__in=[])
    if user.role == Role.CUSTOMER:
        return Q(holder__user_id=user.pk) | Q(insured_person__user_id=user.pk)
    scope = Q()
    if user.branch_id is not None:
        scope &= Q(branch_id=user.branch_id)
    if user.lines:
        scope &= Q(product__line__in=user.lines)
    return scope


def policy_list(*, user: User) -> QuerySet[Policy]:
    return (
        Policy.objects.filter(policy_scope(user))
        .select_related("product", "holder", "insured_person", "branch")
        .order_by("-effective_from", "pk")
    )


def policy_get_by_number(number: str, *, user: User) -> Policy:
    policy = policy_list(user=user).filter(number=number.strip()).first()
    if policy is None:
        raise NotFound()
    return policy


def mobile_in_use(phone: str, *, other_than: int) -> bool:
    """Whether another customer with an account has this mobile: customers sign in by mobile, so
    two accounts on one number would sign in to either."""
    return Customer.objects.filter(phone=phone, user__isnull=False).exclude(pk=other_than).exists()
