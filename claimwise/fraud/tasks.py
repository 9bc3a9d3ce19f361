"""Fraud jobs: the daily early-warning pass (control limits per line and region)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from claimwise.fraud.warning import early_warning_run


@db_periodic_task(crontab(hour="2", minute="10"))
def early_warning_task() -> None:
    # Yesterday, complete; one pass at a time across consumers.
    with lock_task("fraud.early_warning"):
        early_warning_run()


# Rescoring a ring's earlier claims (services.ring_claims_rescore): queued after the commit that
# formed or grew the ring; idempotent, so a retry after a failure rescores only what is still stale.
@db_task(retries=3, retry_delay=30)
def ring_rescore_task(alert_id: int) -> int:
    from claimwise.fraud.services import ring_claims_rescore

    return ring_claims_rescore(alert_id)
