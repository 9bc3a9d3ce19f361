from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def presets(db: Any) -> None:
    from claimwise.fraud.rules import presets_install

    presets_install(actor=None)
