"""Customer 360 (T1): the claimant's whole history within the reader's scope, never beyond it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from claimwise.accounts.choices import Role
from claimwise.claims.services import claim_register
from claimwise.core.errors import NotFound
from claimwise.workbench.customer import customer_360
from tests import factories


def test_the_whole_history_on_one_page(world: dict[str, Any]) -> None:
    holder = world["holder"]
    second = factories.policy(holder=holder, line="health")
    first = factories.claim(actor=world["customer"], policy=world["policy"], claimed_amount="3000")
    factories.claim(actor=world["customer"], policy=second, loss_type="outpatient", claimed_amount="800")
    claim_register(actor=world["handler"], claim_id=first.pk)

    view = customer_360(user=world["supervisor"], customer_id=holder.pk)
    assert {p.number for p in view.policies} == {world["policy"].number, second.number}
    assert len(view.claims) == 2 and view.claimed_total == Decimal("3800.00")
    assert {e.kind for e in view.messages} >= {"submitted", "register"}

    motor_only = factories.user(Role.HANDLER, lines=["motor"])
    scoped = customer_360(user=motor_only, customer_id=holder.pk)
    assert [c.line for c in scoped.claims] == ["motor"]  # the health claim stays out of this view
    assert [p.product.line for p in scoped.policies] == ["motor"]


def test_out_of_scope_or_not_staff_is_not_found(world: dict[str, Any]) -> None:
    factories.claim(actor=world["customer"], policy=world["policy"])
    elsewhere = factories.user(Role.SUPERVISOR, branch=factories.branch("SH"))
    with pytest.raises(NotFound):
        customer_360(user=elsewhere, customer_id=world["holder"].pk)
    with pytest.raises(NotFound):
        customer_360(user=world["customer"], customer_id=world["holder"].pk)
    with pytest.raises(NotFound):
        customer_360(user=world["supervisor"], customer_id=999999)
