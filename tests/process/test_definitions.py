"""Process definitions (P1, P5): whole-document validation and the audited draft → published →
retired life of a version."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.utils import translation

from claimwise.accounts.choices import Role
from claimwise.claims.services import claim_submit
from claimwise.core.audit import audit_verify
from claimwise.core.errors import DomainError, NotFound, ValidationFailed
from claimwise.core.models import AuditEntry
from claimwise.process.choices import DefinitionStatus
from claimwise.process.definitions import (
    definition_create,
    definition_delete,
    definition_document,
    definition_for,
    definition_new_version,
    definition_problems,
    definition_publish,
    definition_retire,
    definition_update,
)
from claimwise.process.models import ClaimProcess, ProcessDefinition
from claimwise.process.presets import preset_document
from tests import factories


def small(**changes: Any) -> dict[str, Any]:
    """A minimal valid motor process: report → register → assess → approve → pay/deny → close."""
    doc: dict[str, Any] = {
        "code": "motor-small",
        "name": "小型车险流程",
        "line": "motor",
        "steps": [
            {
                "key": "report",
                "name": "报案",
                "states": ["reported"],
                "role": "handler",
                "limit_value": 24,
                "limit_unit": "hours",
                "next_steps": ["register"],
            },
            {
                "key": "register",
                "name": "立案",
                "states": ["registered"],
                "role": "handler",
                "limit_value": 1,
                "next_steps": ["assess"],
            },
            {
                "key": "assess",
                "name": "定损",
                "states": ["assessment"],
                "role": "handler",
                "limit_value": 3,
                "next_steps": ["approve"],
            },
            {
                "key": "approve",
                "name": "核赔",
                "states": ["pending_approval"],
                "role": "reviewer",
                "limit_value": 2,
                "next_steps": ["pay", "deny"],
            },
            {
                "key": "pay",
                "name": "支付",
                "states": ["approved", "payment_pending"],
                "role": "handler",
                "limit_value": 10,
                "limit_unit": "calendar_days",
                "next_steps": ["close"],
            },
            {
                "key": "deny",
                "name": "拒赔",
                "states": ["denied"],
                "role": "handler",
                "limit_value": 3,
                "limit_unit": "calendar_days",
                "next_steps": ["close"],
            },
            {"key": "close", "name": "结案", "states": ["paid", "closed"], "role": "handler", "limit_value": 5},
        ],
        "materials": [
            {"key": "claim-form", "doc_type": "claim_form", "name": "索赔申请书"},
            {"key": "police", "doc_type": "police_report", "name": "报案证明", "condition": 'loss_type == "theft"'},
        ],
    }
    doc.update(changes)
    return doc


def fields(problems: list[dict[str, Any]]) -> set[str]:
    return {p["field"] for p in problems}


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


# --- validation ---------------------------------------------------------------------------------


def test_small_process_and_every_preset_are_valid() -> None:
    assert definition_problems(small()) == []
    for code in ("motor", "health", "accident", "property", "life", "travel"):
        assert definition_problems(preset_document(code)) == [], code


def test_step_fields_are_checked_each_with_its_path() -> None:
    doc = small()
    doc["steps"][1].update(role="wizard", limit_value=0, warn_percent=100, limit_unit="weeks", escalate_to="nobody")
    doc["steps"][2].pop("role")
    doc["steps"][2]["states"] = ["assessment", "flying"]
    problems = definition_problems(doc)
    assert {
        "steps[1].role",
        "steps[1].limit_value",
        "steps[1].warn_percent",
        "steps[1].limit_unit",
        "steps[1].escalate_to",
        "steps[2].role",
        "steps[2].states",
    } <= fields(problems)
    assert all(p["message"] for p in problems)


def test_customer_cannot_own_a_step() -> None:
    doc = small()
    doc["steps"][0]["role"] = Role.CUSTOMER.value
    assert "steps[0].role" in fields(definition_problems(doc))


def test_a_state_belongs_to_one_step_and_keys_are_unique_slugs() -> None:
    doc = small()
    doc["steps"][2]["states"] = ["assessment", "registered"]
    doc["steps"][3]["key"] = "assess"
    doc["steps"][4]["key"] = "Pay Now"
    problems = definition_problems(doc)
    messages = {p["field"]: p["message"] for p in problems}
    assert "already belongs to step “register”" in messages["steps[2].states"]
    assert "steps[3].key" in messages and "steps[4].key" in messages


def test_unknown_next_step_and_unreachable_step() -> None:
    doc = small()
    doc["steps"][0]["next_steps"] = ["registr"]
    problems = definition_problems(doc)
    assert any(p["field"] == "steps[0].next_steps" and "registr" in p["message"] for p in problems)
    # Nothing leads to register any more, so it and what only it leads to cannot be reached.
    unreachable = {p["field"] for p in problems if "cannot be reached" in p["message"]}
    assert unreachable == {f"steps[{i}]" for i in range(1, 7)}


def test_next_steps_must_follow_the_lifecycle() -> None:
    doc = small()
    # Nothing goes from a paid claim back to assessment, nor from reported straight to approval.
    doc["steps"][6]["next_steps"] = ["assess"]
    doc["steps"][0]["next_steps"] = ["register", "approve"]
    problems = [p for p in definition_problems(doc) if "lifecycle" in p["message"]]
    assert fields(problems) == {"steps[6].next_steps", "steps[0].next_steps"}


def test_states_no_step_owns_are_passed_through() -> None:
    """Awaiting documents belongs to no step here: the claim waits in its step and comes back."""
    doc = small()
    doc["steps"] = [s for s in doc["steps"] if s["key"] != "register"]
    doc["steps"][0]["next_steps"] = ["assess"]  # reported → (registered, no step) → assessment
    assert definition_problems(doc) == []


def test_checklist_items_need_unique_keys_and_text() -> None:
    doc = small()
    doc["steps"][0]["checklist"] = [
        {"key": "a", "text": "信息已记录"},
        {"key": "a", "text": "重复"},
        {"key": "b", "text": ""},
        {"key": "c", "text": "ok", "colour": "red"},
    ]
    assert {"steps[0].checklist[1].key", "steps[0].checklist[2].text", "steps[0].checklist[3].colour"} <= fields(
        definition_problems(doc)
    )


def test_material_condition_errors_carry_the_position() -> None:
    doc = small()
    doc["materials"][1]["condition"] = 'loss_typ == "theft"'
    doc["materials"].append({"key": "x", "doc_type": "passport", "name": "护照"})
    doc["materials"].append({"key": "y", "doc_type": "invoice", "name": "发票", "condition": "claimed_amount >"})
    problems = definition_problems(doc)
    by_field = {p["field"]: p for p in problems}
    assert by_field["materials[1].condition"]["position"] == 0
    assert "loss_typ" in by_field["materials[1].condition"]["message"]
    assert "materials[2].doc_type" in by_field
    assert "Syntax error" in by_field["materials[3].condition"]["message"]


@pytest.mark.parametrize(
    ("line", "name", "value", "ok"),
    [
        ("motor", "fast_track_limit", "5000.00", True),
        ("motor", "fast_track_limit", "5000.01", False),
        ("health", "fast_track_limit", "3000", True),
        ("health", "fast_track_limit", "3500", False),
        ("property", "fast_track_limit", "1000", False),
        ("property", "fast_track_limit", None, True),
        ("motor", "fast_track_limit", 4999.5, False),  # floats lose cents
        ("motor", "fast_track_days", 3, True),
        ("motor", "fast_track_days", 4, False),
        ("life", "life_decision_working_days", 5, True),
        ("life", "life_decision_working_days", 6, False),
        ("motor", "forced_registration_hours", 48, True),
        ("motor", "forced_registration_hours", 73, False),
        ("motor", "callback_working_days", 16, False),
        ("motor", "callback_working_days", 0, False),
    ],
)
def test_presets_may_be_stricter_never_looser(line: str, name: str, value: Any, ok: bool) -> None:
    doc = small(line=line, presets={name: value})
    problems = [p for p in definition_problems(doc) if p["field"].startswith("presets")]
    assert (problems == []) is ok, problems


def test_whole_document_shape() -> None:
    assert fields(definition_problems([])) == {"document"}
    problems = definition_problems(small(steps=[], line="boats", loss_types=["meteor"], extra=1, code=""))
    assert {"steps", "line", "loss_types", "extra", "code"} <= fields(problems)


# --- services -----------------------------------------------------------------------------------


@pytest.fixture
def admin(db: Any) -> Any:
    return factories.user(Role.ADMIN)


def test_create_update_publish_new_version_retire(admin: Any) -> None:
    draft = definition_create(actor=admin, data=small())
    assert (draft.code, draft.version, draft.status) == ("motor-small", 1, DefinitionStatus.DRAFT)
    assert [s.key for s in draft.steps.order_by("position")][:2] == ["report", "register"]
    assert draft.materials.count() == 2

    changed = small(name="车险流程（修订）")
    changed["steps"][0]["limit_value"] = 12
    definition_update(actor=admin, definition_id=draft.pk, data=changed)
    draft.refresh_from_db()
    assert draft.name == "车险流程（修订）" and draft.steps.get(key="report").limit_value == 12

    v1 = definition_publish(actor=admin, definition_id=draft.pk)
    assert v1.status == DefinitionStatus.PUBLISHED and v1.published_by == admin and v1.published_at
    assert definition_for("motor", "collision") == v1

    # Published versions never change.
    with pytest.raises(DomainError) as err:
        definition_update(actor=admin, definition_id=v1.pk, data=small())
    assert err.value.status == 409 and err.value.detail["reason"] == "not_draft"

    v2 = definition_new_version(actor=admin, definition_id=v1.pk)
    assert (v2.version, v2.status) == (2, DefinitionStatus.DRAFT)
    assert definition_document(v2) == definition_document(v1)
    with pytest.raises(DomainError) as err:  # one draft per code
        definition_new_version(actor=admin, definition_id=v1.pk)
    assert err.value.detail["reason"] == "draft_exists"

    definition_publish(actor=admin, definition_id=v2.pk)
    v1.refresh_from_db()
    assert v1.status == DefinitionStatus.RETIRED
    assert definition_for("motor", "theft").pk == v2.pk

    definition_retire(actor=admin, definition_id=v2.pk)
    assert definition_for("motor", "theft") is None

    actions = list(
        AuditEntry.objects.filter(object_type="process.processdefinition")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == [
        "process_definition.create",
        "process_definition.update",
        "process_definition.publish",
        "process_definition.new_version",
        "process_definition.publish",
        "process_definition.retire",
    ]
    update = AuditEntry.objects.get(action="process_definition.update")
    assert update.before["document"]["steps"][0]["limit_value"] == 24
    assert update.after["document"]["steps"][0]["limit_value"] == 12
    assert audit_verify().ok


def test_invalid_document_writes_nothing(admin: Any) -> None:
    doc = small()
    doc["steps"][0]["role"] = "wizard"
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as err:
        definition_create(actor=admin, data=doc)
    assert err.value.status == 422
    assert "steps[0].role" in fields(err.value.detail)
    assert not ProcessDefinition.objects.exists()
    assert AuditEntry.objects.count() == before


def test_create_refuses_a_known_code(admin: Any) -> None:
    definition_create(actor=admin, data=small())
    with pytest.raises(ValidationFailed) as err:
        definition_create(actor=admin, data=small())
    assert fields(err.value.detail) == {"code"}


def test_definition_for_prefers_the_loss_type_then_the_catch_all(admin: Any) -> None:
    general = definition_publish(actor=admin, definition_id=definition_create(actor=admin, data=small()).pk)
    theft = definition_create(actor=admin, data=small(code="motor-theft", loss_types=["theft"]))
    assert definition_for("motor", "theft") == general
    definition_publish(actor=admin, definition_id=theft.pk)
    assert definition_for("motor", "theft") == theft
    assert definition_for("motor", "collision") == general
    assert definition_for("health", "outpatient") is None


def test_publish_refuses_a_second_process_for_the_same_claims(admin: Any) -> None:
    definition_publish(actor=admin, definition_id=definition_create(actor=admin, data=small()).pk)
    rival = definition_create(actor=admin, data=small(code="motor-rival"))
    with pytest.raises(ValidationFailed) as err:
        definition_publish(actor=admin, definition_id=rival.pk)
    assert fields(err.value.detail) == {"loss_types"}
    rival.refresh_from_db()
    assert rival.status == DefinitionStatus.DRAFT


def test_delete_drafts_only_and_never_one_in_use(admin: Any) -> None:
    draft = definition_create(actor=admin, data=small())
    published = definition_publish(actor=admin, definition_id=draft.pk)
    with pytest.raises(DomainError) as err:
        definition_delete(actor=admin, definition_id=published.pk)
    assert (err.value.status, err.value.detail["reason"]) == (409, "not_draft")

    v2 = definition_new_version(actor=admin, definition_id=published.pk)
    claim = claim_submit(
        actor=factories.user(Role.HANDLER),
        policy_number=factories.policy().number,
        incident_at=published.created_at,
        incident_place="北京",
        loss_type="collision",
        claimed_amount="1000.00",
        description="",
    ).claim
    process, _created = ClaimProcess.objects.get_or_create(claim=claim)
    ClaimProcess.objects.filter(pk=process.pk).update(definition=v2)
    with pytest.raises(DomainError) as err:
        definition_delete(actor=admin, definition_id=v2.pk)
    assert (err.value.status, err.value.detail) == (409, {"reason": "in_use", "claims": 1})

    ClaimProcess.objects.filter(pk=process.pk).update(definition=None)
    definition_delete(actor=admin, definition_id=v2.pk)
    assert not ProcessDefinition.objects.filter(pk=v2.pk).exists()
    entry = AuditEntry.objects.get(action="process_definition.delete")
    assert entry.object_id == str(v2.pk) and entry.before["document"]["code"] == "motor-small"
    with pytest.raises(NotFound):
        definition_delete(actor=admin, definition_id=v2.pk)


def test_update_may_rename_the_only_version(admin: Any) -> None:
    draft = definition_create(actor=admin, data=small())
    definition_update(actor=admin, definition_id=draft.pk, data=small(code="motor-renamed"))
    draft.refresh_from_db()
    assert draft.code == "motor-renamed"
    definition_publish(actor=admin, definition_id=draft.pk)
    v2 = definition_new_version(actor=admin, definition_id=draft.pk)
    with pytest.raises(ValidationFailed) as err:
        definition_update(actor=admin, definition_id=v2.pk, data=small(code="other"))
    assert fields(err.value.detail) == {"code"}


def test_document_is_what_was_saved(admin: Any) -> None:
    doc = copy.deepcopy(preset_document("motor"))
    definition = definition_create(actor=admin, data=doc)
    saved = definition_document(definition)
    assert saved == doc
