"""The platform model (issue 6, item 2): learnt from the platform's own claims, labelled by closed
investigations, validated forward in time, registered only when it beats the active one.

- Features: the facts in `scoring.PLATFORM_FEATURES`, as they were known at report time (the
  amount is the claimed amount, never the assessed one written later; no documents), through the
  very `fraud_facts` that scores a claim, so training and scoring read the same numbers.
- Labels: `selectors.training_labels()` (confirmed fraud 1, not fraud 0). Investigated claims were
  chosen for being suspicious, so they alone are a biased sample of the claims the model scores; a
  deterministic sample of claims paid and closed long ago with no investigation at all is added as
  presumed negatives (training only, never validated on; decision 25-platform in docs/decisions.md).
- Validation: rolling origin. The labelled claims, ordered by report time, are cut into `folds + 1`
  consecutive periods; fold i trains on every row reported before period i begins and validates on
  the labelled claims of period i. No claim from the future is ever in a training set.
- Promotion: through `registry.model_register`. Two trainings on the same labels share a validation
  key and are compared on their stored figures; otherwise the active model is scored on the
  candidate's latest period (see `_evaluate_active`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import rule_engine
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.models import User
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.core.errors import DomainError, ErrorCode
from claimwise.fraud.choices import CaseStatus, ModelScope
from claimwise.fraud.facts import FRAUD_FACT_TYPES, fraud_facts
from claimwise.fraud.learn import INNER_FOLDS, SEED, TabularModel, metrics, time_folds
from claimwise.fraud.models import FraudModel, InvestigationCase
from claimwise.fraud.scoring import PLATFORM_FEATURES, _text
from claimwise.fraud.selectors import LABELS, training_labels
from claimwise.fraud.tabular import Column, Table

log = logging.getLogger(__name__)

FOLDS = 4  # validated periods; the first of folds + 1 periods is only ever trained on
MIN_LABELS = 40  # labelled claims (confirmed fraud + not fraud) needed to validate at all
MIN_PER_CLASS = 10  # of each class
PRESUMED_AFTER_DAYS = 180  # a claim paid and closed this long ago, never investigated: presumed honest
PRESUMED_PER_LABEL = 1.0  # at most this many presumed negatives per investigation label
CHUNK = 500  # claims read per query while building features
LABEL = "investigation_outcome"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class TooFewLabels(DomainError):
    code = ErrorCode.VALIDATION


@dataclass
class PlatformTable:
    """The training rows in report-time order: claim ids, features (as text, like a CSV row), labels."""

    table: Table
    claim_ids: list[int]
    reported_at: np.ndarray  # seconds since the epoch
    labelled: np.ndarray  # True: an investigation label; False: a presumed negative
    labels_fingerprint: str  # SHA-256 of the labelled rows only (what validation runs on)
    read_at: dt.datetime  # when the labels were read (retraining counts labels closed after it)

    @property
    def labels(self) -> int:
        return int(self.labelled.sum())

    @property
    def positives(self) -> int:
        return int(self.table.y[self.labelled].sum())


def _columns() -> list[Column]:
    # Typed from the facts' declared types, not guessed from values: a column of amounts must not
    # be taken for an identifier because every amount is different.
    kinds = {rule_engine.DataType.STRING: "categorical"}
    return [Column(name, kinds.get(FRAUD_FACT_TYPES[name], "numeric")) for name in PLATFORM_FEATURES]


def presumed_negatives(labelled: int, *, now: dt.datetime) -> list[int]:
    """Claims paid and closed at least PRESUMED_AFTER_DAYS ago with no investigation ever, a stable
    sample (by the hash of the id) of at most PRESUMED_PER_LABEL per label."""
    limit = int(math.floor(labelled * PRESUMED_PER_LABEL))
    if limit <= 0:
        return []
    ids = (
        Claim.objects.filter(
            status=ClaimStatus.CLOSED,
            closed_at__lte=now - dt.timedelta(days=PRESUMED_AFTER_DAYS),
            paid_amount__gt=0,
        )
        .exclude(pk__in=InvestigationCase.objects.values("claim_id"))
        .values_list("pk", flat=True)
    )
    ranked = sorted(ids, key=lambda pk: hashlib.sha256(f"claimwise.presumed:{pk}".encode()).hexdigest())
    return sorted(ranked[:limit])


def _fingerprint(rows: list[tuple[int, int, list[str | None]]]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def platform_table(
    *, presumed: bool = True, now: dt.datetime | None = None, progress: Progress = _quiet, chunk: int = CHUNK
) -> PlatformTable:
    """The training table from the platform's claims (features as known at report time)."""
    now = now or timezone.now()
    labels = dict(training_labels())
    extra = presumed_negatives(len(labels), now=now) if presumed else []
    wanted = {**{pk: 0 for pk in extra}, **labels}
    ids = sorted(wanted)
    rows: list[tuple[float, int, list[str | None]]] = []
    started = time.monotonic()
    for first in range(0, len(ids), chunk):
        part = ids[first : first + chunk]
        for claim in Claim.objects.filter(pk__in=part).select_related("policy", "coverage", "claimant"):
            # As known at report time: the claimed amount (the assessed one comes later, often
            # after the investigation) and no documents.
            claim.assessed_amount = None
            facts = fraud_facts(claim, documents=())
            rows.append((claim.reported_at.timestamp(), claim.pk, [_text(facts[n]) for n in PLATFORM_FEATURES]))
        progress(f"features: {min(first + chunk, len(ids))}/{len(ids)} claims, {time.monotonic() - started:.1f} s")
    rows.sort(key=lambda r: (r[0], r[1]))
    columns = _columns()
    values: dict[str, list[str | None]] = {c.name: [r[2][i] for r in rows] for i, c in enumerate(columns)}
    y = np.array([wanted[r[1]] for r in rows], dtype=np.int8)
    labelled = np.array([r[1] in labels for r in rows], dtype=bool)
    keyed = [(r[1], int(wanted[r[1]]), r[2]) for r in rows]
    table = Table(
        columns=columns,
        values=values,
        y=y,
        dropped=[],
        label=LABEL,
        positive="1",
        fingerprint=_fingerprint(keyed),
        rows=len(rows),
    )
    return PlatformTable(
        table=table,
        claim_ids=[r[1] for r in rows],
        reported_at=np.array([r[0] for r in rows], dtype=float),
        labelled=labelled,
        labels_fingerprint=_fingerprint([k for k, m in zip(keyed, labelled, strict=True) if m]),
        read_at=now,
    )


