"""The investigation case page, the neighbourhood picture and the early-warning page in the
workbench (issue 6 items 4–6): each case form works and refuses bad input with its errors in place
(422, nothing changed), what a user may do follows the SIU rules, cases out of scope are not found,
and the pictures show the right nodes."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.claims.models import Claim
from claimwise.fraud.choices import CaseOutcome, CaseStatus, Dimension, Measure
from claimwise.fraud.investigations import case_open, case_task_add
from claimwise.fraud.models import InvestigationCase, InvestigationTask, RingAlert, WarningAlert
from claimwise.fraud.rules import presets_install
from tests import factories
from tests.fraud.test_links import ACCOUNT, report, unrelated_policy


def demo_ring(handler: Any, supervisor: Any) -> dict[str, Any]:
    """Three claimants paid into one bank account (a ring), the last claim under investigation."""
    presets_install(actor=None)
    claims = [report(handler, unrelated_policy(), ACCOUNT) for _ in range(3)]
    case = case_open(actor=supervisor, claim_id=claims[-1].pk, reason="同一收款账户")
    return {"claims": claims, "claim": claims[-1], "case": case}


@pytest.fixture
def siu(world: dict[str, Any]) -> dict[str, Any]:
    return {**world, **demo_ring(world["handler"], world["supervisor"])}


def _client(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _url(case: InvestigationCase, key: str = "") -> str:
    return f"/work/investigations/{case.pk}/" + (f"act/{key}/" if key else "")


HX = {"HTTP_HX_REQUEST": "true"}


def test_the_queue_links_to_the_case_page_which_shows_the_case(siu: dict[str, Any]) -> None:
    client, case, claim = _client(siu["supervisor"]), siu["case"], siu["claim"]
    queue = client.get("/work/investigations/").content.decode()
    assert f'href="/work/investigations/{case.pk}/"' in queue
    page = client.get(_url(case))
    html = page.content.decode()
    assert page.status_code == 200
    assert f'href="/work/claims/{claim.pk}/"' in html and claim.number in html
    assert "statutory deadlines keep running" in html
    claim.refresh_from_db()
    assert str(case.score_at_opening) in html and str(claim.risk_score) in html
    assert "the payee account is also used by 2 other claimants" in html  # a current reason
    for key in ("task", "note", "assign", "close"):
        assert f'id="form-{key}"' in html, key
    assert 'name="outcome" value="confirmed_fraud"' in html


def test_the_picture_shows_the_claim_its_ring_and_the_linked_claims(siu: dict[str, Any]) -> None:
    html = _client(siu["supervisor"]).get(_url(siu["case"])).content.decode()
    svg = html[html.index('<svg class="wb-graph-svg"') : html.index("</svg>", html.index('<svg class="wb-graph-svg"'))]
    assert 'role="img"' in svg and "<title>" in svg and f"Claims linked to {siu['claim'].number}" in svg
    assert re.search(r'viewBox="[\d.]+ [\d.]+ [\d.]+ [\d.]+"', svg)
    assert svg.count('class="wb-graph-entity wb-ring" data-kind="account"') == 1
    assert "***************3445" in svg and ACCOUNT not in html
    for other in siu["claims"][:2]:  # the other claims on the ring, linked to their pages
        assert (
            f'<a href="/work/claims/{other.pk}/" data-claim="{other.pk}"><g class="wb-graph-claim wb-ring" data-number="{other.number}">'
            in svg
        )
    assert 'class="wb-edge wb-edge-ring"' in svg
    assert "The links as a list" in html  # the text alternative


def test_the_claim_page_risk_card_has_the_picture(siu: dict[str, Any]) -> None:
    html = _client(siu["supervisor"]).get(f"/work/claims/{siu['claims'][0].pk}/").content.decode()
    risk = html[html.index('id="risk"') :]
    assert 'class="wb-graph-svg"' in risk and f'data-number="{siu["claim"].number}"' in risk


def test_out_of_scope_links_are_not_links(siu: dict[str, Any]) -> None:
    # A linked claim in another branch: shown by number (it is a link fact), not linked.
    other = Claim.objects.get(pk=siu["claims"][0].pk)
    Claim.objects.filter(pk=other.pk).update(branch=factories.branch("SH"))
    html = _client(siu["supervisor"]).get(_url(siu["case"])).content.decode()
    assert f'data-number="{other.number}"' in html and f'href="/work/claims/{other.pk}/"' not in html


def test_add_a_task_mark_it_done_and_refusals_come_back_in_place(siu: dict[str, Any]) -> None:
    client, case = _client(siu["supervisor"]), siu["case"]
    empty = client.post(_url(case, "task"), {"text": "  "}, **HX)
    assert empty.status_code == 422
    body = empty.content.decode()
    assert body.lstrip().startswith("<form") and 'id="form-task"' in body and "wb-field-error" in body
    assert not InvestigationTask.objects.exists()
    nobody = client.post(_url(case, "task"), {"text": "Call the bank", "assignee": 10**9}, **HX)
    assert nobody.status_code == 422 and not InvestigationTask.objects.exists()  # not one of the choices
    who = siu["handler"]
    done = client.post(_url(case, "task"), {"text": "Call the bank", "due": "2030-01-31", "assignee": who.pk})
    assert done.status_code == 302 and done["Location"].endswith(f"/work/investigations/{case.pk}/#tasks")
    task = InvestigationTask.objects.get()
    assert task.text == "Call the bank" and timezone.localtime(task.due_at).date() == dt.date(2030, 1, 31)
    assert task.assignee == who
    html = client.get(_url(case)).content.decode()
    assert f'id="form-done-{task.pk}"' in html and "Call the bank" in html
    assert (who.get_full_name() or who.get_username()) in html
    marked = client.post(_url(case, "done"), {"task": task.pk}, **HX)
    assert marked.status_code == 204 and marked["HX-Redirect"] == f"/work/investigations/{case.pk}/#tasks"
    assert marked["HX-Refresh"] == "true"  # to the same page plus an anchor: reload, not only scroll
    task.refresh_from_db()
    assert task.done_at is not None and task.done_by == siu["supervisor"]
    again = client.post(_url(case, "done"), {"task": task.pk})  # without JS: the whole page, 422
    assert again.status_code == 422 and "The task is done already." in again.content.decode()
    stranger = case_task_add(actor=None, case_id=case.pk, text="x")
    wrong = client.post(_url(case, "done"), {"task": stranger.pk + 1000}, **HX)
    assert wrong.status_code == 422 and "This task is not on the case." in wrong.content.decode()


def test_notes_and_their_errors(siu: dict[str, Any]) -> None:
    client, case = _client(siu["supervisor"]), siu["case"]
    refused = client.post(_url(case, "note"), {"text": ""}, **HX)
    assert refused.status_code == 422 and "wb-field-error" in refused.content.decode()
    assert client.post(_url(case, "note"), {"text": "Account holder unknown"}).status_code == 302
    assert "Account holder unknown" in client.get(_url(case)).content.decode()


def test_assign_with_staleness_and_only_for_siu(siu: dict[str, Any]) -> None:
    client, case, handler = _client(siu["supervisor"]), siu["case"], siu["handler"]
    bad = client.post(_url(case, "assign"), {"assignee": "999999", "current": ""}, **HX)
    assert bad.status_code == 422 and "wb-field-error" in bad.content.decode()
    assert client.post(_url(case, "assign"), {"assignee": handler.pk, "current": ""}).status_code == 302
    case.refresh_from_db()
    assert case.assignee == handler
    # A form shown before that change is refused, nothing changes.
    stale = client.post(_url(case, "assign"), {"assignee": "", "current": ""}, **HX)
    assert stale.status_code == 422 and "Someone reassigned this case" in stale.content.decode()
    case.refresh_from_db()
    assert case.assignee == handler
    # The investigator (a handler) works the case but may neither assign nor close it.
    mine = _client(handler)
    html = mine.get(_url(case)).content.decode()
    assert 'id="form-task"' in html and 'id="form-note"' in html
    assert 'id="form-assign"' not in html and 'id="form-close"' not in html
    refused = mine.post(_url(case, "close"), {"outcome": "not_fraud", "note": "x"})
    assert refused.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert mine.post(_url(case, "task"), {"text": "Visit the garage"}).status_code == 302


def test_close_with_outcome_and_amount(siu: dict[str, Any]) -> None:
    client, case = _client(siu["supervisor"]), siu["case"]
    claim_status = Claim.objects.get(pk=case.claim_id).status
    no_outcome = client.post(_url(case, "close"), {"note": "found", "amount_saved": "10"}, **HX)
    assert no_outcome.status_code == 422 and 'id="id_close_outcome-error"' in no_outcome.content.decode()
    saved_for_nothing = client.post(
        _url(case, "close"), {"outcome": "not_fraud", "note": "clean", "amount_saved": "100"}, **HX
    )
    assert saved_for_nothing.status_code == 422
    assert "An amount is saved only when fraud is confirmed." in saved_for_nothing.content.decode()
    negative = client.post(_url(case, "close"), {"outcome": "confirmed_fraud", "note": "x", "amount_saved": "-1"}, **HX)
    assert negative.status_code == 422 and 'id="id_close_amount_saved-error"' in negative.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    ok = client.post(
        _url(case, "close"), {"outcome": "confirmed_fraud", "note": "Staged accident", "amount_saved": "3000"}
    )
    assert ok.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.outcome, case.amount_saved) == (
        CaseStatus.CLOSED,
        CaseOutcome.CONFIRMED_FRAUD,
        Decimal("3000.00"),
    )
    assert Claim.objects.get(pk=case.claim_id).status == claim_status  # the claim is where it was
    html = client.get(_url(case)).content.decode()
    assert "Confirmed fraud" in html and 'id="form-close"' not in html and 'id="form-task"' not in html
    late = client.post(_url(case, "task"), {"text": "too late"})
    assert late.status_code == 302 and not InvestigationTask.objects.filter(text="too late").exists()


def test_scope_and_roles(siu: dict[str, Any]) -> None:
    case = siu["case"]
    elsewhere = factories.user(Role.SUPERVISOR, branch=factories.branch("SH"))
    assert _client(elsewhere).get(_url(case)).status_code == 404
    assert _client(elsewhere).post(_url(case, "note"), {"text": "x"}).status_code == 404
    assert _client(siu["customer"]).get(_url(case)).status_code == 302  # staff only: to the sign-in
    assert _client(siu["supervisor"]).get("/work/investigations/999999/").status_code == 404
    overdue = InvestigationCase.objects.filter(pk=case.pk)
    overdue.update(due_at=timezone.now() - dt.timedelta(days=1))
    assert 'data-testid="overdue"' in _client(siu["supervisor"]).get(_url(case)).content.decode()


# --- early warning -------------------------------------------------------------------------------------


def _alert(
    day: dt.date, *, expected: bool, measure: str = Measure.FREQUENCY, claim_ids: list[int] = ()
) -> WarningAlert:  # type: ignore[assignment]
    history = [((day - dt.timedelta(days=56 - i)).isoformat(), 3.0) for i in range(56)] + [(day.isoformat(), 14.0)]
    return WarningAlert.objects.create(
        day=day,
        measure=measure,
        dimension=Dimension.REGION,
        key="广东",
        value=Decimal("14"),
        expected_value=Decimal("3.1"),
        upper_limit=Decimal("9"),
        history=history,
        claim_ids=list(claim_ids),
        expected=expected,
        created_at=timezone.now(),
    )


def test_the_warnings_page(siu: dict[str, Any]) -> None:
    today = timezone.localdate()
    calm = _alert(today, expected=True)
    odd = _alert(today - dt.timedelta(days=1), expected=False, claim_ids=[c.pk for c in siu["claims"]])
    severity = _alert(today - dt.timedelta(days=2), expected=False, measure=Measure.SEVERITY)
    client = _client(siu["supervisor"])
    html = client.get("/work/warnings/").content.decode()
    order = [int(x) for x in re.findall(r'data-alert="(\d+)"', html)]
    assert order == [odd.pk, severity.pk, calm.pk]  # suspicious first, newest first
    assert 'data-expected="1"' in html and "Expected" in html and "Suspicious" in html
    assert html.count('class="wb-chart"') == 3 and "wb-chart-limit" in html and "wb-chart-alert" in html
    assert f'href="/work/claims/{siu["claims"][0].pk}/"' in html
    assert 'href="/work/warnings/"' in html  # in the menu
    motor = WarningAlert.objects.filter(pk=calm.pk)
    motor.update(dimension=Dimension.LINE, key="motor")
    assert "Motor" in client.get("/work/warnings/").content.decode()  # the line by its name, not its code
    only = client.get("/work/warnings/", {"measure": "severity"}).content.decode()
    assert re.findall(r'data-alert="(\d+)"', only) == [str(severity.pk)]
    assert _client(siu["handler"]).get("/work/warnings/").status_code == 403
    assert 'href="/work/warnings/"' not in _client(siu["handler"]).get("/work/").content.decode()


def test_a_claim_without_links_says_so(world: dict[str, Any]) -> None:
    presets_install(actor=None)
    claim = report(world["handler"], unrelated_policy())
    assert claim.status != ClaimStatus.CLOSED
    case = case_open(actor=world["supervisor"], claim_id=claim.pk, reason="check")
    html = _client(world["supervisor"]).get(_url(case)).content.decode()
    assert "No other claim shares" in html and 'class="wb-graph-svg"' not in html
    assert not RingAlert.objects.exists()


def test_the_case_page_reads_a_constant_number_of_queries(siu: dict[str, Any]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from claimwise.fraud.investigations import case_note_add

    client, case = _client(siu["supervisor"]), siu["case"]
    case_task_add(actor=None, case_id=case.pk, text="one")
    client.get(_url(case))  # the first page of a session checks for an authenticator once
    with CaptureQueriesContext(connection) as few:
        assert client.get(_url(case)).status_code == 200
    for i in range(4):
        case_task_add(actor=None, case_id=case.pk, text=f"task {i}")
        case_note_add(actor=siu["supervisor"], case_id=case.pk, text=f"note {i}")
    report(siu["handler"], unrelated_policy(), ACCOUNT)  # one more claim on the ring
    with CaptureQueriesContext(connection) as more:
        assert client.get(_url(case)).status_code == 200
    assert len(few.captured_queries) == len(more.captured_queries), "\n".join(
        q["sql"][:90] for q in [*few.captured_queries, {"sql": "----"}, *more.captured_queries]
    )
