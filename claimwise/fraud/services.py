"""Writes of the fraud app that are not rules or models: the watch list, the link index, ring
alerts and the rescoring of a ring's earlier claims."""

from __future__ import annotations

import logging
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.models import User
from claimwise.claims.fnol import normalise_account
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.core import rows
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.crypto import keyed_hash
from claimwise.core.errors import ValidationFailed
from claimwise.fraud.choices import WatchKind
from claimwise.fraud.investigations import case_auto_open
from claimwise.fraud.links import RING_CLAIMS_KEPT, Entity, Ring, claim_entities, ring_weight, rings_of
from claimwise.fraud.models import LinkKey, RingAlert, RiskAssessment, WatchListEntry
from claimwise.fraud.scoring import claim_score

log = logging.getLogger(__name__)


def watch_value(kind: str, raw: str) -> str:
    """What is stored for a watched value: ID numbers and bank accounts as keyed hashes only
    (PIPL), phones in E.164, plates without spaces in capitals."""
    import phonenumbers

    raw = raw.strip()
    if kind == WatchKind.ID_HASH:
        return keyed_hash(raw.upper())
    if kind == WatchKind.ACCOUNT_HASH:
        return keyed_hash(normalise_account(raw))
    if kind == WatchKind.PHONE:
        try:
            number = phonenumbers.parse(raw, "CN")
        except phonenumbers.NumberParseException:
            raise ValidationFailed({"value": _("Give a valid mobile number.")}) from None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return raw.upper().replace(" ", "")


@transaction.atomic
def watchlist_add(*, actor: User | None, kind: str, value: str, reason: str) -> WatchListEntry:
    """Put a phone, ID number, bank account or plate on the watch list, with the reason."""
    problems: dict[str, str] = {}
    if kind not in WatchKind.values:
        problems["kind"] = _("Choose what kind of value this is.")
    if not value.strip():
        problems["value"] = _("This field is required.")
    if not reason.strip():
        problems["reason"] = _("Say why this is watched.")
    if problems:
        raise ValidationFailed(problems)
    entry = WatchListEntry(
        kind=kind, value=watch_value(kind, value), reason=reason.strip(), added_by=actor, added_at=timezone.now()
    )
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        raise ValidationFailed({"value": _("This value is on the watch list already.")}) from None
    audit_record(actor=actor, action="fraud.watch_add", obj=entry, after=snapshot(entry))
    return entry


@transaction.atomic
def watchlist_remove(*, actor: User | None, entry_id: int) -> None:
    entry = WatchListEntry.objects.select_for_update().get(pk=entry_id)
    before = snapshot(entry)
    entry.active = False
    entry.save(update_fields=["active"])
    audit_record(actor=actor, action="fraud.watch_remove", obj=entry, before=before, after=snapshot(entry))


def links_record(*, claim: Claim, found: list[Entity], new: bool = False) -> None:
    """Keep a claim's entries in the link index equal to its entities (derived data, not audited:
    it is recomputed from the claim). Runs inside the claim's transaction, from the claim-change
    tracker, without a savepoint of its own (the report path is counted statement by statement).
    `new`: the claim was just reported and has no entries yet."""
    wanted = {(e.kind, e.key) for e in found}
    have: set[tuple[str, str]] = set()
    if not new:
        have = set(LinkKey.objects.filter(claim_id=claim.pk).values_list("kind", "key"))
    stale = have - wanted
    if stale:
        match = Q()
        for kind, key in stale:
            match |= Q(kind=kind, key=key)
        LinkKey.objects.filter(match, claim_id=claim.pk).delete()
    if wanted - have:
        keys = [
            LinkKey(claim_id=claim.pk, claimant_id=claim.claimant_id, kind=kind, key=key, at=claim.reported_at)
            for kind, key in sorted(wanted - have)
        ]
        if new:
            rows.insert_many(keys)  # the report path: a statement built once (core.rows)
        else:
            LinkKey.objects.bulk_create(keys, ignore_conflicts=True)


