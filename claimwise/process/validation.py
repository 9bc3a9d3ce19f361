"""Whether a process definition can be used (P1, P5, S2), checked over the plain document.

The same structure is edited in the back office, exported and imported (`claimwise.process/v1`,
see docs/process-format.md), so one function judges all three: `definition_problems(data)` returns
every problem at once as `{field, message}` (with `position` for an expression), never only the
first, so a company fixing an imported file sees the whole list.
"""

from __future__ import annotations

import re
from collections import deque
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from claimwise.accounts.choices import Role
from claimwise.claims.choices import DocumentType, LossType
from claimwise.claims.lifecycle import TRANSITIONS, Action, ClaimStatus
from claimwise.core.choices import LineOfBusiness
from claimwise.process.choices import LimitUnit
from claimwise.process.facts import expression_problem

FORMAT = "claimwise.process/v1"
SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
CODE_MAX, KEY_MAX = 50, 40

# Regulatory presets: a company may be stricter, never looser (regulations.md).
PRESET_MAXIMA = {
    "fast_track_days": 3,  # 小额理赔: complete small claims paid within 3 days
    "life_decision_working_days": 5,  # 人身保险理赔服务规范: decided within 5 working days
    "forced_registration_hours": 72,  # forced registration (立案) after 72 hours
    "callback_working_days": 15,  # 机动车辆保险理赔管理指引: callback within 15 working days of payment
}
PRESET_DEFAULTS: dict[str, Any] = {
    "fast_track_limit": None,
    "fast_track_days": 3,
    "life_decision_working_days": 5,
    "forced_registration_hours": 72,
    "callback_working_days": 15,
    "default_reserve": None,
}
# 保险小额理赔服务指引 (2015): motor ≤ 5,000 yuan, personal medical ≤ 3,000 yuan, no other line.
FAST_TRACK_MAXIMA = {LineOfBusiness.MOTOR.value: Decimal("5000"), LineOfBusiness.HEALTH.value: Decimal("3000")}

DEFINITION_FIELDS = {
    "format",
    "code",
    "name",
    "name_en",
    "description",
    "line",
    "loss_types",
    "pause_on_documents",
    "presets",
    "steps",
    "materials",
}
STEP_FIELDS = {
    "key",
    "name",
    "name_en",
    "customer_text",
    "customer_text_en",
    "states",
    "role",
    "limit_value",
    "limit_unit",
    "warn_percent",
    "escalate_to",
    "checklist",
    "next_steps",
}
CHECK_FIELDS = {"key", "text", "text_en"}
MATERIAL_FIELDS = {"key", "doc_type", "name", "name_en", "condition"}
#: A step is work for the company or a partner; the customer's own waiting has no owner clock.
OWNER_ROLES = frozenset(r.value for r in Role if r != Role.CUSTOMER)


def _successors() -> dict[str, set[str]]:
    """One lifecycle move from each state; "resume" returns to any state documents can be asked in."""
    graph: dict[str, set[str]] = {s.value: set() for s in ClaimStatus}
    resume_to = {s.value for s in TRANSITIONS[Action.REQUEST_DOCUMENTS].sources}
    for t in TRANSITIONS.values():
        for source in t.sources:
            targets = {t.target.value} if t.target is not None else resume_to
            graph[source.value] |= targets - {source.value}
    return graph


LIFECYCLE = _successors()


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field: str, message: str, **extra: Any) -> None:
        self.items.append({"field": field, "message": message, **extra})


def _text(p: _Problems, obj: dict, key: str, where: str, *, max_length: int, required: bool = False) -> str:
    value = obj.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        p.add(where, _("Give text."))
        return ""
    if required and not value.strip():
        p.add(where, _("This field is required."))
    elif len(value) > max_length:
        p.add(where, _("Too long: at most %(n)s characters.") % {"n": max_length})
    return value


def _slug(p: _Problems, obj: dict, key: str, where: str, *, max_length: int) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        p.add(where, _("This field is required."))
        return ""
    if len(value) > max_length:
        p.add(where, _("Too long: at most %(n)s characters.") % {"n": max_length})
    elif not SLUG.match(value):
        p.add(where, _("Use lower-case letters, digits, “-” and “_” only, e.g. “assess-damage”."))
    return value


