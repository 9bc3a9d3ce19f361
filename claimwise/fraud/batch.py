"""Batch scoring (issue 6): rescore a book of claims set-wise, chunk by chunk, with the same result
per claim as `scoring.evaluate` — the same score, version, components and reasons.

For each chunk of claim ids (in id order):
1. the facts of `fraud.facts` for every claim as columns, from a handful of set-based statements
   (the claim with its policy, coverage and claimant; document types; duplicate files; earlier
   claims of the claimant in 12 months; earlier payee accounts; partners' claims); the watch list
   and the lines' limits are read once per run;
2. each active red-flag rule evaluated over the columns (`fraud.vector`), or row by row with
   rule-engine when the translation does not cover it;
3. the platform model in one `predict` call, `explain` only for the rows with a lift;
4. the network part from the `LinkKey` index: per entity, distinct claimants and claims over the
   whole index (one aggregate per run), exactly what `links.rings_of` counts for one claim, given
   the claim's own entries are in the index (they are written with the claim);
5. combined like `evaluate`; reason texts are built only for what fired;
6. stored in one transaction per chunk: a `RiskAssessment` per claim (trigger "batch", every fact
   recorded) and `Claim.risk_score`, in bulk (COPY and one `UPDATE … FROM` on PostgreSQL,
   executemany on SQLite). With `only_changed` (the default) a claim whose latest assessment already
   has the same score and version is not written again, so a rerun after a crash redoes only the
   unfinished chunk's writes.

Claims are scored against the `risk_score` of other claims as they stand when their chunk is read
(the partner fact), like a report scored one after the other.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from claimwise.claims.choices import DocumentType
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim, ClaimShare, Document
from claimwise.core import rows as sql_rows
from claimwise.core.crypto import decrypt, keyed_hash
from claimwise.fraud.choices import WatchKind
from claimwise.fraud.facts import FLAGGED, FRAUD_FACT_HELP, FRAUD_FACT_TYPES, NIGHT, _limits, compiled
from claimwise.fraud.links import RING_MIN_CLAIMANTS, Ring, entities, network_score, ring_reason
from claimwise.fraud.models import LinkKey, RedFlagRule, RiskAssessment, WatchListEntry
from claimwise.fraud.rules import active_rules, render
from claimwise.fraud.scoring import (
    LANGUAGES,
    PLATFORM_FEATURES,
    TOP_REASONS,
    _platform_model,
    _q,
    _text,
    combined,
    rule_reason,
    rules_version,
    score_version,
)
from claimwise.fraud.vector import Columns, rule_matches
from claimwise.policies.models import Coverage, Customer, Policy

CHUNK = 20_000
TRIGGER = "batch"
YEAR_US = 365 * 86400 * 1_000_000
Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class BatchScore:
    claim_id: int
    score: Decimal
    version: str
    components: dict[str, Any]
    reasons: list[dict[str, Any]]
    facts: dict[str, Any]


@dataclass
class Summary:
    claims: int
    written: int
    seconds: float
    vectorised: dict[str, bool]

    @property
    def rate(self) -> float:
        return self.claims / self.seconds if self.seconds else 0.0


# -- numbers as fraud_facts makes them ---------------------------------------------------------------


@dataclass
class Num:
    """A decimal fact as float64 with its text: `dp` places, or "0" where the fact is the plain
    Decimal(0) fraud_facts gives without a value (no coverage, no fast-track limit, …)."""

    values: np.ndarray
    dp: int
    plain: np.ndarray | None = None

    def text(self, i: int) -> str:
        if self.plain is not None and self.plain[i]:
            return "0"
        v = self.values[i]
        return f"{v:.{self.dp}f}" if self.dp else str(int(v))

    def texts(self) -> list[str]:
        dp = self.dp
        out = [f"{v:.{dp}f}" for v in self.values.tolist()] if dp else [str(int(v)) for v in self.values.tolist()]
        if self.plain is not None:
            for i in np.flatnonzero(self.plain).tolist():
                out[i] = "0"
        return out


def _quantise(x: np.ndarray, dp: int, exact: Callable[[int], Decimal]) -> np.ndarray:
    """`Decimal(...).quantize(10**-dp)` (half to even) of each value; rows within rounding error of a
    half are done with Decimal itself by `exact(i)`."""
    scale = 10.0**dp
    scaled = x * scale
    out = np.round(scaled) / scale
    frac = np.abs(scaled - np.floor(scaled) - 0.5)
    for i in np.flatnonzero(frac < 1e-6).tolist():
        out[i] = float(exact(i))
    return out


def _ratio(a: np.ndarray, b: np.ndarray) -> Num:
    """facts._ratio over columns: a ÷ b to 4 places when b > 0, else the plain 0."""
    ok = b > 0
    with np.errstate(all="ignore"):
        r = np.where(ok, a / np.where(ok, b, 1.0), 0.0)

    def exact(i: int) -> Decimal:
        return (Decimal(repr(float(a[i]))) / Decimal(repr(float(b[i])))).quantize(Decimal("0.0001"))

    return Num(np.where(ok, _quantise(r, 4, exact), 0.0), 4, ~ok)


def _days(us: np.ndarray) -> Num:
    days = (us / 1e6) / 86400  # what timedelta.total_seconds() / 86400 gives

    def exact(i: int) -> Decimal:
        return Decimal(float(days[i])).quantize(Decimal("0.01"))

    return Num(_quantise(days, 2, exact), 2)


# -- the chunk's facts ---------------------------------------------------------------------------------


class _Sql:
    """Table and column names, and the few places where the two databases differ."""

    def __init__(self) -> None:
        q = connection.ops.quote_name
        self.q = q
        self.pg = connection.vendor == "postgresql"
        self.claim, self.policy, self.coverage = (sql_rows.table(m) for m in (Claim, Policy, Coverage))
        self.customer, self.document, self.share = (sql_rows.table(m) for m in (Customer, Document, ClaimShare))
        self.link, self.assessment = sql_rows.table(LinkKey), sql_rows.table(RiskAssessment)

    def epoch_us(self, column: str) -> str:
        # float8 seconds: exact to well under a microsecond for any date of this century
        return f"date_part('epoch', {column})" if self.pg else column

    def year_before(self, later: str, earlier: str) -> str:
        """`earlier` at most 365 days before `later` (SQLite: to the julian day's precision)."""
        if self.pg:
            return f"{earlier} >= {later} - INTERVAL '365 days'"
        return f"julianday({earlier}) >= julianday({later}) - 365"


def _us(values: list[Any], pg: bool) -> np.ndarray:
    if pg:
        return np.round(np.array(values, dtype=float) * 1e6).astype(np.int64)
    # SQLite keeps UTC datetimes as ISO text.
    text = [v if isinstance(v, str) else str(v) for v in values]
    return np.array([t.replace(" ", "T")[:26] for t in text], dtype="datetime64[us]").astype(np.int64)


@dataclass
class Chunk:
    ids: np.ndarray
    num: dict[str, Num]
    values: dict[str, np.ndarray]  # strings (object) and booleans
    documents: dict[int, tuple[str, ...]]
    doc_masks: dict[str, np.ndarray]
    reported_us: np.ndarray
    claimant: np.ndarray
    risk_score: np.ndarray
    accounts: list[str | None]
    phones: list[str]
    plates: list[str]

    @property
    def size(self) -> int:
        return len(self.ids)

    def columns(self) -> Columns:
        values: dict[str, np.ndarray] = {k: v.values for k, v in self.num.items()}
        values.update(self.values)
        return Columns(self.size, values, self.doc_masks)

    def fact(self, name: str, i: int) -> Any:
        if name in self.num:
            return Decimal(self.num[name].text(i))
        if name == "documents":
            return self.documents.get(int(self.ids[i]), ())
        value = self.values[name][i]
        return bool(value) if FRAUD_FACT_TYPES[name] == rule_engine_bool else value

    def fact_key(self, name: str, i: int) -> Any:
        if name in self.num:
            return self.num[name].text(i)
        if name == "documents":
            return self.documents.get(int(self.ids[i]), ())
        return self.values[name][i]

    def text_column(self, name: str) -> list[str | None]:
        if name in self.num:
            return list(self.num[name].texts())
        if name == "documents":
            return [str(self.documents.get(int(c), ())) for c in self.ids.tolist()]
        return [_text(v) for v in self.values[name].tolist()]

    def known_all(self) -> list[dict[str, Any]]:
        """Every fact of every row as JSON values, built column by column (the numbers are the
        quantised values themselves: float(Decimal) of each fact)."""
        names = list(FRAUD_FACT_TYPES)
        columns: list[list[Any]] = []
        for name in names:
            if name in self.num:
                columns.append(self.num[name].values.tolist())
            elif name == "documents":
                columns.append([list(self.documents.get(c, ())) for c in self.ids.tolist()])
            else:
                columns.append(self.values[name].tolist())
        return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]

    def known(self, i: int) -> dict[str, Any]:
        """Every fact of row i as JSON values (like FraudFacts.known, all of them)."""
        out: dict[str, Any] = {}
        for name in FRAUD_FACT_TYPES:
            if name in self.num:
                out[name] = float(self.num[name].text(i))
            elif name == "documents":
                out[name] = list(self.documents.get(int(self.ids[i]), ()))
            else:
                value = self.values[name][i]
                out[name] = bool(value) if isinstance(value, np.bool_ | bool) else value
        return out


