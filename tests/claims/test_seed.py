"""`claimwise seed`: the demo data is realistic and consistent, as if every claim had gone through the
services — valid identities (stdnum, phonenumbers) stored encrypted, timelines that replay the
lifecycle, amounts within the coverage, files that download — and a second run only adds claims.

The seeded world is built once per module inside a transaction rolled back at the end; every test
runs in a savepoint inside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone
from stdnum.cn import ric

from claimwise.accounts.choices import Role
from claimwise.accounts.models import Branch, PartnerOrganization, Team, User
from claimwise.claims.choices import DecisionOutcome, LossType, PaymentStatus
from claimwise.claims.documents import check_upload
from claimwise.claims.lifecycle import Action, ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent, ClaimShare, Decision, Document, Payment
from claimwise.claims.services import claim_number, limitation_date
from claimwise.core.audit import audit_verify
from claimwise.core.choices import LineOfBusiness
from claimwise.core.crypto import decrypt, keyed_hash
from claimwise.core.models import AuditEntry
from claimwise.demo.data import PLATE_ABBR
from claimwise.demo.identity import vin_is_valid
from claimwise.demo.seed import DEMO_PASSWORD, seed
from claimwise.policies.models import Coverage, Customer, Policy, Product
from claimwise.policies.validators import clean_mobile

pytestmark = pytest.mark.django_db

N = 300
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATUS_KINDS = set(Action.values) | {"submitted"}
SIDE_KINDS = {"document_added", "shared"}
PLATE = re.compile(rf"^[{''.join(PLATE_ABBR.values())}][A-Z][A-HJ-NP-Z0-9]{{5}}$")


@dataclass
class World:
    media: Path
    storage: FileSystemStorage
    result: Any
    finished: dt.datetime


@pytest.fixture(scope="module")
def w(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[World]:
    media = tmp_path_factory.mktemp("seed-media")
    fast = override_settings(PASSWORD_HASHERS=FAST_HASHERS, MEDIA_ROOT=str(media))
    with django_db_blocker.unblock(), fast, transaction.atomic():
        storage = FileSystemStorage(location=media)
        result = seed(claims=N, seed=7, storage=storage, workers=1)
        yield World(media, storage, result, timezone.now())
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media() -> None:
    """Replaces the per-test media folder of conftest with the module's (set in `w`)."""


def _events_by_claim() -> dict[int, list[ClaimEvent]]:
    out: dict[int, list[ClaimEvent]] = defaultdict(list)
    for event in ClaimEvent.objects.order_by("claim_id", "at", "pk"):
        out[event.claim_id].append(event)
    return out


def test_every_line_and_every_state_is_there(w: World) -> None:
    claims = Claim.objects.all()
    assert claims.count() == N + 4  # and the demo customer's four
    assert set(claims.values_list("status", flat=True)) == set(ClaimStatus.values)
    assert set(claims.values_list("line", flat=True)) == set(LineOfBusiness.values)
    pairs = set(claims.values_list("line", "status"))
    assert len(pairs) == len(LineOfBusiness.values) * len(ClaimStatus.values)
    assert set(Product.objects.values_list("line", flat=True)) == set(LineOfBusiness.values)
    assert w.result.claims == N + 4 and w.result.counts["claim"] == N + 4


def test_identity_numbers_are_valid_encrypted_and_unique(w: World) -> None:
    customers = list(Customer.objects.all())
    assert len(customers) > N / 2
    raw = dict(Customer.objects.values_list("pk", "id_number").none())  # typed empty dict
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, id_number FROM policies_customer")
        raw = dict(cursor.fetchall())
    for c in customers:
        assert ric.validate(c.id_number) == c.id_number  # region code valid for the birth year, date, check
        assert ric.get_birth_date(c.id_number) == c.birth_date
        assert c.gender == ("M" if int(c.id_number[16]) % 2 else "F")
        assert c.id_hash == keyed_hash(c.id_number)
        assert c.id_number not in raw[c.pk] and decrypt(raw[c.pk]) == c.id_number  # only ciphertext at rest
        assert clean_mobile(c.phone) == c.phone  # E.164, accepted by phonenumbers ...
        assert (
            phonenumbers.number_type(phonenumbers.parse(c.phone)) == phonenumbers.PhoneNumberType.MOBILE
        )  # ... as CN mobile
        assert c.phone.startswith("+861")
        assert re.search(r"[省市].*[区县市].*号", c.address), c.address
    assert len({c.id_hash for c in customers}) == len(customers)


