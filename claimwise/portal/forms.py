from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claimwise.claims.choices import DocumentType, LossType
from claimwise.claims.services import MAX_TEXT
from claimwise.notifications.choices import Channel, Language
from claimwise.policies.models import Customer, Policy
from claimwise.portal.selectors import loss_types_of

MAX_FILES = 20


class SignInForm(forms.Form):
    mobile = forms.CharField(label=_("Mobile number"), max_length=20)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mobile"].widget.attrs.update(autocomplete="tel", inputmode="tel", autofocus=True)
        self.fields["password"].widget.attrs.update(autocomplete="current-password")


class ReportForm(forms.Form):
    """A claim on one of the customer's policies: when and where, what happened, how much, where to pay."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    loss_type = forms.ChoiceField(label=_("What happened"), widget=forms.RadioSelect)
    incident_at = forms.DateTimeField(
        label=_("When did it happen?"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    incident_place = forms.CharField(label=_("Where did it happen?"), max_length=300)
    description = forms.CharField(
        label=_("Tell us what happened"), required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4})
    )
    claimed_amount = forms.DecimalField(
        label=_("How much do you claim? (CNY, an estimate is fine)"),
        min_value=Decimal("0.01"),
        max_digits=16,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    payee_name = forms.CharField(label=_("Account holder"), required=False, max_length=100)
    payee_bank = forms.CharField(label=_("Bank"), required=False, max_length=100)
    payee_account = forms.CharField(
        label=_("Bank account for the payment"),
        required=False,
        max_length=40,
        help_text=_("We pay the approved amount into this account. It is stored encrypted."),
    )
    service_fields = {"payee.account": "payee_account", "payee.name": "payee_name"}

    def __init__(self, *args: Any, policy: Policy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(LossType.choices)
        self.fields["loss_type"].choices = [(t, labels.get(t, t)) for t in loss_types_of(policy)]  # type: ignore[attr-defined]
        self.fields["incident_at"].widget.attrs["max"] = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        self.fields["incident_place"].widget.attrs["autocomplete"] = "street-address"
        self.fields["payee_account"].widget.attrs.update(inputmode="numeric", autocomplete="off")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("payee_account") and not data.get("payee_name"):
            self.add_error("payee_name", _("Give the account holder's name."))
        return data


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Your message"), max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3}))


class UploadForm(forms.Form):
    doc_type = forms.ChoiceField(label=_("What is it?"), choices=DocumentType.choices)


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, withdraw my claim. I understand it ends without a decision."))
    note = forms.CharField(label=_("Why (optional)"), required=False, max_length=MAX_TEXT)


class SignUpForm(forms.Form):
    id_number = forms.CharField(label=_("ID number on your policy"), max_length=18)
    mobile = forms.CharField(label=_("Mobile number you gave us"), max_length=20)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["id_number"].widget.attrs.update(autocomplete="off", autocapitalize="characters", autofocus=True)
        self.fields["mobile"].widget.attrs.update(autocomplete="tel", inputmode="tel")


class MobileForm(forms.Form):
    mobile = forms.CharField(label=_("Mobile number"), max_length=20)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mobile"].widget.attrs.update(autocomplete="tel", inputmode="tel", autofocus=True)


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("The 6-digit code we sent you"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits of the code.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update(autocomplete="one-time-code", inputmode="numeric", autofocus=True)


class CodePasswordForm(CodeForm):
    """The code, and the new password twice (sign-up, reset)."""

    password = forms.CharField(label=_("New password"), strip=False, widget=forms.PasswordInput)
    password_again = forms.CharField(label=_("New password again"), strip=False, widget=forms.PasswordInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("password", "password_again"):
            self.fields[name].widget.attrs["autocomplete"] = "new-password"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", _("The two passwords are not the same."))
        return data


class ContactForm(forms.Form):
    """A new mobile number or email address, with the password again."""

    value = forms.CharField(max_length=254)
    password = forms.CharField(label=_("Your password"), strip=False, widget=forms.PasswordInput)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["value"]
        if kind == "mobile":
            field.label = _("New mobile number")
            field.widget.attrs.update(autocomplete="tel", inputmode="tel", autofocus=True)
        else:
            field.label = _("New email address")
            field.widget = forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
        self.fields["password"].widget.attrs.update(autocomplete="current-password")

    # The services name the field by what it is; the form has one value field.
    service_fields = {"mobile": "value", "email": "value"}


class PreferenceForm(forms.Form):
    channels = forms.MultipleChoiceField(
        label=_("Tell me about my claims by"), required=False, widget=forms.CheckboxSelectMultiple
    )
    language = forms.ChoiceField(label=_("In"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, customer: Customer, bound: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Channel.choices)
        offered = [Channel.SMS] if customer.phone else []
        offered += [Channel.EMAIL] if customer.email else []
        offered += [c for c in (Channel.WECHAT, Channel.PUSH) if c in bound]
        self.fields["channels"].choices = [(c, labels[c]) for c in offered]  # type: ignore[attr-defined]
        self.fields["language"].choices = Language.choices  # type: ignore[attr-defined]
