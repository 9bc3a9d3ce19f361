"""The pure layout of the neighbourhood picture (fraud.graph) and the early-warning line chart
(workbench.charts): deterministic coordinates, caps with "+N more", rings first and emphasised."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from claimwise.fraud.graph import layout
from claimwise.workbench.charts import line_chart, nice_step


@dataclass(frozen=True)
class L:
    kind: str
    entity: str
    claims: list[tuple[int, str]]
    claimants: int = 1


def _claims(start: int, n: int) -> list[tuple[int, str]]:
    return [(start + i, f"CL{start + i:06d}") for i in range(n)]


def test_the_claim_is_at_the_centre_entities_around_it_and_claims_outside() -> None:
    links = [L("phone", "138****5678", _claims(10, 2)), L("claimant", "王芳", _claims(20, 1))]
    g = layout(links)
    assert g.cx == g.cy == g.size / 2
    assert [e.kind for e in g.entities] == ["claimant", "phone"]  # kind order, not input order
    inner = {round(math.dist((g.cx, g.cy), (e.x, e.y))) for e in g.entities}
    outer = {round(math.dist((g.cx, g.cy), (c.x, c.y))) for c in g.claims}
    assert len(inner) == 1 and len(outer) == 1 and inner.pop() < outer.pop()
    assert sorted(c.number for c in g.claims) == ["CL000010", "CL000011", "CL000020"]
    # One edge centre → entity per entity and one entity → claim per shared claim.
    assert len(g.edges) == 2 + 3
    # Every node is inside the picture's box, which is no larger than the square.
    left, top, width, height = g.view
    assert left >= 0 and top >= 0 and left + width <= g.size and top + height <= g.size
    for node in [*g.entities, *g.claims]:
        assert left < node.x < left + width and top < node.y < top + height
    assert g.view_box == " ".join(f"{v:g}" for v in g.view)


def test_the_same_links_give_the_same_picture_in_any_order() -> None:
    links = [L("phone", "138", _claims(1, 3)), L("account", "***3445", _claims(5, 2)), L("plate", "京A***1", [])]
    assert layout(links, rings=[("account", "***3445")]) == layout(
        list(reversed(links)), rings=[("account", "***3445")]
    )


def test_rings_come_first_and_are_emphasised_with_their_claims() -> None:
    links = [L("phone", "138", _claims(1, 2)), L("account", "***3445", [(2, "CL000002"), (9, "CL000009")])]
    g = layout(links, rings=[("account", "***3445")])
    assert [(e.kind, e.ring) for e in g.entities] == [("account", True), ("phone", False)]
    ring_claims = {c.number for c in g.claims if c.ring}
    assert ring_claims == {"CL000002", "CL000009"}  # CL000002 shares both: one node, two edges
    assert sum(1 for c in g.claims if c.claim_id == 2) == 1
    assert len([e for e in g.edges if e.ring]) == 1 + 2
    assert g.edges[-1].ring  # ring edges are drawn last (on top)


def test_caps_count_what_is_not_drawn() -> None:
    links = [L("document", f"doc{i:02d}", _claims(100 * i + 100, 11)) for i in range(14)]
    g = layout(links, max_entities=12, max_claims=8)
    assert len(g.entities) == 12 and g.hidden_entities == 2
    assert len(g.claims) == 12 * 8 and g.hidden_claims == 12 * 3
    assert all(e.hidden == 3 and e.shared == 11 for e in g.entities)
    # The picture grows with its nodes so the labels keep their room.
    assert g.size > layout(links[:1]).size


def test_unknown_kinds_are_drawn_after_the_known_ones() -> None:
    g = layout([L("partner", "某修理厂", _claims(1, 1)), L("zz_new", "x", _claims(2, 1)), L("phone", "1", [])])
    assert [e.kind for e in g.entities] == ["phone", "partner", "zz_new"]


def test_no_links_no_nodes() -> None:
    g = layout([])
    assert g.empty and not g.claims and not g.edges


def _history(values: list[float]) -> list[tuple[str, float]]:
    start = dt.date(2026, 1, 1)
    return [((start + dt.timedelta(days=i)).isoformat(), v) for i, v in enumerate(values)]


def test_the_line_chart_scales_values_and_lines_into_the_plot() -> None:
    values = [2.0] * 56 + [15.0]
    c = line_chart(_history(values), expected=2.4, limit=8)
    assert len(c.points.split()) == 57 and len(c.dots) == 57
    xs = [float(p.split(",")[0]) for p in c.points.split()]
    ys = [float(p.split(",")[1]) for p in c.points.split()]
    assert xs[0] == c.left and xs[-1] == c.right and xs == sorted(xs)
    assert c.top <= min(ys) and max(ys) <= c.bottom
    assert c.alert == (xs[-1], ys[-1]) and ys[-1] < c.limit_y < c.expected_y < ys[0] + 1  # higher is up
    assert [t.label for t in c.y_ticks] == ["0", "5", "10", "15", "20"]
    assert c.y_ticks[0].at == c.bottom
    # Dates every two weeks back from the alert day, which is labelled.
    assert c.x_ticks[-1].label == "02-26" and c.x_ticks[0].label == "01-01"
    gaps = [b.at - a.at for a, b in zip(c.x_ticks, c.x_ticks[1:], strict=False)]
    assert all(gap >= 60 for gap in gaps)
    assert line_chart(_history(values), expected=2.4, limit=8) == c


def test_nice_steps() -> None:
    assert nice_step(15) == 5 and nice_step(1) == 0.25 and nice_step(8000) == 2000 and nice_step(0) == 1