def test_vehicles_and_policies(w: World) -> None:
    motor = Policy.objects.filter(product__line=LineOfBusiness.MOTOR)
    assert motor.exists()
    for p in motor:
        assert PLATE.match(p.vehicle_plate), p.vehicle_plate
        assert vin_is_valid(p.vehicle_vin) and p.vehicle_model
    for p in Policy.objects.select_related("product", "branch"):
        assert p.effective_from < p.effective_to
        assert p.premium > 0 and p.sum_insured > 0
        assert p.number.startswith("P")


def test_timelines_replay_the_lifecycle(w: World) -> None:
    events = _events_by_claim()
    for claim in Claim.objects.all():
        timeline = events[claim.pk]
        first = timeline[0]
        assert first.kind == "submitted" and first.to_status == ClaimStatus.REPORTED and first.at == claim.reported_at
        changes = [e for e in timeline if e.kind not in SIDE_KINDS]
        assert {e.kind for e in changes} <= STATUS_KINDS
        assert {e.kind for e in timeline} - STATUS_KINDS <= SIDE_KINDS
        status = ClaimStatus.REPORTED.value
        for before, after in zip(timeline, timeline[1:], strict=False):
            assert before.at < after.at <= w.finished
            assert after.from_status == status, (claim.number, after.kind)
            status = after.to_status
        assert changes[-1].to_status == claim.status
        assert claim.status_changed_at == changes[-1].at
        assert claim.version == len(changes)
        kinds = Counter(e.kind for e in changes)
        assert claim.documents_requests == kinds["request_documents"]
        assert (claim.registered_at is not None) == bool(kinds["register"])
        if claim.registered_at:
            assert claim.registered_at == next(e.at for e in changes if e.kind == "register")
            assert claim.handler_id is not None and claim.team_id is not None
        if claim.status == ClaimStatus.AWAITING_DOCUMENTS:
            last_request = [e for e in changes if e.kind == "request_documents"][-1]
            assert claim.resume_status == last_request.from_status
        else:
            assert claim.resume_status == ""
        assert (claim.closed_at is not None) == (claim.status in (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN))
        if claim.status == ClaimStatus.REPORTED:  # forced registration after 72 hours
            assert w.finished - claim.reported_at < dt.timedelta(hours=72)
        assert claim.number == claim_number(claim.line, claim.reported_at, claim.pk)
        assert claim.limitation_date == limitation_date(claim.line, claim.incident_at)
        assert claim.incident_at < claim.reported_at
        assert claim.late_report == (claim.reported_at - claim.incident_at > dt.timedelta(hours=48))


