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


class LinkKind(models.TextChoices):
    """An entity two claims can share (link analysis, issue 6 item 4)."""

    PHONE = "phone", _("Claimant's phone")
    ACCOUNT = "account", _("Payee bank account")
    PLATE = "plate", _("Licence plate")
    ADDRESS = "address", _("Claimant's address")
    DOCUMENT = "document", _("Document file")
