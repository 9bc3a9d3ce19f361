"""Early warning: a constructed surge of claims raises a frequency alert (and a severity alert when
the amounts jump) with the claims behind it; a declared catastrophe marks the same surge expected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from claimwise.accounts.models import Branch
from claimwise.claims.models import Claim
from claimwise.fraud.models import WarningAlert
from claimwise.fraud.warning import catastrophe_declare, early_warning_run, poisson_upper, suspicious_alerts
from tests import factories

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 10, 20)


def _on(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def history(world: dict[str, Any]) -> dict[str, Any]:
    """Forty days of two motor claims a day in Beijing, then the day under test."""
    Branch.objects.filter(code="BJ").update(region="北京")
    made = []
    for back in range(1, 41):
        for n in range(2):
            made.append(
                (factories.claim(actor=world["handler"], policy=world["policy"]), DAY - dt.timedelta(days=back), n)
            )
    for claim, day, n in made:
        Claim.objects.filter(pk=claim.pk).update(reported_at=_on(day, 9 + n))
    return world


def _surge(world: dict[str, Any], count: int, amount: str = "8200.00") -> list[int]:
    ids = []
    for n in range(count):
        claim = factories.claim(actor=world["handler"], policy=world["policy"], claimed_amount=amount)
        Claim.objects.filter(pk=claim.pk).update(reported_at=_on(DAY, 8 + n % 12))
        ids.append(claim.pk)
    return ids


def test_poisson_limits_follow_the_exact_tail() -> None:
    assert poisson_upper(2.0) == 8  # P(X > 8 | λ=2) < 0.1 %, P(X > 7) is not
    assert poisson_upper(0.0) >= 1 and poisson_upper(50.0) > 50 + 2 * 50**0.5


def test_a_surge_raises_alerts_with_the_claims_behind_them(history: dict[str, Any]) -> None:
    assert early_warning_run(day=DAY - dt.timedelta(days=1)) == []  # an ordinary day
    ids = _surge(history, 12)
    alerts = early_warning_run(day=DAY)
    kinds = {(a.measure, a.dimension, a.key) for a in alerts}
    assert ("frequency", "line", "motor") in kinds and ("frequency", "region", "北京") in kinds
    motor = WarningAlert.objects.get(measure="frequency", dimension="line", key="motor")
    assert motor.value == Decimal("12.00") and motor.upper_limit < 12 and set(ids) <= set(motor.claim_ids)
    assert len(motor.history) == 57 and motor.history[-1][1] == 12.0  # the chart's series, the day last
    assert not motor.expected and list(suspicious_alerts()) != []
    assert early_warning_run(day=DAY) and WarningAlert.objects.count() == len(alerts)  # idempotent


def test_a_jump_in_amounts_is_a_severity_alert(history: dict[str, Any]) -> None:
    _surge(history, 3, amount="90000.00")
    alerts = early_warning_run(day=DAY)
    assert any(a.measure == "severity" and a.key == "motor" for a in alerts)
    assert not any(a.measure == "frequency" and a.dimension == "line" for a in alerts)  # 3 a day is normal enough


def test_a_declared_catastrophe_marks_its_surge_expected(history: dict[str, Any]) -> None:
    _surge(history, 12)
    early_warning_run(day=DAY)
    event = catastrophe_declare(
        actor=history["supervisor"],
        name="台风“海葵”",
        kind="typhoon",
        region="北京",
        starts_on=DAY - dt.timedelta(days=1),
        ends_on=DAY + dt.timedelta(days=2),
    )
    assert list(suspicious_alerts()) == []
    assert all(a.expected and a.catastrophe_id == event.pk for a in WarningAlert.objects.filter(dimension="region"))
    # Declared first, then the job: the surge is expected from the start.
    WarningAlert.objects.all().delete()
    early_warning_run(day=DAY)
    assert list(suspicious_alerts()) == []


def test_the_back_office_lists_alerts_and_declares_catastrophes(history: dict[str, Any]) -> None:
    from django.test import Client

    from claimwise.accounts.choices import Role
    from claimwise.core.models import AuditEntry
    from claimwise.fraud.models import CatastropheEvent

    _surge(history, 12)
    early_warning_run(day=DAY)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(factories.user(Role.ADMIN, username="root", is_superuser=True))
    listing = client.get("/admin/fraud/warningalert/")
    assert listing.status_code == 200 and "motor" in listing.content.decode()
    added = client.post(
        "/admin/fraud/catastropheevent/add/",
        {
            "name": "暴雨",
            "kind": "flood",
            "region": "北京",
            "lines": "[]",
            "starts_on": DAY.isoformat(),
            "ends_on": DAY.isoformat(),
        },
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    assert CatastropheEvent.objects.get().declared_by is not None
    assert AuditEntry.objects.filter(action="fraud.catastrophe_declare").exists()
    assert all(a.expected for a in WarningAlert.objects.filter(dimension="region"))


# --- per provider and per repair shop -------------------------------------------------------------------


@pytest.fixture
def garage(history: dict[str, Any]) -> Any:
    """A repair shop that got one of the two claims a day of the history."""
    from claimwise.accounts.models import PartnerOrganization
    from claimwise.claims.services import claim_share

    shop = PartnerOrganization.objects.create(code="SHOP1", name="安达汽修", kind="repair_shop")
    hospital = PartnerOrganization.objects.create(code="HOSP9", name="协和医院", kind="hospital")
    for claim in Claim.objects.filter(reported_at__hour=9).order_by("pk"):
        claim_share(actor=history["handler"], claim_id=claim.pk, partner=shop)
    assert Claim.objects.filter(shares__partner=shop).count() == 40
    return {"shop": shop, "hospital": hospital}


def _shop_surge(world: dict[str, Any], partner: Any, count: int) -> list[int]:
    from claimwise.claims.services import claim_share

    ids = _surge(world, count)
    for claim_id in ids:
        claim_share(actor=world["handler"], claim_id=claim_id, partner=partner)
    return ids


def test_a_surge_at_one_repair_shop_raises_an_alert_naming_it(history: dict[str, Any], garage: Any) -> None:
    assert early_warning_run(day=DAY - dt.timedelta(days=1)) == []  # an ordinary day for the shop too
    ids = _shop_surge(history, garage["shop"], 7)
    alerts = early_warning_run(day=DAY)
    shop = WarningAlert.objects.get(measure="frequency", dimension="repair_shop")
    assert (shop.key, shop.label) == ("SHOP1", "安达汽修")
    assert shop.value == Decimal("7.00") and shop.upper_limit < 7 and set(shop.claim_ids) == set(ids)
    assert len(shop.history) == 57 and shop.history[-1][1] == 7.0 and shop.history[-2][1] == 1.0
    assert not shop.expected and shop in alerts
    # The hospital had no history and nothing today: not judged, no alert.
    assert not WarningAlert.objects.filter(dimension="provider").exists()
    assert early_warning_run(day=DAY) and WarningAlert.objects.filter(dimension="repair_shop").count() == 1


def test_a_hospital_is_judged_as_a_provider(history: dict[str, Any], garage: Any) -> None:
    from claimwise.claims.services import claim_share

    for claim in Claim.objects.filter(shares__partner=garage["shop"]):
        claim_share(actor=history["handler"], claim_id=claim.pk, partner=garage["hospital"])
    _shop_surge(history, garage["hospital"], 7)
    early_warning_run(day=DAY)
    alert = WarningAlert.objects.get(measure="frequency", dimension="provider")
    assert (alert.key, alert.label) == ("HOSP9", "协和医院")
    assert not WarningAlert.objects.filter(dimension="repair_shop").exists()  # the shop's day was ordinary


def test_a_declared_catastrophe_marks_a_repair_shops_surge_expected(history: dict[str, Any], garage: Any) -> None:
    _shop_surge(history, garage["shop"], 7)
    elsewhere = catastrophe_declare(
        actor=history["supervisor"], name="上海暴雨", kind="flood", region="上海", starts_on=DAY, ends_on=DAY
    )
    early_warning_run(day=DAY)
    shop = WarningAlert.objects.get(measure="frequency", dimension="repair_shop")
    assert not shop.expected  # the shop's claims are in Beijing: a flood in Shanghai explains nothing
    # Declared after the job: the alert already raised is marked expected.
    event = catastrophe_declare(
        actor=history["supervisor"],
        name="台风“海葵”",
        kind="typhoon",
        region="北京",
        lines=["motor"],
        starts_on=DAY - dt.timedelta(days=1),
        ends_on=DAY + dt.timedelta(days=2),
    )
    shop.refresh_from_db()
    assert shop.expected and shop.catastrophe_id == event.pk
    assert not suspicious_alerts().filter(dimension="repair_shop").exists()
    # Declared first, then the job: expected from the start.
    WarningAlert.objects.all().delete()
    early_warning_run(day=DAY)
    assert WarningAlert.objects.get(measure="frequency", dimension="repair_shop").catastrophe_id == event.pk
    assert elsewhere.alerts.count() == 0


def test_a_catastrophe_on_another_line_does_not_cover_the_shop(history: dict[str, Any], garage: Any) -> None:
    _shop_surge(history, garage["shop"], 7)
    catastrophe_declare(
        actor=history["supervisor"],
        name="暴雨",
        kind="flood",
        region="北京",
        lines=["health"],
        starts_on=DAY,
        ends_on=DAY,
    )
    early_warning_run(day=DAY)
    assert suspicious_alerts().filter(dimension="repair_shop").exists()
