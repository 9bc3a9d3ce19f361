from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    HANDLER = "handler", _("Claim handler")
    REVIEWER = "reviewer", _("Reviewer")
    SUPERVISOR = "supervisor", _("Supervisor")
    COMPLIANCE = "compliance", _("Compliance officer")
    AUDITOR = "auditor", _("Auditor")
    PARTNER = "partner", _("Partner")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = frozenset({Role.HANDLER, Role.REVIEWER, Role.SUPERVISOR, Role.COMPLIANCE, Role.AUDITOR, Role.ADMIN})


class PartnerKind(models.TextChoices):
    HOSPITAL = "hospital", _("Hospital")
    REPAIR_SHOP = "repair_shop", _("Repair shop")
    ASSESSOR = "assessor", _("Loss assessor")
    INSURER = "insurer", _("Other insurer")


class Skill(models.TextChoices):
    """What a specialist team handles (H5): such claims are routed to it on registration."""

    COMPLEX = "complex", _("Complex claims")
    INJURY = "injury", _("Bodily injury")
    LARGE_LOSS = "large_loss", _("Large losses")
