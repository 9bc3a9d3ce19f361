"""Link analysis (issue 6, item 4): claims joined by what they share — the claimant, the claimant's
phone and address, the payee bank account, the vehicle's plate, a document's file, a partner the
claim is shared with (hospital, repair shop, assessor) — and the rings that sharing reveals, which
raise alerts and make the network part of the risk score.

The graph is never walked whole. Each claim's entities are written once to `LinkKey` (keyed hashes,
indexed by kind and key), and a claim's rings are one aggregate statement over the index entries of
its own few entities: distinct claimants, claims, first and last report per entity (decision 23).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from claimwise.claims.fnol import normalise_account
from claimwise.claims.models import Claim, ClaimShare, Document
from claimwise.core import rows
from claimwise.core.crypto import keyed_hash, mask
from claimwise.fraud.choices import LinkKind
from claimwise.fraud.models import LinkKey

# A ring: one entity on the claims of at least this many distinct claimants.
RING_MIN_CLAIMANTS: dict[str, int] = {
    LinkKind.ACCOUNT: 3,
    LinkKind.PHONE: 3,
    LinkKind.PLATE: 3,
    LinkKind.DOCUMENT: 2,
}
# The weight of a ring at its threshold, growing by RING_STEP per further claimant up to RING_CAP.
# A shared address is linked (a family, a dormitory) but is not a ring on its own; nor is a partner:
# a hospital or a repair shop serves many unrelated claimants by its nature (its abnormal share of
# flagged claims is the provider red flag's business, `facts.provider_flagged_share`).
RING_WEIGHT: dict[str, float] = {
    LinkKind.ACCOUNT: 0.5,
    LinkKind.PHONE: 0.35,
    LinkKind.PLATE: 0.3,
    LinkKind.DOCUMENT: 0.4,
}
RING_STEP = 0.1
RING_CAP = 0.9
RING_CLAIMS_KEPT = 200  # claims listed on one alert; the counts stay exact beyond it

_ADDRESS_NOISE = re.compile(r"[\s,，.。、;；:：\-—_#/()（）]+")


def normalise_plate(value: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", value).upper() if ch.isalnum())


def normalise_address(value: str) -> str:
    """Full-width to half-width, capitals, no spaces or punctuation: `北京市 朝阳区，建国路88号`
    and `北京市朝阳区建国路８８号` are one address."""
    return _ADDRESS_NOISE.sub("", unicodedata.normalize("NFKC", value).upper())


@dataclass(frozen=True)
class Entity:
    kind: str
    key: str  # keyed hash (documents: the file's SHA-256)
    shown: str  # masked, for people; a partner's name (not personal data)
    detail: str = ""  # a partner's kind (PartnerKind value)


@dataclass(frozen=True)
class Partner:
    """A partner a claim is shared with. At report time only the id is known (and needed: the index
    holds the key alone); the name and kind are read where the entity is shown."""

    pk: int
    name: str = ""
    kind: str = ""


def partner_key(partner_id: int) -> str:
    """A partner's key in the index: its id, keyed like every other entity (stable across renames)."""
    return keyed_hash(f"partner:{partner_id}")


def claim_partners(claim_id: int) -> list[Partner]:
    """The partners a claim is shared with (the same `ClaimShare` rows the provider red flag reads)."""
    rows = ClaimShare.objects.filter(claim_id=claim_id).order_by("partner_id")
    return [
        Partner(pk, name, kind) for pk, name, kind in rows.values_list("partner_id", "partner__name", "partner__kind")
    ]


def entities(
    *,
    phone: str = "",
    address: str = "",
    account: str | None = None,
    plate: str = "",
    documents: Iterable[str] = (),
    partners: Iterable[Partner] = (),
) -> list[Entity]:
    """The linkable entities of one claim, from plain values (also used by the backfill migrations)."""
    found: list[Entity] = []
    if phone:
        found.append(Entity(LinkKind.PHONE, keyed_hash(phone), mask(phone.removeprefix("+86"), head=3, tail=4)))
    if account:
        number = normalise_account(account)
        found.append(Entity(LinkKind.ACCOUNT, keyed_hash(number), mask(number, head=0, tail=4)))
    if plate and (normal := normalise_plate(plate)):
        found.append(Entity(LinkKind.PLATE, keyed_hash(normal), mask(normal, head=2, tail=1)))
    if address and (normal := normalise_address(address)):
        found.append(Entity(LinkKind.ADDRESS, keyed_hash(normal), normal[:6] + "…"))
    for sha in sorted(set(documents)):
        found.append(Entity(LinkKind.DOCUMENT, sha, sha[:12]))
    for partner in sorted(set(partners), key=lambda p: p.pk):
        found.append(Entity(LinkKind.PARTNER, partner_key(partner.pk), partner.name, partner.kind))
    return found


def claim_entities(
    claim: Claim, *, documents: tuple[str, ...] | None = None, partners: Iterable[Partner] = ()
) -> list[Entity]:
    """A claim's entities. `documents`: the files' SHA-256 when known (`()` at report time).
    `partners`: the partners it is shared with, never read here — a partner is in no ring, so
    finding rings (scoring, in batch too) needs no look-up; where the whole neighbourhood counts
    (the link index, the picture) pass `claim_partners(claim.pk)`, at report time the reporter's."""
    claimant = claim.claimant
    if documents is None:
        documents = tuple(Document.objects.filter(claim_id=claim.pk).values_list("sha256", flat=True).distinct())
    return entities(
        phone=claimant.phone,
        address=claimant.address,
        account=claim.payee_account,
        plate=getattr(claim.policy, "vehicle_plate", ""),
        documents=documents,
        partners=partners,
    )


