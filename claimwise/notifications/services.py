"""Writes for notifications: messages into the outbox (inside the event's transaction), and the back
office's edits (templates, contact preferences, sending a failed message again), each audited."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from claimwise.accounts.models import User
from claimwise.claims.models import Claim
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.errors import DomainError, ErrorCode, ValidationFailed
from claimwise.notifications.choices import Channel, Event, Language, MessageStatus
from claimwise.notifications.models import ContactPreference, Message, MessageTemplate, StaffContact
from claimwise.notifications.rendering import render, template_problems
from claimwise.policies.models import Customer

log = logging.getLogger(__name__)


# --- recipients -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    key: str  # "c12" (customer) or "u7" (user), part of the dedupe key
    name: str
    language: str
    addresses: dict[str, str]  # channel → address, only the channels to use
    customer: Customer | None = None
    user: User | None = None


def enabled_channels() -> frozenset[str]:
    return frozenset(settings.CLAIMWISE_NOTIFY_CHANNELS)


def customer_recipient(customer: Customer) -> Recipient:
    """The customer's chosen channels that have an address; without a choice, every channel with an
    address, in Simplified Chinese."""
    pref = ContactPreference.objects.filter(customer=customer).first()
    known = {
        Channel.EMAIL: customer.email,
        Channel.SMS: customer.phone,
        Channel.WECHAT: pref.wechat_openid if pref else "",
        Channel.PUSH: pref.push_token if pref else "",
    }
    wanted = set(pref.channels) if pref is not None else set(Channel.values)
    enabled = enabled_channels()
    addresses = {str(c): a for c, a in known.items() if a and c in wanted and c in enabled}
    language = pref.language if pref is not None else Language.ZH_HANS
    return Recipient(f"c{customer.pk}", customer.name, language, addresses, customer=customer)


def staff_recipient(user: User) -> Recipient:
    """Staff get their warnings by email (User.email), and by SMS too when they gave a mobile number
    and switched SMS on (StaffContact)."""
    contact = StaffContact.objects.filter(user=user).first()
    known = {Channel.EMAIL: user.email, Channel.SMS: contact.mobile if contact is not None and contact.sms else ""}
    enabled = enabled_channels()
    addresses = {str(c): a for c, a in known.items() if a and c in enabled}
    language = contact.language if contact is not None else Language.ZH_HANS
    name = user.get_full_name() or user.get_username()
    return Recipient(f"u{user.pk}", name, language, addresses, user=user)


# --- the outbox -------------------------------------------------------------------------------------


def messages_queue(
    *,
    event: Event | str,
    claim: Claim | None,
    recipients: Iterable[Recipient],
    context: Callable[[], dict[str, Any]],
    key: str,
    now: dt.datetime | None = None,
) -> int:
    """Write one message per recipient and channel, rendered in the recipient's language, into the
    outbox, in the caller's transaction (the event's). `key` names the event (e.g. "decision:41");
    a message whose key (event, recipient, channel) exists already is not written again. `context`
    is called once per language, under that language, so words in it are translated.

    Returns how many messages were offered (duplicates included)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("messages_queue must run inside the event's transaction")
    now = now or timezone.now()
    rows: list[Message] = []
    contexts: dict[str, dict[str, Any]] = {}
    for recipient in recipients:
        if not recipient.addresses:
            continue
        with translation.override(recipient.language):
            if recipient.language not in contexts:
                contexts[recipient.language] = context()
            subject, body = render(event, recipient.language, {**contexts[recipient.language], "name": recipient.name})
        for channel, address in recipient.addresses.items():
            rows.append(
                Message(
                    event=event,
                    claim=claim,
                    recipient_customer=recipient.customer,
                    recipient_user=recipient.user,
                    channel=channel,
                    address=address,
                    language=recipient.language,
                    subject=subject,
                    body=body,
                    status=MessageStatus.PENDING,
                    next_attempt_at=now,
                    dedupe_key=f"{key}:{recipient.key}:{channel}"[:160],
                    created_at=now,
                    updated_at=now,
                )
            )
    if rows:
        # ON CONFLICT DO NOTHING on the dedupe key: the same event never makes the same message twice.
        Message.objects.bulk_create(rows, ignore_conflicts=True)
        kick_after_commit()
    return len(rows)


def _kick() -> None:
    from claimwise.notifications.tasks import deliver_task

    deliver_task()


def kick_after_commit() -> None:
    """Deliver at once after the commit, through the job queue (once per transaction). Robust: a
    queue that is down must not fail the request whose data is already committed; the periodic
    sweep delivers what no job was queued for."""
    if not settings.CLAIMWISE_NOTIFY_KICK:
        return
    connection = transaction.get_connection()
    if any(item[1] is _kick for item in connection.run_on_commit):
        return
    transaction.on_commit(_kick, robust=True)


# --- back office ------------------------------------------------------------------------------------


TEMPLATE_FIELDS = ["event", "language", "subject", "body"]


@transaction.atomic
def template_save(
    *, actor: User | None, event: str, language: str, subject: str, body: str, template_id: int | None = None
) -> MessageTemplate:
    """Create or change the template of one event in one language. Text that does not compile or
    render over the sample context is refused, with the engine's message on the field."""
    problems: dict[str, str] = {}
    if event not in Event.values:
        problems["event"] = _("Choose an event.")
    if language not in Language.values:
        problems["language"] = _("Choose a language.")
    problems.update(template_problems(subject, body))
    if problems:
        raise ValidationFailed(problems)
    row = MessageTemplate() if template_id is None else MessageTemplate.objects.select_for_update().get(pk=template_id)
    before = None if template_id is None else snapshot(row, TEMPLATE_FIELDS)
    row.event, row.language, row.subject, row.body, row.updated_by = event, language, subject.strip(), body, actor
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ValidationFailed({"language": _("This event already has a template in this language.")}) from None
    audit_record(
        actor=actor, action="notifications.template_save", obj=row, before=before, after=snapshot(row, TEMPLATE_FIELDS)
    )
    return row


