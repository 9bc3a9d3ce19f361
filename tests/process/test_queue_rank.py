"""The queues' stored order (`ClaimProcess.queue_rank`, decision 22) follows the urgency and the claim's
state on every path that writes them: the submit, a change, the periodic pass, the migration's backfill."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.apps import apps
from django.db import connection

from claimwise.claims import services as cs
from claimwise.process.choices import Urgency
from claimwise.process.models import QUEUE_RANK, ClaimProcess, queue_rank
from claimwise.process.progress import processes_bind_missing
from claimwise.process.recompute import clocks_recompute_all
from tests.process.factories import T0, D, H, act, definition, submit


def _stored(claim: Any) -> tuple[str, int | None]:
    p = ClaimProcess.objects.get(claim=claim)
    return p.urgency, p.queue_rank


def test_rank_of_each_urgency_and_none_off_the_queue() -> None:
    assert [queue_rank(u, "assessment") for u in (Urgency.BREACHED, Urgency.WARNING, Urgency.ON_TIME)] == [0, 1, 2]
    assert queue_rank(Urgency.NONE, "paid") == 3  # still work to do (callback, closing)
    assert queue_rank(Urgency.ON_TIME, "closed") is None and queue_rank(Urgency.NONE, "withdrawn") is None
    assert set(QUEUE_RANK) == set(Urgency.values)


def test_the_stored_rank_follows_urgency_and_the_claims_state(world: dict[str, Any]) -> None:
    definition()  # first step: 24 hours, warning at 75 %
    claim = submit(world)
    assert _stored(claim) == (Urgency.ON_TIME, 2)  # inserted with the process row at the report
    clocks_recompute_all(T0 + 20 * H)
    assert _stored(claim) == (Urgency.WARNING, 1)
    clocks_recompute_all(T0 + 30 * H)
    assert _stored(claim) == (Urgency.BREACHED, 0)
    # A change re-plans the claim: registered in time for its next step, on time again.
    act(T0 + 31 * H, cs.claim_register, actor=world["handler"], claim_id=claim.pk)
    urgency, rank = _stored(claim)
    assert rank == queue_rank(urgency, "registered")
    # Withdrawn: off every queue, whatever its clocks said.
    act(T0 + 32 * H, cs.claim_withdraw, actor=world["handler"], claim_id=claim.pk)
    assert _stored(claim) == (Urgency.NONE, None)
    assert clocks_recompute_all(T0 + 40 * H).claims == 0  # the periodic pass leaves it alone


def test_a_reopened_claim_returns_to_the_queue(world: dict[str, Any]) -> None:
    definition()
    claim = submit(world)
    handler = world["handler"]
    act(T0 + H, cs.claim_register, actor=handler, claim_id=claim.pk)
    act(T0 + 2 * H, cs.claim_assess, actor=handler, claim_id=claim.pk)
    act(T0 + 3 * H, cs.claim_submit_for_approval, actor=handler, claim_id=claim.pk, assessed_amount="8000")
    act(T0 + 4 * H, cs.claim_deny, actor=world["reviewer"], claim_id=claim.pk, reason_codes=["exclusion"], note="免责")
    act(T0 + 5 * H, cs.claim_send_denial_notice, actor=handler, claim_id=claim.pk)
    assert _stored(claim)[1] is not None  # denied: the notice and closing are still work
    act(T0 + 6 * H, cs.claim_close, actor=handler, claim_id=claim.pk)
    assert _stored(claim)[1] is None
    act(T0 + D, cs.claim_reopen, actor=world["supervisor"], claim_id=claim.pk, note="新证据")
    urgency, rank = _stored(claim)
    assert rank is not None and rank == queue_rank(urgency, "registered")


def test_the_periodic_pass_repairs_a_stale_rank_and_binds_missing_rows(world: dict[str, Any]) -> None:
    definition()
    stale, unbound = submit(world), submit(world)
    ClaimProcess.objects.filter(claim=stale).update(queue_rank=None)
    ClaimProcess.objects.filter(claim=unbound).delete()  # a claim from before the process app
    clocks_recompute_all(T0 + H)
    assert _stored(stale) == (Urgency.ON_TIME, 2)
    assert _stored(unbound) == (Urgency.ON_TIME, 2)
    # Rows bound outside the pass (a first change) start in the queue, with no deadline yet.
    ClaimProcess.objects.filter(claim=unbound).delete()
    processes_bind_missing([unbound.pk], T0 + 2 * H)
    assert _stored(unbound) == (Urgency.NONE, 3)


def test_the_migration_ranks_the_open_claims_from_their_stored_urgency(world: dict[str, Any]) -> None:
    import importlib

    definition()
    claims = [submit(world, T0 + n * H) for n in range(3)]
    clocks_recompute_all(T0 + 22 * H)  # the first two at risk, the last on time
    act(T0 + 23 * H, cs.claim_withdraw, actor=world["handler"], claim_id=claims[2].pk)
    expected = [_stored(c) for c in claims]
    ClaimProcess.objects.update(queue_rank=None)
    migration = importlib.import_module("claimwise.process.migrations.0002_queue_rank")
    editor = SimpleNamespace(connection=connection, execute=lambda sql: connection.cursor().execute(sql))
    migration.rank_open_claims(apps, editor)
    assert [_stored(c) for c in claims] == expected
    assert [e[1] for e in expected] == [1, 1, None]
