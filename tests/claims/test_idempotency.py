"""FNOL idempotency: a retried report with the same Idempotency-Key returns the first claim, never a
second one — through the service and over HTTP, also when the first response was lost."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils.dateparse import parse_datetime

from claimwise.claims import services
from claimwise.claims.models import Claim, IdempotencyKey
from claimwise.core.errors import DomainError, ErrorCode
from claimwise.core.models import AuditEntry
from tests.conftest import fnol

pytestmark = pytest.mark.django_db


def submit_args(body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The service arguments the API passes for this JSON body."""
    return {
        "policy_number": body["policy_number"],
        "incident_at": parse_datetime(body["incident_at"]),
        "incident_place": body["incident_place"],
        "loss_type": body["loss_type"],
        "claimed_amount": body["claimed_amount"],
        "description": body["description"],
        **extra,
    }


def post(client: Any, body: dict[str, Any], key: str | None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/claims", json.dumps(body), content_type="application/json", **headers)


def test_same_key_same_body_returns_the_same_claim(world: dict[str, Any]) -> None:
    args = submit_args(fnol(world["policy"]), actor=world["customer"], idempotency_key="fnol-001")
    first = services.claim_submit(**args)
    audit = AuditEntry.objects.count()
    second = services.claim_submit(**args)
    assert (first.replayed, second.replayed) == (False, True)
    assert second.claim.pk == first.claim.pk and second.claim.number == first.claim.number
    assert Claim.objects.count() == 1
    assert AuditEntry.objects.count() == audit, "a replay writes nothing"


def test_amount_written_differently_is_the_same_body(world: dict[str, Any]) -> None:
    body = fnol(world["policy"], claimed_amount="8200.00")
    first = services.claim_submit(**submit_args(body, actor=world["customer"], idempotency_key="k"))
    again = services.claim_submit(
        **submit_args({**body, "claimed_amount": "8200"}, actor=world["customer"], idempotency_key="k")
    )
    assert again.replayed and again.claim.pk == first.claim.pk


def test_over_http_the_replay_is_flagged_and_returns_the_same_id(world: dict[str, Any], api_client: Any) -> None:
    c = api_client.as_user(world["customer"])
    body = fnol(world["policy"])
    first = post(c, body, "http-key-1")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    second = post(c, body, "http-key-1")
    assert second.status_code == 201, second.content
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["number"] == first.json()["number"]
    assert Claim.objects.count() == 1
    # Without a key every submit is a new claim.
    assert post(c, body, None).json()["id"] != first.json()["id"]
    assert Claim.objects.count() == 2


def test_same_key_different_body_is_a_coded_conflict(world: dict[str, Any], api_client: Any) -> None:
    c = api_client.as_user(world["customer"])
    body = fnol(world["policy"])
    first = post(c, body, "reused")
    assert first.status_code == 201
    audit = AuditEntry.objects.count()
    r = post(c, {**body, "claimed_amount": "9100.00"}, "reused")
    assert r.status_code == 409, r.content
    assert r.json()["code"] == "idempotency_key_reused"
    assert r.json()["detail"] == {"claim_number": first.json()["number"]}
    assert Claim.objects.count() == 1 and AuditEntry.objects.count() == audit

    with pytest.raises(DomainError) as exc:
        services.claim_submit(
            **submit_args({**body, "incident_place": "上海市"}, actor=world["customer"], idempotency_key="reused")
        )
    assert exc.value.code == ErrorCode.IDEMPOTENCY_KEY_REUSED and exc.value.status == 409


def test_keys_belong_to_their_user(world: dict[str, Any], api_client: Any) -> None:
    """Two users who happen to pick the same key each get their own claim."""
    body = fnol(world["policy"])
    mine = post(api_client.as_user(world["customer"]), body, "shared-key")
    handlers = post(api_client.as_user(world["handler"]), body, "shared-key")
    assert (mine.status_code, handlers.status_code) == (201, 201), (mine.content, handlers.content)
    assert mine.json()["id"] != handlers.json()["id"]
    assert "Idempotent-Replayed" not in handlers
    assert IdempotencyKey.objects.filter(key="shared-key").count() == 2
    # Each user's retry replays their own claim.
    again = post(api_client.as_user(world["handler"]), body, "shared-key")
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == handlers.json()["id"]


def test_crash_between_commit_and_response_then_retry(world: dict[str, Any], api_client: Any) -> None:
    """The first request committed but its response never reached the client (simulated by calling
    the service and throwing the result away); the client's retry gets that claim."""
    body = fnol(world["policy"])
    services.claim_submit(**submit_args(body, actor=world["customer"], idempotency_key="lost-response"))
    r = post(api_client.as_user(world["customer"]), body, "lost-response")
    assert r.status_code == 201, r.content
    assert r["Idempotent-Replayed"] == "true"
    claim = Claim.objects.get()  # exactly one claim row
    assert r.json()["id"] == claim.pk and r.json()["number"] == claim.number
    assert AuditEntry.objects.filter(action="claim.submit").count() == 1


def test_a_refused_submit_does_not_burn_the_key(world: dict[str, Any], api_client: Any) -> None:
    """A submit refused by validation stores nothing, so the corrected retry with the key works."""
    c = api_client.as_user(world["customer"])
    body = fnol(world["policy"])
    bad = post(c, {**body, "policy_number": "NO-SUCH-POLICY"}, "fix-and-retry")
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    assert not IdempotencyKey.objects.exists()
    good = post(c, body, "fix-and-retry")
    assert good.status_code == 201 and "Idempotent-Replayed" not in good
