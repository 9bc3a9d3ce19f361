from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANDIDATE = "candidate", _("Candidate")
    RETIRED = "retired", _("Retired")


class ModelScope(models.TextChoices):
    """What a model was trained on: the platform's own claims (it can score them) or an external table."""

    PLATFORM = "platform", _("Platform claims")
    EXTERNAL = "external", _("External table")


class RuleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    DISABLED = "disabled", _("Disabled")


class WatchKind(models.TextChoices):
    PHONE = "phone", _("Mobile phone")
    ID_HASH = "id_hash", _("ID number")
    ACCOUNT_HASH = "account_hash", _("Bank account")
    PLATE = "plate", _("Licence plate")


class Measure(models.TextChoices):
    FREQUENCY = "frequency", _("Claims reported per day")
    SEVERITY = "severity", _("Average amount claimed")


class Dimension(models.TextChoices):
    LINE = "line", _("Line of business")
    REGION = "region", _("Region")
    PROVIDER = "provider", _("Hospital or provider")
    REPAIR_SHOP = "repair_shop", _("Repair shop")


class CatastropheKind(models.TextChoices):
    TYPHOON = "typhoon", _("Typhoon")
    FLOOD = "flood", _("Flood")
    EARTHQUAKE = "earthquake", _("Earthquake")
    HAIL = "hail", _("Hail or storm")
    OTHER = "other", _("Other")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class CaseOutcome(models.TextChoices):
    """How an investigation ended; confirmed fraud and not fraud become training labels (1 and 0)."""

    CONFIRMED_FRAUD = "confirmed_fraud", _("Confirmed fraud")
    NOT_FRAUD = "not_fraud", _("Not fraud")
    INCONCLUSIVE = "inconclusive", _("Inconclusive")


class LinkKind(models.TextChoices):
    """An entity two claims can share (link analysis, issue 6 item 4)."""

    PHONE = "phone", _("Claimant's phone")
    ACCOUNT = "account", _("Payee bank account")
    PLATE = "plate", _("Licence plate")
    ADDRESS = "address", _("Claimant's address")
    DOCUMENT = "document", _("Document file")
    PARTNER = "partner", _("Partner (hospital, repair shop, assessor)")
