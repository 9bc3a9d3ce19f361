"""The claims API refuses bad input with `{code, message, detail}`, keeps the rules of the lifecycle,
checks uploads by their bytes, and lists, filters and pages within the caller's scope.

The world is built once per module inside a transaction rolled back at the end; every test runs in
a savepoint inside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.accounts.services import token_create
from claimwise.claims import services
from claimwise.claims.models import Claim, Decision, Document
from claimwise.policies.models import Customer, Policy
from tests import factories

pytestmark = pytest.mark.django_db

API = "/api/v1"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ZH_MO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
needs_zh_catalogue = pytest.mark.skipif(
    not ZH_MO.exists(), reason=f"the zh-hans catalogue is not compiled yet ({ZH_MO} is missing)"
)
CJK = re.compile(r"[\u4e00-\u9fff]")


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG: signature, IHDR, one IDAT of RGB scanlines, IEND, each chunk with its CRC."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pdf() -> bytes:
    """A real one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
        b"<< /Length 35 >>\nstream\nBT /F1 12 Tf 20 50 Td (Claim) Tj ET\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


# A Windows executable: the DOS header ("MZ") with its stub, as any .exe starts.
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8"
    + b"\x00" * 43
    + b"\x80\x00\x00\x00"
    + (b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 200)
)


# --- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str]
    holder: Customer
    motor: Policy
    health: Policy
    other_policy: Policy
    claims: dict[str, int] = field(default_factory=dict)
    clients: dict[tuple[str, str], Client] = field(default_factory=dict)

    def client(self, role: str, language: str = "en") -> Client:
        # One client per role and language: a client's first request loads the middleware (slow).
        key = (role, language)
        if key not in self.clients:
            self.clients[key] = Client(HTTP_AUTHORIZATION=f"Bearer {self.tokens[role]}", HTTP_ACCEPT_LANGUAGE=language)
        return self.clients[key]

    def claim(self, name: str) -> Claim:
        return Claim.objects.get(pk=self.claims[name])


def _submit(actor: User, policy: Policy, *, loss_type: str = "collision", amount: str = "8200.00") -> int:
    return services.claim_submit(
        actor=actor,
        policy_number=policy.number,
        incident_at=timezone.now() - dt.timedelta(hours=3),
        incident_place="上海市浦东新区世纪大道100号",
        loss_type=loss_type,
        claimed_amount=Decimal(amount),
    ).claim.pk


def _build() -> World:
    holder = factories.customer()
    other = factories.customer(name="李娜")
    users = {
        "own": holder.user,
        "oth": other.user,
        "hdl": factories.user(Role.HANDLER),
        "rev": factories.user(Role.REVIEWER),
        "sup": factories.user(Role.SUPERVISOR),
        "par": factories.user(Role.PARTNER),
    }
    w = World(
        users=users,
        tokens={role: token_create(actor=None, user=u)[1] for role, u in users.items()},
        holder=holder,
        motor=factories.policy(holder=holder),
        health=factories.policy(holder=holder, line="health"),
        other_policy=factories.policy(holder=other),
    )
    own, hdl, rev = users["own"], users["hdl"], users["rev"]
    # In the order reported (the default ordering is newest first).
    w.claims["reported"] = _submit(own, w.motor, amount="8200.00")
    w.claims["registered"] = _submit(own, w.motor, amount="1000.00")
    services.claim_register(actor=hdl, claim_id=w.claims["registered"])
    w.claims["pending"] = _submit(own, w.motor, amount="50000.00")
    services.claim_register(actor=hdl, claim_id=w.claims["pending"])
    services.claim_assess(actor=hdl, claim_id=w.claims["pending"])
    services.claim_submit_for_approval(actor=hdl, claim_id=w.claims["pending"], assessed_amount="45000.00")
    w.claims["denied"] = _submit(own, w.motor, amount="2500.00")
    services.claim_register(actor=hdl, claim_id=w.claims["denied"])
    services.claim_assess(actor=hdl, claim_id=w.claims["denied"])
    services.claim_submit_for_approval(actor=hdl, claim_id=w.claims["denied"], assessed_amount="2500.00")
    services.claim_deny(actor=rev, claim_id=w.claims["denied"], reason_codes=["exclusion"], note="免责条款")
    w.claims["health_reported"] = _submit(own, w.health, loss_type="outpatient", amount="3000.00")
    w.claims["health_registered"] = _submit(own, w.health, loss_type="hospitalization", amount="12000.00")
    services.claim_register(actor=hdl, claim_id=w.claims["health_registered"])
    w.claims["other"] = _submit(users["oth"], w.other_policy, amount="700.00")
    return w


