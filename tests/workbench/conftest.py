from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.claims.models import Claim
from claimwise.process.recompute import clocks_recompute_all
from tests import factories
from tests.process import factories as process_factories
from tests.process.factories import H

PASSWORD = "Secret-pass-123"  # what tests.factories.user gives every account


def urgent_claims(handler: Any, policy: Any) -> dict[str, Claim]:
    """Three claims under the motor process (first step: 24 hours, warning at 75 %), reported 30 h,
    20 h and 1 h ago: breached, at risk and on time once the deadline job has run."""
    process_factories.definition()
    world = {"handler": handler, "policy": policy}
    now = timezone.now()
    made = {
        "on_time": process_factories.submit(world, now - 1 * H),
        "breached": process_factories.submit(world, now - 30 * H),
        "warning": process_factories.submit(world, now - 20 * H),
    }
    clocks_recompute_all(timezone.now())
    return made


@pytest.fixture
def desk(db: Any) -> dict[str, Any]:
    """A motor policy, a handler of the BJ motor team and their supervisor."""
    holder = factories.customer(name="王芳")
    return {
        "holder": holder,
        "policy": factories.policy(holder=holder),
        "handler": factories.user(Role.HANDLER, first_name="Lei", last_name="Li"),
        "supervisor": factories.user(Role.SUPERVISOR),
        "customer": holder.user,
    }
