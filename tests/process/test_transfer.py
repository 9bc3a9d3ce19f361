"""Sharing a process between companies (S2): one format, JSON or YAML, all-or-nothing imports."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from django.utils import translation

from claimwise.accounts.choices import Role
from claimwise.core.errors import DomainError, ValidationFailed
from claimwise.core.models import AuditEntry
from claimwise.process.choices import DefinitionStatus
from claimwise.process.definitions import definition_publish
from claimwise.process.models import MaterialRequirement, ProcessDefinition, ProcessStep
from claimwise.process.presets import preset_document
from claimwise.process.transfer import definition_export, definition_import, dump_document, load_document
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


@pytest.fixture
def admin() -> Any:
    return factories.user(Role.ADMIN)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_round_trip_gives_the_same_document(admin: Any, fmt: str) -> None:
    original = definition_import(actor=admin, source=preset_document("health"), publish=True)
    exported = definition_export(original)
    text = dump_document(exported, fmt)
    # Another company: the code is new there, so it arrives as version 1, a draft.
    ProcessDefinition.objects.all().delete()
    imported = definition_import(actor=admin, source=text)
    assert (imported.version, imported.status) == (1, DefinitionStatus.DRAFT)
    assert definition_export(imported) == exported
    assert load_document(dump_document(definition_export(imported), fmt)) == exported


def test_yaml_and_json_are_the_same_structure(admin: Any) -> None:
    definition = definition_import(actor=admin, source=preset_document("motor"))
    doc = definition_export(definition)
    assert yaml.safe_load(dump_document(doc, "yaml")) == json.loads(dump_document(doc, "json")) == doc
    assert doc["format"] == "claimwise.process/v1"
    assert doc["presets"]["fast_track_limit"] == "5000.00"
    assert "version" not in doc and "status" not in doc


def test_known_code_becomes_the_next_version(admin: Any) -> None:
    v1 = definition_import(actor=admin, source=preset_document("motor"), publish=True)
    changed = preset_document("motor")
    changed["steps"][0]["limit_value"] = 12
    v2 = definition_import(actor=admin, source=dump_document(changed, "yaml"))
    assert (v2.code, v2.version, v2.status) == ("motor", 2, DefinitionStatus.DRAFT)
    assert v2.steps.get(key="report").limit_value == 12
    v1.refresh_from_db()
    assert v1.status == DefinitionStatus.PUBLISHED
    # A second import while v2 is a draft would make two drafts of one code.
    with pytest.raises(DomainError) as err:
        definition_import(actor=admin, source=changed)
    assert err.value.detail["reason"] == "draft_exists"
    definition_publish(actor=admin, definition_id=v2.pk)
    v1.refresh_from_db()
    assert v1.status == DefinitionStatus.RETIRED
    assert AuditEntry.objects.filter(action="process_definition.import").count() == 2


def test_a_broken_file_is_refused_whole_with_every_problem(admin: Any) -> None:
    doc = preset_document("motor")
    doc["steps"][1]["next_steps"] = ["survey", "asess"]
    doc["steps"][2]["role"] = "surveyor"
    doc["steps"][3]["states"] = ["assessment", "repairing"]
    doc["materials"][0]["doc_type"] = "passport"
    doc["materials"][5]["condition"] = 'loss_type = "theft"'
    audits = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as err:
        definition_import(actor=admin, source=dump_document(doc, "json"), publish=True)
    problems = {p["field"] for p in err.value.detail}
    assert {
        "steps[1].next_steps",
        "steps[2].role",
        "steps[3].states",
        "materials[0].doc_type",
        "materials[5].condition",
    } <= problems
    assert not ProcessDefinition.objects.exists()
    assert not ProcessStep.objects.exists() and not MaterialRequirement.objects.exists()
    assert AuditEntry.objects.count() == audits


def test_format_is_required_and_checked(admin: Any) -> None:
    doc = preset_document("travel")
    doc["format"] = "claimwise.process/v9"
    with pytest.raises(ValidationFailed) as err:
        definition_import(actor=admin, source=doc)
    assert [p["field"] for p in err.value.detail] == ["format"]
    del doc["format"]
    doc["line"] = "boats"
    with pytest.raises(ValidationFailed) as err:
        definition_import(actor=admin, source=doc)
    assert {p["field"] for p in err.value.detail} == {"format", "line"}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"format": "claimwise.process/v1", "code": }', "line 1, column 44"),
        ("format: claimwise.process/v1\nsteps: [a, b\n", "line 3"),
        ("- just\n- a list\n", "object"),
        (b"\xff\xfe\x00", "UTF-8"),
    ],
)
def test_unreadable_files_say_where(admin: Any, text: Any, where: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        definition_import(actor=admin, source=text)
    (problem,) = err.value.detail
    assert problem["field"] == "document"
    assert where in problem["message"]


def test_minimal_document_gets_the_defaults(admin: Any) -> None:
    text = """
format: claimwise.process/v1
code: glass-only
name: 玻璃险快赔
line: motor
loss_types: [glass]
steps:
  - {key: report, name: 报案, states: [reported], role: handler, limit_value: 4, limit_unit: hours}
"""
    definition = definition_import(actor=admin, source=text, publish=True)
    doc = definition_export(definition)
    assert doc["presets"] == {
        "fast_track_limit": None,
        "fast_track_days": 3,
        "life_decision_working_days": 5,
        "forced_registration_hours": 72,
        "callback_working_days": 15,
        "default_reserve": None,
    }
    step = doc["steps"][0]
    assert (step["warn_percent"], step["escalate_to"], step["checklist"], step["next_steps"]) == (
        75,
        "supervisor",
        [],
        [],
    )
    assert doc["materials"] == [] and doc["pause_on_documents"] is True


def test_the_documented_example_imports(admin: Any) -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "process-format.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert example is not None
    definition = definition_import(actor=admin, source=example.group(1), publish=True)
    assert (definition.code, definition.loss_types) == ("glass", ["glass"])
    assert definition_export(definition) == load_document(example.group(1))
