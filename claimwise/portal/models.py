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


class OneTimeCode(models.Model):
    """A code sent to a customer's mobile to prove it is theirs (sign-up, password reset), or to a new
    mobile number or email address the customer wants us to use (`address`). Only its keyed hash is
    kept; it expires, allows a few tries, and works once."""

    class Purpose(models.TextChoices):
        SIGN_UP = "sign_up", _("Sign-up")
        RESET = "reset", _("Password reset")
        MOBILE = "mobile", _("New mobile number")
        EMAIL = "email", _("New email address")

    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    phone = models.CharField(_("mobile phone"), max_length=20)
    customer = models.ForeignKey(
        "policies.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    address = models.CharField(_("new address"), max_length=254, blank=True)
    code_hash = models.CharField(_("code (keyed hash)"), max_length=64)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["phone", "purpose", "created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"
