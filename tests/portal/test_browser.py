"""The customer portal in a real browser (Debian's Chromium, Playwright) against the real server, on
a desktop and on a 375-pixel phone screen: a customer signs up with the code the SMS gateway
received, reports a motor claim with photos, is told in one SMS what is missing, sends it from the
tracking page, and watches the claim move while a handler acts — without reloading the page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.claims.services import claim_register
from claimwise.notifications.delivery import deliver_due
from tests import factories
from tests.claims.test_api import png
from tests.e2e.test_http_flow import server  # noqa: F401 - the real server fixture
from tests.notifications.servers import Gateway
from tests.process import builders
from tests.workbench.test_browser import (  # noqa: F401 - the shared browser
    ARGS,
    CHROMIUM,
    _shared_media,  # noqa: F401 - files where the server reads them
    _shots,
    browser,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Secret-pass-123"


@pytest.fixture(autouse=True)
def _server_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


SECRET = "portal-browser-secret"


@pytest.fixture
def sms_gateway(settings: Any, monkeypatch: Any) -> Iterator[Gateway]:
    """A signature-checking SMS gateway on this machine, for the server process (environment) and
    for this one (settings): codes and notices arrive here."""
    with Gateway(SECRET) as gateway:
        monkeypatch.setenv("CLAIMWISE_NOTIFY_CHANNELS", "sms")
        monkeypatch.setenv("CLAIMWISE_SMS_GATEWAY_URL", gateway.url)
        monkeypatch.setenv("CLAIMWISE_SMS_GATEWAY_SECRET", SECRET)
        settings.CLAIMWISE_NOTIFY_CHANNELS = ["sms"]
        settings.CLAIMWISE_GATEWAYS = {**settings.CLAIMWISE_GATEWAYS, "sms": {"url": gateway.url, "secret": SECRET}}
        settings.CLAIMWISE_NOTIFY_KICK = False
        yield gateway


def _sms(gateway: Gateway, to: str, event: str, timeout: float = 20) -> list[dict[str, Any]]:
    """The SMS the gateway accepted for this number and event, waiting for the server's worker (and
    delivering what this process wrote itself)."""
    deadline = time.monotonic() + timeout
    while True:
        deliver_due()
        found = [m for m in gateway.state.accepted if m["to"] == to and m["event"] == event]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


@pytest.fixture(params=[1280, 375], ids=["desktop", "phone"])
def phone_or_desktop(request: Any, sms_gateway: Gateway, browser: Any, server: str) -> Iterator[Any]:  # noqa: F811
    width = request.param
    context = browser.new_context(
        base_url=server,
        locale="zh-CN",
        viewport={"width": width, "height": 800},
        is_mobile=width < 500,
        has_touch=width < 500,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.width = width  # type: ignore[attr-defined]
    yield page
    context.close()


def test_a_customer_signs_up_reports_and_follows_a_motor_claim(phone_or_desktop: Any, sms_gateway: Gateway) -> None:
    page = phone_or_desktop
    width = page.width
    builders.definition()
    holder = factories.customer(name="王芳", with_user=False)
    policy = factories.policy(holder=holder)
    handler = factories.user("handler")

    page.goto("/")
    page.click("a.p-button >> text=创建账户")
    page.fill("#id_id_number", holder.id_number)
    page.fill("#id_mobile", holder.phone.replace("+86", ""))
    page.click("main button[type=submit]")
    page.wait_for_url("**/sign-up/code/")
    [sms] = _sms(sms_gateway, holder.phone, "one_time_code")
    code = re.search(r"\d{6}", sms["body"]).group(0)  # type: ignore[union-attr]
    page.fill("#id_code", code)
    page.fill("#id_password", "Quiet-river-2026")
    page.fill("#id_password_again", "Quiet-river-2026")
    page.click("main button[type=submit]")
    page.wait_for_url("**/claims/")
    assert policy.number in page.inner_text("main")  # the account shows the policy that carries the ID number
    page.click(f"a[href='/policies/{policy.number}/report/']")
    assert "损失照片" in page.inner_text("section[aria-labelledby=have-title]")  # what to have at hand, first
    page.check("input[name=loss_type][value=collision]")
    page.fill("#id_incident_at", "2026-11-25T21:30")
    page.fill("#id_incident_place", "北京市朝阳区建国路88号")
    page.fill("#id_claimed_amount", "3200")
    page.fill("#id_payee_name", "王芳")
    page.fill("#id_payee_account", "6222020200112233445")
    page.set_input_files(
        "input[name=doc_damage_photo]",
        files=[{"name": f"photo{i}.png", "mimeType": "image/png", "buffer": png(40, 30)} for i in range(2)],
    )
    if width < 500:
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the phone
        page.screenshot(path=str(_shots() / f"portal-report-{width}.png"), full_page=True)
    page.click("button[value=submit]")
    page.wait_for_url("**/reported/")
    claim = Claim.objects.get()
    assert claim.number in page.inner_text(".p-number")
    assert "30" in page.inner_text("section[aria-labelledby=due-title]")  # the art. 23 clock, in days

    # The handler registers: the system sends the one consolidated notice of what is missing.
    claim_register(actor=handler, claim_id=claim.pk)
    page.click("a >> text=查看理赔进度")
    page.wait_for_selector("#needed")
    needed = page.inner_text("#needed")
    assert "索赔申请书" in needed and "损失照片" not in needed  # the photos arrived with the report
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.AWAITING_DOCUMENTS and claim.documents_requests == 1
    [notice] = _sms(sms_gateway, holder.phone, "documents_needed")  # one consolidated notice, by SMS
    assert "索赔申请书" in notice["body"] and claim.number in notice["body"]

    page.select_option("#id_doc_type", "claim_form")
    page.set_input_files("#doc-files", files=[{"name": "form.png", "mimeType": "image/png", "buffer": png()}])
    page.click("#upload button[type=submit]")
    page.wait_for_selector(".p-message-success")
    assert page.locator("#needed").count() == 0  # nothing missing any more
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REGISTERED  # complete: the claim resumed by itself

    # A handler acts while the page is open: the page redraws itself (no reload).
    from claimwise.claims.services import claim_assess

    builders.confirm_step(handler, claim.pk)
    claim_assess(actor=handler, claim_id=claim.pk)
    page.wait_for_function("document.querySelector('#st-title').innerText.includes('定损')", timeout=30_000)
    if width < 500:
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(_shots() / f"portal-claim-{width}.png"), full_page=True)
