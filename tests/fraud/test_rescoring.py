"""A ring that forms or grows rescores its earlier claims (issue 6, items 1 and 4): they were scored
before the ring existed, so their network part and risk score were stale. The rescoring is a job
queued after the commit (Huey, in immediate mode here), idempotent, and opens an investigation when
the new score reaches the SIU threshold, as at report time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from claimwise.claims.fnol import Payee, claim_submit
from claimwise.claims.models import Claim
from claimwise.fraud.models import InvestigationCase, RingAlert, RiskAssessment
from claimwise.fraud.scoring import reason_texts
from claimwise.fraud.services import ring_claims_rescore
from claimwise.fraud.tasks import ring_rescore_task
from tests import factories

pytestmark = pytest.mark.usefixtures("presets")
ACCOUNT = "6222020200112233445"


@pytest.fixture
def queue() -> Iterator[Any]:
    """The project's Huey, running each job as it is queued (its storage in memory meanwhile)."""
    from huey.contrib.djhuey import HUEY

    was = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = was


def report(actor: Any, account: str = ACCOUNT) -> Claim:
    """A claim of a new, unrelated claimant (no plate), paid into `account`."""
    policy = factories.policy_from(holder=factories.customer(), starts=timezone.now() - dt.timedelta(days=100))
    return claim_submit(
        actor=actor,
        policy_number=policy.number,
        incident_at=timezone.now() - dt.timedelta(hours=2),
        incident_place="北京",
        loss_type="collision",
        claimed_amount="3000",
        payee=Payee(name="张伟", account=account, bank_name="ICBC"),
    ).claim


def committed(capture: Any, actor: Any, account: str = ACCOUNT) -> Claim:
    """Report a claim and run what its commit queues."""
    with capture(execute=True):
        return report(actor, account)


def latest(claim: Claim) -> RiskAssessment:
    return RiskAssessment.objects.filter(claim=claim).order_by("-at", "-pk").first()


def test_the_third_claimant_rescores_the_first_two(
    world: dict[str, Any], queue: Any, django_capture_on_commit_callbacks: Any
) -> None:
    handler = world["handler"]
    first, second = (
        committed(django_capture_on_commit_callbacks, handler),
        committed(django_capture_on_commit_callbacks, handler),
    )
    before = {c.pk: Claim.objects.get(pk=c.pk).risk_score for c in (first, second)}
    assert not RiskAssessment.objects.filter(trigger="ring").exists()  # two claimants: no ring yet

    third = committed(django_capture_on_commit_callbacks, handler)
    alert = RingAlert.objects.get()
    for claim in (first, second):
        stored = latest(claim)
        assert stored.trigger == "ring"
        assert stored.components["network"]["score"] == 0.5
        assert stored.components["network"]["rings"] == [
            {"kind": "account", "entity": alert.entity, "claimants": 3, "claims": 3, "weight": 0.5}
        ]
        assert "the payee account is also used by 2 other claimants" in reason_texts(stored.reasons, "en")
        now = Claim.objects.get(pk=claim.pk).risk_score
        assert now is not None and now > (before[claim.pk] or Decimal(0)) and now == stored.score
    # The third was scored with the ring at its report: nothing to rescore.
    assert not RiskAssessment.objects.filter(claim=third, trigger="ring").exists()

    # A rerun (a retry, a second job for the same ring) writes nothing.
    count = RiskAssessment.objects.count()
    assert ring_claims_rescore(alert.pk) == 0
    assert ring_rescore_task(alert.pk)() == 0  # through the queue too
    assert RiskAssessment.objects.count() == count


def test_a_growing_ring_rescores_its_claims_with_the_new_weight(
    world: dict[str, Any], queue: Any, django_capture_on_commit_callbacks: Any
) -> None:
    claims = [committed(django_capture_on_commit_callbacks, world["handler"]) for _ in range(4)]
    for claim in claims:
        network = latest(claim).components["network"]
        assert network["score"] == 0.6 and network["rings"][0]["claimants"] == 4
    # Formed at the third, grown at the fourth: the first two were rescored twice, the third once.
    assert [RiskAssessment.objects.filter(claim=c, trigger="ring").count() for c in claims] == [2, 2, 1, 0]


