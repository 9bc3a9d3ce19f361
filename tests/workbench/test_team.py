"""The supervisor's team overview (R3): backlog per step and team, workload, claims at risk; every
number links to the claims behind it; a fixed number of queries; handlers are refused."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from claimwise.accounts.choices import Role
from claimwise.claims.services import claim_register
from tests import factories
from tests.workbench.conftest import urgent_claims

# Session, user, backlog, step names, workload, closures, at risk, session renewal (+ savepoint pair);
# the teams' names add one when claims belong to teams.
TEAM_QUERIES = 10
# The claim page: session, user, claim (with policy, product, claimant, team, handler), coverage,
# remaining limit, process row and definition, map steps and clocks, clocks, materials, step and its
# checks, documents, timeline, decisions, payments, session renewal (+ savepoints).
# Since: messages with the customer, step names of the deadlines, notifications (+1 for their attempts
# when there are any), the latest risk assessment and the rings the claim is in.
# The neighbourhood picture (a scored claim): fraud.selectors.neighbourhood_links for the claim in
# hand (the claimant's other claims, the claim's partners, the shared entities; the documents' hashes
# come from the documents the page already read) and which linked claims the reader may open.
# Constant, whatever the number of links.
CLAIM_QUERIES = 27


def _client(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    client.get("/work/")  # the session's two-step check happens once per session
    return client


def test_the_overview_links_every_number_to_its_claims(desk: dict[str, Any]) -> None:
    claims = urgent_claims(desk["handler"], desk["policy"])
    claim_register(actor=desk["handler"], claim_id=claims["on_time"].pk)
    client = _client(desk["supervisor"])
    html = client.get("/work/team/").content.decode()
    assert "Backlog by step and team" in html and "Workload per handler" in html
    assert claims["breached"].number in html  # in the at-risk list
    links = re.findall(r'href="(/work/\?[^"]+)" class="wb-count">(\d+)<', html)
    assert links
    for url, count in links:
        url = url.replace("&amp;", "&")
        params = parse_qs(urlsplit(url).query)
        assert params["tab"] == ["team"]
        listed = client.get(url).content.decode()
        assert f"{count} open claim" in listed, (url, count)
    assert 'id="team-chart"' in html and "unfold/js/chart/chart.js" in html


def test_queries_are_fixed_and_handlers_are_refused(desk: dict[str, Any]) -> None:
    urgent_claims(desk["handler"], desk["policy"])
    client = _client(desk["supervisor"])
    with CaptureQueriesContext(connection) as few:
        assert client.get("/work/team/").status_code == 200
    for _ in range(20):
        factories.claim(actor=desk["handler"], policy=desk["policy"])
    with CaptureQueriesContext(connection) as many:
        assert client.get("/work/team/").status_code == 200
    assert len(few) == len(many) == TEAM_QUERIES, "\n".join(q["sql"][:120] for q in many.captured_queries)
    assert _client(desk["handler"]).get("/work/team/").status_code == 403


def test_customer_360_page(desk: dict[str, Any]) -> None:
    urgent_claims(desk["handler"], desk["policy"])
    client = _client(desk["supervisor"])
    queue = client.get("/work/?tab=team").content.decode()
    link = f"/work/customers/{desk['holder'].pk}/"
    assert link in queue  # the claimant's name links to their page
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(link).content.decode()
    assert desk["holder"].name in html and desk["policy"].number in html
    assert desk["holder"].id_number not in html  # masked
    assert html.count("wb-mono") >= 4  # policy row and three claim numbers
    # Session, user, customer, claims, policies, payments, what they were told, messages, totals,
    # session renewal (+ savepoints).
    assert len(ctx.captured_queries) == 12
    other_branch = factories.user(Role.SUPERVISOR, branch=factories.branch("SH"))
    assert _client(other_branch).get(link).status_code == 404


def test_claim_page_shows_what_a_handler_reads(desk: dict[str, Any]) -> None:
    import io

    from claimwise.claims.services import document_upload
    from claimwise.fraud.rules import presets_install
    from tests.claims.test_api import png

    presets_install(actor=None)  # scored claims: the risk card, its rings and the neighbourhood picture
    claims = urgent_claims(desk["handler"], desk["policy"])
    claim = claims["warning"]
    data = png()
    document_upload(
        actor=desk["customer"],
        claim_id=claim.pk,
        doc_type="damage_photo",
        stream=io.BytesIO(data),
        original_name="rear.png",
        size=len(data),
    )
    client = _client(desk["handler"])
    queue = client.get("/work/").content.decode()
    assert f"/work/claims/{claim.pk}/" in queue  # the claim number links to its page
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(f"/work/claims/{claim.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and claim.number in html
    for section in ("Summary", "Deadlines", "Process map", "Materials", "Documents", "Timeline", "Remaining limit"):
        assert section in html, section
    assert "<svg" in html and f"/api/v1/claims/{claim.pk}/documents/" in html and "<img" in html
    assert desk["holder"].id_number not in html
    for name in ("left.png", "right.png"):  # more documents and events: the same number of queries
        document_upload(
            actor=desk["customer"],
            claim_id=claim.pk,
            doc_type="damage_photo",
            stream=io.BytesIO(data),
            original_name=name,
            size=len(data),
        )
    with CaptureQueriesContext(connection) as more:
        assert client.get(f"/work/claims/{claim.pk}/").status_code == 200
    assert len(ctx.captured_queries) == len(more.captured_queries) == CLAIM_QUERIES, (
        "\n".join(q["sql"][:120] for q in ctx.captured_queries)
        + "\n----\n"
        + "\n".join(q["sql"][:120] for q in more.captured_queries)
    )
    image = client.get(f"/api/v1/claims/{claim.pk}/documents/{claim.documents.first().pk}")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"  # the preview loads with the session
    elsewhere = factories.user(Role.HANDLER, branch=factories.branch("SH"))
    assert _client(elsewhere).get(f"/work/claims/{claim.pk}/").status_code == 404


def test_deadline_alerts_reach_the_queue_and_are_marked_read(desk: dict[str, Any]) -> None:
    from django.utils import timezone

    from claimwise.core.models import AuditEntry
    from claimwise.process.tasks import clocks_tick

    claims = urgent_claims(desk["handler"], desk["policy"])
    for claim in claims.values():
        claim_register(actor=desk["handler"], claim_id=claim.pk)
    clocks_tick(timezone.now() + timezone.timedelta(days=8))  # the survey step's working days are long gone
    handler = _client(desk["handler"])
    html = handler.get("/work/").content.decode()
    assert "alert" in html and "wb-alert-breach" in html
    ids = re.findall(r'name="alert" value="(\d+)"', html)
    assert ids
    response = handler.post("/work/alerts/read/", {"alert": ids})
    assert response.status_code == 302
    assert "wb-alert-" not in handler.get("/work/").content.decode()
    assert AuditEntry.objects.filter(action="alert.read", actor_id=desk["handler"].pk).exists()
    # The escalation went to the supervisors' role and is still theirs to read.
    assert "wb-alert-escalation" in _client(desk["supervisor"]).get("/work/").content.decode()
