"""Process definitions: the audited writes and the selector that binds a claim (P1, P5).

A definition is edited as a draft, published (then immutable: claims keep the version they started
under), and replaced by publishing a new version of the same code, which retires the previous one.
Every write validates the whole document with `definition_problems` (see `validation`), runs in
one transaction and ends with an audit entry holding the document before and after.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from claimwise.accounts.models import User
from claimwise.core.audit import audit_record
from claimwise.core.errors import DomainError, ErrorCode, NotFound, ValidationFailed
from claimwise.process.choices import DefinitionStatus
from claimwise.process.models import ClaimProcess, MaterialRequirement, ProcessDefinition, ProcessStep
from claimwise.process.setup import setup_changed
from claimwise.process.validation import FORMAT, definition_problems, normalized, parse_money

__all__ = [
    "FORMAT",
    "definition_create",
    "definition_delete",
    "definition_document",
    "definition_for",
    "definition_get",
    "definition_new_version",
    "definition_problems",
    "definition_publish",
    "definition_retire",
    "definition_update",
]

AUDIT_TYPE = "process.processdefinition"


def _published_set_changed() -> None:
    """New claims bind through the cached line set-up: clear it now for this process, and again at
    commit so no request can cache the old set between the two."""
    setup_changed()
    transaction.on_commit(setup_changed)


# --- reads ----------------------------------------------------------------------------------------


def definition_get(definition_id: int) -> ProcessDefinition:
    definition = ProcessDefinition.objects.filter(pk=definition_id).first()
    if definition is None:
        raise NotFound(_("No process definition with this id."))
    return definition


def definition_document(definition: ProcessDefinition) -> dict[str, Any]:
    """The definition as a `claimwise.process/v1` document (the export format)."""

    def money(value: Any) -> str | None:
        return None if value is None else f"{value:.2f}"

    return {
        "format": FORMAT,
        "code": definition.code,
        "name": definition.name,
        "name_en": definition.name_en,
        "description": definition.description,
        "line": definition.line,
        "loss_types": list(definition.loss_types or []),
        "pause_on_documents": definition.pause_on_documents,
        "presets": {
            "fast_track_limit": money(definition.fast_track_limit),
            "fast_track_days": definition.fast_track_days,
            "life_decision_working_days": definition.life_decision_working_days,
            "forced_registration_hours": definition.forced_registration_hours,
            "callback_working_days": definition.callback_working_days,
            "default_reserve": money(definition.default_reserve),
        },
        "steps": [
            {
                "key": s.key,
                "name": s.name,
                "name_en": s.name_en,
                "customer_text": s.customer_text,
                "customer_text_en": s.customer_text_en,
                "states": list(s.states),
                "role": s.role,
                "limit_value": s.limit_value,
                "limit_unit": s.limit_unit,
                "warn_percent": s.warn_percent,
                "escalate_to": s.escalate_to,
                "checklist": [
                    {"key": c["key"], "text": c["text"], "text_en": c.get("text_en") or ""} for c in s.checklist or []
                ],
                "next_steps": list(s.next_steps or []),
            }
            for s in definition.steps.order_by("position", "pk")
        ],
        "materials": [
            {"key": m.key, "doc_type": m.doc_type, "name": m.name, "name_en": m.name_en, "condition": m.condition}
            for m in definition.materials.order_by("position", "pk")
        ],
    }


def _audit_after(definition: ProcessDefinition, document: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "version": definition.version,
        "status": definition.status,
        "document": document if document is not None else definition_document(definition),
    }


def definition_for(line: str, loss_type: str) -> ProcessDefinition | None:
    """The published definition that governs a new claim of this line and loss type: one that names
    the loss type, else the line's catch-all (no loss types), else None."""
    published = list(
        ProcessDefinition.objects.filter(line=line, status=DefinitionStatus.PUBLISHED).order_by("-published_at", "-pk")
    )
    for definition in published:
        if loss_type in (definition.loss_types or []):
            return definition
    return next((d for d in published if not d.loss_types), None)


# --- writes ---------------------------------------------------------------------------------------


def _checked(data: Any) -> dict[str, Any]:
    problems = definition_problems(data)
    if problems:
        message = ngettext(
            "The process definition has %(n)s problem.", "The process definition has %(n)s problems.", len(problems)
        )
        raise ValidationFailed(problems, message % {"n": len(problems)})
    return normalized(data)


