"""Fraud jobs: the daily early-warning pass (control limits per line and region)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from claimwise.fraud.warning import early_warning_run


@db_periodic_task(crontab(hour="2", minute="10"))
def early_warning_task() -> None:
    # Yesterday, complete; one pass at a time across consumers.
    with lock_task("fraud.early_warning"):
        early_warning_run()
