from tests.conftest import fnol


def test_fnol_to_close_over_api(world, api_client):
    c = api_client.as_user(world["customer"])
    r = c.post("/api/v1/claims", fnol(world["policy"]), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")
    assert r.status_code == 201, r.content
    claim = r.json()
    assert claim["status"] == "reported"
    h = api_client.as_user(world["handler"])
    cid = claim["id"]
    for path, body in [
        ("register", {}),
        ("request-documents", {"items": ["invoice", "damage_photo"]}),
        ("resume", {}),
        ("assess", {}),
        ("submit-for-approval", {"assessed_amount": "7800.00"}),
    ]:
        r = h.post(f"/api/v1/claims/{cid}/{path}", body, content_type="application/json")
        assert r.status_code == 200, (path, r.content)
    r = api_client.as_user(world["reviewer"]).post(f"/api/v1/claims/{cid}/approve", {}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "approved"
    r = h.post(
        f"/api/v1/claims/{cid}/payments",
        {"payee_name": "张伟", "bank_account": "6222020200112233445"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    r = api_client.as_user(world["supervisor"]).post(
        f"/api/v1/claims/{cid}/payments/confirm", {}, content_type="application/json"
    )
    assert r.status_code == 200, r.content
    r = h.post(f"/api/v1/claims/{cid}/close", {}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "closed"
