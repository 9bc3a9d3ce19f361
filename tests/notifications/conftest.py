from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.notifications.servers import Gateway, SmtpServer

SECRET = "test-gateway-secret"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with Gateway(SECRET) as gw:
        yield gw


@pytest.fixture
def notify(settings: Any, smtp: SmtpServer, gateway: Gateway) -> dict[str, Any]:
    """Every channel on: email to the test's SMTP server, the three gateways to the test's gateway."""
    settings.CLAIMWISE_NOTIFY_CHANNELS = ["email", "sms", "wechat", "push"]
    settings.CLAIMWISE_EMAIL_HOST = "127.0.0.1"
    settings.CLAIMWISE_EMAIL_PORT = smtp.port
    settings.CLAIMWISE_EMAIL_TIMEOUT = 5
    settings.CLAIMWISE_GATEWAYS = {c: {"url": gateway.url, "secret": SECRET} for c in ("sms", "wechat", "push")}
    settings.CLAIMWISE_GATEWAY_TIMEOUT = 2
    settings.CLAIMWISE_NOTIFY_KICK = False
    settings.CLAIMWISE_NOTIFY_MAX_ATTEMPTS = 4
    settings.CLAIMWISE_NOTIFY_BACKOFF_SECONDS = 60
    settings.CLAIMWISE_NOTIFY_BACKOFF_MAX_SECONDS = 3600
    return {"smtp": smtp, "gateway": gateway}
