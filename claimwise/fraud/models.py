"""Fraud and risk (T2, T5): red-flag rules as data, the model registry, the watch list, one
stored assessment per scoring of a claim, and the investigation cases of the SIU queue."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from claimwise.claims.models import Claim
from claimwise.core.models import TimeStampedModel
from claimwise.fraud.choices import (
    CaseOutcome,
    CaseStatus,
    CatastropheKind,
    Dimension,
    LinkKind,
    Measure,
    ModelScope,
    ModelStatus,
    RuleStatus,
    WatchKind,
)
from claimwise.policies.models import Customer
from claimwise.process.models import localized


class FraudModel(models.Model):
    """One trained model in the registry. The artifact is JSON written by `fraud.learn` (never a
    pickle) and is loaded only when its SHA-256 matches the one recorded when it was written."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    scope = models.CharField(_("trained on"), max_length=10, choices=ModelScope.choices)
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE)
    data_fingerprint = models.CharField(_("training data SHA-256"), max_length=64)
    rows = models.PositiveIntegerField(_("training rows"), default=0)
    label = models.CharField(_("label column"), max_length=100, blank=True)
    features = models.JSONField(_("features"), default=list)
    columns = models.JSONField(_("columns used and dropped"), default=dict)
    metrics = models.JSONField(_("validation metrics"), default=dict)
    comparison = models.JSONField(_("comparison with the active model"), default=dict, blank=True)
    artifact = models.BinaryField(_("model"))
    artifact_sha256 = models.CharField(_("model SHA-256"), max_length=64)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("trained by"),
    )
    trained_at = models.DateTimeField(_("trained at"))
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("fraud model")
        verbose_name_plural = _("fraud models")
        indexes = [models.Index(fields=["scope", "status"])]

    def __str__(self) -> str:
        return f"v{self.version} {self.name}"


class RedFlagRule(TimeStampedModel):
    """A red flag (T5): a `rule-engine` expression over a claim's fraud facts, a weight 0–1 and the
    reason shown when it fires, in Chinese and English, with {fact} placeholders."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    expression = models.TextField(_("expression"))
    weight = models.DecimalField(
        _("weight"), max_digits=4, decimal_places=3, help_text=_("0–1: how strongly this flag alone suggests fraud.")
    )
    reason = models.CharField(_("reason"), max_length=300, help_text=_("Plain language; {fact} inserts a value."))
    reason_en = models.CharField(_("reason (English)"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RuleStatus.choices, default=RuleStatus.DRAFT)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("red-flag rule")
        verbose_name_plural = _("red-flag rules")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return localized(self.name, self.name_en)


class WatchListEntry(models.Model):
    """A phone, ID number, bank account or licence plate to watch. ID numbers and accounts are
    stored as keyed hashes only (PIPL): the list never becomes a copy of the data it watches for."""

    kind = models.CharField(_("kind"), max_length=12, choices=WatchKind.choices)
    value = models.CharField(_("value or keyed hash"), max_length=64)
    reason = models.CharField(_("reason"), max_length=300)
    active = models.BooleanField(_("active"), default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("added by")
    )
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        ordering = ["kind", "value"]
        verbose_name = _("watch-list entry")
        verbose_name_plural = _("watch-list entries")
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="fraud_watch_kind_value")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value[:12]}"


class RiskAssessment(models.Model):
    """One scoring of a claim: the combined score, the version of what produced it (rules, model),
    each component and the reasons in both languages as they were at that moment."""

    # Found by (claim, time) through the index below; a second index on the claim alone would only
    # slow the batch's million inserts down.
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="risk_assessments", db_index=False, verbose_name=_("claim")
    )
    score = models.DecimalField(_("score"), max_digits=4, decimal_places=3)
    version = models.CharField(_("version"), max_length=60)
    components = models.JSONField(_("components"), default=dict)
    reasons = models.JSONField(_("reasons"), default=list)
    trigger = models.CharField(_("trigger"), max_length=32)
    at = models.DateTimeField(_("scored at"))

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")
        indexes = [models.Index(fields=["claim", "-at"])]

    def __str__(self) -> str:
        return f"{self.claim_id}: {self.score}"


class CatastropheEvent(models.Model):
    """A declared catastrophe (T7): in its region, lines and days a surge of claims is expected, and
    early warning marks it so instead of calling it suspicious."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=CatastropheKind.choices)
    region = models.CharField(_("region"), max_length=100, blank=True, help_text=_("Empty: every region."))
    lines = models.JSONField(_("lines of business"), default=list, blank=True, help_text=_("Empty: every line."))
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    declared_at = models.DateTimeField(_("declared at"))

    class Meta:
        ordering = ["-starts_on", "-pk"]
        verbose_name = _("catastrophe event")
        verbose_name_plural = _("catastrophe events")

    def __str__(self) -> str:
        return self.name

    def covers(self, day: Any, dimension: str, key: str, places: list[tuple[str, str]] | None = None) -> bool:
        """Whether the event explains a surge on `day`. A line or a region is judged by its key; a
        partner (a hospital, a repair shop) has neither, so by `places`, the (region, line) of its
        claims of the day: covered when most of them are inside the event's region and lines."""
        if not self.starts_on <= day <= self.ends_on:
            return False
        if dimension == Dimension.LINE:
            return not self.lines or key in self.lines
        if dimension == Dimension.REGION:
            return not self.region or key == self.region
        inside = [
            (not self.region or region == self.region) and (not self.lines or line in self.lines)
            for region, line in places or ()
        ]
        return bool(inside) and 2 * sum(inside) > len(inside)


