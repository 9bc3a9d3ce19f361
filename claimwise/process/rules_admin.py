"""Back office for auto-review rules (with a dry run before saving) and the approval matrix.
Every write goes through `process.services` (validated, audited, clears the cached set-up)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claimwise.accounts.admin import actor
from claimwise.core.admin import BackOfficeModelAdmin
from claimwise.core.errors import DomainError, ValidationFailed
from claimwise.process import services
from claimwise.process.facts import FACT_HELP, FACT_TYPES, expression_problem
from claimwise.process.models import AuthorityLimit, AutoReviewRule
from claimwise.process.review import review_dry_run


def _facts_help() -> SafeString:
    return format_html_join(
        "", "<div><code>{}</code> ({}) — {}</div>", ((n, t.name.lower(), FACT_HELP[n]) for n, t in FACT_TYPES.items())
    )


class RuleForm(forms.ModelForm):
    last_n = forms.IntegerField(
        label=gettext_lazy("Dry run over the last N closed claims"),
        min_value=1,
        max_value=5000,
        initial=500,
        required=False,
    )

    class Meta:
        model = AutoReviewRule
        fields = ["code", "name", "name_en", "line", "expression", "status", "position"]
        widgets = {"expression": forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        expression = data.get("expression") or ""
        problem = expression_problem(expression)
        if problem is not None:
            self.add_error("expression", problem.message)
        return data


@admin.register(AutoReviewRule)
class AutoReviewRuleAdmin(BackOfficeModelAdmin):
    form = RuleForm
    list_display = ["code", "label", "line", "status", "position", "updated_at"]
    list_filter = ["line", "status"]
    search_fields = ["code", "name", "name_en", "expression"]
    readonly_fields = ["names_a_rule_may_use"]
    fieldsets = [
        (None, {"fields": ["code", "name", "name_en", "line", "status", "position"]}),
        (gettext_lazy("Rule"), {"fields": ["expression", "last_n", "names_a_rule_may_use"]}),
    ]
    change_form_template = "process/admin/rule_change_form.html"

    @admin.display(description=gettext_lazy("Names a rule may use"))
    def names_a_rule_may_use(self, obj: AutoReviewRule | None) -> SafeString:
        return _facts_help()

    @admin.display(description=gettext_lazy("name"))
    def label(self, obj: AutoReviewRule) -> str:
        return obj.label

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "POST" and "_dry_run" in request.POST:
            self._dry_run(request)
            # Show the form again with what was typed, nothing saved.
            request.method = "GET"
            request.GET = request.POST  # type: ignore[assignment]
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _dry_run(self, request: HttpRequest) -> None:
        try:
            last_n = int(request.POST.get("last_n") or 500)
            run = review_dry_run(
                actor=actor(request),
                line=request.POST.get("line", ""),
                expression=request.POST.get("expression", ""),
                last_n=last_n,
            )
        except (ValidationFailed, ValueError) as exc:
            detail = getattr(exc, "detail", None) or [{"message": str(exc)}]
            messages.error(request, "; ".join(str(d["message"]) for d in detail))
            return
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(run.outcomes.items())) or "—"
        messages.info(
            request,
            _(
                "Dry run over %(examined)s closed claims: %(matched)s would have been approved automatically "
                "(claimed %(claimed)s, actually paid %(paid)s). How they actually ended: %(outcomes)s."
            )
            % {
                "examined": run.examined,
                "matched": run.matched,
                "claimed": run.matched_claimed,
                "paid": run.matched_paid,
                "outcomes": outcomes,
            },
        )
        if run.would_have_erred:
            messages.warning(
                request,
                _("Denied or cut in reality, so the rule would have paid them wrongly: %(claims)s")
                % {"claims": ", ".join(run.would_have_erred[:20])},
            )

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        data = {f: form.cleaned_data.get(f) for f in RuleForm.Meta.fields}
        try:
            saved = services.rule_save(actor=actor(request), data=data, rule_id=obj.pk if change else None)
        except ValidationFailed as exc:
            raise forms.ValidationError(str(exc.message)) from exc
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        try:
            services.rule_delete(actor=actor(request), rule_id=obj.pk)
        except DomainError as exc:
            messages.error(request, str(exc.message))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class LimitForm(forms.ModelForm):
    class Meta:
        model = AuthorityLimit
        fields = ["role", "line", "max_amount"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("role") and data["role"] not in services.APPROVER_ROLES:
            self.add_error("role", _("Only handlers, reviewers and supervisors approve claims."))
        return data


@admin.register(AuthorityLimit)
class AuthorityLimitAdmin(BackOfficeModelAdmin):
    form = LimitForm
    list_display = ["role", "line", "max_amount", "updated_at"]
    list_filter = ["role", "line"]

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        saved = services.authority_limit_save(
            actor=actor(request),
            role=form.cleaned_data["role"],
            line=form.cleaned_data.get("line") or "",
            max_amount=form.cleaned_data["max_amount"],
            limit_id=obj.pk if change else None,
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        services.authority_limit_delete(actor=actor(request), limit_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
