"""Writes of the fraud app that are not rules or models: the watch list."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.models import User
from claimwise.claims.fnol import normalise_account
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.crypto import keyed_hash
from claimwise.core.errors import ValidationFailed
from claimwise.fraud.choices import WatchKind
from claimwise.fraud.models import WatchListEntry


def watch_value(kind: str, raw: str) -> str:
    """What is stored for a watched value: ID numbers and bank accounts as keyed hashes only
    (PIPL), phones in E.164, plates without spaces in capitals."""
    import phonenumbers

    raw = raw.strip()
    if kind == WatchKind.ID_HASH:
        return keyed_hash(raw.upper())
    if kind == WatchKind.ACCOUNT_HASH:
        return keyed_hash(normalise_account(raw))
    if kind == WatchKind.PHONE:
        try:
            number = phonenumbers.parse(raw, "CN")
        except phonenumbers.NumberParseException:
            raise ValidationFailed({"value": _("Give a valid mobile number.")}) from None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return raw.upper().replace(" ", "")


@transaction.atomic
def watchlist_add(*, actor: User | None, kind: str, value: str, reason: str) -> WatchListEntry:
    """Put a phone, ID number, bank account or plate on the watch list, with the reason."""
    problems: dict[str, str] = {}
    if kind not in WatchKind.values:
        problems["kind"] = _("Choose what kind of value this is.")
    if not value.strip():
        problems["value"] = _("This field is required.")
    if not reason.strip():
        problems["reason"] = _("Say why this is watched.")
    if problems:
        raise ValidationFailed(problems)
    entry = WatchListEntry(
        kind=kind, value=watch_value(kind, value), reason=reason.strip(), added_by=actor, added_at=timezone.now()
    )
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        raise ValidationFailed({"value": _("This value is on the watch list already.")}) from None
    audit_record(actor=actor, action="fraud.watch_add", obj=entry, after=snapshot(entry))
    return entry


@transaction.atomic
def watchlist_remove(*, actor: User | None, entry_id: int) -> None:
    entry = WatchListEntry.objects.select_for_update().get(pk=entry_id)
    before = snapshot(entry)
    entry.active = False
    entry.save(update_fields=["active"])
    audit_record(actor=actor, action="fraud.watch_remove", obj=entry, before=before, after=snapshot(entry))
