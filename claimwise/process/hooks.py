"""The process follows every claim change, inside the claim's own transaction: the claim's step
(progress), materials completeness and the consolidated notice at registration, its deadline clocks,
and straight-through review. Importing this module also registers the process's guards (approval
authority, step checklists).

Order matters: the step moves first (a nested change made by materials or review then starts from
the new step), the clocks follow once materials may have changed their inputs, and review (which
may take further lifecycle actions, each running this listener again) comes last."""

from __future__ import annotations

from claimwise.claims.services import ClaimChange, on_claim_change
from claimwise.process import authority, stepchecks  # noqa: F401  (guards register on import)
from claimwise.process.assignment import assign_on_registration, customer_wrote
from claimwise.process.clocks import Transition, claim_facts, clocks_sync, plan_clocks, urgency_of
from claimwise.process.materials import materials_evaluate, notice_if_missing, resume_if_complete
from claimwise.process.models import queue_rank
from claimwise.process.progress import process_advance, process_for, process_new
from claimwise.process.review import auto_review, reviewing

REVIEW_TRIGGERS = frozenset({"submitted", "document_added", "register", "resume"})


@on_claim_change(track=True)
def claim_tracked(change: ClaimChange) -> None:
    """Derived state only (step, completeness, clocks): no audited action here."""
    claim = change.claim
    if change.kind == "submitted":
        # The claim starts under the line's current published definition and keeps that version.
        process = process_new(claim, change.at)
        claim.process = process
        history = [Transition(change.at, "submitted", change.to_status)]
        # The next deadline goes into the process row materials inserts; the clocks follow once
        # materials are evaluated (complete materials fulfil the medical materials notice), with
        # one insert and no update unless completeness moved the next deadline.
        plan = plan_clocks(claim_facts(claim, process, history), change.at)
        process.next_due_at, process.next_due_kind, process.urgency = urgency_of(plan, change.at)
        process.queue_rank = queue_rank(process.urgency, claim.status)
        materials_evaluate(claim, now=change.at, documents=(), process=process)
        clocks_sync(claim, change.at, process=process, history=history, existing=())
    else:
        process = process_for(claim, change.at)
        claim.process = process  # one object for materials and clocks
        if change.from_status != change.to_status:
            changed = process_advance(process, change.to_status, change.at)
            if changed:
                process.save(update_fields=[*changed, "updated_at"])
        if change.kind in ("document_added", "register"):
            materials_evaluate(claim, now=change.at, process=process)
        clocks_sync(claim, change.at, process=process)


@on_claim_change()
def claim_reacted(change: ClaimChange) -> None:
    """What the system does on its own after a change: resume a claim whose materials are now
    complete, send the consolidated notice at registration, straight-through review."""
    claim = change.claim
    process = claim.process
    if change.kind == "document_added":
        resume_if_complete(claim, process)
    elif change.kind == "register":
        if not reviewing():  # a claim going straight through needs nobody
            assign_on_registration(claim)
        notice_if_missing(claim, process)
    elif change.kind == "message" and change.data.get("from_customer"):
        customer_wrote(claim, change.data["message"], change.at)
    if change.kind in REVIEW_TRIGGERS:
        auto_review(claim, now=change.at)
