"""The process set-up of a line (published definitions with their materials, active auto-review
rules, approval limits), read on every claim submit and upload, so kept in memory.

Each process keeps it for at most `TTL` seconds: a definition published, a rule activated or a
limit changed reaches this process at once (the writing services clear it) and every other web or
worker process within the TTL. New claims bind to the new set-up; running claims keep theirs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from claimwise.process.choices import DefinitionStatus, RuleStatus
from claimwise.process.models import AuthorityLimit, AutoReviewRule, MaterialRequirement, ProcessDefinition

TTL = 30.0


@dataclass(frozen=True)
class LineSetup:
    definitions: list[ProcessDefinition]  # published, newest version first
    materials: dict[int, list[MaterialRequirement]]  # by definition id
    rules: list[AutoReviewRule]  # active, in order
    limits: dict[str, Decimal]  # role → ceiling; a line row wins over the all-lines row

    def definition_for(self, loss_type: str) -> ProcessDefinition | None:
        """The line's published definition for this loss type, else the line's general one."""
        specific = next((d for d in self.definitions if loss_type in d.loss_types), None)
        return specific or next((d for d in self.definitions if not d.loss_types), None)


_lock = threading.Lock()
_cache: dict[str, tuple[float, LineSetup]] = {}


def line_setup(line: str) -> LineSetup:
    now = time.monotonic()
    hit = _cache.get(line)
    if hit is not None and now - hit[0] < TTL:
        return hit[1]
    definitions = list(
        ProcessDefinition.objects.filter(line=line, status=DefinitionStatus.PUBLISHED).order_by("-version", "-pk")
    )
    materials: dict[int, list[MaterialRequirement]] = {d.pk: [] for d in definitions}
    for requirement in MaterialRequirement.objects.filter(definition__in=definitions).order_by("position", "pk"):
        materials[requirement.definition_id].append(requirement)
    rules = list(AutoReviewRule.objects.filter(line=line, status=RuleStatus.ACTIVE).order_by("position", "code"))
    limits: dict[str, Decimal] = {}
    for row in AuthorityLimit.objects.filter(line__in=[line, ""]).order_by("-line"):
        limits.setdefault(row.role, row.max_amount)
    setup = LineSetup(definitions, materials, rules, limits)
    with _lock:
        _cache[line] = (now, setup)
    return setup


def setup_changed() -> None:
    """Call after any write to definitions, materials, rules or limits."""
    with _lock:
        _cache.clear()
