"""Straight-through processing end to end through the HTTP API: a customer reports a small glass
claim with where to pay, uploads the two required materials, and finds it approved and on its way
to payment, with every step on the timeline and the deadlines the company is bound to."""

from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.claims.test_api import png
from tests.conftest import fnol
from tests.process import builders
from tests.process.test_review import GLASS

API = "/api/v1"


def test_small_glass_claim_straight_through_over_http(world: dict[str, Any], api_client: Any) -> None:
    builders.definition()
    builders.rule(GLASS)
    client = api_client.as_user(world["customer"])
    body = fnol(
        world["policy"],
        loss_type="glass",
        claimed_amount="1600.00",
        payee={"name": "张伟", "bank_name": "中国工商银行", "account": "6222020200112233445"},
    )
    created = client.post(f"{API}/claims", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="g1")
    assert created.status_code == 201, created.content
    claim_id = created.json()["id"]

    process = client.get(f"{API}/process/claims/{claim_id}").json()
    assert [m["doc_type"] for m in process["materials"] if not m["received"]] == ["claim_form", "damage_photo"]
    kinds = {c["kind"] for c in process["clocks"]}
    assert {"decision_30d", "forced_registration", "fast_track"} <= kinds  # the law's and the promise
    assert "step" not in kinds  # internal service levels are not shown to customers

    for doc_type in ("claim_form", "damage_photo"):
        upload = SimpleUploadedFile(f"{doc_type}.png", png(), content_type="image/png")
        response = client.post(f"{API}/claims/{claim_id}/documents", {"doc_type": doc_type, "file": upload})
        assert response.status_code == 201, response.content

    claim = client.get(f"{API}/claims/{claim_id}").json()
    assert claim["status"] == "payment_pending" and claim["approved_amount"] == "1600.00"
    assert claim["payments"][0]["bank_account_masked"].endswith("3445")
    timeline = [e["kind"] for e in client.get(f"{API}/claims/{claim_id}/timeline").json()]
    assert timeline[-5:] == ["register", "assess", "submit_for_approval", "approve", "request_payment"]
    process = client.get(f"{API}/process/claims/{claim_id}").json()
    assert process["documents_complete"] and process["authority"] is None and process["auto_review_rule"] is None
    decision = {c["kind"]: c for c in process["clocks"]}["decision_30d"]
    assert decision["state"] == "met"
