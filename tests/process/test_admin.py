"""Back office for process definitions: drafts edited as one validated document through the audited
services, published versions read-only, publish / new version / export / import, and the map."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from claimwise.accounts.choices import Role
from claimwise.core.audit import audit_verify
from claimwise.core.models import AuditEntry
from claimwise.process.choices import DefinitionStatus
from claimwise.process.models import ProcessDefinition
from claimwise.process.presets import preset_document
from claimwise.process.transfer import definition_import
from tests import factories

URL = "/admin/process/processdefinition/"


@pytest.fixture
def staff(db: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(factories.user(Role.ADMIN, username="root", is_superuser=True))
    return client


def management(prefix: str, total: int, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def step(i: int, key: str, name: str, states: list[str], nxt: str, **extra: Any) -> dict[str, Any]:
    data = {
        "key": key,
        "position": str(i),
        "name": name,
        "states": states,
        "role": "handler",
        "escalate_to": "supervisor",
        "limit_value": "2",
        "limit_unit": "working_days",
        "warn_percent": "75",
        "checklist": json.dumps([{"key": "ok", "text": "已核对", "text_en": "Checked"}]),
        "next_steps": nxt,
        **extra,
    }
    return {f"steps-{i}-{k}": v for k, v in data.items()}


def form(**changes: Any) -> dict[str, Any]:
    data = {
        "code": "glass",
        "name": "玻璃险快赔",
        "name_en": "Glass fast track",
        "line": "motor",
        "loss_types": ["glass"],
        "pause_on_documents": "on",
        "fast_track_limit": "2000.00",
        "fast_track_days": "2",
        "life_decision_working_days": "5",
        "forced_registration_hours": "48",
        "callback_working_days": "15",
        **management("steps", 3),
        **step(0, "report", "报案", ["reported"], "register"),
        **step(1, "register", "立案", ["registered"], "assess"),
        **step(2, "assess", "定损", ["assessment"], ""),
        **management("materials", 1),
        "materials-0-key": "photo",
        "materials-0-position": "0",
        "materials-0-doc_type": "damage_photo",
        "materials-0-name": "玻璃照片",
        "materials-0-condition": "claimed_amount > 500",
    }
    data.update(changes)
    return data


def test_add_a_draft_through_the_service(staff: Client) -> None:
    r = staff.post(f"{URL}add/", form())
    assert r.status_code == 302, r.context and [r.context["adminform"].form.errors]
    definition = ProcessDefinition.objects.get(code="glass")
    assert (definition.version, definition.status) == (1, DefinitionStatus.DRAFT)
    assert [s.key for s in definition.steps.all()] == ["report", "register", "assess"]
    assert definition.steps.get(key="report").next_steps == ["register"]
    assert str(definition.fast_track_limit) == "2000.00"
    (entry,) = AuditEntry.objects.filter(action="process_definition.create")
    assert entry.actor_label == "root" and entry.after["document"]["materials"][0]["key"] == "photo"
    assert audit_verify().ok


def test_problems_shown_on_the_form_and_nothing_written(staff: Client) -> None:
    data = form(**{"steps-2-next_steps": "", "steps-1-next_steps": "", "fast_track_limit": "9000.00"})
    data["materials-0-condition"] = "claimed_amont > 500"
    r = staff.post(f"{URL}add/", data)
    assert r.status_code == 200
    page = r.content.decode()
    assert "cannot be reached from the first step" in page
    assert "claimed_amont" in page
    assert "At most 5000 yuan" in page
    top = r.context["adminform"].form
    assert "fast_track_limit" in top.errors
    assert not ProcessDefinition.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="process_definition").exists()


def test_edit_a_draft_then_publish_then_read_only(staff: Client) -> None:
    staff.post(f"{URL}add/", form())
    definition = ProcessDefinition.objects.get(code="glass")
    ids = {s.key: s.pk for s in definition.steps.all()}
    data = form(**management("steps", 3, 3), **management("materials", 1, 1))
    data.update({f"steps-{i}-id": ids[k] for i, k in enumerate(["report", "register", "assess"])})
    data["steps-2-limit_value"] = "5"
    data["materials-0-id"] = definition.materials.get().pk
    r = staff.post(f"{URL}{definition.pk}/change/", data)
    assert r.status_code == 302, r.context and r.context["adminform"].form.errors
    assert definition.steps.get(key="assess").limit_value == 5
    assert AuditEntry.objects.filter(action="process_definition.update").count() == 1

    page = staff.get(f"{URL}{definition.pk}/change/").content.decode()
    assert "<svg" in page and 'data-step="assess"' in page

    confirm = staff.get(f"{URL}{definition.pk}/publish/")
    assert confirm.status_code == 200 and "Publish this version?" in confirm.content.decode()
    definition.refresh_from_db()
    assert definition.status == DefinitionStatus.DRAFT  # a GET changes nothing
    r = staff.post(f"{URL}{definition.pk}/publish/")
    assert r.status_code == 302
    definition.refresh_from_db()
    assert definition.status == DefinitionStatus.PUBLISHED

    assert staff.post(f"{URL}{definition.pk}/change/", data).status_code == 403
    assert staff.post(f"{URL}{definition.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff.get(f"{URL}{definition.pk}/publish/").status_code == 403

    r = staff.post(f"{URL}{definition.pk}/new-version/")
    draft = ProcessDefinition.objects.get(code="glass", version=2)
    assert r.status_code == 302 and r["Location"].endswith(f"{draft.pk}/change/")
    r = staff.post(f"{URL}{draft.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not ProcessDefinition.objects.filter(pk=draft.pk).exists()
    assert AuditEntry.objects.filter(action="process_definition.delete").count() == 1


def test_export_downloads_the_shared_format(staff: Client) -> None:
    definition = definition_import(actor=None, source=preset_document("life"))
    r = staff.get(f"{URL}{definition.pk}/export/")
    assert r.status_code == 200 and r["Content-Disposition"] == 'attachment; filename="life-v1.yaml"'
    assert yaml.safe_load(r.content) == preset_document("life")


def test_import_page_lists_problems_then_imports(staff: Client) -> None:
    assert staff.get(f"{URL}import/").status_code == 200
    bad = preset_document("property")
    bad["steps"][0]["next_steps"] = ["nowhere"]
    bad["materials"][0]["doc_type"] = "passport"
    upload = SimpleUploadedFile("p.yaml", yaml.safe_dump(bad, allow_unicode=True).encode())
    r = staff.post(f"{URL}import/", {"file": upload})
    assert r.status_code == 422
    page = r.content.decode()
    assert "steps[0].next_steps" in page and "materials[0].doc_type" in page
    assert not ProcessDefinition.objects.exists()
    good = SimpleUploadedFile("p.json", json.dumps(preset_document("property")).encode())
    r = staff.post(f"{URL}import/", {"file": good, "publish": "1"})
    assert r.status_code == 302
    assert ProcessDefinition.objects.get(code="property").status == DefinitionStatus.PUBLISHED


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AUDITOR])
def test_viewers_look_but_do_not_change(db: Any, role: str) -> None:
    definition = definition_import(actor=None, source=preset_document("motor"))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(factories.user(role))
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}{definition.pk}/change/").status_code == 200
    assert client.post(f"{URL}{definition.pk}/publish/").status_code == 403
    assert client.get(f"{URL}import/").status_code == 403
    assert client.get(f"{URL}add/").status_code == 403
    definition.refresh_from_db()
    assert definition.status == DefinitionStatus.DRAFT
