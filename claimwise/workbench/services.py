"""Writes of the staff workbench: sign-in outcomes, lock-out, TOTP devices, saved views. Each is
audited (G2); sign-in failures are recorded even for usernames that do not exist."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from claimwise.accounts.models import User
from claimwise.core.audit import audit_record
from claimwise.core.errors import NotFound, ValidationFailed
from claimwise.workbench.models import SavedView, SignInThrottle

SAVED_VIEW_KEYS = ("tab", "status", "line", "priority", "risk", "team", "q", "step", "handler")


def throttle_key(username: str) -> str:
    return username.strip().casefold()[:150]


@transaction.atomic
def sign_in_failed(*, username: str, now: dt.datetime | None = None) -> SignInThrottle:
    """Count a failed password or code; the configured number in a row locks the username
    (WORKBENCH_LOCKOUT_FAILURES within WORKBENCH_LOCKOUT_MINUTES) for WORKBENCH_LOCKOUT_MINUTES."""
    now = now or timezone.now()
    window = dt.timedelta(minutes=settings.WORKBENCH_LOCKOUT_MINUTES)
    throttle, _created = SignInThrottle.objects.select_for_update().get_or_create(key=throttle_key(username))
    if throttle.last_failure_at is None or now - throttle.last_failure_at > window:
        throttle.failures = 0  # an old streak does not count
    throttle.failures += 1
    throttle.last_failure_at = now
    locked = throttle.failures >= settings.WORKBENCH_LOCKOUT_FAILURES
    if locked:
        throttle.locked_until, throttle.failures = now + window, 0
    throttle.save()
    audit_record(
        actor=None,
        action="auth.locked_out" if locked else "auth.sign_in_failed",
        obj=throttle,
        after={"username": throttle.key, "locked_until": throttle.locked_until if locked else None},
    )
    return throttle


@transaction.atomic
def sign_in_succeeded(*, user: User, method: str) -> None:
    """A completed sign-in (password, and the TOTP code when the user has a device) clears the streak."""
    SignInThrottle.objects.filter(key=throttle_key(user.get_username())).update(failures=0, locked_until=None)
    audit_record(actor=user, action="auth.sign_in", obj=user, after={"method": method})


@transaction.atomic
def sign_in_cleared(*, name: str) -> None:
    """A proven owner (e.g. by a one-time code) starts with a clean slate: the lock-out ends."""
    SignInThrottle.objects.filter(key=throttle_key(name)).update(failures=0, locked_until=None)


@transaction.atomic
def sign_out(*, user: User) -> None:
    audit_record(actor=user, action="auth.sign_out", obj=user)


@transaction.atomic
def totp_device_start(*, actor: User) -> TOTPDevice:
    """A new, unconfirmed authenticator for the actor (replacing an earlier unconfirmed one).
    It does not count until confirmed with a code, so a half-finished enrolment locks nobody out."""
    TOTPDevice.objects.filter(user=actor, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=actor, name="authenticator", confirmed=False)
    audit_record(actor=actor, action="auth.totp_start", obj=device)
    return device


@transaction.atomic
def totp_device_confirm(*, actor: User, token: str) -> TOTPDevice:
    device = TOTPDevice.objects.select_for_update().filter(user=actor, confirmed=False).order_by("-pk").first()
    if device is None:
        raise NotFound()
    if not device.verify_token(token.strip()):
        raise ValidationFailed({"token": _("The code is not valid. Enter the current 6-digit code.")})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(actor=actor, action="auth.totp_confirm", obj=device)
    return device


def _clean_params(params: dict[str, Any]) -> dict[str, str]:
    return {k: str(params[k])[:100] for k in SAVED_VIEW_KEYS if params.get(k)}


@transaction.atomic
def saved_view_save(*, actor: User, name: str, params: dict[str, Any]) -> SavedView:
    """Save the queue's current filters under a name (the same name replaces the earlier view)."""
    name = name.strip()
    if not name:
        raise ValidationFailed({"name": _("Give the view a name.")})
    if len(name) > 60:
        raise ValidationFailed({"name": _("At most 60 characters.")})
    view = SavedView.objects.select_for_update().filter(user=actor, name=name).first()
    before = dict(view.params) if view else None
    if view is None:
        view = SavedView(user=actor, name=name)
    view.params = _clean_params(params)
    view.save()
    audit_record(
        actor=actor, action="workbench.view_save", obj=view, before=before, after={"name": name, **view.params}
    )
    return view


@transaction.atomic
def saved_view_delete(*, actor: User, view_id: int) -> None:
    view = SavedView.objects.select_for_update().filter(user=actor, pk=view_id).first()
    if view is None:
        raise NotFound()
    before, pk = {"name": view.name, **view.params}, view.pk
    view.delete()
    audit_record(
        actor=actor, action="workbench.view_delete", object_type="workbench.savedview", object_id=pk, before=before
    )


@transaction.atomic
def alerts_mark_read(*, actor: User, alert_ids: list[int]) -> int:
    """Mark the user's own alerts read (those of their role stay for the others)."""
    from claimwise.process.models import StaffAlert
    from claimwise.workbench.selectors import alerts_for  # selectors import this module

    visible = {a.pk for a in alerts_for(actor, limit=500)}
    ids = [i for i in alert_ids if i in visible]
    if not ids:
        return 0
    now = timezone.now()
    marked = StaffAlert.objects.filter(pk__in=ids, read_at__isnull=True).update(read_at=now)
    audit_record(actor=actor, action="alert.read", object_type="process.staffalert", object_id=",".join(map(str, ids)))
    return marked
