"""Production refuses the demo keys and the demo accounts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.contrib.auth import authenticate
from django.test import Client

from claimwise.accounts.choices import Role
from claimwise.accounts.services import token_create
from tests import factories

STARTUP = "import django; django.setup(); print('started')"


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DJANGO_SETTINGS_MODULE": "claimwise.settings", **env}
    return subprocess.run([sys.executable, "-c", STARTUP], env=full, capture_output=True, text=True, timeout=60)  # noqa: S603


def test_production_refuses_to_start_with_demo_keys(tmp_path):
    result = _start({"CLAIMWISE_ENV": "production", "CLAIMWISE_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "Refusing to run in production with demo settings" in result.stderr
    for variable in ("CLAIMWISE_SECRET_KEY", "CLAIMWISE_ENCRYPTION_KEYS", "CLAIMWISE_HASH_KEY"):
        assert variable in result.stderr


def test_production_starts_with_its_own_keys(tmp_path):
    from cryptography.fernet import Fernet

    result = _start(
        {
            "CLAIMWISE_ENV": "production",
            "CLAIMWISE_DATA_DIR": str(tmp_path),
            "CLAIMWISE_SECRET_KEY": "x" * 60,
            "CLAIMWISE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "CLAIMWISE_HASH_KEY": "y" * 40,
        }
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.django_db
def test_demo_accounts_are_refused_in_production(settings):
    demo = factories.user(Role.HANDLER, username="demo_h", is_demo=True)
    real = factories.user(Role.HANDLER, username="real_h")
    _token, raw = token_create(actor=None, user=demo)
    assert authenticate(username="demo_h", password="Secret-pass-123") is not None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me").status_code == 200

    settings.PRODUCTION = True
    assert authenticate(username="demo_h", password="Secret-pass-123") is None
    assert authenticate(username="real_h", password="Secret-pass-123") == real
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
