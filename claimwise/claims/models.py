from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from claimwise.accounts.models import Branch, PartnerOrganization, Team
from claimwise.claims.choices import (
    Channel,
    Complexity,
    DecisionOutcome,
    DocumentType,
    LossType,
    PaymentStatus,
    Priority,
)
from claimwise.claims.lifecycle import Action, ClaimStatus
from claimwise.core.choices import LineOfBusiness
from claimwise.core.crypto import EncryptedTextField, mask
from claimwise.core.models import TimeStampedModel
from claimwise.core.money import CurrencyField, MoneyField
from claimwise.policies.models import Coverage, Customer, Policy


class _ProtectedStatus:
    """Descriptor that lets a status be loaded but not assigned outside the lifecycle service."""

    def __init__(self, attname: str) -> None:
        self.attname = attname

    def __get__(self, instance: Any, owner: Any) -> Any:
        if instance is None:
            return self
        return instance.__dict__.get(self.attname)

    def __set__(self, instance: Any, value: Any) -> None:
        if self.attname in instance.__dict__ and not instance.__dict__.get("_lifecycle_unlocked"):
            raise AttributeError("Claim.status changes only through claims.services (the lifecycle)")
        instance.__dict__[self.attname] = value


class StatusField(models.CharField):
    def contribute_to_class(self, cls: Any, name: str, *args: Any, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, *args, **kwargs)
        setattr(cls, self.attname, _ProtectedStatus(self.attname))


