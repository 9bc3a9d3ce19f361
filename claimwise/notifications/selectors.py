"""Reads for notifications: a claim's messages with their delivery attempts (workbench, back office)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.claims.models import Claim
from claimwise.claims.selectors import claim_get
from claimwise.notifications.models import DeliveryAttempt, Message


def claim_notifications(claim_id: int, *, user: User) -> QuerySet[Message]:
    """The messages sent about a claim, newest first, each with its attempts (`attempt_log`, oldest
    first) in one extra query. Whoever may see the claim sees its messages (`claim_get` refuses the
    others); a customer only the messages addressed to them."""
    qs = messages_about(claim_get(claim_id, user=user))
    if user.role == Role.CUSTOMER:
        qs = qs.filter(recipient_customer__user=user)
    return qs


def messages_about(claim: Claim) -> QuerySet[Message]:
    """A claim the caller already read with `claim_get` (so may see): its messages, newest first,
    with their attempts."""
    return (
        Message.objects.filter(claim=claim)
        .select_related("recipient_user", "recipient_customer")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("at", "pk")))
        .order_by("-created_at", "-pk")
    )
