"""Races between real database connections: two reviewers approving the same claim, two retries of
the same FNOL, many writers appending to the audit chain. Each thread has its own connection; a
barrier releases them together. Runs on SQLite (BEGIN IMMEDIATE, busy timeout) and PostgreSQL
(row locks)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from claimwise.accounts.choices import Role
from claimwise.claims import services
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent, Decision, IdempotencyKey
from claimwise.core.audit import audit_verify
from claimwise.core.errors import ErrorCode, IllegalTransition
from claimwise.core.models import AuditEntry
from tests import factories
from tests.conftest import fnol

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls: Callable[[], Any], timeout: float = 60) -> list[tuple[str, Any]]:
    """Run the calls in threads released together; each result is ("ok", value) or ("error", exc)."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[i] = ("ok", call())
        except Exception as exc:  # reported to the test, which asserts on it
            results[i] = ("error", exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return results


@pytest.fixture
def people(transactional_db: Any) -> dict[str, Any]:
    holder = factories.customer()
    return {
        "holder": holder,
        "customer": holder.user,
        "policy": factories.policy(holder=holder),
        "handler": factories.user(Role.HANDLER),
        "reviewer": factories.user(Role.REVIEWER),
        "reviewer2": factories.user(Role.REVIEWER),
        "supervisor": factories.user(Role.SUPERVISOR),
    }


def pending_claim(p: dict[str, Any], amount: str = "7800.00") -> Claim:
    claim = factories.claim(actor=p["customer"], policy=p["policy"])
    services.claim_register(actor=p["handler"], claim_id=claim.pk)
    services.claim_assess(actor=p["handler"], claim_id=claim.pk)
    services.claim_submit_for_approval(actor=p["handler"], claim_id=claim.pk, assessed_amount=amount)
    return claim


def test_concurrent_approvals_one_wins_the_other_gets_a_conflict(people: dict[str, Any]) -> None:
    claim = pending_claim(people)
    events_before = ClaimEvent.objects.filter(claim=claim).count()
    audit_before = AuditEntry.objects.count()

    results = race(
        lambda: services.claim_approve(actor=people["reviewer"], claim_id=claim.pk, amount="7800.00"),
        lambda: services.claim_approve(actor=people["reviewer2"], claim_id=claim.pk, amount="7000.00"),
    )

    wins = [v for kind, v in results if kind == "ok"]
    errors = [v for kind, v in results if kind == "error"]
    assert len(wins) == 1 and len(errors) == 1, results
    error = errors[0]
    assert isinstance(error, IllegalTransition), repr(error)
    assert error.code == ErrorCode.ILLEGAL_TRANSITION and error.status == 409
    assert error.detail == {"action": "approve", "status": ClaimStatus.APPROVED}

    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    decision = Decision.objects.get(claim=claim)  # exactly one
    assert claim.approved_amount == decision.amount == wins[0].approved_amount
    assert ClaimEvent.objects.filter(claim=claim, kind="approve").count() == 1
    assert ClaimEvent.objects.filter(claim=claim).count() == events_before + 1
    assert AuditEntry.objects.filter(action="claim.approve", object_id=str(claim.pk)).count() == 1
    assert AuditEntry.objects.count() == audit_before + 1
    assert audit_verify().ok


def test_concurrent_approve_and_deny_one_decision(people: dict[str, Any]) -> None:
    claim = pending_claim(people)
    results = race(
        lambda: services.claim_approve(actor=people["reviewer"], claim_id=claim.pk),
        lambda: services.claim_deny(
            actor=people["supervisor"], claim_id=claim.pk, reason_codes=["exclusion"], note="Excluded cause."
        ),
    )
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    assert all(isinstance(v, IllegalTransition) for kind, v in results if kind == "error")
    claim.refresh_from_db()
    decision = Decision.objects.get(claim=claim)
    expected = ClaimStatus.APPROVED if decision.outcome == "approve" else ClaimStatus.DENIED
    assert claim.status == expected
    assert ClaimEvent.objects.filter(claim=claim, kind__in=["approve", "deny"]).count() == 1
    assert audit_verify().ok


def test_concurrent_idempotent_submits_make_one_claim(people: dict[str, Any]) -> None:
    from django.utils.dateparse import parse_datetime

    body = fnol(people["policy"])
    args = {
        "actor": people["customer"],
        "policy_number": body["policy_number"],
        "incident_at": parse_datetime(body["incident_at"]),
        "incident_place": body["incident_place"],
        "loss_type": body["loss_type"],
        "claimed_amount": body["claimed_amount"],
        "description": body["description"],
        "idempotency_key": "retry-7f3a",
    }
    claims_before = Claim.objects.count()

    results = race(lambda: services.claim_submit(**args), lambda: services.claim_submit(**args))

    assert [kind for kind, _ in results] == ["ok", "ok"], results
    first, second = (v for _, v in results)
    assert first.claim.pk == second.claim.pk
    assert sorted([first.replayed, second.replayed]) == [False, True]
    assert Claim.objects.count() == claims_before + 1
    assert IdempotencyKey.objects.filter(user=people["customer"], key="retry-7f3a").count() == 1
    assert AuditEntry.objects.filter(action="claim.submit").count() == 1
    assert ClaimEvent.objects.filter(kind="submitted").count() == 1
    assert audit_verify().ok


def test_parallel_writers_keep_one_unforked_audit_chain(people: dict[str, Any]) -> None:
    """Four handlers' transitions on four claims at once: every entry gets its own sequence number and
    links to the one before it."""
    claims = [factories.claim(actor=people["customer"], policy=people["policy"]) for _ in range(4)]
    before = AuditEntry.objects.count()
    results = race(*[(lambda c=c: services.claim_register(actor=people["handler"], claim_id=c.pk)) for c in claims])
    assert [kind for kind, _ in results] == ["ok"] * 4, results
    assert AuditEntry.objects.count() == before + 4
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    result = audit_verify()
    assert result.ok and result.checked == len(seqs), result
