"""Batch scoring gives every claim what `scoring.evaluate` gives it — score, version, components
and reasons — on constructed claims that fire each preset rule, rings and an active platform model;
a rule the vector translation does not cover falls back to rule-engine; reruns write nothing new."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from claimwise.claims.fnol import Payee, claim_submit
from claimwise.claims.models import Claim
from claimwise.claims.services import claim_share, document_upload
from claimwise.fraud import batch
from claimwise.fraud.facts import compiled
from claimwise.fraud.learn import fit_all
from claimwise.fraud.models import RiskAssessment
from claimwise.fraud.registry import active_changed, model_register
from claimwise.fraud.rules import rule_save
from claimwise.fraud.scoring import PLATFORM_FEATURES, evaluate
from claimwise.fraud.services import watchlist_add
from claimwise.fraud.tabular import read_table
from claimwise.fraud.vector import Columns, Unsupported, vector_matches
from tests import factories
from tests.process import builders
from tests.process.test_materials import png

pytestmark = pytest.mark.usefixtures("presets")


def report(world: dict[str, Any], *, policy: Any = None, **kwargs: Any) -> Claim:
    return factories.claim(actor=world["handler"], policy=policy or world["policy"], **kwargs)


def with_payee(world: dict[str, Any], policy: Any, account: str, amount: str = "3000") -> Claim:
    return claim_submit(
        actor=world["handler"],
        policy_number=policy.number,
        incident_at=timezone.now() - dt.timedelta(hours=2),
        incident_place="北京",
        loss_type="collision",
        claimed_amount=amount,
        payee=Payee(name="张伟", account=account, bank_name="ICBC"),
    ).claim


def upload(claim: Claim, actor: Any, doc_type: str, data: bytes) -> None:
    document_upload(
        actor=actor,
        claim_id=claim.pk,
        doc_type=doc_type,
        stream=io.BytesIO(data),
        original_name="a.png",
        size=len(data),
    )


def platform_model(tmp_path: Path) -> None:
    """A platform model over PLATFORM_FEATURES, trained on a synthetic labelled table."""
    rng = random.Random(7)
    path = tmp_path / "platform.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow([*PLATFORM_FEATURES, "fraud"])
        for i in range(400):
            fraud = i % 5 == 0
            amount = rng.uniform(60000, 99000) if fraud else rng.uniform(500, 20000)
            out.writerow(
                [
                    "motor",
                    "collision" if i % 3 else "theft",
                    ["web", "app", "phone"][i % 3],
                    f"{amount:.2f}",
                    f"{amount / 100000:.4f}",
                    f"{rng.uniform(0, 40) if fraud else rng.uniform(0, 400):.2f}",
                    f"{rng.uniform(0, 12) if fraud else rng.uniform(0, 3):.2f}",
                    f"{amount / 5000:.4f}",
                    str(rng.randrange(24)),
                    str(rng.randrange(3, 9) if fraud else rng.randrange(2)),
                    "1" if fraud else "0",
                ]
            )
    table = read_table(path, label="fraud")
    model_register(
        actor=None,
        model=fit_all(table),
        scope="platform",
        name="test",
        data_fingerprint=table.fingerprint,
        rows=table.rows,
        label="fraud",
        columns={},
        metrics={},
    )
    active_changed()


def book(world: dict[str, Any]) -> list[Claim]:
    """Claims that fire each preset, rings, and some with facts missing."""
    builders.limits({"handler": "20000", "reviewer": "80000"})
    claims = []
    fresh = factories.policy_from(holder=world["holder"], starts=timezone.now() - dt.timedelta(days=6))
    claims.append(report(world, policy=fresh))  # early-claim
    claims.append(report(world, incident_at=timezone.now() - dt.timedelta(days=9)))  # late-report
    claims += [report(world, claimed_amount=a) for a in ("95000", "4900", "19800", "79000", "5100", "0.01")]
    claims += [report(world) for _ in range(3)]  # frequent-claimant from the 4th
    claims.append(with_payee(world, world["policy"], "6222020200112233445"))
    claims.append(with_payee(world, world["policy"], "6228480000998877665"))  # new payee account
    local = timezone.localtime(timezone.now() - dt.timedelta(days=1)).replace(hour=23, minute=30)
    claims.append(report(world, incident_at=local))  # night without police report
    night = report(world, incident_at=local.replace(hour=2))
    upload(night, world["handler"], "police_report", png())
    claims.append(night)
    data = png()
    a, b = report(world), report(world)
    upload(a, world["handler"], "damage_photo", data)
    upload(b, world["handler"], "damage_photo", data)  # duplicate document
    upload(a, world["handler"], "damage_photo", png(3, 3))  # a second photo: the type twice in its facts
    claims += [a, b]
    shop = factories.partner("SHOP1")
    shared = []
    for _ in range(11):
        claim = report(world)
        claim_share(actor=world["handler"], claim_id=claim.pk, partner=shop)
        shared.append(claim)
    Claim.objects.filter(pk__in=[c.pk for c in shared[:4]]).update(risk_score=Decimal("0.7"))
    claims += shared  # provider-flagged
    # An account ring: four claimants paid to one account; a document seen on two claimants' claims.
    ring = [factories.policy() for _ in range(4)]
    claims += [with_payee(world, p, "6222 0202 0099 8877 665", amount="1234.5") for p in ring]
    other = report(world, policy=ring[0])
    upload(other, world["handler"], "invoice", data)
    claims.append(other)
    # The watch list: the holder's phone.
    watchlist_add(actor=world["supervisor"], kind="phone", value=world["holder"].phone, reason="ring suspect")
    claims.append(report(world))
    # Missing facts: no coverage, nothing claimed, nothing assessed.
    bare = report(world, policy=factories.policy())
    Claim.objects.filter(pk=bare.pk).update(coverage=None, assessed_amount=Decimal(0))
    claims.append(bare)
    zero = report(world, policy=factories.policy())
    Claim.objects.filter(pk=zero.pk).update(claimed_amount=Decimal(0), assessed_amount=Decimal(0))
    claims.append(zero)
    return claims


def batch_scores(**kwargs: Any) -> dict[int, batch.BatchScore]:
    found: dict[int, batch.BatchScore] = {}
    for _total, scores in batch.chunks(**kwargs):
        found.update({s.claim_id: s for s in scores})
    return found


def assert_same(claims: list[Claim], scores: dict[int, batch.BatchScore]) -> None:
    for claim in claims:
        claim = Claim.objects.select_related("policy", "coverage", "claimant").get(pk=claim.pk)
        expected = evaluate(claim)
        got = scores[claim.pk]
        assert got.score == expected.score, claim.pk
        assert got.version == expected.version
        assert got.components == expected.components, claim.pk
        assert got.reasons == expected.reasons, claim.pk
        for name, value in expected.facts.items():
            assert got.facts[name] == (list(value) if isinstance(value, tuple) else value), (claim.pk, name)


def test_batch_equals_evaluate_for_every_claim(world: dict[str, Any], tmp_path: Path) -> None:
    platform_model(tmp_path)
    claims = book(world)
    scores = batch_scores(chunk=7)  # several chunks
    assert len(scores) == Claim.objects.count()
    assert_same(claims, scores)
    fired = {code for s in scores.values() for code in s.components["rules"]["fired"]}
    assert fired >= {
        "early-claim",
        "late-report",
        "near-sum-insured",
        "under-fast-track",
        "under-authority",
        "frequent-claimant",
        "new-payee-account",
        "watch-list",
        "night-no-police",
        "duplicate-document",
        "provider-flagged",
    }
    kinds = {r["kind"] for s in scores.values() for r in s.components["network"]["rings"]}
    assert kinds >= {"account", "document"}
    assert any(s.components["model"]["score"] > 0 for s in scores.values())
    assert any(r["kind"] == "model" for s in scores.values() for r in s.reasons)


def test_unsupported_construct_falls_back_to_rule_engine(world: dict[str, Any]) -> None:
    rule_save(
        actor=None,
        data={
            "code": "odd-thousands",
            "name": "odd",
            "expression": 'claimed_amount // 1000 % 2 == 1 or channel =~ "^ap"',
            "weight": "0.3",
            "reason": "奇数千 {claimed_amount}",
            "status": "active",
            "position": 200,
        },
    )
    claims = [report(world, claimed_amount=a) for a in ("1500", "2500", "3100", "8200")]
    vectorised: dict[str, bool] = {}
    scores = batch_scores(vectorised=vectorised)
    assert vectorised["odd-thousands"] is False and vectorised["late-report"] is True
    assert_same(claims, scores)
    assert "odd-thousands" in scores[claims[0].pk].components["rules"]["fired"]


def test_vector_semantics_match_rule_engine() -> None:
    n = 6
    cols = Columns(
        n,
        {
            "claimed_amount": np.array([0.0, 1.0, 2.5, 1000.0, 4999.99, 5000.0]),
            "sum_insured": np.array([0.0, 3.0, 2.5, 1.0, 5000.0, 5000.0]),
            "line": np.array(["motor", "health", "", "motor", "life", "travel"], dtype=object),
            "night_incident": np.array([True, False, True, False, True, False]),
            "police_report": np.array([False, False, True, True, False, False]),
        },
        {"police_report": np.array([False, False, True, True, False, False])},
    )
    facts = [
        {
            "claimed_amount": Decimal(str(cols["claimed_amount"][i])),
            "sum_insured": Decimal(str(cols["sum_insured"][i])),
            "line": cols["line"][i],
            "night_incident": bool(cols["night_incident"][i]),
            "police_report": bool(cols["police_report"][i]),
            "documents": ("police_report",) if cols["police_report"][i] else (),
        }
        for i in range(n)
    ]
    for expression in (
        "claimed_amount",
        "not claimed_amount",
        "line",
        'line == "motor" and night_incident and not police_report',
        'line != "motor" or claimed_amount > 100',
        "claimed_amount == sum_insured",
        "claimed_amount != sum_insured",
        "claimed_amount + 1 >= sum_insured * 2",
        "-claimed_amount < -2",
        '"police_report" in documents',
        'not ("invoice" in documents)',
        "documents",
        'line in ["motor", "life"]',
        "claimed_amount == night_incident",
        'line >= "m"',
    ):
        matched, uncertain = vector_matches(expression, cols)
        rule = compiled(expression)
        for i in range(n):
            if not uncertain[i]:
                assert bool(matched[i]) == rule.matches(facts[i]), (expression, i)
    with pytest.raises(Unsupported):
        vector_matches("claimed_amount / sum_insured > 0.5", cols)  # a zero divisor in the chunk


def test_rerun_is_idempotent_and_stores_like_claim_score(world: dict[str, Any]) -> None:
    claims = [report(world, claimed_amount=a) for a in ("95000", "4900", "3000")]
    RiskAssessment.objects.all().delete()
    Claim.objects.update(risk_score=None)
    first = batch.score_claims(chunk=2)
    assert first.claims == first.written == len(claims)
    for claim in claims:
        claim.refresh_from_db()
        stored = RiskAssessment.objects.get(claim=claim)
        expected = evaluate(claim)
        assert stored.trigger == "batch" and stored.score == expected.score == claim.risk_score
        assert stored.reasons == expected.reasons
        assert {k: v for k, v in stored.components.items() if k != "facts"} == expected.components
        assert stored.components["facts"]["claimed_amount"] == float(claim.claimed_amount)
    again = batch.score_claims(chunk=2)
    assert again.claims == len(claims) and again.written == 0
    assert RiskAssessment.objects.count() == len(claims)
    forced = batch.score_claims(only_changed=False)
    assert forced.written == len(claims)


def test_open_only_and_since(world: dict[str, Any]) -> None:
    claims = [report(world) for _ in range(3)]
    Claim.objects.filter(pk=claims[0].pk).update(status="closed")
    assert set(batch_scores(open_only=True)) == {c.pk for c in claims[1:]}
    assert batch_scores(since=timezone.localdate() + dt.timedelta(days=1)) == {}


def test_command_prints_progress_and_rate(world: dict[str, Any]) -> None:
    report(world)
    out = io.StringIO()
    call_command("fraud", "score", "--all", "--chunk", "10", stdout=out)
    text = out.getvalue()
    assert "claims/s" in text and "1/1" in text and "0 written" in text  # scored the same at report time
    call_command("fraud", "score", "--open", "--since", "2020-01-01", "--rewrite", stdout=out)
    assert RiskAssessment.objects.filter(trigger="batch").count() == 1


@pytest.mark.django_db(transaction=True)
def test_read_ahead_gives_the_same_scores(presets: None) -> None:
    from claimwise.accounts.choices import Role

    handler = factories.user(Role.HANDLER)
    policies = [factories.policy() for _ in range(3)]
    for i in range(7):
        factories.claim(actor=handler, policy=policies[i % 3], claimed_amount=str(1000 + 900 * i))
    plain = batch_scores(chunk=3)
    ahead = batch_scores(chunk=3, prefetch=True)
    assert plain == ahead and len(ahead) == 7
    summary = batch.score_claims(chunk=3, prefetch=True, only_changed=False)
    assert summary.written == 7


@pytest.mark.django_db(transaction=True)
def test_worker_processes_store_what_one_process_stores(presets: None) -> None:
    """Two spawned processes share the chunks (PostgreSQL): every claim scored once, as one process
    scores it; on SQLite the option falls back to one process."""
    from claimwise.accounts.choices import Role

    handler = factories.user(Role.HANDLER)
    policies = [factories.policy() for _ in range(3)]
    for i in range(9):
        factories.claim(actor=handler, policy=policies[i % 3], claimed_amount=str(1000 + 900 * i))
    expected = {pk: (s.score, s.version, s.reasons) for pk, s in batch_scores(chunk=2).items()}
    seen: list[tuple[int, int]] = []
    summary = batch.score_claims(
        chunk=2, only_changed=False, workers=2, progress=lambda done, total, _r: seen.append((done, total))
    )
    assert summary.claims == 9 and summary.written == 9 and seen[-1] == (9, 9)
    stored = RiskAssessment.objects.filter(trigger="batch")
    assert stored.count() == 9 and stored.values("claim_id").distinct().count() == 9
    assert {a.claim_id: (a.score, a.version, a.reasons) for a in stored} == expected
