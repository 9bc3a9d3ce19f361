"""The risk score of a claim (T2, T5): red flags, the platform model and the network, combined into
one 0–1 score with the top reasons in Chinese and English, stored with its version.

Each component is evidence in [0, 1]; they are combined as independent evidence (noisy-OR):
score = 1 − (1 − rules)(1 − model)(1 − network). The rules' part is itself the noisy-OR of the
weights of the flags that fired. The model's part is its lift above the base rate it learnt, so an
ordinary claim adds nothing. The network part is the noisy-OR of the weights of the rings the claim
is in (link analysis, issue 6 item 4, `fraud.links`): 0 for a claim that shares nothing unusual.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from claimwise.claims.models import Claim
from claimwise.fraud.choices import ModelScope
from claimwise.fraud.facts import FRAUD_FACT_HELP, FraudFacts, compiled, fraud_facts
from claimwise.fraud.links import Ring, claim_entities, network_score, ring_reason, rings_of
from claimwise.fraud.models import FraudModel, RedFlagRule, RiskAssessment
from claimwise.fraud.rules import active_rules, render

LANGUAGES = ("zh-hans", "en")
TOP_REASONS = 5
# The platform model reads these facts, in this order (numbers and booleans as text, like a CSV row).
PLATFORM_FEATURES = (
    "line",
    "loss_type",
    "channel",
    "claimed_amount",
    "amount_ratio",
    "days_since_inception",
    "report_delay_days",
    "fast_track_ratio",
    "incident_hour",
    "prior_claims_12m",
)


@dataclass(frozen=True)
class Score:
    score: Decimal
    version: str
    components: dict[str, Any]
    reasons: list[dict[str, Any]]
    facts: dict[str, Any]


def _q(x: float) -> Decimal:
    return Decimal(str(min(max(x, 0.0), 1.0))).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def rules_version(rules: list[RedFlagRule]) -> str:
    text = "|".join(f"{r.code}:{r.expression}:{r.weight}" for r in rules)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _both(render_one: Any) -> dict[str, str]:
    texts: dict[str, str] = {}
    for language in LANGUAGES:
        with translation.override(language):
            texts[language] = render_one(language)
    return texts


def rule_reason(rule: RedFlagRule, facts: Mapping[str, Any]) -> dict[str, Any]:
    """A red flag's reason in both languages, from the facts it inserts (also the batch's)."""

    def one(language: str) -> str:
        template = rule.reason_en if language == "en" and rule.reason_en else rule.reason
        return render(template, facts)

    return {"kind": "rule", "code": rule.code, "weight": float(rule.weight), "text": _both(one)}


def _platform_model() -> tuple[FraudModel, Any] | None:
    from claimwise.fraud.registry import _active_platform

    return _active_platform()


def _model_part(facts: FraudFacts) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    active = _platform_model()
    if active is None:
        return None, []
    row, model = active
    values: dict[str, list[str | None]] = {name: [_text(facts[name])] for name in PLATFORM_FEATURES}
    probability = float(model.predict(values)[0])
    lift = max(0.0, (probability - model.prior) / (1.0 - model.prior)) if model.prior < 1 else 0.0
    reasons: list[dict[str, Any]] = []
    if lift > 0:
        contributions = model.explain(values)[0][:-1]
        names = model.features
        for i in sorted(range(len(names)), key=lambda j: -contributions[j])[:2]:
            if contributions[i] <= 0:
                continue
            fact = names[i].split(":")[0]
            help_text = FRAUD_FACT_HELP.get(fact)

            def one(language: str, fact: str = fact, help_text: Any = help_text) -> str:
                value = render("{" + fact + "}", facts) if fact in FRAUD_FACT_HELP else ""
                return _("risk model: %(what)s is %(value)s") % {"what": help_text or fact, "value": value}

            reasons.append(
                {
                    "kind": "model",
                    "code": fact,
                    "weight": round(
                        lift * float(contributions[i]) / max(1e-9, float(sum(c for c in contributions if c > 0))), 3
                    ),
                    "text": _both(one),
                }
            )
    return {"score": round(lift, 4), "probability": round(probability, 4), "version": row.version}, reasons


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "1" if value else "0"
    return None if value is None else str(value)


def configured() -> bool:
    """Anything to score with: an active red-flag rule or an active platform model (both cached)."""
    return bool(active_rules()) or _platform_model() is not None


def _ring_reason(ring: Ring) -> dict[str, Any]:
    return {
        "kind": "network",
        "code": f"ring-{ring.kind}",
        "weight": ring.weight,
        "text": _both(lambda language: ring_reason(ring)),
    }


def combined(rules_score: float, model_score: float, network: float) -> float:
    """The three parts as independent evidence (noisy-OR); shared with `fraud.batch`."""
    return 1.0 - (1.0 - rules_score) * (1.0 - model_score) * (1.0 - network)


def score_version(version_of_rules: str, model: dict[str, Any] | None) -> str:
    return f"rules-{version_of_rules}+model-{model['version'] if model else 'none'}+network-v1"


def evaluate(
    claim: Claim,
    *,
    documents: tuple[str, ...] | None = None,
    partners: tuple[int, ...] | None = None,
    rings: list[Ring] | None = None,
) -> Score:
    """Score a claim without storing anything. `rings`: the claim's rings when the caller has just
    found them (the report path), else they are read (one statement)."""
    facts = fraud_facts(claim, documents=documents, partners=partners)
    rules = active_rules()
    fired: list[RedFlagRule] = [r for r in rules if compiled(r.expression).matches(facts)]
    keep = 1.0
    for rule in fired:
        keep *= 1.0 - float(rule.weight)
    rules_score = 1.0 - keep
    reasons = [rule_reason(r, facts) for r in fired]
    model, model_reasons = _model_part(facts)
    reasons += model_reasons
    model_score = model["score"] if model else 0.0
    if rings is None:
        rings = rings_of(claim, claim_entities(claim, documents=documents))
    network = network_score(rings)
    reasons += [_ring_reason(r) for r in rings]
    total = combined(rules_score, model_score, network)
    reasons.sort(key=lambda r: -r["weight"])
    version_of_rules = rules_version(rules)
    components: dict[str, Any] = {
        "rules": {"score": round(rules_score, 4), "fired": [r.code for r in fired], "version": version_of_rules},
        "model": model,
        "network": {"score": network, "computed": True, "rings": [r.as_json() for r in rings]},
    }
    version = score_version(version_of_rules, model)
    return Score(_q(total), version, components, reasons[:TOP_REASONS], facts.known())


def claim_score(
    claim: Claim,
    *,
    trigger: str,
    at: dt.datetime,
    documents: tuple[str, ...] | None = None,
    partners: tuple[int, ...] | None = None,
    rings: list[Ring] | None = None,
) -> RiskAssessment | None:
    """Score a claim, store the assessment and write `Claim.risk_score` (read by straight-through
    review). Runs inside the claim's transaction. Nothing happens while the company has neither an
    active red-flag rule nor an active platform model: there is nothing to score with."""
    if not configured():
        return None
    result = evaluate(claim, documents=documents, partners=partners, rings=rings)
    assessment = RiskAssessment.objects.create(
        claim=claim,
        score=result.score,
        version=result.version,
        components={**result.components, "facts": result.facts},
        reasons=result.reasons,
        trigger=trigger,
        at=at,
    )
    if claim.risk_score != result.score:
        Claim.objects.filter(pk=claim.pk).update(risk_score=result.score)
        claim.risk_score = result.score
    return assessment


def reason_texts(reasons: list[dict[str, Any]], language: str | None = None) -> list[str]:
    """The stored reasons in the reader's language (Chinese when the language is not English)."""
    language = language or translation.get_language() or "zh-hans"
    key = "en" if language.startswith("en") else "zh-hans"
    return [r["text"].get(key) or r["text"].get("zh-hans", "") for r in reasons]


__all__ = ["ModelScope", "claim_score", "evaluate", "reason_texts"]
