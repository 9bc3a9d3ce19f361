"""`claimwise demo`: migrate, seed demo data on first run, print the demo logins, serve."""

from __future__ import annotations

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
        else:
            from claimwise.demo.seed import print_demo_logins

            print_demo_logins(self.stdout)
        self.stdout.write(
            f"\nClaimwise is running at http://{opts['host']}:{opts['port']}/ "
            f"(customer portal /, staff workbench /work/, back office /admin/, API docs /api/v1/docs). "
            "Stop with Ctrl+C.\n"
        )
        call_command("serve", host=opts["host"], port=opts["port"])
