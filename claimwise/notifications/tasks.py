"""Jobs: deliver right after the commit that wrote messages, and a sweep every minute that delivers
whatever is due (messages whose job was never queued because the process died at the commit,
retries whose back-off ran out)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from claimwise.notifications.delivery import deliver_due

log = logging.getLogger(__name__)


@db_task()
def deliver_task() -> int:
    return deliver_due(budget_seconds=50).attempted


@db_periodic_task(crontab(minute="*"))
def deliver_sweep_task() -> None:
    run = deliver_due(budget_seconds=55)
    if run.attempted:
        log.info("notifications sweep: %s sent, %s to retry, %s failed", run.sent, run.retried, run.failed)
