from django.db import models
from django.utils.translation import gettext_lazy as _


class DefinitionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class LimitUnit(models.TextChoices):
    HOURS = "hours", _("Hours")
    CALENDAR_DAYS = "calendar_days", _("Calendar days")
    WORKING_DAYS = "working_days", _("Working days")


class ClockKind(models.TextChoices):
    """Deadline clocks. Statutory ones follow PRC Insurance Law; presets are company promises the
    regulator expects (a company may make them stricter, never looser)."""

    STEP = "step", _("Process step")
    DECISION_30D = "decision_30d", _("Decision within 30 days (Insurance Law art. 23)")
    PAYMENT_10D = "payment_10d", _("Payment within 10 days of agreement (art. 23)")
    DENIAL_NOTICE_3D = "denial_notice_3d", _("Denial notice within 3 days (art. 24)")
    ADVANCE_PAYMENT_60D = "advance_payment_60d", _("Advance payment after 60 days (art. 25)")
    LIMITATION = "limitation", _("Limitation date (art. 26)")
    FORCED_REGISTRATION = "forced_registration", _("Registration within 72 hours (forced registration)")
    FAST_TRACK = "fast_track", _("Small claim paid within 3 days")
    LIFE_DECISION = "life_decision", _("Life claim decided within 5 working days")
    MATERIALS_NOTICE = "materials_notice", _("Materials list within 1 working day (medical)")
    CALLBACK = "callback", _("Customer callback within 15 working days of payment")


STATUTORY_CLOCKS = frozenset(
    {
        ClockKind.DECISION_30D,
        ClockKind.PAYMENT_10D,
        ClockKind.DENIAL_NOTICE_3D,
        ClockKind.ADVANCE_PAYMENT_60D,
        ClockKind.LIMITATION,
    }
)


class ClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")
    MET_LATE = "met_late", _("Met late")
    CANCELLED = "cancelled", _("No longer applies")


class Urgency(models.TextChoices):
    """How a claim stands against its nearest deadline (queue colour)."""

    ON_TIME = "on_time", _("On time")
    WARNING = "warning", _("At risk")
    BREACHED = "breached", _("Breached")
    NONE = "none", _("No open deadline")


class RuleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    DISABLED = "disabled", _("Disabled")


class AlertKind(models.TextChoices):
    WARNING = "warning", _("Deadline at risk")
    BREACH = "breach", _("Deadline breached")
    ESCALATION = "escalation", _("Escalated to you")
    ASSIGNMENT = "assignment", _("New assignment")
    MESSAGE = "message", _("Message from the customer")
