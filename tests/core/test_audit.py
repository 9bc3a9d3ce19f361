"""The audit trail (G2): an append-only, hash-chained record of every write. Tampering of any kind —
edited, removed, reordered or forged entries — is found by `audit_verify` and by `claimwise audit
verify`; on PostgreSQL the database itself refuses UPDATE and DELETE."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from claimwise.accounts.choices import Role
from claimwise.accounts.services import token_create, user_create
from claimwise.claims import services
from claimwise.core.audit import GENESIS, _content, _digest, audit_record, audit_verify
from claimwise.core.models import AuditEntry, AuditHead
from claimwise.policies.services import customer_create
from tests import factories
from tests.claims.test_api import png
from tests.conftest import fnol

pytestmark = pytest.mark.django_db
POSTGRES = connection.vendor == "postgresql"
PNG = png(4, 3)  # a whole image: uploads are decoded


@pytest.fixture
def chain(world: dict[str, Any]) -> int:
    """A chain of real entries (the world's users, customers, policy and a claim); returns its length."""
    claim = factories.claim(actor=world["customer"], policy=world["policy"])
    services.claim_register(actor=world["handler"], claim_id=claim.pk)
    services.claim_assess(actor=world["handler"], claim_id=claim.pk)
    n = AuditEntry.objects.count()
    assert n >= 10
    return n


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


@contextmanager
def trigger_disabled() -> Iterator[None]:
    """What someone with the table owner's rights could do on PostgreSQL; SQLite has no trigger."""
    if POSTGRES:
        sql("ALTER TABLE core_auditentry DISABLE TRIGGER audit_append_only")
    try:
        yield
    finally:
        if POSTGRES:
            sql("ALTER TABLE core_auditentry ENABLE TRIGGER audit_append_only")


def verify_command() -> str:
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


# --- the chain ------------------------------------------------------------------------------------


def test_chain_links_every_entry_to_the_one_before(chain: int) -> None:
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, chain + 1))
    assert entries[0].prev_hash == GENESIS
    for prev, entry in zip(entries, entries[1:], strict=False):
        assert entry.prev_hash == prev.hash
    for prev_hash, entry in zip([GENESIS] + [e.hash for e in entries], entries, strict=False):
        assert entry.hash == _digest(prev_hash, _content(entry))  # recomputed from the stored row
    assert len({e.hash for e in entries}) == chain
    head = AuditHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (entries[-1].seq, entries[-1].hash)
    result = audit_verify()
    assert (result.ok, result.checked, result.first_bad_seq, result.problem) == (True, chain, None, "")


def test_entries_with_awkward_content_verify(chain: int) -> None:
    """On PostgreSQL the database computes the hash of an append (one statement under the chain
    lock) from JSON that Python prepares: any text must hash as `audit_verify` recomputes it."""
    awkward = {
        "名称": "北京市朝阳区建国路88号 — ½ \u00e9",
        "quotes": 'say "hi" \\ back\\slash \n newline \t tab',
        "looks_like_a_marker": "at-0123456789abcdef0123456789abcdef",
        "emoji": "🚗💥",
        "nested": {"list": [1, 2.5, None, True], "empty": {}},
        "percent": "100% %s %(x)s",
    }
    with transaction.atomic():
        first = audit_record(actor=None, action="test.awkward", object_type="x", object_id="1", before=awkward)
        second = audit_record(actor=None, action="test.awkward", object_type="x", object_id="2", after=awkward)
    assert second.seq == first.seq + 1 and second.prev_hash == first.hash
    stored = AuditEntry.objects.get(pk=second.pk)
    assert (stored.seq, stored.at, stored.hash) == (second.seq, second.at, second.hash)
    assert stored.hash == _digest(stored.prev_hash, _content(stored))
    assert AuditHead.objects.get(pk=1).hash == second.hash
    assert audit_verify().ok


def test_verify_walks_in_batches(chain: int) -> None:
    assert audit_verify(batch=3) == audit_verify(batch=10_000)
    assert audit_verify(batch=1).checked == chain


def test_empty_trail_verifies() -> None:
    assert audit_verify().ok and audit_verify().checked == 0


def test_verify_command_passes_on_an_intact_chain(chain: int) -> None:
    assert f"audit chain intact: {chain} entries verified" in verify_command()


# --- tampering ------------------------------------------------------------------------------------


def _tamper_after(k: int, n: int) -> None:
    sql('UPDATE core_auditentry SET "after" = %s WHERE seq = %s', [json.dumps({"status": "paid"}), k])


def _tamper_actor(k: int, n: int) -> None:
    sql("UPDATE core_auditentry SET actor_label = %s WHERE seq = %s", ["someone_else", k])


def _tamper_request_id(k: int, n: int) -> None:
    sql("UPDATE core_auditentry SET request_id = %s WHERE seq = %s", ["0123456789abcdef", k])


def _delete_middle(k: int, n: int) -> None:
    sql("DELETE FROM core_auditentry WHERE seq = %s", [k])


def _delete_last(k: int, n: int) -> None:
    sql("DELETE FROM core_auditentry WHERE seq = %s", [n])