rule_engine_bool = FRAUD_FACT_TYPES["night_incident"]


class RowFacts(Mapping[str, Any]):
    """One row of a chunk as rule-engine and the reason templates read facts."""

    def __init__(self, chunk: Chunk, i: int) -> None:
        self.chunk, self.i = chunk, i

    def __getitem__(self, name: str) -> Any:
        if name not in FRAUD_FACT_TYPES:
            raise KeyError(name)
        return self.chunk.fact(name, self.i)

    def __iter__(self) -> Iterator[str]:
        return iter(FRAUD_FACT_TYPES)

    def __len__(self) -> int:
        return len(FRAUD_FACT_TYPES)


class _Run:
    """What a run reads once: the lines' limits, the watch list, the ring entities."""

    def __init__(self, where: str, params: list[Any]) -> None:
        self.sql = _Sql()
        self.where, self.params = where, params
        self.limits: dict[tuple[str, str], tuple[Decimal | None, list[Decimal]]] = {}
        self.watch: dict[str, set[str]] = defaultdict(set)
        for kind, value in WatchListEntry.objects.filter(active=True).values_list("kind", "value"):
            self.watch[kind].add(value)
        self.plain: dict[str, str] = {}
        self.shown: dict[tuple[str, str], str] = {}
        self.tz = timezone.get_current_timezone()
        self.offsets: dict[int, int] = {}
        self.entities = self._ring_entities()

    def decrypt(self, token: str) -> str:
        plain = self.plain.get(token)
        if plain is None:
            plain = self.plain[token] = decrypt(token)
        return plain

    def _ring_entities(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(kind, key) → (distinct claimants, claims) of every entity on two claimants or more."""
        s = self.sql
        kinds = ", ".join(f"'{k}'" for k in RING_MIN_CLAIMANTS)
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT kind, {s.q('key')}, COUNT(DISTINCT claimant_id), COUNT(DISTINCT claim_id) "  # noqa: S608
                f"FROM {s.link} WHERE kind IN ({kinds}) GROUP BY kind, {s.q('key')} "
                "HAVING COUNT(DISTINCT claimant_id) >= 2"
            )
            return {(k, key): (a, b) for k, key, a, b in cur.fetchall() if a >= RING_MIN_CLAIMANTS[k]}

    def hours(self, us: np.ndarray) -> np.ndarray:
        """timezone.localtime(...).hour: the offset of each hour of UTC from the zone's rules."""
        seconds = us // 1_000_000
        buckets = seconds // 3600
        unique, inverse = np.unique(buckets, return_inverse=True)
        offsets = []
        for b in unique.tolist():
            off = self.offsets.get(b)
            if off is None:
                moment = dt.datetime.fromtimestamp(b * 3600, dt.UTC).astimezone(self.tz)
                off = self.offsets[b] = int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]
            offsets.append(off)
        local = seconds + np.array(offsets, dtype=np.int64)[inverse]
        return (local // 3600) % 24

    def line_limits(self, line: str, loss_type: str) -> tuple[Decimal | None, list[Decimal]]:
        key = (line, loss_type)
        if key not in self.limits:
            self.limits[key] = _limits(line, loss_type)
        return self.limits[key]

    # -- the statements --------------------------------------------------------------------------

    def fetch(self, statement: str, lo: int, hi: int) -> list[tuple[Any, ...]]:
        with connection.cursor() as cur:
            cur.execute(statement.replace("{where}", self.where), [lo, hi, *self.params])
            return cur.fetchall()

    def chunk(self, lo: int, hi: int) -> Chunk:  # noqa: C901 - one fact after the other
        s, q = self.sql, self.sql.q
        real = "DOUBLE PRECISION"
        rows = self.fetch(
            f"SELECT c.id, c.claimant_id, c.line, c.loss_type, c.channel, CAST(c.claimed_amount AS {real}), "  # noqa: S608
            f"CAST(c.assessed_amount AS {real}), {s.epoch_us('c.incident_at')}, {s.epoch_us('c.reported_at')}, "
            f"c.payee_account, CAST(c.risk_score AS {real}), CAST(p.sum_insured AS {real}), "
            f"{s.epoch_us('p.effective_from')}, p.vehicle_plate, CAST(cov.{q('limit')} AS {real}), cu.id_hash, cu.phone "
            f"FROM {s.claim} c JOIN {s.policy} p ON p.id = c.policy_id "
            f"LEFT JOIN {s.coverage} cov ON cov.id = c.coverage_id JOIN {s.customer} cu ON cu.id = c.claimant_id "
            "WHERE {where} ORDER BY c.id",
            lo,
            hi,
        )
        n = len(rows)
        cols = list(zip(*rows, strict=True)) if rows else [()] * 17
        ids = np.array(cols[0], dtype=np.int64)
        index = {int(c): i for i, c in enumerate(cols[0])}

        def floats(values: tuple[Any, ...]) -> np.ndarray:
            return np.array([np.nan if v is None else float(v) for v in values], dtype=float)

        line = np.array(cols[2], dtype=object)
        loss_type = np.array(cols[3], dtype=object)
        claimed, assessed = floats(cols[5]), floats(cols[6])
        incident, reported = _us(list(cols[7]), s.pg), _us(list(cols[8]), s.pg)
        effective = _us(list(cols[12]), s.pg)
        sum_insured, limit = floats(cols[11]), floats(cols[14])
        use_assessed = ~np.isnan(assessed) & (assessed != 0)
        amount = np.where(use_assessed, assessed, claimed)
        amount_plain = np.isnan(amount)
        amount = np.nan_to_num(amount)
        si_plain = np.isnan(sum_insured)
        sum_insured = np.nan_to_num(sum_insured)
        limit_plain = np.isnan(limit)
        limit = np.nan_to_num(limit)
        num: dict[str, Num] = {
            "claimed_amount": Num(amount, 2, amount_plain),
            "sum_insured": Num(sum_insured, 2, si_plain),
            "coverage_limit": Num(limit, 2, limit_plain),
        }
        num["amount_ratio"] = _ratio(amount, np.where(limit > 0, limit, sum_insured))
        num["days_since_inception"] = _days((incident - effective).astype(float))
        num["report_delay_days"] = _days((reported - incident).astype(float))
        fast = np.zeros(n)
        authority = np.zeros(n)
        pairs: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, key in enumerate(zip(cols[2], cols[3], strict=True)):
            pairs[key].append(i)
        for (ln, lt), members in pairs.items():
            limit_fast, ceilings = self.line_limits(ln, lt)
            at = np.array(members)
            fast[at] = float(limit_fast or 0)
            if ceilings:
                found = np.searchsorted(np.array([float(c) for c in ceilings]), amount[at], side="left")
                ok = found < len(ceilings)
                authority[at] = np.where(ok, np.array([float(c) for c in ceilings] + [0.0])[found], 0.0)
        num["fast_track_ratio"] = _ratio(amount, fast)
        num["authority_ratio"] = _ratio(amount, authority)
        hour = self.hours(incident)
        num["incident_hour"] = Num(hour.astype(float), 0)
        values: dict[str, np.ndarray] = {
            "line": line,
            "loss_type": loss_type,
            "channel": np.array(cols[4], dtype=object),
            "night_incident": (hour >= NIGHT[0]) | (hour < NIGHT[1]),
        }

        # Documents: types, and files also on another claim.
        documents: dict[int, tuple[str, ...]] = {}
        masks: dict[str, np.ndarray] = {}
        found_docs: dict[int, list[str]] = defaultdict(list)
        for claim_id, doc_type in self.fetch(
            # As facts._documents reads them: its DISTINCT includes the ordering columns, so a type
            # appears once per document, in upload order.
            f"SELECT d.claim_id, d.doc_type FROM {s.document} d JOIN {s.claim} c ON c.id = d.claim_id "  # noqa: S608
            "WHERE {where} ORDER BY d.claim_id, d.uploaded_at, d.id",
            lo,
            hi,
        ):
            found_docs[claim_id].append(doc_type)
            masks.setdefault(doc_type, np.zeros(n, dtype=bool))[index[claim_id]] = True
        documents = {k: tuple(v) for k, v in found_docs.items()}
        values["police_report"] = masks.get(DocumentType.POLICE_REPORT, np.zeros(n, dtype=bool)).copy()
        duplicates = np.zeros(n)
        for claim_id, count in self.fetch(
            f"SELECT d.claim_id, COUNT(DISTINCT d.sha256) FROM {s.document} d JOIN {s.claim} c ON c.id = d.claim_id "  # noqa: S608
            f"WHERE {{where}} AND EXISTS (SELECT 1 FROM {s.document} o WHERE o.sha256 = d.sha256 "
            "AND o.claim_id <> d.claim_id) GROUP BY d.claim_id",
            lo,
            hi,
        ):
            duplicates[index[claim_id]] = count
        num["duplicate_documents"] = Num(duplicates, 0)

        # The claimant's earlier claims, in one statement: those reported in the 12 months before
        # count; their payee accounts tell whether this claim's is new (accounts are encrypted with
        # a random IV: compared in the clear, each ciphertext decrypted once per run).
        prior = np.zeros(n)
        accounts: list[str | None] = [a or None for a in cols[9]]
        earlier: dict[int, set[str]] = defaultdict(set)
        for claim_id, within, token in self.fetch(
            f"SELECT c.id, CASE WHEN {s.year_before('c.reported_at', 'o.reported_at')} THEN 1 ELSE 0 END, "  # noqa: S608
            "CASE WHEN c.payee_account <> '' AND o.payee_account <> '' THEN o.payee_account END "
            f"FROM {s.claim} c JOIN {s.claim} o ON o.claimant_id = c.claimant_id "
            "AND o.reported_at < c.reported_at AND o.id <> c.id WHERE {where}",
            lo,
            hi,
        ):
            i = index[claim_id]
            prior[i] += within
            if token:
                earlier[i].add(self.decrypt(token))
        num["prior_claims_12m"] = Num(prior, 0)
        account_new = np.zeros(n, dtype=bool)
        for i, seen in earlier.items():
            token = accounts[i]
            account_new[i] = bool(seen) and token is not None and self.decrypt(token) not in seen
        values["payee_account_new"] = account_new

        # The watch list (read once per run): ID, phone, account and plate.
        plates = [p or "" for p in cols[13]]
        phones = [p or "" for p in cols[16]]
        hits = np.zeros(n)
        watch = self.watch
        if watch:
            ids_w, phones_w = watch.get(WatchKind.ID_HASH.value, set()), watch.get(WatchKind.PHONE.value, set())
            accounts_w, plates_w = (
                watch.get(WatchKind.ACCOUNT_HASH.value, set()),
                watch.get(WatchKind.PLATE.value, set()),
            )
            for i in range(n):
                h = (cols[15][i] in ids_w) + (bool(phones[i]) and phones[i] in phones_w)
                if accounts_w and accounts[i]:
                    h += keyed_hash(self.decrypt(accounts[i])) in accounts_w  # type: ignore[arg-type]
                if plates_w and plates[i]:
                    h += plates[i].upper().replace(" ", "") in plates_w
                hits[i] = h
        num["watchlist_hits"] = Num(hits, 0)

        # The partners' other claims since a year before this one, and how many were flagged.
        total = np.zeros(n)
        flagged = np.zeros(n)
        for claim_id, count, high in self.fetch(
            f"SELECT s.claim_id, COUNT(DISTINCT o.id), COUNT(DISTINCT CASE WHEN o.risk_score >= {FLAGGED} "  # noqa: S608
            f"THEN o.id END) FROM {s.share} s JOIN {s.claim} c ON c.id = s.claim_id "
            f"JOIN {s.share} s2 ON s2.partner_id = s.partner_id JOIN {s.claim} o ON o.id = s2.claim_id "
            f"WHERE {{where}} AND o.id <> c.id AND {s.year_before('c.reported_at', 'o.reported_at')} "
            "GROUP BY s.claim_id",
            lo,
            hi,
        ):
            total[index[claim_id]], flagged[index[claim_id]] = count, high
        num["provider_claims"] = Num(total, 0)
        num["provider_flagged_share"] = _ratio(flagged, total)
        missing = set(FRAUD_FACT_TYPES) - set(num) - set(values) - {"documents"}
        assert not missing, missing
        return Chunk(
            ids=ids,
            num=num,
            values=values,
            documents=documents,
            doc_masks=masks,
            reported_us=reported,
            claimant=np.array(cols[1], dtype=np.int64),
            risk_score=floats(cols[10]),
            accounts=accounts,
            phones=phones,
            plates=plates,
        )

    def rings(self, lo: int, hi: int, chunk: Chunk) -> dict[int, list[Ring]]:
        """Each claim's rings, from its own index entries and the run's entity counts."""
        if not self.entities:
            return {}
        s = self.sql
        kinds = ", ".join(f"'{k}'" for k in RING_MIN_CLAIMANTS)
        index = {int(c): i for i, c in enumerate(chunk.ids.tolist())}
        found: dict[int, list[Ring]] = defaultdict(list)
        for claim_id, kind, key in self.fetch(
            f"SELECT lk.claim_id, lk.kind, lk.{s.q('key')} FROM {s.link} lk JOIN {s.claim} c ON c.id = lk.claim_id "  # noqa: S608
            f"WHERE {{where}} AND lk.kind IN ({kinds})",
            lo,
            hi,
        ):
            counts = self.entities.get((kind, key))
            if counts is None:
                continue
            i = index[claim_id]
            at = dt.datetime.fromtimestamp(int(chunk.reported_us[i]) / 1e6, dt.UTC)
            found[claim_id].append(
                Ring(
                    kind=kind,
                    key=key,
                    entity=self._shown(kind, key, chunk, i),
                    claimants=counts[0],
                    claims=counts[1],
                    first_seen=at,
                    last_seen=at,
                )
            )
        for rings in found.values():
            rings.sort(key=lambda r: (-r.weight, r.kind))
        return found

    def _shown(self, kind: str, key: str, chunk: Chunk, i: int) -> str:
        """The entity masked as `links.entities` masks it, from the claim's plain values (once per entity)."""
        shown = self.shown.get((kind, key))
        if shown is None:
            shown = self.shown[(kind, key)] = self._mask(kind, key, chunk, i)
        return shown

    def _mask(self, kind: str, key: str, chunk: Chunk, i: int) -> str:
        account = chunk.accounts[i]
        candidates = entities(
            phone=chunk.phones[i] if kind == "phone" else "",
            account=self.decrypt(account) if kind == "account" and account else None,
            plate=chunk.plates[i] if kind == "plate" else "",
            documents=[key] if kind == "document" else (),
        )
        return next((e.shown for e in candidates if e.kind == kind and e.key == key), "")


# -- scoring a chunk -------------------------------------------------------------------------------------


class _Texts:
    """Reason texts per language, built once per run and per distinct value."""

    def __init__(self) -> None:
        self.model_template: dict[str, str] = {}
        self.help: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            with translation.override(language):
                self.model_template[language] = _("risk model: %(what)s is %(value)s")
                self.help[language] = {k: str(v) for k, v in FRAUD_FACT_HELP.items()}
        self.rings: dict[tuple[str, int], dict[str, str]] = {}
        self.rules: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.fields: dict[str, tuple[str, ...]] = {}

    def rule(self, rule: RedFlagRule, chunk: Chunk, i: int) -> dict[str, Any]:
        """The reason of a rule that fired, kept per distinct values of the facts it inserts."""
        fields = self.fields.get(rule.code)
        if fields is None:
            import string

            names = {n for t in (rule.reason, rule.reason_en) for _l, n, _s, _c in string.Formatter().parse(t) if n}
            fields = self.fields[rule.code] = tuple(sorted(names))
        key = (rule.code, rule.reason, rule.reason_en, *(chunk.fact_key(name, i) for name in fields))
        found = self.rules.get(key)
        if found is None:
            found = self.rules[key] = rule_reason(rule, RowFacts(chunk, i))
        return found

    def ring(self, ring: Ring) -> dict[str, str]:
        key = (ring.kind, ring.claimants)
        if key not in self.rings:
            texts = {}
            for language in LANGUAGES:
                with translation.override(language):
                    texts[language] = ring_reason(ring)
            self.rings[key] = texts
        return self.rings[key]


_THOUSANDTHS = [Decimal(f"{k / 1000:.3f}") for k in range(1001)]


def _scores(totals: list[float]) -> list[Decimal]:
    """scoring._q of each total: rounded half up to 3 places; rows near a half go through _q."""
    scaled = np.clip(np.array(totals, dtype=float), 0.0, 1.0) * 1000
    k = np.rint(scaled).astype(int).tolist()
    out = [_THOUSANDTHS[j] for j in k]
    for i in np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6).tolist():
        out[i] = _q(totals[i])
    return out