@pytest.fixture(scope="module")
def w(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[World]:
    fast = override_settings(PASSWORD_HASHERS=FAST_HASHERS, MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    with django_db_blocker.unblock(), fast, transaction.atomic():
        yield _build()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media() -> None:
    """Replaces the per-test media folder of conftest with the module's (set in `w`)."""


def fnol(w: World, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "policy_number": w.motor.number,
        "incident_at": (timezone.now() - dt.timedelta(hours=2)).isoformat(),
        "incident_place": "北京市朝阳区建国路88号",
        "loss_type": "collision",
        "claimed_amount": "3000.00",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not ...}


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}, body
    assert body["code"] == code, body
    assert body["message"]
    return body


def fields(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["field"]: d for d in body["detail"]}


# --- bad input ---------------------------------------------------------------------------------


class TestValidation:
    def test_unknown_field_is_rejected_and_named(self, w: World) -> None:
        before = Claim.objects.count()
        r = post(w.client("own"), f"{API}/claims", fnol(w, colour="red", claimed_amount="3000.00"))
        body = error(r, 422, "validation_error")
        assert fields(body) == {
            "colour": {"field": "colour", "message": "Unknown field; remove it.", "type": "extra_forbidden"}
        }
        assert Claim.objects.count() == before

    def test_unknown_field_on_an_action(self, w: World) -> None:
        claim = w.claim("reported")
        r = post(w.client("hdl"), f"{API}/claims/{claim.pk}/register", {"note": "ok", "status": "paid"})
        assert set(fields(error(r, 422, "validation_error"))) == {"status"}
        assert w.claim("reported").status == "reported"

    def test_missing_fields_are_each_listed(self, w: World) -> None:
        r = post(w.client("own"), f"{API}/claims", {})
        detail = fields(error(r, 422, "validation_error"))
        required = {"policy_number", "incident_at", "incident_place", "loss_type", "claimed_amount"}
        assert set(detail) == required
        assert {d["type"] for d in detail.values()} == {"missing"}
        assert {d["message"] for d in detail.values()} == {"This field is required."}

    def test_one_missing_field(self, w: World) -> None:
        r = post(w.client("own"), f"{API}/claims", fnol(w, loss_type=...))
        assert set(fields(error(r, 422, "validation_error"))) == {"loss_type"}

    @pytest.mark.parametrize(
        ("amount", "kind", "message"),
        [
            ("-1.00", "greater_than", "Must be greater than 0."),
            ("0", "greater_than", "Must be greater than 0."),
            ("0.00", "greater_than", "Must be greater than 0."),
            ("12.345", "decimal_max_places", "At most 2 decimal places."),
            ("0.001", "decimal_max_places", "At most 2 decimal places."),
            ("12,50", "decimal_parsing", "Give a number, such as 1234.50."),
            ("10000000000000.00", "less_than_equal", None),
        ],
    )
    def test_bad_amounts(self, w: World, amount: str, kind: str, message: str | None) -> None:
        before = Claim.objects.count()
        r = post(w.client("own"), f"{API}/claims", fnol(w, claimed_amount=amount))
        detail = fields(error(r, 422, "validation_error"))
        assert set(detail) == {"claimed_amount"}
        assert detail["claimed_amount"]["type"] == kind
        if message:
            assert detail["claimed_amount"]["message"] == message
        assert Claim.objects.count() == before

    def test_amount_as_json_number_with_three_decimals(self, w: World) -> None:
        body = json.dumps(fnol(w)).replace('"3000.00"', "3000.125")
        r = w.client("own").post(f"{API}/claims", body, content_type="application/json")
        assert fields(error(r, 422, "validation_error"))["claimed_amount"]["type"] == "decimal_max_places"

    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            ("submit-for-approval", {"assessed_amount": "0"}, "assessed_amount"),
            ("submit-for-approval", {"assessed_amount": "-5"}, "assessed_amount"),
            ("submit-for-approval", {"assessed_amount": "5.555"}, "assessed_amount"),
        ],
    )
    def test_bad_amounts_on_actions(self, w: World, path: str, body: dict[str, Any], field: str) -> None:
        claim = w.claim("registered")
        r = post(w.client("hdl"), f"{API}/claims/{claim.pk}/{path}", body)
        assert set(fields(error(r, 422, "validation_error"))) == {field}
        assert w.claim("registered").version == claim.version

    @pytest.mark.parametrize("amount", ["0", "-100.00", "100.001"])
    def test_bad_approval_amounts(self, w: World, amount: str) -> None:
        claim = w.claim("pending")
        r = post(w.client("rev"), f"{API}/claims/{claim.pk}/approve", {"amount": amount})
        assert set(fields(error(r, 422, "validation_error"))) == {"amount"}
        assert w.claim("pending").status == "pending_approval"

    @pytest.mark.parametrize("value", ["yesterday", "2026-13-45T25:61:00", "25/11/2026 08:30", "", 1.5e20])
    def test_bad_datetime(self, w: World, value: Any) -> None:
        r = post(w.client("own"), f"{API}/claims", fnol(w, incident_at=value))
        detail = fields(error(r, 422, "validation_error"))
        assert set(detail) == {"incident_at"}
        assert detail["incident_at"]["type"].startswith("datetime")
        assert detail["incident_at"]["message"] == "Give a date and time such as 2026-11-25T08:30:00+08:00."

    def test_future_incident_is_refused_by_the_service(self, w: World) -> None:
        future = (timezone.now() + dt.timedelta(days=2)).isoformat()
        r = post(w.client("own"), f"{API}/claims", fnol(w, incident_at=future))
        assert set(fields(error(r, 422, "validation_error"))) == {"incident_at"}

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"loss_type": "meteor"}, "loss_type"),
            ({"loss_type": "COLLISION"}, "loss_type"),
            ({"channel": "fax"}, "channel"),
        ],
    )
    def test_wrong_enum(self, w: World, changes: dict[str, Any], field: str) -> None:
        r = post(w.client("own"), f"{API}/claims", fnol(w, **changes))
        detail = fields(error(r, 422, "validation_error"))
        assert set(detail) == {field}
        assert detail[field]["type"] == "enum"
        assert detail[field]["message"].startswith("Choose one of: ")
        if field == "loss_type":
            assert "'collision'" in detail[field]["message"]

    def test_wrong_enum_in_a_list(self, w: World) -> None:
        claim = w.claim("registered")
        r = post(w.client("hdl"), f"{API}/claims/{claim.pk}/request-documents", {"items": ["invoice", "selfie"]})
        assert set(fields(error(r, 422, "validation_error"))) == {"items.1"}

    def test_wrong_enum_in_a_query(self, w: World) -> None:
        r = w.client("sup").get(f"{API}/claims", {"status": "lost"})
        detail = error(r, 422, "validation_error")["detail"]
        assert [d["field"] for d in detail] == ["status.0"]

    def test_body_that_is_not_json(self, w: World) -> None:
        r = w.client("own").post(f"{API}/claims", "{not json", content_type="application/json")
        error(r, 400, "bad_request")

    def test_wrong_types(self, w: World) -> None:
        r = post(w.client("own"), f"{API}/claims", fnol(w, incident_place=["a"], description=12))
        assert set(fields(error(r, 422, "validation_error"))) == {"incident_place", "description"}

    def test_too_long(self, w: World) -> None:
        r = post(w.client("own"), f"{API}/claims", fnol(w, incident_place="x" * 301))
        detail = fields(error(r, 422, "validation_error"))
        assert detail["incident_place"]["message"] == "Too long: at most 300 characters."


