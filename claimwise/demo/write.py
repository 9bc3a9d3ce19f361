"""Turning built claims into rows, and the pipeline that keeps both CPU cores busy.

A batch goes through three steps: *build* (plan every claim in memory, `build`), *prepare*
(with the ids the database granted, turn the drafts into plain value tuples) and *insert* (one
`COPY` or `executemany` per table). Build and prepare are pure Python and need no database, so with
`workers > 1` they run in forked worker processes while the parent, which alone holds the database
connection and the transaction, grants ids and inserts. Ids are granted strictly in batch order and
every batch has its own random generator, so the data is the same whatever the number of workers.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import queue
import random
import traceback
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.files.storage import Storage
from django.db import connection, models

from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimEvent, ClaimShare, Decision, Document, Payment
from claimwise.claims.services import LINE_PREFIX, claim_number
from claimwise.demo.build import Builder
from claimwise.demo.files import StoredFile, make_file, store
from claimwise.demo.refs import ClaimDraft, Directory, PartyDraft, PolicyDraft
from claimwise.demo.sql import Table
from claimwise.demo.story import DecisionDraft, DocDraft, EventDraft, PaymentDraft, cumulative, pick
from claimwise.policies.models import Customer, Policy

MODELS: tuple[type[models.Model], ...] = (Customer, Policy, Claim, Decision, Payment, Document, ClaimEvent, ClaimShare)
WITH_IDS: tuple[type[models.Model], ...] = (Customer, Policy, Claim, Decision, Payment, Document)
CLAIMS_PER_CUSTOMER = cumulative((78, 16, 4.5, 1, 0.5))  # 1..5 claims
LINES = ("motor", "health", "accident", "property", "life", "travel")


@dataclass
class Need:
    """What a built batch asks of the database: ids, and whether its ID numbers are still free."""

    index: int
    counts: dict[str, int]
    hashes: list[str]


@dataclass
class Grant:
    ids: dict[str, list[int]]
    taken: set[str]


@dataclass
class Prepared:
    index: int
    claims: int
    rows: dict[str, tuple[tuple[str, ...], list[tuple]]]
    hashes: list[str]
    by_status: Counter[str] = field(default_factory=Counter)
    by_line: Counter[str] = field(default_factory=Counter)
    files_written: int = 0


def label(model: type[models.Model]) -> str:
    return model._meta.label_lower


class Ids:
    """Primary keys taken before the insert: a claim's number contains its id, and events point at
    decisions, payments and documents. PostgreSQL hands them out from the table's sequence (safe with
    concurrent writers); SQLite continues after the highest id, which is safe because the seed's
    transaction holds SQLite's write lock (BEGIN IMMEDIATE) from its first statement."""

    def __init__(self) -> None:
        self._next: dict[type[models.Model], int] = {}

    def take(self, model: type[models.Model], n: int) -> list[int]:
        if n <= 0:
            return []
        table, column = model._meta.db_table, model._meta.pk.column  # type: ignore[union-attr]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, n]
                )
                return [row[0] for row in cursor.fetchall()]
            if model not in self._next:
                qn = connection.ops.quote_name
                cursor.execute(f"SELECT MAX({qn(column)}) FROM {qn(table)}")  # noqa: S608 - names from models
                self._next[model] = (cursor.fetchone()[0] or 0) + 1
        start = self._next[model]
        self._next[model] = start + n
        return list(range(start, start + n))


