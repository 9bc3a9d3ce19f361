"""The workbench's pages through Django's test client: sign-in, lock-out, two-step sign-in, the queue
(order, filters, search, saved views) and the pinned number of queries per page."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from claimwise.accounts.choices import Role
from claimwise.core.audit import audit_verify
from claimwise.core.models import AuditEntry
from claimwise.workbench.models import SavedView
from tests import factories
from tests.workbench.conftest import PASSWORD, urgent_claims

pytestmark = pytest.mark.django_db


def _client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _sign_in(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post("/work/login/", {"username": username, "password": password})


def _code(device: TOTPDevice, ahead: int = 0) -> str:
    """The device's code now, or `ahead` steps later (a code is accepted once: django-otp refuses a
    replay, and it allows one step of clock drift)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + ahead * device.step
    return f"{totp.token():06d}"


def test_pages_need_a_signed_in_staff_member(desk: dict[str, Any]) -> None:
    client = _client()
    response = client.get("/work/")
    assert response.status_code == 302 and response["Location"].startswith("/work/login/?next=/work/")
    response = _sign_in(client, desk["customer"].username)
    assert response.status_code == 403
    assert "This sign-in is for staff" in response.content.decode()
    assert client.get("/work/").status_code == 302


def test_sign_in_lands_on_the_queue_and_is_audited(desk: dict[str, Any]) -> None:
    client = _client()
    page = client.get("/work/login/")
    assert page.status_code == 200 and 'name="csrfmiddlewaretoken"' in page.content.decode()
    response = _sign_in(client, desk["handler"].username)
    assert response.status_code == 302 and response["Location"] == "/work/"
    assert client.get("/work/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.sign_in", actor_id=desk["handler"].pk).exists()
    client.post("/work/logout/")
    assert client.get("/work/").status_code == 302
    assert AuditEntry.objects.filter(action="auth.sign_out").exists()
    assert audit_verify().ok


def test_five_failures_lock_the_username_whether_or_not_it_exists(desk: dict[str, Any], settings: Any) -> None:
    client = _client()
    for _ in range(4):
        response = _sign_in(client, desk["handler"].username, "wrong-password")
        assert response.status_code == 401
        assert "The username or password is not correct." in response.content.decode()
    response = _sign_in(client, desk["handler"].username, "wrong-password")
    assert response.status_code == 429 and "locked for 15 minutes" in response.content.decode()
    # Now even the right password is refused, with the same message.
    response = _sign_in(client, desk["handler"].username.upper())
    assert response.status_code == 429
    assert AuditEntry.objects.filter(action="auth.locked_out").count() == 1
    # A username that does not exist answers exactly the same way.
    answers = [_sign_in(client, "nobody-here", "x").status_code for _ in range(5)]
    assert answers == [401, 401, 401, 401, 429]


