from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    PUSH = "push", _("App push")


#: Channels delivered by an HTTP gateway (the others: email over SMTP).
GATEWAY_CHANNELS = (Channel.SMS, Channel.WECHAT, Channel.PUSH)


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class Event(models.TextChoices):
    """What a message is about. Customer events first, then staff warnings."""

    CLAIM_RECEIVED = "claim_received", _("Claim received")
    REGISTERED = "registered", _("Claim registered")
    DOCUMENTS_NEEDED = "documents_needed", _("Documents needed")
    DECISION = "decision", _("Decision")
    PAYMENT_MADE = "payment_made", _("Payment made")
    NEW_MESSAGE = "new_message", _("New message from the claim handler")
    DEADLINE_AT_RISK = "deadline_at_risk", _("Statutory deadline at risk")
    DEADLINE_BREACHED = "deadline_breached", _("Statutory deadline missed")
    ONE_TIME_CODE = "one_time_code", _("One-time code (sign-up, password reset)")
    CONTACT_CHANGED = "contact_changed", _("Contact details changed")
    STAFF_WARNING = "staff_warning", _("Staff: deadline at risk")
    STAFF_BREACH = "staff_breach", _("Staff: deadline breached")
    STAFF_ESCALATION = "staff_escalation", _("Staff: escalation")
    STAFF_ASSIGNMENT = "staff_assignment", _("Staff: new assignment")
    STAFF_CUSTOMER_MESSAGE = "staff_customer_message", _("Staff: message from the customer")


STAFF_EVENTS = frozenset(
    {
        Event.STAFF_WARNING,
        Event.STAFF_BREACH,
        Event.STAFF_ESCALATION,
        Event.STAFF_ASSIGNMENT,
        Event.STAFF_CUSTOMER_MESSAGE,
    }
)


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Outcome(models.TextChoices):
    SENT = "sent", _("Delivered")
    RETRY = "retry", _("Failed, will retry")
    FAILED = "failed", _("Failed for good")
