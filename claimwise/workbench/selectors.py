"""Reads of the staff workbench: the work queues (sorted by urgency), search, saved views, lock-out state."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import phonenumbers
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum, TextChoices, Value
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice
from stdnum.cn import ric

from claimwise.accounts.choices import STAFF_ROLES, Role
from claimwise.accounts.models import Team, User
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.claims.selectors import claim_get, claim_queryset, claim_timeline
from claimwise.core.crypto import keyed_hash
from claimwise.core.errors import NotFound
from claimwise.core.money import to_money
from claimwise.fraud.models import RiskAssessment
from claimwise.notifications.selectors import messages_about
from claimwise.process.authority import authority_for
from claimwise.process.choices import Urgency
from claimwise.process.clocks import claim_clock_views
from claimwise.process.materials import materials_checklist
from claimwise.process.models import ProcessStep, StaffAlert, localized
from claimwise.process.stepchecks import current_step, step_checklist
from claimwise.process.svg import claim_map_svg
from claimwise.workbench.models import SavedView, SignInThrottle
from claimwise.workbench.services import throttle_key

PAGE_SIZE = 50
# Up to this many matching claims, a queue page sorts them rather than walking the stored order.
SORT_MATCHES_UP_TO = 2000
# Closed and withdrawn claims need no more work; denied and paid ones still do (notice, callback, close).
DONE = (ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN)
# Roles that see the whole queue of their scope (branch and lines, or everything), not only their own.
TEAM_QUEUE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.COMPLIANCE, Role.AUDITOR})
CLAIM_NUMBER = re.compile(r"^[A-Z]{2}\d{0,16}$")
# A licence plate or the start of one: a province's character and a letter, then letters and digits.
PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{0,6}$")


class RiskBand(TextChoices):
    HIGH = "high", gettext_lazy("High (0.7 and above)")
    MEDIUM = "medium", gettext_lazy("Medium (0.4 to 0.7)")
    LOW = "low", gettext_lazy("Low (below 0.4)")
    UNSCORED = "unscored", gettext_lazy("Not scored yet")


# Bands of Claim.risk_score, the fraud score (0–1) the risk scoring writes on each claim.
RISK_BANDS: dict[str, Q] = {
    RiskBand.HIGH: Q(risk_score__gte=Decimal("0.7")),
    RiskBand.MEDIUM: Q(risk_score__gte=Decimal("0.4"), risk_score__lt=Decimal("0.7")),
    RiskBand.LOW: Q(risk_score__lt=Decimal("0.4")),
    RiskBand.UNSCORED: Q(risk_score__isnull=True),
}


def is_staff(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in STAFF_ROLES)


def lockout_until(username: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the username's lock-out ends, or None when it may try."""
    now = now or timezone.now()
    until = SignInThrottle.objects.filter(key=throttle_key(username)).values_list("locked_until", flat=True).first()
    return until if until is not None and until > now else None


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def unconfirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def queue_tabs(user: User) -> list[str]:
    tabs = []
    if user.role not in (Role.COMPLIANCE, Role.AUDITOR):
        tabs.append("mine")
    if user.role in TEAM_QUEUE_ROLES:
        tabs.append("team")
    return tabs


@dataclass(frozen=True)
class QueueFilters:
    tab: str = "mine"
    status: str = ""
    line: str = ""
    priority: str = ""
    risk: str = ""
    team: int | None = None
    q: str = ""
    step: str = ""  # a process step key (the supervisor view's click-through)
    handler: str = ""  # a handler's id, or "none" for the unassigned pool

    def as_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


def _mine(user: User) -> Q:
    """A handler's own work: claims assigned to them, and unassigned ones of their team or not yet
    routed to any team (new reports: whoever registers one takes it). A reviewer's: claims waiting
    for approval in their scope and any assigned to them. Anyone else: claims assigned to them."""
    if user.role == Role.HANDLER:
        teams = Q(team__isnull=True) | Q(team_id=user.team_id) if user.team_id else Q(team__isnull=True)
        return Q(handler_id=user.pk) | (Q(handler__isnull=True) & teams)
    if user.role == Role.REVIEWER:
        return Q(status=ClaimStatus.PENDING_APPROVAL) | Q(handler_id=user.pk)
    return Q(handler_id=user.pk)