class WarningAlert(models.Model):
    """One day's claim frequency or average severity above its control limit for a line, a region, a
    provider or a repair shop (key: the partner's code, label: its name), with the claims behind it;
    `expected` when a declared catastrophe covers it."""

    day = models.DateField(_("day"))
    measure = models.CharField(_("measure"), max_length=10, choices=Measure.choices)
    dimension = models.CharField(_("by"), max_length=20, choices=Dimension.choices)
    key = models.CharField(_("which"), max_length=100)
    label = models.CharField(
        _("name"), max_length=200, blank=True, help_text=_("The partner's name for a provider or repair shop.")
    )
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=2)
    expected_value = models.DecimalField(_("expected"), max_digits=16, decimal_places=2)
    upper_limit = models.DecimalField(_("upper control limit"), max_digits=16, decimal_places=2)
    history = models.JSONField(_("history (day, value)"), default=list)
    claim_ids = models.JSONField(_("claims"), default=list)
    expected = models.BooleanField(_("expected (catastrophe)"), default=False)
    catastrophe = models.ForeignKey(
        CatastropheEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-day", "-pk"]
        unique_together = [("day", "measure", "dimension", "key")]
        verbose_name = _("early-warning alert")
        verbose_name_plural = _("early-warning alerts")

    def __str__(self) -> str:
        return f"{self.day} {self.measure} {self.dimension}={self.key}"


class InvestigationCase(models.Model):
    """An investigation of one claim by the special investigations unit (issue 6, item 5). A claim
    has at most one open case. The case runs beside the claim: it never changes the claim's status
    and never pauses its clocks (anti-fraud work must not delay honest claims)."""

    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, related_name="investigation_cases", verbose_name=_("claim")
    )
    opened_at = models.DateTimeField(_("opened at"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("opened by"),
        help_text=_("Empty: opened by the system when the risk score reached the threshold."),
    )
    reason = models.CharField(_("reason"), max_length=300)
    score_at_opening = models.DecimalField(_("score at opening"), max_digits=4, decimal_places=3, null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="investigation_cases",
        verbose_name=_("investigator"),
    )
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(_("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    outcome = models.CharField(_("outcome"), max_length=16, choices=CaseOutcome.choices, blank=True)
    amount_saved = models.DecimalField(_("amount saved"), max_digits=14, decimal_places=2, default=0)
    outcome_note = models.TextField(_("outcome note"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("closed by"),
    )

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("investigation case")
        verbose_name_plural = _("investigation cases")
        constraints = [
            models.UniqueConstraint(
                fields=["claim"], condition=models.Q(status="open"), name="fraud_case_one_open_per_claim"
            )
        ]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"SIU-{self.pk}"


class InvestigationTask(models.Model):
    """One piece of work in an investigation (a site visit, a call to the repair shop)."""

    case = models.ForeignKey(
        InvestigationCase, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("investigation case")
    )
    text = models.CharField(_("task"), max_length=500)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("assignee"),
    )
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("done by"),
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("investigation task")
        verbose_name_plural = _("investigation tasks")

    def __str__(self) -> str:
        return self.text[:60]


class InvestigationNote(models.Model):
    """A note of the investigators; never shown to the customer."""

    case = models.ForeignKey(
        InvestigationCase, on_delete=models.CASCADE, related_name="notes", verbose_name=_("investigation case")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(_("note"))
    at = models.DateTimeField(_("written at"))

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("investigation note")
        verbose_name_plural = _("investigation notes")

    def __str__(self) -> str:
        return self.text[:60]


class LinkKey(models.Model):
    """One entity a claim shares with others (link analysis): the claimant's phone and address, the
    payee account, the plate, a document's file, a partner it was shared with (hospital, repair shop). Values are keyed hashes (documents: their SHA-256),
    so the index of the graph is never a copy of the personal data it links (PIPL); the payee
    account is encrypted with a random IV on the claim and could not be compared otherwise.
    Indexed by (kind, key): a claim's neighbourhood is one lookup per entity, never a graph scan."""

    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="link_keys", db_index=False, verbose_name=_("claim")
    )
    claimant = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("claimant")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=LinkKind.choices)
    key = models.CharField(_("keyed hash"), max_length=64)
    at = models.DateTimeField(_("claim reported at"))

    class Meta:
        verbose_name = _("link key")
        verbose_name_plural = _("link keys")
        constraints = [models.UniqueConstraint(fields=["claim", "kind", "key"], name="fraud_linkkey_claim_kind_key")]
        # A ring's figures (distinct claimants, claims, first and last report) come from the index
        # alone: claim and time ride along as covering columns (PostgreSQL; SQLite keeps the keys).
        indexes = [
            models.Index(fields=["kind", "key", "claimant"], include=["claim", "at"], name="fraud_linkkey_entity")
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind}:{self.key[:12]}"


class RingAlert(models.Model):
    """A ring: one entity (a payee account, a phone, a plate, a document) on the claims of several
    unrelated claimants. One row per entity, raised again as the ring grows (never duplicated)."""

    kind = models.CharField(_("kind"), max_length=10, choices=LinkKind.choices)
    key = models.CharField(_("keyed hash"), max_length=64)
    entity = models.CharField(_("entity (masked)"), max_length=40)
    claims = models.ManyToManyField(Claim, related_name="ring_alerts", verbose_name=_("claims"))
    claimants = models.PositiveIntegerField(_("distinct claimants"))
    claim_count = models.PositiveIntegerField(_("claims"))
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    raised_at = models.DateTimeField(_("raised at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("ring alert")
        verbose_name_plural = _("ring alerts")
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="fraud_ringalert_kind_key")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.entity}: {self.claimants}"