# Several kinds of field error in one request, to compare languages.
MIXED = {"incident_at": "soon", "loss_type": "meteor", "claimed_amount": "-1", "colour": "red"}


class TestTranslation:
    def _mixed(self, w: World, language: str) -> dict[str, Any]:
        body = fnol(w, incident_place=..., **MIXED)
        return error(post(w.client("own", language), f"{API}/claims", body), 422, "validation_error")

    def test_english(self, w: World) -> None:
        body = self._mixed(w, "en")
        assert body["message"] == "Some fields are not valid."
        assert {k: v["message"] for k, v in fields(body).items()} == {
            "incident_place": "This field is required.",
            "incident_at": "Give a date and time such as 2026-11-25T08:30:00+08:00.",
            "loss_type": fields(body)["loss_type"]["message"],
            "claimed_amount": "Must be greater than 0.",
            "colour": "Unknown field; remove it.",
        }
        assert fields(body)["loss_type"]["message"].startswith("Choose one of: ")
        for item in body["detail"]:
            assert not CJK.search(item["message"]), item

    @needs_zh_catalogue
    def test_chinese(self, w: World) -> None:
        english = self._mixed(w, "en")
        chinese = self._mixed(w, "zh-hans")
        assert CJK.search(chinese["message"]), chinese["message"]
        assert set(fields(chinese)) == set(fields(english))
        assert [(d["field"], d["type"]) for d in chinese["detail"]] == [
            (d["field"], d["type"]) for d in english["detail"]
        ]
        for item in chinese["detail"]:
            assert CJK.search(item["message"]), item
            assert item["message"] != fields(english)[item["field"]]["message"]

    @needs_zh_catalogue
    def test_chinese_domain_errors(self, w: World) -> None:
        claim = w.claim("reported")
        r = post(w.client("rev", "zh-hans"), f"{API}/claims/{claim.pk}/approve", {})
        assert CJK.search(error(r, 409, "illegal_transition")["message"])
        r = w.client("own", "zh-hans").get(f"{API}/claims/{w.claims['other']}")
        assert CJK.search(error(r, 404, "not_found")["message"])

    def test_language_follows_each_request(self, w: World) -> None:
        """A Chinese request does not leave the next English one in Chinese."""
        self._mixed(w, "zh-hans")
        assert self._mixed(w, "en")["message"] == "Some fields are not valid."


