from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from claimwise.claims.choices import Priority
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.core.choices import LineOfBusiness
from claimwise.workbench.selectors import DONE, QueueFilters

ANY = [("", _("Any"))]


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
            team=d.get("team") if tab == "team" else None,
            q=d.get("q") or "",
            step=d.get("step") or "",
            handler=d.get("handler") or "",
        )


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of the view"), max_length=60)