@transaction.atomic
def ring_alerts_raise(*, actor: User | None, claim: Claim, rings: list[Ring]) -> list[RingAlert]:
    """Raise or update one alert per ring the claim is in: unique per kind and entity, so raising
    again only brings the counts, the last report and the claims listed up to date. A ring that
    forms, or whose weight grows with its claimants, rescores its other open claims after the
    commit (`ring_claims_rescore`); past the weight's cap more claims change no score, so a large
    ring costs at most a handful of such jobs."""
    now = timezone.now()
    alerts: list[RingAlert] = []
    for ring in rings:
        alert = RingAlert.objects.select_for_update().filter(kind=ring.kind, key=ring.key).first()
        before = snapshot(alert) if alert is not None else None
        grown = before is None
        if alert is None:
            try:
                with transaction.atomic():
                    alert = RingAlert.objects.create(
                        kind=ring.kind,
                        key=ring.key,
                        entity=ring.entity,
                        claimants=ring.claimants,
                        claim_count=ring.claims,
                        first_seen=ring.first_seen,
                        last_seen=ring.last_seen,
                        raised_at=now,
                        updated_at=now,
                    )
            except IntegrityError:  # raised at the same moment by another claim of the ring
                alert = RingAlert.objects.select_for_update().get(kind=ring.kind, key=ring.key)
                before = snapshot(alert)
        if before is not None:
            changed = (alert.claimants, alert.claim_count) != (ring.claimants, ring.claims) or (
                alert.last_seen < ring.last_seen or alert.first_seen > ring.first_seen
            )
            if not changed and alert.claims.filter(pk=claim.pk).exists():
                alerts.append(alert)
                continue
            grown = ring.weight > ring_weight(alert.kind, alert.claimants)
            alert.claimants, alert.claim_count = ring.claimants, ring.claims
            alert.first_seen = min(alert.first_seen, ring.first_seen)
            alert.last_seen = max(alert.last_seen, ring.last_seen)
            alert.updated_at = now
            alert.save(update_fields=["claimants", "claim_count", "first_seen", "last_seen", "updated_at"])
        members = list(
            LinkKey.objects.filter(kind=ring.kind, key=ring.key)
            .order_by("at", "claim_id")
            .values_list("claim_id", flat=True)[:RING_CLAIMS_KEPT]
        )
        alert.claims.add(claim.pk, *members)
        audit_record(
            actor=actor,
            action="fraud.ring_raise" if before is None else "fraud.ring_update",
            obj=alert,
            before=before,
            after=snapshot(alert),
        )
        if grown:
            _rescore_after_commit(alert.pk)
        alerts.append(alert)
    return alerts


# --- rescoring a ring's earlier claims ----------------------------------------------------------------

CLOSED_STATUSES = (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN)


def _rescore_enqueue(alert_id: int) -> None:
    from claimwise.fraud.tasks import ring_rescore_task

    ring_rescore_task(alert_id)


def _rescore_after_commit(alert_id: int) -> None:
    """Queue the rescoring once the ring's alert is committed (a ring grows at most once per claim
    change; a second job for the same ring finds nothing stale). Robust: a queue that is down must
    not fail the report whose data is already committed."""
    transaction.on_commit(partial(_rescore_enqueue, alert_id), robust=True)


def ring_claims_rescore(alert_id: int) -> int:
    """Rescore the open claims of a ring that formed or grew: they were scored before, so their
    network part (and their score) is stale. The most recent RING_CLAIMS_KEPT open claims, each in
    its own transaction under its row lock. Idempotent: a claim whose latest assessment already
    holds the rings it is in now is left alone, so a rerun (a retry, a second job for the same
    ring) writes nothing. Returns the number of claims rescored."""
    alert = RingAlert.objects.filter(pk=alert_id).values_list("kind", "key").first()
    if alert is None:
        return 0
    kind, key = alert
    ids = list(
        Claim.objects.filter(link_keys__kind=kind, link_keys__key=key)
        .exclude(status__in=CLOSED_STATUSES)
        .order_by("-reported_at", "-pk")
        .values_list("pk", flat=True)[:RING_CLAIMS_KEPT]
    )
    return sum(1 for claim_id in ids if claim_ring_rescore(claim_id) is not None)


@transaction.atomic
def claim_ring_rescore(claim_id: int) -> RiskAssessment | None:
    """Score one claim again for its rings (trigger "ring") unless its latest assessment already
    holds them; a score that now reaches the SIU threshold opens a case, as at report time."""
    claim = (
        Claim.objects.select_related("policy", "coverage", "claimant")
        .select_for_update(of=("self",))
        .filter(pk=claim_id)
        .exclude(status__in=CLOSED_STATUSES)
        .first()
    )
    if claim is None:
        return None
    rings = rings_of(claim, claim_entities(claim))
    latest = RiskAssessment.objects.filter(claim=claim).order_by("-at", "-pk").values_list("components", flat=True)
    components = latest.first()
    if components is not None and (components.get("network") or {}).get("rings") == [r.as_json() for r in rings]:
        return None  # scored with these rings already
    assessment = claim_score(claim, trigger="ring", at=timezone.now(), rings=rings)
    if assessment is not None:
        case_auto_open(claim)
        log.info("claim %s rescored for its rings: %s", claim.pk, assessment.score)
    return assessment
