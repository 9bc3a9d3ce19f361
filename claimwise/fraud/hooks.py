"""Claims are scored when they are reported and whenever their facts change (issue 6, item 1).

A tracker, not a reactor: trackers run before every reactor of the same change, so the process's
straight-through review (a reactor) reads the score of this change, not the previous one."""

from __future__ import annotations

from claimwise.accounts.choices import Role
from claimwise.claims.changes import ClaimChange, on_claim_change
from claimwise.fraud.investigations import case_auto_open
from claimwise.fraud.scoring import claim_score

# New document, amount changes (assessment submitted, reopened), report.
SCORE_TRIGGERS = frozenset({"submitted", "document_added", "submit_for_approval", "reopen"})


@on_claim_change(track=True)
def claim_scored(change: ClaimChange) -> None:
    if change.kind not in SCORE_TRIGGERS:
        return
    if change.kind == "submitted":
        # At report time nothing can have been uploaded yet, and the claim is shared only with the
        # reporting partner (FNOL): neither is read back.
        actor = change.actor
        partner = getattr(actor, "partner_id", None) if actor is not None and actor.role == Role.PARTNER else None
        partners = (partner,) if partner is not None else ()
        claim_score(change.claim, trigger=change.kind, at=change.at, documents=(), partners=partners)
    else:
        claim_score(change.claim, trigger=change.kind, at=change.at)


@on_claim_change()
def claim_investigated(change: ClaimChange) -> None:
    """A reactor, so the case's audit entry follows the change that scored the claim. Cheap below the
    threshold: it compares the score the tracker above just wrote on the claim."""
    if change.kind in SCORE_TRIGGERS:
        case_auto_open(change.claim)
