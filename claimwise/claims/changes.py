"""Claim changes and the apps that follow them.

`claims.services` announces each change (submit, transition, upload, assignment) inside the
claim's transaction; later apps (the process: step, clocks, materials, straight-through review)
register here at start-up. Explicit calls from each service, not model signals: a bulk update can
never skip them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claimwise.accounts.models import User
    from claimwise.claims.models import Claim


@dataclass(frozen=True)
class ClaimChange:
    """What just happened to a claim, for the apps that react to it inside the same transaction."""

    claim: Claim
    kind: str  # "submitted", a lifecycle action, "document_added", "assigned"
    actor: User | None  # None: the system
    at: dt.datetime
    from_status: str
    to_status: str
    data: Mapping[str, Any]


ClaimListener = Callable[[ClaimChange], None]
# Later apps (the process: step, clocks, materials, straight-through review) register here at
# start-up. Explicit calls from each service, not model signals: a bulk update can never skip them.
# Trackers keep derived state (a claim's step, clocks, completeness) and run before the audit entry,
# whose chain lock every write waits for until commit; reactors may take further audited actions
# (a notice, an automatic approval) and run after it, so the chain shows cause before effect.
CLAIM_TRACKERS: list[ClaimListener] = []
CLAIM_REACTORS: list[ClaimListener] = []


def on_claim_change(*, track: bool = False) -> Callable[[ClaimListener], ClaimListener]:
    def register(listener: ClaimListener) -> ClaimListener:
        listeners = CLAIM_TRACKERS if track else CLAIM_REACTORS
        if listener not in listeners:
            listeners.append(listener)
        return listener

    return register


def track(change: ClaimChange) -> ClaimChange:
    for listener in CLAIM_TRACKERS:
        listener(change)
    return change


def react(change: ClaimChange) -> None:
    for listener in CLAIM_REACTORS:
        listener(change)
