from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from claimwise.accounts.models import User
from claimwise.claims.choices import Channel, DocumentsJustification, DocumentType, LossType, Priority, ReasonCode
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.claims.services import MAX_TEXT
from claimwise.core.choices import LineOfBusiness
from claimwise.fraud.choices import Dimension, Measure
from claimwise.process.stepchecks import current_step, step_checklist
from claimwise.workbench.selectors import DONE, HandlerChoice, QueueFilters, RiskBand, assignable_handlers

ANY = [("", _("Any"))]
STAFF_CHANNELS = [
    (c, label) for c, label in Channel.choices if c in (Channel.PHONE, Channel.WECHAT, Channel.WEB, Channel.APP)
]


class SignInForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(autocomplete="username", autofocus=True, autocapitalize="none")
        self.fields["password"].widget.attrs.update(autocomplete="current-password")


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("6-digit code"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits your authenticator app shows.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["token"].widget.attrs.update(
            autocomplete="one-time-code", inputmode="numeric", autofocus=True, maxlength=8
        )


class QueueFilterForm(forms.Form):
    tab = forms.CharField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=60,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Claim number, name, phone, plate or ID number")}
        ),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=ANY + [c for c in ClaimStatus.choices if c[0] not in DONE]
    )
    line = forms.ChoiceField(label=_("Line of business"), required=False, choices=ANY + LineOfBusiness.choices)
    priority = forms.ChoiceField(label=_("Priority"), required=False, choices=ANY + Priority.choices)
    risk = forms.ChoiceField(label=_("Fraud risk"), required=False, choices=ANY + RiskBand.choices)
    team = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int, empty_value=None)
    step = forms.SlugField(required=False, max_length=40, widget=forms.HiddenInput)
    handler = forms.RegexField(required=False, regex=r"^(none|\d{1,12})$", widget=forms.HiddenInput)

    def __init__(self, *args: Any, teams: list[tuple[int, str]], tabs: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tabs = tabs
        self.fields["team"].choices = ANY + teams  # type: ignore[attr-defined]

    def filters(self) -> QueueFilters:
        d = self.cleaned_data if self.is_valid() else {}
        tab = str(d.get("tab")) if d.get("tab") in self.tabs else self.tabs[0]
        return QueueFilters(
            tab=tab,
            status=d.get("status") or "",
            line=d.get("line") or "",
            priority=d.get("priority") or "",
            risk=d.get("risk") or "",
            team=d.get("team") if tab == "team" else None,
            q=d.get("q") or "",
            step=d.get("step") or "",
            handler=d.get("handler") or "",
        )


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of the view"), max_length=60)


# --- the claim page's action forms ------------------------------------------------------------------


class ClaimActionForm(forms.Form):
    """Every form on the claim page knows its claim and user. It carries the claim's version as the
    page showed it: a change made meanwhile by someone else is not silently overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    service_fields: dict[str, str] = {}  # the service's name of a field → the form's, where they differ

    def __init__(self, *args: Any, claim: Claim, user: User, **kwargs: Any) -> None:
        self.claim, self.user = claim, user
        kwargs["initial"] = {"version": claim.version, **self.defaults(), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.setup()

    def defaults(self) -> dict[str, Any]:
        return {}

    def setup(self) -> None:
        """Adjust fields to the claim (choices, what is required)."""


def _text_area(rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def _amount_field(label: Any, *, required: bool = True, min_value: str = "0.01") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal(min_value),
        max_digits=16,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


class NoteForm(ClaimActionForm):
    note = forms.CharField(label=_("Note for the timeline"), required=False, max_length=MAX_TEXT, widget=_text_area())


class ReasonForm(ClaimActionForm):
    note = forms.CharField(label=_("Reason"), max_length=MAX_TEXT, widget=_text_area())


class RegisterForm(NoteForm):
    reserve = _amount_field(_("Initial reserve"), required=False, min_value="0")
    field_order = ["reserve", "note"]

    def defaults(self) -> dict[str, Any]:
        return {"reserve": self.claim.reserve or self.claim.claimed_amount}


class RequestDocumentsForm(NoteForm):
    extra_items = forms.CharField(
        label=_("Also ask for (one per line)"), required=False, max_length=MAX_TEXT, widget=_text_area(3)
    )
    justification = forms.ChoiceField(
        label=_("Why a further request is needed"), choices=DocumentsJustification.choices
    )
    field_order = ["extra_items", "justification", "note"]

    def setup(self) -> None:
        if self.claim.documents_requests == 0:
            del self.fields["justification"]  # the first, consolidated request needs no justification

    def items(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("extra_items", "").splitlines() if line.strip()]


class AmountForm(NoteForm):
    amount = _amount_field(_("Amount"))
    field_order = ["amount", "note"]

    def defaults(self) -> dict[str, Any]:
        return {"amount": self.claim.assessed_amount or self.claim.claimed_amount}


class SubmitForm(AmountForm):
    amount = _amount_field(_("Assessed amount"))
    service_fields = {"assessed_amount": "amount"}


class ApproveForm(AmountForm):
    amount = _amount_field(_("Amount to approve"))


class PartialForm(AmountForm):
    amount = _amount_field(_("Amount to approve"))
    reason_codes = forms.MultipleChoiceField(
        label=_("Why less than claimed"), choices=ReasonCode.choices, widget=forms.CheckboxSelectMultiple
    )
    field_order = ["amount", "reason_codes", "note"]


class DenyForm(ClaimActionForm):
    reason_codes = forms.MultipleChoiceField(
        label=_("Reasons"), choices=ReasonCode.choices, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(
        label=_("Explanation for the customer (goes into the denial notice)"), max_length=MAX_TEXT, widget=_text_area(3)
    )


class PaymentForm(NoteForm):
    payee_name = forms.CharField(label=_("Payee"), max_length=100)
    bank_name = forms.CharField(label=_("Bank"), max_length=100, required=False)
    bank_account = forms.CharField(label=_("Bank account"), max_length=40, required=False)
    field_order = ["payee_name", "bank_name", "bank_account", "note"]

    def defaults(self) -> dict[str, Any]:
        return {"payee_name": self.claim.payee_name or self.claim.claimant.name, "bank_name": self.claim.payee_bank}

    def setup(self) -> None:
        field = self.fields["bank_account"]
        field.widget.attrs.update(inputmode="numeric", autocomplete="off")
        if self.claim.payee_account:
            field.help_text = _("Leave empty to pay the account the claimant gave: %(account)s") % {
                "account": self.claim.payee_account_masked
            }
        else:
            field.required = True

    def account(self) -> str:
        return str(self.cleaned_data.get("bank_account") or self.claim.payee_account or "")


class ConfirmPaymentForm(NoteForm):
    reference = forms.CharField(label=_("Bank's payment reference"), max_length=64, required=False)
    field_order = ["reference", "note"]


class ReserveForm(ClaimActionForm):
    amount = _amount_field(_("New reserve"), min_value="0")
    reason = forms.CharField(label=_("Reason"), max_length=MAX_TEXT, widget=_text_area())

    def defaults(self) -> dict[str, Any]:
        return {"amount": self.claim.reserve}


class ChecklistForm(NoteForm):
    items = forms.MultipleChoiceField(label=_("Confirm"), widget=forms.CheckboxSelectMultiple)
    field_order = ["items", "note"]

    def setup(self) -> None:
        step = current_step(self.claim)
        open_items = [i for i in step_checklist(self.claim, step) if i["confirmed_by"] is None] if step else []
        self.fields["items"].choices = [(i["key"], i["text"]) for i in open_items]  # type: ignore[attr-defined]


class InternalNoteForm(ClaimActionForm):
    text = forms.CharField(label=_("Internal note"), max_length=MAX_TEXT, widget=_text_area(3))


class MessageForm(ClaimActionForm):
    body = forms.CharField(label=_("Message to the customer"), max_length=MAX_TEXT, widget=_text_area(3))


class UploadForm(ClaimActionForm):
    doc_type = forms.ChoiceField(label=_("Document type"), choices=DocumentType.choices)
    file = forms.FileField(label=_("File"))

    def setup(self) -> None:
        self.fields["file"].widget.attrs["accept"] = "image/jpeg,image/png,application/pdf"


class AssignForm(ClaimActionForm):
    handler = forms.TypedChoiceField(label=_("Handler"), coerce=int)
    service_fields = {"note": "reason"}
    reason = forms.CharField(label=_("Reason"), max_length=MAX_TEXT, required=False, widget=_text_area())

    def setup(self) -> None:
        self.fields["handler"].choices = [(h.pk, _handler_label(h)) for h in assignable_handlers(self.claim)]  # type: ignore[attr-defined]
        if self.claim.handler_id is not None:
            self.fields["reason"].required = True
            self.fields["reason"].error_messages["required"] = _(
                "Give the reason for taking the claim from its handler."
            )


def _handler_label(h: HandlerChoice) -> str:
    label = _("%(name)s · %(team)s · %(open)d open") % {"name": h.display, "team": h.team_name, "open": h.open}
    return label if h.available else _("%(handler)s · away") % {"handler": label}


class SignForm(AmountForm):
    amount = _amount_field(_("Amount you sign for"))


# --- a claim reported by phone or at the counter ---------------------------------------------------------


class ReportForm(forms.Form):
    """First notice of loss taken by staff (P2): what the caller says, checked by the same service
    as every other channel. The key makes a double click or a resent form report once."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    policy_number = forms.CharField(label=_("Policy number"), max_length=40)
    insured_id_number = forms.CharField(
        label=_("Insured person's ID number"),
        required=False,
        max_length=18,
        help_text=_("Only when the insured person is not the policyholder (health, life, accident)."),
    )
    channel = forms.ChoiceField(label=_("Reported by"), choices=STAFF_CHANNELS, initial=Channel.PHONE)
    incident_at = forms.DateTimeField(
        label=_("Incident time"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    incident_place = forms.CharField(label=_("Incident place"), max_length=300)
    loss_type = forms.ChoiceField(label=_("Loss type"), choices=LossType.choices)
    claimed_amount = forms.DecimalField(
        label=_("Claimed amount"),
        min_value=Decimal("0.01"),
        max_digits=16,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    description = forms.CharField(label=_("What happened"), required=False, max_length=MAX_TEXT, widget=_text_area(3))
    payee_name = forms.CharField(label=_("Payee"), required=False, max_length=100)
    payee_bank = forms.CharField(label=_("Payee's bank"), required=False, max_length=100)
    payee_account = forms.CharField(label=_("Payee's bank account"), required=False, max_length=40)
    service_fields = {"payee.account": "payee_account", "payee.name": "payee_name"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["policy_number"].widget.attrs.update(
            autofocus=True, autocomplete="off", autocapitalize="characters"
        )
        self.fields["payee_account"].widget.attrs.update(inputmode="numeric", autocomplete="off")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("payee_account") and not data.get("payee_name"):
            self.add_error("payee_name", _("Give the payee's name."))
        return data


class WarningFilterForm(forms.Form):
    measure = forms.ChoiceField(label=_("Measure"), required=False, choices=ANY + Measure.choices)
    dimension = forms.ChoiceField(label=_("By"), required=False, choices=ANY + Dimension.choices)

    def filters(self) -> tuple[str, str]:
        d = self.cleaned_data if self.is_valid() else {}
        return d.get("measure") or "", d.get("dimension") or ""
