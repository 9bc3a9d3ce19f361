"""Reads of the fraud app, permission-checked: staff only, and a claim's risk only within the
reader's scope (a claim out of scope is not found, so ids reveal nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from claimwise.accounts.choices import STAFF_ROLES, PartnerKind
from claimwise.accounts.models import User
from claimwise.claims.models import Claim
from claimwise.claims.selectors import claim_get, claim_queryset
from claimwise.core.errors import NotFound, PermissionDenied
from claimwise.fraud.choices import CaseOutcome, CaseStatus, LinkKind
from claimwise.fraud.links import Entity, claim_entities, claim_partners
from claimwise.fraud.models import (
    FraudModel,
    InvestigationCase,
    InvestigationNote,
    InvestigationTask,
    LinkKey,
    RedFlagRule,
    RingAlert,
    RiskAssessment,
)


def _staff(user: User) -> None:
    if user.role not in STAFF_ROLES:
        raise PermissionDenied()


def claim_risk(claim_id: int, *, user: User) -> tuple[Claim, RiskAssessment | None]:
    """A claim the user may see and its latest assessment (None while it was never scored). The scope
    first: out of scope is not found for anyone, so an id reveals nothing; in scope, staff only."""
    claim = claim_get(claim_id, user=user)
    _staff(user)
    return claim, RiskAssessment.objects.filter(claim=claim).order_by("-at", "-pk").first()


def model_list(*, user: User) -> QuerySet[FraudModel]:
    _staff(user)
    return FraudModel.objects.defer("artifact").select_related("trained_by").order_by("-version")


def rule_list(*, user: User) -> QuerySet[RedFlagRule]:
    _staff(user)
    return RedFlagRule.objects.order_by("position", "code")


# --- the investigation queue (SIU) ------------------------------------------------------------------


def _cases(user: User) -> QuerySet[InvestigationCase]:
    return InvestigationCase.objects.filter(claim__in=claim_queryset(user).values("pk"))


def case_queue(*, user: User) -> QuerySet[InvestigationCase]:
    """The open investigations of the claims in the user's scope, the most urgent first: the
    earliest due, then the highest score at opening. Staff only."""
    _staff(user)
    return (
        _cases(user)
        .filter(status=CaseStatus.OPEN)
        .select_related("claim", "assignee", "opened_by")
        .order_by("due_at", "-score_at_opening", "pk")
    )


def case_get(case_id: int, *, user: User) -> InvestigationCase:
    """One case with its tasks and notes, when its claim is in the user's scope (else not found,
    for anyone: ids reveal nothing); in scope, staff only."""
    case = (
        _cases(user)
        .select_related("claim", "assignee", "opened_by", "closed_by")
        .prefetch_related(
            Prefetch("tasks", queryset=InvestigationTask.objects.select_related("assignee", "done_by")),
            Prefetch("notes", queryset=InvestigationNote.objects.select_related("author")),
        )
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound()
    _staff(user)
    return case


LABELS: dict[str, int] = {CaseOutcome.CONFIRMED_FRAUD: 1, CaseOutcome.NOT_FRAUD: 0}


def training_labels() -> list[tuple[int, int]]:
    """(claim id, label) from closed investigations for the model pipeline: confirmed fraud 1, not
    fraud 0; inconclusive cases teach nothing and are left out. A claim investigated more than once
    takes the outcome of its last closed case. A system read (no user): labels leave the platform
    only through training."""
    rows = (
        InvestigationCase.objects.filter(status=CaseStatus.CLOSED)
        .order_by("claim_id", "closed_at", "pk")
        .values_list("claim_id", "outcome")
    )
    last: dict[int, str] = {}
    for claim_id, outcome in rows:
        last[claim_id] = outcome
    return [(claim_id, LABELS[o]) for claim_id, o in sorted(last.items()) if o in LABELS]


NEIGHBOURS_SHOWN = 50  # linked claims listed per entity; the counts are exact


@dataclass(frozen=True)
class Link:
    """One entity of a claim and the other claims that share it."""

    kind: str  # "claimant" or a LinkKind
    entity: str  # masked; a partner's name
    claims: list[tuple[int, str]]  # (id, number) of the other claims, oldest first, up to NEIGHBOURS_SHOWN
    claimants: int  # distinct claimants of those claims
    detail: str = ""  # a partner's kind, in the reader's language (hospital, repair shop, …)


def claim_links(claim_id: int, *, user: User) -> tuple[Claim, list[Link]]:
    """A claim's neighbourhood in the link graph (staff, within scope): its claimant's other claims
    and, per shared entity (partners included: kind "partner", the name, `detail` its kind), other
    claimants' claims holding it. Indexed look-ups only: the claimant's claims
    by `claimant_id`, the entities' claims by the link index (kind, key)."""
    claim, _ = claim_risk(claim_id, user=user)
    return claim, neighbourhood_links(claim)