Prepared = tuple["Chunk", dict[int, list[Ring]]]


def _model_matrix(model: Any, chunk: Chunk) -> np.ndarray | None:
    """`model.matrix` of the chunk's facts without the round trip through text: a numeric column is
    the fact's value (what parsing its text gives back), a categorical one its code. None when a
    column is of another kind (dates, free text)."""
    from claimwise.fraud.learn import _apply

    space = model.space
    out: list[np.ndarray] = []
    for column in space.columns:
        if column.kind == "numeric" and column.name in chunk.num:
            out.append(np.array(chunk.num[column.name].values, dtype=float))
        elif column.kind == "numeric" and column.name in chunk.values and chunk.values[column.name].dtype == bool:
            out.append(chunk.values[column.name].astype(float))
        elif column.kind == "categorical":
            codes = space._codes[column.name]
            unseen = float(len(codes))
            out.append(np.array([float(codes.get(t, unseen)) for t in chunk.text_column(column.name)], dtype=float))
        else:
            return None
    x = np.column_stack(out) if out else np.zeros((chunk.size, 0))
    for c, table in model.encodings.items():
        x[:, c] = _apply(x[:, c], table, model.prior)
    return x[:, model.kept]


def score_chunk(
    run: _Run, lo: int, hi: int, texts: _Texts, vectorised: dict[str, bool], prepared: Prepared | None = None
) -> list[BatchScore]:
    """The scores of the claims of one chunk, like `evaluate` gives them one by one. `prepared`:
    the chunk's facts and rings when they were read ahead. The cyclic garbage collector is paused
    meanwhile: the chunk makes hundreds of thousands of small acyclic dicts and lists, and the
    collector's passes over them took half the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _score_chunk(run, lo, hi, texts, vectorised, prepared)
    finally:
        if enabled:
            gc.enable()


def _score_chunk(
    run: _Run, lo: int, hi: int, texts: _Texts, vectorised: dict[str, bool], prepared: Prepared | None
) -> list[BatchScore]:
    chunk = run.chunk(lo, hi) if prepared is None else prepared[0]
    n = chunk.size
    if not n:
        return []
    cols = chunk.columns()
    rules = active_rules()
    fired = []
    keep = np.ones(n)
    for rule in rules:
        compiled(rule.expression)
        matched, vector = rule_matches(rule.expression, cols, lambda i: RowFacts(chunk, i))
        vectorised[rule.code] = vector
        fired.append(matched)
        keep = np.where(matched, keep * (1.0 - float(rule.weight)), keep)
    rules_score = 1.0 - keep
    version_of_rules = rules_version(rules)

    # The platform model: one predict over the chunk, explain only where there is a lift.
    active = _platform_model()
    model_parts: list[dict[str, Any] | None] = [None] * n
    model_reasons: dict[int, list[dict[str, Any]]] = {}
    if active is not None:
        row, model = active
        x = _model_matrix(model, chunk)
        if x is None:  # columns the shortcut does not build: the model reads the facts as text
            features = {name: chunk.text_column(name) for name in PLATFORM_FEATURES}
            x = model.matrix(features)
        probability = np.asarray(model.predict_matrix(x), dtype=float)
        prior = model.prior
        lift = np.maximum(0.0, (probability - prior) / (1.0 - prior)) if prior < 1 else np.zeros(n)
        lifts, probabilities = lift.tolist(), probability.tolist()
        version = row.version
        model_parts = [
            {"score": round(a, 4), "probability": round(b, 4), "version": version}
            for a, b in zip(lifts, probabilities, strict=True)
        ]
        lifted = np.flatnonzero(lift > 0)
        if len(lifted):
            contributions_all = np.asarray(model.booster.predict(x[lifted], pred_contrib=True))
            names = model.features
            for j, i in enumerate(lifted.tolist()):
                contributions = contributions_all[j][:-1].tolist()
                reasons: list[dict[str, Any]] = []
                facts = RowFacts(chunk, i)
                for k in sorted(range(len(names)), key=lambda m: -contributions[m])[:2]:
                    if contributions[k] <= 0:
                        continue
                    fact = names[k].split(":")[0]
                    value = render("{" + fact + "}", facts) if fact in FRAUD_FACT_HELP else ""
                    text = {
                        language: texts.model_template[language]
                        % {"what": texts.help[language].get(fact) or fact, "value": value}
                        for language in LANGUAGES
                    }
                    weight = round(
                        lifts[i] * float(contributions[k]) / max(1e-9, float(sum(c for c in contributions if c > 0))),
                        3,
                    )
                    reasons.append({"kind": "model", "code": fact, "weight": weight, "text": text})
                model_reasons[i] = reasons

    rings = run.rings(lo, hi, chunk) if prepared is None else prepared[1]
    fired_rows: list[list[RedFlagRule]] = [[] for _ in range(n)]
    for rule, matched in zip(rules, fired, strict=True):
        for i in np.flatnonzero(matched).tolist():
            fired_rows[i].append(rule)
    parts: list[tuple[float, str, dict[str, Any], list[dict[str, Any]]]] = []
    ids = chunk.ids.tolist()
    scores_of_rules = rules_score.tolist()
    facts_of = chunk.known_all()
    for i in range(n):
        hits = fired_rows[i]
        reasons = [texts.rule(rule, chunk, i) for rule in hits] if hits else []
        if i in model_reasons:
            reasons += model_reasons[i]
        model_part = model_parts[i]
        mine = rings.get(ids[i], ())
        network = network_score(mine) if mine else 0.0  # type: ignore[arg-type]
        if mine:
            reasons += [
                {"kind": "network", "code": f"ring-{r.kind}", "weight": r.weight, "text": texts.ring(r)} for r in mine
            ]
        if len(reasons) > 1:
            reasons.sort(key=lambda r: -r["weight"])
        rs = scores_of_rules[i]
        total = combined(rs, model_part["score"] if model_part else 0.0, network)
        components = {
            "rules": {"score": round(rs, 4), "fired": [rule.code for rule in hits], "version": version_of_rules},
            "model": model_part,
            "network": {"score": network, "computed": True, "rings": [r.as_json() for r in mine]},
        }
        parts.append((total, score_version(version_of_rules, model_part), components, reasons[:TOP_REASONS]))
    scores = _scores([p[0] for p in parts])
    return [
        BatchScore(claim_id, score, version, components, reasons, facts)
        for claim_id, score, (_t, version, components, reasons), facts in zip(ids, scores, parts, facts_of, strict=True)
    ]


# -- the run -------------------------------------------------------------------------------------------------


def _selection(open_only: bool, since: dt.date | None) -> tuple[str, list[Any]]:
    where = "c.id >= %s AND c.id <= %s"
    params: list[Any] = []
    if open_only:
        where += f" AND c.status NOT IN ('{ClaimStatus.CLOSED.value}', '{ClaimStatus.WITHDRAWN.value}')"
    if since is not None:
        start = timezone.make_aware(dt.datetime.combine(since, dt.time()))
        where += " AND c.reported_at >= %s"
        params.append(connection.ops.adapt_datetimefield_value(start))
    return where, params


def _close() -> None:
    connection.close()


def chunks(
    *,
    open_only: bool = False,
    since: dt.date | None = None,
    chunk: int = CHUNK,
    vectorised: dict[str, bool] | None = None,
    prefetch: bool = False,
    part: tuple[int, int] = (0, 1),
) -> Iterator[tuple[int, list[BatchScore]]]:
    """(claims selected in all, the scores of one chunk), chunk after chunk in id order.
    `part` (k, n): only every n-th chunk from the k-th (one of n workers).
    `vectorised`: filled with whether each rule was translated (False: rule-engine row by row).
    `prefetch`: read the next chunk's facts on a second connection while this one is scored (not
    inside a transaction: another connection would not see its rows)."""
    where, params = _selection(open_only, since)
    run = _Run(where, params)
    texts = _Texts()
    vectorised = {} if vectorised is None else vectorised
    s = run.sql
    count_where = where.replace("c.id >= %s AND c.id <= %s", "1 = 1")
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {s.claim} c WHERE {count_where}", params)  # noqa: S608
        total = int(cur.fetchone()[0])

    def bounds() -> Iterator[tuple[int, int]]:
        for index, pair in enumerate(all_bounds()):
            if index % part[1] == part[0]:
                yield pair

    def all_bounds() -> Iterator[tuple[int, int]]:
        last = 0
        while True:
            with connection.cursor() as cur:
                cur.execute(
                    f"SELECT MAX(id) FROM (SELECT c.id FROM {s.claim} c WHERE c.id > %s AND "  # noqa: S608
                    f"{count_where} ORDER BY c.id LIMIT %s) x",
                    [last, *params, chunk],
                )
                hi = cur.fetchone()[0]
            if hi is None:
                return
            yield last + 1, int(hi)
            last = int(hi)

    if not prefetch or connection.in_atomic_block:
        for lo, hi in bounds():
            yield total, score_chunk(run, lo, hi, texts, vectorised)
        return

    def prepare(lo: int, hi: int) -> Prepared:
        found = run.chunk(lo, hi)
        return found, run.rings(lo, hi, found)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = bounds()
        following = next(ahead, None)
        future = pool.submit(prepare, *following) if following else None
        try:
            while future is not None and following is not None:
                prepared, current = future.result(), following
                following = next(ahead, None)
                future = pool.submit(prepare, *following) if following else None
                yield total, score_chunk(run, *current, texts, vectorised, prepared)
        finally:
            pool.submit(_close).result()  # the reading thread's own connection


def store(scores: list[BatchScore], *, at: dt.datetime, only_changed: bool = True) -> int:
    """Write a chunk's assessments and risk scores in bulk (inside the caller's transaction); the
    number of claims written."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _store(scores, at=at, only_changed=only_changed)
    finally:
        if enabled:
            gc.enable()


