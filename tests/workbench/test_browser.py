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


@pytest.fixture(autouse=True)
def _shared_media(settings: Any) -> None:
    # Files the test uploads must be where the server process reads them.
    settings.MEDIA_ROOT = Path(settings.DATA_DIR) / "media"


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


# --- the claim page: a day's work through the pages ---------------------------------------------------


def _office() -> dict[str, Any]:
    """The motor process with a survey checklist and materials, an authority matrix, two handlers,
    a supervisor, and a claim reported by its customer with every required material."""
    import io

    from claimwise.claims.services import document_upload
    from tests.claims.test_api import png
    from tests.process import builders

    builders.definition()
    builders.limits({"handler": "10000", "reviewer": "50000", "supervisor": "200000"})
    holder = factories.customer(name="王芳")
    claim = factories.claim(actor=holder.user, policy=factories.policy(holder=holder), claimed_amount="8200.00")
    for doc_type in ("claim_form", "damage_photo", "repair_estimate"):
        data = png()
        document_upload(
            actor=holder.user,
            claim_id=claim.pk,
            doc_type=doc_type,
            stream=io.BytesIO(data),
            original_name=f"{doc_type}.png",
            size=len(data),
        )
    return {
        "claim": claim,
        "li": factories.user(Role.HANDLER, first_name="Lei", last_name="Li"),
        "wang": factories.user(Role.HANDLER, first_name="Min", last_name="Wang"),
        "boss": factories.user(Role.SUPERVISOR, first_name="Qiang", last_name="Zhao"),
    }