class Database:
    """The parent's side: grants ids, keeps ID numbers unique across the run and the database, inserts."""

    def __init__(self) -> None:
        self.ids = Ids()
        self.seen: set[str] = set()
        self.tables = {label(m): Table(m, _now()) for m in MODELS}
        self.counts: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.by_line: Counter[str] = Counter()
        self.claims = 0

    def grant(self, need: Need) -> Grant:
        taken = {h for h in need.hashes if h in self.seen}
        rest = [h for h in need.hashes if h not in taken]
        for i in range(0, len(rest), 500):
            taken.update(Customer.objects.filter(id_hash__in=rest[i : i + 500]).values_list("id_hash", flat=True))
        self.seen.update(h for h in need.hashes if h not in taken)
        ids = {name: self.ids.take(_model(name), n) for name, n in need.counts.items()}
        return Grant(ids, taken)

    def insert(self, prepared: Prepared, between: Callable[[], None] | None = None) -> None:
        fresh = [h for h in prepared.hashes if h not in self.seen]
        self.seen.update(fresh)  # the numbers drawn again for ones an earlier batch or run had used
        for model in MODELS:
            names, data = prepared.rows.get(label(model), ((), []))
            self.counts[model._meta.model_name or ""] += self.tables[label(model)].insert(names, data)
            if between is not None:
                between()
        self.counts["files_written"] += prepared.files_written
        self.by_status.update(prepared.by_status)
        self.by_line.update(prepared.by_line)
        self.claims += prepared.claims


def _now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now()


def _model(name: str) -> type[models.Model]:
    return next(m for m in MODELS if label(m) == name)


@dataclass
class Maker:
    """The workers' side: builds a batch, then prepares its rows once the ids are granted."""

    seed: int
    run: int
    now: dt.datetime
    tz: dt.tzinfo
    directory: Directory
    files: dict[str, StoredFile]
    storage: Storage
    tables: dict[str, Table]
    unique_claims: int  # claims of batch 0 whose documents get files of their own

    def rng(self, index: int | str) -> random.Random:
        return random.Random(f"claimwise-seed:{self.seed}:{self.run}:{index}")  # noqa: S311 - demo data

    def builder(self, index: int | str) -> Builder:
        return Builder(self.rng(index), self.now, self.tz, self.directory)

    def build(self, index: int, size: int) -> tuple[Builder, list[ClaimDraft]]:
        """`size` claims from new customers (one to five claims each). Batch 0 starts with every line
        in every state, so even a small seed shows the whole lifecycle."""
        builder = self.builder(index)
        rng = builder.rng
        forced = [(line, status) for status in ClaimStatus.values for line in LINES] if index == 0 else []
        out: list[ClaimDraft] = []
        while len(out) < size:
            party = builder.party()
            for _ in range(min(pick(rng, (1, 2, 3, 4, 5), CLAIMS_PER_CUSTOMER), size - len(out))):
                line, final = forced.pop(0) if forced else (None, None)
                out.append(builder.claim(party, line=line, final=final))
        return builder, out

    @staticmethod
    def need(index: int, drafts: list[ClaimDraft]) -> Need:
        parties, policies = _new_parties_and_policies(drafts)
        counts = {
            label(Customer): len(parties),
            label(Policy): len(policies),
            label(Claim): len(drafts),
            label(Decision): sum(len(c.decisions) for c in drafts),
            label(Payment): sum(len(c.payments) for c in drafts),
            label(Document): sum(len(c.documents) for c in drafts),
        }
        return Need(index, counts, [p.id_hash for p in parties])

    def prepare(
        self, index: int, builder: Builder, drafts: list[ClaimDraft], grant: Grant, *, own_files: bool = False
    ) -> Prepared:
        parties, policies = _new_parties_and_policies(drafts)
        rehashed = []
        for party in parties:
            if party.id_hash in grant.taken:
                builder.rehash(party)
                rehashed.append(party.id_hash)
        ids = grant.ids
        for party, pk in zip(parties, ids[label(Customer)], strict=True):
            party.id = pk
        for policy, pk in zip(policies, ids[label(Policy)], strict=True):
            policy.id = pk
        for c, pk in zip(drafts, ids[label(Claim)], strict=True):
            c.id = pk
            c.number = claim_number(c.fields["line"], c.fields["reported_at"], pk)
        for model, attr in ((Decision, "decisions"), (Payment, "payments"), (Document, "documents")):
            items = [d for c in drafts for d in getattr(c, attr)]
            for item, pk in zip(items, ids[label(model)], strict=True):
                item.id = pk
        files_written, unique_left = 0, self.unique_claims if index == 0 else 0
        for c in drafts:
            own = own_files or unique_left > 0
            files_written += self._files(builder.rng, c, own=own)
            if own and c.documents:
                unique_left -= 1
        tz = self.tz
        t = self.tables
        rows = {
            label(Customer): t[label(Customer)].tuples(_customer(p) for p in parties),
            label(Policy): t[label(Policy)].tuples(_policy(p, tz) for p in policies),
            label(Claim): t[label(Claim)].tuples(_claim(c) for c in drafts),
            label(Decision): t[label(Decision)].tuples(_decision(c, d) for c in drafts for d in c.decisions),
            label(Payment): t[label(Payment)].tuples(_payment(c, p) for c in drafts for p in c.payments),
            label(Document): _document_tuples(t[label(Document)], drafts),
            label(ClaimEvent): _event_tuples(t[label(ClaimEvent)], drafts),
            label(ClaimShare): t[label(ClaimShare)].tuples(_shares(drafts)),
        }
        result = Prepared(index, len(drafts), rows, rehashed, files_written=files_written)
        for c in drafts:
            result.by_status[c.fields["status"]] += 1
            result.by_line[c.fields["line"]] += 1
        return result

    def _files(self, rng: random.Random, c: ClaimDraft, *, own: bool) -> int:
        written = 0
        for i, doc in enumerate(c.documents):
            if own:
                ext = {"pdf": "pdf", "jpeg": "jpg", "png": "png"}[doc.kind]
                local = doc.uploaded_at.astimezone(self.tz)
                name = f"claims/{local:%Y/%m}/{c.number}-{rng.getrandbits(128):032x}.{ext}"
                stored = store(self.storage, name, make_file(doc.kind, label=f"{c.number} {doc.doc_type}", variant=i))
                written += 1
            else:
                stored = self.files[doc.kind]
            doc.file_name, doc.size = stored.name, stored.checked.size
            doc.content_type, doc.sha256 = stored.checked.content_type, stored.checked.sha256
        return written


