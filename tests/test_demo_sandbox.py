"""The demo's SMS sandbox: off (404) unless `claimwise demo` turns it on; the gateway checks the
signature; the demo phone shows the texts delivered to a number; production refuses it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from claimwise.notifications.delivery import deliver_due
from tests import factories

pytestmark = pytest.mark.django_db


def test_off_by_default() -> None:
    client = Client()
    assert client.get("/demo/inbox/").status_code == 404
    assert client.post("/demo/sms/", data=b"{}", content_type="application/json").status_code == 404


def test_sign_up_codes_arrive_on_the_demo_phone(settings: Any, live_server: Any) -> None:
    settings.CLAIMWISE_DEMO_SANDBOX = True
    settings.CLAIMWISE_NOTIFY_CHANNELS = ["sms"]
    settings.CLAIMWISE_GATEWAYS = {
        **settings.CLAIMWISE_GATEWAYS,
        "sms": {"url": f"{live_server.url}/demo/sms/", "secret": "s"},
    }
    settings.CLAIMWISE_NOTIFY_KICK = False
    holder = factories.customer(with_user=False, name="王芳")
    factories.policy(holder=holder)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.post("/sign-up/", {"id_number": holder.id_number, "mobile": holder.phone}).status_code == 302
    assert deliver_due().sent == 1  # accepted by the sandbox carrier, signature checked
    inbox = client.get("/demo/inbox/", {"to": holder.phone.replace("+86", "")}).content.decode()
    assert re.search(r"\d{6}", inbox)
    assert Client().post("/demo/sms/", data=b"{}", content_type="application/json").status_code == 401


def test_production_refuses_the_sandbox(settings: Any) -> None:
    from claimwise.core.checks import refuse_demo_secrets_in_production

    settings.PRODUCTION = True
    settings.CLAIMWISE_DEMO_SANDBOX = True
    with pytest.raises(ImproperlyConfigured, match="CLAIMWISE_DEMO_SANDBOX"):
        refuse_demo_secrets_in_production()