def test_past_the_weights_cap_a_growing_ring_rescores_nothing(
    world: dict[str, Any], queue: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """An account ring weighs 0.5 at three claimants and 0.9 (the cap) at seven: beyond, a new
    claimant changes no earlier score, so no job runs — a large ring costs a handful of jobs."""
    claims = [committed(django_capture_on_commit_callbacks, world["handler"]) for _ in range(7)]
    assert latest(claims[0]).components["network"]["score"] == 0.9
    rescored = RiskAssessment.objects.filter(trigger="ring").count()
    assert RiskAssessment.objects.filter(claim=claims[0], trigger="ring").count() == 5  # at 3, 4, 5, 6, 7
    committed(django_capture_on_commit_callbacks, world["handler"])
    assert RiskAssessment.objects.filter(trigger="ring").count() == rescored
    assert RingAlert.objects.get().claimants == 8


def test_closed_and_withdrawn_claims_are_not_rescored(
    world: dict[str, Any], queue: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first = committed(django_capture_on_commit_callbacks, world["handler"])
    second = committed(django_capture_on_commit_callbacks, world["handler"])
    Claim.objects.filter(pk=first.pk).update(status="withdrawn")
    committed(django_capture_on_commit_callbacks, world["handler"])
    assert not RiskAssessment.objects.filter(claim=first, trigger="ring").exists()
    assert RiskAssessment.objects.filter(claim=second, trigger="ring").count() == 1


def test_a_rescored_claim_over_the_threshold_is_investigated(
    world: dict[str, Any], queue: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with override_settings(CLAIMWISE_SIU_THRESHOLD="0.5"):
        first = committed(django_capture_on_commit_callbacks, world["handler"])
        assert not InvestigationCase.objects.filter(claim=first).exists()  # below at its report
        committed(django_capture_on_commit_callbacks, world["handler"])
        committed(django_capture_on_commit_callbacks, world["handler"])
        case = InvestigationCase.objects.get(claim=first)
        assert case.opened_by is None and case.score_at_opening == latest(first).score >= Decimal("0.5")
        assert InvestigationCase.objects.count() == 3  # each claim of the ring, once
        ring_claims_rescore(RingAlert.objects.get().pk)
        assert InvestigationCase.objects.count() == 3


def test_nothing_is_rescored_before_the_commit(world: dict[str, Any], queue: Any) -> None:
    """The job runs after the commit that formed the ring, never inside the report's transaction."""
    claims = [report(world["handler"]) for _ in range(3)]
    assert RingAlert.objects.exists()
    assert not RiskAssessment.objects.filter(trigger="ring").exists()
    assert ring_claims_rescore(RingAlert.objects.get().pk) == 2  # what the job does once committed
    assert {a.claim_id for a in RiskAssessment.objects.filter(trigger="ring")} == {claims[0].pk, claims[1].pk}


def test_the_job_is_retried_on_failure() -> None:
    assert ring_rescore_task.task_class.default_retries >= 1


def test_the_commit_queues_one_job_that_a_worker_runs(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    """With the real queue (not immediate): the commit that forms the ring queues one job, and a
    worker executing it rescores the earlier claims."""
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    try:
        first = committed(django_capture_on_commit_callbacks, world["handler"])
        committed(django_capture_on_commit_callbacks, world["handler"])
        assert HUEY.pending_count() == 0
        committed(django_capture_on_commit_callbacks, world["handler"])
        (job,) = HUEY.pending()
        assert job.name.endswith("ring_rescore_task") and job.args == (RingAlert.objects.get().pk,)
        assert not RiskAssessment.objects.filter(trigger="ring").exists()
        job = HUEY.dequeue()
        # As a worker would, except that the worker's closing of the connection after a job
        # (djhuey's db_task outside immediate mode) would close the test's database.
        HUEY.immediate = True
        try:
            HUEY.execute(job)
        finally:
            HUEY.immediate = False
        assert latest(first).trigger == "ring" and latest(first).components["network"]["score"] == 0.5
    finally:
        HUEY.flush()