def ring_weight(kind: str, claimants: int) -> float:
    """The weight of a ring of `claimants` distinct claimants on one entity of `kind`."""
    extra = claimants - RING_MIN_CLAIMANTS[kind]
    return round(min(RING_CAP, RING_WEIGHT[kind] + RING_STEP * max(0, extra)), 4)


@dataclass(frozen=True)
class Ring:
    kind: str
    key: str
    entity: str
    claimants: int  # distinct claimants, this claim's included
    claims: int  # claims, this one included
    first_seen: dt.datetime
    last_seen: dt.datetime

    @property
    def weight(self) -> float:
        return ring_weight(self.kind, self.claimants)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "entity": self.entity,
            "claimants": self.claimants,
            "claims": self.claims,
            "weight": self.weight,
        }


def rings_of(claim: Claim, found: list[Entity]) -> list[Ring]:
    """The rings a claim is in: one aggregate statement over the index entries of its own entities
    (others' claims only, so it holds whether or not this claim's entries are written yet). On the
    report path: hand-written SQL built once per number of entities (see core.rows)."""
    candidates = {(e.kind, e.key): e for e in found if e.kind in RING_MIN_CLAIMANTS}
    if not candidates:
        return []
    params: list[Any] = [claim.claimant_id]
    params += [kind for kind, _key in candidates] + [key for _kind, key in candidates] + [claim.pk]
    with connection.cursor() as cursor:
        cursor.execute(_rings_sql(len(candidates)), params)
        rows = [
            {
                "kind": r[0],
                "key": r[1],
                "claimants": r[2],
                "mine": r[3],
                "claims": r[4],
                "first": _moment(r[5]),
                "last": _moment(r[6]),
            }
            for r in cursor.fetchall()
        ]
    rings: list[Ring] = []
    for row in rows:
        entity = candidates.get((row["kind"], row["key"]))
        claimants = row["claimants"] + (0 if row["mine"] else 1)
        if entity is None or claimants < RING_MIN_CLAIMANTS[row["kind"]]:
            continue  # (an entity of this claim's kinds and keys paired otherwise is none of its own)
        rings.append(
            Ring(
                kind=row["kind"],
                key=row["key"],
                entity=entity.shown,
                claimants=claimants,
                claims=row["claims"] + 1,
                first_seen=min(row["first"], claim.reported_at),
                last_seen=max(row["last"], claim.reported_at),
            )
        )
    rings.sort(key=lambda r: (-r.weight, r.kind))
    return rings


@cache
def _rings_sql(count: int) -> str:
    q = connection.ops.quote_name
    kind, key, claimant, claim, at = (q(c) for c in ("kind", "key", "claimant_id", "claim_id", "at"))
    # Kinds and keys as two IN lists: PostgreSQL reads them as arrays on the two leading columns of
    # the covering entity index, one index-only scan whatever the size of a ring (keys are hashes,
    # so no key of one kind is another kind's). Entities OR-ed pair by pair are cheaper on a young
    # book (about 15 % more reports per second on two cores) but visit a table page per claim of a
    # ring: 8 ms for one of 1,500 claims, a report-time p99 of 21–35 ms at a million claims
    # (docs/performance.md). A UNION ALL per entity or a VALUES list cost as much and gain nothing.
    listed = ", ".join(["%s"] * count)
    select = f"SELECT {kind}, {key}, COUNT(DISTINCT {claimant}), SUM(CASE WHEN {claimant} = %s THEN 1 ELSE 0 END), "
    select += f"COUNT(DISTINCT {claim}), MIN({at}), MAX({at}) FROM {rows.table(LinkKey)} "  # noqa: S608
    return select + f"WHERE {kind} IN ({listed}) AND {key} IN ({listed}) AND {claim} <> %s GROUP BY {kind}, {key}"


def _moment(value: Any) -> dt.datetime:
    """SQLite hands an aggregated datetime back as text (UTC); PostgreSQL as a datetime."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        assert parsed is not None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return value  # type: ignore[no-any-return]


def network_score(rings: list[Ring]) -> float:
    """Independent evidence (noisy-OR) of the rings the claim is in: 1 − Π(1 − w)."""
    keep = 1.0
    for ring in rings:
        keep *= 1.0 - ring.weight
    return round(1.0 - keep, 4)


def ring_reason(ring: Ring) -> str:
    """Why a ring raises the score, in the active language."""
    others = ring.claimants - 1
    if ring.kind == LinkKind.ACCOUNT:
        text = ngettext(
            "the payee account is also used by %(count)d other claimant",
            "the payee account is also used by %(count)d other claimants",
            others,
        )
    elif ring.kind == LinkKind.PHONE:
        text = ngettext(
            "the claimant's phone number is also given by %(count)d other claimant",
            "the claimant's phone number is also given by %(count)d other claimants",
            others,
        )
    elif ring.kind == LinkKind.PLATE:
        text = ngettext(
            "the vehicle is also on claims of %(count)d other claimant",
            "the vehicle is also on claims of %(count)d other claimants",
            others,
        )
    elif ring.kind == LinkKind.DOCUMENT:
        text = ngettext(
            "a document of this claim is also on claims of %(count)d other claimant",
            "a document of this claim is also on claims of %(count)d other claimants",
            others,
        )
    else:  # pragma: no cover - every ring kind has a reason
        text = _("linked to %(count)d other claimants")
    return text % {"count": others}


__all__ = [
    "RING_MIN_CLAIMANTS",
    "RING_WEIGHT",
    "Entity",
    "Partner",
    "Ring",
    "claim_entities",
    "claim_partners",
    "entities",
    "network_score",
    "normalise_address",
    "normalise_plate",
    "partner_key",
    "ring_reason",
    "ring_weight",
    "rings_of",
]