@transaction.atomic
def template_delete(*, actor: User | None, template_id: int) -> None:
    """Back to the shipped default for this event and language."""
    row = MessageTemplate.objects.select_for_update().get(pk=template_id)
    audit_record(actor=actor, action="notifications.template_delete", obj=row, before=snapshot(row, TEMPLATE_FIELDS))
    row.delete()


PREFERENCE_SECRETS = ("wechat_openid", "push_token")


def preference_problems(
    customer: Customer, channels: list[str], language: str, wechat_openid: str, push_token: str
) -> dict[str, str]:
    """A channel needs its address: email and SMS take the customer's email and mobile, WeChat its
    openid, push the app's token."""
    problems: dict[str, str] = {}
    if any(c not in Channel.values for c in channels):
        problems["channels"] = _("Choose among email, SMS, WeChat and app push.")
    if language not in Language.values:
        problems["language"] = _("Choose a language.")
    missing: dict[str, tuple[str, bool, str]] = {
        Channel.EMAIL: ("channels", not customer.email, _("The customer has no email address.")),
        Channel.SMS: ("channels", not customer.phone, _("The customer has no mobile number.")),
        Channel.WECHAT: ("wechat_openid", not wechat_openid.strip(), _("Give the WeChat openid.")),
        Channel.PUSH: ("push_token", not push_token.strip(), _("Give the app's push token.")),
    }
    for channel in channels:
        field, absent, message = missing.get(channel, ("", False, ""))
        if absent:
            problems.setdefault(field, str(message))
    return problems


@transaction.atomic
def contact_preference_save(
    *,
    actor: User | None,
    customer_id: int,
    channels: list[str],
    language: str = Language.ZH_HANS,
    wechat_openid: str = "",
    push_token: str = "",
) -> ContactPreference:
    """A customer's channels and language (C1); no channel without its address."""
    customer = Customer.objects.get(pk=customer_id)
    chosen = list(dict.fromkeys(channels))
    problems = preference_problems(customer, chosen, language, wechat_openid, push_token)
    if problems:
        raise ValidationFailed(problems)
    pref = ContactPreference.objects.select_for_update().filter(customer=customer).first()
    before = snapshot(pref, secret=PREFERENCE_SECRETS) if pref is not None else None
    pref = pref or ContactPreference(customer=customer)
    pref.channels, pref.language = chosen, language
    pref.wechat_openid, pref.push_token = wechat_openid.strip() or None, push_token.strip() or None
    pref.save()
    audit_record(
        actor=actor,
        action="notifications.preference_save",
        obj=pref,
        before=before,
        after=snapshot(pref, secret=PREFERENCE_SECRETS),
    )
    return pref


def staff_contact_problems(language: str, mobile: str, sms: bool) -> tuple[dict[str, str], str]:
    """Problems, and the mobile number in E.164."""
    problems: dict[str, str] = {}
    number = ""
    if mobile.strip():
        try:
            parsed = phonenumbers.parse(mobile.strip(), "CN")
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_valid_number(parsed):
            problems["mobile"] = _("Give a valid mobile number.")
        else:
            number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    elif sms:
        problems["mobile"] = _("Give the mobile number for SMS.")
    if language not in Language.values:
        problems["language"] = _("Choose a language.")
    return problems, number


@transaction.atomic
def staff_contact_save(
    *, actor: User | None, user_id: int, language: str = Language.ZH_HANS, mobile: str = "", sms: bool = False
) -> StaffContact:
    """A member of staff's language and optional SMS number for their warnings."""
    problems, number = staff_contact_problems(language, mobile, sms)
    if problems:
        raise ValidationFailed(problems)
    contact = StaffContact.objects.select_for_update().filter(user_id=user_id).first()
    before = snapshot(contact, secret=("mobile",)) if contact is not None else None
    contact = contact or StaffContact(user_id=user_id)
    contact.language, contact.mobile, contact.sms = language, number or None, sms
    contact.save()
    audit_record(
        actor=actor,
        action="notifications.staff_contact_save",
        obj=contact,
        before=before,
        after=snapshot(contact, secret=("mobile",)),
    )
    return contact


@transaction.atomic
def message_retry(*, actor: User | None, message_id: int) -> Message:
    """Send a failed message again (after the cause was fixed): a fresh series of attempts, the log
    of the earlier ones kept."""
    message = Message.objects.select_for_update().get(pk=message_id)
    if message.status != MessageStatus.FAILED:
        raise DomainError(_("Only a failed message can be sent again."), code=ErrorCode.CONFLICT)
    before = snapshot(message, ["status", "attempts", "next_attempt_at"])
    now = timezone.now()
    message.status, message.attempts, message.next_attempt_at, message.updated_at = MessageStatus.PENDING, 0, now, now
    message.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    audit_record(
        actor=actor,
        action="notifications.message_retry",
        obj=message,
        before=before,
        after=snapshot(message, ["status", "attempts", "next_attempt_at"]),
    )
    kick_after_commit()
    return message
