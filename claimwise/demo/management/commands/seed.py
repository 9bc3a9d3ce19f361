"""`claimwise seed --claims N`: realistic demo data (see `claimwise.demo.seed`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from claimwise.demo.seed import print_demo_logins, seed, summary


class Command(BaseCommand):
    help = (
        "Generate demo data: branches, teams, products, partners, demo accounts (one per role) and N claims "
        "across every line of business and lifecycle state. Run it again to add more claims."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--claims", type=int, default=2000, help="claims to generate (default 2000)")
        parser.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same data")
        parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
        parser.add_argument(
            "--no-demo-accounts", action="store_true", help="skip the demo sign-in accounts and the demo customer"
        )
        parser.add_argument("--batch-size", type=int, default=2000, help="claims per batch (default 2000)")
        parser.add_argument(
            "--workers", type=int, default=None, help="processes that build claims (default: 2 for big runs, else 1)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("`seed` writes demo data; it does not run with CLAIMWISE_ENV=production.")
        if opts["claims"] < 0 or opts["batch_size"] < 1:
            raise CommandError("--claims must be 0 or more and --batch-size at least 1.")
        quiet = opts["quiet"] or opts.get("verbosity", 1) == 0
        result = seed(
            claims=opts["claims"],
            seed=opts["seed"],
            demo_accounts=not opts["no_demo_accounts"],
            progress=not quiet,
            batch_size=opts["batch_size"],
            workers=opts["workers"],
        )
        if not quiet:
            for line in summary(result):
                self.stdout.write(line)
        if not opts["no_demo_accounts"]:
            print_demo_logins(self.stdout)
