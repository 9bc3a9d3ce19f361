from django.db import models
from django.utils.translation import gettext_lazy as _


class LineOfBusiness(models.TextChoices):
    MOTOR = "motor", _("Motor")
    HEALTH = "health", _("Medical / health")
    ACCIDENT = "accident", _("Accident")
    PROPERTY = "property", _("Property")
    LIFE = "life", _("Life / critical illness")
    TRAVEL = "travel", _("Travel")
