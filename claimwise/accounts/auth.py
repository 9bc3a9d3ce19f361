"""API authentication: bearer tokens (stored hashed) and browser sessions (with CSRF)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyCookie, HttpBearer

from claimwise.accounts.models import ApiToken, User
from claimwise.accounts.services import hash_token


def _usable(user: User) -> bool:
    return user.is_active and not (settings.PRODUCTION and user.is_demo)


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        # Every API call runs this, so: get() on the unique hash (first() would sort), and the user
        # alone (scopes need only the ids of their branch, team and partner).
        try:
            row = ApiToken.objects.select_related("user").get(key_hash=hash_token(token), revoked_at__isnull=True)
        except ApiToken.DoesNotExist:
            return None
        if not _usable(row.user):
            return None
        now = timezone.now()
        # Touch at most hourly: a write per request would cost more than it tells.
        if row.last_used_at is None or now - row.last_used_at > timedelta(hours=1):
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


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
