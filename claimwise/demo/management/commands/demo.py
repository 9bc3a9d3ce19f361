"""`claimwise demo`: migrate, seed demo data on first run, print the demo logins, serve."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from claimwise.claims.models import Claim


class Command(BaseCommand):
    help = "Run the demo: migrate, seed demo data (first run only), print the demo logins and serve."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--claims", type=int, default=2000, help="claims to seed on the first run")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **opts: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("`demo` is for demonstrations; production runs `web` and `run_huey`.")
        call_command("migrate", interactive=False, verbosity=0)
        if not Claim.objects.exists():
            self.stdout.write(f"Seeding {opts['claims']} demo claims (first run only)…")
            call_command("seed", claims=opts["claims"])
            # Every open demo claim gets its process and deadline clocks now, not at the first tick.
            self.stdout.write("Computing the demo claims' deadlines…")
            call_command("process", "tick")
            self.stdout.write("Finding what a fraud team would look at (links, risk scores, investigations)…")
            from claimwise.demo.fraud import fraud_layer
            from claimwise.demo.seed import DEMO_BRANCH

            fraud_layer(branch_code=DEMO_BRANCH, say=self.stdout.write)
        else:
            from claimwise.demo.seed import print_demo_logins

            print_demo_logins(self.stdout)
        sandbox = _sms_sandbox(opts["host"], opts["port"])
        if sandbox:
            self.stdout.write(
                f"\nNo SMS gateway is configured: texts (sign-up codes, claim updates) go to the demo phone at "
                f"http://{opts['host']}:{opts['port']}/demo/inbox/\n"
            )
        self.stdout.write(
            f"\nClaimwise is running at http://{opts['host']}:{opts['port']}/ "
            f"(customer portal /, staff workbench /work/, back office /admin/, API docs /api/v1/docs). "
            "Stop with Ctrl+C.\n"
        )
        call_command("serve", host=opts["host"], port=opts["port"])


def _sms_sandbox(host: str, port: int) -> bool:
    """Without a configured SMS gateway, the demo sends texts to its own sandbox carrier (the web
    process's /demo/sms/, signature-checked) so the portal's sign-up and the notifications work. The
    worker is a separate process: it reads the same settings from the environment."""
    if settings.CLAIMWISE_GATEWAYS["sms"]["url"]:
        return False
    secret = secrets.token_hex(16)
    url = f"http://{host}:{port}/demo/sms/"
    channels = sorted({*settings.CLAIMWISE_NOTIFY_CHANNELS, "sms"})
    os.environ.update(
        {
            "CLAIMWISE_SMS_GATEWAY_URL": url,
            "CLAIMWISE_SMS_GATEWAY_SECRET": secret,
            "CLAIMWISE_NOTIFY_CHANNELS": ",".join(channels),
            "CLAIMWISE_DEMO_SANDBOX": "1",
        }
    )
    settings.CLAIMWISE_GATEWAYS["sms"] = {"url": url, "secret": secret}
    settings.CLAIMWISE_NOTIFY_CHANNELS = channels
    settings.CLAIMWISE_DEMO_SANDBOX = True
    return True
