"""Sign-up and password reset by a code sent to the mobile on the policy, delivered through the real
notification outbox to a signature-checking local SMS gateway."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from claimwise.accounts.models import User
from claimwise.core.models import AuditEntry
from claimwise.notifications.delivery import deliver_due
from claimwise.notifications.models import Message
from claimwise.portal.models import OneTimeCode
from tests import factories
from tests.notifications.servers import Gateway

pytestmark = pytest.mark.django_db
SECRET = "portal-test-secret"


@pytest.fixture
def sms(settings: Any) -> Iterator[Gateway]:
    with Gateway(SECRET) as gateway:
        settings.CLAIMWISE_NOTIFY_CHANNELS = ["sms"]
        settings.CLAIMWISE_GATEWAYS = {"sms": {"url": gateway.url, "secret": SECRET}}
        settings.CLAIMWISE_NOTIFY_KICK = False
        yield gateway


def _last_code(gateway: Gateway) -> str:
    deliver_due()
    body = gateway.state.accepted[-1]["body"]
    return re.search(r"\d{6}", body).group(0)  # type: ignore[union-attr]


def test_sign_up_with_the_policy_s_id_number_and_mobile(sms: Gateway) -> None:
    holder = factories.customer(with_user=False, name="王芳")
    factories.policy(holder=holder)
    mobile = holder.phone.replace("+86", "")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    wrong = client.post("/sign-up/", {"id_number": factories.id_number(), "mobile": mobile})
    assert wrong.status_code == 422 and "could not match" in wrong.content.decode()
    started = client.post("/sign-up/", {"id_number": holder.id_number.lower(), "mobile": mobile})
    assert started.status_code == 302 and started["Location"] == "/sign-up/code/"
    page = client.get("/sign-up/code/").content.decode()
    assert holder.phone[-4:] in page and holder.phone not in page  # the number, masked
    code = _last_code(sms)
    assert sms.state.accepted[-1]["to"] == holder.phone
    assert "••••••" not in Message.objects.get().body  # the outbox keeps it; the back office hides it
    weak = client.post("/sign-up/code/", {"code": code, "password": "123", "password_again": "123"})
    assert weak.status_code == 422 and 'id="id_password-error"' in weak.content.decode()
    assert OneTimeCode.objects.get().used_at is None  # a weak password does not use up the code
    again = client.post("/sign-up/", {"id_number": holder.id_number, "mobile": mobile})
    assert again.status_code == 422 and "less than a minute ago" in again.content.decode()  # one a minute
    good = {"code": code, "password": "Quiet-river-42", "password_again": "Quiet-river-42"}
    assert client.post("/sign-up/code/", good).status_code == 302


def test_sign_up_finishes_and_the_account_sees_the_policies(sms: Gateway) -> None:
    holder = factories.customer(with_user=False, name="王芳")
    policy = factories.policy(holder=holder)
    mobile = holder.phone.replace("+86", "")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/sign-up/", {"id_number": holder.id_number, "mobile": mobile})
    code = _last_code(sms)
    bad = client.post(
        "/sign-up/code/",
        {
            "code": "000000" if code != "000000" else "111111",
            "password": "Quiet-river-42",
            "password_again": "Quiet-river-42",
        },
    )
    assert bad.status_code == 422 and "not correct" in bad.content.decode()
    done = client.post(
        "/sign-up/code/", {"code": code, "password": "Quiet-river-42", "password_again": "Quiet-river-42"}
    )
    assert done.status_code == 302 and done["Location"] == "/claims/"
    holder.refresh_from_db()
    assert holder.user is not None and holder.user.role == "customer"
    assert policy.number in client.get("/claims/").content.decode()
    fresh = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert fresh.post("/sign-in/", {"mobile": mobile, "password": "Quiet-river-42"}).status_code == 302
    again = fresh.post("/sign-up/", {"id_number": holder.id_number, "mobile": mobile})
    assert again.status_code == 422 and "already have an account" in again.content.decode()
    assert AuditEntry.objects.filter(action="customer.link_account").exists()


def test_a_code_allows_five_tries_then_a_new_one_is_needed(sms: Gateway) -> None:
    holder = factories.customer(name="王芳")
    factories.policy(holder=holder)
    mobile = holder.phone.replace("+86", "")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/reset/", {"mobile": mobile})
    code = _last_code(sms)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post("/reset/code/", {"code": wrong, "password": "New-river-42", "password_again": "New-river-42"})
    late = client.post("/reset/code/", {"code": code, "password": "New-river-42", "password_again": "New-river-42"})
    assert late.status_code == 422 and "no longer valid" in late.content.decode()
    assert OneTimeCode.objects.get().attempts == 5


def test_password_reset_ends_a_lock_out(sms: Gateway) -> None:
    holder = factories.customer(name="王芳")
    factories.policy(holder=holder)
    mobile = holder.phone.replace("+86", "")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(5):
        client.post("/sign-in/", {"mobile": mobile, "password": "forgotten"})
    assert client.post("/sign-in/", {"mobile": mobile, "password": "Secret-pass-123"}).status_code == 429
    unknown = client.post("/reset/", {"mobile": "13900000000"})
    assert unknown.status_code == 302 and not OneTimeCode.objects.exists()  # same answer, nothing sent
    client.post("/reset/", {"mobile": mobile})
    code = _last_code(sms)
    changed = client.post("/reset/code/", {"code": code, "password": "New-river-42", "password_again": "New-river-42"})
    assert changed.status_code == 302 and changed["Location"] == "/sign-in/"
    assert client.post("/sign-in/", {"mobile": mobile, "password": "New-river-42"}).status_code == 302
    assert User.objects.get(pk=holder.user.pk).check_password("New-river-42")


def test_without_a_message_service_the_page_says_so(settings: Any) -> None:
    settings.CLAIMWISE_NOTIFY_CHANNELS = []
    holder = factories.customer(with_user=False, name="王芳")
    factories.policy(holder=holder)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.post("/sign-up/", {"id_number": holder.id_number, "mobile": holder.phone})
    assert page.status_code == 422 and "cannot send you a code" in page.content.decode()
    assert not OneTimeCode.objects.exists()
