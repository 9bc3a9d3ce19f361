"""Back office for process definitions (P1, P5, S2).

A definition is edited with its steps and materials while it is a draft; published and retired
versions are read-only. The form and its two inlines are judged together as one document by
`definition_problems` (the problems land on the field they name) and written as one document by
`definition_create` / `definition_update`, which audit the change: nothing here saves a row itself.
Publishing, making a new version and importing go through their services too, after a confirmation
posted with the CSRF token; export downloads the shared YAML format; the change page shows the map.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import Model
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import StackedInline, TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminSelectMultipleWidget

from claimwise.accounts.models import User
from claimwise.claims.choices import LossType
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.core.admin import BackOfficeModelAdmin, BackOfficePermissions, can_edit_back_office
from claimwise.core.errors import DomainError
from claimwise.process.choices import DefinitionStatus
from claimwise.process.definitions import (
    definition_create,
    definition_delete,
    definition_document,
    definition_new_version,
    definition_publish,
    definition_update,
)
from claimwise.process.models import MaterialRequirement, ProcessDefinition, ProcessStep
from claimwise.process.svg import definition_svg
from claimwise.process.transfer import definition_import, dump_document
from claimwise.process.validation import FORMAT, PRESET_DEFAULTS, definition_problems, normalized

PROBLEM_PATH = re.compile(r"^(steps|materials)\[(\d+)\](?:\.(\w+))?")


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _is_draft(obj: Model | None) -> bool:
    return obj is None or getattr(obj, "status", None) == DefinitionStatus.DRAFT


def _choices_field(choices: Any, label: Any, required: bool) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label, choices=choices, required=required, widget=UnfoldAdminSelectMultipleWidget(attrs={"size": 5})
    )


# --- inlines ---------------------------------------------------------------------------------------


class DraftOnly(BackOfficePermissions):
    """Administrators edit drafts; published and retired versions are looked at only."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_edit_back_office(request.user) and _is_draft(obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_edit_back_office(request.user) and _is_draft(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_edit_back_office(request.user) and _is_draft(obj)


