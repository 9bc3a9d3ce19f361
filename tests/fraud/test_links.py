"""Link analysis (issue 6, item 4): rings across unrelated claimants raise one alert each and make
the network part of the risk score; a claim that shares nothing unusual scores as before."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from claimwise.claims.fnol import Payee, claim_submit
from claimwise.claims.models import Claim
from claimwise.claims.services import document_upload
from claimwise.fraud.links import claim_entities, normalise_address, rings_of
from claimwise.fraud.models import LinkKey, RingAlert, RiskAssessment
from claimwise.fraud.scoring import evaluate, reason_texts
from claimwise.fraud.selectors import claim_links, ring_alert_list
from claimwise.fraud.services import ring_alerts_raise
from tests import factories
from tests.process.test_materials import png

pytestmark = pytest.mark.usefixtures("presets")
ACCOUNT = "6222020200112233445"


def unrelated_policy() -> Any:
    """A policy of a new claimant, with no plate (so only what the test shares links claims)."""
    return factories.policy_from(holder=factories.customer(), starts=timezone.now() - dt.timedelta(days=100))


def report(actor: Any, policy: Any, account: str | None = None) -> Claim:
    return claim_submit(
        actor=actor,
        policy_number=policy.number,
        incident_at=timezone.now() - dt.timedelta(hours=2),
        incident_place="北京",
        loss_type="collision",
        claimed_amount="3000",
        payee=Payee(name="张伟", account=account, bank_name="ICBC") if account else None,
    ).claim


def latest(claim: Claim) -> RiskAssessment:
    return RiskAssessment.objects.filter(claim=claim).order_by("-at", "-pk").first()


def test_one_payee_account_across_three_claimants_is_a_ring(world: dict[str, Any]) -> None:
    handler = world["handler"]
    first = report(handler, unrelated_policy(), ACCOUNT)
    second = report(handler, unrelated_policy(), ACCOUNT)
    assert not RingAlert.objects.exists()  # two claimants: not a ring
    assert latest(second).components["network"] == {"score": 0.0, "computed": True, "rings": []}

    third = report(handler, unrelated_policy(), "6222 0202 0011 2233 445")  # the same account, spaced
    alert = RingAlert.objects.get()
    assert (alert.kind, alert.claimants, alert.claim_count) == ("account", 3, 3)
    assert alert.entity == "***************3445" and ACCOUNT not in alert.key
    assert set(alert.claims.values_list("pk", flat=True)) == {first.pk, second.pk, third.pk}
    assert alert.first_seen == first.reported_at and alert.last_seen == third.reported_at

    stored = latest(third)
    network = stored.components["network"]
    assert network["computed"] is True and network["score"] == 0.5
    assert network["rings"] == [{"kind": "account", "entity": alert.entity, "claimants": 3, "claims": 3, "weight": 0.5}]
    assert stored.version.endswith("+model-none+network-v1")
    assert stored.score >= Decimal("0.5")
    assert "the payee account is also used by 2 other claimants" in reason_texts(stored.reasons, "en")
    ring_reason = next(r for r in stored.reasons if r["kind"] == "network")
    assert ring_reason["code"] == "ring-account" and set(ring_reason["text"]) == {"zh-hans", "en"}
    assert ring_reason["text"]["zh-hans"]
    # The earlier claims are in the ring too, the next time they are scored.
    assert evaluate(first).components["network"]["score"] == 0.5
    assert [a.pk for a in ring_alert_list(user=world["supervisor"], claim_id=first.pk)] == [alert.pk]


def test_a_fourth_claimant_grows_the_ring_and_its_weight(world: dict[str, Any]) -> None:
    for _ in range(3):
        report(world["handler"], unrelated_policy(), ACCOUNT)
    fourth = report(world["handler"], unrelated_policy(), ACCOUNT)
    alert = RingAlert.objects.get()
    assert (alert.claimants, alert.claim_count, alert.claims.count()) == (4, 4, 4)
    assert latest(fourth).components["network"]["score"] == 0.6
    assert "the payee account is also used by 3 other claimants" in reason_texts(latest(fourth).reasons, "en")


def test_one_claimant_with_many_claims_is_not_a_ring(world: dict[str, Any]) -> None:
    policy = unrelated_policy()
    for _ in range(4):
        claim = report(world["handler"], policy, ACCOUNT)
    assert not RingAlert.objects.exists()
    assert latest(claim).components["network"]["score"] == 0.0


def test_one_plate_on_claims_of_three_claimants(world: dict[str, Any]) -> None:
    # The factory's motor policies all insure 京A12345, each for a new holder.
    claims = [report(world["handler"], factories.policy()) for _ in range(3)]
    alert = RingAlert.objects.get()
    assert (alert.kind, alert.claimants, alert.entity) == ("plate", 3, "京A****5")
    network = latest(claims[-1]).components["network"]
    assert network["score"] == 0.3 and network["rings"][0]["kind"] == "plate"
    assert "the vehicle is also on claims of 2 other claimants" in reason_texts(latest(claims[-1]).reasons, "en")


def test_one_document_on_claims_of_two_claimants(world: dict[str, Any]) -> None:
    data = png()
    a, b = report(world["handler"], unrelated_policy()), report(world["handler"], unrelated_policy())
    for claim in (a, b):
        document_upload(
            actor=world["handler"],
            claim_id=claim.pk,
            doc_type="damage_photo",
            stream=io.BytesIO(data),
            original_name="a.png",
            size=len(data),
        )
    alert = RingAlert.objects.get()
    assert (alert.kind, alert.claimants) == ("document", 2)
    assert latest(b).components["network"]["rings"][0]["kind"] == "document"


def test_unrelated_claims_score_nothing_for_the_network(world: dict[str, Any]) -> None:
    claims = [report(world["handler"], unrelated_policy(), f"62220202001122334{i:02d}") for i in range(3)]
    assert not RingAlert.objects.exists()
    for claim in claims:
        assert latest(claim).components["network"] == {"score": 0.0, "computed": True, "rings": []}
        assert not [r for r in latest(claim).reasons if r["kind"] == "network"]


def test_alerts_are_idempotent(world: dict[str, Any]) -> None:
    claims = [report(world["handler"], unrelated_policy(), ACCOUNT) for _ in range(3)]
    alert = RingAlert.objects.get()
    rings = rings_of(claims[0], claim_entities(claims[0]))
    for _ in range(2):
        ring_alerts_raise(actor=None, claim=claims[0], rings=rings)
    # A rescoring (a document added) raises the same ring again.
    document_upload(
        actor=world["handler"],
        claim_id=claims[1].pk,
        doc_type="damage_photo",
        stream=io.BytesIO(png()),
        original_name="a.png",
        size=10,
    )
    again = RingAlert.objects.get()
    assert again.pk == alert.pk and (again.claimants, again.claim_count, again.claims.count()) == (3, 3, 3)
    assert LinkKey.objects.filter(claim=claims[1], kind="account").count() == 1


def test_a_normal_claim_scores_as_before(world: dict[str, Any]) -> None:
    """The presets' rules alone: the network adds nothing to a claim in no ring."""
    fresh = factories.policy_from(holder=world["holder"], starts=timezone.now() - dt.timedelta(days=6, hours=3))
    claim = report(world["handler"], fresh)
    stored = latest(claim)
    assert stored.score == Decimal("0.250")  # the early-claim flag, as before link analysis
    assert stored.components["rules"]["score"] == 0.25
    assert stored.components["network"]["score"] == 0.0


