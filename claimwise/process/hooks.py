"""The process reacts to every claim change inside the claim's own transaction: the claim's step
moves (progress) and its deadline clocks follow (clocks). Registered at start-up (apps.ready)."""

from __future__ import annotations

from claimwise.claims.services import ClaimChange, on_claim_change
from claimwise.process.clocks import Transition, clocks_sync
from claimwise.process.progress import process_advance, process_for, process_new


@on_claim_change
def track_claim(change: ClaimChange) -> None:
    claim = change.claim
    if change.kind == "submitted":
        # A new claim: no rows to read; the process row is inserted once, with its next deadline.
        process = process_new(claim, change.at)
        clocks_sync(
            claim,
            change.at,
            process=process,
            history=[Transition(change.at, "submitted", change.to_status)],
            existing=(),
        )
        return
    process = process_for(claim, change.at)
    if change.from_status != change.to_status:
        changed = process_advance(process, change.to_status, change.at)
        if changed:
            process.save(update_fields=[*changed, "updated_at"])
    clocks_sync(claim, change.at, process=process)
