"""The workbench in a real browser: Debian's Chromium driven by Playwright against `claimwise serve`
on the test database. No browser is ever downloaded: without /usr/bin/chromium these tests fail
(install Debian's `chromium` and `fonts-noto-cjk`, as .ci/run does), unless CLAIMWISE_SKIP_BROWSER=1."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from claimwise.accounts.choices import Role
from tests import factories
from tests.e2e.test_http_flow import server  # noqa: F401 - the real server fixture
from tests.workbench.conftest import PASSWORD, urgent_claims
from tests.workbench.test_pages import _code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CLAIMWISE_SKIP_BROWSER") == "1":
            pytest.skip("CLAIMWISE_SKIP_BROWSER=1 and no /usr/bin/chromium")
        pytest.fail(
            "browser tests need Debian's chromium at /usr/bin/chromium: apt-get install chromium fonts-noto-cjk"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls stay synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _server_hasher(settings: Any) -> None:
    # The tests hash with MD5 for speed; the server checks passwords with the real hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.press("#id_password", "Enter")


def _wait_for_queue(page: Any) -> None:
    page.wait_for_url(lambda url: urlsplit(url).path == "/work/")


def _shots() -> Path:
    folder = Path(
        os.environ.get("CLAIMWISE_SCREENSHOTS", "") or Path(os.environ.get("CLAIMWISE_DATA_DIR", "var")) / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_handler_signs_in_and_sees_the_queue_by_urgency(page: Any) -> None:
    handler = factories.user(Role.HANDLER, first_name="磊", last_name="李")
    holder = factories.customer(name="王芳")
    made = urgent_claims(handler, factories.policy(holder=holder))
    page.goto("/work/")
    assert "/work/login/" in page.url
    _sign_in(page, handler.username)
    _wait_for_queue(page)
    rows = page.locator("tr.wb-row")
    assert rows.count() == 3
    assert [rows.nth(i).get_attribute("data-urgency") for i in range(3)] == ["breached", "warning", "on_time"]
    assert rows.nth(0).get_attribute("data-number") == made["breached"].number
    assert "已逾期" in rows.nth(0).inner_text()
    colours = [rows.nth(i).locator("td").first.evaluate("e => getComputedStyle(e).borderLeftColor") for i in range(3)]
    assert len(set(colours)) == 3, colours  # red, orange and green edges
    page.screenshot(path=str(_shots() / "queue-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling on a phone
    page.screenshot(path=str(_shots() / "queue-375.png"), full_page=True)


def test_five_wrong_passwords_lock_the_account(page: Any) -> None:
    handler = factories.user(Role.HANDLER)
    page.goto("/work/login/")
    for _ in range(5):
        _sign_in(page, handler.username, "wrong-password")
        page.wait_for_selector("[role=alert]")
    assert "登录已锁定 15 分钟" in page.inner_text("[role=alert]")
    _sign_in(page, handler.username)  # the right password no longer helps
    page.wait_for_selector("[role=alert]")
    assert "登录已锁定" in page.inner_text("[role=alert]") and "/work/login/" in page.url


def test_language_switch_changes_the_page_language(page: Any) -> None:
    page.goto("/work/login/")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert page.inner_text("h1") == "员工登录"
    page.click("button[name=language][value=en]")
    page.wait_for_function("document.documentElement?.lang === 'en'")  # null while the page navigates
    assert page.inner_text("h1") == "Staff sign-in"
    page.click("button[name=language][value=zh-hans]")
    page.wait_for_function("document.documentElement?.lang === 'zh-hans'")
    assert page.inner_text("h1") == "员工登录"


def test_a_user_with_an_authenticator_gives_the_code(page: Any) -> None:
    handler = factories.user(Role.HANDLER)
    page.goto("/work/login/")
    page.set_viewport_size({"width": 375, "height": 700})
    page.screenshot(path=str(_shots() / "sign-in-375.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, handler.username)
    _wait_for_queue(page)
    # Enrol through the page: the QR code and the key are shown; the app's code confirms.
    page.click("a[href='/work/account/two-factor/']")
    page.click("button[type=submit] >> text=设置身份验证器应用")
    page.wait_for_selector(".wb-qr svg")
    page.screenshot(path=str(_shots() / "two-factor-1280.png"), full_page=True)
    secret = page.inner_text("[data-testid=totp-secret]")
    device = TOTPDevice.objects.get(user=handler, confirmed=False)
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    page.fill("#id_token", _code(device))
    page.press("#id_token", "Enter")
    _wait_for_queue(page)
    page.click("text=退出登录")
    page.wait_for_url("**/work/login/")
    # From now on the password alone is not enough.
    _sign_in(page, handler.username)
    page.wait_for_url("**/work/login/verify/**")
    device.refresh_from_db()
    page.fill("#id_token", "000000" if _code(device, ahead=1) != "000000" else "111111")
    page.press("#id_token", "Enter")
    page.wait_for_selector("[role=alert]")
    assert "/work/login/verify/" in page.url
    page.fill("#id_token", _code(device, ahead=1))
    page.press("#id_token", "Enter")
    _wait_for_queue(page)
    assert page.inner_text("h1") == "我的工作"


def test_search_by_claim_number_and_by_id_number(page: Any) -> None:
    handler = factories.user(Role.HANDLER)
    made = urgent_claims(handler, factories.policy())
    other_holder = factories.customer(name="赵敏")
    other = factories.claim(actor=handler, policy=factories.policy(holder=other_holder))
    page.goto("/work/login/")
    _sign_in(page, handler.username)
    _wait_for_queue(page)
    assert page.locator("tr.wb-row").count() == 4
    page.fill("#id_q", made["warning"].number)
    page.press("#id_q", "Enter")
    page.wait_for_function("document.querySelectorAll('tr.wb-row').length === 1")
    assert page.get_attribute("tr.wb-row", "data-number") == made["warning"].number
    page.fill("#id_q", other_holder.id_number)
    page.press("#id_q", "Enter")
    page.wait_for_function(f"document.querySelector('tr.wb-row')?.dataset.number === '{other.number}'")
    assert page.locator("tr.wb-row").count() == 1
    assert "q=" in page.url  # the filters are in the address, so a view can be bookmarked or saved