def _new_parties_and_policies(drafts: list[ClaimDraft]) -> tuple[list[PartyDraft], list[PolicyDraft]]:
    parties: dict[int, PartyDraft] = {}
    policies: dict[int, PolicyDraft] = {}
    for c in drafts:
        for party in (c.policy.holder, c.claimant):
            if party.id is None:
                parties.setdefault(id(party), party)
        if c.policy.id is None:
            policies.setdefault(id(c.policy), c.policy)
    return list(parties.values()), list(policies.values())


def _customer(p: PartyDraft) -> dict[str, Any]:
    # id_number is plain here; sql encrypts it as EncryptedTextField.get_prep_value does.
    return {
        "id": p.id,
        "name": p.name,
        "id_number": p.id_number,
        "id_hash": p.id_hash,
        "gender": p.gender,
        "birth_date": p.birth_date,
        "phone": p.phone,
        "email": p.email,
        "address": p.address,
        "user_id": p.user_id,
    }


def _policy(p: PolicyDraft, tz: dt.tzinfo) -> dict[str, Any]:
    year = p.effective_from.astimezone(tz).year
    return {
        "id": p.id,
        "number": f"P{LINE_PREFIX[p.product.line]}{year}{p.id:010d}",  # type: ignore[index]
        "product_id": p.product.id,
        "holder_id": p.holder.id,
        "insured_person_id": p.holder.id,
        "branch_id": p.branch_id,
        "vehicle_plate": p.vehicle[0],
        "vehicle_vin": p.vehicle[1],
        "vehicle_model": p.vehicle[2],
        "effective_from": p.effective_from,
        "effective_to": p.effective_to,
        "status": p.status,
        "sum_insured": p.sum_insured,
        "premium": p.premium,
        "currency": "CNY",
    }


def _claim(c: ClaimDraft) -> dict[str, Any]:
    return {
        "id": c.id,
        "number": c.number,
        "policy_id": c.policy.id,
        "claimant_id": c.claimant.id,
        "coverage_id": c.coverage.id if c.coverage else None,
        **c.fields,
    }


