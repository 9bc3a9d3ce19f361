"""Back office for fraud: red-flag rules (validated, written through the services), the watch list,
the model registry (read-only, with a hand activation for rollbacks), the stored assessments and
the investigation cases (read-only: the SIU works them through the services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy
from unfold.admin import TabularInline

from claimwise.accounts.admin import actor
from claimwise.core.admin import BackOfficeModelAdmin, ReadOnlyModelAdmin
from claimwise.core.errors import DomainError, ValidationFailed
from claimwise.fraud import registry, rules, services
from claimwise.fraud.facts import FRAUD_FACT_HELP, FRAUD_FACT_TYPES, expression_problem
from claimwise.fraud.models import (
    CatastropheEvent,
    FraudModel,
    InvestigationCase,
    InvestigationNote,
    InvestigationTask,
    RedFlagRule,
    RingAlert,
    RiskAssessment,
    WarningAlert,
    WatchListEntry,
)
from claimwise.fraud.warning import catastrophe_declare


class RedFlagForm(forms.ModelForm):
    class Meta:
        model = RedFlagRule
        fields = ["code", "name", "name_en", "expression", "weight", "reason", "reason_en", "status", "position"]
        widgets = {"expression": forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        problem = expression_problem(data.get("expression") or "")
        if problem is not None:
            self.add_error("expression", problem)
        for name in ("reason", "reason_en"):
            problem = rules.template_problem(data.get(name) or "")
            if problem is not None:
                self.add_error(name, problem)
        return data


@admin.register(RedFlagRule)
class RedFlagRuleAdmin(BackOfficeModelAdmin):
    form = RedFlagForm
    list_display = ["code", "label", "weight", "status", "position", "updated_at"]
    list_filter = ["status"]
    search_fields = ["code", "name", "name_en", "expression"]
    readonly_fields = ["names_a_rule_may_use"]

    @admin.display(description=gettext_lazy("Names a rule may use"))
    def names_a_rule_may_use(self, obj: RedFlagRule | None) -> SafeString:
        return format_html_join(
            "",
            "<div><code>{}</code> ({}) — {}</div>",
            ((n, t.name.lower(), FRAUD_FACT_HELP[n]) for n, t in FRAUD_FACT_TYPES.items()),
        )

    @admin.display(description=gettext_lazy("name"))
    def label(self, obj: RedFlagRule) -> str:
        return obj.label

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        data = {f: form.cleaned_data.get(f) for f in RedFlagForm.Meta.fields}
        try:
            saved = rules.rule_save(actor=actor(request), data=data, rule_id=obj.pk if change else None)
        except ValidationFailed as exc:
            raise forms.ValidationError(str(exc.message)) from exc
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        try:
            rules.rule_delete(actor=actor(request), rule_id=obj.pk)
        except DomainError as exc:
            messages.error(request, str(exc.message))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class WatchForm(forms.ModelForm):
    class Meta:
        model = WatchListEntry
        fields = ["kind", "value", "reason"]


@admin.register(WatchListEntry)
class WatchListEntryAdmin(BackOfficeModelAdmin):
    form = WatchForm
    list_display = ["kind", "short_value", "reason", "active", "added_at"]
    list_filter = ["kind", "active"]

    @admin.display(description=gettext_lazy("value or keyed hash"))
    def short_value(self, obj: WatchListEntry) -> str:
        return obj.value if len(obj.value) < 40 else obj.value[:12] + "…"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["kind", "value", "reason", "active"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        if change:
            return
        try:
            saved = services.watchlist_add(
                actor=actor(request),
                kind=form.cleaned_data["kind"],
                value=form.cleaned_data["value"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationFailed as exc:
            raise forms.ValidationError(str(exc.message)) from exc
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        services.watchlist_remove(actor=actor(request), entry_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(FraudModel)
class FraudModelAdmin(ReadOnlyModelAdmin):
    list_display = ["version", "name", "scope", "status", "roc_auc", "trained_by", "trained_at"]
    list_filter = ["scope", "status"]
    exclude = ["artifact"]
    actions = ["activate"]  # type: ignore[assignment]

    @admin.display(description=gettext_lazy("ROC-AUC"))
    def roc_auc(self, obj: FraudModel) -> str:
        value = (obj.metrics.get("mean") or {}).get("roc_auc")
        return "—" if value is None else f"{value:.4f}"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("artifact")

    @admin.action(description=gettext_lazy("Make the selected model the active one of its scope"))
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        for row in queryset[:1]:
            registry.model_activate(actor=actor(request), model_id=row.pk)


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(ReadOnlyModelAdmin):
    list_display = ["claim", "score", "version", "trigger", "at"]
    list_filter = ["trigger"]
    search_fields = ["claim__number"]
    list_select_related = ["claim"]


class CatastropheForm(forms.ModelForm):
    class Meta:
        model = CatastropheEvent
        fields = ["name", "kind", "region", "lines", "starts_on", "ends_on"]


@admin.register(CatastropheEvent)
class CatastropheEventAdmin(BackOfficeModelAdmin):
    """Declared through the service (audited; alerts inside it become expected); kept, not edited."""

    form = CatastropheForm
    list_display = ["name", "kind", "region", "starts_on", "ends_on", "declared_at"]
    list_filter = ["kind"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return CatastropheForm.Meta.fields if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        if change:
            return
        data = form.cleaned_data
        try:
            saved = catastrophe_declare(
                actor=actor(request),
                name=data["name"],
                kind=data["kind"],
                region=data.get("region") or "",
                lines=list(data.get("lines") or []),
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
            )
        except ValidationFailed as exc:
            raise forms.ValidationError(str(exc.message)) from exc
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WarningAlert)
class WarningAlertAdmin(ReadOnlyModelAdmin):
    list_display = ["day", "measure", "dimension", "key", "value", "upper_limit", "expected", "claims_behind"]
    list_filter = ["measure", "dimension", "expected"]
    date_hierarchy = "day"

    @admin.display(description=gettext_lazy("claims"))
    def claims_behind(self, obj: WarningAlert) -> int:
        return len(obj.claim_ids)


class InvestigationTaskInline(TabularInline):
    model = InvestigationTask
    extra = 0
    can_delete = False
    fields = ["text", "assignee", "due_at", "done_at", "done_by"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InvestigationNoteInline(TabularInline):
    model = InvestigationNote
    extra = 0
    can_delete = False
    fields = ["at", "author", "text"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InvestigationCase)
class InvestigationCaseAdmin(ReadOnlyModelAdmin):
    list_display = ["__str__", "claim", "status", "score_at_opening", "assignee", "due_at", "outcome", "amount_saved"]
    list_filter = ["status", "outcome"]
    search_fields = ["claim__number"]
    list_select_related = ["claim", "assignee"]
    inlines = [InvestigationTaskInline, InvestigationNoteInline]


@admin.register(RingAlert)
class RingAlertAdmin(ReadOnlyModelAdmin):
    list_display = ["kind", "entity", "claimants", "claim_count", "first_seen", "last_seen", "updated_at"]
    list_filter = ["kind"]
    exclude = ["key"]  # the keyed hash means nothing to a reader; the masked entity is shown
    raw_id_fields = ["claims"]