# -- time-aware validation --------------------------------------------------------------------------


@dataclass
class Validation:
    folds: list[dict[str, float]]
    periods: list[dict[str, Any]]
    splits: list[tuple[np.ndarray, np.ndarray]]  # (train rows, validation rows) per fold
    k: int
    seed: int
    seconds: float

    @property
    def mean(self) -> dict[str, float]:
        return {m: float(np.mean([f[m] for f in self.folds])) for m in self.folds[0]}

    @property
    def sd(self) -> dict[str, float]:
        return {m: float(np.std([f[m] for f in self.folds])) for m in self.folds[0]}

    def as_dict(self) -> dict[str, Any]:
        return {
            "scheme": "forward_chaining",
            "k": self.k,
            "seed": self.seed,
            "folds": self.folds,
            "periods": self.periods,
            "mean": self.mean,
            "sd": self.sd,
            "latest": self.folds[-1],
        }


def _iso(seconds: float) -> str | None:
    return None if not math.isfinite(seconds) else dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat()


def _too_few(data: PlatformTable, folds: int) -> None:
    negatives = data.labels - data.positives
    if data.labels < MIN_LABELS or data.positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS:
        raise TooFewLabels(
            _(
                "Too few investigation outcomes to train and validate the platform model: "
                "%(labels)d labelled claims (%(positives)d confirmed fraud, %(negatives)d not fraud); "
                "at least %(min)d are needed, with at least %(per)d of each outcome."
            )
            % {
                "labels": data.labels,
                "positives": data.positives,
                "negatives": negatives,
                "min": MIN_LABELS,
                "per": MIN_PER_CLASS,
            },
            detail={"labels": data.labels, "positives": data.positives, "minimum": MIN_LABELS},
        )
    if folds < 2:
        raise TooFewLabels(_("Validation needs at least 2 periods."))


