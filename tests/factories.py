"""Test data built through the services, as the product builds it."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

from django.utils import timezone
from stdnum.cn import ric

from claimwise.accounts.choices import Role
from claimwise.accounts.models import Branch, PartnerOrganization, Team, User
from claimwise.accounts.services import reference_save, user_create
from claimwise.claims.models import Claim
from claimwise.claims.services import claim_submit
from claimwise.core.choices import LineOfBusiness
from claimwise.policies.models import Customer, Policy, Product
from claimwise.policies.services import customer_create, policy_create, product_create

_seq = itertools.count(1)


def id_number(birth: dt.date | None = None, region: str = "110101") -> str:
    birth = birth or dt.date(1985, 1, 1) + dt.timedelta(days=next(_seq) * 37 % 9000)
    body = f"{region}{birth:%Y%m%d}{random.randint(100, 999)}"  # noqa: S311
    return body + ric.calc_check_digit(body + "0")


def mobile() -> str:
    return f"+86138{random.randint(10000000, 99999999)}"  # noqa: S311


def branch(code: str = "BJ") -> Branch:
    found = Branch.objects.filter(code=code).first()
    return found or reference_save(actor=None, instance=Branch(code=code, name=f"{code} branch"))


def team(code: str = "BJ-MOTOR", branch_code: str = "BJ") -> Team:
    found = Team.objects.filter(code=code).first()
    return found or reference_save(actor=None, instance=Team(code=code, name=code, branch=branch(branch_code)))


def partner(code: str = "HOSP1") -> PartnerOrganization:
    found = PartnerOrganization.objects.filter(code=code).first()
    return found or reference_save(
        actor=None, instance=PartnerOrganization(code=code, name=f"Partner {code}", kind="hospital")
    )


def user(role: str, *, username: str | None = None, **kwargs: object) -> User:
    username = username or f"{role}{next(_seq)}"
    if role in (Role.HANDLER, Role.REVIEWER, Role.SUPERVISOR):
        kwargs.setdefault("branch", branch())
    if role == Role.HANDLER:
        kwargs.setdefault("team", team())
    if role == Role.PARTNER:
        kwargs.setdefault("partner", partner())
    return user_create(actor=None, username=username, password="Secret-pass-123", role=role, **kwargs)  # type: ignore[arg-type]


def customer(*, with_user: bool = True, name: str = "张伟") -> Customer:
    account = user(Role.CUSTOMER) if with_user else None
    return customer_create(actor=None, name=name, id_number=id_number(), phone=mobile(), user=account)


def product(line: str = LineOfBusiness.MOTOR) -> Product:
    code = f"P-{line}"
    found = Product.objects.filter(code=code).first()
    if found:
        return found
    loss_types = {
        LineOfBusiness.MOTOR: ["collision", "theft", "glass", "natural_disaster", "third_party"],
        LineOfBusiness.HEALTH: ["hospitalization", "outpatient", "critical_illness"],
    }.get(line, ["accidental_injury"])
    return product_create(
        actor=None,
        code=code,
        name=f"{line} product",
        line=line,
        coverages=[
            {
                "code": "main",
                "name": "Main cover",
                "limit": Decimal("100000"),
                "deductible": Decimal("500"),
                "loss_types": loss_types,
            }
        ],
    )


def policy(*, holder: Customer | None = None, line: str = LineOfBusiness.MOTOR, branch_code: str = "BJ") -> Policy:
    holder = holder or customer()
    now = timezone.now()
    return policy_create(
        actor=None,
        number=f"PL{next(_seq):010d}",
        product=product(line),
        holder=holder,
        branch=branch(branch_code),
        effective_from=now - dt.timedelta(days=100),
        effective_to=now + dt.timedelta(days=265),
        sum_insured=Decimal("200000"),
        premium=Decimal("3200"),
        vehicle_plate="京A12345" if line == LineOfBusiness.MOTOR else "",
    )


def policy_from(
    *, holder: Customer, starts: dt.datetime, ends: dt.datetime | None = None, line: str = LineOfBusiness.MOTOR
) -> Policy:
    """A policy with a chosen period (e.g. one that starts after an incident)."""
    return policy_create(
        actor=None,
        number=f"PL{next(_seq):010d}",
        product=product(line),
        holder=holder,
        branch=branch(),
        effective_from=starts,
        effective_to=ends or starts + dt.timedelta(days=365),
        sum_insured=Decimal("200000"),
        premium=Decimal("3200"),
    )


def claim(
    *,
    actor: User,
    policy: Policy,
    incident_at: dt.datetime | None = None,
    loss_type: str = "collision",
    claimed_amount: Decimal | str = "8200.00",
    idempotency_key: str | None = None,
) -> Claim:
    """Report a claim (FNOL) through the service, as a customer or staff member would."""
    return claim_submit(
        actor=actor,
        policy_number=policy.number,
        incident_at=incident_at or timezone.now() - dt.timedelta(hours=3),
        incident_place="北京市朝阳区建国路88号",
        loss_type=loss_type,
        claimed_amount=claimed_amount,
        description="追尾，后保险杠受损",
        idempotency_key=idempotency_key,
    ).claim