def test_decisions_amounts_and_payments(w: World) -> None:
    decisions = defaultdict(list)
    for d in Decision.objects.order_by("decided_at"):
        decisions[d.claim_id].append(d)
    payments = defaultdict(list)
    for p in Payment.objects.all():
        payments[p.claim_id].append(p)
    raw_accounts = dict(Payment.objects.values_list("pk", "bank_account").none())
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, bank_account FROM claims_payment")
        raw_accounts = dict(cursor.fetchall())
    for claim in Claim.objects.select_related("coverage", "policy"):
        decided = decisions[claim.pk]
        assert claim.claimed_amount > 0
        if claim.status in (ClaimStatus.REPORTED, ClaimStatus.REGISTERED, ClaimStatus.INVESTIGATION):
            assert claim.assessed_amount is None
        if not decided:
            assert claim.approved_amount is None and claim.decided_at is None
            continue
        d = decided[-1]
        assert claim.decided_at == d.decided_at
        if d.outcome == DecisionOutcome.DENY:
            assert d.reason_codes and d.note and d.amount == 0 and claim.approved_amount == 0
            if claim.status == ClaimStatus.CLOSED:
                assert d.notice_sent_at is not None  # Insurance Law art. 24
            if d.notice_sent_at is None:
                assert w.finished - d.decided_at < dt.timedelta(days=3)
            else:
                assert d.decided_at < d.notice_sent_at <= d.decided_at + dt.timedelta(days=3)
            continue
        coverage = claim.coverage
        assert coverage is not None
        assert 0 < d.amount <= min(coverage.limit - coverage.deductible, claim.policy.sum_insured)
        assert claim.approved_amount == d.amount
        assert claim.policy.effective_from <= claim.incident_at <= claim.policy.effective_to
        assert claim.loss_type in coverage.loss_types
        if d.outcome == DecisionOutcome.PARTIAL:
            assert d.reason_codes and d.amount < claim.claimed_amount
        paid = [p for p in payments[claim.pk] if p.status == PaymentStatus.PAID]
        assert claim.paid_amount == sum((p.amount for p in paid), Decimal(0))
        if claim.status in (ClaimStatus.PAID, ClaimStatus.CLOSED):
            assert paid and claim.paid_amount == d.amount and claim.reserve == 0
            for p in paid:
                assert p.paid_at and p.reference and p.payee_name == claim.claimant.name
                assert p.bank_account.isdigit() and p.bank_account not in raw_accounts[p.pk]
                assert decrypt(raw_accounts[p.pk]) == p.bank_account
        if claim.status == ClaimStatus.PAYMENT_PENDING:
            assert [p.status for p in payments[claim.pk]] == [PaymentStatus.PENDING]
            assert claim.reserve == d.amount
    for claim in Claim.objects.filter(status__in=[ClaimStatus.WITHDRAWN, ClaimStatus.CLOSED, ClaimStatus.PAID]):
        assert claim.reserve == 0


def test_amounts_follow_each_line(w: World) -> None:
    claims = list(Claim.objects.select_related("policy"))
    motor = [c.claimed_amount for c in claims if c.loss_type == LossType.COLLISION]
    assert 2_000 < statistics.median(motor) < 15_000
    lump = [
        c
        for c in claims
        if c.line == LineOfBusiness.LIFE and c.loss_type in (LossType.DEATH, LossType.CRITICAL_ILLNESS)
    ]
    assert lump and all(100_000 <= c.claimed_amount == c.policy.sum_insured <= 500_000 for c in lump)
    delays = [c.claimed_amount for c in claims if c.loss_type == LossType.TRIP_DELAY]
    assert delays and max(delays) <= 1_000
    for coverage in Coverage.objects.all():
        assert 0 <= coverage.deductible < coverage.limit
        assert set(coverage.loss_types) <= set(LossType.values)


def test_documents_download_and_match_their_hash(w: World) -> None:
    documents = list(Document.objects.select_related("claim"))
    assert len(documents) > N
    checked: dict[str, Any] = {}
    for doc in documents:
        if doc.file.name not in checked:
            with w.storage.open(doc.file.name, "rb") as fh:
                data = fh.read()
            checked[doc.file.name] = (check_upload(io.BytesIO(data)), hashlib.sha256(data).hexdigest())
        detected, digest = checked[doc.file.name]
        assert doc.sha256 == digest == detected.sha256
        assert doc.content_type == detected.content_type and doc.size == detected.size
        assert doc.claim.reported_at <= doc.uploaded_at <= w.finished
        assert doc.claim.closed_at is None or doc.uploaded_at < doc.claim.closed_at
    assert {"application/pdf", "image/jpeg", "image/png"} <= {d.content_type for d in documents}
    assert 3 < len(checked) < len(documents) / 2  # a few shared files, not one per row
    added = ClaimEvent.objects.filter(kind="document_added")
    assert added.count() == len(documents)
    assert {e.data["document"] for e in added} == {d.pk for d in documents}


