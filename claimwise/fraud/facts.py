"""The facts a red-flag rule may ask about a claim (T5), typed like the process's facts so that a
typo or a type mismatch is refused when the rule is saved.

Cheap facts come from the claim and its policy; the costly ones (other claims of the claimant,
documents seen elsewhere, the watch list, the provider's record) are read only when a rule reaches
them, and at report time the ones that cannot hold yet (documents) are given, not read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

import rule_engine
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claimwise.claims.choices import DocumentType
from claimwise.claims.models import Claim, ClaimShare, Document
from claimwise.core.crypto import keyed_hash
from claimwise.core.errors import ValidationFailed
from claimwise.fraud.choices import WatchKind

T = rule_engine.DataType
FRAUD_FACT_TYPES: dict[str, Any] = {
    "line": T.STRING,
    "loss_type": T.STRING,
    "channel": T.STRING,
    "claimed_amount": T.FLOAT,
    "sum_insured": T.FLOAT,
    "coverage_limit": T.FLOAT,
    "amount_ratio": T.FLOAT,
    "days_since_inception": T.FLOAT,
    "report_delay_days": T.FLOAT,
    "fast_track_ratio": T.FLOAT,
    "authority_ratio": T.FLOAT,
    "incident_hour": T.FLOAT,
    "night_incident": T.BOOLEAN,
    "police_report": T.BOOLEAN,
    "documents": T.ARRAY(T.STRING),
    "prior_claims_12m": T.FLOAT,
    "payee_account_new": T.BOOLEAN,
    "duplicate_documents": T.FLOAT,
    "watchlist_hits": T.FLOAT,
    "provider_claims": T.FLOAT,
    "provider_flagged_share": T.FLOAT,
}
FRAUD_FACT_HELP = {
    "line": gettext_lazy("line of business: motor, health, accident, property, life, travel"),
    "loss_type": gettext_lazy("loss type, e.g. collision, theft, hospitalization, death"),
    "channel": gettext_lazy("report channel: web, app, phone, wechat, partner, api"),
    "claimed_amount": gettext_lazy("amount claimed (the assessed amount once there is one)"),
    "sum_insured": gettext_lazy("policy sum insured"),
    "coverage_limit": gettext_lazy("limit of the matching coverage (0 when none)"),
    "amount_ratio": gettext_lazy("amount claimed ÷ the coverage limit, or ÷ the sum insured without one"),
    "days_since_inception": gettext_lazy("days from the policy start to the incident"),
    "report_delay_days": gettext_lazy("days from the incident to the report"),
    "fast_track_ratio": gettext_lazy("amount ÷ the line's small-claim fast-track limit (0 without one)"),
    "authority_ratio": gettext_lazy("amount ÷ the lowest approval authority that covers it (0 above all)"),
    "incident_hour": gettext_lazy("hour of the incident, 0–23, local time"),
    "night_incident": gettext_lazy("the incident happened between 22:00 and 05:00"),
    "police_report": gettext_lazy("a police or accident report was received"),
    "documents": gettext_lazy('document types received, e.g. "police_report" in documents'),
    "prior_claims_12m": gettext_lazy("other claims of the same claimant reported in the 12 months before"),
    "payee_account_new": gettext_lazy("paid to a bank account the claimant used on none of their earlier claims"),
    "duplicate_documents": gettext_lazy("documents of this claim whose file (by SHA-256) is also on another claim"),
    "watchlist_hits": gettext_lazy("the claimant's phone or ID, the payee account or the plate on the watch list"),
    "provider_claims": gettext_lazy("claims of the claim's partners (repair shop, hospital) in the last 12 months"),
    "provider_flagged_share": gettext_lazy("share of those partner claims with a risk score of 0.5 or more"),
}
_CONTEXT = rule_engine.Context(type_resolver=rule_engine.type_resolver_from_dict(FRAUD_FACT_TYPES))
NIGHT = (22, 5)  # from 22:00 to 05:00 local time
FLAGGED = Decimal("0.5")


def expression_problem(text: str) -> str | None:
    """Why an expression cannot be used over the fraud facts, or None."""
    if not text.strip():
        return _("The expression is empty.")
    try:
        rule_engine.Rule(text, context=_CONTEXT)
    except rule_engine.RuleSyntaxError as exc:
        position = getattr(exc.token, "lexpos", None)
        if position is None:
            return _("Syntax error %(where)s.") % {"where": _("at the end")}
        where = _("at position %(pos)s (“%(text)s”)") % {"pos": position + 1, "text": exc.token.value}
        return _("Syntax error %(where)s.") % {"where": where}
    except rule_engine.SymbolResolutionError as exc:
        return _("Unknown name “%(name)s” at position %(pos)s; the names a rule may use are listed in the help.") % {
            "name": exc.symbol_name,
            "pos": text.find(exc.symbol_name) + 1,
        }
    except rule_engine.EngineError as exc:
        return _("The expression cannot be used: %(why)s.") % {"why": exc.message}
    return None


@lru_cache(maxsize=1024)
def compiled(text: str) -> rule_engine.Rule:
    try:
        return rule_engine.Rule(text, context=_CONTEXT)
    except rule_engine.EngineError:
        raise ValidationFailed({"expression": expression_problem(text) or ""}) from None


class FraudFacts(Mapping[str, Any]):
    """A claim's fraud facts; lazy ones are computed on first use and kept."""

    def __init__(self, values: dict[str, Any], lazy: dict[str, Callable[[], Any]]) -> None:
        self._values = values
        self._lazy = lazy

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            self._values[name] = self._lazy.pop(name)()
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(FRAUD_FACT_TYPES)

    def __len__(self) -> int:
        return len(FRAUD_FACT_TYPES)

    def known(self) -> dict[str, Any]:
        """The facts computed so far (for the stored assessment), as plain JSON values."""
        return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in self._values.items()}


