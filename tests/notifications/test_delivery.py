"""Delivery against real servers: email to an aiosmtpd server started by the test, SMS / WeChat /
push to a local HTTP gateway that checks the HMAC signature; outages, back-off, failure."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.notifications.choices import Event, MessageStatus, Outcome
from claimwise.notifications.delivery import backoff, deliver_due
from claimwise.notifications.models import DeliveryAttempt, Message
from claimwise.notifications.selectors import claim_notifications
from claimwise.notifications.services import Recipient, message_retry, messages_queue
from tests import factories
from tests.notifications.conftest import SECRET


def queue(channels: dict[str, str], key: str = "test:1", language: str = "en") -> list[Message]:
    recipient = Recipient("c0", "Zhang Wei", language, channels)
    with transaction.atomic():
        messages_queue(
            event=Event.REGISTERED,
            claim=None,
            recipients=[recipient],
            context=lambda: {"claim_number": "MV1", "status": "Registered"},
            key=key,
        )
    return list(Message.objects.filter(dedupe_key__startswith=f"{key}:").order_by("channel"))


def attempts(message: Message) -> list[tuple[str, str]]:
    return list(DeliveryAttempt.objects.filter(message=message).order_by("at", "pk").values_list("outcome", "detail"))


def test_email_to_a_real_smtp_server(db: Any, notify: Any) -> None:
    [message] = queue({"email": "zhang.wei@example.com"})
    run = deliver_due()
    assert (run.sent, run.retried, run.failed) == (1, 0, 0)
    [received] = notify["smtp"].recorder.received
    assert received.to == ["zhang.wei@example.com"]
    assert received.subject == "Your claim MV1 is registered"
    assert "Dear Zhang Wei" in received.body
    message.refresh_from_db()
    assert received.message_id == message.message_id
    assert message.status == MessageStatus.SENT and message.attempts == 1 and message.sent_at is not None
    assert [o for o, _ in attempts(message)] == [Outcome.SENT]
    assert deliver_due().attempted == 0  # nothing twice


def test_gateway_delivery_is_signed(db: Any, notify: Any) -> None:
    messages = queue({"sms": "+8613812345678", "wechat": "oWX-openid", "push": "token-1"})
    assert deliver_due().sent == 3
    state = notify["gateway"].state
    assert state.rejected_signatures == 0
    by_channel = {p["channel"]: p for p in state.accepted}
    assert set(by_channel) == {"sms", "wechat", "push"}
    sms = by_channel["sms"]
    assert sms["to"] == "+8613812345678" and sms["event"] == "registered" and "Dear Zhang Wei" in sms["body"]
    assert {p["_key"] for p in state.accepted} == {f"claimwise-notification-{m.pk}" for m in messages}
    assert all(m.status == MessageStatus.SENT for m in Message.objects.all())


def test_a_bad_signature_is_rejected_and_fails_for_good(db: Any, notify: Any, settings: Any) -> None:
    settings.CLAIMWISE_GATEWAYS = {
        **settings.CLAIMWISE_GATEWAYS,
        "sms": {"url": notify["gateway"].url, "secret": "wrong"},
    }
    [message] = queue({"sms": "+8613812345678"})
    run = deliver_due()
    assert run.failed == 1 and notify["gateway"].state.rejected_signatures == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == 1
    assert "HTTP 401" in message.last_error
    assert attempts(message) == [(Outcome.FAILED, "HTTP 401: bad signature")]


def test_the_signature_checker_refuses_tampering() -> None:
    import time

    from claimwise.notifications.channels import sign, verify

    now = str(int(time.time()))
    signature = sign(SECRET, now, b'{"a":1}')
    assert verify(SECRET, now, b'{"a":1}', signature)
    assert not verify(SECRET, now, b'{"a":2}', signature)
    assert not verify("other", now, b'{"a":1}', signature)
    assert not verify(
        SECRET, str(int(time.time()) - 3600), b'{"a":1}', sign(SECRET, str(int(time.time()) - 3600), b'{"a":1}')
    )


def test_outage_then_recovery_delivers_once(db: Any, notify: Any) -> None:
    """503 first, then connections refused, then the gateway is back: retried with growing waits,
    delivered exactly once."""
    gateway = notify["gateway"]
    [message] = queue({"sms": "+8613812345678"})
    t0 = timezone.now()
    gateway.state.mode = "503"
    assert deliver_due(now=t0).retried == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING and message.next_attempt_at == t0 + backoff(1)
    assert backoff(1) == dt.timedelta(seconds=60) and backoff(2) == dt.timedelta(seconds=120)
    assert deliver_due(now=t0 + dt.timedelta(seconds=30)).attempted == 0  # not due yet

    gateway.stop()  # now connections are refused
    t1 = t0 + backoff(1)
    assert deliver_due(now=t1).retried == 1
    message.refresh_from_db()
    assert message.next_attempt_at == t1 + backoff(2) and message.attempts == 2

    gateway.state.mode = "ok"
    gateway.start()
    assert deliver_due(now=t1 + backoff(2)).sent == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 3
    outcomes = attempts(message)
    assert [o for o, _ in outcomes] == [Outcome.RETRY, Outcome.RETRY, Outcome.SENT]
    assert "503" in outcomes[0][1] and "ConnectError" in outcomes[1][1]
    assert gateway.state.keys[f"claimwise-notification-{message.pk}"] == 1
    assert len(gateway.state.accepted) == 1


def test_exhausted_retries_fail_with_every_attempt_logged_then_send_again(db: Any, notify: Any) -> None:
    notify["gateway"].state.mode = "503"
    [message] = queue({"push": "token-1"})
    now = timezone.now()
    for _ in range(4):  # CLAIMWISE_NOTIFY_MAX_ATTEMPTS in the tests
        deliver_due(now=now)
        message.refresh_from_db()
        now = message.next_attempt_at or now
    assert message.status == MessageStatus.FAILED and message.attempts == 4 and message.next_attempt_at is None
    assert [o for o, _ in attempts(message)] == [Outcome.RETRY] * 3 + [Outcome.FAILED]
    assert deliver_due(now=now + dt.timedelta(days=1)).attempted == 0  # failed stays failed

    admin = factories.user(Role.ADMIN)
    notify["gateway"].state.mode = "ok"
    message_retry(actor=admin, message_id=message.pk)
    assert deliver_due().sent == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and len(attempts(message)) == 5


def test_smtp_server_down_is_retried(db: Any, notify: Any, settings: Any) -> None:
    from tests.notifications.servers import free_port

    settings.CLAIMWISE_EMAIL_PORT = free_port()  # nothing listens there
    [message] = queue({"email": "a@example.com"})
    assert deliver_due().retried == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING and "SMTP" in message.last_error
    settings.CLAIMWISE_EMAIL_PORT = notify["smtp"].port
    assert deliver_due(now=timezone.now() + backoff(1)).sent == 1
    assert len(notify["smtp"].recorder.received) == 1


def test_unconfigured_gateway_fails_without_sending(db: Any, notify: Any, settings: Any) -> None:
    settings.CLAIMWISE_GATEWAYS = {**settings.CLAIMWISE_GATEWAYS, "wechat": {"url": "", "secret": ""}}
    [message] = queue({"wechat": "oWX"})
    assert deliver_due().failed == 1
    message.refresh_from_db()
    assert "no gateway URL or secret" in message.last_error


def test_a_claims_messages_with_their_attempts(db: Any, notify: Any) -> None:
    customer = factories.customer()
    policy = factories.policy(holder=customer)
    claim = factories.claim(actor=customer.user, policy=policy)
    deliver_due()
    handler = factories.user(Role.SUPERVISOR)
    [message] = list(claim_notifications(claim.pk, user=handler))
    assert message.channel == "sms" and [a.outcome for a in message.attempt_log.all()] == [Outcome.SENT]
    assert len(claim_notifications(claim.pk, user=customer.user)) == 1
    stranger = factories.customer(name="李娜").user
    from claimwise.core.errors import NotFound

    with pytest.raises(NotFound):
        claim_notifications(claim.pk, user=stranger)
