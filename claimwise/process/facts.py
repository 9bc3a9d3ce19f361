"""The facts a rule may ask about a claim, and the one way expressions are compiled.

Materials conditions and auto-review rules are `rule-engine` expressions: typed, safe, no `eval`.
Every name a rule may use is declared here with its type, so a typo or a type mismatch is refused
when the rule is saved, with the position of the problem, not when a claim meets it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import rule_engine
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claimwise.claims.models import Claim
from claimwise.core.errors import ValidationFailed

T = rule_engine.DataType
FACT_TYPES: dict[str, Any] = {
    "line": T.STRING,
    "loss_type": T.STRING,
    "channel": T.STRING,
    "complexity": T.STRING,
    "priority": T.STRING,
    "claimed_amount": T.FLOAT,
    "assessed_amount": T.FLOAT,
    "sum_insured": T.FLOAT,
    "coverage_limit": T.FLOAT,
    "deductible": T.FLOAT,
    "days_since_inception": T.FLOAT,
    "report_delay_hours": T.FLOAT,
    "incident_hour": T.FLOAT,
    "prior_claims_12m": T.FLOAT,
    "documents": T.ARRAY(T.STRING),
    "documents_complete": T.BOOLEAN,
    "policy_status": T.STRING,
    "policy_in_force": T.BOOLEAN,
    "coverage_match": T.BOOLEAN,
    "late_report": T.BOOLEAN,
    "risk_score": T.FLOAT,
}
FACT_HELP = {
    "line": gettext_lazy("line of business: motor, health, accident, property, life, travel"),
    "loss_type": gettext_lazy("loss type, e.g. collision, theft, hospitalization, death"),
    "channel": gettext_lazy("report channel: web, app, phone, wechat, partner, api"),
    "complexity": gettext_lazy("simple, standard or complex"),
    "priority": gettext_lazy("low, normal, high or urgent"),
    "claimed_amount": gettext_lazy("amount claimed"),
    "assessed_amount": gettext_lazy("assessed amount (0 before assessment)"),
    "sum_insured": gettext_lazy("policy sum insured"),
    "coverage_limit": gettext_lazy("limit of the matching coverage (0 when none)"),
    "deductible": gettext_lazy("deductible of the matching coverage"),
    "days_since_inception": gettext_lazy("days from the policy start to the incident"),
    "report_delay_hours": gettext_lazy("hours from the incident to the report"),
    "incident_hour": gettext_lazy("hour of the incident, 0–23, local time"),
    "prior_claims_12m": gettext_lazy("other claims on the same policy in the 12 months before this report"),
    "documents": gettext_lazy('document types received, e.g. "police_report" in documents'),
    "documents_complete": gettext_lazy("every required material received"),
    "policy_status": gettext_lazy("policy status: active, lapsed, cancelled, expired"),
    "policy_in_force": gettext_lazy("the incident lies in the policy period and the policy is active"),
    "coverage_match": gettext_lazy("a coverage of the policy covers this loss type"),
    "late_report": gettext_lazy("reported more than 48 hours after the incident"),
    "risk_score": gettext_lazy("fraud risk score 0–1 (0 until the risk model scores the claim)"),
}
_CONTEXT = rule_engine.Context(type_resolver=rule_engine.type_resolver_from_dict(FACT_TYPES))


@dataclass(frozen=True)
class ExpressionProblem:
    message: str
    position: int | None  # 0-based character offset, when the parser knows it


def expression_problem(text: str) -> ExpressionProblem | None:
    """Why an expression cannot be used, or None. Unknown names and type mismatches count."""
    if not text.strip():
        return ExpressionProblem(_("The expression is empty."), 0)
    try:
        rule_engine.Rule(text, context=_CONTEXT)
    except rule_engine.RuleSyntaxError as exc:
        token = exc.token
        position = getattr(token, "lexpos", None)
        if position is None:
            position = len(text)
            where = _("at the end")
        else:
            where = _("at position %(pos)s (“%(text)s”)") % {"pos": position + 1, "text": token.value}
        return ExpressionProblem(_("Syntax error %(where)s.") % {"where": where}, position)
    except rule_engine.SymbolResolutionError as exc:
        position = text.find(exc.symbol_name)
        return ExpressionProblem(
            _("Unknown name “%(name)s” at position %(pos)s; the names a rule may use are listed in the help.")
            % {"name": exc.symbol_name, "pos": position + 1},
            position if position >= 0 else None,
        )
    except rule_engine.EngineError as exc:
        return ExpressionProblem(_("The expression cannot be used: %(why)s.") % {"why": exc.message}, None)
    return None


def compile_expression(text: str, *, field: str = "expression") -> rule_engine.Rule:
    """A compiled rule, or ValidationFailed naming the field and the position of the problem."""
    try:
        return _compiled(text)
    except rule_engine.EngineError:
        problem = expression_problem(text)
        assert problem is not None
        raise ValidationFailed([{"field": field, "message": problem.message, "position": problem.position}]) from None


@lru_cache(maxsize=2048)
def _compiled(text: str) -> rule_engine.Rule:
    # Parsing is the expensive part; a compiled rule only reads the facts it is given.
    return rule_engine.Rule(text, context=_CONTEXT)


def _f(value: Decimal | int | None) -> Decimal:
    return Decimal(value or 0)


# What the facts are made of, as `values()` names: one row per claim for batch evaluation.
FACT_SOURCE = (
    "id",
    "line",
    "loss_type",
    "channel",
    "complexity",
    "priority",
    "claimed_amount",
    "assessed_amount",
    "incident_at",
    "reported_at",
    "late_report",
    "policy_id",
    "policy__sum_insured",
    "policy__effective_from",
    "policy__effective_to",
    "policy__status",
    "coverage_id",
    "coverage__limit",
    "coverage__deductible",
    "risk_score",
)


class Facts(Mapping[str, Any]):
    """A claim's facts for `rule-engine`. The costly ones (documents received, prior claims) are read
    only when a rule gets that far: `a and b` stops at the first false term."""

    def __init__(self, values: dict[str, Any], lazy: dict[str, Callable[[], Any]]) -> None:
        self._values = values
        self._lazy = lazy

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            self._values[name] = self._lazy.pop(name)()
        return self._values[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._values[name] = value
        self._lazy.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._values or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(FACT_TYPES)

    def __len__(self) -> int:
        return len(FACT_TYPES)


def _prior_claims(claim_id: int, policy_id: int, reported_at: dt.datetime) -> Decimal:
    return Decimal(
        Claim.objects.filter(
            policy_id=policy_id, reported_at__gte=reported_at - dt.timedelta(days=365), reported_at__lt=reported_at
        )
        .exclude(pk=claim_id)
        .count()
    )


def _documents(claim_id: int) -> tuple[str, ...]:
    from claimwise.claims.models import Document

    return tuple(Document.objects.filter(claim_id=claim_id).values_list("doc_type", flat=True).distinct())


def facts_from_values(
    v: Mapping[str, Any],
    *,
    documents: tuple[str, ...] | None = None,
    documents_complete: bool = False,
    prior_claims_12m: int | None = None,
    risk_score: Decimal | float | None = None,
) -> Facts:
    """Facts from one row of `FACT_SOURCE` values; what is not given is read when a rule needs it."""
    incident_at, reported_at = v["incident_at"], v["reported_at"]
    starts, ends = v["policy__effective_from"], v["policy__effective_to"]
    values: dict[str, Any] = {
        "line": v["line"],
        "loss_type": v["loss_type"],
        "channel": v["channel"],
        "complexity": v["complexity"],
        "priority": v["priority"],
        "claimed_amount": _f(v["claimed_amount"]),
        "assessed_amount": _f(v["assessed_amount"]),
        "sum_insured": _f(v["policy__sum_insured"]),
        "coverage_limit": _f(v["coverage__limit"]),
        "deductible": _f(v["coverage__deductible"]),
        "days_since_inception": Decimal((incident_at - starts).total_seconds() / 86400).quantize(Decimal("0.01")),
        "report_delay_hours": Decimal((reported_at - incident_at).total_seconds() / 3600).quantize(Decimal("0.01")),
        "incident_hour": Decimal(timezone.localtime(incident_at).hour),
        "documents_complete": documents_complete,
        "policy_status": v["policy__status"],
        "policy_in_force": starts <= incident_at <= ends and v["policy__status"] == "active",
        "coverage_match": v["coverage_id"] is not None,
        "late_report": v["late_report"],
        "risk_score": Decimal(str(risk_score if risk_score is not None else v.get("risk_score") or 0)),
    }
    lazy: dict[str, Callable[[], Any]] = {}
    if documents is None:
        lazy["documents"] = lambda: _documents(v["id"])
    else:
        values["documents"] = tuple(documents)
    if prior_claims_12m is None:
        lazy["prior_claims_12m"] = lambda: _prior_claims(v["id"], v["policy_id"], reported_at)
    else:
        values["prior_claims_12m"] = Decimal(prior_claims_12m)
    return Facts(values, lazy)


def claim_facts(
    claim: Claim,
    *,
    documents: tuple[str, ...] | None = None,
    documents_complete: bool = False,
    prior_claims_12m: int | None = None,
    risk_score: Decimal | float | None = None,
) -> Facts:
    """The facts of one claim (with its policy and coverage loaded); the risk score is the claim's
    own unless given (0 while unscored)."""
    policy, coverage = claim.policy, claim.coverage
    values = {
        "id": claim.pk,
        "line": claim.line,
        "loss_type": claim.loss_type,
        "channel": claim.channel,
        "complexity": claim.complexity,
        "priority": claim.priority,
        "claimed_amount": claim.claimed_amount,
        "assessed_amount": claim.assessed_amount,
        "incident_at": claim.incident_at,
        "reported_at": claim.reported_at,
        "late_report": claim.late_report,
        "policy_id": claim.policy_id,
        "policy__sum_insured": policy.sum_insured,
        "policy__effective_from": policy.effective_from,
        "policy__effective_to": policy.effective_to,
        "policy__status": policy.status,
        "coverage_id": claim.coverage_id,
        "coverage__limit": coverage.limit if coverage else None,
        "coverage__deductible": coverage.deductible if coverage else None,
        "risk_score": claim.risk_score,
    }
    return facts_from_values(
        values,
        documents=documents,
        documents_complete=documents_complete,
        prior_claims_12m=prior_claims_12m,
        risk_score=risk_score,
    )
