"""An investigator's case in a real browser (Debian's Chromium, Playwright, `claimwise serve` on the
test database): from the SIU queue to the case page with its neighbourhood picture, a task added
and marked done in place, the case closed with an outcome; screenshots of the case page, the claim
page's risk card and the early-warning page at desktop and phone widths."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.claims.services import document_upload
from claimwise.fraud.choices import CaseOutcome, CaseStatus, Dimension, Measure
from claimwise.fraud.investigations import case_open
from claimwise.fraud.models import InvestigationCase, InvestigationTask, WarningAlert
from claimwise.fraud.rules import presets_install
from tests import factories
from tests.fraud.test_links import ACCOUNT, report, unrelated_policy
from tests.process.test_materials import png
from tests.workbench.test_browser import (  # noqa: F401 - the browser fixtures
    _server_hasher,
    _shared_media,
    _shots,
    _sign_in,
    _wait_for_queue,
    browser,
    page,
    server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _demo(handler: Any, supervisor: Any) -> dict[str, Any]:
    """A claimant with an earlier claim, paid into an account three other claimants use too (a ring),
    and a photo also sent with one of those claims."""
    presets_install(actor=None)
    policy = unrelated_policy()
    earlier = report(handler, policy)
    others = [report(handler, unrelated_policy(), ACCOUNT) for _ in range(3)]
    claim = report(handler, policy, ACCOUNT)
    photo = png()
    for target in (others[0], claim):
        document_upload(
            actor=handler,
            claim_id=target.pk,
            doc_type="damage_photo",
            stream=io.BytesIO(photo),
            original_name="rear.png",
            size=len(photo),
        )
    # The ring's score may have opened the case already (the SIU threshold); otherwise open it by hand.
    case = InvestigationCase.objects.filter(claim=claim, status=CaseStatus.OPEN).first() or case_open(
        actor=supervisor, claim_id=claim.pk, reason="同一收款账户被多名无关索赔人使用"
    )
    return {"claim": claim, "earlier": earlier, "others": others, "case": case}


def _warnings(claims: list[Any]) -> None:
    today = timezone.localdate() - dt.timedelta(days=1)
    for n, (measure, key, base, spike, expected) in enumerate(
        [
            (Measure.FREQUENCY, "广东", 6, 31, True),
            (Measure.FREQUENCY, "浙江", 4, 15, False),
            (Measure.SEVERITY, "北京", 8200, 23800, False),
        ]
    ):
        day = today - dt.timedelta(days=n)
        history = [
            ((day - dt.timedelta(days=56 - i)).isoformat(), float(base + ((i * 7 + n) % 5) * base / 10))
            for i in range(56)
        ] + [(day.isoformat(), float(spike))]
        WarningAlert.objects.create(
            day=day,
            measure=measure,
            dimension=Dimension.REGION,
            key=key,
            value=Decimal(spike),
            expected_value=Decimal(base) * Decimal("1.2"),
            upper_limit=Decimal(base) * Decimal("1.9"),
            history=history,
            claim_ids=[c.pk for c in claims] if n == 1 else [],
            expected=expected,
            created_at=timezone.now(),
        )


def test_an_investigator_works_a_case_from_the_queue(page: Any) -> None:  # noqa: F811
    handler = factories.user(Role.HANDLER)
    supervisor = factories.user(Role.SUPERVISOR, first_name="敏", last_name="赵")
    demo = _demo(handler, supervisor)
    _warnings([demo["claim"], *demo["others"]])
    case: InvestigationCase = demo["case"]
    page.goto("/work/login/")
    _sign_in(page, supervisor.username)
    _wait_for_queue(page)
    page.click("a[href='/work/investigations/']")
    page.click(f"a[data-case='{case.pk}']")
    page.wait_for_url(f"**/work/investigations/{case.pk}/")
    picture = page.locator("#links svg.wb-graph-svg")
    assert picture.is_visible()
    assert picture.locator(".wb-graph-entity").count() == 3  # claimant, account (ring), document
    rings = picture.locator(".wb-graph-entity.wb-ring")
    # The account across four claimants and the photo on two claimants' claims are rings.
    assert sorted(rings.nth(i).get_attribute("data-kind") for i in range(rings.count())) == ["account", "document"]
    assert picture.locator(".wb-graph-claim").count() == 4  # the earlier claim and the three others
    page.screenshot(path=str(_shots() / "case-1280.png"), full_page=True)

    page.fill("#id_task_text", "向银行核实账户户主")
    page.click("#form-task button[type=submit]")
    page.wait_for_selector("li.wb-task >> text=向银行核实账户户主")
    task = InvestigationTask.objects.get(case=case)
    page.click(f"#form-done-{task.pk} button[type=submit]")
    page.wait_for_selector(f"li.wb-task-done[data-task='{task.pk}']")

    page.check("#id_close_outcome_0")  # confirmed fraud
    page.fill("#id_close_amount_saved", "12000")
    page.fill("#id_close_note", "四起索赔使用同一账户，系同一团伙")
    page.click("#form-close button[type=submit]")
    page.wait_for_selector("#form-close", state="detached")
    case.refresh_from_db()
    task.refresh_from_db()
    assert task.done_at is not None
    assert (case.status, case.outcome, case.amount_saved) == (
        CaseStatus.CLOSED,
        CaseOutcome.CONFIRMED_FRAUD,
        Decimal("12000.00"),
    )
    page.screenshot(path=str(_shots() / "case-closed-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(_shots() / "case-375.png"), full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/work/claims/{demo['others'][0].pk}/")
    risk = page.locator("#risk")
    assert risk.locator("svg.wb-graph-svg").is_visible()
    risk.screenshot(path=str(_shots() / "claim-risk-1280.png"))
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    risk.screenshot(path=str(_shots() / "claim-risk-375.png"))

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/work/warnings/")
    assert page.locator("svg.wb-chart").count() == 3
    page.screenshot(path=str(_shots() / "warnings-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(_shots() / "warnings-375.png"), full_page=True)