class Claim(TimeStampedModel):
    number = models.CharField(_("claim number"), max_length=24, unique=True, null=True, blank=True)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="claims", verbose_name=_("policy"))
    claimant = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="claims", db_index=False, verbose_name=_("claimant")
    )
    coverage = models.ForeignKey(
        Coverage, null=True, blank=True, on_delete=models.PROTECT, related_name="claims", verbose_name=_("coverage")
    )
    line = models.CharField(_("line of business"), max_length=20, choices=LineOfBusiness.choices)
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="claims", verbose_name=_("branch"))
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="claims", verbose_name=_("team")
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_claims",
        verbose_name=_("handler"),
    )
    status = StatusField(_("status"), max_length=24, choices=ClaimStatus.choices, default=ClaimStatus.REPORTED)
    resume_status = models.CharField(_("status to resume"), max_length=24, choices=ClaimStatus.choices, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"))
    version = models.PositiveIntegerField(_("version"), default=1)

    incident_at = models.DateTimeField(_("incident time"))
    incident_place = models.CharField(_("incident place"), max_length=300)
    reported_at = models.DateTimeField(_("report time"), db_index=True)
    channel = models.CharField(_("report channel"), max_length=10, choices=Channel.choices)
    loss_type = models.CharField(_("loss type"), max_length=24, choices=LossType.choices)
    description = models.TextField(_("description"), blank=True)
    late_report = models.BooleanField(
        _("reported late"), default=False, help_text=_("Flag only: late notice alone is never a denial reason.")
    )
    limitation_date = models.DateField(_("limitation date"))

    currency = CurrencyField(_("currency"))
    claimed_amount = MoneyField(_("claimed amount"))
    reserve = MoneyField(_("reserve"), default=0)
    assessed_amount = MoneyField(_("assessed amount"), null=True, blank=True)
    approved_amount = MoneyField(_("approved amount"), null=True, blank=True)
    paid_amount = MoneyField(_("paid amount"), default=0)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    complexity = models.CharField(
        _("complexity"), max_length=10, choices=Complexity.choices, default=Complexity.STANDARD
    )
    documents_requests = models.PositiveSmallIntegerField(_("missing-documents notices"), default=0)
    # Where the claimant wants to be paid, given at report time (PIPL: the account is encrypted).
    payee_name = models.CharField(_("payee"), max_length=100, blank=True, default="", db_default="")
    payee_bank = models.CharField(_("payee's bank"), max_length=100, blank=True, default="", db_default="")
    payee_account = EncryptedTextField(_("payee's bank account"), blank=True, null=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The fraud risk score 0–1 (T5), written by the risk scoring; null until the claim is scored.
    risk_score = models.DecimalField(_("risk score"), max_digits=4, decimal_places=3, null=True, blank=True)

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        indexes = [
            models.Index(fields=["branch", "status", "reported_at"]),
            models.Index(fields=["status", "reported_at"]),
            models.Index(fields=["handler", "status"]),
            # A claimant's claims in time (fraud: prior claims in 12 months, earlier payee accounts).
            models.Index(fields=["claimant", "reported_at"], name="claim_claimant_reported"),
            # The work queues' scope over open claims only (a twelfth of a mature book): counts are
            # index-only scans, a handler's own claims are found without visiting closed ones (decision 22).
            models.Index(
                fields=["branch", "handler", "team", "line"],
                name="claim_open_scope",
                condition=~models.Q(status__in=["closed", "withdrawn"]),
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"claim {self.pk}"

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__["_lifecycle_unlocked"] = True
        try:
            super().refresh_from_db(*args, **kwargs)
        finally:
            self.__dict__.pop("_lifecycle_unlocked", None)

    @property
    def payee_account_masked(self) -> str:
        return mask(self.payee_account, head=0, tail=4)

    def current_decision(self) -> Decision | None:
        return self.decisions.order_by("-decided_at", "-pk").first()

    def pending_payment(self) -> Payment | None:
        return self.payments.filter(status=PaymentStatus.PENDING).first()


# Timeline entries that are not lifecycle actions (those take the action's own label).
EVENT_LABELS = {
    "submitted": _("Claim reported"),
    "document_added": _("Document added"),
    "assigned": _("Assigned"),
    "checks_confirmed": _("Checklist confirmed"),
    "approval_signed": _("Signed by the first approver"),
    "reserve_changed": _("Reserve changed"),
    "note": _("Internal note"),
    "message": _("Message"),
    "shared": _("Shared with a partner"),
    "callback": _("Customer called back"),
    "forced_registration": _("Registered automatically at the deadline"),
    "auto_review_stopped": _("Straight-through review stopped"),
    "deadline_warning": _("Deadline at risk"),
    "deadline_breached": _("Deadline breached"),
    "siu_case_opened": _("Investigation opened"),
    "siu_case_closed": _("Investigation closed"),
}


class ClaimEvent(models.Model):
    """The claim's timeline (P4): one typed row per change, written with the change."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events", verbose_name=_("claim"))
    kind = models.CharField(_("kind"), max_length=32)
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("actor")
    )
    from_status = models.CharField(_("from"), max_length=24, blank=True)
    to_status = models.CharField(_("to"), max_length=24, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    visible_to_customer = models.BooleanField(_("shown to the customer"), default=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("claim event")
        verbose_name_plural = _("claim events")
        indexes = [models.Index(fields=["claim", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}→{self.to_status}"

    @property
    def label(self) -> str:
        """What happened, in the reader's language."""
        if self.kind in Action.values:
            return str(Action(self.kind).label)
        return str(EVENT_LABELS.get(self.kind, self.kind))

    @property
    def status_change(self) -> str:
        """'Registered → Assessment', or '' when the status stayed."""
        if self.from_status == self.to_status:
            return ""
        labels = dict(ClaimStatus.choices)
        return f"{labels.get(self.from_status, '—')} → {labels.get(self.to_status, self.to_status)}"


class ClaimMessage(models.Model):
    """A message between the claimant and the people handling the claim (P4, C2), seen by both."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="messages", verbose_name=_("claim"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("author")
    )
    from_customer = models.BooleanField(_("from the customer"), default=False)
    body = models.TextField(_("message"))
    sent_at = models.DateTimeField(_("sent at"))
    read_at = models.DateTimeField(_("read by the other side at"), null=True, blank=True)

    class Meta:
        ordering = ["sent_at", "pk"]
        verbose_name = _("claim message")
        verbose_name_plural = _("claim messages")
        indexes = [models.Index(fields=["claim", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.claim_id}: {self.body[:40]}"


class Document(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="documents", verbose_name=_("claim"))
    doc_type = models.CharField(_("document type"), max_length=24, choices=DocumentType.choices)
    file = models.FileField(_("file"), upload_to="claims/%Y/%m/", max_length=300)
    original_name = models.CharField(_("original file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    content_type = models.CharField(_("content type"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return self.original_name


class Decision(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("claim"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=DecisionOutcome.choices)
    amount = MoneyField(_("amount"), default=0)
    currency = CurrencyField(_("currency"))
    reason_codes = models.JSONField(_("reason codes"), default=list, blank=True)
    note = models.TextField(_("explanation"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"))
    notice_sent_at = models.DateTimeField(_("denial notice sent at"), null=True, blank=True)

    class Meta:
        ordering = ["decided_at", "pk"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} {self.amount}"


class Payment(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="payments", verbose_name=_("claim"))
    decision = models.ForeignKey(
        Decision, on_delete=models.PROTECT, related_name="payments", verbose_name=_("decision")
    )
    payee_name = models.CharField(_("payee"), max_length=100)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    bank_account = EncryptedTextField(_("bank account"))
    amount = MoneyField(_("amount"))
    currency = CurrencyField(_("currency"))
    status = models.CharField(_("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} → {self.payee_name}"

    @property
    def bank_account_masked(self) -> str:
        return mask(self.bank_account, head=0, tail=4)


class ClaimShare(models.Model):
    """A partner (hospital, repair shop, assessor) sees only the claims shared with it."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="shares", verbose_name=_("claim"))
    partner = models.ForeignKey(
        PartnerOrganization, on_delete=models.CASCADE, related_name="shared_claims", verbose_name=_("partner")
    )
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, verbose_name=_("shared by")
    )
    shared_at = models.DateTimeField(_("shared at"))

    class Meta:
        unique_together = [("claim", "partner")]
        verbose_name = _("claim share")
        verbose_name_plural = _("claim shares")


class IdempotencyKey(models.Model):
    """A submitted FNOL's key: the same key from the same user always returns the same claim."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("user", "key")]