def _write(definition: ProcessDefinition, doc: dict[str, Any]) -> None:
    """Store a canonical document on a draft: its own fields, then its steps and materials anew."""
    presets = doc["presets"]
    definition.code = doc["code"]
    definition.name = doc["name"]
    definition.name_en = doc["name_en"]
    definition.description = doc["description"]
    definition.line = doc["line"]
    definition.loss_types = doc["loss_types"]
    definition.pause_on_documents = doc["pause_on_documents"]
    definition.fast_track_limit = parse_money(presets["fast_track_limit"])
    definition.fast_track_days = presets["fast_track_days"]
    definition.life_decision_working_days = presets["life_decision_working_days"]
    definition.forced_registration_hours = presets["forced_registration_hours"]
    definition.callback_working_days = presets["callback_working_days"]
    definition.default_reserve = parse_money(presets["default_reserve"])
    definition.save()
    definition.steps.all().delete()
    definition.materials.all().delete()
    ProcessStep.objects.bulk_create(
        ProcessStep(definition=definition, position=i, **step) for i, step in enumerate(doc["steps"])
    )
    MaterialRequirement.objects.bulk_create(
        MaterialRequirement(definition=definition, position=i, **m) for i, m in enumerate(doc["materials"])
    )


def _code_taken(code: str) -> None:
    if ProcessDefinition.objects.filter(code=code).exists():
        raise ValidationFailed(
            [
                {
                    "field": "code",
                    "message": _("A process with the code “%(code)s” exists; make a new version of it instead.")
                    % {"code": code},
                }
            ]
        )


def _one_draft_per_code(code: str, *, exclude: int | None = None) -> None:
    drafts = ProcessDefinition.objects.filter(code=code, status=DefinitionStatus.DRAFT)
    draft = (drafts.exclude(pk=exclude) if exclude is not None else drafts).first()
    if draft is not None:
        raise DomainError(
            _("Version %(v)s of “%(code)s” is already a draft; publish or delete it first.")
            % {"v": draft.version, "code": code},
            code=ErrorCode.CONFLICT,
            detail={"reason": "draft_exists", "definition_id": draft.pk, "version": draft.version},
        )


def _locked_draft(definition_id: int) -> ProcessDefinition:
    definition = ProcessDefinition.objects.select_for_update().filter(pk=definition_id).first()
    if definition is None:
        raise NotFound(_("No process definition with this id."))
    if definition.status != DefinitionStatus.DRAFT:
        raise DomainError(
            _("Version %(v)s of “%(code)s” is %(status)s and cannot change; make a new version.")
            % {"v": definition.version, "code": definition.code, "status": definition.get_status_display()},
            code=ErrorCode.CONFLICT,
            detail={"reason": "not_draft", "status": definition.status},
        )
    return definition


@transaction.atomic
def definition_create(*, actor: User | None, data: Any) -> ProcessDefinition:
    """A new process (version 1, draft) from a document."""
    doc = _checked(data)
    _code_taken(doc["code"])
    definition = ProcessDefinition(version=1, status=DefinitionStatus.DRAFT)
    _write(definition, doc)
    audit_record(actor=actor, action="process_definition.create", obj=definition, after=_audit_after(definition, doc))
    return definition


@transaction.atomic
def definition_update(*, actor: User | None, definition_id: int, data: Any) -> ProcessDefinition:
    """Replace a draft's content (its steps and materials included). Published and retired versions
    never change: claims that started under them keep them."""
    definition = _locked_draft(definition_id)
    doc = _checked(data)
    if doc["code"] != definition.code:
        # The code names every version; a new code is a new process, unless this draft is all there is.
        if ProcessDefinition.objects.filter(code=definition.code).exclude(pk=definition.pk).exists():
            raise ValidationFailed(
                [{"field": "code", "message": _("Other versions use this code; the code cannot change.")}]
            )
        _code_taken(doc["code"])
    before = _audit_after(definition)
    _write(definition, doc)
    audit_record(
        actor=actor,
        action="process_definition.update",
        obj=definition,
        before=before,
        after=_audit_after(definition, doc),
    )
    return definition


def _overlapping(definition: ProcessDefinition) -> ProcessDefinition | None:
    """Another code already published for the same claims (same line; both catch-all, or sharing a
    loss type): `definition_for` could not tell which one a claim follows."""
    mine = set(definition.loss_types or [])
    others = ProcessDefinition.objects.filter(line=definition.line, status=DefinitionStatus.PUBLISHED).exclude(
        code=definition.code
    )
    for other in others:
        theirs = set(other.loss_types or [])
        if (not mine and not theirs) or mine & theirs:
            return other
    return None


