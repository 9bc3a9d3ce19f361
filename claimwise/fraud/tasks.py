"""Fraud jobs: the daily early-warning pass (control limits per line, region, provider and repair
shop), rescoring a ring's earlier claims, and the weekly retraining of the platform model when
enough new investigation outcomes have arrived."""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from claimwise.fraud.warning import early_warning_run


@db_periodic_task(crontab(hour="2", minute="10"))
def early_warning_task() -> None:
    # Yesterday, complete; one pass at a time across consumers.
    with lock_task("fraud.early_warning"):
        early_warning_run()


@db_periodic_task(crontab(day_of_week="0", hour="3", minute="30"))
def platform_retrain_task() -> dict[str, Any]:
    # Sunday night, off peak; skipped (and logged) until CLAIMWISE_FRAUD_RETRAIN_LABELS new labels
    # arrived, so running it twice trains once. The registry audits what it stores.
    from claimwise.fraud.platform import retrain

    with lock_task("fraud.platform_retrain"):
        return retrain()


# Rescoring a ring's earlier claims (services.ring_claims_rescore): queued after the commit that
# formed or grew the ring; idempotent, so a retry after a failure rescores only what is still stale.
@db_task(retries=3, retry_delay=30)
def ring_rescore_task(alert_id: int) -> int:
    from claimwise.fraud.services import ring_claims_rescore

    return ring_claims_rescore(alert_id)