def _store(scores: list[BatchScore], *, at: dt.datetime, only_changed: bool) -> int:
    if not scores:
        return 0
    s = _Sql()
    ids = [x.claim_id for x in scores]
    lo, hi = min(ids), max(ids)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT id, CAST(risk_score AS DOUBLE PRECISION) FROM {s.claim} WHERE id >= %s AND id <= %s",  # noqa: S608
            [lo, hi],
        )
        current = dict(cur.fetchall())
        latest: dict[int, tuple[Any, str]] = {}
        if only_changed:
            cur.execute(
                f"SELECT a.claim_id, CAST(a.score AS DOUBLE PRECISION), a.version FROM {s.assessment} a "  # noqa: S608
                f"JOIN (SELECT claim_id, MAX(id) AS id FROM {s.assessment} WHERE claim_id >= %s AND claim_id <= %s "
                "GROUP BY claim_id) l ON l.id = a.id",
                [lo, hi],
            )
            latest = {c: (score, version) for c, score, version in cur.fetchall()}
    todo = [
        x
        for x in scores
        if not only_changed
        or latest.get(x.claim_id) != (float(x.score), x.version)
        or current.get(x.claim_id) != float(x.score)
    ]
    if not todo:
        return 0
    changed = [(x.claim_id, x.score) for x in todo if current.get(x.claim_id) != float(x.score)]
    columns = "claim_id, score, version, components, reasons, trigger, at"
    conn = connection
    if s.pg:
        raw = conn.connection
        assert raw is not None
        with raw.cursor() as c, c.copy(f"COPY {s.assessment} ({columns}) FROM STDIN") as copy:  # noqa: S608
            for x in todo:
                copy.write_row(
                    (
                        x.claim_id,
                        x.score,
                        x.version,
                        json.dumps({**x.components, "facts": x.facts}),
                        json.dumps(x.reasons),
                        TRIGGER,
                        at,
                    )
                )
        if changed:
            with conn.cursor() as cur:
                cur.execute(
                    f"UPDATE {s.claim} SET risk_score = v.score FROM (SELECT unnest(%s::bigint[]) AS id, "  # noqa: S608
                    f"unnest(%s::numeric[]) AS score) v WHERE {s.claim}.id = v.id",
                    [[c for c, _s in changed], [score for _c, score in changed]],
                )
    else:
        when = conn.ops.adapt_datetimefield_value(at)
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {s.assessment} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                [
                    (
                        x.claim_id,
                        str(x.score),
                        x.version,
                        json.dumps({**x.components, "facts": x.facts}),
                        json.dumps(x.reasons),
                        TRIGGER,
                        when,
                    )
                    for x in todo
                ],
            )
            cur.executemany(
                f"UPDATE {s.claim} SET risk_score = %s WHERE id = %s",  # noqa: S608
                [(str(score), c) for c, score in changed],
            )
    return len(todo)


