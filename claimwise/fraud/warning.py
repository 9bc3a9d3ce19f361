"""Early warning (T2, T7): each day, claim frequency and average severity per line of business, per
region, per provider (hospital) and per repair shop are compared with control limits learned from
the weeks before; a value above its limit raises an alert with the history (for the chart) and the
claims behind it. A declared catastrophe (typhoon, flood) covering the day marks its surge as
expected rather than suspicious; for a partner, when it covers most of the partner's claims of the
day (their region and line). A partner's claims are the ones shared with it (`ClaimShare`).

Frequency: the daily count is Poisson; the expected count is an EWMA of the history (recent days
weigh more, a trend is followed) and the upper limit is the count above which a Poisson variable
with that mean falls with probability under 0.1 % (exact tail, not the normal approximation, so
small counts are judged right). Severity: the day's mean amount against the history's mean plus
three standard errors for that day's number of claims (at least `MIN_CLAIMS` of them)."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.choices import PartnerKind
from claimwise.accounts.models import User
from claimwise.claims.models import Claim, ClaimShare
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.errors import ValidationFailed
from claimwise.fraud.choices import CatastropheKind, Dimension, Measure
from claimwise.fraud.models import CatastropheEvent, WarningAlert

HISTORY_DAYS = 56  # eight weeks of daily values learn the limits
EWMA_WEIGHT = 0.2
TAIL = 0.001  # a frequency this unlikely under the expected rate is an alert
MIN_CLAIMS = 3  # severity is judged on at least this many claims of the day
MIN_HISTORY_DAYS = 14
MAX_CLAIMS_KEPT = 500


def ewma(values: list[float], weight: float = EWMA_WEIGHT) -> float:
    level = values[0]
    for value in values[1:]:
        level = weight * value + (1 - weight) * level
    return level


def poisson_upper(mean: float, tail: float = TAIL) -> int:
    """The smallest k with P(X > k) < tail for X ~ Poisson(mean)."""
    mean = max(mean, 0.05)
    k, term = 0, math.exp(-mean)
    cumulative = term
    while 1 - cumulative >= tail:
        k += 1
        term *= mean / k
        cumulative += term
    return k


# The partner dimensions and the partner kinds they follow.
PARTNER_DIMENSIONS: dict[str, tuple[str, ...]] = {
    Dimension.PROVIDER: (PartnerKind.HOSPITAL,),
    Dimension.REPAIR_SHOP: (PartnerKind.REPAIR_SHOP,),
}
DIMENSIONS = (Dimension.LINE, Dimension.REGION, *PARTNER_DIMENSIONS)


@dataclass
class Series:
    counts: dict[dt.date, int]
    amounts: dict[dt.date, list[float]]
    label: str = ""  # a partner's name
    places: list[tuple[str, str]] | None = None  # a partner's claims of the day: (region, line)


def _window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(day - dt.timedelta(days=HISTORY_DAYS), dt.time()), tz)
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), tz)
    return start, end


def _series(day: dt.date, dimension: str) -> dict[str, Series]:
    """Per key (a line, a region, a partner's code): claims reported on each day of the history and
    on `day`. One query over the window (reported_at is indexed)."""
    if dimension in PARTNER_DIMENSIONS:
        return _partner_series(day, dimension)
    tz = timezone.get_current_timezone()
    start, end = _window(day)
    field = "line" if dimension == Dimension.LINE else "branch__region"
    rows = (
        Claim.objects.filter(reported_at__gte=start, reported_at__lt=end)
        .values_list(field, "reported_at", "claimed_amount")
        .iterator(chunk_size=5000)
    )
    out: dict[str, Series] = defaultdict(lambda: Series(defaultdict(int), defaultdict(list)))
    for key, reported_at, amount in rows:
        if not key:
            continue
        local = timezone.localtime(reported_at, tz).date()
        series = out[key]
        series.counts[local] += 1
        series.amounts[local].append(float(amount))
    return out


def _partner_series(day: dt.date, dimension: str) -> dict[str, Series]:
    """Per partner of the dimension's kinds (key: its code): the claims shared with it, by the day
    they were reported, and the region and line of the day's claims (for declared catastrophes)."""
    tz = timezone.get_current_timezone()
    start, end = _window(day)
    rows = (
        ClaimShare.objects.filter(
            partner__kind__in=PARTNER_DIMENSIONS[dimension], claim__reported_at__gte=start, claim__reported_at__lt=end
        )
        .values_list(
            "partner__code",
            "partner__name",
            "claim__reported_at",
            "claim__claimed_amount",
            "claim__branch__region",
            "claim__line",
        )
        .iterator(chunk_size=5000)
    )
    out: dict[str, Series] = {}
    for code, name, reported_at, amount, region, line in rows:
        series = out.get(code)
        if series is None:
            series = out[code] = Series(defaultdict(int), defaultdict(list), name, [])
        local = timezone.localtime(reported_at, tz).date()
        series.counts[local] += 1
        series.amounts[local].append(float(amount))
        if local == day and series.places is not None:
            series.places.append((region or "", line))
    return out


@dataclass(frozen=True)
class Finding:
    measure: str
    dimension: str
    key: str
    value: float
    expected: float
    upper: float
    history: list[tuple[str, float]]
    label: str = ""
    places: list[tuple[str, str]] | None = None


def findings(day: dt.date) -> list[Finding]:
    """Every line, region, provider and repair shop whose frequency or severity on `day` is above
    its control limit."""
    found: list[Finding] = []
    history_days = [day - dt.timedelta(days=i) for i in range(HISTORY_DAYS, 0, -1)]
    for dimension in DIMENSIONS:
        for key, series in _series(day, dimension).items():
            counts = [series.counts.get(d, 0) for d in history_days]
            active = sum(1 for c in counts if c)
            if active < MIN_HISTORY_DAYS // 2 and sum(counts) < MIN_HISTORY_DAYS:
                continue  # too little history to know what is normal
            today = series.counts.get(day, 0)
            expected = ewma([float(c) for c in counts])
            upper = float(poisson_upper(expected))
            chart = [(d.isoformat(), float(series.counts.get(d, 0))) for d in [*history_days, day]]
            if today > upper:
                found.append(
                    Finding(
                        Measure.FREQUENCY, dimension, key, today, expected, upper, chart, series.label, series.places
                    )
                )
            amounts = series.amounts.get(day, [])
            past = [a for d in history_days for a in series.amounts.get(d, [])]
            if len(amounts) >= MIN_CLAIMS and len(past) >= MIN_HISTORY_DAYS:
                mean = sum(past) / len(past)
                sd = math.sqrt(sum((a - mean) ** 2 for a in past) / (len(past) - 1))
                limit = mean + 3 * sd / math.sqrt(len(amounts))
                average = sum(amounts) / len(amounts)
                if average > limit:
                    daily = [
                        (d.isoformat(), sum(v) / len(v) if (v := series.amounts.get(d)) else 0.0)
                        for d in [*history_days, day]
                    ]
                    found.append(
                        Finding(
                            Measure.SEVERITY, dimension, key, average, mean, limit, daily, series.label, series.places
                        )
                    )
    return found


def _claims_behind(day: dt.date, dimension: str, key: str) -> list[int]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time()), tz)
    if dimension == Dimension.LINE:
        field = Q(line=key)
    elif dimension == Dimension.REGION:
        field = Q(branch__region=key)
    else:
        field = Q(pk__in=ClaimShare.objects.filter(partner__code=key).values("claim_id"))
    qs = Claim.objects.filter(field, reported_at__gte=start, reported_at__lt=start + dt.timedelta(days=1))
    return list(qs.order_by("-claimed_amount", "pk").values_list("pk", flat=True)[:MAX_CLAIMS_KEPT])