def search_q(term: str) -> Q | None:
    """One search box: an 18-character resident ID number (exact, by its keyed hash: the number is
    stored encrypted), a mobile number (normalised to E.164), a claim number prefix, a licence plate
    or the start of the claimant's name."""
    term = term.strip()
    if not term:
        return None
    compact = re.sub(r"[\s-]", "", term).upper()
    if len(compact) == 18 and ric.is_valid(compact):
        return Q(claimant__id_hash=keyed_hash(compact))
    if re.fullmatch(r"\+?[\d ()-]{7,20}", term):
        try:
            number = phonenumbers.parse(term, "CN")
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_valid_number(number):
            return Q(claimant__phone=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if CLAIM_NUMBER.match(compact) and len(compact) >= 4:
        return Q(number__startswith=compact)
    if PLATE.match(compact):  # 京A12345: no name has a Latin letter after its first character
        return Q(policy__vehicle_plate=compact)
    return Q(claimant__name__startswith=term)


def queue_filtered(user: User, filters: QueueFilters) -> QuerySet[Claim]:
    """Open claims of the tab in the user's scope that match the filters and the search (unordered;
    what the page counts, from the partial index over open claims)."""
    return _queue_scope(user, filters).exclude(status__in=DONE)


def _queue_scope(user: User, filters: QueueFilters) -> QuerySet[Claim]:
    """Claims of the tab in the user's scope that match the filters and the search, open or not."""
    qs = claim_queryset(user)
    if filters.tab != "team" or user.role not in TEAM_QUEUE_ROLES:
        qs = qs.filter(_mine(user))
    elif filters.team:
        qs = qs.filter(team_id=filters.team)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.line:
        qs = qs.filter(line=filters.line)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.risk in RISK_BANDS:
        qs = qs.filter(RISK_BANDS[filters.risk])
    if filters.step:
        qs = qs.filter(process__step_key=filters.step)
    if filters.handler == "none":
        qs = qs.filter(handler__isnull=True)
    elif filters.handler.isdigit():
        qs = qs.filter(handler_id=int(filters.handler))
    found = search_q(filters.q)
    return qs if found is None else qs.filter(found)


def queue_claims(user: User, filters: QueueFilters, *, matches: int | None = None) -> QuerySet[Claim]:
    """The queue, most urgent first: breached, at risk, on time, none; within each by the nearest
    deadline, then by id — the stored `ClaimProcess.queue_rank` (None once closed or withdrawn),
    `next_due_at` and the claim, in the order of their partial index (decision 22), so a page of a
    branch-wide queue reads its 50 rows from the index instead of sorting every open claim.

    A rank says the claim is open, so walking the order needs no test of the claim's state: with one,
    the planner multiplied the two (8 % of claims open, 8 % ranked) into a twelfth of the true
    count, and deeper pages switched to joining and sorting the whole branch (190 ms for page 20).

    With few `matches` (the page's count), the same order is asked as an expression no index
    serves: the database then finds the matching open claims through their own indexes (the open
    claims' partial index) and sorts them, where walking the stored order would visit every open
    claim to find a handful (a filter matching little)."""
    rank: Any = F("process__queue_rank")
    qs = _queue_scope(user, filters)
    if matches is not None and matches <= SORT_MATCHES_UP_TO:
        rank = rank + Value(0)
        qs = qs.exclude(status__in=DONE)
    return (
        qs.filter(process__queue_rank__isnull=False)
        .select_related("claimant", "process")
        .order_by(rank.asc(), F("process__next_due_at").asc(nulls_last=True), "pk")
    )


@dataclass
class QueueRow:
    claim: Claim
    urgency: str
    urgency_label: str
    time_left: str
    step: str


@dataclass
class QueuePage:
    rows: list[QueueRow]
    number: int
    has_next: bool
    has_previous: bool
    total: int
    pages: int = field(default=1)


def time_left_label(due: dt.datetime, now: dt.datetime) -> str:
    """'2 d 4 h' left, or '3 h 10 min overdue'."""
    delta = due - now
    seconds = abs(int(delta.total_seconds()))
    days, hours = seconds // 86400, seconds % 86400 // 3600
    if days:
        text = _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    else:
        text = _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": seconds % 3600 // 60}
    return text if delta >= dt.timedelta(0) else _("%(time)s overdue") % {"time": text}


@contextlib.contextmanager
def planned_with_their_values() -> Iterator[None]:
    """The queue's statements are planned with the values they carry, every time. A statement that
    psycopg prepares (settings: `prepare_threshold`) gets, after a few runs, PostgreSQL's generic
    plan, made once for any values; the queue's filters and searches are too uneven for that (a
    risk band nobody is in was estimated at a third of the branch and hash-joined with every process
    row and customer: 280 ms instead of 13). Planning costs well under a millisecond here."""
    raw = connection.connection if connection.vendor == "postgresql" else None
    if raw is None or not hasattr(raw, "prepare_threshold"):
        yield
        return
    threshold = raw.prepare_threshold
    raw.prepare_threshold = None  # psycopg: never prepare, the server plans each execution
    try:
        yield
    finally:
        raw.prepare_threshold = threshold


def queue_page(user: User, filters: QueueFilters, page: int = 1, now: dt.datetime | None = None) -> QueuePage:
    """One page of the queue in a fixed number of queries: count, rows (claim, claimant and process
    joined), and the names of the steps on the page."""
    now = now or timezone.now()
    connection.ensure_connection()
    with planned_with_their_values():
        total = queue_filtered(user, filters).count()  # an index-only scan of the open claims in scope
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        qs = queue_claims(user, filters, matches=total)
        claims = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    processes = [getattr(c, "process", None) for c in claims]
    keys = {(p.definition_id, p.step_key) for p in processes if p is not None and p.step_key}
    steps: dict[tuple[int | None, str], str] = {}
    if keys:
        found = ProcessStep.objects.filter(
            definition_id__in={d for d, _k in keys}, key__in={k for _d, k in keys}
        ).values_list("definition_id", "key", "name", "name_en")
        steps = {(d, k): localized(n, e) for d, k, n, e in found}
    labels = dict(Urgency.choices)
    rows = []
    for claim, process in zip(claims, processes, strict=True):
        due = process.next_due_at if process is not None else None
        urgency = process.urgency if process is not None else Urgency.NONE
        if due is not None and due < now:
            urgency = Urgency.BREACHED  # the 5-minute job may not have marked it yet
        rows.append(
            QueueRow(
                claim=claim,
                urgency=urgency,
                urgency_label=str(labels[urgency]),
                time_left=time_left_label(due, now) if due is not None else "",
                step=steps.get((process.definition_id, process.step_key), process.step_key) if process else "",
            )
        )
    return QueuePage(rows, page, page < pages, page > 1, total, pages)


def saved_views(user: User) -> list[SavedView]:
    return list(SavedView.objects.filter(user=user).order_by("name"))


def team_choices(user: User) -> list[tuple[int, str]]:
    qs = Team.objects.order_by("code")
    if user.branch_id is not None:
        qs = qs.filter(branch_id=user.branch_id)
    return list(qs.values_list("pk", "name"))


def claim_page(user: User, claim_id: int) -> dict[str, Any]:
    """What the claim page shows; NotFound outside the user's scope (ids reveal nothing)."""
    claim = claim_get(claim_id, user=user)
    coverage = claim.coverage
    remaining = None
    if coverage is not None:
        ceiling = min(coverage.limit - coverage.deductible, claim.policy.sum_insured)
        paid = Claim.objects.filter(policy_id=claim.policy_id, coverage_id=coverage.pk).aggregate(s=Sum("paid_amount"))
        remaining = to_money(max(ceiling - (paid["s"] or Decimal(0)), Decimal(0)))  # SQLite sums are floats
    try:
        process_map = mark_safe(claim_map_svg(claim, customer=False))  # noqa: S308  (our own escaped SVG)
    except NotFound:
        process_map = None
    step = current_step(claim)
    deciding = claim.status == ClaimStatus.PENDING_APPROVAL and user.role in (
        Role.HANDLER,
        Role.REVIEWER,
        Role.SUPERVISOR,
    )
    authority = authority_for(user, claim) if deciding else None
    documents = list(claim.documents.all())
    checklist = step_checklist(claim, step) if step is not None else []
    timeline = list(claim_timeline(claim, user=user))
    open_checks = sum(1 for item in checklist if item["confirmed_by"] is None)
    risk = risk_view(claim)
    return {
        "claim": claim,
        "remaining": remaining,
        "process_map": process_map,
        "clocks": claim_clock_views(claim),
        "materials": materials_checklist(claim, documents=tuple({d.doc_type for d in documents})),
        "step": step,
        "checklist": checklist,
        "documents": documents,
        "timeline": timeline,
        "notes": [e for e in timeline if e.kind == "note"],
        "thread": list(claim.messages.select_related("author")),
        "notifications": list(messages_about(claim)[:50]),
        "risk": risk,
        # The picture only for a scored claim: an unscored one was never linked either.
        "links": neighbourhood(user, claim, risk["rings"], documents=documents) if risk else None,
        "open_checks": open_checks,
        "authority": authority,
        "amount": claim.assessed_amount or claim.claimed_amount,
        "decisions": list(claim.decisions.all()),
        "payments": list(claim.payments.all()),
    }


def risk_view(claim: Claim) -> dict[str, Any] | None:
    """The claim's latest fraud risk assessment with its reasons in the reader's language, and the
    rings it is in (two queries, only for a scored claim)."""
    assessment = RiskAssessment.objects.filter(claim_id=claim.pk).order_by("-at", "-pk").first()
    if assessment is None:
        return None
    language = "en" if (translation.get_language() or "").startswith("en") else "zh-hans"
    reasons = [
        r.get("text", {}).get(language) or next(iter(r.get("text", {}).values()), "") for r in assessment.reasons
    ]
    rings = list(claim.ring_alerts.order_by("-claimants", "kind"))  # the rings found by link analysis
    return {"assessment": assessment, "reasons": [r for r in reasons if r], "rings": rings}


def alerts_for(user: User, *, limit: int = 20) -> list[Any]:
    """Unread deadline warnings, breaches and escalations for this user: addressed to them, or to
    their role on a claim in their scope."""
    mine = Q(recipient_id=user.pk) | (
        Q(recipient__isnull=True, recipient_role=user.role) & Q(claim__in=claim_queryset(user))
    )
    return list(StaffAlert.objects.filter(mine, read_at__isnull=True).select_related("claim")[:limit])


@dataclass(frozen=True)
class HandlerChoice:
    pk: int
    display: str
    team_name: str
    open: int
    available: bool


def assignable_handlers(claim: Claim) -> list[HandlerChoice]:
    """Active handlers who may take the claim (its branch, or any branch), with their open claims,
    the least loaded present ones first; one query."""
    rows = (
        User.objects.filter(role=Role.HANDLER, is_active=True)
        .filter(Q(branch_id=claim.branch_id) | Q(branch__isnull=True))
        .annotate(open=Count("handled_claims", filter=~Q(handled_claims__status__in=DONE)))
        .values_list("pk", "last_name", "first_name", "username", "team__name", "open", "is_available")
        .order_by("-is_available", "open", "pk")
    )
    return [
        HandlerChoice(pk, f"{last}{first}" or username, team or "—", n, available)
        for pk, last, first, username, team, n, available in rows
    ]


# --- the neighbourhood picture (link analysis) --------------------------------------------------------

ICONS = {  # Material Symbols ligatures (the font is served with the page); unknown kinds get "link"
    "claimant": "person",
    "phone": "call",
    "account": "account_balance",
    "plate": "directions_car",
    "address": "home",
    "document": "description",
    "partner": "handshake",
}


def kind_label(kind: str) -> str:
    from claimwise.fraud.choices import LinkKind

    if kind == "claimant":
        return _("Same claimant")
    if kind in LinkKind.values:
        return str(LinkKind(kind).label)
    return kind.replace("_", " ").capitalize()  # a kind added later, before it has a label here


def neighbourhood(user: User, claim: Claim, rings: list[Any], *, documents: list[Any] | None = None) -> dict[str, Any]:
    """The neighbourhood of a claim the user may see (the caller found it in scope) for the picture
    and its text list: the links (fraud.selectors.neighbourhood_links), their layout (fraud.graph.
    layout) and which linked claims this user may open. A constant number of queries whatever the
    size: the links' own and one for the scope. `documents`: the claim's, when already loaded."""
    from claimwise.fraud.graph import layout
    from claimwise.fraud.selectors import neighbourhood_links

    shas = None if documents is None else tuple(sorted({d.sha256 for d in documents}))
    links = neighbourhood_links(claim, documents=shas)
    ring_keys = {(r.kind, r.entity) for r in rings}
    graph = layout(links, rings=ring_keys)
    ids = {pk for link in links for pk, _n in link.claims}
    visible = set(claim_queryset(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    entities = [{"node": n, "label": kind_label(n.kind), "icon": ICONS.get(n.kind, "link")} for n in graph.entities]
    kinds = list(dict.fromkeys(n.kind for n in graph.entities))
    return {
        "claim": claim,
        "graph": graph,
        "entities": entities,
        "claims": [{"node": c, "visible": c.claim_id in visible} for c in graph.claims],
        "legend": [{"label": kind_label(k), "icon": ICONS.get(k, "link")} for k in kinds],
        "any_ring": any(n.ring for n in graph.entities),
        "rows": [
            {
                "label": kind_label(link.kind),
                "entity": link.entity,
                "ring": (link.kind, link.entity) in ring_keys,
                "claimants": link.claimants,
                "claims": [(pk, number, pk in visible) for pk, number in link.claims],
            }
            for link in links
        ],
    }


# --- early warning ------------------------------------------------------------------------------------

WARNING_ROLES = TEAM_QUEUE_ROLES  # those who watch the whole book: supervisors, compliance, audit, admin
WARNINGS_SHOWN = 50
CLAIMS_PER_ALERT = 20


def warning_alerts(user: User, *, measure: str = "", dimension: str = "") -> list[dict[str, Any]]:
    """Early-warning alerts, the suspicious ones first (newest day first), those explained by a
    declared catastrophe after them; each with its chart and the claims behind it that this user may
    open. Two queries: the alerts (with their catastrophe) and the claims of all of them together."""
    from claimwise.fraud.models import WarningAlert
    from claimwise.workbench.charts import line_chart

    qs = WarningAlert.objects.select_related("catastrophe").order_by("expected", "-day", "measure", "dimension", "key")
    if measure:
        qs = qs.filter(measure=measure)
    if dimension:
        qs = qs.filter(dimension=dimension)
    alerts = list(qs[:WARNINGS_SHOWN])
    ids = {pk for a in alerts for pk in a.claim_ids[:CLAIMS_PER_ALERT]}
    numbers = dict(claim_queryset(user).filter(pk__in=ids).values_list("pk", "number")) if ids else {}
    out = []
    for alert in alerts:
        chart = line_chart(alert.history, expected=float(alert.expected_value), limit=float(alert.upper_limit))
        behind = [(pk, numbers[pk]) for pk in alert.claim_ids[:CLAIMS_PER_ALERT] if pk in numbers]
        out.append(
            {
                "alert": alert,
                "name": _alert_name(alert),
                "chart": chart,
                "claims": behind,
                "more": len(alert.claim_ids) - len(behind),
            }
        )
    return out


def _alert_name(alert: Any) -> str:
    """What the alert is about, in words: the partner's name, the line's name, or the region."""
    from claimwise.core.choices import LineOfBusiness
    from claimwise.fraud.choices import Dimension

    if alert.label:
        return str(alert.label)
    if alert.dimension == Dimension.LINE and alert.key in LineOfBusiness.values:
        return str(LineOfBusiness(alert.key).label)
    return str(alert.key)
