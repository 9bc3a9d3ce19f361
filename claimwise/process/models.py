"""The standardised claim process as data (P1, P3, P5, P6, G3).

A `ProcessDefinition` is one version of the process for a line of business (and optionally some of
its loss types): ordered steps mapped to lifecycle states, each with an owner role, a time limit, a
warning threshold, a quality checklist and an escalation target; the materials a claimant must
provide, with conditions; and the preset clocks a company promises. Published versions never
change: a claim keeps the version it started under (`ClaimProcess.definition`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from claimwise.accounts.choices import Role
from claimwise.claims.choices import DocumentType
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.core.choices import LineOfBusiness
from claimwise.core.models import TimeStampedModel
from claimwise.core.money import MoneyField
from claimwise.process.choices import (
    AlertKind,
    ClockKind,
    ClockState,
    DefinitionStatus,
    LimitUnit,
    RuleStatus,
    Urgency,
)

# The queues' order, stored with the urgency (decision 22): breached, at risk, on time, no deadline.
QUEUE_RANK = {Urgency.BREACHED: 0, Urgency.WARNING: 1, Urgency.ON_TIME: 2, Urgency.NONE: 3}
# Closed and withdrawn claims need no more work: they are in no queue.
OFF_QUEUE = frozenset({ClaimStatus.CLOSED, ClaimStatus.WITHDRAWN})


def queue_rank(urgency: str, status: str) -> int | None:
    """Where a claim sorts in the work queues: its urgency's rank, or None when it is closed or withdrawn
    (off every queue). Written wherever urgency is (`ClaimProcess.queue_rank`)."""
    return None if status in OFF_QUEUE else QUEUE_RANK[Urgency(urgency)]


def localized(zh: str, en: str) -> str:
    """Data written by a company in two languages: English when the reader uses English and it exists."""
    return en if en and (get_language() or "").startswith("en") else zh


class ProcessDefinition(TimeStampedModel):
    code = models.SlugField(_("code"), max_length=50)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    line = models.CharField(_("line of business"), max_length=20, choices=LineOfBusiness.choices)
    loss_types = models.JSONField(
        _("loss types"), default=list, blank=True, help_text=_("Empty: every loss type of the line.")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=DefinitionStatus.choices, default=DefinitionStatus.DRAFT
    )
    pause_on_documents = models.BooleanField(
        _("pause step clocks while waiting for the claimant's documents"), default=True
    )
    # Presets (保险小额理赔服务指引, 人身保险理赔服务规范, 机动车辆保险理赔管理指引): stricter allowed, never looser.
    fast_track_limit = MoneyField(
        _("small-claim fast-track limit"), null=True, blank=True, help_text=_("Empty: no fast track on this line.")
    )
    fast_track_days = models.PositiveSmallIntegerField(_("small claims paid within (days)"), default=3)
    life_decision_working_days = models.PositiveSmallIntegerField(
        _("life claims decided within (working days)"), default=5
    )
    forced_registration_hours = models.PositiveSmallIntegerField(_("forced registration after (hours)"), default=72)
    callback_working_days = models.PositiveSmallIntegerField(
        _("callback after payment within (working days)"), default=15
    )
    default_reserve = MoneyField(
        _("default reserve on forced registration"),
        null=True,
        blank=True,
        help_text=_("Empty: the claimed amount."),
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        ordering = ["line", "code", "-version"]
        unique_together = [("code", "version")]
        verbose_name = _("process definition")
        verbose_name_plural = _("process definitions")
        indexes = [models.Index(fields=["line", "status"])]

    def __str__(self) -> str:
        return f"{self.label} v{self.version}"

    @property
    def label(self) -> str:
        return localized(self.name, self.name_en)


class ProcessStep(models.Model):
    definition = models.ForeignKey(
        ProcessDefinition, on_delete=models.CASCADE, related_name="steps", verbose_name=_("process definition")
    )
    key = models.SlugField(_("key"), max_length=40)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    customer_text = models.CharField(
        _("what the customer reads"), max_length=300, blank=True, help_text=_("Plain language, no jargon.")
    )
    customer_text_en = models.CharField(_("what the customer reads (English)"), max_length=300, blank=True)
    states = models.JSONField(_("claim states"), default=list, help_text=_("Lifecycle states this step covers."))
    role = models.CharField(_("responsible role"), max_length=20, choices=Role.choices)
    limit_value = models.PositiveIntegerField(_("time limit"))
    limit_unit = models.CharField(_("unit"), max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_DAYS)
    warn_percent = models.PositiveSmallIntegerField(
        _("warn at (percent of the limit used)"), default=75, help_text=_("Between 1 and 99.")
    )
    escalate_to = models.CharField(_("escalate to"), max_length=20, choices=Role.choices, default=Role.SUPERVISOR)
    checklist = models.JSONField(
        _("quality checklist"),
        default=list,
        blank=True,
        help_text=_(
            'What the owner confirms before leaving the step: [{"key": "...", "text": "...", "text_en": "..."}].'
        ),
    )
    next_steps = models.JSONField(_("next steps"), default=list, blank=True)

    class Meta:
        ordering = ["definition", "position", "pk"]
        unique_together = [("definition", "key")]
        verbose_name = _("process step")
        verbose_name_plural = _("process steps")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return localized(self.name, self.name_en)

    @property
    def customer_label(self) -> str:
        return localized(self.customer_text, self.customer_text_en) or self.label


class MaterialRequirement(models.Model):
    """Insurance Law art. 22: what a claimant must provide, with an optional `rule-engine` condition
    over the claim's facts (e.g. `loss_type == "theft"`, `claimed_amount > 5000`)."""

    definition = models.ForeignKey(
        ProcessDefinition, on_delete=models.CASCADE, related_name="materials", verbose_name=_("process definition")
    )
    key = models.SlugField(_("key"), max_length=40)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    doc_type = models.CharField(_("document type"), max_length=24, choices=DocumentType.choices)
    name = models.CharField(_("what to provide"), max_length=200)
    name_en = models.CharField(_("what to provide (English)"), max_length=200, blank=True)
    condition = models.TextField(_("required when"), blank=True, help_text=_("Empty: always required."))

    class Meta:
        ordering = ["definition", "position", "pk"]
        unique_together = [("definition", "key")]
        verbose_name = _("required material")
        verbose_name_plural = _("required materials")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return localized(self.name, self.name_en)


