"""Where to pay, given at report time: validated, encrypted at rest, masked when shown."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from claimwise.claims.models import Claim
from tests.conftest import fnol

ACCOUNT = "6222 0202 0011 2233 445"


def _post(client: Any, body: dict[str, Any], key: str) -> Any:
    return client.post("/api/v1/claims", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_payee_is_stored_encrypted_and_shown_masked(world: dict[str, Any], api_client: Any) -> None:
    client = api_client.as_user(world["customer"])
    body = fnol(world["policy"], payee={"name": "张伟", "bank_name": "中国工商银行", "account": ACCOUNT})
    response = _post(client, body, "payee-1")
    assert response.status_code == 201, response.content
    payee = response.json()["payee"]
    assert payee == {"name": "张伟", "bank_name": "中国工商银行", "account_masked": "***************3445"}
    claim = Claim.objects.get(pk=response.json()["id"])
    assert claim.payee_account == "6222020200112233445"
    with connection.cursor() as cursor:
        cursor.execute("SELECT payee_account FROM claims_claim WHERE id = %s", [claim.pk])
        raw = cursor.fetchone()[0]
    assert "2233445" not in raw
    assert client.get(f"/api/v1/claims/{claim.pk}").json()["payee"] == payee
    # The same key with another account is another claim's body: refused, not replayed.
    other = fnol(world["policy"], payee={"name": "张伟", "account": "6222020200112233446"})
    other["incident_at"] = body["incident_at"]
    assert _post(client, other, "payee-1").status_code == 409


def test_a_bad_account_is_refused_on_its_field(world: dict[str, Any], api_client: Any) -> None:
    client = api_client.as_user(world["customer"])
    response = _post(client, fnol(world["policy"], payee={"name": "张伟", "account": "6222-ABCD-0011-2233"}), "p2")
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["detail"]] == ["payee.account"]
    assert not Claim.objects.exists()
    response = _post(client, fnol(world["policy"], payee={"name": "张伟"}), "p3")
    assert response.status_code == 422