def score_claims(
    *,
    open_only: bool = False,
    since: dt.date | None = None,
    chunk: int = CHUNK,
    write: bool = True,
    only_changed: bool = True,
    progress: Progress | None = None,
    prefetch: bool = False,
    workers: int = 1,
    at: dt.datetime | None = None,
    part: tuple[int, int] = (0, 1),
) -> Summary:
    """Score the selected claims chunk by chunk; with `write`, store each chunk in its own
    transaction. `progress(done, total, claims per second)` after every chunk. `workers` > 1 (on
    PostgreSQL, outside a transaction) shares the chunks among that many processes."""
    if workers > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _score_in_processes(
            workers,
            dict(open_only=open_only, since=since, chunk=chunk, write=write, only_changed=only_changed),
            progress,
        )
    started = time.perf_counter()
    done = written = 0
    at = at or timezone.now()
    vectorised: dict[str, bool] = {}
    for total, scores in chunks(
        open_only=open_only, since=since, chunk=chunk, vectorised=vectorised, prefetch=prefetch, part=part
    ):
        if write:
            with transaction.atomic():
                written += store(scores, at=at, only_changed=only_changed)
        done += len(scores)
        if progress is not None:
            progress(done, total, done / max(1e-9, time.perf_counter() - started))
    return Summary(done, written, time.perf_counter() - started, vectorised)