def test_a_user_with_an_authenticator_must_give_the_code(desk: dict[str, Any]) -> None:
    handler = desk["handler"]
    client = _client()
    _sign_in(client, handler.username)
    # Enrol: start, the page shows a QR code (SVG) and the key, confirm with a code.
    client.post("/work/account/two-factor/", {"action": "start"})
    page = client.get("/work/account/two-factor/").content.decode()
    assert "<svg" in page and 'data-testid="totp-secret"' in page
    device = TOTPDevice.objects.get(user=handler)
    bad = client.post("/work/account/two-factor/", {"action": "confirm", "token": "000000"})
    assert "The code is not valid" in bad.content.decode() or _code(device) == "000000"
    assert client.post("/work/account/two-factor/", {"action": "confirm", "token": _code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    client.post("/work/logout/")

    fresh = _client()
    response = _sign_in(fresh, handler.username)
    assert response.status_code == 302 and response["Location"].startswith("/work/login/verify/")
    assert fresh.get("/work/").status_code == 302  # the password alone is not enough
    wrong = fresh.post("/work/login/verify/", {"token": "12345"})
    assert "Enter the 6 digits" in wrong.content.decode()
    device.refresh_from_db()
    response = fresh.post("/work/login/verify/", {"token": _code(device, ahead=1)})
    assert response.status_code == 302 and response["Location"] == "/work/"
    assert fresh.get("/work/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.sign_in", after__method="password+totp").exists()


def test_back_office_session_without_the_code_is_sent_to_sign_in(desk: dict[str, Any]) -> None:
    handler = desk["handler"]
    TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    client = _client()
    client.force_login(handler)
    assert client.get("/work/").status_code == 302


def _rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-urgency="(\w+)" data-number="(\w+)"', html)


def test_queue_is_sorted_by_urgency_with_time_left(desk: dict[str, Any]) -> None:
    made = urgent_claims(desk["handler"], desk["policy"])
    client = _client()
    client.force_login(desk["handler"])
    html = client.get("/work/").content.decode()
    assert _rows(html) == [
        ("breached", made["breached"].number),
        ("warning", made["warning"].number),
        ("on_time", made["on_time"].number),
    ]
    assert "overdue" in html and "3 open claims" in html
    assert desk["holder"].name in html and desk["holder"].phone not in html  # phone masked
    # A claim assigned to another handler leaves this handler's queue.
    other = factories.user(Role.HANDLER)
    from claimwise.claims.services import claim_assign

    claim_assign(actor=desk["supervisor"], claim_id=made["warning"].pk, handler=other)
    assert len(_rows(client.get("/work/").content.decode())) == 2
    # The supervisor's team queue shows the whole branch.
    boss = _client()
    boss.force_login(desk["supervisor"])
    assert len(_rows(boss.get("/work/?tab=team").content.decode())) == 3


def test_search_finds_by_number_id_phone_plate_and_name(desk: dict[str, Any]) -> None:
    made = urgent_claims(desk["handler"], desk["policy"])
    other_holder = factories.customer(name="赵敏")
    other_policy = factories.policy(holder=other_holder, line="health")
    other = factories.claim(actor=desk["handler"], policy=other_policy, loss_type="hospitalization")
    client = _client()
    client.force_login(desk["handler"])

    def found(q: str) -> set[str]:
        return {n for _u, n in _rows(client.get("/work/", {"q": q}).content.decode())}

    assert found(made["breached"].number) == {made["breached"].number}
    assert found(made["breached"].number[:10]) >= {made["breached"].number}
    assert found(other_holder.id_number) == {other.number}
    assert found(other_holder.id_number.lower()) == {other.number}
    local = other_holder.phone.removeprefix("+86")
    assert found(f"{local[:3]} {local[3:7]} {local[7:]}") == {other.number}
    assert found("京A12345") == {c.number for c in made.values()}
    assert found("赵") == {other.number}
    assert found("no such thing") == set()
    # Filters: line and status (htmx asks for the results only).
    partial = client.get("/work/", {"line": "health"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert "<html" not in partial.content.decode()
    assert {n for _u, n in _rows(partial.content.decode())} == {other.number}


def test_saved_views_are_per_user_and_audited(desk: dict[str, Any]) -> None:
    client = _client()
    client.force_login(desk["handler"])
    response = client.post("/work/views/", {"name": "Health", "line": "health", "page": "3"})
    assert response.status_code == 302 and response["Location"] == "/work/?line=health"
    view = SavedView.objects.get(user=desk["handler"])
    assert view.params == {"line": "health"}
    html = client.get("/work/").content.decode()
    assert 'href="?line=health">Health</a>' in html
    assert "Give the view a name." in client.post("/work/views/", {"name": " "}, follow=True).content.decode()
    other = _client()
    other.force_login(desk["supervisor"])
    other.post(f"/work/views/{view.pk}/delete/")
    assert SavedView.objects.filter(pk=view.pk).exists()  # not theirs
    client.post(f"/work/views/{view.pk}/delete/")
    assert not SavedView.objects.exists()
    actions = list(AuditEntry.objects.filter(action__startswith="workbench.").values_list("action", flat=True))
    assert actions == ["workbench.view_save", "workbench.view_delete"]


def test_language_follows_the_switch(desk: dict[str, Any]) -> None:
    client = Client()  # no Accept-Language: the default is Simplified Chinese
    assert "员工登录" in client.get("/work/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/work/login/"})
    assert "Staff sign-in" in client.get("/work/login/").content.decode()


# Session, user, count, page of claims (claimant and process joined), step names, saved views, unread
# alerts, and the session's renewal (idle timeout; a savepoint around it inside the test's transaction).
QUEUE_QUERIES = 10


def test_queue_page_runs_a_fixed_number_of_queries(desk: dict[str, Any]) -> None:
    urgent_claims(desk["handler"], desk["policy"])
    client = _client()
    client.force_login(desk["handler"])
    client.get("/work/")  # the session's two-step check happens once per session
    with CaptureQueriesContext(connection) as few:
        assert client.get("/work/").status_code == 200
    for _ in range(57):
        factories.claim(actor=desk["handler"], policy=desk["policy"])
    with CaptureQueriesContext(connection) as many:
        html = client.get("/work/").content.decode()
    assert len(_rows(html)) == 50 and "Page 1 of 2" in html
    sql = "\n".join(q["sql"][:150] for q in many.captured_queries)
    assert len(few) == len(many) == QUEUE_QUERIES, sql


def test_demo_accounts_sign_in_in_the_demo_only(desk: dict[str, Any], settings: Any) -> None:
    demo = factories.user(Role.HANDLER, is_demo=True)
    assert _sign_in(_client(), demo.username).status_code == 302
    settings.PRODUCTION = True
    response = _sign_in(_client(), demo.username)
    assert response.status_code == 401  # the same answer as a wrong password
    assert "The username or password is not correct." in response.content.decode()
