"""Templates per event and language: the shipped defaults, edits in the back office (validated on
save, written and audited by the service), and the outbox and preferences there."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import translation

from claimwise.core.errors import ValidationFailed
from claimwise.core.models import AuditEntry
from claimwise.notifications.choices import Event, Language
from claimwise.notifications.defaults import DEFAULTS
from claimwise.notifications.models import ContactPreference, Message, MessageTemplate
from claimwise.notifications.rendering import render, template_problems
from claimwise.notifications.services import Recipient, messages_queue, template_delete, template_save
from tests import factories
from tests.test_admin import root, staff  # noqa: F401  (fixtures)


def test_every_event_has_a_default_in_both_languages_that_renders() -> None:
    for event in Event.values:
        for language in Language.values:
            subject, body = DEFAULTS[event][language]
            assert template_problems(subject, body) == {}, (event, language)


def test_an_edited_template_replaces_the_default_and_deleting_it_restores_it(db: Any) -> None:
    row = template_save(
        actor=None, event="registered", language="en", subject="Claim {{ claim_number }}", body="Hi {{ name }}!"
    )
    assert render("registered", "en", {"claim_number": "X1", "name": "Ann"}) == ("Claim X1", "Hi Ann!")
    assert render("registered", "zh-hans", {"claim_number": "X1", "name": "张伟"})[0] == "理赔已立案：X1"
    assert AuditEntry.objects.filter(action="notifications.template_save", object_id=str(row.pk)).exists()
    template_delete(actor=None, template_id=row.pk)
    assert render("registered", "en", {"claim_number": "X1", "name": "Ann"})[0] == "Your claim X1 is registered"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("Hello {{ name ", "Template error"),
        ("{% if %}x{% endif %}", "Template error"),
        ("{% load static %}", "Template error"),
        ("{{ name|nosuchfilter }}", "Template error"),
        ('{% include "x.html" %}', "cannot be rendered"),
        ("   ", "Write the text"),
    ],
)
def test_broken_templates_are_refused_on_the_field(db: Any, body: str, fragment: str) -> None:
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        template_save(actor=None, event="registered", language="en", subject="ok", body=body)
    [problem] = caught.value.detail
    assert problem["field"] == "body" and fragment in problem["message"]
    assert not MessageTemplate.objects.exists()


def test_no_html_escaping_and_no_access_beyond_the_context(db: Any) -> None:
    template_save(
        actor=None, event="decision", language="en", subject="{{ outcome }}", body="{{ notice }} {{ settings }}"
    )
    subject, body = render("decision", "en", {"outcome": "Denied", "notice": "A & B <c>"})
    assert body == "A & B <c>"


def test_the_back_office_edits_through_the_service(staff: Client) -> None:  # noqa: F811
    data = {"event": "registered", "language": "en", "subject": "Reg {{ claim_number }}", "body": "Dear {{ name }}"}
    response = staff.post("/admin/notifications/messagetemplate/add/", data)
    assert response.status_code == 302, response.content
    row = MessageTemplate.objects.get()
    assert AuditEntry.objects.filter(action="notifications.template_save", object_id=str(row.pk)).count() == 1
    page = staff.get(f"/admin/notifications/messagetemplate/{row.pk}/change/")
    assert page.status_code == 200 and "claim_number" in page.content.decode()


def test_the_back_office_shows_a_syntax_error_on_the_field(staff: Client) -> None:  # noqa: F811
    before = AuditEntry.objects.count()
    data = {"event": "registered", "language": "en", "subject": "Reg", "body": "{% for x in items %}"}
    response = staff.post("/admin/notifications/messagetemplate/add/", data)
    assert response.status_code == 200
    assert "Template error" in str(response.context["adminform"].form.errors["body"])
    assert not MessageTemplate.objects.exists() and AuditEntry.objects.count() == before


def test_the_outbox_in_the_back_office(staff: Client, settings: Any) -> None:  # noqa: F811
    settings.CLAIMWISE_NOTIFY_CHANNELS = ["sms"]
    with transaction.atomic():
        messages_queue(
            event=Event.REGISTERED,
            claim=None,
            recipients=[Recipient("c1", "Ann", "en", {"sms": "+8613812345678"})],
            context=lambda: {"claim_number": "X1"},
            key="admin:1",
        )
    message = Message.objects.get()
    listing = staff.get("/admin/notifications/message/?status__exact=pending&channel__exact=sms")
    assert listing.status_code == 200 and "138****5678" in listing.content.decode()
    assert "+8613812345678" not in listing.content.decode()
    page = staff.get(f"/admin/notifications/message/{message.pk}/change/")
    assert page.status_code == 200 and "+8613812345678" not in page.content.decode()


def test_preferences_in_the_back_office(staff: Client) -> None:  # noqa: F811
    customer = factories.customer()
    url = "/admin/notifications/contactpreference/add/"
    refused = staff.post(url, {"customer": customer.pk, "channels": ["email"], "language": "en"})
    assert refused.status_code == 200 and "no email" in str(refused.context["adminform"].form.errors)
    response = staff.post(url, {"customer": customer.pk, "channels": ["sms"], "language": "en"})
    assert response.status_code == 302, response.content
    pref = ContactPreference.objects.get(customer=customer)
    assert pref.channels == ["sms"] and pref.language == "en"
    assert AuditEntry.objects.filter(action="notifications.preference_save").count() == 1
