"""A customer changes their mobile number or email address in the portal: the password again, a
code to the new address (real SMS gateway, real SMTP server), and a notice to the old one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from claimwise.core.models import AuditEntry
from claimwise.notifications.choices import Event
from claimwise.notifications.delivery import deliver_due
from claimwise.notifications.models import Message
from claimwise.policies.models import Customer
from tests import factories
from tests.notifications.servers import Gateway, SmtpServer

pytestmark = pytest.mark.django_db
SECRET = "portal-contact-secret"
PASSWORD = "Secret-pass-123"


@pytest.fixture
def channels(settings: Any) -> Iterator[tuple[Gateway, SmtpServer]]:
    with Gateway(SECRET) as gateway, SmtpServer() as smtp:
        settings.CLAIMWISE_NOTIFY_CHANNELS = ["sms", "email"]
        settings.CLAIMWISE_GATEWAYS = {"sms": {"url": gateway.url, "secret": SECRET}}
        settings.CLAIMWISE_EMAIL_HOST = "127.0.0.1"
        settings.CLAIMWISE_EMAIL_PORT = smtp.port
        settings.CLAIMWISE_EMAIL_TIMEOUT = 5
        settings.CLAIMWISE_NOTIFY_KICK = False
        yield gateway, smtp


def _signed_in() -> tuple[Client, Customer]:
    holder = factories.customer(name="王芳")
    factories.policy(holder=holder)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(holder.user)  # type: ignore[arg-type]
    return client, holder


def _code(text: str) -> str:
    return re.search(r"\d{6}", text).group(0)  # type: ignore[union-attr]


def test_a_new_mobile_is_proved_by_a_code_to_it_and_the_old_number_is_told(
    channels: tuple[Gateway, SmtpServer],
) -> None:
    sms, _smtp = channels
    client, holder = _signed_in()
    old = holder.phone
    other = factories.customer(name="李娜")
    page = client.get("/account/notifications/").content.decode()
    assert "/account/contact/mobile/" in page and old[-4:] in page and old not in page  # masked

    wrong = client.post("/account/contact/mobile/", {"value": "13912345678", "password": "nope"})
    assert wrong.status_code == 422 and 'id="id_password-error"' in wrong.content.decode()
    taken = client.post("/account/contact/mobile/", {"value": other.phone, "password": PASSWORD})
    assert taken.status_code == 422 and "used by another account" in taken.content.decode()
    assert 'id="id_value-error"' in taken.content.decode()
    bad = client.post("/account/contact/mobile/", {"value": "12345", "password": PASSWORD})
    assert bad.status_code == 422 and 'id="id_value-error"' in bad.content.decode()

    new = "13912345678"
    started = client.post("/account/contact/mobile/", {"value": new, "password": PASSWORD})
    assert started.status_code == 302 and started["Location"] == "/account/contact/mobile/code/"
    deliver_due()
    assert sms.state.accepted[-1]["to"] == "+8613912345678"  # the code goes to the new number only
    code = _code(sms.state.accepted[-1]["body"])
    holder.refresh_from_db()
    assert holder.phone == old  # nothing changes before the code
    asked = client.get("/account/contact/mobile/code/").content.decode()
    assert "5678" in asked and new not in asked

    miss = client.post("/account/contact/mobile/code/", {"code": "000000" if code != "000000" else "111111"})
    assert miss.status_code == 422 and "not correct" in miss.content.decode()
    done = client.post("/account/contact/mobile/code/", {"code": code})
    assert done.status_code == 302 and done["Location"] == "/account/notifications/"
    holder.refresh_from_db()
    assert holder.phone == "+8613912345678"
    entry = AuditEntry.objects.get(action="customer.contact_change")
    assert entry.before["phone"] == old and entry.after["phone"] == "+8613912345678"

    deliver_due()
    notice = Message.objects.get(event=Event.CONTACT_CHANGED)
    assert notice.address == old and "did not make this change" not in notice.body  # in Chinese by default
    assert sms.state.accepted[-1]["to"] == old and "+86139****5678" in sms.state.accepted[-1]["body"]
    fresh = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert fresh.post("/sign-in/", {"mobile": new, "password": PASSWORD}).status_code == 302
    stale = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert stale.post("/sign-in/", {"mobile": old, "password": PASSWORD}).status_code == 401
    again = client.post("/account/contact/mobile/code/", {"code": code})
    assert again.status_code == 302 and again["Location"] == "/account/contact/mobile/"  # nothing pending


def test_a_new_email_is_proved_by_a_code_sent_to_it(channels: tuple[Gateway, SmtpServer]) -> None:
    sms, smtp = channels
    client, holder = _signed_in()
    invalid = client.post("/account/contact/email/", {"value": "not-an-address", "password": PASSWORD})
    assert invalid.status_code == 422 and "valid email" in invalid.content.decode()
    started = client.post("/account/contact/email/", {"value": "Wang.Fang@Example.com", "password": PASSWORD})
    assert started.status_code == 302
    deliver_due()
    mail = smtp.recorder.received[-1]
    assert mail.to == ["wang.fang@example.com"]
    assert "w•••@example.com" in client.get("/account/contact/email/code/").content.decode()
    done = client.post("/account/contact/email/code/", {"code": _code(mail.body)})
    assert done.status_code == 302
    holder.refresh_from_db()
    assert holder.email == "wang.fang@example.com"
    deliver_due()
    assert sms.state.accepted[-1]["to"] == holder.phone  # the notice goes to what we had before
    assert "w•••@example.com" in sms.state.accepted[-1]["body"]


def test_contact_pages_refuse_unknown_kinds_and_strangers(channels: tuple[Gateway, SmtpServer]) -> None:
    client, _holder = _signed_in()
    assert client.get("/account/contact/fax/").status_code == 404
    assert client.get("/account/contact/mobile/code/").status_code == 302  # nothing pending
    anonymous = Client()
    assert anonymous.get("/account/contact/mobile/").status_code == 302  # to sign-in
