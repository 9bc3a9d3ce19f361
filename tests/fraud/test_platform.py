"""The platform model (issue 6, item 2): trained on the platform's own claims with labels from
closed investigations, validated forward in time, promoted only when better, retrained weekly when
enough outcomes arrived, and explaining each claim's model score by its facts.

The claims are built through the services (policy, FNOL report, investigation opened and closed)
with a real pattern: confirmed fraud concentrates on claims soon after the policy began with an
amount near the cover. Report times are then spread over the past two years."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone, translation

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.core.models import AuditEntry
from claimwise.fraud import platform, scoring
from claimwise.fraud.choices import CaseOutcome, ModelScope, ModelStatus
from claimwise.fraud.facts import FRAUD_FACT_HELP, fraud_facts
from claimwise.fraud.investigations import case_close, case_open
from claimwise.fraud.learn import time_folds
from claimwise.fraud.models import FraudModel
from claimwise.fraud.registry import active_changed, model_load
from claimwise.fraud.rules import render
from claimwise.fraud.tasks import platform_retrain_task
from claimwise.policies.models import Policy
from tests import factories

# A fixed time of day, so the incident hours (a feature) are the same in every run.
NOW = (timezone.now() - dt.timedelta(days=1)).replace(hour=4, minute=0, second=0, microsecond=0)
DAY = dt.timedelta(days=1)


class Book:
    """Claims reported over time, some investigated; `close` gives their outcomes."""

    def __init__(self) -> None:
        self.handler = factories.user(Role.HANDLER)
        self.siu = factories.user(Role.SUPERVISOR)
        self.holders = [factories.customer(with_user=False) for _ in range(12)]
        self.claims: list[tuple[Claim, bool, bool]] = []  # (claim, risky, fraud)

    def report(self, rng: random.Random, *, at: dt.datetime, risky: bool) -> Claim:
        days = rng.uniform(2, 20) if risky else rng.uniform(40, 330)
        amount = rng.uniform(50_000, 95_000) if risky else rng.uniform(1_000, 30_000)
        incident = at - dt.timedelta(hours=rng.uniform(2, 60))
        policy = factories.policy_from(holder=rng.choice(self.holders), starts=NOW - 2 * DAY)
        claim = factories.claim(
            actor=self.handler, policy=policy, incident_at=NOW - DAY, claimed_amount=f"{amount:.2f}"
        )
        # Back in time: the policy began `days` before the incident, reported at `at`.
        start = incident - dt.timedelta(days=days)
        Policy.objects.filter(pk=policy.pk).update(effective_from=start, effective_to=start + 365 * DAY)
        Claim.objects.filter(pk=claim.pk).update(incident_at=incident, reported_at=at)
        claim.refresh_from_db()
        return claim

    def build(self, rng: random.Random, n: int, *, since: dt.datetime, until: dt.datetime) -> list[Claim]:
        step = (until - since) / n
        made = []
        for i in range(n):
            risky = rng.random() < 0.3
            claim = self.report(rng, at=since + i * step + dt.timedelta(minutes=rng.randint(0, 600)), risky=risky)
            fraud = rng.random() < (0.9 if risky else 0.04)
            self.claims.append((claim, risky, fraud))
            made.append(claim)
        return made

    def investigate(self, rng: random.Random, claims: list[Claim], *, pattern: bool = True) -> int:
        """Open and close a case on every risky claim and on 40 % of the others; outcomes follow
        the pattern (or are a coin toss). Returns the number of labels given."""
        facts = {c.pk: (risky, fraud) for c, risky, fraud in self.claims}
        given = 0
        for claim in claims:
            risky, fraud = facts[claim.pk]
            if not risky and rng.random() > 0.4:
                continue
            if not pattern:
                fraud = rng.random() < 0.5
            case = case_open(actor=self.siu, claim_id=claim.pk, reason="复核")
            outcome = CaseOutcome.CONFIRMED_FRAUD if fraud else CaseOutcome.NOT_FRAUD
            case_close(actor=self.siu, case_id=case.pk, outcome=outcome, note="调查结束")
            given += 1
        return given

    def close_paid(self, claims: list[Claim]) -> None:
        """Uninvestigated ordinary claims that were paid and closed long ago (presumed honest)."""
        facts = {c.pk: risky for c, risky, _f in self.claims}
        ids = [c.pk for c in claims if not facts[c.pk] and c.reported_at < NOW - 300 * DAY]
        Claim.objects.filter(pk__in=ids).exclude(investigation_cases__isnull=False).update(
            status=ClaimStatus.CLOSED, closed_at=NOW - 250 * DAY, paid_amount=Decimal("1000")
        )


@pytest.fixture
def book(db: Any) -> Book:
    return Book()


def test_time_folds_never_train_on_later_claims() -> None:
    rng = np.random.default_rng(1)
    times = np.sort(rng.integers(0, 1000, 300)).astype(float)  # with ties
    labelled = rng.random(300) < 0.5
    folds = time_folds(times, 4, validate=labelled)
    assert len(folds) == 4
    for train, valid, start, end in folds:
        assert len(valid) and labelled[valid].all()
        assert times[train].max() < times[valid].min() == start  # the past only, ties not split
        assert times[valid].max() < end
    # The periods follow one another and cover every labelled row after the first period.
    covered = np.concatenate([v for _t, v, _s, _e in folds])
    assert len(set(covered.tolist())) == len(covered)
    assert set(np.flatnonzero(labelled & (times >= folds[0][2])).tolist()) == set(covered.tolist())
    # A longer first period (trained on only) when asked: the rest is still cut in equal periods.
    longer = time_folds(times, 3, validate=labelled, first=60)
    assert len(np.flatnonzero(labelled & (times < longer[0][2]))) >= 60
    assert all(times[t].max() < times[v].min() for t, v, _s, _e in longer)


def test_the_platform_model_learns_validates_forward_and_explains(book: Book) -> None:
    rng = random.Random(7)
    claims = book.build(rng, 220, since=NOW - 700 * DAY, until=NOW - 20 * DAY)
    labels = book.investigate(rng, claims)
    book.close_paid(claims)
    # Assessed later (after the investigation): training still reads the claimed amount.
    late = claims[5]
    Claim.objects.filter(pk=late.pk).update(assessed_amount=Decimal("1.00"))

    lines: list[str] = []
    data = platform.platform_table(progress=lines.append, chunk=100)
    assert data.labels == labels and data.table.rows > labels  # presumed negatives added
    assert lines[-1].startswith(f"features: {data.table.rows}/{data.table.rows} claims")
    assert len(lines) == -(-data.table.rows // 100)
    row = data.claim_ids.index(late.pk)
    assert Decimal(data.table.values["claimed_amount"][row]) == late.claimed_amount
    assert list(data.reported_at) == sorted(data.reported_at)
    for train, valid, _start, _end in platform.splits(data, platform.FOLDS):
        assert data.reported_at[train].max() < data.reported_at[valid].min()
        assert data.labelled[valid].all()  # validated on investigation outcomes only

    # First training: nothing active, so it becomes active; it learnt the pattern.
    progress: list[str] = []
    first = platform.train(actor=book.siu, progress=progress.append)
    assert first.promoted and first.model.status == ModelStatus.ACTIVE and first.model.scope == ModelScope.PLATFORM
    assert first.comparison["reason"] == "no_active_model"
    assert any(p.startswith("fold 4/4") for p in progress) and any(p.startswith("features:") for p in progress)
    metrics = first.model.metrics
    assert len(metrics["folds"]) == 4 and metrics["validation"]["scheme"] == "forward_chaining"
    assert metrics["latest"]["roc_auc"] > 0.7 and metrics["mean"]["roc_auc"] > 0.75
    assert {"roc_auc", "pr_auc", "top10_recall"} <= set(metrics["latest"])
    assert first.model.data_fingerprint == data.table.fingerprint and first.model.trained_by == book.siu
    # (amount and ratio say the same here: one cover limit for all)
    assert {"days_since_inception", "amount_ratio", "claimed_amount"} & set(first.model.features)

    # The same labels again: same validation, equal figures, kept as a candidate.
    second = platform.train(actor=None)
    assert not second.promoted and second.model.status == ModelStatus.CANDIDATE
    assert second.comparison["reason"] == "not_better" and second.comparison["on"] == "same_validation"
    assert AuditEntry.objects.filter(action="fraud.model_register").count() == 2

    # Explanations: a risky claim reported now gets model reasons naming its facts, in both languages.
    active_changed()
    risky = book.report(rng, at=NOW - DAY, risky=True)
    result = scoring.evaluate(risky)
    result_facts = fraud_facts(risky)
    assert result.components["model"]["version"] == first.model.version
    reasons = [r for r in result.reasons if r["kind"] == "model"]
    assert reasons and result.components["model"]["score"] > 0
    model = model_load(first.model)
    for reason in reasons:
        assert reason["code"] in model.features and reason["weight"] > 0
        assert reason["text"]["en"].startswith("risk model: ")
        assert reason["text"]["zh-hans"].startswith("风险模型：")
    codes = {r["code"] for r in reasons}
    for reason in reasons:  # the fact named in its words, with this claim's value
        for language in ("zh-hans", "en"):
            with translation.override(language):
                assert str(FRAUD_FACT_HELP[reason["code"]]) in reason["text"][language]
        assert render("{" + reason["code"] + "}", result_facts) in reason["text"]["en"]
    # Contributions and the bias add up to the booster's raw score (log-odds).
    values = {n: [scoring._text(result_facts[n])] for n in scoring.PLATFORM_FEATURES}
    contributions = model.explain(values)[0]
    raw = model.booster.predict(model.matrix(values), raw_score=True)[0]
    assert contributions.sum() == pytest.approx(raw, abs=1e-9)
    assert 1 / (1 + np.exp(-raw)) == pytest.approx(model.predict(values)[0])
    top = sorted(range(len(model.features)), key=lambda i: -contributions[i])[: len(reasons)]
    assert {model.features[i] for i in top} == codes
    # An ordinary claim adds nothing and gets no model reason.
    ordinary = book.report(rng, at=NOW - DAY, risky=False)
    plain = scoring.evaluate(ordinary)
    assert plain.components["model"]["score"] == 0
    assert not [r for r in plain.reasons if r["kind"] == "model"]

    # The command: the same labels once more, kept as a candidate, the periods printed.
    out, err = StringIO(), StringIO()
    call_command("fraud", "train", "--platform", "--user", book.siu.username, stdout=out, stderr=err)
    assert "kept as candidate" in out.getvalue() and "forward-chaining validation over 4 periods" in out.getvalue()
    assert "fold 4/4" in err.getvalue() and "features:" in err.getvalue()
    out = StringIO()
    call_command("fraud", "evaluate", "--platform", "--folds", "3", "--json", stdout=out, stderr=StringIO())
    shown = json.loads(out.getvalue())
    assert len(shown["validation"]["folds"]) == 3 and shown["table"]["labels"] == labels
    assert FraudModel.objects.filter(scope=ModelScope.PLATFORM).count() == 3


@override_settings(CLAIMWISE_FRAUD_RETRAIN_LABELS=30)
def test_better_data_is_promoted_by_the_weekly_retraining(book: Book) -> None:
    rng = random.Random(11)
    early = book.build(rng, 110, since=NOW - 700 * DAY, until=NOW - 330 * DAY)
    # Too few labels: the job and the command refuse, saying what is needed.
    book.investigate(rng, early[:30], pattern=False)
    with translation.override("en"), pytest.raises(platform.TooFewLabels, match="at least 40"):
        platform.train(actor=None)
    with translation.override("en"), pytest.raises(CommandError, match="at least 40"):
        call_command("fraud", "train", "--platform", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="give no --csv"):
        call_command("fraud", "evaluate", "--platform", "--csv", "x.csv", stdout=StringIO())
    assert platform_retrain_task.call_local()["outcome"] == "skipped"  # fewer than 30 new labels
    with override_settings(CLAIMWISE_FRAUD_RETRAIN_LABELS=5), translation.override("en"):
        refused = platform_retrain_task.call_local()
    assert refused["outcome"] == "refused" and "at least 40" in refused["why"]
    assert not FraudModel.objects.exists()

    # Outcomes that carry nothing (a coin toss): a weak model, active because none was.
    book.investigate(rng, early[30:], pattern=False)
    first = platform.train(actor=None)
    assert first.promoted
    assert platform_retrain_task.call_local() == {"outcome": "skipped", "new_labels": 0, "needed": 30}

    # Later claims with real outcomes: the job retrains, and the new model beats the active one on
    # the latest period (where the active model is scored too), so it is promoted.
    later = book.build(rng, 130, since=NOW - 320 * DAY, until=NOW - 10 * DAY)
    book.investigate(rng, later)
    done = platform_retrain_task.call_local()
    assert done["outcome"] == "promoted", done
    assert done["comparison"]["reason"] == "better" and done["comparison"]["on"] == "candidate_validation_data"
    new = FraudModel.objects.get(version=done["version"])
    assert new.status == ModelStatus.ACTIVE
    assert FraudModel.objects.get(pk=first.model.pk).status == ModelStatus.RETIRED
    # The comparison is exactly the latest period: the mean differs only there.
    latest = new.metrics["latest"]["roc_auc"]
    assert done["comparison"]["candidate"] > done["comparison"]["active"]
    assert latest > 0.75
    # Idempotent: nothing new since, nothing trained.
    assert platform_retrain_task.call_local()["outcome"] == "skipped"
    assert FraudModel.objects.count() == 2
    assert User.objects.filter(pk=book.siu.pk).exists()
