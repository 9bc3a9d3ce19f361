"""The life of one seeded claim, planned in memory: which lifecycle path it took, when each step
happened, what was claimed, assessed, approved and paid. No database access here; `claims.seed`
turns the drafts into rows.

The path is replayed against `claims.lifecycle.TRANSITIONS` (source states, resume target) and each
step has the same effect on the claim as the service that takes it in production
(`claims.services`), so a seeded claim looks exactly like one that went through the services.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from claimwise.claims.choices import ReasonCode
from claimwise.claims.lifecycle import TRANSITIONS, Action, ClaimStatus
from claimwise.core.money import CENT
from claimwise.demo.identity import below, one
from claimwise.demo.products import LUMP_SUM, ProductSpec

S = ClaimStatus
OPEN_STEPS = {"register": S.REGISTERED, "investigate": S.INVESTIGATION, "assess": S.ASSESSMENT}
DECIDE = {"approve": "approve", "partial": "approve_partial", "deny": "deny"}

# The portfolio snapshot: most claims are settled, the rest spread over the open states.
FINAL_WEIGHTS: dict[str, int] = {
    S.CLOSED: 45,
    S.WITHDRAWN: 5,
    S.PAID: 4,
    S.PAYMENT_PENDING: 3,
    S.APPROVED: 2,
    S.PARTIALLY_APPROVED: 1,
    S.DENIED: 2,
    S.PENDING_APPROVAL: 4,
    S.AWAITING_DOCUMENTS: 6,
    S.ASSESSMENT: 10,
    S.INVESTIGATION: 4,
    S.REGISTERED: 8,
    S.REPORTED: 6,
}
# How long a claim has been sitting in its current state (days, uniform up to this; the whole-day
# shift adds up to one more day). Reported claims stay under the 72-hour forced registration, denials
# without a notice under the 3-day notice clock (Insurance Law art. 24).
AGE_DAYS: dict[str, float] = {
    S.REPORTED: 1.6,
    S.REGISTERED: 12,
    S.INVESTIGATION: 20,
    S.ASSESSMENT: 15,
    S.AWAITING_DOCUMENTS: 25,
    S.PENDING_APPROVAL: 4,
    S.APPROVED: 1.5,
    S.PARTIALLY_APPROVED: 1.5,
    S.DENIED: 1.5,
    S.PAYMENT_PENDING: 6,
    S.PAID: 8,
}
SETTLED_WITHIN_DAYS = 900
# Hours from the previous step (median, sigma, cap); staff steps then move into office hours.
STEP_HOURS: dict[str, tuple[float, float, float]] = {
    "register": (3, 0.9, 60),
    "investigate": (18, 0.8, 400),
    "assess": (20, 0.8, 400),
    "assess_after_investigation": (150, 0.6, 1500),
    "request_documents": (10, 0.9, 300),
    "resume": (96, 0.7, 900),
    "submit_for_approval": (48, 0.8, 900),
    "approve": (20, 0.8, 300),
    "approve_partial": (24, 0.8, 300),
    "deny": (30, 0.8, 300),
    "send_denial_notice": (8, 0.7, 60),
    "request_payment": (6, 0.8, 100),
    "confirm_payment": (36, 0.7, 200),
    "close": (24, 0.9, 400),
    "close_after_notice": (72, 0.6, 400),
    "withdraw": (48, 1.0, 600),
    "reopen": (720, 0.6, 3000),
}
CUSTOMER_STEPS = frozenset({"withdraw"})


def cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    out, total = [], 0.0
    for weight in weights:
        total += weight
        out.append(total)
    return tuple(out)


def pick(rng: random.Random, items: Sequence[Any], cum: Sequence[float]) -> Any:
    """`rng.choices(items, cum_weights=cum)[0]`, without the list (this runs millions of times)."""
    return items[bisect(cum, rng.random() * cum[-1])]


def sample(rng: random.Random, items: Sequence[Any], k: int) -> list[Any]:
    """`rng.sample(items, k)` for short tuples, minus its type checks."""
    pool = list(items)
    out = []
    for _ in range(min(k, len(pool))):
        out.append(pool.pop(int(rng.random() * len(pool))))
    return out


AWAIT_FROM = (S.REGISTERED, S.INVESTIGATION, S.ASSESSMENT)
AWAIT_CUM = cumulative((3, 2, 5))
WITHDRAW_FROM = (S.REPORTED, S.REGISTERED, S.INVESTIGATION, S.ASSESSMENT, S.AWAITING_DOCUMENTS, S.PENDING_APPROVAL)
WITHDRAW_CUM = cumulative((35, 20, 10, 20, 10, 5))
REPORT_HOUR_CUM = cumulative((1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1))


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class DecisionDraft:
    outcome: str
    amount: Decimal
    reason_codes: list[str]
    note: str
    decided_by: int | None
    decided_at: dt.datetime
    notice_sent_at: dt.datetime | None = None
    id: int | None = None


@dataclass(slots=True)
class PaymentDraft:
    decision: DecisionDraft
    amount: Decimal
    requested_by: int | None
    requested_at: dt.datetime
    paid_at: dt.datetime | None = None
    reference: str = ""
    id: int | None = None

    @property
    def status(self) -> str:
        return "paid" if self.paid_at else "pending"


@dataclass(slots=True)
class DocDraft:
    doc_type: str
    kind: str  # pdf | jpeg | png
    original_name: str
    uploaded_by: int | None
    uploaded_at: dt.datetime
    unique: bool = False
    file_name: str = ""
    size: int = 0
    content_type: str = ""
    sha256: str = ""
    id: int | None = None


@dataclass(slots=True)
class EventDraft:
    kind: str
    at: dt.datetime
    actor: int | None
    from_status: str
    to_status: str
    note: str
    data: dict[str, Any]
    visible: bool = True
    ref: DecisionDraft | PaymentDraft | DocDraft | None = None  # its id goes into `data` once known


@dataclass(slots=True)
class Step:
    action: str
    at: dt.datetime


@dataclass(slots=True)
class Plan:
    """What happens to a claim: the outcome if it is decided, and the actions in order."""

    final: str
    outcome: str | None  # approve | partial | deny
    deny_reason: str | None
    actions: tuple[str, ...]
    notice_pending: bool = False  # a denial decided within the last three days, notice not yet sent


def _work(rng: random.Random, upto: str, investigate: bool, cycles: int) -> list[str]:
    """register → [investigate] → assess → submit_for_approval, cut at `upto`, with missing-documents
    request/resume cycles after some of the open-work steps."""
    base = ["register"] + (["investigate"] if investigate else []) + ["assess", "submit_for_approval"]
    cuts: dict[str, int] = {
        S.REPORTED: 0,
        S.REGISTERED: 1,
        S.INVESTIGATION: 2,
        S.ASSESSMENT: len(base) - 1,
        S.PENDING_APPROVAL: len(base),
    }
    cut = cuts[upto]
    steps = base[:cut]
    slots = [i for i, action in enumerate(steps) if action in OPEN_STEPS]
    extra = [0] * len(steps)
    for _ in range(cycles if slots else 0):
        extra[one(rng, slots)] += 1
    out: list[str] = []
    for action, n in zip(steps, extra, strict=True):
        out.append(action)
        out.extend(["request_documents", "resume"] * n)
    return out


def _cycles(rng: random.Random) -> int:
    r = rng.random()
    return 0 if r < 0.6 else 1 if r < 0.94 else 2


def plan(rng: random.Random, final: str, *, line: str, product: ProductSpec, investigate_p: float) -> Plan:
    investigate = rng.random() < investigate_p
    outcome = deny_reason = None
    notice_pending = False
    if final in (S.REPORTED, S.REGISTERED, S.INVESTIGATION, S.ASSESSMENT, S.PENDING_APPROVAL):
        actions = _work(rng, final, investigate or final == S.INVESTIGATION, _cycles(rng) if final != S.REPORTED else 0)
    elif final == S.AWAITING_DOCUMENTS:
        upto = pick(rng, AWAIT_FROM, AWAIT_CUM)
        actions = _work(rng, upto, investigate or upto == S.INVESTIGATION, 1 if rng.random() < 0.15 else 0)
        actions.append("request_documents")
    elif final == S.WITHDRAWN:
        upto = pick(rng, WITHDRAW_FROM, WITHDRAW_CUM)
        if upto == S.AWAITING_DOCUMENTS:
            actions = _work(rng, S.ASSESSMENT, investigate, 0) + ["request_documents"]
        else:
            actions = _work(
                rng, upto, investigate or upto == S.INVESTIGATION, _cycles(rng) if upto != S.REPORTED else 0
            )
        actions.append("withdraw")
    else:
        if final == S.APPROVED:
            outcome = "approve"
        elif final == S.PARTIALLY_APPROVED:
            outcome = "partial"
        elif final == S.DENIED or final == S.CLOSED and rng.random() < 0.1:
            outcome = "deny"
        else:
            outcome = "partial" if rng.random() < 0.2 else "approve"
        actions = _work(rng, S.PENDING_APPROVAL, investigate or outcome == "deny" and rng.random() < 0.4, _cycles(rng))
        actions.append(DECIDE[outcome])
        if outcome == "deny":
            deny_reason = "pending"  # chosen by the caller, which knows the line's reasons
            notice_pending = final == S.DENIED and rng.random() < 0.5
            if not notice_pending:
                actions.append("send_denial_notice")
            if final == S.CLOSED:
                actions.append("close")
        else:
            tails: dict[str, int] = {
                S.APPROVED: 0,
                S.PARTIALLY_APPROVED: 0,
                S.PAYMENT_PENDING: 1,
                S.PAID: 2,
                S.CLOSED: 3,
            }
            tail = tails[final]
            actions.extend(["request_payment", "confirm_payment", "close"][:tail])
    return Plan(final, outcome, deny_reason, tuple(actions), notice_pending)


def reopened(rng: random.Random, inner: Plan, first: Plan) -> Plan:
    """A settled claim that was reopened (back to registered) and is being worked again."""
    rest = list(inner.actions)
    if rest and rest[0] == "register":
        rest = rest[1:]
    return Plan(inner.final, first.outcome, first.deny_reason, (*first.actions, "reopen", *rest))


@lru_cache(maxsize=4096)
def replay(actions: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """(action, from, to) for each action, checked against the lifecycle table."""
    status, resume, out = S.REPORTED.value, "", []
    for name in actions:
        transition = TRANSITIONS[Action(name)]
        if status not in transition.sources:
            raise ValueError(f"seed plan {actions}: {name} is not possible from {status}")
        target = resume if transition.target is None else transition.target.value
        if name == "request_documents":
            resume = status
        out.append((name, status, target))
        status = target
    return tuple(out)


class Clock:
    """Step times: log-normal gaps, staff work in office hours (Asia/Shanghai by default)."""

    def __init__(self, rng: random.Random, tz: dt.tzinfo) -> None:
        self.rng = rng
        self.tz = tz
        self.fixed = fixed_offset(tz)
        self.logs = {key: math.log(median) for key, (median, _s, _c) in STEP_HOURS.items()}

    def gap(self, key: str, scale: float = 1.0) -> dt.timedelta:
        _median, sigma, cap = STEP_HOURS[key]
        hours = math.exp(self.logs[key] + sigma * self.rng.gauss())
        return dt.timedelta(hours=max(min(hours, cap) * scale, 0.05))

    def office(self, t: dt.datetime) -> dt.datetime:
        fixed = self.fixed
        local = t + fixed if fixed is not None else t.astimezone(self.tz)
        hour = local.hour + local.minute / 60
        if 8.5 <= hour < 18.5:
            return t
        if fixed is not None:  # a zone without daylight saving (Asia/Shanghai): plain arithmetic
            start = local.replace(hour=9, minute=0, second=0, microsecond=0) - fixed
            if hour >= 18.5:
                start += dt.timedelta(days=1)
        else:
            day = local.date() if hour < 8.5 else local.date() + dt.timedelta(days=1)
            start = dt.datetime.combine(day, dt.time(9), self.tz).astimezone(dt.UTC)
        return start + dt.timedelta(minutes=below(self.rng, 90), seconds=below(self.rng, 60))

    def steps(self, start: dt.datetime, transitions: Sequence[tuple[str, str, str]], scale: float) -> list[Step]:
        t, out, previous = start, [], ""
        for action, _from, _to in transitions:
            key = action
            if action == "assess" and previous == "investigate":
                key = "assess_after_investigation"
            elif action == "close" and previous == "send_denial_notice":
                key = "close_after_notice"
            slow = scale if action in ("investigate", "assess", "submit_for_approval", "resume") else 1.0
            t = t + self.gap(key, slow)
            if action not in CUSTOMER_STEPS:
                t = self.office(t)
            out.append(Step(action, t))
            previous = action
        return out


def fixed_offset(tz: dt.tzinfo) -> dt.timedelta | None:
    """The zone's UTC offset if it has been the same for the last six years (no daylight saving)."""
    now = dt.datetime.now(dt.UTC)
    offsets = {(now - dt.timedelta(days=30 * m)).astimezone(tz).utcoffset() for m in range(0, 73)}
    return offsets.pop() if len(offsets) == 1 else None


