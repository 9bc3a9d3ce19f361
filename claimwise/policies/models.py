from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from claimwise.accounts.models import Branch
from claimwise.core.choices import LineOfBusiness
from claimwise.core.crypto import EncryptedTextField, mask
from claimwise.core.models import TimeStampedModel
from claimwise.core.money import CurrencyField, MoneyField
from claimwise.policies.choices import Gender, PolicyStatus


class Customer(TimeStampedModel):
    """A party: policyholder, insured person or claimant (T1 single customer view)."""

    name = models.CharField(_("name"), max_length=100)
    id_number = EncryptedTextField(_("resident ID number"))
    id_hash = models.CharField(_("ID number keyed hash"), max_length=64, unique=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
        verbose_name=_("portal account"),
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # The queue's search by the start of a name is a LIKE 'prefix%': the pattern operator class
        # serves it under any collation (PostgreSQL; other databases ignore it).
        indexes = [models.Index(fields=["name"], name="customer_name_prefix", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    @property
    def id_number_masked(self) -> str:
        return mask(self.id_number, head=3, tail=4)

    @property
    def phone_masked(self) -> str:
        # +8613812345678 -> 138****5678
        local = self.phone.removeprefix("+86")
        return mask(local, head=3, tail=4)


class Product(TimeStampedModel):
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    line = models.CharField(_("line of business"), max_length=20, choices=LineOfBusiness.choices)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class Coverage(TimeStampedModel):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="coverages", verbose_name=_("product"))
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    limit = MoneyField(_("limit"))
    deductible = MoneyField(_("deductible"), default=0)
    currency = CurrencyField(_("currency"))
    loss_types = models.JSONField(_("loss types covered"), default=list, blank=True)

    class Meta:
        ordering = ["product", "code"]
        unique_together = [("product", "code")]
        verbose_name = _("coverage")
        verbose_name_plural = _("coverages")

    def __str__(self) -> str:
        return f"{self.product.code}/{self.code}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.limit is not None and self.limit <= 0:
            raise ValidationError({"limit": _("The limit must be above zero.")})
        if self.deductible is not None and self.limit is not None and not 0 <= self.deductible < self.limit:
            raise ValidationError({"deductible": _("The deductible must be at least zero and below the limit.")})


class Policy(TimeStampedModel):
    number = models.CharField(_("policy number"), max_length=40, unique=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="policies", verbose_name=_("product"))
    holder = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="policies_held", verbose_name=_("policyholder")
    )
    insured_person = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies_insured",
        verbose_name=_("insured person"),
    )
    vehicle_plate = models.CharField(_("licence plate"), max_length=12, blank=True, db_index=True)
    vehicle_vin = models.CharField(_("VIN"), max_length=17, blank=True)
    vehicle_model = models.CharField(_("vehicle model"), max_length=100, blank=True)
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="policies", verbose_name=_("branch"))
    effective_from = models.DateTimeField(_("effective from"))
    effective_to = models.DateTimeField(_("effective to"))
    status = models.CharField(_("status"), max_length=20, choices=PolicyStatus.choices, default=PolicyStatus.ACTIVE)
    sum_insured = MoneyField(_("sum insured"))
    premium = MoneyField(_("premium"))
    currency = CurrencyField(_("currency"))

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")

    def __str__(self) -> str:
        return self.number

    def covers_time(self, when: object) -> bool:
        return self.effective_from <= when <= self.effective_to  # type: ignore[operator]