def _decision(c: ClaimDraft, d: DecisionDraft) -> dict[str, Any]:
    return {
        "id": d.id,
        "claim_id": c.id,
        "outcome": d.outcome,
        "amount": d.amount,
        "currency": "CNY",
        "reason_codes": d.reason_codes,
        "note": d.note,
        "decided_by_id": d.decided_by,
        "decided_at": d.decided_at,
        "notice_sent_at": d.notice_sent_at,
    }


def _payment(c: ClaimDraft, p: PaymentDraft) -> dict[str, Any]:
    return {
        "id": p.id,
        "claim_id": c.id,
        "decision_id": p.decision.id,
        "payee_name": c.claimant.name,
        "bank_name": c.bank[0],
        "bank_account": c.bank[1],
        "amount": p.amount,
        "currency": "CNY",
        "status": p.status,
        "reference": p.reference,
        "requested_by_id": p.requested_by,
        "requested_at": p.requested_at,
        "paid_at": p.paid_at,
    }


def _document(c: ClaimDraft, d: DocDraft) -> dict[str, Any]:
    return {
        "id": d.id,
        "claim_id": c.id,
        "doc_type": d.doc_type,
        "file": d.file_name,
        "original_name": d.original_name,
        "size": d.size,
        "content_type": d.content_type,
        "sha256": d.sha256,
        "uploaded_by_id": d.uploaded_by,
        "uploaded_at": d.uploaded_at,
    }


def _event(c: ClaimDraft, e: EventDraft) -> dict[str, Any]:
    data = e.data
    ref = e.ref
    if ref is not None:  # as the services record them: the decision, payment or document id
        if isinstance(ref, DocDraft):
            data = {"document": ref.id, **data, "sha256": ref.sha256}
        else:
            data = {"decision" if isinstance(ref, DecisionDraft) else "payment": ref.id, **data}
    return {
        "claim_id": c.id,
        "kind": e.kind,
        "at": e.at,
        "actor_id": e.actor,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "note": e.note,
        "data": data,
        "visible_to_customer": e.visible,
    }


EVENT_FIELDS = ("claim_id", "kind", "at", "actor_id", "from_status", "to_status", "note", "data", "visible_to_customer")
DOCUMENT_FIELDS = (
    "id", "claim_id", "doc_type", "file", "original_name", "size", "content_type", "sha256", "uploaded_by_id",
    "uploaded_at",
)  # fmt: skip


def _event_tuples(table: Table, drafts: list[ClaimDraft]) -> tuple[tuple[str, ...], list[tuple]]:
    """Events are most of the rows: straight to tuples (same values as `_event`, without the dicts)."""
    if not table.takes(EVENT_FIELDS):
        return table.tuples(_event(c, e) for c in drafts for e in c.events)
    at, dumps = table.converter("at"), json.dumps
    out = []
    for c in drafts:
        cid = c.id
        for e in c.events:
            ref = e.ref
            if ref is None:
                data = dumps(e.data) if e.data else "{}"
            elif isinstance(ref, DocDraft):  # json.dumps' own layout, written out
                data = f'{{"document": {ref.id}, "doc_type": "{ref.doc_type}", "sha256": "{ref.sha256}"}}'
            else:
                data = dumps({"decision" if isinstance(ref, DecisionDraft) else "payment": ref.id, **e.data})
            out.append((cid, e.kind, at(e.at), e.actor, e.from_status, e.to_status, e.note, data, e.visible))
    return EVENT_FIELDS, out


def _document_tuples(table: Table, drafts: list[ClaimDraft]) -> tuple[tuple[str, ...], list[tuple]]:
    if not table.takes(DOCUMENT_FIELDS):
        return table.tuples(_document(c, d) for c in drafts for d in c.documents)
    at = table.converter("uploaded_at")
    out = [
        (d.id, c.id, d.doc_type, d.file_name, d.original_name, d.size, d.content_type, d.sha256, d.uploaded_by,
         at(d.uploaded_at))
        for c in drafts
        for d in c.documents
    ]  # fmt: skip
    return DOCUMENT_FIELDS, out