def report_time(rng: random.Random, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """A provisional report time today, at an hour people report (most by day, some at night)."""
    hour = pick(rng, range(24), REPORT_HOUR_CUM)
    local_day = now.astimezone(tz).date()
    # Kept in UTC from here on: cheaper arithmetic and what the database stores.
    return dt.datetime.combine(local_day, dt.time(hour, below(rng, 60), below(rng, 60)), tz).astimezone(dt.UTC)


def shift_to(now: dt.datetime, end: dt.datetime, age: dt.timedelta) -> dt.timedelta:
    """Whole days to move a timeline so that it ends `age` before now (never later): keeps the
    time of day, so office hours stay office hours."""
    wanted = now - age
    days = math.floor((wanted - end) / dt.timedelta(days=1))
    return dt.timedelta(days=days)


def state_age(rng: random.Random, final: str) -> dt.timedelta:
    if final in (S.CLOSED, S.WITHDRAWN):
        return dt.timedelta(days=SETTLED_WITHIN_DAYS * rng.random() ** 1.3, hours=rng.random())
    return dt.timedelta(days=AGE_DAYS[final] * rng.random())


# --- amounts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Amounts:
    claimed: Decimal
    assessed: Decimal
    decision: Decimal  # what the decision grants (0 for a denial)
    reasons: tuple[str, ...]


def claimed_amount(rng: random.Random, spec: tuple, sum_insured: Decimal, loss_type: str) -> Decimal:
    kind = spec[0]
    if kind == "ln":
        value = rng.lognormvariate(math.log(spec[1]), spec[2])
        return money(max(50.0, min(value, float(sum_insured) * 1.2)))
    if kind == "si":
        if loss_type in LUMP_SUM and spec[1] < 1:  # disability: a grade from 10% to 100%
            grade = Decimal(rng.randint(int(spec[1] * 10), int(spec[2] * 10))) / 10
            return money(sum_insured * grade)
        return money(sum_insured * Decimal(str(round(rng.uniform(spec[1], spec[2]), 2))))
    return money(one(rng, spec[1:]))


def settle(
    rng: random.Random,
    *,
    claimed: Decimal,
    outcome: str | None,
    deny_reason: str | None,
    limit: Decimal | None,
    deductible: Decimal,
    sum_insured: Decimal,
    lump_sum: bool,
    partial_reasons: tuple[str, ...],
) -> Amounts:
    """Assessment and decision amounts within the rules the lifecycle guards enforce: an approval is
    above zero and at most min(limit − deductible, sum insured); a partial one is below the claim."""
    if outcome == "deny" and deny_reason == ReasonCode.BELOW_DEDUCTIBLE:
        claimed = money(deductible * Decimal(str(round(rng.uniform(0.3, 0.95), 2))))
    elif outcome in ("approve", "partial") and claimed <= deductible * Decimal("1.3") + 50:
        # a claim that is paid is worth more than its deductible, even after the assessment cut
        claimed = money(deductible * Decimal(str(round(rng.uniform(1.3, 2.5), 2))) + rng.randint(200, 3000))
    factor = 1.0 if lump_sum else rng.uniform(0.8, 1.0) if rng.random() < 0.6 else 1.0
    assessed = max(money(claimed * Decimal(str(round(factor, 3)))), CENT)
    if outcome is None or outcome == "deny" or limit is None:
        return Amounts(claimed, assessed, Decimal(0), ())
    ceiling = min(limit - deductible, sum_insured)
    payable = min(assessed - deductible, ceiling)
    if outcome == "approve":
        return Amounts(claimed, assessed, max(payable, CENT), ())
    reasons = [one(rng, partial_reasons)]
    if deductible > 0:
        reasons.append(ReasonCode.DEDUCTIBLE_APPLIED)
    if assessed - deductible > ceiling:
        reasons.append(ReasonCode.LIMIT_REACHED)
    amount = money(payable * Decimal(str(round(rng.uniform(0.5, 0.9), 3))))
    amount = min(max(amount, CENT), claimed - CENT)
    return Amounts(claimed, assessed, amount, tuple(dict.fromkeys(reasons)))
