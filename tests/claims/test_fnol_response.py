"""FNOL answers from the claim it just created instead of reading it back (the intake hot path, see
bench/intake.py): the answer must be exactly what a read of the claim returns, and the number of
queries of a submit is pinned."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import fnol

pytestmark = pytest.mark.django_db


def _submit(client: Any, body: dict[str, Any], key: str) -> Any:
    return client.post("/api/v1/claims", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.parametrize("role", ["customer", "supervisor"])
def test_the_answer_to_a_new_claim_is_what_a_read_returns(world: dict[str, Any], api_client: Any, role: str) -> None:
    client = api_client.as_user(world[role])
    # An offset other than UTC and an amount without cents: a read gives UTC times and cents.
    body = fnol(world["policy"], incident_at="2026-01-05T08:30:00+08:00", claimed_amount="8200")
    created = _submit(client, body, f"read-{role}")
    assert created.status_code == 201, created.content
    assert "Idempotent-Replayed" not in created
    read = client.get(f"/api/v1/claims/{created.json()['id']}")
    assert read.status_code == 200
    assert created.json() == read.json()

    replayed = _submit(client, body, f"read-{role}")
    assert replayed.status_code == 201 and replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == read.json()


@pytest.mark.parametrize("role", ["customer", "supervisor"])
def test_queries_of_a_submit(world: dict[str, Any], api_client: Any, role: str) -> None:
    """Token with its user, idempotency key, policy with its product and the claimant, coverages;
    the claim's id (PostgreSQL: nextval, so the number goes in with the row; SQLite: the number is
    set after the insert), insert claim, key, event; the audit chain's head lock, entry and head
    (PostgreSQL: one statement, SQLite: three); the process app's claim process row (its line
    set-up is cached) and the claim's clocks; the fraud app's link index entries and the claim's
    rings (one aggregate, decision 23). Transaction control (BEGIN, SAVEPOINT, COMMIT) is not
    counted."""
    statements = 13 if connection.vendor == "postgresql" else 15
    client = api_client.as_user(world[role])
    assert _submit(client, fnol(world["policy"]), f"warm-{role}").status_code == 201
    with CaptureQueriesContext(connection) as ctx:
        assert _submit(client, fnol(world["policy"]), f"count-{role}").status_code == 201
    sql = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].split()[0] in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
    ]
    assert len(sql) == statements, "\n".join(sql)