def _d(value: Any) -> Decimal:
    return Decimal(value or 0)


def _ratio(a: Decimal, b: Decimal) -> Decimal:
    return (a / b).quantize(Decimal("0.0001")) if b > 0 else Decimal(0)


def _limits(line: str, loss_type: str) -> tuple[Decimal | None, list[Decimal]]:
    """The line's fast-track limit (if any) and the approval ceilings, from the cached line set-up."""
    from claimwise.claims.fnol import FAST_TRACK
    from claimwise.process.setup import line_setup

    setup = line_setup(line)
    definition = setup.definition_for(loss_type)
    fast: Decimal | None = definition.fast_track_limit if definition is not None else None
    if fast is None and line in FAST_TRACK:
        fast = FAST_TRACK[line][0]  # type: ignore[index]
    return fast, sorted(setup.limits.values())


def _prior_claims(claim: Claim) -> Decimal:
    since = claim.reported_at - dt.timedelta(days=365)
    return Decimal(
        Claim.objects.filter(claimant_id=claim.claimant_id, reported_at__gte=since, reported_at__lt=claim.reported_at)
        .exclude(pk=claim.pk)
        .count()
    )


def _payee_account_new(claim: Claim) -> bool:
    if not claim.payee_account:
        return False
    earlier = [
        a
        for a in Claim.objects.filter(claimant_id=claim.claimant_id, reported_at__lt=claim.reported_at)
        .exclude(pk=claim.pk)
        .exclude(payee_account=None)
        .values_list("payee_account", flat=True)[:50]
        if a
    ]
    return bool(earlier) and claim.payee_account not in earlier


def _documents(claim_id: int) -> tuple[str, ...]:
    return tuple(Document.objects.filter(claim_id=claim_id).values_list("doc_type", flat=True).distinct())


def _duplicate_documents(claim_id: int) -> Decimal:
    own = Document.objects.filter(claim_id=claim_id).values("sha256")
    return Decimal(
        Document.objects.filter(sha256__in=own).exclude(claim_id=claim_id).values("sha256").distinct().count()
    )


def watch_keys(claim: Claim) -> list[tuple[str, str]]:
    """What of a claim the watch list is compared with: (kind, value or keyed hash)."""
    claimant = claim.claimant
    keys = [(WatchKind.ID_HASH.value, claimant.id_hash)]
    if claimant.phone:
        keys.append((WatchKind.PHONE.value, claimant.phone))
    if claim.payee_account:
        keys.append((WatchKind.ACCOUNT_HASH.value, keyed_hash(claim.payee_account)))
    plate = getattr(claim.policy, "vehicle_plate", "")
    if plate:
        keys.append((WatchKind.PLATE.value, plate.upper().replace(" ", "")))
    return keys


