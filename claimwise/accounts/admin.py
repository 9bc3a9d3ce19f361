"""Back office for the organisation (branches, teams, partners), users and API tokens.

`ReferenceAdmin` and `ReferenceInline` are the bases for every editable reference-data admin in the
project: the admin form validates, then `accounts.services.reference_save` / `reference_delete`
validate again, write, and append an audit entry with before/after in the same transaction. Nothing
here calls `Model.save()` or `QuerySet.delete()` itself.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import TabularInline
from unfold.decorators import action, display
from unfold.enums import ActionVariant
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget

from claimwise.accounts.choices import Role, Skill
from claimwise.accounts.models import ApiToken, Branch, PartnerOrganization, Team, User
from claimwise.accounts.services import (
    USER_UPDATABLE,
    reference_delete,
    reference_save,
    token_revoke,
    user_create,
    user_set_password,
    user_update,
)
from claimwise.core.admin import (
    BackOfficeModelAdmin,
    BackOfficePermissions,
    ReadOnlyPermissions,
    can_edit_back_office,
)
from claimwise.core.choices import LineOfBusiness

# --- bases: every admin write goes through the audited services --------------------------------


def actor(request: HttpRequest) -> User:
    """The signed-in staff member (the admin site only lets authenticated staff this far)."""
    return cast(User, request.user)


class ReferenceAdmin(BackOfficeModelAdmin):
    """Reference data edited by administrators. `audited_children` names reverse relations whose rows
    are deleted one by one (each audited) before the parent, instead of vanishing in a cascade."""

    audited_children: tuple[str, ...] = ()
    warn_unsaved_form = True

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        reference_save(actor=actor(request), instance=obj, changed=list(form.changed_data))

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        with transaction.atomic():
            for accessor in self.audited_children:
                for child in getattr(obj, accessor).all():
                    reference_delete(actor=actor(request), instance=child)
            reference_delete(actor=actor(request), instance=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """The bulk "delete selected" action: one audited delete per row, all or nothing."""
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            reference_delete(actor=actor(request), instance=obj)
        for obj, changed in formset.changed_objects:
            reference_save(actor=actor(request), instance=obj, changed=list(changed))
        for obj in formset.new_objects:
            reference_save(actor=actor(request), instance=obj)
        formset.save_m2m()


class ReferenceInline(BackOfficePermissions, TabularInline):
    """An inline whose rows are saved by the parent's `ReferenceAdmin.save_formset` (audited)."""

    extra = 0
    show_change_link = False


def lines_formfield(db_field: Any) -> forms.Field:
    """`lines` is a JSON list of line-of-business codes; staff tick boxes instead of typing JSON."""
    return forms.MultipleChoiceField(
        label=db_field.verbose_name,
        help_text=db_field.help_text,
        choices=LineOfBusiness.choices,
        required=False,
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
    )


# --- organisation --------------------------------------------------------------------------------


class TeamInline(ReferenceInline):
    model = Team
    fields = ("code", "name", "is_specialist")


