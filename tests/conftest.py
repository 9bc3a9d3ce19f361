from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.accounts.services import token_create
from tests import factories


def pytest_configure(config: Any) -> None:
    from django.conf import settings

    # Real hashing costs most of a second per user; tests create hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    # A test client request in English leaves English active in this thread; every test starts
    # (and leaves) with no language activated, as a fresh process does. Tests that check words
    # say which language they read.
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_fraud_caches() -> Any:
    # Active rules and the active model are cached per process; each test's database starts empty,
    # so a cache filled by an earlier test (in a transaction since rolled back) must not leak into it.
    from claimwise.fraud.registry import active_changed
    from claimwise.fraud.rules import rules_changed

    rules_changed()
    active_changed()
    yield
    rules_changed()
    active_changed()


@pytest.fixture(autouse=True)
def _fresh_process_setup() -> Any:
    # The process set-up is cached per process; each test's database starts from scratch.
    from claimwise.process.setup import setup_changed

    setup_changed()
    yield
    setup_changed()


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """A branch with one user of every role, a customer with a motor policy."""
    holder = factories.customer()
    pol = factories.policy(holder=holder)
    users = {
        "customer": holder.user,
        "other_customer": factories.customer(name="李娜").user,
        "handler": factories.user(Role.HANDLER),
        "reviewer": factories.user(Role.REVIEWER),
        "supervisor": factories.user(Role.SUPERVISOR),
        "compliance": factories.user(Role.COMPLIANCE),
        "auditor": factories.user(Role.AUDITOR),
        "partner": factories.user(Role.PARTNER),
        "admin": factories.user(Role.ADMIN),
    }
    return {"policy": pol, "holder": holder, **users}


def fnol(policy: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "policy_number": policy.number,
        "incident_at": (timezone.now() - dt.timedelta(hours=3)).isoformat(),
        "incident_place": "北京市朝阳区建国路88号",
        "loss_type": "collision",
        "claimed_amount": "8200.00",
        "description": "追尾，后保险杠受损",
    }
    data.update(overrides)
    return data


@pytest.fixture
def api_client(db: Any) -> Any:
    from django.test import Client

    class ApiClient:
        def __init__(self) -> None:
            self.tokens: dict[int, str] = {}

        def as_user(self, user: Any) -> Client:
            if user.pk not in self.tokens:
                self.tokens[user.pk] = token_create(actor=None, user=user)[1]
            return Client(HTTP_AUTHORIZATION=f"Bearer {self.tokens[user.pk]}", HTTP_ACCEPT_LANGUAGE="en")

    return ApiClient()


def money(value: str) -> Decimal:
    return Decimal(value)
