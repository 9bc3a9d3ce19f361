"""`claimwise notifications`: the delivery worker for operators and tests.

claimwise notifications deliver [--loop] [--threads N] [--interval S]
claimwise notifications status
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count

from claimwise.notifications.delivery import run_workers
from claimwise.notifications.models import Message


class Command(BaseCommand):
    help = "Notifications: deliver due messages (once, or as a worker loop); count messages by status."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        deliver = sub.add_parser("deliver", help="deliver due messages")
        deliver.add_argument("--loop", action="store_true", help="keep running; poll when idle (SIGTERM stops)")
        deliver.add_argument("--threads", type=int, default=1, help="delivery threads (each its own connections)")
        deliver.add_argument("--interval", type=float, default=1.0, help="seconds to wait when nothing is due")
        sub.add_parser("status", help="messages by status and channel")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "status":
            rows = (
                Message.objects.values_list("status", "channel").annotate(n=Count("pk")).order_by("status", "channel")
            )
            for status, channel, n in rows:
                self.stdout.write(f"{status:<8} {channel:<7} {n}")
            return
        stop = threading.Event()
        if opts["loop"]:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        started = time.monotonic()
        run = run_workers(threads=opts["threads"], loop=opts["loop"], interval=opts["interval"], stop=stop)
        self.stdout.write(
            f"sent: {run.sent}; to retry: {run.retried}; failed: {run.failed}; errors: {run.errors}; "
            f"{time.monotonic() - started:.1f} s"
        )
