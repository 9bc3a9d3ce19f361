"""The process API: staff read definitions, administrators import, publish and version them, and a
claim's map is scoped like the claim itself."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import yaml

from claimwise.accounts.choices import Role
from claimwise.process.choices import DefinitionStatus
from claimwise.process.models import ProcessDefinition
from claimwise.process.presets import preset_document, presets_install
from tests.conftest import fnol

API = "/api/v1/process"


@pytest.fixture
def defs(db: Any) -> dict[str, ProcessDefinition]:
    presets_install(codes=("motor", "health"))
    return {d.code: d for d in ProcessDefinition.objects.all()}


def error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.content
    body = r.json()
    assert set(body) == {"code", "message", "detail"} and body["code"] == code and body["message"]
    return body


def test_list_and_filter(world: dict[str, Any], api_client: Any, defs: Any) -> None:
    c = api_client.as_user(world["handler"])
    items = c.get(f"{API}/definitions").json()
    assert {(i["code"], i["status"], i["steps"]) for i in items} == {
        ("motor", "published", 8),
        ("health", "published", 8),
    }
    assert [i["code"] for i in c.get(f"{API}/definitions", {"line": "health"}).json()] == ["health"]
    assert c.get(f"{API}/definitions", {"status": "draft"}).json() == []
    error(c.get(f"{API}/definitions", {"line": "boats"}), 422, "validation_error")


def test_get_one_with_steps_and_materials(world: dict[str, Any], api_client: Any, defs: Any) -> None:
    r = api_client.as_user(world["auditor"]).get(f"{API}/definitions/{defs['motor'].pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["document"]["steps"][0]["key"] == "report"
    assert any(m["doc_type"] == "police_report" for m in body["document"]["materials"])
    error(api_client.as_user(world["auditor"]).get(f"{API}/definitions/999999"), 404, "not_found")


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export(world: dict[str, Any], api_client: Any, defs: Any, fmt: str) -> None:
    r = api_client.as_user(world["supervisor"]).get(f"{API}/definitions/{defs['health'].pk}/export", {"format": fmt})
    assert r.status_code == 200
    assert r["Content-Disposition"] == f'attachment; filename="health-v1.{fmt}"'
    doc = json.loads(r.content) if fmt == "json" else yaml.safe_load(r.content)
    assert doc == preset_document("health")


def test_customers_and_partners_cannot_read_definitions(world: dict[str, Any], api_client: Any, defs: Any) -> None:
    for role in ("customer", "partner"):
        c = api_client.as_user(world[role])
        error(c.get(f"{API}/definitions"), 403, "permission_denied")
        error(c.get(f"{API}/definitions/{defs['motor'].pk}/map.svg"), 403, "permission_denied")


def test_import_json_and_yaml_admin_only(world: dict[str, Any], api_client: Any, defs: Any) -> None:
    doc = preset_document("travel")
    error(
        api_client.as_user(world["supervisor"]).post(
            f"{API}/definitions/import", json.dumps(doc), content_type="application/json"
        ),
        403,
        "permission_denied",
    )
    admin = api_client.as_user(world["admin"])
    r = admin.post(f"{API}/definitions/import", json.dumps(doc), content_type="application/json")
    assert r.status_code == 201, r.content
    assert (r.json()["code"], r.json()["version"], r.json()["status"]) == ("travel", 1, "draft")
    doc["steps"][0]["limit_value"] = 2
    text = yaml.safe_dump({**doc, "code": "travel-b"}, allow_unicode=True)
    r = admin.post(f"{API}/definitions/import?publish=true", text, content_type="application/yaml")
    assert r.status_code == 201, r.content
    assert (r.json()["code"], r.json()["status"]) == ("travel-b", "published")


def test_import_refused_with_every_problem(world: dict[str, Any], api_client: Any, defs: Any) -> None:
    doc = preset_document("motor")
    doc["steps"][0]["next_steps"] = ["nowhere"]
    doc["materials"][0]["doc_type"] = "passport"
    r = api_client.as_user(world["admin"]).post(
        f"{API}/definitions/import", json.dumps(doc), content_type="application/json"
    )
    body = error(r, 422, "validation_error")
    assert {"steps[0].next_steps", "materials[0].doc_type"} <= {p["field"] for p in body["detail"]}
    assert ProcessDefinition.objects.filter(code="motor").count() == 1
    r = api_client.as_user(world["admin"]).post(
        f"{API}/definitions/import", "steps: [", content_type="application/yaml"
    )
    assert error(r, 422, "validation_error")["detail"][0]["field"] == "document"


def test_new_version_then_publish(world: dict[str, Any], api_client: Any, defs: Any) -> None:
    admin = api_client.as_user(world["admin"])
    r = admin.post(f"{API}/definitions/{defs['motor'].pk}/new-version", "{}", content_type="application/json")
    assert r.status_code == 201, r.content
    draft_id = r.json()["id"]
    assert r.json()["version"] == 2
    body = error(
        admin.post(f"{API}/definitions/{defs['motor'].pk}/new-version", "{}", content_type="application/json"),
        409,
        "conflict",
    )
    assert body["detail"]["reason"] == "draft_exists"
    error(
        api_client.as_user(world["handler"]).post(
            f"{API}/definitions/{draft_id}/publish", "{}", content_type="application/json"
        ),
        403,
        "permission_denied",
    )
    r = admin.post(f"{API}/definitions/{draft_id}/publish", "{}", content_type="application/json")
    assert r.json()["status"] == "published"
    defs["motor"].refresh_from_db()
    assert defs["motor"].status == DefinitionStatus.RETIRED
    error(admin.post(f"{API}/definitions/{draft_id}/publish", "{}", content_type="application/json"), 409, "conflict")


def test_definition_map(world: dict[str, Any], api_client: Any, defs: Any) -> None:
    r = api_client.as_user(world["compliance"]).get(f"{API}/definitions/{defs['motor'].pk}/map.svg")
    assert r.status_code == 200 and r["Content-Type"].startswith("image/svg+xml")
    ET.fromstring(r.content)


def test_claim_map_scoped_and_plain_for_customers(world: dict[str, Any], api_client: Any, defs: Any) -> None:
    r = api_client.as_user(world["customer"]).post(
        "/api/v1/claims", json.dumps(fnol(world["policy"])), content_type="application/json"
    )
    assert r.status_code == 201, r.content
    url = f"{API}/claims/{r.json()['id']}/map.svg"
    mine = api_client.as_user(world["customer"]).get(url)
    assert mine.status_code == 200, mine.content
    assert 'data-step="report"' in mine.content.decode()
    assert "Claim handler" not in mine.content.decode()
    staff = api_client.as_user(world["handler"]).get(url)
    assert "Claim handler" in staff.content.decode()
    error(api_client.as_user(world["other_customer"]).get(url), 404, "not_found")
    error(api_client.as_user(world["customer"]).get(f"{API}/claims/999999/map.svg"), 404, "not_found")
    assert Role.HANDLER.value not in mine.content.decode()