def test_demo_accounts(w: World) -> None:
    for role in Role:
        user = User.objects.get(username=f"demo_{role.value}")
        assert user.role == role and user.is_demo and user.check_password(DEMO_PASSWORD)
    assert User.objects.get(username="demo_admin").is_superuser
    assert AuditEntry.objects.filter(
        action="user.create",
        object_id__in=[
            str(pk) for pk in User.objects.filter(username__startswith="demo_").values_list("pk", flat=True)
        ],
    ).count() == len(Role)
    assert not User.objects.filter(is_demo=False).exists()  # every seeded account is a demo account

    customer = Customer.objects.get(user__username="demo_customer")
    assert customer.policies_held.count() >= 2
    own = Claim.objects.filter(claimant=customer)
    assert own.count() == 4
    files = {d.file.name for d in Document.objects.filter(claim__in=own)}
    assert files and not any(name.startswith("claims/seed/") for name in files)  # files of their own

    handler = User.objects.get(username="demo_handler")
    assert handler.branch is not None and handler.team is not None
    assert Claim.objects.filter(handler=handler).count() >= 10
    assert set(own.exclude(handler=None).values_list("handler", flat=True)) == {handler.pk}

    partner = User.objects.get(username="demo_partner")
    assert partner.partner is not None
    assert ClaimShare.objects.filter(partner=partner.partner).count() >= 3


def test_audit_trail_holds_one_batch_entry(w: World) -> None:
    entries = AuditEntry.objects.filter(action="seed.generate")
    assert entries.count() == 1
    after = entries.get().after
    assert after["claim"] == Claim.objects.count()
    assert after["claimevent"] == ClaimEvent.objects.count()
    assert after["customer"] == Customer.objects.count() - 1  # the demo customer comes from customer_create
    assert audit_verify().ok


def test_a_second_run_adds_claims_and_no_reference_data(w: World) -> None:
    def reference() -> tuple[int, ...]:
        return tuple(m.objects.count() for m in (Branch, Team, PartnerOrganization, Product, Coverage, User))

    before, claims = reference(), Claim.objects.count()
    result = seed(claims=50, seed=7, storage=w.storage, workers=1)
    assert result.run == 2 and result.claims == 50
    assert Claim.objects.count() == claims + 50
    assert reference() == before
    hashes = list(Customer.objects.values_list("id_hash", flat=True))
    assert len(hashes) == len(set(hashes))
    assert AuditEntry.objects.filter(action="seed.generate").count() == 2
    assert audit_verify().ok


def test_workers_make_the_same_data(w: World) -> None:
    """Forked workers build and prepare while this process inserts; the data does not depend on it."""

    def picture() -> list[tuple]:
        qs = Claim.objects.filter(pk__gt=top).order_by("pk")
        return list(qs.values_list("line", "status", "claimed_amount", "reported_at", "claimant__name"))

    top = Claim.objects.order_by("-pk").values_list("pk", flat=True).first()
    sid = transaction.savepoint()
    seed(claims=90, seed=11, storage=w.storage, workers=1, batch_size=30, demo_accounts=False)
    alone = picture()
    transaction.savepoint_rollback(sid)
    seed(claims=90, seed=11, storage=w.storage, workers=2, batch_size=30, demo_accounts=False)
    assert picture() == alone and len(alone) == 90


def test_command_prints_the_demo_logins(w: World) -> None:
    out = io.StringIO()
    call_command("seed", claims=5, quiet=True, stdout=out)
    text = out.getvalue()
    for role in Role:
        assert f"demo_{role.value}" in text
    assert DEMO_PASSWORD in text