def _int(p: _Problems, obj: dict, key: str, where: str, default: int, low: int, high: int | None) -> int | None:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        p.add(where, _("Give a whole number."))
        return None
    if value < low or (high is not None and value > high):
        if high is None:
            p.add(where, _("Must be at least %(n)s.") % {"n": low})
        else:
            p.add(where, _("Must be between %(low)s and %(high)s.") % {"low": low, "high": high})
        return None
    return value


def _choice(p: _Problems, value: Any, where: str, allowed: set[str] | frozenset[str], what: Any) -> bool:
    if not isinstance(value, str) or value not in allowed:
        p.add(
            where,
            _("Unknown %(what)s “%(value)s”; choose one of: %(values)s.")
            % {
                "what": what,
                "value": value,
                "values": ", ".join(sorted(allowed)),
            },
        )
        return False
    return True


def _unknown_fields(p: _Problems, obj: dict, allowed: set[str], prefix: str) -> None:
    for name in sorted(set(obj) - allowed, key=str):
        p.add(f"{prefix}{name}", _("Unknown field; remove it."))


def parse_money(value: Any) -> Decimal | None:
    """An amount from a document: a string or an integer (floats are refused: they lose cents)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool | float):
        raise ValueError(value)
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(value)
    return amount


def _presets(p: _Problems, data: dict, line: str) -> None:
    presets = data.get("presets", {})
    if presets is None:
        presets = {}
    if not isinstance(presets, dict):
        p.add("presets", _("Give an object."))
        return
    _unknown_fields(p, presets, set(PRESET_DEFAULTS), "presets.")
    for name, maximum in PRESET_MAXIMA.items():
        value = presets.get(name, PRESET_DEFAULTS[name])
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            p.add(f"presets.{name}", _("Give a whole number of at least 1."))
        elif value > maximum:
            p.add(
                f"presets.{name}",
                _("At most %(max)s: a company may make this promise stricter than the regulation, never looser.")
                % {"max": maximum},
            )
    for name in ("fast_track_limit", "default_reserve"):
        try:
            amount = parse_money(presets.get(name))
        except ValueError:
            p.add(f"presets.{name}", _('Give an amount in yuan as text, such as "5000.00", or leave it empty.'))
            continue
        if name == "fast_track_limit" and amount is not None:
            ceiling = FAST_TRACK_MAXIMA.get(line)
            if ceiling is None:
                p.add(
                    f"presets.{name}",
                    _(
                        "The small-claim fast track (保险小额理赔服务指引) applies to motor and medical claims only; leave it empty."
                    ),
                )
            elif amount > ceiling:
                p.add(
                    f"presets.{name}",
                    _("At most %(max)s yuan for this line (保险小额理赔服务指引); stricter is allowed, looser is not.")
                    % {"max": ceiling},
                )
            elif amount <= 0:
                p.add(f"presets.{name}", _("Must be greater than %(n)s.") % {"n": 0})


def _checklist(p: _Problems, items: Any, where: str) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        p.add(where, _("Give a list."))
        return
    seen: set[str] = set()
    for j, item in enumerate(items):
        at = f"{where}[{j}]"
        if not isinstance(item, dict):
            p.add(at, _("Give an object with key, text and text_en."))
            continue
        _unknown_fields(p, item, CHECK_FIELDS, f"{at}.")
        key = _slug(p, item, "key", f"{at}.key", max_length=KEY_MAX)
        if key in seen:
            p.add(f"{at}.key", _("The key “%(key)s” is used twice in this checklist.") % {"key": key})
        seen.add(key)
        _text(p, item, "text", f"{at}.text", max_length=300, required=True)
        _text(p, item, "text_en", f"{at}.text_en", max_length=300)


def _steps(p: _Problems, steps: Any) -> None:
    if not isinstance(steps, list) or not steps:
        p.add("steps", _("A process needs at least one step."))
        return
    keys: dict[str, int] = {}
    owner_of_state: dict[str, str] = {}
    states_of: dict[str, set[str]] = {}
    nexts: dict[str, list[str]] = {}
    for i, step in enumerate(steps):
        at = f"steps[{i}]"
        if not isinstance(step, dict):
            p.add(at, _("Give an object."))
            continue
        _unknown_fields(p, step, STEP_FIELDS, f"{at}.")
        key = _slug(p, step, "key", f"{at}.key", max_length=KEY_MAX)
        if key and key in keys:
            p.add(f"{at}.key", _("The key “%(key)s” is already used by step %(n)s.") % {"key": key, "n": keys[key] + 1})
        elif key:
            keys[key] = i
        _text(p, step, "name", f"{at}.name", max_length=100, required=True)
        _text(p, step, "name_en", f"{at}.name_en", max_length=100)
        _text(p, step, "customer_text", f"{at}.customer_text", max_length=300)
        _text(p, step, "customer_text_en", f"{at}.customer_text_en", max_length=300)
        if "role" not in step:
            p.add(f"{at}.role", _("Every step needs a responsible role."))
        else:
            _choice(p, step["role"], f"{at}.role", OWNER_ROLES, _("role"))
        _choice(p, step.get("escalate_to", Role.SUPERVISOR.value), f"{at}.escalate_to", OWNER_ROLES, _("role"))
        if "limit_value" in step:
            _int(p, step, "limit_value", f"{at}.limit_value", 0, 1, None)
        else:
            p.add(f"{at}.limit_value", _("Every step needs a time limit."))
        _choice(
            p,
            step.get("limit_unit", LimitUnit.WORKING_DAYS.value),
            f"{at}.limit_unit",
            set(LimitUnit.values),
            _("unit"),
        )
        _int(p, step, "warn_percent", f"{at}.warn_percent", 75, 1, 99)
        _checklist(p, step.get("checklist", []), f"{at}.checklist")
        states = step.get("states")
        if not isinstance(states, list) or not states:
            p.add(f"{at}.states", _("A step covers at least one claim state."))
            states = []
        valid_states: set[str] = set()
        for state in states:
            if not _choice(p, state, f"{at}.states", set(ClaimStatus.values), _("claim state")):
                continue
            if state in owner_of_state and owner_of_state[state] != key:
                p.add(
                    f"{at}.states",
                    _("The state “%(state)s” already belongs to step “%(other)s”; a state belongs to one step.")
                    % {"state": state, "other": owner_of_state[state]},
                )
            owner_of_state.setdefault(state, key)
            valid_states.add(state)
        nxt = step.get("next_steps", [])
        if not isinstance(nxt, list) or not all(isinstance(k, str) for k in nxt):
            p.add(f"{at}.next_steps", _("Give a list of step keys."))
            nxt = []
        if key:
            states_of[key] = valid_states
            nexts[key] = list(nxt)
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or step.get("key") not in nexts:
            continue
        key = step["key"]
        seen: set[str] = set()
        for target in nexts[key]:
            where = f"steps[{i}].next_steps"
            if target in seen:
                p.add(where, _("“%(key)s” is listed twice.") % {"key": target})
            seen.add(target)
            if target == key:
                p.add(where, _("A step cannot lead to itself."))
            elif target not in keys:
                p.add(where, _("There is no step with the key “%(key)s”.") % {"key": target})
            elif not _lifecycle_allows(states_of[key], states_of[target], owner_of_state):
                p.add(
                    where,
                    _(
                        "A claim cannot move from step “%(source)s” (%(from)s) to step “%(target)s” (%(to)s) in the claim lifecycle."
                    )
                    % {
                        "source": key,
                        "target": target,
                        "from": ", ".join(sorted(states_of[key])) or "-",
                        "to": ", ".join(sorted(states_of[target])) or "-",
                    },
                )
    first = steps[0].get("key") if isinstance(steps[0], dict) else None
    if first in nexts:
        reached = {first}
        queue = deque([first])
        while queue:
            for target in nexts[queue.popleft()]:
                if target in nexts and target not in reached:
                    reached.add(target)
                    queue.append(target)
        for key, i in keys.items():
            if key not in reached:
                p.add(
                    f"steps[{i}]",
                    _("Step “%(key)s” cannot be reached from the first step “%(first)s” through next steps.")
                    % {"key": key, "first": first},
                )


def _lifecycle_allows(source: set[str], target: set[str], owner_of_state: dict[str, str]) -> bool:
    """A claim in one of `source`'s states can reach one of `target`'s, passing only through states
    no step owns (e.g. awaiting documents, where the current step just waits)."""
    queue = deque(source)
    seen = set(source)
    while queue:
        for nxt in LIFECYCLE[queue.popleft()]:
            if nxt in target:
                return True
            if nxt not in seen and nxt not in owner_of_state:
                seen.add(nxt)
                queue.append(nxt)
    return False


def _materials(p: _Problems, materials: Any) -> None:
    if materials is None:
        return
    if not isinstance(materials, list):
        p.add("materials", _("Give a list."))
        return
    keys: set[str] = set()
    for i, item in enumerate(materials):
        at = f"materials[{i}]"
        if not isinstance(item, dict):
            p.add(at, _("Give an object."))
            continue
        _unknown_fields(p, item, MATERIAL_FIELDS, f"{at}.")
        key = _slug(p, item, "key", f"{at}.key", max_length=KEY_MAX)
        if key in keys:
            p.add(f"{at}.key", _("The key “%(key)s” is used twice.") % {"key": key})
        keys.add(key)
        _choice(p, item.get("doc_type"), f"{at}.doc_type", set(DocumentType.values), _("document type"))
        _text(p, item, "name", f"{at}.name", max_length=200, required=True)
        _text(p, item, "name_en", f"{at}.name_en", max_length=200)
        condition = _text(p, item, "condition", f"{at}.condition", max_length=2000)
        if condition.strip():
            problem = expression_problem(condition)
            if problem is not None:
                p.add(f"{at}.condition", problem.message, position=problem.position)


def definition_problems(data: Any) -> list[dict[str, Any]]:
    """Every reason this document cannot be saved, published or imported; empty when it can."""
    p = _Problems()
    if not isinstance(data, dict):
        p.add("document", _("Give a JSON or YAML object."))
        return p.items
    _unknown_fields(p, data, DEFINITION_FIELDS, "")
    if "format" in data and data["format"] != FORMAT:
        p.add(
            "format", _("Unsupported format “%(got)s”; expected “%(want)s”.") % {"got": data["format"], "want": FORMAT}
        )
    _slug(p, data, "code", "code", max_length=CODE_MAX)
    _text(p, data, "name", "name", max_length=200, required=True)
    _text(p, data, "name_en", "name_en", max_length=200)
    _text(p, data, "description", "description", max_length=5000)
    line = data.get("line")
    _choice(p, line, "line", set(LineOfBusiness.values), _("line of business"))
    loss_types = data.get("loss_types", [])
    if not isinstance(loss_types, list):
        p.add("loss_types", _("Give a list."))
    else:
        for value in loss_types:
            _choice(p, value, "loss_types", set(LossType.values), _("loss type"))
        if len(set(map(str, loss_types))) != len(loss_types):
            p.add("loss_types", _("A loss type is listed twice."))
    if not isinstance(data.get("pause_on_documents", True), bool):
        p.add("pause_on_documents", _("Give true or false."))
    _presets(p, data, line if isinstance(line, str) else "")
    _steps(p, data.get("steps"))
    _materials(p, data.get("materials", []))
    return p.items


def normalized(data: dict[str, Any]) -> dict[str, Any]:
    """The canonical document (every field present, defaults filled, amounts as text) of a document
    that has no problems: what is stored, exported and compared."""
    presets = {**PRESET_DEFAULTS, **(data.get("presets") or {})}
    for name in ("fast_track_limit", "default_reserve"):
        amount = parse_money(presets[name])
        presets[name] = None if amount is None else f"{amount:.2f}"
    return {
        "format": FORMAT,
        "code": data["code"],
        "name": data["name"],
        "name_en": data.get("name_en") or "",
        "description": data.get("description") or "",
        "line": data["line"],
        "loss_types": list(data.get("loss_types") or []),
        "pause_on_documents": data.get("pause_on_documents", True),
        "presets": {name: presets[name] for name in PRESET_DEFAULTS},
        "steps": [
            {
                "key": s["key"],
                "name": s["name"],
                "name_en": s.get("name_en") or "",
                "customer_text": s.get("customer_text") or "",
                "customer_text_en": s.get("customer_text_en") or "",
                "states": list(s["states"]),
                "role": s["role"],
                "limit_value": s["limit_value"],
                "limit_unit": s.get("limit_unit", LimitUnit.WORKING_DAYS.value),
                "warn_percent": s.get("warn_percent", 75),
                "escalate_to": s.get("escalate_to", Role.SUPERVISOR.value),
                "checklist": [
                    {"key": c["key"], "text": c["text"], "text_en": c.get("text_en") or ""}
                    for c in s.get("checklist") or []
                ],
                "next_steps": list(s.get("next_steps") or []),
            }
            for s in data["steps"]
        ],
        "materials": [
            {
                "key": m["key"],
                "doc_type": m["doc_type"],
                "name": m["name"],
                "name_en": m.get("name_en") or "",
                "condition": (m.get("condition") or "").strip(),
            }
            for m in data.get("materials") or []
        ],
    }