def _reorder(k: int, n: int) -> None:
    sql("UPDATE core_auditentry SET seq = -1 WHERE seq = %s", [k])
    sql("UPDATE core_auditentry SET seq = %s WHERE seq = %s", [k, k + 1])
    sql("UPDATE core_auditentry SET seq = %s WHERE seq = -1", [k + 1])


def _rewrite_with_new_hash(k: int, n: int) -> None:
    """A careful forger recomputes the edited entry's own hash: the next entry no longer links."""
    entry = AuditEntry.objects.get(seq=k)
    entry.after = {"forged": True}
    sql(
        'UPDATE core_auditentry SET "after" = %s, hash = %s WHERE seq = %s',
        [
            json.dumps(entry.after),
            _digest(entry.prev_hash, _content(entry)),
            k,
        ],
    )


def _truncate_tail_and_head(k: int, n: int) -> None:
    """Removing the last entries and rolling the head back by hand still leaves a gap to the head's
    hash unless the head is also forged; here the head keeps its old sequence number."""
    sql("DELETE FROM core_auditentry WHERE seq >= %s", [k])


TAMPERING = [
    (_tamper_after, "mid", "tampered"),
    (_tamper_actor, "mid", "tampered"),
    (_tamper_request_id, "mid", "tampered"),
    (_delete_middle, "mid", "missing"),
    (_delete_last, "last", "missing"),
    (_reorder, "mid", "broken link"),
    (_rewrite_with_new_hash, "next", "broken link"),
    (_truncate_tail_and_head, "mid", "missing"),
]


@pytest.mark.parametrize(("tamper", "where", "problem"), TAMPERING, ids=[t[0].__name__.strip("_") for t in TAMPERING])
def test_tampering_is_found_at_the_first_bad_entry(chain: int, tamper: Any, where: str, problem: str) -> None:
    k = chain // 2
    with trigger_disabled():
        tamper(k, chain)
    expected_seq = {"mid": k, "last": chain, "next": k + 1}[where]
    result = audit_verify()
    assert (result.ok, result.first_bad_seq, result.problem) == (False, expected_seq, problem), result
    assert result.checked == expected_seq - 1, "everything before the first bad entry was verified"
    with pytest.raises(CommandError, match=rf"#{expected_seq}: {problem}"):
        verify_command()


def test_verify_reports_the_first_of_several_problems(chain: int) -> None:
    with trigger_disabled():
        _tamper_after(chain - 2, chain)
        _delete_middle(3, chain)
    result = audit_verify()
    assert (result.first_bad_seq, result.problem) == (3, "missing")


def test_bulk_update_bypassing_the_model_is_caught(chain: int) -> None:
    """QuerySet.update() skips Model.save(): PostgreSQL refuses it, and on any database verify finds it."""
    if POSTGRES:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEntry.objects.filter(seq=2).update(action="nothing.happened")
        assert audit_verify().ok
        return
    AuditEntry.objects.filter(seq=2).update(action="nothing.happened")
    result = audit_verify()
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 2, "tampered")


# --- append-only ----------------------------------------------------------------------------------


def test_model_refuses_to_save_an_existing_entry_or_delete(chain: int) -> None:
    entry = AuditEntry.objects.get(seq=2)
    entry.action = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        entry.save()
    with pytest.raises(RuntimeError, match="append-only"):
        entry.delete()
    assert AuditEntry.objects.get(seq=2).action != "rewritten"
    assert AuditEntry.objects.count() == chain and audit_verify().ok


@pytest.mark.skipif(not POSTGRES, reason="the append-only trigger exists on PostgreSQL")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditentry SET action = 'x' WHERE seq = 2",
        'UPDATE core_auditentry SET "after" = NULL',
        "DELETE FROM core_auditentry WHERE seq = 2",
        "DELETE FROM core_auditentry",
    ],
)
def test_postgres_trigger_refuses_update_and_delete(chain: int, statement: str) -> None:
    with pytest.raises(DatabaseError, match="core_auditentry is append-only"), transaction.atomic():
        sql(statement)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(seq=3).delete()  # the ORM's bulk delete, past Model.delete()
    assert AuditEntry.objects.count() == chain and audit_verify().ok
    # Appending still works.
    with transaction.atomic():
        audit_record(actor=None, action="test.append", object_type="test", object_id=1)
    assert audit_verify().checked == chain + 1


@pytest.mark.skipif(not POSTGRES, reason="the append-only trigger exists on PostgreSQL")
def test_postgres_trigger_is_back_after_a_tamper_test(chain: int) -> None:
    with trigger_disabled():
        _tamper_actor(2, chain)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("DELETE FROM core_auditentry WHERE seq = 1")


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError, match="inside the writing transaction"):
        audit_record(actor=None, action="test.orphan")
    assert not AuditEntry.objects.exists()


# --- every write is audited, with its actor, action and request id --------------------------------


