"""Back-office building blocks and the audit trail's read-only view.

Who may do what in the Django admin is decided by the role, not by Django's per-model permission
rows: the admin role (or a superuser) changes reference data and users; supervisors, compliance
officers and auditors only look. Every write the admin makes goes through a service that writes an
`AuditEntry`; Django's own `LogEntry` is not written (the audit trail replaces it, and an object's
"History" opens its audit entries).

`core` may not import `accounts`, so the role values are spelled out here; a test checks them
against `accounts.choices.Role`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import DropdownFilter, RangeDateTimeFilter
from unfold.decorators import action, display

from claimwise.core.audit import PROBLEM_LABELS, audit_verify
from claimwise.core.calendar import calendar_day_delete, calendar_day_save
from claimwise.core.crypto import mask
from claimwise.core.models import AuditEntry, CalendarDay

#: `accounts.choices.Role` values (core sits below accounts and cannot import it).
ADMIN_ROLE = "admin"
#: Roles that may open the back office and look at reference data, users and the audit trail.
BACK_OFFICE_VIEW_ROLES = frozenset({"admin", "supervisor", "compliance", "auditor"})


def _role(user: Any) -> str:
    return str(getattr(user, "role", "") or "")


def can_view_back_office(user: Any) -> bool:
    """Staff flag (Django admin's own gate) plus a back-office role, or a superuser."""
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return False
    return bool(user.is_superuser or _role(user) in BACK_OFFICE_VIEW_ROLES)


def can_edit_back_office(user: Any) -> bool:
    """Only administrators change reference data and accounts."""
    return can_view_back_office(user) and bool(user.is_superuser or _role(user) == ADMIN_ROLE)


# Sidebar permission callbacks (UNFOLD["SIDEBAR"]["navigation"] names them by dotted path).
def sidebar_view(request: HttpRequest) -> bool:
    return can_view_back_office(request.user)


def sidebar_edit(request: HttpRequest) -> bool:
    return can_edit_back_office(request.user)


class BackOfficePermissions:
    """Role-based permissions for a ModelAdmin or an inline: view for back-office roles, writes for
    administrators only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_view_back_office(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_view_back_office(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_edit_back_office(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_edit_back_office(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_edit_back_office(request.user)


class ReadOnlyPermissions(BackOfficePermissions):
    """Look-up only, for everyone: these rows change through their own services and pages."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class AuditTrailHistory:
    """Replaces Django's `LogEntry` with the audit trail: nothing is written to `LogEntry` (the
    service already wrote an `AuditEntry` in the same transaction) and "History" lists the object's
    audit entries."""

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> None:
        return None

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> None:
        return None

    def log_deletions(self, request: HttpRequest, queryset: Any) -> None:
        return None

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        opts = self.model._meta  # type: ignore[attr-defined]
        query = urlencode({"object_type": opts.label_lower, "object_id": unquote(object_id)})
        return HttpResponseRedirect(f"{reverse('admin:core_auditentry_changelist')}?{query}")


class BackOfficeModelAdmin(AuditTrailHistory, BackOfficePermissions, ModelAdmin):
    """Base for every model in the back office."""

    show_full_result_count = False


class ReadOnlyModelAdmin(AuditTrailHistory, ReadOnlyPermissions, ModelAdmin):
    """Base for rows the back office only looks up (customers, policies, claims, the audit trail)."""

    show_full_result_count = False
    actions = None


# --- the audit trail -------------------------------------------------------------------------------

#: Keys in before/after that hold personal data: shown masked, like everywhere else in the admin.
_MASKED_KEYS = {
    "id_number": lambda v: mask(v, head=3, tail=4) if v != "***" else v,
    "id_hash": lambda v: v[:8] + "…",
    "phone": lambda v: mask(v.removeprefix("+86"), head=3, tail=4),
    "mobile": lambda v: mask(v.removeprefix("+86"), head=3, tail=4),
    "email": lambda v: mask_email(v),
    "birth_date": lambda v: v[:4] + "-**-**",
    "address": lambda v: v[:6] + "…" if len(v) > 6 else v,
    "bank_account": lambda v: mask(v, head=0, tail=4),
    "password": lambda v: "***",
}


def mask_email(value: str) -> str:
    local, at, domain = value.partition("@")
    return (local[:1] + "***" + at + domain) if at else mask(value)


def mask_personal(data: Any) -> Any:
    """A copy of an audit before/after with personal data masked (the stored entry is unchanged)."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            masker = _MASKED_KEYS.get(str(key))
            if masker is not None and isinstance(value, str) and value:
                out[key] = masker(value)
            else:
                out[key] = mask_personal(value)
        return out
    if isinstance(data, list):
        return [mask_personal(v) for v in data]
    return data


def _distinct_filter(field: str, label: Any) -> type[DropdownFilter]:
    class Filter(DropdownFilter):
        title = label
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            values = AuditEntry.objects.order_by(field).values_list(field, flat=True).distinct()
            return [(v, v) for v in values if v]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    Filter.__name__ = f"{field.title().replace('_', '')}Filter"
    return Filter


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    """The append-only, hash-chained record of every write. Nobody adds, edits or deletes here."""

    list_display = ("seq", "at", "actor_label", "action", "object_type", "object_id", "short_request_id")
    list_display_links = ("seq", "action")
    list_filter = (
        _distinct_filter("action", _("action")),
        _distinct_filter("object_type", _("object type")),
        ("at", RangeDateTimeFilter),
    )
    list_filter_submit = True
    search_fields = ("=object_id", "=request_id", "=actor_label")
    search_help_text = _("Exact object id, request id or actor user name.")
    ordering = ("-seq",)
    fieldsets = (
        (None, {"fields": ("seq", "at", "action", "object_type", "object_id")}),
        (_("Who"), {"fields": ("actor_label", "actor_id", "request_id")}),
        (_("Change"), {"fields": ("before_display", "after_display")}),
        (_("Hash chain"), {"fields": ("prev_hash", "hash")}),
    )
    readonly_fields = ("before_display", "after_display")
    actions_list = ("verify_chain",)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        # An entry is its own history: no "History" button that would point back at the trail.
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "show_history": False})

    @display(description=_("request id"))
    def short_request_id(self, obj: AuditEntry) -> str:
        return obj.request_id[:12]

    @display(description=_("before"))
    def before_display(self, obj: AuditEntry) -> str:
        return self._json(obj.before)

    @display(description=_("after"))
    def after_display(self, obj: AuditEntry) -> str:
        return self._json(obj.after)

    @staticmethod
    def _json(value: Any) -> str:
        if value is None:
            return "—"
        text = json.dumps(mask_personal(value), indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre style="white-space: pre-wrap; word-break: break-all; font-size: 12px">{}</pre>', text)

    @action(description=_("Verify the hash chain"), icon="verified", url_path="verify-chain", permissions=["view"])
    def verify_chain(self, request: HttpRequest) -> HttpResponse:
        result = audit_verify()
        if result.ok:
            messages.success(
                request,
                ngettext(
                    "Audit chain intact: %(n)d entry verified.",
                    "Audit chain intact: %(n)d entries verified.",
                    result.checked,
                )
                % {"n": result.checked},
            )
        else:
            messages.error(
                request,
                ngettext(
                    "Audit chain broken at entry #%(seq)s (%(problem)s) after %(n)d good entry.",
                    "Audit chain broken at entry #%(seq)s (%(problem)s) after %(n)d good entries.",
                    result.checked,
                )
                % {
                    "seq": result.first_bad_seq,
                    "problem": PROBLEM_LABELS.get(result.problem, result.problem),
                    "n": result.checked,
                },
            )
        return HttpResponseRedirect(reverse("admin:core_auditentry_changelist"))


# --- the working-day calendar -----------------------------------------------------------------------


@admin.register(CalendarDay)
class CalendarDayAdmin(BackOfficeModelAdmin):
    """Days from the State Council's holiday notice (holidays and 调休 make-up workdays) for years the
    calendar package does not know yet; each row overrides the package for its day. Audited."""

    list_display = ("date", "is_workday", "name")
    list_filter = ("is_workday",)
    search_fields = ("name",)
    date_hierarchy = "date"
    ordering = ("-date",)

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        calendar_day_save(actor=request.user, instance=obj)

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        calendar_day_delete(actor=request.user, instance=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """The bulk "delete selected" action: one audited delete per row."""
        for obj in queryset:
            calendar_day_delete(actor=request.user, instance=obj)
