from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from claimwise.core.models import TimeStampedModel


class SignInThrottle(models.Model):
    """Failed sign-ins per username (case-folded, whether or not the account exists, so the lock-out
    reveals nothing about which usernames are real)."""

    key = models.CharField(_("username"), max_length=150, unique=True)
    failures = models.PositiveSmallIntegerField(_("failures in a row"), default=0)
    last_failure_at = models.DateTimeField(_("last failure at"), null=True, blank=True)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in throttle")
        verbose_name_plural = _("sign-in throttles")

    def __str__(self) -> str:
        return self.key


class SavedView(TimeStampedModel):
    """A user's named set of queue filters."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=60)
    params = models.JSONField(_("filters"), default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        unique_together = [("user", "name")]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")

    def __str__(self) -> str:
        return self.name