def _shares(drafts: list[ClaimDraft]) -> list[dict[str, Any]]:
    out = []
    for c in drafts:
        seen: set[int] = set()
        for partner_id, by, at in c.shares:
            if partner_id not in seen:  # one share per claim and partner
                seen.add(partner_id)
                out.append({"claim_id": c.id, "partner_id": partner_id, "shared_by_id": by, "shared_at": at})
    return out


# --- the pipeline ---------------------------------------------------------------------------------


def run(maker: Maker, db: Database, sizes: list[int], workers: int, progress: Callable[[int], None]) -> None:
    """Build, prepare and insert every batch; in this process, or with forked workers."""
    if workers <= 1 or len(sizes) <= 1:
        for index, size in enumerate(sizes):
            builder, drafts = maker.build(index, size)
            grant = db.grant(maker.need(index, drafts))
            db.insert(maker.prepare(index, builder, drafts, grant))
            progress(size)
        return
    ctx = multiprocessing.get_context("fork")
    results: Any = ctx.Queue()
    grants = [ctx.Queue() for _ in range(workers)]
    procs = [
        ctx.Process(target=_worker, args=(maker, sizes, w, workers, grants[w], results), daemon=True)
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    state = _Pump(db, results, grants, procs)
    try:
        while state.finished < workers or state.rows:
            if not state.rows:
                state.pump(block=True)
                continue
            prepared = state.rows.popleft()
            # Between tables, answer the workers waiting for ids, so they do not wait for the insert.
            db.insert(prepared, between=lambda: state.pump(block=False))
            progress(prepared.claims)
            state.grant_ready()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(timeout=5)


class _Pump:
    """The parent's mailbox: grants ids in batch order as soon as asked, queues prepared rows."""

    def __init__(self, db: Database, results: Any, grants: list[Any], procs: list[Any]) -> None:
        self.db, self.results, self.grants, self.procs = db, results, grants, procs
        self.waiting: dict[int, Need] = {}
        self.next_grant = 0
        self.finished = 0
        self.rows: deque[Prepared] = deque()

    def pump(self, *, block: bool) -> None:
        while True:
            try:
                kind, payload = self.results.get(timeout=5) if block else self.results.get_nowait()
            except queue.Empty:
                if not block:
                    return
                dead = [p for p in self.procs if p.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(f"seed worker exited with code {dead[0].exitcode}") from None
                continue
            if kind == "need":
                self.waiting[payload.index] = payload
                self.grant_ready()
            elif kind == "rows":
                self.rows.append(payload)
            elif kind == "done":
                self.finished += 1
            else:
                raise RuntimeError(f"seed worker failed:\n{payload}")
            block = False  # got one; drain the rest without waiting

    def grant_ready(self) -> None:
        """Ids in batch order, whatever the workers' pace; none while too many batches wait to be
        inserted (memory stays bounded when the database is the slower side)."""
        while self.next_grant in self.waiting and len(self.rows) < 2 * len(self.grants):
            need = self.waiting.pop(self.next_grant)
            self.grants[self.next_grant % len(self.grants)].put(self.db.grant(need))
            self.next_grant += 1


def _worker(maker: Maker, sizes: list[int], me: int, workers: int, grants: Any, results: Any) -> None:
    # A forked copy of the parent: it must never touch the parent's database connection, and it
    # does not (building and preparing are pure Python; files go to storage).
    try:
        for index in range(me, len(sizes), workers):
            builder, drafts = maker.build(index, sizes[index])
            results.put(("need", maker.need(index, drafts)))
            results.put(("rows", maker.prepare(index, builder, drafts, grants.get())))
        results.put(("done", None))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        results.put(("error", traceback.format_exc()))
    finally:
        results.close()
        results.join_thread()
