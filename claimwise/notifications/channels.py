"""Channel adapters: email through Django's SMTP backend, SMS / WeChat / app push through an HTTP
gateway. An adapter either returns (delivered, with what the server said) or raises `Undelivered`,
saying whether a later attempt may succeed.

The gateway request (docs/operations.md, "Gateway requests"):

    POST <CLAIMWISE_<CHANNEL>_GATEWAY_URL>
    Content-Type: application/json
    Idempotency-Key: claimwise-notification-<message id>    (the same on every attempt)
    X-Claimwise-Timestamp: <Unix time, seconds>
    X-Claimwise-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

    {"id": 17, "channel": "sms", "to": "+8613812345678", "language": "zh-hans",
     "event": "registered", "claim": "MO2500000001", "subject": "...", "body": "..."}

2xx is delivered; 408, 425, 429, 5xx, a refused connection or a time-out are retried; any other
answer is final (the request itself is wrong: fix and send again from the back office)."""

from __future__ import annotations

import contextlib
import json
import smtplib
import time
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend

from claimwise.notifications.choices import Channel
from claimwise.notifications.models import Message
from claimwise.notifications.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

__all__ = ["Courier", "Undelivered", "payload", "sign", "verify"]

RETRYABLE_HTTP = frozenset({408, 425, 429})


class Undelivered(Exception):  # noqa: N818  (an outcome, not a programming error)
    def __init__(self, detail: str, *, retry: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry = retry


@dataclass
class Courier:
    """One worker thread's open connections: an SMTP session and an HTTP connection pool, reused
    from message to message."""

    smtp: EmailBackend | None = None
    http: httpx.Client | None = None

    def close(self) -> None:
        self._drop_smtp()
        if self.http is not None:
            self.http.close()
            self.http = None

    def send(self, message: Message) -> str:
        if message.channel == Channel.EMAIL:
            return self._email(message)
        return self._gateway(message)

    # --- email ------------------------------------------------------------------------------------

    def _backend(self) -> EmailBackend:
        if self.smtp is None:
            self.smtp = EmailBackend(
                host=settings.CLAIMWISE_EMAIL_HOST or "localhost",
                port=settings.CLAIMWISE_EMAIL_PORT,
                username=settings.CLAIMWISE_EMAIL_USER or None,
                password=settings.CLAIMWISE_EMAIL_PASSWORD or None,
                use_tls=settings.CLAIMWISE_EMAIL_TLS,
                use_ssl=settings.CLAIMWISE_EMAIL_SSL,
                timeout=settings.CLAIMWISE_EMAIL_TIMEOUT,
                fail_silently=False,
            )
        return self.smtp

    def _email(self, message: Message) -> str:
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.CLAIMWISE_EMAIL_FROM,
            to=[message.address],
            # The same Message-ID on every attempt: a receiver can recognise a repeat.
            headers={"Message-ID": message.message_id, "X-Claimwise-Notification": str(message.pk)},
        )
        for fresh in (False, True):
            backend = self._backend()
            try:
                backend.open()  # keeps the session open across messages (send_messages leaves it)
                backend.send_messages([email])
                return "250 accepted"
            except smtplib.SMTPServerDisconnected as exc:
                # A kept session the server closed in the meantime: nothing was accepted; once more on
                # a new session.
                self._drop_smtp()
                if fresh:
                    raise Undelivered(f"SMTP: {exc}", retry=True) from exc
            except smtplib.SMTPResponseException as exc:
                self._drop_smtp()
                text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
                raise Undelivered(f"SMTP {exc.smtp_code}: {text}", retry=exc.smtp_code < 500) from exc
            except smtplib.SMTPRecipientsRefused as exc:
                self._drop_smtp()
                codes = [code for code, _text in exc.recipients.values()]
                raise Undelivered(
                    f"SMTP recipient refused: {exc.recipients}", retry=all(c < 500 for c in codes)
                ) from exc
            except (OSError, smtplib.SMTPException) as exc:
                self._drop_smtp()
                raise Undelivered(f"SMTP: {type(exc).__name__}: {exc}", retry=True) from exc
        raise AssertionError("unreachable")

    def _drop_smtp(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):  # closing a broken session
                self.smtp.close()
            self.smtp = None

    # --- gateways ---------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self.http is None:
            self.http = httpx.Client(timeout=settings.CLAIMWISE_GATEWAY_TIMEOUT, follow_redirects=False)
        return self.http

    def _gateway(self, message: Message) -> str:
        gateway = settings.CLAIMWISE_GATEWAYS.get(message.channel) or {}
        url, secret = gateway.get("url", ""), gateway.get("secret", "")
        if not url or not secret:
            # Never sent unsigned; waits as failed until configured and sent again.
            raise Undelivered(f"no gateway URL or secret configured for {message.channel}", retry=False)
        body = json.dumps(payload(message), ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": f"claimwise-notification-{message.pk}",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            response = self._client().post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Undelivered(f"gateway: {type(exc).__name__}: {exc}", retry=True) from exc
        summary = f"HTTP {response.status_code}: {response.text[:200]}"
        if 200 <= response.status_code < 300:
            return summary
        retry = response.status_code in RETRYABLE_HTTP or response.status_code >= 500
        raise Undelivered(summary, retry=retry)


def payload(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "channel": message.channel,
        "to": message.address,
        "language": message.language,
        "event": message.event,
        "claim": message.claim.number if message.claim_id and message.claim else None,
        "subject": message.subject,
        "body": message.body,
    }
