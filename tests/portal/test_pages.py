"""The customer portal over HTTP: sign-in by mobile number, reporting with files, following a claim,
messages, withdrawal and the public claim guides. A customer never sees another's claim (404)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimMessage
from claimwise.claims.services import claim_register, document_upload
from claimwise.portal.models import ClaimDraft
from tests import factories
from tests.claims.test_api import pdf, png
from tests.process import builders

pytestmark = pytest.mark.django_db
PASSWORD = "Secret-pass-123"


@pytest.fixture
def home(db: Any) -> dict[str, Any]:
    builders.definition()
    holder = factories.customer(name="王芳")
    return {"holder": holder, "user": holder.user, "policy": factories.policy(holder=holder)}


def _signed_in(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _report_data(**overrides: Any) -> dict[str, Any]:
    when = timezone.localtime() - timezone.timedelta(hours=5)
    data = {
        "idempotency_key": "k-1",
        "action": "submit",
        "loss_type": "collision",
        "incident_at": when.strftime("%Y-%m-%dT%H:%M"),
        "incident_place": "北京市朝阳区建国路88号",
        "description": "追尾",
        "claimed_amount": "3200",
        "payee_name": "王芳",
        "payee_bank": "工商银行",
        "payee_account": "6222 0202 0011 2233 445",
    }
    data.update(overrides)
    return data


def test_sign_in_by_mobile_number_and_lock_out(home: dict[str, Any]) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.get("/claims/").status_code == 302  # signed out: to the sign-in page
    page = client.get("/sign-in/")
    assert page.status_code == 200 and 'autocomplete="tel"' in page.content.decode()
    mobile = home["holder"].phone.replace("+86", "")
    wrong = client.post("/sign-in/", {"mobile": mobile, "password": "nope"})
    assert wrong.status_code == 401 and "mobile number or password is not correct" in wrong.content.decode()
    unknown = client.post("/sign-in/", {"mobile": "13900000000", "password": "nope"})
    assert unknown.status_code == 401  # the same answer for a number we do not know
    ok = client.post("/sign-in/", {"mobile": mobile, "password": PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == "/claims/"
    other = Client()
    for _ in range(5):
        last = other.post("/sign-in/", {"mobile": mobile, "password": "nope"})
    assert last.status_code == 429
    assert other.post("/sign-in/", {"mobile": mobile, "password": PASSWORD}).status_code == 429
    staff = factories.user(Role.HANDLER)
    assert _signed_in(staff).get("/claims/").status_code == 302  # staff work in the workbench


def test_report_a_claim_with_photos_then_follow_it(home: dict[str, Any]) -> None:
    client = _signed_in(home["user"])
    policy = home["policy"]
    listing = client.get("/claims/").content.decode()
    assert f"/policies/{policy.number}/report/" in listing
    form = client.get(f"/policies/{policy.number}/report/").content.decode()
    assert "Have these at hand" in form and "Damage photos" in form and "Claim form" in form
    photo = SimpleUploadedFile("rear.png", png(), content_type="image/png")
    scan = SimpleUploadedFile("form.pdf", pdf(), content_type="application/pdf")
    done = client.post(
        f"/policies/{policy.number}/report/", {**_report_data(), "doc_damage_photo": [photo], "doc_claim_form": [scan]}
    )
    claim = Claim.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/claims/{claim.pk}/reported/"
    assert sorted(claim.documents.values_list("doc_type", flat=True)) == ["claim_form", "damage_photo"]
    assert claim.payee_account == "6222020200112233445" and claim.channel == "web"
    confirmation = client.get(done["Location"]).content.decode()
    assert claim.number in confirmation and "Decision within 30 days" in confirmation
    again = client.post(f"/policies/{policy.number}/report/", _report_data())  # the form sent twice
    assert again.status_code == 302 and Claim.objects.count() == 1

    page = client.get(f"/claims/{claim.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "We need from you" not in html
    key = page.context["t"].key
    assert client.get(f"/claims/{claim.pk}/?live={key}").status_code == 204  # nothing changed
    claim_register(actor=factories.user(Role.HANDLER), claim_id=claim.pk)
    changed = client.get(f"/claims/{claim.pk}/?live={key}")
    assert (
        changed.status_code == 200
        and "Registered" in changed.content.decode()
        and "<html" not in changed.content.decode()
    )


def test_a_bad_file_refuses_the_whole_report_and_nothing_is_created(home: dict[str, Any]) -> None:
    client = _signed_in(home["user"])
    fake = SimpleUploadedFile("photo.png", b"MZ\x90\x00 not an image at all", content_type="image/png")
    refused = client.post(f"/policies/{home['policy'].number}/report/", {**_report_data(), "doc_damage_photo": [fake]})
    html = refused.content.decode()
    assert refused.status_code == 422 and "photo.png: Only PDF, JPEG" in html
    assert not Claim.objects.exists()
    bad = client.post(f"/policies/{home['policy'].number}/report/", _report_data(incident_place="", claimed_amount="0"))
    assert bad.status_code == 422 and 'id="id_incident_place-error"' in bad.content.decode()
    assert 'id="id_claimed_amount-error"' in bad.content.decode()


def test_a_draft_keeps_what_was_typed_but_never_the_bank_account(home: dict[str, Any]) -> None:
    client = _signed_in(home["user"])
    number = home["policy"].number
    saved = client.post(f"/policies/{number}/report/", {**_report_data(), "action": "save"})
    assert saved.status_code == 302
    draft = ClaimDraft.objects.get()
    assert draft.data["incident_place"] == "北京市朝阳区建国路88号" and "payee_account" not in draft.data
    assert "Continue my report" in client.get("/claims/").content.decode()
    form = client.get(f"/policies/{number}/report/").content.decode()
    assert "北京市朝阳区建国路88号" in form and "Restored from your draft" in form
    client.post(f"/policies/{number}/report/", _report_data())
    assert not ClaimDraft.objects.exists()  # reported: the draft is gone


def test_missing_documents_messages_and_withdrawal(home: dict[str, Any]) -> None:
    client = _signed_in(home["user"])
    claim = factories.claim(actor=home["user"], policy=home["policy"])
    page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert "We need from you" in page and "Damage photos" in page
    upload = SimpleUploadedFile("rear.png", png(), content_type="image/png")
    sent = client.post(f"/claims/{claim.pk}/documents/", {"doc_type": "damage_photo", "files": [upload]})
    assert sent.status_code == 302 and claim.documents.filter(doc_type="damage_photo").exists()
    empty = client.post(f"/claims/{claim.pk}/documents/", {"doc_type": "damage_photo"})
    assert empty.status_code == 422 and "Choose a file" in empty.content.decode()
    assert client.post(f"/claims/{claim.pk}/messages/", {"body": "请问进度？"}).status_code == 302
    assert ClaimMessage.objects.get().from_customer
    assert client.post(f"/claims/{claim.pk}/messages/", {"body": ""}).status_code == 422
    confirm = client.get(f"/claims/{claim.pk}/withdraw/")
    assert confirm.status_code == 200 and "ends without a decision" in confirm.content.decode()
    assert client.post(f"/claims/{claim.pk}/withdraw/", {"note": "私了"}).status_code == 422  # not confirmed
    assert client.post(f"/claims/{claim.pk}/withdraw/", {"confirm": "on", "note": "私了"}).status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WITHDRAWN


def test_another_customers_claim_does_not_exist(home: dict[str, Any]) -> None:
    claim = factories.claim(actor=home["user"], policy=home["policy"])
    stranger = factories.customer(name="李雷")
    client = _signed_in(stranger.user)
    for url in (f"/claims/{claim.pk}/", f"/claims/{claim.pk}/withdraw/", f"/policies/{home['policy'].number}/report/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/claims/{claim.pk}/messages/", {"body": "hi"}).status_code == 404
    data = png()
    document_upload(
        actor=home["user"],
        claim_id=claim.pk,
        doc_type="damage_photo",
        stream=io.BytesIO(data),
        original_name="a.png",
        size=len(data),
    )
    assert client.post(f"/claims/{claim.pk}/documents/", {"doc_type": "other"}).status_code == 404
    assert client.get("/claims/999999/").status_code == 404


def test_claim_guides_follow_the_process_definition(home: dict[str, Any]) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    listing = client.get("/guides/").content.decode()
    assert "/guides/motor/" in listing and "/guides/life/" not in listing  # only lines with a process
    guide = client.get("/guides/motor/").content.decode()
    for text in (
        "Collision",
        "Damage photos",
        "Repair estimate",
        "within 3 working days",
        "art. 22",
        "art. 24",
        "Small claims up to 5000.00",
    ):
        assert text in guide, text
    assert client.get("/guides/life/").status_code == 404
    assert client.get("/").status_code == 200


def test_the_customer_chooses_how_we_write(home: dict[str, Any]) -> None:
    from claimwise.notifications.models import ContactPreference

    client = _signed_in(home["user"])
    page = client.get("/account/notifications/").content.decode()
    assert 'value="sms"' in page and 'value="wechat"' not in page  # only channels we have an address for
    saved = client.post("/account/notifications/", {"channels": ["sms"], "language": "en"})
    assert saved.status_code == 302
    pref = ContactPreference.objects.get(customer=home["holder"])
    assert pref.channels == ["sms"] and pref.language == "en"
    bad = client.post("/account/notifications/", {"channels": ["wechat"], "language": "en"})
    assert bad.status_code == 422
