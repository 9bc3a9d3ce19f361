from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class ClaimwiseBackend(ModelBackend):
    """Password sign-in; demo accounts are refused when running with production settings."""

    def user_can_authenticate(self, user: Any) -> bool:
        if settings.PRODUCTION and getattr(user, "is_demo", False):
            return False
        return super().user_can_authenticate(user)
