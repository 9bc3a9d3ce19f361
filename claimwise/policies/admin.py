"""Back office for products and their coverages (edited, audited) and for customers and policies
(looked up only: they are written by their services from the portal, the API and imports).

Customers are shown masked, to everyone, everywhere here (PIPL art. 28): the resident ID number
and the phone never appear in clear, and the full date of birth, which would complete a masked ID
number, is reduced to the year.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display
from unfold.widgets import UnfoldAdminSelectMultipleWidget

from claimwise.accounts.admin import ReferenceAdmin, ReferenceInline
from claimwise.core.admin import ReadOnlyModelAdmin, mask_email
from claimwise.policies.choices import PolicyStatus
from claimwise.policies.models import Coverage, Customer, Policy, Product
from claimwise.policies.selectors import policy_scope

# --- products and coverages (reference data) ---------------------------------------------------


class CoverageInline(ReferenceInline):
    """Coverages are edited with their product; each row is saved (or deleted) and audited on its own.

    `loss_type_choices` is filled in by `claims.admin`, which owns the loss types (policies may not
    import claims); without it the loss types are edited as a JSON list."""

    model = Coverage
    fields = ("code", "name", "limit", "deductible", "currency", "loss_types")
    loss_type_choices: Sequence[tuple[str, Any]] = ()

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "loss_types" and self.loss_type_choices:
            return forms.MultipleChoiceField(
                label=db_field.verbose_name,
                choices=self.loss_type_choices,
                required=False,
                widget=UnfoldAdminSelectMultipleWidget(attrs={"size": 4}),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Product)
class ProductAdmin(ReferenceAdmin):
    list_display = ("code", "name", "line", "is_active", "coverage_count")
    list_filter = ("line", "is_active")
    search_fields = ("code", "name")
    fields = ("code", "name", "line", "description", "is_active")
    inlines = (CoverageInline,)
    audited_children = ("coverages",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_coverages=Count("coverages"))

    @display(description=_("coverages"), ordering="_coverages")
    def coverage_count(self, obj: Any) -> int:
        return obj._coverages


# --- customers (read-only, masked) ---------------------------------------------------------------


def _scoped(user: Any) -> Q | None:
    """The policies a user's branch and lines cover, or None when the user sees every policy."""
    if user.is_superuser:
        return None
    scope = policy_scope(user)
    return None if scope == Q() else scope


@admin.register(Customer)
class CustomerAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "id_number_display", "phone_display", "gender", "created_at")
    list_filter = ("gender",)
    # Not searchable by ID number or phone: the search term would travel in the URL (and the logs).
    search_fields = ("name", "=user__username")
    search_help_text = _("Customer name or exact portal user name.")
    ordering = ("-created_at",)
    fields = (
        "name",
        "id_number_display",
        "gender",
        "birth_year",
        "phone_display",
        "email_display",
        "portal_account",
        "policies_display",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request).select_related("user")
        scope = _scoped(request.user)
        if scope is not None:
            policies = Policy.objects.filter(scope)
            qs = qs.filter(Q(policies_held__in=policies) | Q(policies_insured__in=policies)).distinct()
        return qs

    @display(description=_("resident ID number"))
    def id_number_display(self, obj: Customer) -> str:
        return obj.id_number_masked

    @display(description=_("mobile phone"))
    def phone_display(self, obj: Customer) -> str:
        return obj.phone_masked

    @display(description=_("email"))
    def email_display(self, obj: Customer) -> str:
        return mask_email(obj.email) if obj.email else ""

    @display(description=_("year of birth"))
    def birth_year(self, obj: Customer) -> str:
        return str(obj.birth_date.year) if obj.birth_date else ""

    @display(description=_("portal account"))
    def portal_account(self, obj: Customer) -> str:
        return obj.user.get_username() if obj.user else ""

    @display(description=_("policies"))
    def policies_display(self, obj: Customer) -> str:
        policies = Policy.objects.filter(Q(holder=obj) | Q(insured_person=obj)).distinct().order_by("number")
        return format_html_join(
            ", ",
            '<a class="text-primary-600" href="{}">{}</a>',
            ((reverse("admin:policies_policy_change", args=(p.pk,)), p.number) for p in policies),
        )


# --- policies (read-only) -------------------------------------------------------------------------


@admin.register(Policy)
class PolicyAdmin(ReadOnlyModelAdmin):
    list_display = ("number", "product", "holder", "branch", "status_label", "effective_from", "effective_to")
    list_filter = ("status", "product", "branch")
    list_select_related = ("product", "holder", "branch")
    search_fields = ("=number", "=vehicle_plate")
    search_help_text = _("Exact policy number or licence plate.")
    ordering = ("-effective_from",)
    fieldsets = (
        (None, {"fields": ("number", "product", "status", "branch")}),
        (_("Parties"), {"fields": ("holder", "insured_person")}),
        (_("Period and amounts"), {"fields": ("effective_from", "effective_to", "sum_insured", "premium", "currency")}),
        (_("Vehicle"), {"fields": ("vehicle_plate", "vehicle_vin", "vehicle_model")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        scope = _scoped(request.user)
        return qs if scope is None else qs.filter(scope)

    @display(
        description=_("status"),
        ordering="status",
        label={PolicyStatus.ACTIVE: "success", PolicyStatus.CANCELLED: "danger", PolicyStatus.LAPSED: "warning"},
    )
    def status_label(self, obj: Policy) -> tuple[str, str]:
        return obj.status, obj.get_status_display()