class StepForm(forms.ModelForm):
    states = _choices_field(ClaimStatus.choices, gettext_lazy("claim states"), True)
    next_steps = forms.CharField(
        label=gettext_lazy("next steps"),
        required=False,
        help_text=gettext_lazy("Keys of the steps that may follow, separated by commas."),
    )

    class Meta:
        model = ProcessStep
        fields = (
            "key",
            "position",
            "name",
            "name_en",
            "customer_text",
            "customer_text_en",
            "states",
            "role",
            "escalate_to",
            "limit_value",
            "limit_unit",
            "warn_percent",
            "checklist",
            "next_steps",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["next_steps"] = ", ".join(self.instance.next_steps or [])

    def clean_next_steps(self) -> list[str]:
        return [k for k in re.split(r"[\s,，]+", self.cleaned_data.get("next_steps") or "") if k]


class StepInline(DraftOnly, StackedInline):
    model = ProcessStep
    form = StepForm
    extra = 0
    fields = (
        ("key", "position"),
        ("name", "name_en"),
        ("customer_text", "customer_text_en"),
        "states",
        ("role", "escalate_to"),
        ("limit_value", "limit_unit", "warn_percent"),
        "checklist",
        "next_steps",
    )


class MaterialInline(DraftOnly, TabularInline):
    model = MaterialRequirement
    extra = 0
    fields = ("key", "position", "doc_type", "name", "name_en", "condition")

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "condition":
            kwargs["widget"] = forms.TextInput(attrs={"size": 40})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# --- the definition form: one document over the form and its inlines -------------------------------


def _rows(formset: BaseInlineFormSet) -> list[forms.ModelForm]:
    """The inline forms that make the document, in position order (blank extra rows and rows
    marked for deletion left out)."""
    kept = [
        f
        for f in formset.forms
        if (f.instance.pk is not None or f.has_changed()) and not formset._should_delete_form(f)  # type: ignore[attr-defined]
    ]
    return sorted(kept, key=lambda f: (f.cleaned_data.get("position") or 0, formset.forms.index(f)))


class DefinitionForm(forms.ModelForm):
    loss_types = _choices_field(LossType.choices, gettext_lazy("loss types"), False)
    request: HttpRequest | None = None  # set by `ProcessDefinitionAdmin.get_form`

    class Meta:
        model = ProcessDefinition
        fields = (
            "code",
            "name",
            "name_en",
            "description",
            "line",
            "loss_types",
            "pause_on_documents",
            *PRESET_DEFAULTS,
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        formsets = getattr(self.request, "_process_formsets", None)
        if formsets is None or self.errors:
            return data
        by_model = {fs.model: fs for fs in formsets}
        steps_fs, materials_fs = by_model[ProcessStep], by_model[MaterialRequirement]
        if not (steps_fs.is_valid() and materials_fs.is_valid()):
            return data  # their own errors are shown on their rows first
        step_rows, material_rows = _rows(steps_fs), _rows(materials_fs)
        document = self._document(data, step_rows, material_rows)
        problems = definition_problems(document)
        for problem in problems:
            self._show(problem, {"steps": step_rows, "materials": material_rows})
        if not problems:
            self.document = normalized(document)
        return data

    @staticmethod
    def _document(data: dict[str, Any], steps: list[forms.ModelForm], materials: list[forms.ModelForm]) -> dict:
        def money(value: Any) -> str | None:
            return None if value is None else f"{value:.2f}"

        presets = {name: data.get(name) for name in PRESET_DEFAULTS}
        presets["fast_track_limit"] = money(presets["fast_track_limit"])
        presets["default_reserve"] = money(presets["default_reserve"])
        step_fields = [f for f in StepForm.Meta.fields if f != "position"]
        return {
            "format": FORMAT,
            **{k: data.get(k) for k in ("code", "name", "name_en", "description", "line")},
            "loss_types": list(data.get("loss_types") or []),
            "pause_on_documents": bool(data.get("pause_on_documents")),
            "presets": presets,
            "steps": [{k: f.cleaned_data.get(k) for k in step_fields} for f in steps],
            "materials": [
                {k: f.cleaned_data.get(k) or "" for k in ("key", "doc_type", "name", "name_en", "condition")}
                for f in materials
            ],
        }

    def _show(self, problem: dict[str, Any], rows: dict[str, list[forms.ModelForm]]) -> None:
        """Put a problem next to the field it names: a row's field, the form's, or the top."""
        field, message = problem["field"], problem["message"]
        match = PROBLEM_PATH.match(field)
        if match:
            kind, index, name = match.group(1), int(match.group(2)), match.group(3)
            row = rows[kind][index]
            row.add_error(name if name in row.fields else None, message)
            # Also at the top: a long list of steps hides a row's message below the fold.
            self.add_error(None, f"{field}: {message}")
            return
        name = field.removeprefix("presets.")
        if name in self.fields and name in self.cleaned_data:
            self.add_error(name, message)
        else:
            self.add_error(None, f"{field}: {message}" if field not in ("steps", "document") else message)


# --- the admin ---------------------------------------------------------------------------------


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(DraftOnly, BackOfficeModelAdmin):
    form = DefinitionForm
    inlines = (StepInline, MaterialInline)
    list_display = ("code", "version", "label", "line", "status_label", "published_at")
    list_filter = ("line", "status")
    search_fields = ("code", "name", "name_en")
    ordering = ("line", "code", "-version")
    warn_unsaved_form = True
    actions = None
    actions_list = ("import_definition",)
    actions_detail = ("publish", "new_version", "export_yaml")
    fieldsets = (
        (None, {"fields": ("code", "version", "status", "name", "name_en", "description", "line", "loss_types")}),
        (
            gettext_lazy("Presets (stricter than the regulation allowed, never looser)"),
            {
                "fields": (
                    "pause_on_documents",
                    ("fast_track_limit", "fast_track_days"),
                    ("life_decision_working_days", "forced_registration_hours", "callback_working_days"),
                    "default_reserve",
                )
            },
        ),
        (gettext_lazy("Process map"), {"fields": ("process_map",)}),
        (gettext_lazy("Publication"), {"fields": ("published_at", "published_by")}),
    )
    readonly_fields = ("version", "status", "published_at", "published_by", "process_map")

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Drafts only, and never one a claim follows (definitions.definition_delete says why).
        in_use = obj is not None and cast(ProcessDefinition, obj).claims.exists()
        return super().has_delete_permission(request, obj) and not in_use

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def _create_formsets(self, request: HttpRequest, obj: Any, change: bool) -> Any:
        formsets, inlines = super()._create_formsets(request, obj, change)  # type: ignore[misc]
        request._process_formsets = formsets  # type: ignore[attr-defined]  # read by DefinitionForm.clean
        return formsets, inlines

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            saved = definition_update(actor=_actor(request), definition_id=obj.pk, data=form.document)
        else:
            saved = definition_create(actor=_actor(request), data=form.document)
        # The admin goes on with the form's instance (messages, redirect): make it the saved row.
        for field in ProcessDefinition._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        obj._state.db = saved._state.db

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The steps and materials were written with the definition, as one document."""

    def construct_change_message(self, request: HttpRequest, form: Any, formsets: Any, add: bool = False) -> Any:
        return []  # the audit trail records the change (see core.admin.AuditTrailHistory)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        definition_delete(actor=_actor(request), definition_id=obj.pk)

    @display(description=gettext_lazy("name"))
    def label(self, obj: ProcessDefinition) -> str:
        return obj.label

    @display(
        description=gettext_lazy("status"),
        ordering="status",
        label={
            DefinitionStatus.DRAFT: "warning",
            DefinitionStatus.PUBLISHED: "success",
            DefinitionStatus.RETIRED: "info",
        },
    )
    def status_label(self, obj: ProcessDefinition) -> tuple[str, str]:
        return obj.status, obj.get_status_display()

    @display(description=gettext_lazy("map"))
    def process_map(self, obj: ProcessDefinition) -> str:
        if obj.pk is None:
            return _("Save the draft to see its map.")
        # The SVG is built from escaped text only (svg.py), so it can be inlined as is.
        return mark_safe(f'<div style="overflow-x:auto">{definition_svg(obj)}</div>')  # noqa: S308

    # --- actions -----------------------------------------------------------------------------------

    def has_publish_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        obj = ProcessDefinition.objects.filter(pk=object_id).first() if object_id else None
        return can_edit_back_office(request.user) and (obj is None or obj.status == DefinitionStatus.DRAFT)

    def has_new_version_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return can_edit_back_office(request.user)

    def has_import_permission(self, request: HttpRequest, object_id: Any = None) -> bool:
        return can_edit_back_office(request.user)

    def _confirm(self, request: HttpRequest, object_id: str, title: str, run: Any) -> HttpResponse:
        """A confirmation page on GET; the service on POST (CSRF-protected), back to the change page."""
        obj = ProcessDefinition.objects.filter(pk=object_id).first()
        if obj is None:
            return HttpResponseRedirect(reverse("admin:process_processdefinition_changelist"))
        if request.method != "POST":
            context = {**self.admin_site.each_context(request), "opts": self.opts, "object": obj, "title": title}
            return render(request, "admin/process/processdefinition/confirm.html", context)
        try:
            result = run(obj)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            for problem in exc.detail if isinstance(exc.detail, list) else []:
                messages.error(request, f"{problem.get('field')}: {problem.get('message')}")
            result = obj
        else:
            messages.success(request, _("Done: %(obj)s.") % {"obj": result})
        return HttpResponseRedirect(reverse("admin:process_processdefinition_change", args=(result.pk,)))

    @action(description=gettext_lazy("Publish"), url_path="publish", icon="publish", permissions=["publish"])
    def publish(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirm(
            request,
            object_id,
            _("Publish this version? New claims will follow it and the code's published version retires."),
            lambda obj: definition_publish(actor=_actor(request), definition_id=obj.pk),
        )

    @action(
        description=gettext_lazy("New version"),
        url_path="new-version",
        icon="content_copy",
        permissions=["new_version"],
    )
    def new_version(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._confirm(
            request,
            object_id,
            _("Copy this version into a new draft?"),
            lambda obj: definition_new_version(actor=_actor(request), definition_id=obj.pk),
        )

    @action(description=gettext_lazy("Export (YAML)"), url_path="export", icon="download", permissions=["view"])
    def export_yaml(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = ProcessDefinition.objects.filter(pk=object_id).first()
        if obj is None:
            return HttpResponseRedirect(reverse("admin:process_processdefinition_changelist"))
        response = HttpResponse(
            dump_document(definition_document(obj), "yaml"), content_type="application/yaml; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{obj.code}-v{obj.version}.yaml"'
        return response

    @action(description=gettext_lazy("Import a definition"), url_path="import", icon="upload", permissions=["import"])
    def import_definition(self, request: HttpRequest) -> HttpResponse:
        problems: list[dict[str, Any]] = []
        error = ""
        if request.method == "POST":
            upload = request.FILES.get("file")
            if upload is None:
                error = _("Choose a JSON or YAML file.")
            else:
                try:
                    definition = definition_import(
                        actor=_actor(request), source=upload.read(), publish=bool(request.POST.get("publish"))
                    )
                except DomainError as exc:
                    error = str(exc.message)
                    problems = exc.detail if isinstance(exc.detail, list) else []
                else:
                    messages.success(request, _("Imported: %(obj)s.") % {"obj": definition})
                    return HttpResponseRedirect(
                        reverse("admin:process_processdefinition_change", args=(definition.pk,))
                    )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import a process definition"),
            "error": error,
            "problems": problems,
            "format": FORMAT,
        }
        return render(request, "admin/process/processdefinition/import.html", context, status=422 if error else 200)


from claimwise.process import rules_admin  # noqa: F401, E402  (rules and the approval matrix)
