"""Back office for notifications: the outbox with each message's attempts (read-only, "send again"
for failed ones), the templates per event and language (validated, written by `template_save`),
and customers' and staff's contact preferences. Every write goes through `notifications.services`."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.admin import TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminSelectMultipleWidget

from claimwise.accounts.admin import actor
from claimwise.core.admin import BackOfficeModelAdmin, ReadOnlyModelAdmin, ReadOnlyPermissions, can_edit_back_office
from claimwise.core.crypto import mask
from claimwise.core.errors import DomainError, ValidationFailed
from claimwise.notifications import services
from claimwise.notifications.choices import Channel, Event, MessageStatus
from claimwise.notifications.defaults import DEFAULTS
from claimwise.notifications.models import ContactPreference, DeliveryAttempt, Message, MessageTemplate, StaffContact
from claimwise.notifications.rendering import CONTEXT_HELP, template_problems

# --- the outbox ---------------------------------------------------------------------------------------


class DeliveryAttemptInline(ReadOnlyPermissions, TabularInline):
    model = DeliveryAttempt
    fields = ("at", "outcome", "detail", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = gettext_lazy("delivery attempts")


def _hide_code(message: Message, text: str) -> str:
    return re.sub(r"\d{4,}", "••••••", text) if message.event == Event.ONE_TIME_CODE else text


STATUS_COLOURS = {MessageStatus.PENDING: "warning", MessageStatus.SENT: "success", MessageStatus.FAILED: "danger"}


@admin.register(Message)
class MessageAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "event", "channel", "recipient", "address_shown", "status_label", "attempts", "error")
    list_filter = ("status", "channel", "event", "language")
    list_select_related = ("claim", "recipient_user", "recipient_customer")
    search_fields = ("=claim__number",)
    search_help_text = gettext_lazy("Exact claim number.")
    ordering = ("-created_at", "-pk")
    inlines = (DeliveryAttemptInline,)
    actions = ("send_again",)  # type: ignore[assignment]  # the one action on a read-only list
    fields = (
        "event",
        "claim",
        "recipient",
        "channel",
        "address_shown",
        "language",
        "subject_shown",
        "body_shown",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "dedupe_key",
    )
    readonly_fields = fields

    @display(description=gettext_lazy("recipient"))
    def recipient(self, obj: Message) -> str:
        return str(obj.recipient_customer or obj.recipient_user or "—")

    @display(description=gettext_lazy("address"))
    def address_shown(self, obj: Message) -> str:
        return obj.address_masked

    # A one-time code is the customer's key to their account: nobody in the back office reads it.
    @display(description=gettext_lazy("subject"))
    def subject_shown(self, obj: Message) -> str:
        return _hide_code(obj, obj.subject)

    @display(description=gettext_lazy("body"))
    def body_shown(self, obj: Message) -> str:
        return _hide_code(obj, obj.body)

    @display(description=gettext_lazy("last error"))
    def error(self, obj: Message) -> str:
        return (obj.last_error or "")[:80]

    @display(description=gettext_lazy("status"), ordering="status", label=STATUS_COLOURS)
    def status_label(self, obj: Message) -> tuple[str, str]:
        return obj.status, obj.get_status_display()

    def has_send_again_permission(self, request: HttpRequest) -> bool:
        return can_edit_back_office(request.user)

    @action(description=gettext_lazy("Send the failed messages again"), permissions=["send_again"])
    def send_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for message in queryset.filter(status=MessageStatus.FAILED).only("pk"):
            try:
                services.message_retry(actor=actor(request), message_id=message.pk)
            except DomainError as exc:
                messages.error(request, str(exc.message))
            else:
                done += 1
        messages.success(
            request,
            ngettext("%(n)d message will be sent again.", "%(n)d messages will be sent again.", done) % {"n": done},
        )


# --- templates ----------------------------------------------------------------------------------------


class TemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["event", "language", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8, "spellcheck": "false"})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field, message in template_problems(data.get("subject") or "", data.get("body") or "").items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(BackOfficeModelAdmin):
    form = TemplateForm
    list_display = ("event", "language", "subject", "updated_at", "updated_by")
    list_filter = ("event", "language")
    readonly_fields = ("names_a_template_may_use", "shipped_default")
    fieldsets = (
        (None, {"fields": ("event", "language", "subject", "body")}),
        (gettext_lazy("Help"), {"fields": ("names_a_template_may_use", "shipped_default")}),
    )

    @display(description=gettext_lazy("Names a template may use"))
    def names_a_template_may_use(self, obj: MessageTemplate | None) -> SafeString:
        return format_html_join(
            "", "<div><code>{{{{ {} }}}}</code> — {}</div>", ((n, h) for n, h in CONTEXT_HELP.items())
        )

    @display(description=gettext_lazy("Shipped default"))
    def shipped_default(self, obj: MessageTemplate | None) -> SafeString | str:
        if obj is None or not obj.event:
            return _("Save to see the default this template replaces; delete it to go back to the default.")
        subject, body = DEFAULTS[obj.event].get(obj.language) or DEFAULTS[obj.event]["zh-hans"]
        return format_html("<div><strong>{}</strong></div><pre style='white-space:pre-wrap'>{}</pre>", subject, body)

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        try:
            saved = services.template_save(
                actor=actor(request),
                event=data["event"],
                language=data["language"],
                subject=data["subject"],
                body=data["body"],
                template_id=obj.pk if change else None,
            )
        except ValidationFailed as exc:
            raise forms.ValidationError(str(exc.message)) from exc
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        services.template_delete(actor=actor(request), template_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


# --- contact preferences ------------------------------------------------------------------------------


class PreferenceForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("channels"),
        choices=Channel.choices,
        required=False,
        widget=UnfoldAdminSelectMultipleWidget(attrs={"size": 4}),
    )

    class Meta:
        model = ContactPreference
        fields = ["customer", "channels", "language", "wechat_openid", "push_token"]
        widgets = {"wechat_openid": forms.TextInput(), "push_token": forms.TextInput()}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        customer = data.get("customer")
        if customer is not None:
            problems = services.preference_problems(
                customer,
                list(data.get("channels") or []),
                data.get("language") or "",
                data.get("wechat_openid") or "",
                data.get("push_token") or "",
            )
            for field, message in problems.items():
                self.add_error(field if field in self.fields else None, message)
        return data


@admin.register(ContactPreference)
class ContactPreferenceAdmin(BackOfficeModelAdmin):
    form = PreferenceForm
    list_display = ("customer", "channel_list", "language", "updated_at")
    list_filter = ("language",)
    search_fields = ("customer__name",)
    raw_id_fields = ("customer",)

    @display(description=gettext_lazy("channels"))
    def channel_list(self, obj: ContactPreference) -> str:
        labels = dict(Channel.choices)
        return ", ".join(str(labels.get(c, c)) for c in obj.channels)

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        saved = services.contact_preference_save(
            actor=actor(request),
            customer_id=data["customer"].pk,
            channels=list(data.get("channels") or []),
            language=data["language"],
            wechat_openid=data.get("wechat_openid") or "",
            push_token=data.get("push_token") or "",
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Without a preference every channel with an address is used: change the channels instead.
        return False


class StaffContactForm(forms.ModelForm):
    class Meta:
        model = StaffContact
        fields = ["user", "language", "mobile", "sms"]
        widgets = {"mobile": forms.TextInput()}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        problems, _number = services.staff_contact_problems(
            data.get("language") or "", data.get("mobile") or "", bool(data.get("sms"))
        )
        for field, message in problems.items():
            self.add_error(field if field in self.fields else None, message)
        return data


@admin.register(StaffContact)
class StaffContactAdmin(BackOfficeModelAdmin):
    form = StaffContactForm
    list_display = ("user", "language", "sms", "mobile_shown", "updated_at")
    list_filter = ("language", "sms")
    raw_id_fields = ("user",)

    @display(description=gettext_lazy("mobile phone for SMS"))
    def mobile_shown(self, obj: StaffContact) -> str:
        return mask((obj.mobile or "").removeprefix("+86"), head=3, tail=4)

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        saved = services.staff_contact_save(
            actor=actor(request),
            user_id=data["user"].pk,
            language=data["language"],
            mobile=data.get("mobile") or "",
            sms=bool(data.get("sms")),
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
