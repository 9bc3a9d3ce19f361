"""The neighbourhood of a claim as a picture (issue 6 item 4): a pure layout from the link list of
`selectors.claim_links` to nodes and edges with coordinates, which a template draws as inline SVG.

The claim sits at the centre, its entities (claimant, phone, account, plate, address, document,
partner, or any kind added later) on an inner ring, and the other claims sharing each entity on an
outer ring in that entity's sector. A claim sharing several entities is one node with several edges.
The same links always give the same picture: entities are ordered rings first, then by kind and
value; nothing random, nothing depending on dict order of the caller. Sizes grow with the number of
outer nodes so that a small neighbourhood stays large when the SVG is scaled down to a phone."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

MAX_ENTITIES = 12
MAX_CLAIMS = 8  # per entity
LABEL_ROOM = 195  # beyond the outer ring: radial claim numbers (up to ~20 characters)
LINE_HEIGHT = 19  # the outer ring is at least this many units per node around
# Kinds in the order they are drawn (clockwise from the top); unknown kinds come last, by name.
KIND_ORDER = ("claimant", "account", "phone", "plate", "address", "document", "partner")


class LinkLike(Protocol):
    """What layout reads of a selectors.Link (read-only)."""

    @property
    def kind(self) -> str: ...
    @property
    def entity(self) -> str: ...
    @property
    def claims(self) -> Sequence[tuple[int, str]]: ...


@dataclass(frozen=True)
class EntityNode:
    kind: str
    label: str  # masked value
    x: float
    y: float
    ring: bool
    shared: int  # other claims sharing it (all of them, not only those drawn)
    hidden: int  # of those, not drawn (the "+N more")
    lx: float = 0.0  # its two-line label (centred on lx)
    ly: float = 0.0


@dataclass(frozen=True)
class ClaimNode:
    claim_id: int
    number: str
    x: float
    y: float
    angle: float  # degrees, for the radial label
    anchor: str  # "start" on the right half, "end" on the left (the label reads outwards)
    ring: bool  # linked through a ring entity
    lx: float = 0.0  # where the label starts
    ly: float = 0.0


@dataclass(frozen=True)
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float
    ring: bool


@dataclass
class Graph:
    size: float  # the square viewBox: 0 0 size size
    cx: float
    cy: float
    entities: list[EntityNode] = field(default_factory=list)
    claims: list[ClaimNode] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    hidden_entities: int = 0  # entities not drawn
    hidden_claims: int = 0  # claim links not drawn (over all entities)
    view: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # the viewBox: what is drawn, tight

    @property
    def view_box(self) -> str:
        return " ".join(f"{v:g}" for v in self.view)

    @property
    def empty(self) -> bool:
        return not self.entities


def _order(link: LinkLike, rings: set[tuple[str, str]]) -> tuple[int, int, str, str]:
    kind = link.kind
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return (0 if (kind, link.entity) in rings else 1, rank, kind, link.entity)


def _r(value: float) -> float:
    return round(value, 1)


def layout(
    links: Sequence[LinkLike],
    *,
    rings: Iterable[tuple[str, str]] = (),
    max_entities: int = MAX_ENTITIES,
    max_claims: int = MAX_CLAIMS,
) -> Graph:
    """Nodes and edges for `links` (one per entity, as claim_links returns them). `rings`: the
    (kind, masked entity) pairs that are rings, drawn emphasised and placed first."""
    ring_set = set(rings)
    ordered = sorted(links, key=lambda link: _order(link, ring_set))
    shown, hidden_entities = ordered[:max_entities], max(0, len(ordered) - max_entities)
    # Claims per entity, each claim drawn once (in the sector of the first entity that has it).
    placed: dict[int, int] = {}  # claim id -> index of its entity
    per_entity: list[list[tuple[int, str]]] = []
    hidden_claims = 0
    for index, link in enumerate(shown):
        own: list[tuple[int, str]] = []
        for claim_id, number in link.claims[:max_claims]:
            if claim_id not in placed:
                placed[claim_id] = index
                own.append((claim_id, number))
        hidden_claims += max(0, len(link.claims) - max_claims)
        per_entity.append(own)
    outer_count = sum(len(own) for own in per_entity)
    outer = max(190.0, outer_count * LINE_HEIGHT / (2 * math.pi), len(shown) * 40.0)
    inner = max(outer * 0.56, 125.0)  # clear of the claim's own label at the centre
    size = 2 * (outer + LABEL_ROOM)
    cx = cy = size / 2
    graph = Graph(size=_r(size), cx=_r(cx), cy=_r(cy), hidden_entities=hidden_entities, hidden_claims=hidden_claims)
    if not shown:
        return graph
    # Each entity gets a sector proportional to its claims (at least one slot), starting at the top.
    slots = [max(1, len(own)) for own in per_entity]
    total = sum(slots)
    start = -math.pi / 2
    claim_at: dict[int, tuple[float, float]] = {}
    entity_at: list[tuple[float, float]] = []
    for index, (link, own) in enumerate(zip(shown, per_entity, strict=True)):
        span = 2 * math.pi * slots[index] / total
        middle = start + span / 2
        ex, ey = cx + inner * math.cos(middle), cy + inner * math.sin(middle)
        ring = (link.kind, link.entity) in ring_set
        entity_at.append((ex, ey))
        # The two-line label below the node (ly is the first line's baseline): the inner ring is far
        # enough from the centre that it never covers the claim's own label there.
        lx, ly = ex, ey + 34
        graph.entities.append(
            EntityNode(
                kind=link.kind,
                label=link.entity,
                x=_r(ex),
                y=_r(ey),
                ring=ring,
                shared=len(link.claims),
                hidden=max(0, len(link.claims) - max_claims),
                lx=_r(lx),
                ly=_r(ly),
            )
        )
        graph.edges.append(Edge(_r(cx), _r(cy), _r(ex), _r(ey), ring))
        for position, (claim_id, number) in enumerate(own):
            angle = start + span * (position + 0.5) / len(own)
            x, y = cx + outer * math.cos(angle), cy + outer * math.sin(angle)
            claim_at[claim_id] = (x, y)
            degrees = math.degrees(angle) % 360
            right = degrees <= 90 or degrees >= 270
            lx, ly = cx + (outer + 10) * math.cos(angle), cy + (outer + 10) * math.sin(angle)
            graph.claims.append(
                ClaimNode(
                    claim_id=claim_id,
                    number=number,
                    x=_r(x),
                    y=_r(y),
                    angle=_r(degrees if right else degrees - 180),
                    anchor="start" if right else "end",
                    ring=ring,
                    lx=_r(lx),
                    ly=_r(ly),
                )
            )
        start += span
    # Edges from each entity to every drawn claim sharing it (also claims placed under another entity).
    for index, link in enumerate(shown):
        ex, ey = entity_at[index]
        ring = (link.kind, link.entity) in ring_set
        for claim_id, _number in link.claims[:max_claims]:
            x, y = claim_at[claim_id]
            graph.edges.append(Edge(_r(ex), _r(ey), _r(x), _r(y), ring))
    # A claim reached through any ring entity is a ring claim, wherever it is placed.
    in_rings = {c for link in shown if (link.kind, link.entity) in ring_set for c, _n in link.claims[:max_claims]}
    graph.claims = [replace(c, ring=c.claim_id in in_rings) for c in graph.claims]
    # Ring edges last, so they are drawn on top.
    graph.edges.sort(key=lambda e: e.ring)
    graph.view = _bounds(graph)
    return graph


CHAR = 9.0  # the width of a character of a 15-unit label, about


def _bounds(graph: Graph) -> tuple[float, float, float, float]:
    """The box around everything drawn (the centre's label, the entities with their labels, the
    claims with their radial numbers) plus a margin: a sparse neighbourhood is not shrunk on a phone
    to make room for empty corners."""
    xs = [graph.cx - 100, graph.cx + 100]
    ys = [graph.cy - 17, graph.cy + 17]
    for e in graph.entities:
        half = max(len(e.label) + 8, 14) * CHAR / 2
        xs += [e.x - half, e.x + half]
        ys += [e.y - 20, e.y + 20, e.ly - 14, e.ly + 20]
    for c in graph.claims:
        radians = math.radians(c.angle)
        length = len(c.number) * CHAR * (1 if c.anchor == "start" else -1)
        xs += [c.x, c.lx + length * math.cos(radians)]
        ys += [c.y, c.ly + length * math.sin(radians)]
    margin = 12
    left, top = max(0.0, min(xs) - margin), max(0.0, min(ys) - margin)
    right, bottom = min(graph.size, max(xs) + margin), min(graph.size, max(ys) + margin)
    return (_r(left), _r(top), _r(right - left), _r(bottom - top))
