"""The process follows every claim change, inside the claim's own transaction: materials
completeness, the consolidated notice at registration, and straight-through review.
Importing this module also registers the process's guards (approval authority, step checklists)."""

from __future__ import annotations

from claimwise.claims.services import ClaimChange, on_claim_change
from claimwise.process import authority, stepchecks  # noqa: F401  (guards register on import)
from claimwise.process.materials import on_registered, on_submitted_or_uploaded
from claimwise.process.models import ClaimProcess
from claimwise.process.review import auto_review
from claimwise.process.setup import line_setup

REVIEW_TRIGGERS = frozenset({"submitted", "document_added", "register", "resume"})


@on_claim_change
def claim_changed(change: ClaimChange) -> None:
    claim = change.claim
    if change.kind == "submitted":
        # The claim starts under the line's current published definition and keeps that version.
        process = ClaimProcess(claim=claim, definition=line_setup(claim.line).definition_for(claim.loss_type))
        claim.process = process
        on_submitted_or_uploaded(claim, now=change.at, documents=(), process=process)
    elif change.kind == "document_added":
        on_submitted_or_uploaded(claim, now=change.at)
    elif change.kind == "register":
        on_registered(claim, now=change.at)
    if change.kind in REVIEW_TRIGGERS:
        auto_review(claim, now=change.at)