@admin.register(Branch)
class BranchAdmin(ReferenceAdmin):
    list_display = ("code", "name", "region", "team_count")
    search_fields = ("code", "name", "region")
    fields = ("code", "name", "region")
    inlines = (TeamInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        from django.db.models import Count

        return super().get_queryset(request).annotate(_teams=Count("teams"))

    @display(description=_("teams"), ordering="_teams")
    def team_count(self, obj: Any) -> int:
        return obj._teams


@admin.register(Team)
class TeamAdmin(ReferenceAdmin):
    list_display = ("code", "name", "branch", "is_specialist")
    list_filter = ("branch", "is_specialist")
    list_select_related = ("branch",)
    search_fields = ("code", "name")
    fields = ("code", "name", "branch", "is_specialist", "skills")

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "skills":
            return forms.MultipleChoiceField(
                label=db_field.verbose_name,
                help_text=db_field.help_text,
                choices=Skill.choices,
                required=False,
                widget=UnfoldAdminCheckboxSelectMultipleWidget,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(PartnerOrganization)
class PartnerOrganizationAdmin(ReferenceAdmin):
    list_display = ("code", "name", "kind")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    fields = ("code", "name", "kind")


# --- users ----------------------------------------------------------------------------------------

# The acting administrator, for the password form's save() (Django's view builds the form itself).
_password_actor: ContextVar[Any] = ContextVar("password_actor", default=None)


class UserScopeFormMixin(forms.ModelForm):
    """The scope fields must fit the role: a team belongs to the chosen branch, a partner account
    names its organisation."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        branch, team = data.get("branch"), data.get("team")
        if team is not None and branch is not None and team.branch_id != branch.pk:
            self.add_error("team", _("This team belongs to another branch."))
        if data.get("role") == Role.PARTNER and not data.get("partner"):
            self.add_error("partner", _("A partner account needs its partner organisation."))
        return data


class ClaimwiseUserChangeForm(UserScopeFormMixin, UserChangeForm):
    pass


class ClaimwiseUserCreationForm(UserScopeFormMixin, UserCreationForm):
    pass


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """Sets (or disables) the password through `user_set_password`, which audits the change without
    the hash."""

    def save(self, commit: bool = True) -> User:
        password = self.cleaned_data["password1"] if self.cleaned_data.get("set_usable_password", True) else None
        return user_set_password(actor=_password_actor.get(), user=self.user, password=password)


@admin.register(User)
class UserAdmin(DjangoUserAdmin, BackOfficeModelAdmin):  # type: ignore[misc]  # stubs vs untyped unfold mixins
    form = ClaimwiseUserChangeForm
    add_form = ClaimwiseUserCreationForm
    change_password_form = AuditedPasswordChangeForm
    list_display = ("username", "full_name", "role_label", "branch", "team", "is_active", "is_demo", "last_login")
    list_filter = ("role", "branch", "is_active", "is_demo", "is_superuser")
    list_select_related = ("branch", "team")
    search_fields = ("username", "first_name", "last_name", "email")
    ordering = ("username",)
    filter_horizontal = ()
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Role and scope"), {"fields": ("role", "branch", "team", "lines", "partner", "is_available")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Status"), {"fields": ("is_active", "is_demo", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Role and scope"), {"fields": ("role", "branch", "team", "lines", "partner")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Status"), {"fields": ("is_demo",)}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # Back-office access follows the role (see accounts.services.user_update); only a superuser
        # makes another superuser.
        readonly = ["is_staff", "last_login", "date_joined"]
        if not request.user.is_superuser:
            readonly.append("is_superuser")
        return readonly

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "lines":
            return lines_formfield(db_field)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if obj is not None and getattr(obj, "is_superuser", False) and not request.user.is_superuser:
            return False
        return can_edit_back_office(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Accounts are deactivated, never deleted: claims, events and the audit trail point at them.
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            changes = {name: data[name] for name in form.changed_data if name in USER_UPDATABLE}
            user_update(actor=actor(request), user=obj, changes=changes)
            return
        created = user_create(
            actor=actor(request),
            username=data["username"],
            password=data.get("password1") if data.get("set_usable_password", True) else None,
            role=data["role"],
            email=data.get("email", ""),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            branch=data.get("branch"),
            team=data.get("team"),
            lines=list(data.get("lines") or []),
            partner=data.get("partner"),
            is_demo=bool(data.get("is_demo")),
        )
        # The admin goes on with the form's instance (redirects, messages): make it the saved row.
        for field in User._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        token = _password_actor.set(actor(request))
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(token)

    @display(description=_("name"))
    def full_name(self, obj: User) -> str:
        return obj.get_full_name()

    @display(
        description=_("role"),
        ordering="role",
        label={Role.ADMIN: "danger", Role.SUPERVISOR: "warning", Role.COMPLIANCE: "info", Role.AUDITOR: "info"},
    )
    def role_label(self, obj: User) -> tuple[str, str]:
        return obj.role, obj.get_role_display()


# --- API tokens -----------------------------------------------------------------------------------


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyPermissions, BackOfficeModelAdmin):
    """Tokens are created on the command line (the raw token is printed once); here they are listed
    and revoked."""

    list_display = ("prefix_display", "name", "user", "created_at", "last_used_at", "state")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    search_fields = ("=prefix", "name", "user__username")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    ordering = ("-created_at",)
    actions = ("revoke",)
    list_before_template = "admin/accounts/apitoken/cli_hint.html"

    def has_revoke_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return can_edit_back_office(request.user)

    @display(description=_("prefix"), ordering="prefix")
    def prefix_display(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"

    @display(description=_("state"), label={"active": "success", "revoked": "danger"})
    def state(self, obj: ApiToken) -> tuple[str, Any]:
        return ("revoked", _("Revoked")) if obj.revoked_at else ("active", _("Active"))

    @action(description=_("Revoke selected tokens"), permissions=["revoke"], variant=ActionVariant.DANGER)
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        with transaction.atomic():
            for token in queryset.filter(revoked_at__isnull=True):
                token_revoke(actor=actor(request), token=token)
                count += 1
        messages.success(request, ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", count) % {"n": count})


# Permissions come from the role, not from groups: keep Group out of the back office.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)
