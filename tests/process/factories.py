"""Process definitions for tests, built as the admin builds them, and a frozen clock for services."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from unittest import mock

from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.claims.models import Claim
from claimwise.core.choices import LineOfBusiness
from claimwise.process.choices import DefinitionStatus, LimitUnit
from claimwise.process.models import ProcessDefinition, ProcessStep
from claimwise.process.setup import setup_changed
from tests import factories

_seq = itertools.count(1)

MOTOR_STEPS: list[dict[str, Any]] = [
    {"key": "report", "states": ["reported"], "role": Role.HANDLER, "limit_value": 24, "limit_unit": LimitUnit.HOURS},
    {"key": "survey", "states": ["registered", "investigation"], "role": Role.HANDLER, "limit_value": 3},
    {"key": "assess", "states": ["assessment"], "role": Role.HANDLER, "limit_value": 5},
    {
        "key": "approve",
        "states": ["pending_approval"],
        "role": Role.REVIEWER,
        "limit_value": 2,
        "escalate_to": Role.SUPERVISOR,
    },
    {
        "key": "pay",
        "states": ["approved", "partially_approved", "payment_pending"],
        "role": Role.HANDLER,
        "limit_value": 5,
        "limit_unit": LimitUnit.CALENDAR_DAYS,
    },
]


def definition(
    *,
    line: str = LineOfBusiness.MOTOR,
    loss_types: list[str] | None = None,
    steps: list[dict[str, Any]] | None = None,
    status: str = DefinitionStatus.PUBLISHED,
    version: int = 1,
    code: str | None = None,
    **presets: Any,
) -> ProcessDefinition:
    """A definition with steps (MOTOR_STEPS by default); presets as keyword arguments."""
    d = ProcessDefinition.objects.create(
        code=code or f"def-{next(_seq)}",
        version=version,
        name=f"{line} process",
        line=line,
        loss_types=loss_types or [],
        status=status,
        published_at=timezone.now() if status == DefinitionStatus.PUBLISHED else None,
        **presets,
    )
    for position, spec in enumerate(MOTOR_STEPS if steps is None else steps):
        ProcessStep.objects.create(
            definition=d,
            position=position,
            name=spec["key"],
            **{"limit_unit": LimitUnit.WORKING_DAYS, **spec},
        )
    setup_changed()  # new claims bind to it at once
    return d


def fast_track_definition(**presets: Any) -> ProcessDefinition:
    return definition(fast_track_limit=Decimal("5000"), fast_track_days=3, **presets)


@contextlib.contextmanager
def frozen(moment: dt.datetime) -> Iterator[dt.datetime]:
    """The claims services stamp `timezone.now()`: freeze it so a story can span days."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


def shanghai(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # type: ignore[misc]


H, D = dt.timedelta(hours=1), dt.timedelta(days=1)
T0 = shanghai(2026, 10, 12, 10, 0)  # Monday after National Day 2026


def submit(world: dict[str, Any], at: dt.datetime = T0, *, policy: Any = None, **kwargs: Any) -> Claim:
    """Report a claim at `at` through `claim_submit` (the world's handler reports it)."""
    with frozen(at):
        return factories.claim(
            actor=world["handler"], policy=policy or world["policy"], incident_at=at - 2 * H, **kwargs
        )


def act(at: dt.datetime, service: Any, **kwargs: Any) -> Any:
    """Call a claims service as if at `at`."""
    with frozen(at):
        return service(**kwargs)
