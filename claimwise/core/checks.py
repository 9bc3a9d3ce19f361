from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def refuse_demo_secrets_in_production() -> None:
    """Production must bring its own keys: the demo ones are published in the source."""
    if not settings.PRODUCTION:
        return
    problems = []
    if settings.SECRET_KEY == settings.DEMO_SECRET_KEY:
        problems.append("CLAIMWISE_SECRET_KEY")
    if settings.DEMO_ENCRYPTION_KEY in settings.ENCRYPTION_KEYS:
        problems.append("CLAIMWISE_ENCRYPTION_KEYS")
    if settings.HASH_KEY == settings.DEMO_HASH_KEY:
        problems.append("CLAIMWISE_HASH_KEY")
    if settings.DEBUG:
        problems.append("CLAIMWISE_DEBUG")
    if settings.CLAIMWISE_DEMO_SANDBOX:
        problems.append("CLAIMWISE_DEMO_SANDBOX")
    if problems:
        raise ImproperlyConfigured("Refusing to run in production with demo settings: set " + ", ".join(problems))