class ClaimProcess(models.Model):
    """A claim's place in its process: the definition version it started under, its current step,
    its materials and its nearest deadline (what the queues sort by)."""

    claim = models.OneToOneField(Claim, on_delete=models.CASCADE, related_name="process", verbose_name=_("claim"))
    definition = models.ForeignKey(
        ProcessDefinition,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claims",
        verbose_name=_("process definition"),
    )
    step_key = models.CharField(_("current step"), max_length=40, blank=True)
    step_entered_at = models.DateTimeField(_("step entered at"), null=True, blank=True)
    completed_steps = models.JSONField(_("completed steps"), default=list, blank=True)
    documents_complete = models.BooleanField(_("materials complete"), default=False)
    documents_complete_at = models.DateTimeField(_("materials complete since"), null=True, blank=True)
    missing_materials = models.JSONField(_("missing materials"), default=list, blank=True)
    next_due_at = models.DateTimeField(_("nearest deadline"), null=True, blank=True)
    next_due_kind = models.CharField(_("nearest deadline kind"), max_length=24, blank=True)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NONE)
    # queue_rank(urgency, claim status): what the queues sort by, with next_due_at and the claim id,
    # from one partial index over the open claims (decision 22).
    queue_rank = models.PositiveSmallIntegerField(_("queue order"), null=True, blank=True, editable=False)
    auto_review_rule = models.ForeignKey(
        "AutoReviewRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved by rule"),
    )
    callback_done_at = models.DateTimeField(_("customer callback done at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("claim process")
        verbose_name_plural = _("claim processes")
        indexes = [
            models.Index(fields=["urgency", "next_due_at"]),
            models.Index(fields=["next_due_at"]),
            models.Index(
                fields=["queue_rank", "next_due_at", "claim"],
                name="process_queue_order",
                condition=models.Q(queue_rank__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id}: {self.step_key}"


class ClaimClock(models.Model):
    """One deadline on one claim: when it started, when it is due, when to warn, and how it ended.
    Paused time (claimant supplying documents, where the rule allows it) moves the due time."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="clocks", verbose_name=_("claim"))
    kind = models.CharField(_("kind"), max_length=24, choices=ClockKind.choices)
    step_key = models.CharField(_("step"), max_length=40, blank=True)
    started_at = models.DateTimeField(_("started at"))
    due_at = models.DateTimeField(_("due at"))
    warn_at = models.DateTimeField(_("warn at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(_("paused time (seconds)"), default=0)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    warned_at = models.DateTimeField(_("warning sent at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    escalate_to = models.CharField(_("escalate to"), max_length=20, choices=Role.choices, blank=True)
    provisional = models.BooleanField(
        _("provisional calendar"),
        default=False,
        help_text=_("Working days counted before the official holiday schedule for that year was available."),
    )

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("deadline clock")
        verbose_name_plural = _("deadline clocks")
        indexes = [
            models.Index(fields=["claim", "kind"]),
            models.Index(fields=["state", "warn_at"]),
            models.Index(fields=["state", "due_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_at:%Y-%m-%d %H:%M}"


class StepCheck(models.Model):
    """A quality-checklist item the step's owner confirmed before leaving the step."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="step_checks", verbose_name=_("claim"))
    step_key = models.CharField(_("step"), max_length=40)
    item_key = models.CharField(_("item"), max_length=40)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("confirmed by")
    )
    confirmed_at = models.DateTimeField(_("confirmed at"))

    class Meta:
        unique_together = [("claim", "step_key", "item_key")]
        verbose_name = _("step check")
        verbose_name_plural = _("step checks")


class AuthorityLimit(TimeStampedModel):
    """Approval authority (P2): the most a role may approve alone, per line of business (blank: all
    lines). Above the highest limit for a line, two different approvers are needed."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    line = models.CharField(_("line of business"), max_length=20, choices=LineOfBusiness.choices, blank=True)
    max_amount = MoneyField(_("may approve up to"))

    class Meta:
        ordering = ["line", "max_amount"]
        unique_together = [("role", "line")]
        verbose_name = _("approval authority")
        verbose_name_plural = _("approval authorities")

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.line or '*'} ≤ {self.max_amount}"


class ApprovalSignature(models.Model):
    """First of two approvals for an amount above every single approver's limit."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="approval_signatures")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(_("amount"))
    signed_at = models.DateTimeField(_("signed at"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["signed_at", "pk"]
        verbose_name = _("approval signature")
        verbose_name_plural = _("approval signatures")


class AutoReviewRule(TimeStampedModel):
    """Straight-through review (P3): a `rule-engine` expression over a claim's facts; a simple claim
    matching an active rule is assessed, approved and sent to payment without a person."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    line = models.CharField(_("line of business"), max_length=20, choices=LineOfBusiness.choices)
    expression = models.TextField(_("expression"))
    status = models.CharField(_("status"), max_length=10, choices=RuleStatus.choices, default=RuleStatus.DRAFT)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["line", "position", "code"]
        verbose_name = _("auto-review rule")
        verbose_name_plural = _("auto-review rules")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return localized(self.name, self.name_en)


class StaffAlert(models.Model):
    """A warning for staff: a deadline at risk or breached, an escalation, a new assignment.
    Delivered to a user, or to everyone of a role in the claim's branch when no user is named."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="staff_alerts", verbose_name=_("claim"))
    kind = models.CharField(_("kind"), max_length=12, choices=AlertKind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
        verbose_name=_("recipient"),
    )
    recipient_role = models.CharField(_("recipient role"), max_length=20, choices=Role.choices, blank=True)
    clock = models.ForeignKey(ClaimClock, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    message = models.CharField(_("message"), max_length=300)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("staff alert")
        verbose_name_plural = _("staff alerts")
        indexes = [models.Index(fields=["recipient", "read_at"])]
