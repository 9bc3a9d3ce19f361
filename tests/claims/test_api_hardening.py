"""Small leaks closed: probing ids through role-refused endpoints, internal data in the customer's
timeline, empty uploads."""

from __future__ import annotations

import io

from claimwise.claims import services
from tests.conftest import fnol


def _named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def _submit(api_client, world):
    response = api_client.as_user(world["customer"]).post(
        "/api/v1/claims", fnol(world["policy"]), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_roles_that_may_not_assign_or_share_cannot_probe_ids(api_client, world):
    cid = _submit(api_client, world)
    customer = api_client.as_user(world["customer"])
    for body in ({"handler_id": 999999}, {"handler_id": world["handler"].pk}):
        response = customer.post(f"/api/v1/claims/{cid}/assign", body, content_type="application/json")
        assert response.status_code == 403, response.content
    for code in ("NO-SUCH-PARTNER", world["partner"].partner.code):
        response = customer.post(
            f"/api/v1/claims/{cid}/shares", {"partner_code": code}, content_type="application/json"
        )
        assert response.status_code == 403, response.content
    # The supervisor, who may assign, is told which field is wrong.
    response = api_client.as_user(world["supervisor"]).post(
        f"/api/v1/claims/{cid}/assign", {"handler_id": 999999}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "handler_id"


def test_customer_timeline_hides_internal_data(api_client, world):
    cid = _submit(api_client, world)
    services.claim_register(actor=world["handler"], claim_id=cid)
    services.claim_request_documents(actor=world["handler"], claim_id=cid, items=["invoice"])
    customer_view = api_client.as_user(world["customer"]).get(f"/api/v1/claims/{cid}/timeline").json()
    staff_view = api_client.as_user(world["handler"]).get(f"/api/v1/claims/{cid}/timeline").json()
    register_staff = next(e for e in staff_view if e["kind"] == "register")
    register_customer = next(e for e in customer_view if e["kind"] == "register")
    assert register_staff["data"]["handler"] == world["handler"].pk
    assert "handler" not in register_customer["data"]
    assert register_customer["actor"] is None
    request = next(e for e in customer_view if e["kind"] == "request_documents")
    assert request["data"]["items"] == ["invoice"]  # what to send is exactly what the customer must see


def test_empty_upload_is_refused_with_its_own_message(api_client, world):
    cid = _submit(api_client, world)
    response = api_client.as_user(world["customer"]).post(
        f"/api/v1/claims/{cid}/documents", {"doc_type": "invoice", "file": _named(b"", "empty.pdf")}
    )
    assert response.status_code == 415, response.content
    body = response.json()
    assert body["code"] == "unsupported_file" and "empty" in body["message"]


def test_claim_list_query_count_does_not_grow_with_rows(api_client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    handler = api_client.as_user(world["handler"])

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = handler.get("/api/v1/claims?page_size=50")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for _ in range(2):
        _submit(api_client, world)
    queries_for_list()  # the token's first use is recorded once
    few = queries_for_list()
    for _ in range(6):
        _submit(api_client, world)
    assert queries_for_list() == few
    assert few <= 3  # token, page, count: nothing per row


def test_a_body_that_is_not_json_gets_the_error_shape_in_the_users_language(api_client, world):
    from django.test import Client

    token = api_client.as_user(world["customer"]).defaults["HTTP_AUTHORIZATION"]
    for language, expected in (("en", "not valid JSON"), ("zh-hans", "JSON")):
        client = Client(HTTP_AUTHORIZATION=token, HTTP_ACCEPT_LANGUAGE=language)
        response = client.post("/api/v1/claims", "{not json", content_type="application/json")
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "bad_request" and expected in body["message"]
        assert "Cannot parse" not in body["message"]


def test_a_damaged_photo_is_refused_and_a_whole_one_accepted(api_client, world):
    from tests.claims.test_api import png

    cid = _submit(api_client, world)
    client = api_client.as_user(world["customer"])
    whole = png(64, 48)
    cut = whole[: len(whole) - 30]  # the end of the image data is missing
    response = client.post(
        f"/api/v1/claims/{cid}/documents", {"doc_type": "damage_photo", "file": _named(cut, "a.png")}
    )
    assert response.status_code == 415, response.content
    assert response.json()["code"] == "unsupported_file" and "cannot be read" in response.json()["message"]
    ok = client.post(f"/api/v1/claims/{cid}/documents", {"doc_type": "damage_photo", "file": _named(whole, "b.png")})
    assert ok.status_code == 201, ok.content
