"""Sensitive personal data (PIPL art. 28) is encrypted at rest and searched by a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in settings.ENCRYPTION_KEYS])


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # a wrong key must fail loudly, never show ciphertext as data
        raise ValueError("cannot decrypt: wrong encryption key") from exc


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of a normalised identifier: equal values match, the hash reveals nothing."""
    return hmac.new(settings.HASH_KEY.encode(), value.strip().upper().encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees the plain text."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str | None:
        return None if value is None or value == "" else decrypt(value)

    def get_prep_value(self, value: object) -> object:
        value = super().get_prep_value(value)
        return value if value in (None, "") else encrypt(str(value))


def mask(value: str | None, *, head: int = 3, tail: int = 4) -> str:
    """`110***********1234`: enough to recognise, not enough to use."""
    if not value:
        return ""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]
