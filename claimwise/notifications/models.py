"""Contact preferences, editable message templates, the outbox and its delivery log (C1, C2)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from claimwise.claims.models import Claim
from claimwise.core.crypto import EncryptedTextField, mask
from claimwise.notifications.choices import Channel, Event, Language, MessageStatus, Outcome
from claimwise.policies.models import Customer


class ContactPreference(models.Model):
    """How a customer wants to hear from us. Without a row: every channel the customer has an
    address for (email, mobile), in Simplified Chinese. WeChat openid and push token are personal
    identifiers (PIPL): encrypted at rest."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="contact_preference", verbose_name=_("customer")
    )
    channels = models.JSONField(_("channels"), default=list, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS)
    wechat_openid = EncryptedTextField(_("WeChat openid"), blank=True, null=True)
    push_token = EncryptedTextField(_("app push token"), blank=True, null=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("contact preference")
        verbose_name_plural = _("contact preferences")

    def __str__(self) -> str:
        return str(self.customer)


class StaffContact(models.Model):
    """How a member of staff gets their warnings: always by email (User.email), by SMS as well when
    a mobile number is given and SMS is switched on. Without a row: email only, Simplified Chinese."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_contact", verbose_name=_("user")
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS)
    mobile = EncryptedTextField(_("mobile phone for SMS"), blank=True, null=True)
    sms = models.BooleanField(_("also by SMS"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("staff contact")
        verbose_name_plural = _("staff contacts")

    def __str__(self) -> str:
        return str(self.user)


class MessageTemplate(models.Model):
    """An edited template for one event in one language; without one the shipped default is used
    (notifications.defaults). Django template syntax over a fixed context (notifications.rendering)."""

    event = models.CharField(_("event"), max_length=24, choices=Event.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["event", "language"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [models.UniqueConstraint(fields=["event", "language"], name="notifications_template_unique")]

    def __str__(self) -> str:
        return f"{self.get_event_display()} ({self.language})"


class Message(models.Model):
    """The outbox: one message to one recipient on one channel, written in the same transaction as
    the event, delivered by the worker (notifications.delivery). `dedupe_key` names the event, the
    recipient and the channel, so the same event never produces the same message twice."""

    event = models.CharField(_("event"), max_length=24, choices=Event.choices)
    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("claim")
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
        verbose_name=_("staff recipient"),
    )
    recipient_customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
        verbose_name=_("customer recipient"),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    address = EncryptedTextField(_("address"))
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))
    status = models.CharField(_("status"), max_length=8, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    dedupe_key = models.CharField(_("dedupe key"), max_length=160, unique=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            # The worker's pick: pending rows by due time, nothing else in the index.
            models.Index(
                fields=["next_attempt_at"], condition=Q(status=MessageStatus.PENDING), name="notifications_due"
            ),
            models.Index(fields=["claim", "created_at"], name="notifications_claim"),
            models.Index(fields=["status", "channel"], name="notifications_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} → {self.get_channel_display()} {self.address_masked}"

    @property
    def address_masked(self) -> str:
        address = self.address or ""
        if "@" in address:
            local, _at, domain = address.partition("@")
            return f"{mask(local, head=1, tail=1) or '*'}@{domain}"
        if self.channel == Channel.SMS:
            return mask(address.removeprefix("+86"), head=3, tail=4)
        return mask(address, head=4, tail=4)

    @property
    def message_id(self) -> str:
        """The stable RFC 5322 Message-ID: the same on every attempt, so a receiver can drop a
        duplicate (see docs/decisions.md, notification delivery)."""
        domain = str(settings.CLAIMWISE_EMAIL_FROM).rpartition("@")[2].strip(">") or "claimwise.local"
        return f"<claimwise.notification.{self.pk}@{domain}>"


class DeliveryAttempt(models.Model):
    """One try at delivering a message: when, what came of it, what the server said, how long."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("message")
    )
    at = models.DateTimeField(_("time"))
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    detail = models.TextField(_("detail"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.outcome}"
