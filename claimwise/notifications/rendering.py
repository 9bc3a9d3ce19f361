"""Templates: a sandboxed Django template engine over a fixed context.

The engine loads no files and no tag libraries beyond Django's built-ins, and does not autoescape
(the messages are plain text). Validation compiles the text and renders it once over a sample
context, so a syntax error, an unknown tag or filter, or an `{% include %}` is refused on save with
the engine's message, next to the field."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claimwise.notifications.defaults import DEFAULTS
from claimwise.notifications.models import MessageTemplate

#: Every name a template may use, with what it holds (shown in the back office).
CONTEXT_HELP: dict[str, Any] = {
    "name": gettext_lazy("the recipient's name"),
    "claim_number": gettext_lazy("the claim number"),
    "status": gettext_lazy("the claim's status, in words"),
    "items": gettext_lazy("documents needed: a list, use {% for item in items %}"),
    "outcome": gettext_lazy("the decision, in words"),
    "denied": gettext_lazy("true when the claim was denied"),
    "reasons": gettext_lazy("the reasons for a denial, in words"),
    "notice": gettext_lazy("the explanation given with the decision"),
    "amount": gettext_lazy("the approved or paid amount"),
    "currency": gettext_lazy("the currency"),
    "account": gettext_lazy("the last four digits of the bank account paid into"),
    "reference": gettext_lazy("the payment reference"),
    "deadline": gettext_lazy("the deadline, in words"),
    "due": gettext_lazy("when the deadline falls due (local time)"),
    "alert": gettext_lazy("staff: the alert's text"),
    "note": gettext_lazy("staff: the assignment's note"),
    "code": gettext_lazy("a one-time code (sign-up, password reset)"),
    "minutes": gettext_lazy("how many minutes the code is valid"),
    "what": gettext_lazy("the contact detail that changed (mobile number, email address)"),
    "new": gettext_lazy("the new mobile number or email address, masked"),
}

SAMPLE: dict[str, Any] = {
    "name": "张伟",
    "claim_number": "MO2500000001",
    "status": "Registered",
    "items": ["Repair invoice", "Police report"],
    "outcome": "Approved",
    "denied": False,
    "reasons": "",
    "notice": "",
    "amount": "8200.00",
    "currency": "CNY",
    "account": "1234",
    "reference": "ABC123",
    "deadline": "Decision within 30 days",
    "due": "2025-01-01 12:00",
    "alert": "Claim MO2500000001: step is due 2025-01-01 12:00.",
    "note": "",
    "code": "123456",
    "minutes": 10,
    "what": "mobile number",
    "new": "+86138****5678",
}


@cache
def engine() -> Engine:
    return Engine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=False, debug=False)


def template_problems(subject: str, body: str) -> dict[str, str]:
    """Field → message for each text that does not compile or render; empty when both are fine."""
    problems: dict[str, str] = {}
    for field, text in (("subject", subject), ("body", body)):
        if not (text or "").strip():
            problems[field] = _("Write the text.")
            continue
        try:
            output = engine().from_string(text).render(Context(SAMPLE, autoescape=False))
            if any(mark in output for mark in ("{{", "}}", "{%", "%}")):
                # Django leaves a tag it cannot parse as text: an unclosed {{ or {% would be sent as is.
                raise TemplateSyntaxError(
                    _("a {{ or {% is not closed (write {% templatetag openvariable %} for a literal {{)")
                )
        except TemplateSyntaxError as exc:
            problems[field] = _("Template error: %(error)s") % {"error": exc}
        except Exception as exc:  # noqa: BLE001  (any failure of a sample render is the text's fault)
            problems[field] = _("This template cannot be rendered: %(error)s") % {"error": exc}
    return problems


def template_text(event: str, language: str) -> tuple[str, str]:
    """The edited template when there is one, else the shipped default."""
    row = MessageTemplate.objects.filter(event=event, language=language).values_list("subject", "body").first()
    if row is not None:
        return row[0], row[1]
    by_language = DEFAULTS[event]
    return by_language.get(language) or by_language["zh-hans"]


def render(event: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """Subject (one line, at most 200 characters) and body of one message."""
    subject_text, body_text = template_text(event, language)
    full = {name: "" for name in CONTEXT_HELP} | context
    subject = engine().from_string(subject_text).render(Context(full, autoescape=False))
    body = engine().from_string(body_text).render(Context(full, autoescape=False))
    return " ".join(subject.split())[:200], body.strip()