def _desk(browser: Any, server: str, user: Any) -> Any:  # noqa: F811
    """A signed-in page of its own (English) for one member of staff."""
    context = browser.new_context(base_url=server, locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/work/login/")
    _sign_in(page, user.username)
    _wait_for_queue(page)
    return page


def _open_action(page: Any, key: str) -> Any:
    page.click(f"[data-action={key}]")
    form = page.locator(f"#form-{key}")
    form.wait_for()
    return form


def _act(page: Any, key: str, fields: dict[str, str] | None = None, ticks: tuple[str, ...] = ()) -> None:
    """Open an action's form (htmx loads it in place), fill it, submit, and wait for the reloaded page."""
    form = _open_action(page, key)
    for name, value in (fields or {}).items():
        form.locator(f"[name={name}]").fill(value)
    for value in ticks:
        form.locator(f"input[value={value}]").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    page.wait_for_selector(".wb-message-success")


def _status(page: Any) -> str:
    return page.inner_text("h1").split("·")[-1].strip()


def test_a_handler_takes_a_claim_from_registration_to_closure(browser: Any, server: str) -> None:  # noqa: F811
    from tests.claims.test_api import png

    office = _office()
    claim = office["claim"]
    li = _desk(browser, server, office["li"])
    li.click(f"a[href='/work/claims/{claim.pk}/']")  # from My work: the unassigned report of the team
    li.wait_for_selector("#actions")
    assert _status(li) == "Reported"
    _act(li, "register", {"reserve": "8200", "note": "报案信息完整"})
    assert _status(li) == "Registered"

    # The one consolidated notice: everything missing plus what the handler adds.
    _act(li, "request_documents", {"extra_items": "交通事故责任认定书"})
    assert _status(li) == "Awaiting documents"
    form = _open_action(li, "upload")
    form.locator("[name=doc_type]").select_option("police_report")
    form.locator("input[type=file]").set_input_files(
        files=[{"name": "police.png", "mimeType": "image/png", "buffer": png()}]
    )
    with li.expect_navigation():
        form.locator("button[type=submit]").click()
    assert _status(li) == "Registered"  # everything is in: the claim resumed by itself

    # Leaving the survey step needs its checklist: the refusal says so in the form, in place.
    form = _open_action(li, "assess")
    form.locator("button[type=submit]").click()
    alert = li.locator("#form-assess [role=alert]")
    alert.wait_for()
    assert "Confirm the step's quality checklist first" in alert.inner_text()
    _act(li, "checks", ticks=("scene", "third_party"))
    _act(li, "assess")
    _act(li, "submit_for_approval", {"amount": "8000.00", "note": "按维修估价单定损"})
    assert _status(li) == "Pending approval"
    assert li.locator("[data-action=approve]").count() == 0  # four eyes: not the assessor

    wang = _desk(browser, server, office["wang"])
    wang.goto(f"/work/claims/{claim.pk}/")
    form = _open_action(wang, "approve")
    assert "up to 10000" in form.inner_text()
    form.locator("[name=amount]").fill("12000.00")
    form.locator("button[type=submit]").click()
    alert = wang.locator("#form-approve [role=alert]")
    alert.wait_for()
    assert "Your approval authority is 10000.00; 12000.00 needs an approver with a higher limit." in alert.inner_text()
    assert _status(wang) == "Pending approval"  # nothing changed
    previews = wang.locator(".wb-docs img")
    assert previews.count() == 4
    previews.first.scroll_into_view_if_needed()
    wang.wait_for_function("document.querySelector('.wb-docs img').naturalWidth > 0")  # the preview loads
    wang.screenshot(path=str(_shots() / "claim-refused-1280.png"), full_page=True)
    wang.locator("#form-approve [name=amount]").fill("8000.00")
    with wang.expect_navigation():
        wang.locator("#form-approve button[type=submit]").click()
    assert _status(wang) == "Approved"

    li.reload()
    _act(li, "request_payment", {"bank_account": "6222 0202 0011 2233 445"})
    assert _status(li) == "Payment pending"
    assert li.locator("[data-action=confirm_payment]").count() == 0  # released by a supervisor
    boss = _desk(browser, server, office["boss"])
    boss.goto(f"/work/claims/{claim.pk}/")
    _act(boss, "confirm_payment", {"reference": "CNAPS20261126001"})
    assert _status(boss) == "Paid"
    li.reload()
    _act(li, "close", {"note": "结案"})
    assert _status(li) == "Closed"
    assert "Paid" in li.inner_text("#sum-title + dl") or "8000.00" in li.inner_text("#sum-title + dl")
    li.screenshot(path=str(_shots() / "claim-closed-1280.png"), full_page=True)
    claim.refresh_from_db()
    assert claim.status == "closed" and str(claim.paid_amount) == "8000.00"


def test_a_supervisor_reassigns_a_claim_and_the_queues_change(browser: Any, server: str) -> None:  # noqa: F811
    from claimwise.claims.services import claim_register

    office = _office()
    claim = office["claim"]
    claim_register(actor=office["li"], claim_id=claim.pk)
    row = f"tr.wb-row[data-number='{claim.number}']"
    li = _desk(browser, server, office["li"])
    wang = _desk(browser, server, office["wang"])
    assert li.locator(row).count() == 1 and wang.locator(row).count() == 0
    boss = _desk(browser, server, office["boss"])
    boss.goto(f"/work/claims/{claim.pk}/")
    form = _open_action(boss, "assign")
    form.locator("[name=handler]").select_option(str(office["wang"].pk))
    form.locator("button[type=submit]").click()
    form.locator("#id_reason-error").wait_for()  # taking it from Li needs a reason
    boss.locator("#form-assign [name=reason]").fill("李磊休假")
    with boss.expect_navigation():
        boss.locator("#form-assign button[type=submit]").click()
    assert "Wang" in boss.inner_text("#sum-title + dl")
    boss.set_viewport_size({"width": 375, "height": 800})
    boss.screenshot(path=str(_shots() / "claim-375.png"), full_page=True)
    wide = boss.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376)"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 60))"
    )
    assert boss.evaluate("document.documentElement.scrollWidth") <= 375, wide
    li.reload()
    wang.reload()
    assert li.locator(row).count() == 0 and wang.locator(row).count() == 1
