"""Fraud and risk (T2, T5): red-flag rules as data, the model registry, the watch list, and one
stored assessment per scoring of a claim."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from claimwise.claims.models import Claim
from claimwise.core.models import TimeStampedModel
from claimwise.fraud.choices import LinkKind, ModelScope, ModelStatus, RuleStatus, WatchKind
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

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="risk_assessments", verbose_name=_("claim"))
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


class LinkKey(models.Model):
    """One entity a claim shares with others (link analysis): the claimant's phone and address, the
    payee account, the plate, a document's file. Values are keyed hashes (documents: their SHA-256),
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
        # Distinct claimants of an entity are counted from the index alone.
        indexes = [models.Index(fields=["kind", "key", "claimant"], name="fraud_linkkey_entity")]

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