def splits(data: PlatformTable, folds: int) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
    """The rolling-origin folds: (train rows, validation rows, period start, period end)."""
    _too_few(data, folds)
    y = data.table.y
    # The first period (trained on, never validated) is an equal share of the labels, or longer
    # until it holds INNER_FOLDS of each outcome: a first fold needs both to learn anything.
    labelled = y[np.flatnonzero(data.labelled)]  # already in report-time order
    seen = np.cumsum(labelled), np.cumsum(1 - labelled)
    enough = int(np.argmax((seen[0] >= INNER_FOLDS) & (seen[1] >= INNER_FOLDS))) + 1
    first = max(len(labelled) // (folds + 1), enough)
    if len(labelled) - first < folds * 2:
        raise TooFewLabels(
            _("Too few investigation outcomes after the first %(n)d to validate over %(folds)d periods.")
            % {"n": first, "folds": folds},
            detail={"first": first},
        )
    result = time_folds(data.reported_at, folds, validate=data.labelled, first=first)
    for i, (train, valid, _start, _end) in enumerate(result, start=1):
        # Target encoding inside each fit cross-fits over INNER_FOLDS: as many of each class needed.
        learnt = int(y[train].sum())
        if min(learnt, len(train) - learnt) < INNER_FOLDS or len(set(y[valid].tolist())) < 2:
            raise TooFewLabels(
                _(
                    "Too few investigation outcomes to validate over time: period %(fold)d of %(folds)d "
                    "needs both outcomes among its claims, and at least %(min)d of each before it. "
                    "Close more investigations, or validate over fewer periods."
                )
                % {"fold": i, "folds": folds, "min": INNER_FOLDS},
                detail={"fold": i},
            )
    return result


def validate(data: PlatformTable, *, folds: int = FOLDS, seed: int = SEED, progress: Progress = _quiet) -> Validation:
    """Rolling-origin validation: every fold is fitted on earlier claims only."""
    started = time.monotonic()
    table = data.table
    rows: list[dict[str, float]] = []
    periods: list[dict[str, Any]] = []
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    for i, (train, valid, start, end) in enumerate(splits(data, folds), start=1):
        model = TabularModel.fit(table.columns, {}, table.values, table.y, train, seed=seed)
        rows.append(metrics(table.y[valid], model.predict(table.values, valid)))
        periods.append(
            {
                "from": _iso(start),
                "to": _iso(end),
                "train": len(train),
                "rows": len(valid),
                "positives": int(table.y[valid].sum()),
            }
        )
        kept.append((train, valid))
        progress(
            f"fold {i}/{folds}: trained on {len(train)} earlier claims, validated on {len(valid)} "
            f"({periods[-1]['positives']} fraud): ROC-AUC {rows[-1]['roc_auc']:.4f}, "
            f"{time.monotonic() - started:.1f} s"
        )
    return Validation(rows, periods, kept, folds, seed, time.monotonic() - started)


# -- training and registration ----------------------------------------------------------------------


@dataclass
class Training:
    data: PlatformTable
    validation: Validation
    model: FraudModel
    promoted: bool
    comparison: dict[str, Any]
    latest_active: dict[str, float] | None  # the active model on the latest period, when it was scored


def _evaluate_active(data: PlatformTable, validation: Validation, seen: dict[str, Any]) -> Callable[..., Any]:
    """The registry compares the candidate's mean over its folds with what this returns. The
    active model is scored on the latest period only, and the earlier periods keep the candidate's
    own figures (the active model was most likely trained on those claims, so they say nothing about
    it): the comparison of the two means is then exactly the comparison on the latest period."""
    table = data.table
    _train, valid = validation.splits[-1]

    def evaluate(active: TabularModel) -> dict[str, float]:
        latest = metrics(table.y[valid], active.predict(table.values, valid))
        seen["latest_active"] = latest
        earlier = validation.folds[:-1]
        return {m: float(np.mean([f[m] for f in earlier] + [latest[m]])) for m in latest}

    return evaluate


def train(
    *,
    actor: User | None,
    folds: int = FOLDS,
    seed: int = SEED,
    presumed: bool = True,
    name: str | None = None,
    progress: Progress = _quiet,
    now: dt.datetime | None = None,
) -> Training:
    """Build the table, validate forward in time, fit on every row and register the model (active
    only when better than the active platform model on the same validation data)."""
    from claimwise.fraud.registry import model_register

    data = platform_table(presumed=presumed, now=now, progress=progress)
    validation = validate(data, folds=folds, seed=seed, progress=progress)
    table = data.table
    started = time.monotonic()
    model = TabularModel.fit(table.columns, {}, table.values, table.y, np.arange(table.rows), seed=seed)
    progress(f"fitted on all {table.rows} rows, {time.monotonic() - started:.1f} s")
    summary = validation.as_dict()
    summary["validation"] = {
        # The same labels (ids, outcomes, features) give the same periods: comparable figures.
        "data": data.labels_fingerprint,
        "columns": ",".join(c.name for c in table.columns),
        "k": folds,
        "seed": seed,
        "scheme": "forward_chaining",
    }
    summary.update(
        {
            "labels": data.labels,
            "positives": data.positives,
            "presumed_negatives": int((~data.labelled).sum()),
            "trained_until": _iso(float(data.reported_at.max())),
            "labels_read_at": data.read_at.isoformat(),
        }
    )
    seen: dict[str, Any] = {}
    result = model_register(
        actor=actor,
        model=model,
        scope=ModelScope.PLATFORM,
        name=name or f"platform {data.read_at:%Y-%m-%d}",
        data_fingerprint=table.fingerprint,
        rows=table.rows,
        label=LABEL,
        columns={
            "used": {c.name: c.kind for c in table.columns},
            "dropped": [],
            "positive": "confirmed_fraud",
            "presumed_negatives": {"after_days": PRESUMED_AFTER_DAYS, "per_label": PRESUMED_PER_LABEL},
        },
        metrics=summary,
        evaluate_active=_evaluate_active(data, validation, seen),
    )
    return Training(data, validation, result.model, result.promoted, result.comparison, seen.get("latest_active"))


# -- retraining -------------------------------------------------------------------------------------


def retrain_min_labels() -> int:
    return int(getattr(settings, "CLAIMWISE_FRAUD_RETRAIN_LABELS", 50))


def labels_since_last_training() -> int:
    """Investigation outcomes (fraud / not fraud) closed since the labels of the latest platform
    training were read, active or kept as candidate (all of them before the first training)."""
    last = FraudModel.objects.filter(scope=ModelScope.PLATFORM).order_by("-trained_at", "-pk").defer("artifact").first()
    cases = InvestigationCase.objects.filter(status=CaseStatus.CLOSED, outcome__in=list(LABELS))
    if last is not None:
        read = last.metrics.get("labels_read_at")
        since = dt.datetime.fromisoformat(read) if read else last.trained_at
        cases = cases.filter(Q(closed_at__gt=since))
    return cases.values("claim_id").distinct().count()


def retrain(*, now: dt.datetime | None = None, progress: Progress = _quiet) -> dict[str, Any]:
    """Retrain when at least CLAIMWISE_FRAUD_RETRAIN_LABELS new labels arrived since the last
    training; idempotent (a second run finds no new labels). Returns what happened, for the log."""
    new = labels_since_last_training()
    needed = retrain_min_labels()
    if new < needed:
        outcome: dict[str, Any] = {"outcome": "skipped", "new_labels": new, "needed": needed}
    else:
        try:
            done = train(actor=None, now=now, progress=progress)
        except TooFewLabels as exc:
            outcome = {"outcome": "refused", "new_labels": new, "why": str(exc.message)}
        else:
            outcome = {
                "outcome": "promoted" if done.promoted else "candidate",
                "new_labels": new,
                "version": done.model.version,
                "comparison": done.comparison,
            }
    log.info("platform model retraining: %s", outcome)
    return outcome
