"""Form helpers shared by the server-rendered pages (workbench, portal)."""

from __future__ import annotations

from django.forms import Form

from claimwise.core.errors import DomainError, ValidationFailed


def show_errors(form: Form, error: DomainError) -> None:
    """A service's field errors go next to their field, anything else above the form."""
    if isinstance(error, ValidationFailed) and isinstance(error.detail, list):
        renamed: dict[str, str] = getattr(form, "service_fields", {})
        for item in error.detail:
            name = renamed.get(item.get("field", ""), item.get("field", ""))
            form.add_error(name if name in form.fields and name != "version" else None, str(item["message"]))
    else:
        form.add_error(None, str(error.message))
