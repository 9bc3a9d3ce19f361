"""The `claimwise` console command: any Django management command, plus `serve`, `seed`, `audit`
and `token` (which are management commands too)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "claimwise.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["claimwise", *argv])
    args[0] = "claimwise"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
