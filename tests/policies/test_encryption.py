"""PIPL art. 28: resident ID numbers and bank accounts are encrypted at rest, found again only by a
keyed hash, shown masked, validated on the way in and kept out of the audit trail."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.utils import translation
from stdnum.cn import ric

from claimwise.claims import services
from claimwise.claims.models import Payment
from claimwise.core.crypto import decrypt, encrypt, keyed_hash, mask
from claimwise.core.errors import ErrorCode, ValidationFailed
from claimwise.core.models import AuditEntry
from claimwise.policies.models import Customer
from claimwise.policies.services import customer_create
from tests import factories

pytestmark = pytest.mark.django_db
BANK_ACCOUNT = "6222020200112233445"


def raw(sql: str, params: list[Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def id_with_x() -> str:
    """A valid ID number whose check character is X (one in eleven are)."""
    for serial in range(100, 1000):
        body = f"11010519491231{serial}"
        if ric.calc_check_digit(body + "0") == "X":
            return body + "X"
    raise AssertionError("no X check digit found")


def paid_claim(world: dict[str, Any], account: str = BANK_ACCOUNT) -> Any:
    claim = factories.claim(actor=world["customer"], policy=world["policy"])
    h = world["handler"]
    services.claim_register(actor=h, claim_id=claim.pk)
    services.claim_assess(actor=h, claim_id=claim.pk)
    services.claim_submit_for_approval(actor=h, claim_id=claim.pk, assessed_amount="7800.00")
    services.claim_approve(actor=world["reviewer"], claim_id=claim.pk)
    services.claim_request_payment(actor=h, claim_id=claim.pk, payee_name="张伟", bank_account=account)
    return claim


# --- at rest --------------------------------------------------------------------------------------


def test_id_number_is_ciphertext_in_the_database_and_plain_through_the_orm() -> None:
    number = factories.id_number()
    customer = customer_create(actor=None, name="王芳", id_number=number, phone="13812345678")
    stored = raw("SELECT id_number FROM policies_customer WHERE id = %s", [customer.pk])
    assert number not in stored and number[-8:] not in stored
    assert stored.startswith("gAAAAA"), "a Fernet token"
    assert decrypt(stored) == number
    assert Customer.objects.get(pk=customer.pk).id_number == number
    # The hash column is the keyed hash, not a plain digest of the number.
    id_hash = raw("SELECT id_hash FROM policies_customer WHERE id = %s", [customer.pk])
    assert id_hash == keyed_hash(number) and number not in id_hash
    import hashlib

    assert id_hash != hashlib.sha256(number.encode()).hexdigest()


def test_encryption_is_randomised() -> None:
    """Equal numbers never give equal ciphertexts, so the column reveals no duplicates."""
    assert encrypt("110105194912310021") != encrypt("110105194912310021")


def test_bank_account_is_ciphertext_in_the_database(world: dict[str, Any]) -> None:
    claim = paid_claim(world, account="6222 0202 0011 2233 445")
    payment = Payment.objects.get(claim=claim)
    stored = raw("SELECT bank_account FROM claims_payment WHERE id = %s", [payment.pk])
    assert BANK_ACCOUNT not in stored and BANK_ACCOUNT[-6:] not in stored
    assert decrypt(stored) == BANK_ACCOUNT  # stored without the spaces
    assert payment.bank_account == BANK_ACCOUNT
    assert payment.bank_account_masked == "*" * 15 + "3445"


def test_wrong_key_fails_loudly(settings: Any) -> None:
    from cryptography.fernet import Fernet

    from claimwise.core import crypto

    token = encrypt("110105194912310021")
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    crypto._fernet.cache_clear()
    try:
        with pytest.raises(ValueError, match="wrong encryption key"):
            decrypt(token)
    finally:
        crypto._fernet.cache_clear()


def test_key_rotation_reads_old_ciphertext(settings: Any) -> None:
    from cryptography.fernet import Fernet

    from claimwise.core import crypto

    old = encrypt("110105194912310021")
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.ENCRYPTION_KEYS]
    crypto._fernet.cache_clear()
    try:
        assert decrypt(old) == "110105194912310021"
    finally:
        crypto._fernet.cache_clear()


# --- search by keyed hash -------------------------------------------------------------------------


def test_customer_is_found_by_keyed_hash() -> None:
    number = id_with_x()
    customer = customer_create(actor=None, name="赵强", id_number=number)
    others = [factories.customer(with_user=False) for _ in range(3)]
    assert Customer.objects.get(id_hash=keyed_hash(number)) == customer
    # Normalised: a lower-case x and surrounding spaces find the same person.
    assert Customer.objects.get(id_hash=keyed_hash(f"  {number[:-1]}x ")) == customer
    assert not Customer.objects.filter(id_hash=keyed_hash(factories.id_number())).exists()
    assert len({c.id_hash for c in [customer, *others]}) == 4


def test_keyed_hash_depends_on_the_key(settings: Any) -> None:
    before = keyed_hash("110105194912310021")
    settings.HASH_KEY = "another-deployment"
    assert keyed_hash("110105194912310021") != before


def test_duplicate_id_number_is_refused() -> None:
    number = factories.id_number()
    customer_create(actor=None, name="王芳", id_number=number)
    with pytest.raises(ValidationFailed) as exc:
        customer_create(actor=None, name="王芳二", id_number=number.lower())
    assert [d["field"] for d in exc.value.detail] == ["id_number"]


# --- masks ----------------------------------------------------------------------------------------


def test_mask_formats() -> None:
    number = id_with_x()
    customer = customer_create(actor=None, name="王芳", id_number=number, phone="138 1234 5678")
    assert customer.id_number_masked == "110" + "*" * 11 + number[-4:]
    assert customer.id_number_masked.endswith("X")
    assert len(customer.id_number_masked) == 18
    assert customer.phone == "+8613812345678"
    assert customer.phone_masked == "138****5678"
    assert mask("6222020200112233445", head=0, tail=4) == "***************3445"
    assert mask("1234567", head=3, tail=4) == "*******"  # too short to show any of it
    assert mask("") == "" and mask(None) == ""


def test_api_shows_only_masked_identifiers(world: dict[str, Any], api_client: Any) -> None:
    claim = paid_claim(world)
    holder = world["holder"]
    for role in ("customer", "handler", "reviewer", "auditor"):
        body = api_client.as_user(world[role]).get(f"/api/v1/claims/{claim.pk}").content.decode()
        assert holder.id_number not in body and holder.phone not in body and BANK_ACCOUNT not in body, role
        assert holder.id_number_masked in json.loads(body)["claimant"]["id_number_masked"]


# --- validation on the way in ---------------------------------------------------------------------


def _valid(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


def _wrong_check(body: str) -> str:
    right = ric.calc_check_digit(body + "0")
    return body + ("1" if right != "1" else "2")


@pytest.mark.parametrize(
    "id_number",
    [
        _wrong_check("11010519491231002"),
        _valid("11010519491231002")[:-1],  # 17 characters
        _valid("11010519491231002") + "1",  # 19 characters
        _valid("11010519490230002"),  # 30 February, with a correct check digit
        _valid("11010521491231002"),  # born in 2149
        "11010519491231002Y",  # not a check character
        "",
        "ABCDEFGHIJKLMNOPQR",
    ],
)
def test_invalid_id_numbers_are_refused_with_field_detail(id_number: str) -> None:
    customers, audit = Customer.objects.count(), AuditEntry.objects.count()
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        customer_create(actor=None, name="王芳", id_number=id_number)
    err = exc.value
    assert err.code == ErrorCode.VALIDATION and err.status == 422
    assert [d["field"] for d in err.detail] == ["id_number"]
    assert "resident ID" in err.detail[0]["message"]
    assert (Customer.objects.count(), AuditEntry.objects.count()) == (customers, audit)


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "does not exist"),
        ("1381234567", "does not exist"),  # ten digits
        ("+86 010 6512 3456", "mobile"),  # a Beijing landline
        ("not a phone", "not a phone number"),
        ("+8619912345678901", "does not exist"),
    ],
)
def test_invalid_phone_numbers_are_refused_with_field_detail(phone: str, message: str) -> None:
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        customer_create(actor=None, name="王芳", id_number=factories.id_number(), phone=phone)
    assert [d["field"] for d in exc.value.detail] == ["phone"]
    assert message in exc.value.detail[0]["message"]
    assert not Customer.objects.filter(name="王芳").exists()


def test_all_bad_fields_are_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as exc:
        customer_create(actor=None, name=" ", id_number="123", phone="123")
    assert sorted(d["field"] for d in exc.value.detail) == ["id_number", "name", "phone"]
    assert exc.value.as_dict()["code"] == "validation_error"


def test_valid_identity_is_normalised() -> None:
    number = id_with_x()
    customer = customer_create(actor=None, name="赵强", id_number=number[:-1] + "x", phone="+86 139-1234-5678")
    assert customer.id_number == number
    assert customer.phone == "+8613912345678"
    assert customer.birth_date == dt.date(1949, 12, 31)
    assert customer.gender == ("M" if int(number[16]) % 2 else "F")


# --- the audit trail holds no identifiers ---------------------------------------------------------


def test_audit_trail_holds_no_id_number_or_bank_account(world: dict[str, Any], api_client: Any) -> None:
    number = factories.id_number()
    customer = customer_create(actor=None, name="孙丽", id_number=number, phone="13712345678")
    entry = AuditEntry.objects.get(action="customer.create", object_id=str(customer.pk))
    assert entry.after["id_number"] == "***"
    assert entry.after["id_hash"] == keyed_hash(number)
    # A reveal of the claimant's identity is audited, without the number itself.
    claim_id = paid_claim(world).pk
    r = api_client.as_user(world["handler"]).get(f"/api/v1/claims/{claim_id}/claimant/identity")
    assert r.status_code == 200 and r.json()["id_number"] == world["holder"].id_number
    assert AuditEntry.objects.filter(action="customer.reveal").count() == 1

    secrets = [number, world["holder"].id_number, BANK_ACCOUNT, BANK_ACCOUNT[-8:]]
    dump = "\n".join(
        json.dumps([e.before, e.after, e.object_id, e.actor_label], ensure_ascii=False)
        for e in AuditEntry.objects.all()
    )
    for secret in secrets:
        assert secret not in dump
    # Also as stored, byte for byte.
    with connection.cursor() as cursor:
        cursor.execute('SELECT "before", "after" FROM core_auditentry')
        stored = "\n".join(str(row) for row in cursor.fetchall())
    for secret in secrets:
        assert secret not in stored
