"""The queues read the stored order (`ClaimProcess.queue_rank`, then the nearest deadline, then the
claim; decision 22) and the search decides what a term is by its form."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from claimwise.claims.services import claim_withdraw
from claimwise.process.models import ClaimProcess
from claimwise.workbench import selectors
from claimwise.workbench.selectors import QueueFilters, queue_page, search_q
from tests.workbench.conftest import urgent_claims


def _numbers(html: str) -> list[str]:
    return re.findall(r'data-number="(\w+)"', html)


@pytest.mark.parametrize("sort_up_to", [2000, 0], ids=["sorted after filtering", "read in the index's order"])
def test_the_queue_follows_the_stored_rank_then_the_deadline(
    desk: dict[str, Any], sort_up_to: int, monkeypatch: Any
) -> None:
    # Both ways of asking (few matches sorted, many read in the stored order) give the same order.
    monkeypatch.setattr(selectors, "SORT_MATCHES_UP_TO", sort_up_to)
    made = urgent_claims(desk["handler"], desk["policy"])
    page = queue_page(desk["supervisor"], QueueFilters(tab="team"))
    assert [r.claim.number for r in page.rows] == [made[k].number for k in ("breached", "warning", "on_time")]
    # Same rank: the nearest deadline first, whatever the urgency's text says.
    on_time = ClaimProcess.objects.get(claim=made["on_time"])
    ClaimProcess.objects.filter(claim=made["warning"]).update(queue_rank=2, next_due_at=on_time.next_due_at)
    ClaimProcess.objects.filter(claim=made["on_time"]).update(next_due_at=timezone.now())
    page = queue_page(desk["supervisor"], QueueFilters(tab="team"))
    assert [r.claim.number for r in page.rows] == [made[k].number for k in ("breached", "on_time", "warning")]


@pytest.mark.parametrize("sort_up_to", [2000, 0], ids=["sorted after filtering", "read in the index's order"])
def test_a_withdrawn_claim_leaves_the_rows_and_the_count(
    desk: dict[str, Any], sort_up_to: int, monkeypatch: Any
) -> None:
    monkeypatch.setattr(selectors, "SORT_MATCHES_UP_TO", sort_up_to)
    made = urgent_claims(desk["handler"], desk["policy"])
    claim_withdraw(actor=desk["handler"], claim_id=made["warning"].pk)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(desk["supervisor"])
    html = client.get("/work/?tab=team").content.decode()
    assert _numbers(html) == [made["breached"].number, made["on_time"].number]
    assert "2 open claims" in html


def test_search_reads_a_plate_as_a_plate_and_anything_else_as_a_name() -> None:
    assert search_q("京A12345") == search_q(" 京a 12345 ")
    assert "policy__vehicle_plate" in str(search_q("京A12345"))
    assert "claimant__name__startswith" not in str(search_q("京A12345"))
    for name in ("王", "王建国", "Wang", "欧阳娜娜"):
        assert str(search_q(name)) == str(search_q(name)) and "claimant__name__startswith" in str(search_q(name))
    assert "number__startswith" in str(search_q("MV2026"))


def test_the_queue_statements_are_planned_with_their_values(desk: dict[str, Any]) -> None:
    """PostgreSQL: never a prepared statement's generic plan for the queue (psycopg prepares a
    statement after a few runs); the connection's own setting is left as it was."""
    from django.db import connection

    urgent_claims(desk["handler"], desk["policy"])
    for _ in range(8):
        queue_page(desk["supervisor"], QueueFilters(tab="team", line="motor"))
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert not [s for s in prepared if 'FROM "claims_claim"' in s and "process_claimprocess" in s], prepared
    assert not [s for s in prepared if s.startswith('SELECT COUNT(*) AS "__count" FROM "claims_claim"')], prepared
    assert connection.connection.prepare_threshold == 5  # type: ignore[union-attr]