def test_every_service_write_adds_one_entry_with_actor_and_action(world: dict[str, Any]) -> None:
    w = world
    holder, handler, reviewer, supervisor = w["holder"], w["handler"], w["reviewer"], w["supervisor"]
    admin = w["admin"]
    state: dict[str, Any] = {}

    def submit() -> Any:
        state["claim"] = factories.claim(actor=w["customer"], policy=w["policy"])
        return state["claim"]

    def cid() -> int:
        return state["claim"].pk

    steps: list[tuple[str, Any, Any]] = [
        (
            "user.create",
            admin,
            lambda: user_create(actor=admin, username="new_handler", password=None, role=Role.HANDLER),
        ),
        (
            "customer.create",
            admin,
            lambda: customer_create(
                actor=admin, name="王芳", id_number=factories.id_number(), phone=factories.mobile()
            ),
        ),
        ("api_token.create", admin, lambda: token_create(actor=admin, user=handler)),
        ("claim.submit", w["customer"], submit),
        ("claim.register", handler, lambda: services.claim_register(actor=handler, claim_id=cid())),
        (
            "claim.request_documents",
            handler,
            lambda: services.claim_request_documents(actor=handler, claim_id=cid(), items=["invoice"]),
        ),
        (
            "document.upload",
            w["customer"],
            lambda: services.document_upload(
                actor=w["customer"], claim_id=cid(), doc_type="invoice", stream=io.BytesIO(PNG), original_name="i.png"
            ),
        ),
        ("claim.resume", handler, lambda: services.claim_resume(actor=handler, claim_id=cid())),
        ("claim.assess", handler, lambda: services.claim_assess(actor=handler, claim_id=cid())),
        ("claim.assign", supervisor, lambda: services.claim_assign(actor=supervisor, claim_id=cid(), handler=handler)),
        (
            "claim.share",
            handler,
            lambda: services.claim_share(actor=handler, claim_id=cid(), partner=factories.partner()),
        ),
        (
            "claim.submit_for_approval",
            handler,
            lambda: services.claim_submit_for_approval(actor=handler, claim_id=cid(), assessed_amount="7800.00"),
        ),
        ("claim.approve", reviewer, lambda: services.claim_approve(actor=reviewer, claim_id=cid())),
        (
            "claim.request_payment",
            handler,
            lambda: services.claim_request_payment(
                actor=handler, claim_id=cid(), payee_name=holder.name, bank_account="6222020200112233445"
            ),
        ),
        ("claim.confirm_payment", supervisor, lambda: services.claim_confirm_payment(actor=supervisor, claim_id=cid())),
        ("claim.close", handler, lambda: services.claim_close(actor=handler, claim_id=cid())),
        ("claim.reopen", supervisor, lambda: services.claim_reopen(actor=supervisor, claim_id=cid(), note="Appeal")),
        ("claim.withdraw", w["customer"], lambda: services.claim_withdraw(actor=w["customer"], claim_id=cid())),
    ]
    for action, actor, call in steps:
        head = AuditEntry.objects.order_by("-seq").first()
        obj = call()
        new = list(AuditEntry.objects.filter(seq__gt=head.seq))
        assert len(new) == 1, (action, [e.action for e in new])
        entry = new[0]
        assert (entry.action, entry.actor_id, entry.actor_label) == (action, actor.pk, actor.username), action
        assert entry.object_type and entry.object_id, action
        if hasattr(obj, "pk") and entry.object_type == obj._meta.label_lower:
            assert entry.object_id == str(obj.pk)
        assert entry.request_id == "", "no request id outside a request"
    assert audit_verify().ok


def test_http_writes_carry_the_request_id(world: dict[str, Any], api_client: Any) -> None:
    customer = api_client.as_user(world["customer"])
    rid = "req-0f3c9a7b2d4e4f61"
    r = customer.post(
        "/api/v1/claims",
        json.dumps(fnol(world["policy"])),
        content_type="application/json",
        HTTP_X_REQUEST_ID=rid,
    )
    assert r.status_code == 201, r.content
    assert r["X-Request-ID"] == rid
    entry = AuditEntry.objects.get(action="claim.submit")
    assert (entry.request_id, entry.actor_id, entry.object_id) == (rid, world["customer"].pk, str(r.json()["id"]))

    # Without a usable header the server makes one up, returns it and records it.
    handler = api_client.as_user(world["handler"])
    for action, header in [
        ("register", {}),
        ("investigate", {"HTTP_X_REQUEST_ID": "bad id; drop table"}),
        ("assess", {"HTTP_X_REQUEST_ID": "short"}),
    ]:
        before = AuditEntry.objects.count()
        r = handler.post(f"/api/v1/claims/{entry.object_id}/{action}", "{}", content_type="application/json", **header)
        assert r.status_code == 200, r.content
        generated = r["X-Request-ID"]
        assert len(generated) == 32 and generated != header.get("HTTP_X_REQUEST_ID")
        new = AuditEntry.objects.get(seq=before + 1)
        assert AuditEntry.objects.count() == before + 1
        assert (new.action, new.request_id, new.actor_id) == (f"claim.{action}", generated, world["handler"].pk)

    # A refused request writes nothing to the trail.
    before = AuditEntry.objects.count()
    r = handler.post(f"/api/v1/claims/{entry.object_id}/close", "{}", content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    assert AuditEntry.objects.count() == before
    assert audit_verify().ok