def _watchlist_hits(claim: Claim) -> Decimal:
    from claimwise.fraud.models import WatchListEntry

    match = Q()
    for kind, value in watch_keys(claim):
        match |= Q(kind=kind, value=value)
    return Decimal(WatchListEntry.objects.filter(match, active=True).count())


def _provider(claim: Claim, partners: tuple[int, ...] | None) -> tuple[Decimal, Decimal]:
    if partners is None:
        partners = tuple(ClaimShare.objects.filter(claim_id=claim.pk).values_list("partner_id", flat=True))
    if not partners:
        return Decimal(0), Decimal(0)
    since = claim.reported_at - dt.timedelta(days=365)
    others = (
        Claim.objects.filter(shares__partner_id__in=partners, reported_at__gte=since).exclude(pk=claim.pk).distinct()
    )
    total = others.count()
    flagged = others.filter(risk_score__gte=FLAGGED).count() if total else 0
    return Decimal(total), _ratio(Decimal(flagged), Decimal(total))


def fraud_facts(
    claim: Claim, *, documents: tuple[str, ...] | None = None, partners: tuple[int, ...] | None = None
) -> FraudFacts:
    """The fraud facts of a claim (its policy and coverage loaded or loadable). At report time pass
    `documents=()` (nothing can have been uploaded or duplicated yet) and the partners the claim was
    shared with by its report, so neither is read back."""
    policy, coverage = claim.policy, claim.coverage
    amount = _d(claim.assessed_amount or claim.claimed_amount)
    sum_insured = _d(policy.sum_insured)
    limit = _d(coverage.limit if coverage else 0)
    fast, authorities = _limits(claim.line, claim.loss_type)
    authority = next((a for a in authorities if a >= amount), None)
    hour = timezone.localtime(claim.incident_at).hour
    values: dict[str, Any] = {
        "line": claim.line,
        "loss_type": claim.loss_type,
        "channel": claim.channel,
        "claimed_amount": amount,
        "sum_insured": sum_insured,
        "coverage_limit": limit,
        "amount_ratio": _ratio(amount, limit if limit > 0 else sum_insured),
        "days_since_inception": Decimal((claim.incident_at - policy.effective_from).total_seconds() / 86400).quantize(
            Decimal("0.01")
        ),
        "report_delay_days": Decimal((claim.reported_at - claim.incident_at).total_seconds() / 86400).quantize(
            Decimal("0.01")
        ),
        "fast_track_ratio": _ratio(amount, _d(fast)),
        "authority_ratio": _ratio(amount, _d(authority)),
        "incident_hour": Decimal(hour),
        "night_incident": hour >= NIGHT[0] or hour < NIGHT[1],
    }
    lazy: dict[str, Callable[[], Any]] = {
        "prior_claims_12m": lambda: _prior_claims(claim),
        "payee_account_new": lambda: _payee_account_new(claim),
        "watchlist_hits": lambda: _watchlist_hits(claim),
    }
    if documents is None:
        lazy["documents"] = lambda: _documents(claim.pk)
        lazy["police_report"] = lambda: DocumentType.POLICE_REPORT in facts["documents"]
        lazy["duplicate_documents"] = lambda: _duplicate_documents(claim.pk)
    else:
        values["documents"] = tuple(documents)
        values["police_report"] = DocumentType.POLICE_REPORT in documents
        values["duplicate_documents"] = Decimal(0) if not documents else _duplicate_documents(claim.pk)
    provider: list[tuple[Decimal, Decimal]] = []

    def _provider_once(i: int) -> Decimal:
        if not provider:
            provider.append(_provider(claim, partners))
        return provider[0][i]

    lazy["provider_claims"] = lambda: _provider_once(0)
    lazy["provider_flagged_share"] = lambda: _provider_once(1)
    facts = FraudFacts(values, lazy)
    return facts
