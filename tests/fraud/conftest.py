from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fresh_fraud_caches() -> Any:
    # Active rules and the active model are cached per process; each test's database starts empty.
    from claimwise.fraud.registry import active_changed
    from claimwise.fraud.rules import rules_changed

    rules_changed()
    active_changed()
    yield
    rules_changed()
    active_changed()


@pytest.fixture
def presets(db: Any) -> None:
    from claimwise.fraud.rules import presets_install

    presets_install(actor=None)
