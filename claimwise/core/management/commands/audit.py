from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from claimwise.core.audit import audit_verify


class Command(BaseCommand):
    help = "Audit trail tools. `audit verify` checks the hash chain and exits non-zero if it is broken."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **opts: Any) -> None:
        result = audit_verify()
        if not result.ok:
            raise CommandError(
                f"audit chain broken at entry #{result.first_bad_seq}: {result.problem} "
                f"({result.checked} entries verified before it)"
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {result.checked} entries verified"))