# --- the lifecycle's rules ---------------------------------------------------------------------


def _unchanged(w: World, name: str, before: Claim, events: int) -> None:
    after = w.claim(name)
    assert (after.status, after.version, after.approved_amount, after.events.count()) == (
        before.status,
        before.version,
        before.approved_amount,
        events,
    )


class TestConflicts:
    @pytest.mark.parametrize(
        ("name", "role", "path", "body"),
        [
            ("reported", "rev", "approve", {}),
            ("reported", "hdl", "close", {}),
            ("registered", "hdl", "resume", {}),
            ("registered", "hdl", "register", {}),
            ("pending", "hdl", "payments", {"payee_name": "张伟", "bank_account": "6222020200112233445"}),
            ("denied", "own", "withdraw", {}),
            ("denied", "sup", "reopen", {"note": "新证据"}),
        ],
    )
    def test_illegal_transition(self, w: World, name: str, role: str, path: str, body: dict[str, Any]) -> None:
        before = w.claim(name)
        events = before.events.count()
        r = post(w.client(role), f"{API}/claims/{before.pk}/{path}", body)
        result = error(r, 409, "illegal_transition")
        assert result["detail"]["status"] == before.status
        _unchanged(w, name, before, events)

    def test_approve_above_limit_minus_deductible(self, w: World) -> None:
        # Coverage: limit 100 000, deductible 500 (sum insured 200 000): at most 99 500.
        before = w.claim("pending")
        events = before.events.count()
        r = post(w.client("rev"), f"{API}/claims/{before.pk}/approve", {"amount": "99500.01"})
        result = error(r, 409, "guard_failed")
        assert result["detail"] == {"action": "approve"}
        assert "99500" in result["message"]
        _unchanged(w, "pending", before, events)
        assert not Decision.objects.filter(claim_id=before.pk).exists()
        r = post(w.client("rev"), f"{API}/claims/{before.pk}/approve", {"amount": "99500.00"})
        assert r.status_code == 200, r.content
        assert r.json()["approved_amount"] == "99500.00"

    def test_partial_at_or_above_claimed_is_refused(self, w: World) -> None:
        before = w.claim("pending")
        body = {"amount": "50000.00", "reason_codes": ["depreciation"]}
        r = post(w.client("rev"), f"{API}/claims/{before.pk}/approve-partial", body)
        error(r, 409, "guard_failed")
        _unchanged(w, "pending", before, before.events.count())

    def test_deny_with_a_blank_note(self, w: World) -> None:
        before = w.claim("pending")
        events = before.events.count()
        r = post(w.client("rev"), f"{API}/claims/{before.pk}/deny", {"reason_codes": ["exclusion"], "note": "   "})
        assert error(r, 409, "guard_failed")["detail"] == {"action": "deny"}
        _unchanged(w, "pending", before, events)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"reason_codes": ["exclusion"]}, "note"),
            ({"reason_codes": ["exclusion"], "note": ""}, "note"),
            ({"reason_codes": [], "note": "免责"}, "reason_codes"),
            ({"note": "免责"}, "reason_codes"),
            ({"reason_codes": ["late_report"], "note": "报案迟了"}, "reason_codes.0"),
        ],
    )
    def test_deny_without_note_or_reason_is_refused_by_the_schema(
        self, w: World, body: dict[str, Any], field: str
    ) -> None:
        """The schema catches what it can (422) before the guards run; no reason code for a late report."""
        before = w.claim("pending")
        r = post(w.client("rev"), f"{API}/claims/{before.pk}/deny", body)
        assert set(fields(error(r, 422, "validation_error"))) == {field}
        _unchanged(w, "pending", before, before.events.count())

    def test_close_a_denied_claim_before_the_notice(self, w: World) -> None:
        before = w.claim("denied")
        events = before.events.count()
        r = post(w.client("hdl"), f"{API}/claims/{before.pk}/close", {})
        assert error(r, 409, "guard_failed")["detail"] == {"action": "close"}
        _unchanged(w, "denied", before, events)
        assert post(w.client("hdl"), f"{API}/claims/{before.pk}/denial-notice", {}).status_code == 200
        error(post(w.client("hdl"), f"{API}/claims/{before.pk}/denial-notice", {}), 409, "guard_failed")
        r = post(w.client("hdl"), f"{API}/claims/{before.pk}/close", {})
        assert r.status_code == 200, r.content
        assert r.json()["status"] == "closed"

    def test_second_documents_request_needs_a_justification(self, w: World) -> None:
        claim = w.claim("registered")
        url = f"{API}/claims/{claim.pk}"
        h = w.client("hdl")
        assert post(h, f"{url}/request-documents", {"items": ["invoice"]}).status_code == 200
        assert post(h, f"{url}/resume", {}).status_code == 200
        before = w.claim("registered")
        error(post(h, f"{url}/request-documents", {"items": ["claim_form"]}), 409, "guard_failed")
        _unchanged(w, "registered", before, before.events.count())
        r = post(h, f"{url}/request-documents", {"items": ["claim_form"], "justification": "new_facts"})
        assert r.status_code == 200, r.content
        assert r.json()["documents_requests"] == 2

    def test_reopen_needs_a_reason(self, w: World) -> None:
        claim = w.claim("denied")
        r = post(w.client("sup"), f"{API}/claims/{claim.pk}/reopen", {})
        assert set(fields(error(r, 422, "validation_error"))) == {"note"}

    def test_idempotency_key_reused_for_another_claim(self, w: World) -> None:
        c, body = w.client("own"), fnol(w)
        first = c.post(f"{API}/claims", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert first.status_code == 201, first.content
        again = c.post(f"{API}/claims", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert (again.status_code, again["Idempotent-Replayed"], again.json()["id"]) == (
            201,
            "true",
            first.json()["id"],
        )
        other = {**body, "claimed_amount": "3100.00"}
        r = c.post(f"{API}/claims", json.dumps(other), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert error(r, 409, "idempotency_key_reused")["detail"] == {"claim_number": first.json()["number"]}


# --- uploads -----------------------------------------------------------------------------------


def upload(client: Client, claim_id: int, data: bytes, name: str, content_type: str, doc_type: str = "invoice") -> Any:
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(f"{API}/claims/{claim_id}/documents", {"doc_type": doc_type, "file": file})


class TestUploads:
    @pytest.mark.parametrize(
        ("data", "name", "declared", "expected"),
        [
            (pdf(), "invoice.pdf", "application/pdf", "application/pdf"),
            (png(), "photo.png", "image/png", "image/png"),
            # The client's word and the name do not matter; the bytes do.
            (pdf(), "scan.jpg", "image/jpeg", "application/pdf"),
            (png(), "photo", "application/octet-stream", "image/png"),
        ],
        ids=["pdf", "png", "pdf-named-jpg", "png-without-extension"],
    )
    def test_accepted_and_downloaded_unchanged(
        self, w: World, data: bytes, name: str, declared: str, expected: str
    ) -> None:
        claim_id = w.claims["reported"]
        r = upload(w.client("own"), claim_id, data, name, declared)
        assert r.status_code == 201, r.content
        doc = r.json()
        assert doc["content_type"] == expected
        assert doc["sha256"] == hashlib.sha256(data).hexdigest()
        assert doc["size"] == len(data)
        assert doc["original_name"] == name
        assert doc["doc_type"] == "invoice"
        listed = w.client("hdl").get(f"{API}/claims/{claim_id}/documents").json()
        assert doc["id"] in [d["id"] for d in listed]

        download = w.client("hdl").get(f"{API}/claims/{claim_id}/documents/{doc['id']}")
        assert download.status_code == 200
        # Reading the stream to its end closes the response, as a WSGI server would (closing it
        # again here would fire request_finished and close the test's database connection).
        assert b"".join(download.streaming_content) == data
        assert download["Content-Type"] == expected
        assert download["Content-Disposition"].startswith("attachment;")
        assert name in download["Content-Disposition"]
        assert download["X-Content-Type-Options"] == "nosniff"

    @pytest.mark.parametrize(("name", "declared"), [("invoice.pdf", "application/pdf"), ("photo.png", "image/png")])
    def test_executable_renamed_is_refused(self, w: World, name: str, declared: str) -> None:
        before = Document.objects.count()
        r = upload(w.client("own"), w.claims["reported"], EXE, name, declared)
        body = error(r, 415, "unsupported_file")
        assert body["detail"] == {"detected": "application/x-msdownload"}
        assert Document.objects.count() == before

    @pytest.mark.parametrize("data", [b"just some text, not a document", b"%PD"])
    def test_other_content_is_refused(self, w: World, data: bytes) -> None:
        error(upload(w.client("own"), w.claims["reported"], data, "a.pdf", "application/pdf"), 415, "unsupported_file")

    def test_empty_file_is_refused(self, w: World) -> None:
        r = upload(w.client("own"), w.claims["reported"], b"", "a.pdf", "application/pdf")
        error(r, 415, "unsupported_file")

    def test_above_the_size_limit(self, w: World, settings: Any) -> None:
        settings.DOCUMENT_MAX_BYTES = 1024
        before = Document.objects.count()
        big = png(40, 40) + b"\x00" * 2048  # a PNG with trailing bytes, well above 1 KiB
        body = error(upload(w.client("own"), w.claims["reported"], big, "big.png", "image/png"), 413, "file_too_large")
        assert body["detail"] == {"max_bytes": 1024}
        assert Document.objects.count() == before
        small = png()
        assert len(small) < 1024
        assert upload(w.client("own"), w.claims["reported"], small, "small.png", "image/png").status_code == 201

    def test_unknown_document_type(self, w: World) -> None:
        r = upload(w.client("own"), w.claims["reported"], png(), "a.png", "image/png", doc_type="selfie")
        assert set(fields(error(r, 422, "validation_error"))) == {"doc_type"}

    def test_missing_file(self, w: World) -> None:
        r = w.client("own").post(f"{API}/claims/{w.claims['reported']}/documents", {"doc_type": "invoice"})
        assert set(fields(error(r, 422, "validation_error"))) == {"file"}

    def test_document_of_another_claim_is_not_found(self, w: World) -> None:
        doc = upload(w.client("own"), w.claims["reported"], png(), "a.png", "image/png").json()
        r = w.client("own").get(f"{API}/claims/{w.claims['registered']}/documents/{doc['id']}")
        error(r, 404, "not_found")


# --- listing -----------------------------------------------------------------------------------


def listing(client: Client, **query: Any) -> dict[str, Any]:
    r = client.get(f"{API}/claims", query)
    assert r.status_code == 200, r.content
    return r.json()


def ids(page: dict[str, Any]) -> list[int]:
    return [item["id"] for item in page["items"]]


class TestList:
    def test_customer_sees_only_their_claims_newest_first(self, w: World) -> None:
        page = listing(w.client("own"))
        mine = [pk for name, pk in w.claims.items() if name != "other"]
        assert ids(page) == sorted(mine, reverse=True)
        assert page["count"] == len(mine)
        assert (page["page"], page["page_size"]) == (1, 50)

    @pytest.mark.parametrize(
        ("query", "names"),
        [
            ({"status": "registered"}, {"registered", "health_registered"}),
            ({"status": ["registered", "denied"]}, {"registered", "health_registered", "denied"}),
            ({"status": "paid"}, set()),
            ({"line": "health"}, {"health_reported", "health_registered"}),
            ({"line": "motor", "status": "reported"}, {"reported"}),
        ],
    )
    def test_filters(self, w: World, query: dict[str, Any], names: set[str]) -> None:
        page = listing(w.client("own"), **query)
        assert set(ids(page)) == {w.claims[n] for n in names}
        assert page["count"] == len(names)

    def test_number_prefix(self, w: World) -> None:
        number = w.claim("pending").number
        assert ids(listing(w.client("own"), number=number)) == [w.claims["pending"]]
        assert ids(listing(w.client("own"), number=number.lower())) == [w.claims["pending"]]
        health = set(ids(listing(w.client("own"), number="MH")))
        assert health == {w.claims["health_reported"], w.claims["health_registered"]}
        assert ids(listing(w.client("own"), number="XX")) == []
        # Another customer's claim number finds nothing.
        assert ids(listing(w.client("own"), number=w.claim("other").number)) == []

    def test_policy_number_filter(self, w: World) -> None:
        page = listing(w.client("own"), policy_number=w.health.number)
        assert set(ids(page)) == {w.claims["health_reported"], w.claims["health_registered"]}

    def test_pagination(self, w: World) -> None:
        c = w.client("own")
        everything = ids(listing(c))
        pages = [listing(c, page_size=2, page=n) for n in (1, 2, 3, 4)]
        assert [len(p["items"]) for p in pages] == [2, 2, 2, 0]
        assert {p["count"] for p in pages} == {6}
        assert [pk for p in pages for pk in ids(p)] == everything

    @pytest.mark.parametrize("size", [200, 1])
    def test_page_size_bounds_accepted(self, w: World, size: int) -> None:
        assert listing(w.client("own"), page_size=size)["page_size"] == size

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"page_size": 201}, "page_size"),
            ({"page_size": 0}, "page_size"),
            ({"page": 0}, "page"),
            ({"page_size": "many"}, "page_size"),
        ],
    )
    def test_page_bounds_refused(self, w: World, query: dict[str, Any], field: str) -> None:
        r = w.client("own").get(f"{API}/claims", query)
        assert set(fields(error(r, 422, "validation_error"))) == {field}

    @pytest.mark.parametrize("ordering", ["password", "claimant__id_number", "-handler__password", "", "?"])
    def test_invalid_ordering_falls_back_to_the_default(self, w: World, ordering: str) -> None:
        assert ids(listing(w.client("own"), ordering=ordering)) == ids(listing(w.client("own")))

    def test_ordering(self, w: World) -> None:
        amounts = [Decimal(i["claimed_amount"]) for i in listing(w.client("own"), ordering="claimed_amount")["items"]]
        assert amounts == sorted(amounts) and len(amounts) == 6
        desc = [Decimal(i["claimed_amount"]) for i in listing(w.client("own"), ordering="-claimed_amount")["items"]]
        assert desc == sorted(amounts, reverse=True)
        oldest = ids(listing(w.client("own"), ordering="reported_at"))
        assert oldest == list(reversed(ids(listing(w.client("own")))))


