"""Automatic assignment on registration (H5, R3).

A registered claim without a handler goes to an available handler of its branch who works its line
of business: claims that need a skill (complex, bodily injury, large loss) to a specialist team with
that skill when there is one, the others to the regular teams; among those, the handler with the
fewest open claims (workload balance). Every assignment is an event and an audit entry
(`claims.services.claim_assign`); supervisors reassign by hand with a reason.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q
from django.utils import translation
from django.utils.translation import gettext as _

from claimwise.accounts.choices import Role, Skill
from claimwise.accounts.models import User
from claimwise.claims.choices import Complexity, LossType
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimMessage
from claimwise.claims.services import claim_assign
from claimwise.process.choices import AlertKind
from claimwise.process.listeners import alert_created
from claimwise.process.models import StaffAlert

LARGE_LOSS = Decimal("200000")
INJURY = frozenset({LossType.ACCIDENTAL_INJURY, LossType.DISABILITY, LossType.DEATH, LossType.THIRD_PARTY})
CLOSED = (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN)


def required_skills(claim: Claim) -> set[str]:
    skills: set[str] = set()
    if claim.complexity == Complexity.COMPLEX:
        skills.add(Skill.COMPLEX)
    if claim.loss_type in INJURY:
        skills.add(Skill.INJURY)
    if claim.claimed_amount >= LARGE_LOSS:
        skills.add(Skill.LARGE_LOSS)
    return skills


def choose_handler(claim: Claim) -> tuple[User | None, str]:
    """The handler the rules pick, and why (in words for the timeline)."""
    pool = [
        h
        for h in User.objects.filter(role=Role.HANDLER, is_active=True, is_available=True)
        .filter(Q(branch_id=claim.branch_id) | Q(branch__isnull=True))
        .select_related("team")
        .order_by("pk")
        if not h.lines or claim.line in h.lines
    ]
    if not pool:
        return None, ""
    need = required_skills(claim)
    specialists = [h for h in pool if h.team is not None and h.team.is_specialist and need <= set(h.team.skills)]
    if need and specialists:
        pool, why = (
            specialists,
            _("needs %(skills)s: specialist team") % {"skills": ", ".join(str(Skill(s).label) for s in sorted(need))},
        )
    else:
        regular = [h for h in pool if h.team is None or not h.team.is_specialist]
        pool, why = (regular or pool), _("regular team")
    open_claims = dict(
        Claim.objects.filter(handler__in=pool)
        .exclude(status__in=CLOSED)
        .values_list("handler")
        .annotate(n=Count("pk"))
        .values_list("handler", "n")
    )
    chosen = min(pool, key=lambda h: (open_claims.get(h.pk, 0), h.pk))
    return chosen, _("%(why)s; %(n)s open claims, the fewest among %(pool)s available handlers") % {
        "why": why,
        "n": open_claims.get(chosen.pk, 0),
        "pool": len(pool),
    }


def assign_on_registration(claim: Claim) -> User | None:
    if claim.handler_id is not None:
        return None
    # The system writes in the company's language, whoever's action led here.
    with translation.override(settings.LANGUAGE_CODE):
        handler, why = choose_handler(claim)
        note = _("Assigned automatically: %(why)s.") % {"why": why}
    if handler is None:
        return None  # nobody available: the claim waits in the unassigned pool for a supervisor
    claim_assign(actor=None, claim_id=claim.pk, handler=handler, note=note)
    return handler


def customer_wrote(claim: Claim, message_id: int, at: dt.datetime) -> StaffAlert:
    """A customer's message reaches the claim's handler (or, with none, the handlers of the branch) on
    My work, and through the notification channels."""
    body = ClaimMessage.objects.filter(pk=message_id).values_list("body", flat=True).first() or ""
    with translation.override(settings.LANGUAGE_CODE):
        text = _("Claim %(number)s: the customer wrote “%(text)s”") % {
            "number": claim.number,
            "text": " ".join(body.split())[:120],
        }
    alert = StaffAlert.objects.create(
        claim=claim,
        kind=AlertKind.MESSAGE,
        recipient_id=claim.handler_id,
        recipient_role="" if claim.handler_id else Role.HANDLER,
        message=text[:300],
        created_at=at,
    )
    return alert_created(alert)
