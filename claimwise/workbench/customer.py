"""Customer 360 (T1): one claimant's policies, claims, payments and contacts on one page, within
what the reader may see. A handler reaches it from a claim in their scope; the history shows only
policies and claims their own scope allows, so the page never widens anyone's view."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from claimwise.accounts.choices import STAFF_ROLES
from claimwise.accounts.models import User
from claimwise.claims.models import Claim, ClaimEvent, ClaimMessage, Payment
from claimwise.claims.selectors import claim_queryset
from claimwise.core.errors import NotFound
from claimwise.policies.models import Customer, Policy
from claimwise.policies.selectors import policy_scope


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    policies: list[Policy]
    claims: list[Claim]
    payments: list[Payment]
    messages: list[ClaimEvent]  # what the customer was told (customer-visible events)
    conversation: list[ClaimMessage]  # messages with the customer across their claims, newest first
    claimed_total: Decimal
    paid_total: Decimal


def customer_360(*, user: User, customer_id: int, messages: int = 20) -> CustomerView:
    """NotFound unless the reader may see at least one of the customer's claims or policies."""
    if user.role not in STAFF_ROLES:
        raise NotFound()
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound()
    theirs = Q(claimant_id=customer_id) | Q(policy__holder_id=customer_id)
    claims = list(
        claim_queryset(user)
        .filter(theirs)
        .select_related("policy", "policy__product", "handler")
        .order_by("-reported_at", "-pk")
    )
    policies = list(
        Policy.objects.filter(policy_scope(user))
        .filter(Q(holder_id=customer_id) | Q(insured_person_id=customer_id))
        .select_related("product")
        .order_by("-effective_from", "pk")
    )
    if not claims and not policies:
        raise NotFound()
    ids = [c.pk for c in claims]
    payments = list(Payment.objects.filter(claim_id__in=ids).order_by("-requested_at", "-pk"))
    told = list(
        ClaimEvent.objects.filter(claim_id__in=ids, visible_to_customer=True)
        .select_related("claim")
        .order_by("-at", "-pk")[:messages]
    )
    conversation = list(
        ClaimMessage.objects.filter(claim_id__in=ids)
        .select_related("claim", "author")
        .order_by("-sent_at", "-pk")[:messages]
    )
    totals = Claim.objects.filter(pk__in=ids).aggregate(claimed=Sum("claimed_amount"), paid=Sum("paid_amount"))
    return CustomerView(
        customer,
        policies,
        claims,
        payments,
        told,
        conversation,
        totals["claimed"] or Decimal(0),
        totals["paid"] or Decimal(0),
    )
