"""Claims are scored when they are reported and whenever their facts change (issue 6, item 1), and
their entities are linked to other claims' (issue 6, item 4).

The scoring is a tracker, not a reactor: trackers run before every reactor of the same change, so
the process's straight-through review (a reactor) reads the score of this change, not the previous
one. Ring alerts are audited writes, so they are raised by a reactor, after the change's audit entry
(cause before effect in the chain). A ring that forms or grows rescores its earlier claims after the
commit, in a job (`services.ring_claims_rescore`)."""

from __future__ import annotations

from claimwise.accounts.choices import Role
from claimwise.claims.changes import ClaimChange, on_claim_change
from claimwise.claims.models import Claim
from claimwise.fraud.investigations import case_auto_open
from claimwise.fraud.links import Partner, Ring, claim_entities, claim_partners, rings_of
from claimwise.fraud.scoring import claim_score
from claimwise.fraud.services import links_record, ring_alerts_raise

# New document, amount changes (assessment submitted, reopened), report, a new partner (the claim
# shared with a hospital or repair shop: a node of the link graph and the provider red flag's input).
SCORE_TRIGGERS = frozenset({"submitted", "document_added", "submit_for_approval", "reopen", "shared"})
_RINGS = "_fraud_rings"  # the rings found by the tracker, kept on the claim for the reactor


def _rings(claim: Claim, change: ClaimChange) -> list[Ring]:
    kept = claim.__dict__.get(_RINGS)
    if kept is not None and kept[0] == (change.kind, change.at):
        return list(kept[1])
    return rings_of(claim, claim_entities(claim))


@on_claim_change(track=True)
def claim_scored(change: ClaimChange) -> None:
    if change.kind not in SCORE_TRIGGERS:
        return
    claim = change.claim
    if change.kind == "submitted":
        # At report time nothing can have been uploaded yet, and the claim is shared only with the
        # reporting partner (FNOL): neither is read back. The same partners go into the link index
        # and into the provider red flag's facts.
        actor = change.actor
        partner = getattr(actor, "partner_id", None) if actor is not None and actor.role == Role.PARTNER else None
        partners = (partner,) if partner is not None else ()
        found = claim_entities(claim, documents=(), partners=tuple(Partner(p) for p in partners))
        links_record(claim=claim, found=found, new=True)
        rings = rings_of(claim, found)
        claim.__dict__[_RINGS] = ((change.kind, change.at), rings)
        claim_score(claim, trigger=change.kind, at=change.at, documents=(), partners=partners, rings=rings)
    else:
        found = claim_entities(claim, partners=claim_partners(claim.pk))
        links_record(claim=claim, found=found)
        rings = rings_of(claim, found)
        claim.__dict__[_RINGS] = ((change.kind, change.at), rings)
        claim_score(claim, trigger=change.kind, at=change.at, rings=rings)


@on_claim_change()
def claim_rings_alerted(change: ClaimChange) -> None:
    """Each ring the changed claim is in raises or updates its alert (system actor)."""
    if change.kind not in SCORE_TRIGGERS:
        return
    rings = _rings(change.claim, change)
    if rings:
        ring_alerts_raise(actor=None, claim=change.claim, rings=rings)


@on_claim_change()
def claim_investigated(change: ClaimChange) -> None:
    """A reactor, so the case's audit entry follows the change that scored the claim. Cheap below the
    threshold: it compares the score the tracker above just wrote on the claim."""
    if change.kind in SCORE_TRIGGERS:
        case_auto_open(change.claim)