def neighbourhood_links(claim: Claim, *, documents: tuple[str, ...] | None = None) -> list[Link]:
    """`claim_links` for a claim the caller has already found in the user's scope (the workbench's
    claim and case pages), with its documents' SHA-256 when the caller has them in hand."""
    links: list[Link] = []
    own = list(
        Claim.objects.filter(claimant_id=claim.claimant_id)
        .exclude(pk=claim.pk)
        .order_by("reported_at", "pk")
        .values_list("pk", "number")[:NEIGHBOURS_SHOWN]
    )
    if own:
        links.append(Link("claimant", claim.claimant.name, [(pk, number or "") for pk, number in own], 1))
    entities = claim_entities(claim, documents=documents, partners=claim_partners(claim.pk))
    found = {(e.kind, e.key): e for e in entities if e.kind != LinkKind.PARTNER}
    partners = [e for e in entities if e.kind == LinkKind.PARTNER]
    links += _links_of(claim, found)
    links += _partner_links(claim, partners)
    return links


def _links_of(claim: Claim, found: dict[tuple[str, str], Entity]) -> list[Link]:
    links: list[Link] = []
    if not found:
        return links
    match = Q()
    for kind, key in found:
        match |= Q(kind=kind, key=key)
    per: dict[tuple[str, str], list[tuple[int, str, int]]] = {}
    rows = (
        LinkKey.objects.filter(match)
        .exclude(claimant_id=claim.claimant_id)  # the claimant's own claims are listed once, above
        .order_by("kind", "key", "at", "claim_id")
        .values_list("kind", "key", "claim_id", "claim__number", "claimant_id")
    )
    for kind, key, other, number, claimant in rows[: NEIGHBOURS_SHOWN * len(found)]:
        per.setdefault((kind, key), []).append((other, number or "", claimant))
    for (kind, key), entity in found.items():
        shared = per.get((kind, key))
        if shared:
            links.append(
                Link(
                    kind,
                    entity.shown,
                    [(pk, number) for pk, number, _c in shared[:NEIGHBOURS_SHOWN]],
                    len({c for _p, _n, c in shared}),
                )
            )
    return links


def _partner_links(claim: Claim, partners: list[Entity]) -> list[Link]:
    """The other claimants' claims shared with the same partners. One look-up per partner (a claim
    has one or two): a hospital's thousands of claims must not crowd the other entities out of a
    shared limit, and its claimants are counted exactly from the index, not from the rows shown."""
    links: list[Link] = []
    kinds = dict(PartnerKind.choices)
    for entity in partners:
        others = LinkKey.objects.filter(kind=LinkKind.PARTNER, key=entity.key).exclude(claimant_id=claim.claimant_id)
        shown = list(others.order_by("at", "claim_id").values_list("claim_id", "claim__number")[:NEIGHBOURS_SHOWN])
        if not shown:
            continue
        claimants = others.aggregate(n=Count("claimant_id", distinct=True))["n"]
        links.append(
            Link(
                LinkKind.PARTNER,
                entity.shown,
                [(pk, number or "") for pk, number in shown],
                claimants,
                str(kinds.get(entity.detail, entity.detail)),
            )
        )
    return links


def ring_alert_list(*, user: User, claim_id: int | None = None) -> QuerySet[RingAlert]:
    """Ring alerts, newest change first; with `claim_id`, the rings that claim is in (in scope)."""
    _staff(user)
    alerts = RingAlert.objects.order_by("-updated_at", "-pk")
    if claim_id is not None:
        claim, _ = claim_risk(claim_id, user=user)
        alerts = alerts.filter(claims=claim)
    return alerts