# --- policies ----------------------------------------------------------------------------------


class TestPolicies:
    def test_customer_sees_own_policy(self, w: World) -> None:
        r = w.client("own").get(f"{API}/policies/{w.motor.number}")
        assert r.status_code == 200, r.content
        body = r.json()
        assert (body["number"], body["holder"], body["line"]) == (w.motor.number, w.holder.name, "motor")
        assert body["coverages"][0]["limit"] == "100000.00"

    def test_another_customers_policy_is_not_found(self, w: World) -> None:
        error(w.client("own").get(f"{API}/policies/{w.other_policy.number}"), 404, "not_found")
        error(w.client("oth").get(f"{API}/policies/{w.motor.number}"), 404, "not_found")
        error(w.client("own").get(f"{API}/policies/PL-NO-SUCH"), 404, "not_found")

    def test_customer_list_holds_only_their_policies(self, w: World) -> None:
        r = w.client("own").get(f"{API}/policies")
        assert {p["number"] for p in r.json()} == {w.motor.number, w.health.number}

    def test_submit_on_another_customers_policy_is_refused(self, w: World) -> None:
        r = post(w.client("oth"), f"{API}/claims", fnol(w))
        assert set(fields(error(r, 422, "validation_error"))) == {"policy_number"}
        # The same answer as for a policy that does not exist: numbers reveal nothing.
        unknown = post(w.client("oth"), f"{API}/claims", fnol(w, policy_number="PL-NO-SUCH"))
        assert unknown.json() == r.json()


