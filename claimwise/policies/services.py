"""Writes for parties, products and policies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from claimwise.accounts.models import Branch, User
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.crypto import keyed_hash
from claimwise.core.errors import ValidationFailed
from claimwise.core.money import to_money
from claimwise.policies.models import Coverage, Customer, Policy, Product
from claimwise.policies.selectors import mobile_in_use
from claimwise.policies.validators import clean_id_number, clean_mobile

CUSTOMER_SECRETS = ("id_number",)


def _full_clean(instance: Any) -> None:
    try:
        instance.full_clean()
    except DjangoValidationError as exc:
        raise ValidationFailed({f: " ".join(str(m) for m in ms) for f, ms in exc.message_dict.items()}) from exc


@transaction.atomic
def customer_create(
    *,
    actor: User | None,
    name: str,
    id_number: str,
    phone: str = "",
    email: str = "",
    address: str = "",
    user: User | None = None,
) -> Customer:
    """PIPL art. 28: the ID number is stored encrypted and found again only by its keyed hash."""
    errors: dict[str, str] = {}
    try:
        number, birth_date, gender = clean_id_number(id_number)
    except ValueError as exc:
        errors["id_number"] = str(exc)
    if phone:
        try:
            phone = clean_mobile(phone)
        except ValueError as exc:
            errors["phone"] = str(exc)
    if not name.strip():
        errors["name"] = _("This field is required.")
    if errors:
        raise ValidationFailed(errors)
    id_hash = keyed_hash(number)
    if Customer.objects.filter(id_hash=id_hash).exists():
        raise ValidationFailed({"id_number": _("A customer with this ID number already exists.")})
    customer = Customer(
        name=name.strip(),
        id_number=number,
        id_hash=id_hash,
        birth_date=birth_date,
        gender=gender,
        phone=phone,
        email=email,
        address=address,
        user=user,
    )
    _full_clean(customer)
    customer.save()
    audit_record(actor=actor, action="customer.create", obj=customer, after=snapshot(customer, secret=CUSTOMER_SECRETS))
    return customer


@transaction.atomic
def product_create(
    *, actor: User | None, code: str, name: str, line: str, description: str = "", coverages: list[dict] | None = None
) -> Product:
    product = Product(code=code, name=name, line=line, description=description)
    _full_clean(product)
    product.save()
    for spec in coverages or []:
        coverage = Coverage(product=product, **spec)
        _full_clean(coverage)
        coverage.save()
    audit_record(
        actor=actor,
        action="product.create",
        obj=product,
        after={**snapshot(product), "coverages": [c.get("code") for c in coverages or []]},
    )
    return product


@transaction.atomic
def policy_create(
    *,
    actor: User | None,
    number: str,
    product: Product,
    holder: Customer,
    branch: Branch,
    effective_from: dt.datetime,
    effective_to: dt.datetime,
    sum_insured: Decimal | str,
    premium: Decimal | str,
    insured_person: Customer | None = None,
    vehicle_plate: str = "",
    vehicle_vin: str = "",
    vehicle_model: str = "",
) -> Policy:
    if effective_to <= effective_from:
        raise ValidationFailed({"effective_to": _("The policy must end after it starts.")})
    policy = Policy(
        number=number,
        product=product,
        holder=holder,
        insured_person=insured_person or holder,
        branch=branch,
        effective_from=effective_from,
        effective_to=effective_to,
        sum_insured=to_money(sum_insured),
        premium=to_money(premium),
        vehicle_plate=vehicle_plate,
        vehicle_vin=vehicle_vin,
        vehicle_model=vehicle_model,
    )
    _full_clean(policy)
    policy.save()
    audit_record(actor=actor, action="policy.create", obj=policy, after=snapshot(policy))
    return policy


@transaction.atomic
def customer_account_link(*, actor: User | None, customer: Customer, user: User) -> Customer:
    """Tie a customer's record (and so their policies and claims) to their sign-in account."""
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    if current.user_id not in (None, user.pk):
        raise ValidationFailed({"user": _("This customer already has an account.")})
    before = {"user": current.user_id}
    customer.user = user
    customer.save(update_fields=["user", "updated_at"])
    audit_record(actor=actor, action="customer.link_account", obj=customer, before=before, after={"user": user.pk})
    return customer


@transaction.atomic
def customer_contact_change(
    *, actor: User | None, customer_id: int, phone: str | None = None, email: str | None = None
) -> Customer:
    """A customer's new mobile number or email address; a mobile another account signs in with is
    refused."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    before = snapshot(customer, ["phone", "email"])
    if phone is not None:
        try:
            phone = clean_mobile(phone)
        except ValueError as exc:
            raise ValidationFailed({"phone": str(exc)}) from exc
        if mobile_in_use(phone, other_than=customer.pk):
            raise ValidationFailed({"phone": _("This mobile number is used by another account.")})
        customer.phone = phone
    if email is not None:
        customer.email = email.strip().lower()
    _full_clean(customer)
    customer.save(update_fields=["phone", "email", "updated_at"])
    audit_record(
        actor=actor,
        action="customer.contact_change",
        obj=customer,
        before=before,
        after=snapshot(customer, ["phone", "email"]),
    )
    return customer