def _places(claim_ids: list[int]) -> list[tuple[str, str]]:
    """The (region, line) of an alert's claims: how a catastrophe declared later judges a partner."""
    rows = Claim.objects.filter(pk__in=claim_ids).values_list("branch__region", "line")
    return [(region or "", line) for region, line in rows]


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


@transaction.atomic
def early_warning_run(*, day: dt.date | None = None) -> list[WarningAlert]:
    """The daily job (idempotent: run again for the same day, it updates the same alerts)."""
    day = day or timezone.localdate() - dt.timedelta(days=1)
    now = timezone.now()
    events = list(CatastropheEvent.objects.filter(starts_on__lte=day, ends_on__gte=day))
    alerts = []
    for f in findings(day):
        catastrophe = next((e for e in events if e.covers(day, f.dimension, f.key, f.places)), None)
        alert, created = WarningAlert.objects.update_or_create(
            day=day,
            measure=f.measure,
            dimension=f.dimension,
            key=f.key,
            defaults={
                "value": _money(f.value),
                "expected_value": _money(f.expected),
                "upper_limit": _money(f.upper),
                "label": f.label,
                "history": f.history,
                "claim_ids": _claims_behind(day, f.dimension, f.key),
                "expected": catastrophe is not None,
                "catastrophe": catastrophe,
                "created_at": now,
            },
        )
        if created:
            audit_record(actor=None, action="fraud.early_warning", obj=alert, after=snapshot(alert))
        alerts.append(alert)
    return alerts


@transaction.atomic
def catastrophe_declare(
    *,
    actor: User | None,
    name: str,
    kind: str,
    starts_on: dt.date,
    ends_on: dt.date,
    region: str = "",
    lines: list[str] | None = None,
) -> CatastropheEvent:
    """Declare a catastrophe; alerts already raised inside it are marked expected."""
    problems: dict[str, str] = {}
    if not name.strip():
        problems["name"] = _("Name the event.")
    if kind not in CatastropheKind.values:
        problems["kind"] = _("Choose what kind of event it is.")
    if ends_on < starts_on:
        problems["ends_on"] = _("The end is before the start.")
    if problems:
        raise ValidationFailed(problems)
    event = CatastropheEvent.objects.create(
        name=name.strip(),
        kind=kind,
        region=region.strip(),
        lines=list(lines or []),
        starts_on=starts_on,
        ends_on=ends_on,
        declared_by=actor,
        declared_at=timezone.now(),
    )
    for alert in WarningAlert.objects.filter(day__gte=starts_on, day__lte=ends_on, expected=False):
        places = _places(alert.claim_ids) if alert.dimension in PARTNER_DIMENSIONS else None
        if event.covers(alert.day, alert.dimension, alert.key, places):
            alert.expected, alert.catastrophe = True, event
            alert.save(update_fields=["expected", "catastrophe"])
    audit_record(actor=actor, action="fraud.catastrophe_declare", obj=event, after=snapshot(event))
    return event


def suspicious_alerts(*, since: dt.date | None = None) -> Any:
    """The alerts to look into: above the limit and not explained by a declared catastrophe."""
    qs = WarningAlert.objects.filter(expected=False)
    return qs.filter(day__gte=since) if since else qs
