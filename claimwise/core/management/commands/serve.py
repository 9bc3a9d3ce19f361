"""`claimwise serve`: the web server and the job worker together, as the demo runs them.
Production runs `claimwise web` and `claimwise run_huey` as separate processes instead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand

from claimwise.core.management.commands.web import run_gunicorn


class Command(BaseCommand):
    help = "Run the web server and the job worker together."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("CLAIMWISE_WEB_WORKERS", "0")))
        parser.add_argument("--no-worker", action="store_true", help="web server only")

    def handle(self, *args: Any, **opts: Any) -> None:
        worker = None
        if not opts["no_worker"]:
            worker = subprocess.Popen([sys.executable, "-m", "claimwise.cli", "run_huey"])  # noqa: S603
        try:
            run_gunicorn(opts["host"], opts["port"], opts["workers"])
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