@transaction.atomic
def definition_publish(*, actor: User | None, definition_id: int) -> ProcessDefinition:
    """Make a draft the version new claims follow; the code's previously published version retires."""
    definition = _locked_draft(definition_id)
    document = definition_document(definition)
    _checked(document)
    clash = _overlapping(definition)
    if clash is not None:
        raise ValidationFailed(
            [
                {
                    "field": "loss_types",
                    "message": _(
                        "“%(other)s” (version %(v)s) is already published for the same claims; retire it or narrow the loss types."
                    )
                    % {"other": clash.code, "v": clash.version},
                }
            ]
        )
    retired = []
    for previous in ProcessDefinition.objects.select_for_update().filter(
        code=definition.code, status=DefinitionStatus.PUBLISHED
    ):
        previous.status = DefinitionStatus.RETIRED
        previous.save(update_fields=["status", "updated_at"])
        retired.append(previous.version)
    definition.status = DefinitionStatus.PUBLISHED
    definition.published_at = timezone.now()
    definition.published_by = actor
    definition.save(update_fields=["status", "published_at", "published_by", "updated_at"])
    _published_set_changed()
    audit_record(
        actor=actor,
        action="process_definition.publish",
        obj=definition,
        before={"status": DefinitionStatus.DRAFT.value},
        after={"status": definition.status, "version": definition.version, "retired_versions": retired},
    )
    return definition


@transaction.atomic
def definition_retire(*, actor: User | None, definition_id: int) -> ProcessDefinition:
    """Stop a published version from binding new claims (claims already under it keep it)."""
    definition = ProcessDefinition.objects.select_for_update().filter(pk=definition_id).first()
    if definition is None:
        raise NotFound(_("No process definition with this id."))
    if definition.status != DefinitionStatus.PUBLISHED:
        raise DomainError(
            _("Only a published version can be retired."), code=ErrorCode.CONFLICT, detail={"reason": "not_published"}
        )
    definition.status = DefinitionStatus.RETIRED
    definition.save(update_fields=["status", "updated_at"])
    _published_set_changed()
    audit_record(
        actor=actor,
        action="process_definition.retire",
        obj=definition,
        before={"status": DefinitionStatus.PUBLISHED.value},
        after={"status": definition.status},
    )
    return definition


def _next_version(code: str) -> int:
    return (ProcessDefinition.objects.filter(code=code).aggregate(v=Max("version"))["v"] or 0) + 1


@transaction.atomic
def definition_new_version(*, actor: User | None, definition_id: int) -> ProcessDefinition:
    """A draft copy of any version, numbered after the code's highest version."""
    source = definition_get(definition_id)
    # Lock the code's rows so two copies cannot take the same number.
    list(ProcessDefinition.objects.select_for_update().filter(code=source.code).values_list("pk", flat=True))
    _one_draft_per_code(source.code)
    doc = definition_document(source)
    draft = ProcessDefinition(version=_next_version(source.code), status=DefinitionStatus.DRAFT)
    _write(draft, doc)
    audit_record(
        actor=actor,
        action="process_definition.new_version",
        obj=draft,
        after={**_audit_after(draft, doc), "copied_from": source.pk},
    )
    return draft


@transaction.atomic
def definition_create_version(*, actor: User | None, data: Any, action: str) -> ProcessDefinition:
    """A document stored as a draft: version 1 of a new code, or the next version of a known one
    (imports and presets)."""
    doc = _checked(data)
    code = doc["code"]
    list(ProcessDefinition.objects.select_for_update().filter(code=code).values_list("pk", flat=True))
    _one_draft_per_code(code)
    definition = ProcessDefinition(version=_next_version(code), status=DefinitionStatus.DRAFT)
    _write(definition, doc)
    audit_record(actor=actor, action=action, obj=definition, after=_audit_after(definition, doc))
    return definition


@transaction.atomic
def definition_delete(*, actor: User | None, definition_id: int) -> None:
    """Drafts only. A version any claim follows, or one that was ever published, stays: it is the
    record of the process a claim was handled under."""
    definition = ProcessDefinition.objects.select_for_update().filter(pk=definition_id).first()
    if definition is None:
        raise NotFound(_("No process definition with this id."))
    in_use = ClaimProcess.objects.filter(definition=definition).count()
    if in_use:
        raise DomainError(
            ngettext(
                "%(n)s claim follows this process version; it cannot be deleted.",
                "%(n)s claims follow this process version; it cannot be deleted.",
                in_use,
            )
            % {"n": in_use},
            code=ErrorCode.CONFLICT,
            detail={"reason": "in_use", "claims": in_use},
        )
    if definition.status != DefinitionStatus.DRAFT:
        raise DomainError(
            _("Only drafts can be deleted; a version that was published stays as a record."),
            code=ErrorCode.CONFLICT,
            detail={"reason": "not_draft", "status": definition.status},
        )
    before = _audit_after(definition)
    pk = definition.pk
    definition.delete()
    audit_record(actor=actor, action="process_definition.delete", object_type=AUDIT_TYPE, object_id=pk, before=before)
