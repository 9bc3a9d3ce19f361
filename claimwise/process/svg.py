"""The process map (P1, P4): a flow chart drawn on the server as SVG, no JavaScript.

Steps are laid out top to bottom in layers along their `next_steps` (longest path from the first
step, so a step always sits below every step that leads to it); an edge back up the flow is drawn
as a curve on the right. A claim's map highlights its current step, ticks the completed ones and
prints the running step deadlines. The customer's map shows the plain-language texts only: no
roles, no limits, no checklists. Every text is XML-escaped.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping
from html import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from claimwise.accounts.choices import Role
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.core.errors import NotFound
from claimwise.process.choices import ClockKind, ClockState, LimitUnit
from claimwise.process.definitions import definition_for
from claimwise.process.models import ClaimClock, ClaimProcess, ProcessDefinition, ProcessStep, localized

FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
NODE_W, NODE_H = 236, 78
GAP_X, GAP_Y = 28, 58
MARGIN, TITLE_H, LOOP_SPACE = 24, 40, 56
COLOURS = {
    "upcoming": ("#ffffff", "#94a3b8", "1.5"),
    "completed": ("#ecfdf5", "#059669", "1.5"),
    "current": ("#fef3c7", "#d97706", "3"),
}


def _width(text: str, size: float) -> float:
    """Approximate rendered width: CJK and other wide characters take a full em."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.56 for ch in text)


def _fit(text: str, size: float, width: float, lines: int) -> list[str]:
    """Wrap `text` into at most `lines` lines of `width`, ending with … when it does not fit."""
    out: list[str] = []
    current = ""
    for ch in text.strip():
        if _width(current + ch, size) > width:
            out.append(current)
            current = ch.lstrip()
            if len(out) == lines:
                break
        else:
            current += ch
    else:
        if current:
            out.append(current)
        return out
    last = out[-1]
    while last and _width(last + "…", size) > width:
        last = last[:-1]
    out[-1] = last + "…"
    return out


def limit_label(value: int, unit: str) -> str:
    if unit == LimitUnit.HOURS:
        return ngettext("%(n)s hour", "%(n)s hours", value) % {"n": value}
    if unit == LimitUnit.CALENDAR_DAYS:
        return ngettext("%(n)s day", "%(n)s days", value) % {"n": value}
    return ngettext("%(n)s working day", "%(n)s working days", value) % {"n": value}


def _layers(steps: list[ProcessStep]) -> dict[str, int]:
    """Longest-path layer of each step from the first one, ignoring edges that close a cycle."""
    keys = [s.key for s in steps]
    nexts = {s.key: [k for k in s.next_steps or [] if k in keys and k != s.key] for s in steps}
    forward: dict[str, list[str]] = {k: [] for k in keys}
    state: dict[str, int] = {}  # 1 on the DFS stack, 2 done
    order: list[str] = []

    def visit(key: str) -> None:
        state[key] = 1
        for nxt in nexts[key]:
            if state.get(nxt) == 1:
                continue  # a loop back up the flow
            forward[key].append(nxt)
            if nxt not in state:
                visit(nxt)
        state[key] = 2
        order.append(key)

    if keys:
        visit(keys[0])
    layer = dict.fromkeys(keys, -1)
    if keys:
        layer[keys[0]] = 0
    for key in reversed(order):  # topological order of the reachable part
        for nxt in forward[key]:
            layer[nxt] = max(layer[nxt], layer[key] + 1)
    bottom = max(layer.values(), default=0)
    for key in keys:  # a draft may hold unreachable steps: put them under the rest
        if layer[key] < 0:
            bottom += 1
            layer[key] = bottom
    return layer


def definition_svg(
    definition: ProcessDefinition,
    *,
    current_step: str | None = None,
    completed: Iterable[str] = (),
    deadlines: Mapping[str, dt.datetime] | None = None,
    customer: bool = False,
    now: dt.datetime | None = None,
) -> str:
    """The definition as an SVG flow chart; see the module docstring."""
    steps = list(definition.steps.order_by("position", "pk"))
    done = set(completed)
    deadlines = deadlines or {}
    now = now or timezone.now()
    layer = _layers(steps)
    rows: dict[int, list[ProcessStep]] = {}
    for step in steps:
        rows.setdefault(layer[step.key], []).append(step)
    widest = max((len(r) for r in rows.values()), default=1)
    edges = [(s.key, k) for s in steps for k in s.next_steps or [] if k in layer and k != s.key]
    has_loop = any(layer[t] <= layer[f] for f, t in edges)
    # An edge that skips a layer would run behind the boxes in between: it goes round the left.
    has_skip = any(layer[t] - layer[f] > 1 for f, t in edges)
    left = MARGIN + (LOOP_SPACE if has_skip else 0)
    content_w = widest * NODE_W + (widest - 1) * GAP_X
    width = left + MARGIN + content_w + (LOOP_SPACE if has_loop else 0)
    height = MARGIN * 2 + TITLE_H + len(rows) * NODE_H + max(len(rows) - 1, 0) * GAP_Y + 18
    box: dict[str, tuple[float, float]] = {}
    for index, row_layer in enumerate(sorted(rows)):
        row = rows[row_layer]
        row_w = len(row) * NODE_W + (len(row) - 1) * GAP_X
        x0 = left + (content_w - row_w) / 2
        y = MARGIN + TITLE_H + index * (NODE_H + GAP_Y)
        for i, step in enumerate(row):
            box[step.key] = (x0 + i * (NODE_W + GAP_X), y)

    title = definition.label if customer else f"{definition.label} · v{definition.version}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(title)}" '
        f'font-family="{escape(FONT)}" class="process-map">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>',
        f'<text x="{MARGIN}" y="{MARGIN + 16}" font-size="17" font-weight="700" fill="#0f172a">{escape(title)}</text>',
    ]
    # Edges first, so boxes sit on top of them.
    for source, target in edges:
        (sx, sy), (tx, ty) = box[source], box[target]
        span = layer[target] - layer[source]
        if span == 1:
            x1, y1, x2, y2 = sx + NODE_W / 2, sy + NODE_H, tx + NODE_W / 2, ty
            mid = (y1 + y2) / 2
            path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2 - 2:.1f}"
        elif span > 1:  # forward past other layers: round the left-hand side
            x1, y1, x2, y2 = sx, sy + NODE_H / 2, tx, ty + NODE_H / 2
            bend = left - LOOP_SPACE * 0.8
            path = f"M{x1:.1f},{y1:.1f} C{bend:.1f},{y1:.1f} {bend:.1f},{y2:.1f} {x2 - 2:.1f},{y2:.1f}"
        else:  # back up the flow (or sideways): round the right-hand side
            x1, y1, x2, y2 = sx + NODE_W, sy + NODE_H / 2, tx + NODE_W, ty + NODE_H / 2
            bend = left + content_w + LOOP_SPACE * 0.8
            path = f"M{x1:.1f},{y1:.1f} C{bend:.1f},{y1:.1f} {bend:.1f},{y2:.1f} {x2 + 2:.1f},{y2:.1f}"
        out.append(
            f'<path class="edge" d="{path}" fill="none" stroke="#64748b" stroke-width="1.5" marker-end="url(#arrow)"/>'
        )
    for step in steps:
        out.extend(_node(step, box[step.key], current_step, done, deadlines.get(step.key), customer, now))
    out.append("</svg>")
    return "\n".join(out)