def _score_in_processes(workers: int, options: dict[str, Any], progress: Progress | None) -> Summary:
    """Every `workers`-th chunk to each of `workers` fresh processes (spawned, not forked: a fork
    after LightGBM's OpenMP threads started can hang), one thread of OpenMP each so the processes
    do not compete for the cores; their progress comes back through a queue."""
    import multiprocessing as mp
    import os
    from queue import Empty

    from claimwise.fraud.batch_worker import worker_main

    started = time.perf_counter()
    context = mp.get_context("spawn")
    queue = context.Queue()
    database = connection.settings_dict["NAME"]  # the test database under test, not the configured one
    options = {**options, "at": timezone.now()}
    threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        processes = [
            context.Process(target=worker_main, args=(k, workers, database, options, queue), daemon=True)
            for k in range(workers)
        ]
        for process in processes:
            process.start()
    finally:
        if threads is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = threads
    done = written = finished = 0
    vectorised: dict[str, bool] = {}
    failures: list[str] = []
    while finished < workers:
        try:
            message = queue.get(timeout=1.0)
        except Empty:
            # A worker that died without a word (killed, crashed while starting) ends the run too.
            if any(p.exitcode not in (None, 0) for p in processes):
                for process in processes:
                    process.terminate()
                raise RuntimeError("batch scoring: a worker process died") from None
            continue
        if message[0] == "chunk":
            done += message[1]
            if progress is not None:
                progress(done, message[2], done / max(1e-9, time.perf_counter() - started))
        else:
            finished += 1
            if message[0] == "failed":
                failures.append(message[1])
            else:
                written += message[1]
                vectorised.update(message[2])
    for process in processes:
        process.join()
    if failures:
        raise RuntimeError("batch scoring failed in a worker: " + "; ".join(failures))
    return Summary(done, written, time.perf_counter() - started, vectorised)


__all__ = ["BatchScore", "Summary", "chunks", "score_chunk", "score_claims", "store"]
