"""API authentication: bearer tokens (stored hashed) and browser sessions (with CSRF)."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer

from claimwise.accounts.models import ApiToken, User
from claimwise.accounts.services import hash_token
from claimwise.core import rows

TOKEN_FIELDS = ("id", "last_used_at")


def _usable(user: User) -> bool:
    return user.is_active and not (settings.PRODUCTION and user.is_demo)


@cache
def _token_sql() -> str:
    return (
        f"SELECT {rows.columns(ApiToken, TOKEN_FIELDS, 't')}, {rows.columns(User, alias='u')} "  # noqa: S608
        f"FROM {rows.table(ApiToken)} t INNER JOIN {rows.table(User)} u ON u.id = t.user_id "
        "WHERE t.key_hash = %s AND t.revoked_at IS NULL"
    )


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        # Every API call runs this, so one hand-written statement (core.rows): the token's id and
        # last use, and its user alone (scopes need only the ids of their branch, team and partner).
        with connection.cursor() as cursor:
            cursor.execute(_token_sql(), [hash_token(token)])
            found = cursor.fetchone()
        if found is None:
            return None
        row = rows.instance(ApiToken, found[: len(TOKEN_FIELDS)], TOKEN_FIELDS)
        user = rows.instance(User, found[len(TOKEN_FIELDS) :])
        if not _usable(user):
            return None
        now = timezone.now()
        # Touch at most hourly: a write per request would cost more than it tells.
        if row.last_used_at is None or now - row.last_used_at > timedelta(hours=1):
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session; unsafe methods also need the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a signed-in session there is nothing for CSRF to protect: a caller with no or a
        # revoked token must hear 401 (sign in), not a CSRF 403.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and _usable(user):
            return user
        return None


api_auth = [TokenAuth(), SessionAuth(csrf=True)]