def test_neighbourhood(world: dict[str, Any]) -> None:
    handler = world["handler"]
    policy = unrelated_policy()
    mine = report(handler, policy, ACCOUNT)
    again = report(handler, policy)
    other = report(handler, unrelated_policy(), ACCOUNT)
    _claim, links = claim_links(mine.pk, user=world["supervisor"])
    by_kind = {link.kind: link for link in links}
    assert by_kind["claimant"].claims == [(again.pk, again.number)]
    assert by_kind["account"].claims == [(other.pk, other.number)] and by_kind["account"].claimants == 1
    assert "phone" not in by_kind  # each claimant has their own phone


def test_addresses_are_normalised() -> None:
    assert normalise_address("北京市 朝阳区，建国路88号") == normalise_address("北京市朝阳区建国路８８号")


def test_the_migration_backfills_the_link_index(world: dict[str, Any]) -> None:
    import importlib

    from django.apps import apps

    claim = report(world["handler"], unrelated_policy(), ACCOUNT)
    before = set(LinkKey.objects.values_list("claim_id", "kind", "key"))
    LinkKey.objects.all().delete()
    importlib.import_module("claimwise.fraud.migrations.0004_links").backfill(apps, None)
    assert set(LinkKey.objects.values_list("claim_id", "kind", "key")) == before
    assert {k for c, k, _ in before if c == claim.pk} == {"phone", "account"}


def test_ring_and_early_warning_alerts_over_the_api(world: dict[str, Any], api_client: Any) -> None:
    handler = world["handler"]
    claims = [report(handler, unrelated_policy(), ACCOUNT) for _ in range(3)]
    body = api_client.as_user(world["supervisor"]).get("/api/v1/fraud/ring-alerts").json()
    assert [(a["kind"], a["claimants"]) for a in body] == [("account", 3)]
    assert sorted(body[0]["claims"]) == sorted(c.number for c in claims) and ACCOUNT not in str(body)
    elsewhere = factories.user("supervisor", branch=factories.branch("SH"))
    assert api_client.as_user(elsewhere).get("/api/v1/fraud/ring-alerts").json() == []  # no claim of theirs
    assert api_client.as_user(world["customer"]).get("/api/v1/fraud/ring-alerts").status_code == 403
    assert api_client.as_user(world["supervisor"]).get("/api/v1/fraud/warnings?expected=false").json() == []


