"""Back office look-up of claims: read-only, within the user's scope (`claims.selectors`).

The lifecycle runs through the API and the workbench; nothing here edits a claim, and a claim's
status is never a form field.
"""

from __future__ import annotations

from typing import cast

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import RangeDateTimeFilter
from unfold.decorators import display

from claimwise.accounts.models import User
from claimwise.claims.choices import LossType
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent
from claimwise.claims.selectors import claim_queryset
from claimwise.core.admin import ReadOnlyModelAdmin, ReadOnlyPermissions
from claimwise.policies import admin as policies_admin
from claimwise.policies.models import Product

S = ClaimStatus
STATUS_COLOURS = {
    S.REPORTED: "info",
    S.REGISTERED: "info",
    S.INVESTIGATION: "primary",
    S.ASSESSMENT: "primary",
    S.AWAITING_DOCUMENTS: "warning",
    S.PENDING_APPROVAL: "warning",
    S.APPROVED: "success",
    S.PARTIALLY_APPROVED: "success",
    S.PAYMENT_PENDING: "success",
    S.PAID: "success",
    S.DENIED: "danger",
    S.WITHDRAWN: "danger",
}


# Products: the claims app owns the loss types, so it gives the coverage form its choices.
class LossTypeCoverageInline(policies_admin.CoverageInline):
    loss_type_choices = LossType.choices


admin.site.unregister(Product)


@admin.register(Product)
class ProductAdmin(policies_admin.ProductAdmin):
    inlines = (LossTypeCoverageInline,)


class ClaimEventInline(ReadOnlyPermissions, TabularInline):
    model = ClaimEvent
    fields = ("at", "kind", "from_status", "to_status", "actor", "note", "visible_to_customer")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("timeline")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("actor")


@admin.register(Claim)
class ClaimAdmin(ReadOnlyModelAdmin):
    list_display = ("number_display", "status_label", "line", "branch", "claimed_amount", "reported_at")
    list_filter = (
        "status",
        "line",
        "branch",
        "priority",
        "late_report",
        ("reported_at", RangeDateTimeFilter),
    )
    list_filter_submit = True
    list_select_related = ("branch",)
    search_fields = ("=number", "=policy__number")
    search_help_text = _("Exact claim number or policy number.")
    ordering = ("-reported_at",)
    inlines = (ClaimEventInline,)
    fieldsets = (
        (None, {"fields": ("number", "status", "line", "branch", "team", "handler", "priority", "complexity")}),
        (_("Policy and claimant"), {"fields": ("policy", "claimant", "coverage")}),
        (
            _("Incident and report"),
            {
                "fields": (
                    "incident_at",
                    "incident_place",
                    "loss_type",
                    "description",
                    "reported_at",
                    "channel",
                    "late_report",
                    "limitation_date",
                )
            },
        ),
        (
            _("Amounts"),
            {
                "fields": (
                    "currency",
                    "claimed_amount",
                    "reserve",
                    "assessed_amount",
                    "approved_amount",
                    "paid_amount",
                )
            },
        ),
        (_("Dates"), {"fields": ("status_changed_at", "registered_at", "decided_at", "closed_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        user = cast(User, request.user)
        qs = Claim.objects.all() if user.is_superuser else claim_queryset(user)
        return qs.select_related("branch")

    @display(description=_("claim number"), ordering="number")
    def number_display(self, obj: Claim) -> str:
        return obj.number or f"#{obj.pk}"

    @display(description=_("status"), ordering="status", label=STATUS_COLOURS)
    def status_label(self, obj: Claim) -> tuple[str, str]:
        return obj.status, obj.get_status_display()
