"""The demo's SMS sandbox: a stand-in for the carrier's gateway, so that everything that sends a text
(sign-up and reset codes, claim updates) works in the one-command demo. The gateway endpoint checks
the HMAC signature as a real gateway would and accepts; the inbox shows, for one mobile number, the
texts the outbox delivered to it. Mounted only when `claimwise demo` turns it on (never in production)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from claimwise.notifications.choices import Channel, MessageStatus
from claimwise.notifications.models import Message
from claimwise.notifications.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from claimwise.portal.services import e164


def sandbox(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.CLAIMWISE_DEMO_SANDBOX:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@csrf_exempt  # a machine-to-machine endpoint authenticated by its HMAC signature
@sandbox
@require_POST
def sms_gateway(request: HttpRequest) -> HttpResponse:
    secret = settings.CLAIMWISE_GATEWAYS["sms"]["secret"]
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not secret or not verify(secret, timestamp, request.body, signature):
        return HttpResponse("bad signature", status=401, content_type="text/plain")
    return HttpResponse("queued", content_type="text/plain")


@sandbox
@require_GET
def sms_inbox(request: HttpRequest) -> HttpResponse:
    number = e164(request.GET.get("to", "")) or ""
    texts = []
    if number:
        texts = [
            m
            for m in Message.objects.filter(channel=Channel.SMS, status=MessageStatus.SENT).order_by("-sent_at")[:200]
            if m.address == number  # the address is encrypted: compared after reading
        ][:20]
    return render(request, "demo/inbox.html", {"number": number, "texts": texts, "asked": "to" in request.GET})