# --- timeline ----------------------------------------------------------------------------------


class TestTimeline:
    def test_internal_events_hidden_from_customer_and_partner(self, w: World) -> None:
        claim_id = w.claims["registered"]
        partner = factories.partner()
        services.claim_share(actor=w.users["hdl"], claim_id=claim_id, partner=partner, note="转交医院核实")
        services.claim_assign(actor=w.users["sup"], claim_id=claim_id, handler=w.users["hdl"], note="内部分派")

        staff = w.client("hdl").get(f"{API}/claims/{claim_id}/timeline").json()
        staff_kinds = [e["kind"] for e in staff]
        assert {"submitted", "register", "shared", "assigned"} <= set(staff_kinds)
        assert all(e["actor"] for e in staff)

        for role in ("own", "par"):
            r = w.client(role).get(f"{API}/claims/{claim_id}/timeline")
            assert r.status_code == 200, (role, r.content)
            events = r.json()
            kinds = [e["kind"] for e in events]
            assert kinds == [k for k in staff_kinds if k not in ("shared", "assigned")]
            assert all(e["actor"] is None for e in events)
            assert "内部分派" not in r.content.decode() and "转交医院核实" not in r.content.decode()

    def test_timeline_is_in_order(self, w: World) -> None:
        events = w.client("own").get(f"{API}/claims/{w.claims['denied']}/timeline").json()
        assert [e["kind"] for e in events] == ["submitted", "register", "assess", "submit_for_approval", "deny"]
        assert events[-1]["to_status"] == "denied"


# --- the API's description ---------------------------------------------------------------------


class TestOpenApi:
    def test_schema_is_json_listing_the_claim_endpoints(self, client: Client) -> None:
        r = client.get(f"{API}/openapi.json")
        assert r.status_code == 200
        schema = json.loads(r.content)
        assert schema["openapi"].startswith("3.")
        paths = schema["paths"]
        for path in (
            "/api/v1/claims",
            "/api/v1/claims/{claim_id}",
            "/api/v1/claims/{claim_id}/timeline",
            "/api/v1/claims/{claim_id}/approve",
            "/api/v1/claims/{claim_id}/documents",
            "/api/v1/policies/{number}",
        ):
            assert path in paths, path
        assert set(paths["/api/v1/claims"]) >= {"get", "post"}
        # Inputs forbid unknown fields, and the schema says so to clients.
        assert schema["components"]["schemas"]["ClaimSubmitIn"]["additionalProperties"] is False

    def test_docs_page(self, client: Client) -> None:
        r = client.get(f"{API}/docs")
        assert r.status_code == 200
        assert b"openapi.json" in r.content
