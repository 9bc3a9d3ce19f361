"""Writes for accounts: users, roles and API tokens. Every one is audited."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.accounts.models import ApiToken, Branch, PartnerOrganization, Team, User
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.errors import ValidationFailed

TOKEN_PREFIX = "cw_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str | None,
    role: Role | str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    branch: Branch | None = None,
    team: Team | None = None,
    lines: list[str] | None = None,
    partner: PartnerOrganization | None = None,
    is_demo: bool = False,
    is_superuser: bool = False,
) -> User:
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        branch=branch,
        team=team or None,
        lines=list(lines or []),
        partner=partner,
        is_demo=is_demo,
        # The back office is for staff; customers and partners use the portal and the API.
        is_staff=role in (Role.ADMIN, Role.SUPERVISOR, Role.COMPLIANCE, Role.AUDITOR) or is_superuser,
        is_superuser=is_superuser,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(actor=actor, action="user.create", obj=user, after=snapshot(user, secret=("password",)))
    return user


#: Roles that work in the back office (the Django admin); `is_staff` follows the role.
BACK_OFFICE_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.COMPLIANCE, Role.AUDITOR})
#: What `user_update` may change; the password has its own service and never enters the audit trail.
USER_UPDATABLE = frozenset(
    {
        "username",
        "email",
        "first_name",
        "last_name",
        "role",
        "branch",
        "team",
        "lines",
        "partner",
        "is_demo",
        "is_active",
        "is_available",
        "is_superuser",
    }
)


def _user_snapshot(user: User) -> dict:
    fields = [f.name for f in User._meta.concrete_fields if f.name != "password"]
    return snapshot(user, fields)


@transaction.atomic
def user_update(*, actor: User | None, user: User, changes: dict[str, Any]) -> User:
    """Change a user's profile, role or scope from the back office, audited with before/after.
    Back-office access (`is_staff`) follows the role; the password hash is neither touched nor recorded."""
    unknown = set(changes) - USER_UPDATABLE
    if unknown:
        raise ValueError(f"user_update cannot change {sorted(unknown)}")
    current = User.objects.select_for_update().get(pk=user.pk)
    before = _user_snapshot(current)
    for name, value in changes.items():
        setattr(user, name, list(value or []) if name == "lines" else value)
    user.is_staff = user.role in BACK_OFFICE_ROLES or user.is_superuser
    try:
        user.full_clean(exclude=["password"])
    except DjangoValidationError as exc:
        raise ValidationFailed({f: " ".join(ms) for f, ms in exc.message_dict.items()}) from exc
    after = _user_snapshot(user)
    if after == before:
        return user
    columns = {field.name for field in User._meta.concrete_fields}
    user.save(update_fields=sorted({*changes, "is_staff"} & columns))
    audit_record(actor=actor, action="user.update", obj=user, before=before, after=after)
    return user


@transaction.atomic
def user_set_password(*, actor: User | None, user: User, password: str | None) -> User:
    """Set a new password (validated by AUTH_PASSWORD_VALIDATORS), or `None` to disable password
    sign-in. The audit entry says that the password changed, never what it is or hashes to."""
    if password is not None:
        try:
            password_validation.validate_password(password, user)
        except DjangoValidationError as exc:
            raise ValidationFailed({"password": " ".join(exc.messages)}) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="user.set_password", obj=user, after={"usable_password": password is not None})
    return user


@transaction.atomic
def token_create(*, actor: User | None, user: User, name: str = "api") -> tuple[ApiToken, str]:
    """Returns the token row and the raw token, which is never stored and never shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10], key_hash=hash_token(raw))
    audit_record(
        actor=actor, action="api_token.create", obj=token, after={"user": user.pk, "name": name, "prefix": raw[:10]}
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor: User | None, token: ApiToken) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_record(actor=actor, action="api_token.revoke", obj=token, after={"revoked_at": token.revoked_at})
    return token


@transaction.atomic
def reference_save(*, actor: User | None, instance: Any, changed: list[str] | None = None) -> Any:
    """Create or update a reference-data row (branches, teams, products, ...) from the back office:
    validated, saved and audited with before/after."""
    model = type(instance)
    before = None
    if instance.pk is not None:
        current = model.objects.select_for_update().filter(pk=instance.pk).first()
        before = snapshot(current) if current is not None else None
    instance.full_clean()
    instance.save()
    action = f"{model._meta.model_name}.{'update' if before is not None else 'create'}"
    audit_record(actor=actor, action=action, obj=instance, before=before, after=snapshot(instance))
    return instance


@transaction.atomic
def reference_delete(*, actor: User | None, instance: Any) -> None:
    before = snapshot(instance)
    pk = instance.pk
    label = instance._meta.label_lower
    instance.delete()
    audit_record(
        actor=actor,
        action=f"{instance._meta.model_name}.delete",
        object_type=label,
        object_id=pk,
        before=before,
    )
