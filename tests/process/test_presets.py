"""The preset processes (P1, P5): one per line, built from the PRC rules, installed idempotently."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from claimwise.claims.choices import DocumentType
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.core.choices import LineOfBusiness
from claimwise.core.models import AuditEntry
from claimwise.process.choices import DefinitionStatus
from claimwise.process.definitions import definition_for
from claimwise.process.facts import compile_expression
from claimwise.process.models import ProcessDefinition
from claimwise.process.presets import PRESET_CODES, preset_document, presets_install

pytestmark = pytest.mark.django_db


def test_install_is_idempotent_and_publishes() -> None:
    first = presets_install()
    assert [r.outcome for r in first] == ["published"] * len(PRESET_CODES)
    assert ProcessDefinition.objects.count() == len(PRESET_CODES)
    audits = AuditEntry.objects.count()
    second = presets_install()
    assert [r.outcome for r in second] == ["kept"] * len(PRESET_CODES)
    assert ProcessDefinition.objects.count() == len(PRESET_CODES)
    assert AuditEntry.objects.count() == audits
    for line in LineOfBusiness.values:
        found = definition_for(line, "anything")
        assert found is not None and found.status == DefinitionStatus.PUBLISHED and found.line == line


def test_drafts_first_then_published_on_request() -> None:
    assert {r.outcome for r in presets_install(publish=False)} == {"installed"}
    assert set(ProcessDefinition.objects.values_list("status", flat=True)) == {DefinitionStatus.DRAFT}
    assert {r.outcome for r in presets_install(publish=True)} == {"published"}
    assert set(ProcessDefinition.objects.values_list("status", flat=True)) == {DefinitionStatus.PUBLISHED}


def test_every_preset_covers_the_lifecycle_with_bilingual_texts() -> None:
    handled = {s.value for s in ClaimStatus} - {ClaimStatus.AWAITING_DOCUMENTS, ClaimStatus.WITHDRAWN}
    for code in PRESET_CODES:
        doc = preset_document(code)
        states = [state for step in doc["steps"] for state in step["states"]]
        assert set(states) == handled, code
        for step in doc["steps"]:
            assert step["name"] and step["name_en"] and step["customer_text"] and step["customer_text_en"], step
            assert step["escalate_to"] == "supervisor"
            assert step["checklist"] and all(c["text"] and c["text_en"] for c in step["checklist"])
        for material in doc["materials"]:
            assert material["doc_type"] in DocumentType.values
            if material["condition"]:
                compile_expression(material["condition"])


def _materials(code: str) -> dict[str, tuple[str, str]]:
    return {m["key"]: (m["doc_type"], m["condition"]) for m in preset_document(code)["materials"]}


def test_materials_follow_the_rules() -> None:
    motor = _materials("motor")
    assert motor["claim-form"] == ("claim_form", "") and motor["id-card"] == ("id_card", "")
    assert motor["repair-invoice"] == ("invoice", "claimed_amount > 5000")
    assert 'loss_type == "theft"' in motor["police-report"][1]
    assert _materials("property")["police-report"][1] == 'loss_type == "theft" or loss_type == "burglary"'
    assert _materials("health")["discharge-summary"] == ("discharge_summary", 'loss_type == "hospitalization"')
    assert _materials("life")["death-certificate"] == ("death_certificate", 'loss_type == "death"')
    assert _materials("accident")["death-certificate"][1] == 'loss_type == "death"'
    assert _materials("travel")["travel-proof"] == ("travel_proof", "")


def test_regulatory_presets() -> None:
    presets = {code: preset_document(code)["presets"] for code in PRESET_CODES}
    assert Decimal(presets["motor"]["fast_track_limit"]) == 5000
    assert Decimal(presets["health"]["fast_track_limit"]) == 3000
    assert all(presets[c]["fast_track_limit"] is None for c in ("accident", "property", "life", "travel"))
    assert all(p["forced_registration_hours"] <= 72 and p["callback_working_days"] <= 15 for p in presets.values())
    assert presets["life"]["life_decision_working_days"] <= 5
    motor = preset_document("motor")["steps"]
    assert [s["key"] for s in motor] == ["report", "register", "survey", "assess", "approve", "pay", "deny", "close"]
    assert any(c["text_en"] == "Third-party details verified" for s in motor for c in s["checklist"])
    deny: Any = next(s for s in motor if s["key"] == "deny")
    assert (deny["limit_value"], deny["limit_unit"]) == (3, "calendar_days")  # Insurance Law art. 24


def test_demo_seed_publishes_the_presets(tmp_path: Any) -> None:
    from django.core.files.storage import FileSystemStorage

    from claimwise.demo.seed import seed

    seed(claims=0, storage=FileSystemStorage(location=str(tmp_path)), workers=1)
    assert set(ProcessDefinition.objects.values_list("code", "status")) == {
        (code, DefinitionStatus.PUBLISHED) for code in PRESET_CODES
    }


def test_command(tmp_path: Any) -> None:
    import io

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("process", "presets", "--publish", stdout=out)
    assert "motor      published" in out.getvalue()
    out = io.StringIO()
    call_command("process", "export", "motor", "--format", "json", stdout=out)
    assert '"format": "claimwise.process/v1"' in out.getvalue()
    path = tmp_path / "shared.yaml"
    call_command("process", "export", "health", "--output", str(path))
    path.write_text(path.read_text(encoding="utf-8").replace("code: health", "code: health-b"), encoding="utf-8")
    out = io.StringIO()
    call_command("process", "import", str(path), stdout=out)
    assert "health-b v1 imported (draft" in out.getvalue()
    path.write_text(path.read_text(encoding="utf-8").replace("role: reviewer", "role: boss"), encoding="utf-8")
    with pytest.raises(CommandError, match=r"steps\[4\]\.role"):
        call_command("process", "import", str(path))
    with pytest.raises(CommandError, match="no process definition"):
        call_command("process", "export", "motor", "--version", "9")