def _node(
    step: ProcessStep,
    at: tuple[float, float],
    current_step: str | None,
    done: set[str],
    due: dt.datetime | None,
    customer: bool,
    now: dt.datetime,
) -> list[str]:
    x, y = at
    kind = "current" if step.key == current_step else "completed" if step.key in done else "upcoming"
    fill, stroke, stroke_w = COLOURS[kind]
    inner = NODE_W - 24
    mark = "✓ " if kind == "completed" else ""
    title = step.label if customer else step.name
    lines: list[tuple[str, float, str, str]] = [(mark + "".join(_fit(title, 14, inner - 14, 1)), 14, "700", "#0f172a")]
    if customer:
        text = localized(step.customer_text, step.customer_text_en)
        lines += [(t, 11.5, "400", "#334155") for t in _fit(text, 11.5, inner, 3)]
    else:
        if step.name_en:
            lines.append(("".join(_fit(step.name_en, 11.5, inner, 1)), 11.5, "400", "#475569"))
        role = Role(step.role).label if step.role in Role.values else step.role
        lines.append((f"{role} · {limit_label(step.limit_value, step.limit_unit)}", 11.5, "400", "#334155"))
    label = _("Current step") if kind == "current" else _("Completed") if kind == "completed" else ""
    attrs = f'class="step {kind}" data-step="{escape(step.key)}"'
    if kind == "current":
        attrs += ' aria-current="step"'
    out = [f"<g {attrs}>"]
    if label:
        out.append(f"<title>{escape(label)}</title>")
    out.append(
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="10" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{stroke_w}"/>'
    )
    ty = y + 22
    for text, size, weight, colour in lines:
        out.append(
            f'<text x="{x + 12:.1f}" y="{ty:.1f}" font-size="{size}" font-weight="{weight}" fill="{colour}">{escape(text)}</text>'
        )
        ty += size + 6
    if due is not None and kind != "completed":
        local = timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
        late = due < now
        text = (_("Overdue since %(when)s") if late else _("Due %(when)s")) % {"when": local}
        out.append(
            f'<text class="deadline" x="{x + NODE_W / 2:.1f}" y="{y + NODE_H + 15:.1f}" text-anchor="middle" '
            f'font-size="11.5" fill="{"#b91c1c" if late else "#334155"}">{escape(text)}</text>'
        )
    out.append("</g>")
    return out


def claim_map_svg(claim: Claim, *, customer: bool, now: dt.datetime | None = None) -> str:
    """The map of the process a claim follows, where it stands, and its running step deadlines.
    A claim not yet bound to a process is drawn on the definition that would govern it, its step
    taken from its status."""
    process = ClaimProcess.objects.filter(claim=claim).select_related("definition").first()
    if process is not None and process.definition is not None:
        definition = process.definition
        current: str | None = process.step_key or None
        completed = list(process.completed_steps or [])
    else:
        found = definition_for(claim.line, claim.loss_type)
        if found is None:
            raise NotFound(_("No claim process applies to this claim yet."))
        definition, current, completed = found, None, []
    if current is None:  # not tracked step by step (yet): the step that covers the claim's status
        status = claim.status
        if status == ClaimStatus.AWAITING_DOCUMENTS and claim.resume_status:
            status = claim.resume_status  # waiting for documents in the step it came from
        current = next((s.key for s in definition.steps.all() if status in (s.states or [])), None)
    clocks = ClaimClock.objects.filter(
        claim=claim, kind=ClockKind.STEP, state__in=[ClockState.RUNNING, ClockState.PAUSED]
    ).exclude(step_key="")
    deadlines = {c.step_key: c.due_at for c in clocks}
    return definition_svg(
        definition, current_step=current, completed=completed, deadlines=deadlines, customer=customer, now=now
    )