# --- partners (hospitals, repair shops, assessors) in the link graph -----------------------------------


def shop(code: str = "SHOP1", name: str = "安达汽修", kind: str = "repair_shop") -> Any:
    from claimwise.accounts.models import PartnerOrganization

    return PartnerOrganization.objects.create(code=code, name=name, kind=kind)


def test_sharing_a_claim_with_a_partner_links_it_without_a_ring(world: dict[str, Any]) -> None:
    from claimwise.claims.services import claim_share
    from claimwise.fraud.links import partner_key

    garage = shop()
    claims = [report(world["handler"], unrelated_policy()) for _ in range(4)]
    for claim in claims:
        claim_share(actor=world["handler"], claim_id=claim.pk, partner=garage)
    keys = LinkKey.objects.filter(kind="partner")
    assert set(keys.values_list("claim_id", flat=True)) == {c.pk for c in claims}
    assert set(keys.values_list("key", flat=True)) == {partner_key(garage.pk)}
    assert garage.code not in partner_key(garage.pk) and str(garage.pk) != partner_key(garage.pk)
    # Four unrelated claimants at one repair shop is its business, not a ring.
    assert not RingAlert.objects.exists()
    shared = latest(claims[-1])
    assert shared.trigger == "shared" and shared.components["network"]["score"] == 0.0
    # Sharing again changes nothing.
    claim_share(actor=world["handler"], claim_id=claims[0].pk, partner=garage)
    assert LinkKey.objects.filter(kind="partner", claim=claims[0]).count() == 1


def test_the_neighbourhood_names_the_partner_and_its_kind(world: dict[str, Any]) -> None:
    from django.utils import translation

    from claimwise.claims.services import claim_share

    garage = shop()
    mine, other, third = (report(world["handler"], unrelated_policy()) for _ in range(3))
    for claim in (mine, other, third):
        claim_share(actor=world["handler"], claim_id=claim.pk, partner=garage)
    with translation.override("en"):
        _claim, links = claim_links(mine.pk, user=world["supervisor"])
    partner = next(link for link in links if link.kind == "partner")
    assert (partner.entity, partner.detail) == ("安达汽修", "Repair shop")
    assert partner.claims == [(other.pk, other.number), (third.pk, third.number)] and partner.claimants == 2
    with translation.override("zh-hans"):
        _claim, links = claim_links(mine.pk, user=world["supervisor"])
    assert next(link for link in links if link.kind == "partner").detail != "Repair shop"  # translated
    # A claim shared with nobody has no partner entry.
    alone = report(world["handler"], unrelated_policy())
    assert not [link for link in claim_links(alone.pk, user=world["supervisor"])[1] if link.kind == "partner"]


def test_a_partners_report_links_the_partner_at_report_time(world: dict[str, Any]) -> None:
    from claimwise.fraud.facts import fraud_facts
    from claimwise.fraud.links import partner_key

    partner_user = world["partner"]
    hospital = partner_user.partner
    claims = []
    for _ in range(2):
        policy = unrelated_policy()
        claims.append(
            claim_submit(
                actor=partner_user,
                policy_number=policy.number,
                incident_at=timezone.now() - dt.timedelta(hours=2),
                incident_place="北京",
                loss_type="collision",
                claimed_amount="3000",
                insured_id_number=policy.holder.id_number,
            ).claim
        )
    for claim in claims:
        assert LinkKey.objects.filter(claim=claim, kind="partner", key=partner_key(hospital.pk)).exists()
    # The link index and the provider red flag's facts see the same partners.
    facts = fraud_facts(claims[-1])
    indexed = LinkKey.objects.filter(kind="partner", key=partner_key(hospital.pk)).exclude(claim=claims[-1])
    assert facts["provider_claims"] == Decimal(indexed.count()) == Decimal(1)
    _claim, links = claim_links(claims[-1].pk, user=world["supervisor"])
    partner = next(link for link in links if link.kind == "partner")
    assert partner.entity == hospital.name and partner.claims == [(claims[0].pk, claims[0].number)]


def test_the_migration_backfills_partner_links(world: dict[str, Any]) -> None:
    import importlib

    from django.apps import apps

    from claimwise.claims.services import claim_share

    garage = shop()
    claims = [report(world["handler"], unrelated_policy()) for _ in range(2)]
    for claim in claims:
        claim_share(actor=world["handler"], claim_id=claim.pk, partner=garage)
    before = set(LinkKey.objects.filter(kind="partner").values_list("claim_id", "key", "claimant_id", "at"))
    LinkKey.objects.filter(kind="partner").delete()
    importlib.import_module("claimwise.fraud.migrations.0005_partner_links_and_warning").backfill(apps, None)
    after = set(LinkKey.objects.filter(kind="partner").values_list("claim_id", "key", "claimant_id", "at"))
    assert after == before and len(after) == 2
