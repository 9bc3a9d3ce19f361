from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ClaimDraft(models.Model):
    """A report the customer started and saved, to finish later (files are added once submitted).
    Bank accounts are never kept in a draft."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claim_drafts", verbose_name=_("customer")
    )
    policy_number = models.CharField(_("policy number"), max_length=40)
    data = models.JSONField(_("what was entered"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("saved at"), auto_now=True)

    class Meta:
        unique_together = [("user", "policy_number")]
        verbose_name = _("claim draft")
        verbose_name_plural = _("claim drafts")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.policy_number}"
