"""End to end over real HTTP: `claimwise serve` (gunicorn + job worker) on the test database, driven
with httpx by the roles that do each step in practice."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection

from claimwise.accounts.choices import Role
from claimwise.accounts.services import token_create
from claimwise.core.audit import audit_verify
from tests import factories
from tests.claims.test_api import png
from tests.conftest import fnol

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PNG = png(4, 3)  # a whole image: uploads are decoded


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CLAIMWISE_DATA_DIR": str(settings.DATA_DIR),
        "CLAIMWISE_WEB_WORKERS": "2",
    }
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "claimwise.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            proc.terminate()
            raise RuntimeError("server did not start:\n" + proc.communicate(timeout=10)[0].decode())
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _client(base: str, user: Any) -> httpx.Client:
    raw = token_create(actor=None, user=user, name="e2e")[1]
    return httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {raw}"}, timeout=30)


def test_claim_from_report_to_close_by_the_right_roles(server: str) -> None:
    holder = factories.customer()
    policy = factories.policy(holder=holder)
    customer = _client(server, holder.user)
    handler = _client(server, factories.user(Role.HANDLER))
    reviewer = _client(server, factories.user(Role.REVIEWER))
    supervisor = _client(server, factories.user(Role.SUPERVISOR))

    def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.text
        return response.json()  # type: ignore[no-any-return]

    body = fnol(policy)
    claim = ok(customer.post("/claims", json=body, headers={"Idempotency-Key": "e2e-1"}), 201)
    again = customer.post("/claims", json=body, headers={"Idempotency-Key": "e2e-1"})
    assert again.json()["id"] == claim["id"] and again.headers["Idempotent-Replayed"] == "true"
    cid = claim["id"]
    assert claim["status"] == "reported"

    # A customer cannot register their own claim; a handler can.
    assert customer.post(f"/claims/{cid}/register", json={}).status_code == 403
    ok(handler.post(f"/claims/{cid}/register", json={"note": "保单有效，立案"}))
    ok(handler.post(f"/claims/{cid}/request-documents", json={"items": ["invoice", "damage_photo"]}))
    assert ok(customer.get(f"/claims/{cid}"))["status"] == "awaiting_documents"

    uploaded = ok(
        customer.post(
            f"/claims/{cid}/documents",
            data={"doc_type": "damage_photo"},
            files={"file": ("bumper.png", io.BytesIO(PNG), "image/png")},
        ),
        201,
    )
    assert uploaded["content_type"] == "image/png"
    download = handler.get(f"/claims/{cid}/documents/{uploaded['id']}")
    assert download.status_code == 200 and download.content == PNG

    ok(handler.post(f"/claims/{cid}/resume", json={}))
    ok(handler.post(f"/claims/{cid}/assess", json={}))
    ok(handler.post(f"/claims/{cid}/submit-for-approval", json={"assessed_amount": "7600.00"}))
    # The handler cannot approve; the reviewer can.
    assert handler.post(f"/claims/{cid}/approve", json={}).status_code == 403
    approved = ok(reviewer.post(f"/claims/{cid}/approve", json={}))
    assert approved["status"] == "approved" and approved["approved_amount"] == "7600.00"
    ok(
        handler.post(
            f"/claims/{cid}/payments", json={"payee_name": holder.name, "bank_account": "6222 0202 0011 2233 445"}
        )
    )
    paid = ok(supervisor.post(f"/claims/{cid}/payments/confirm", json={"reference": "BANK-REF-1"}))
    assert paid["status"] == "paid" and paid["payments"][0]["bank_account_masked"].endswith("3445")
    closed = ok(handler.post(f"/claims/{cid}/close", json={}))
    assert closed["status"] == "closed"

    timeline = ok(customer.get(f"/claims/{cid}/timeline"))
    kinds = [e["kind"] for e in timeline]
    assert kinds == [
        "submitted",
        "register",
        "request_documents",
        "document_added",
        "resume",
        "assess",
        "submit_for_approval",
        "approve",
        "request_payment",
        "confirm_payment",
        "close",
    ]
    assert audit_verify().ok
