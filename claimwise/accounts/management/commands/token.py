from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from claimwise.accounts.models import User
from claimwise.accounts.services import token_create


class Command(BaseCommand):
    help = "API tokens. `token create --user NAME` prints a new token once; only its hash is stored."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["create"])
        parser.add_argument("--user", required=True)
        parser.add_argument("--name", default="cli")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = User.objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(f"no user named {opts['user']!r}")
        _token, raw = token_create(actor=None, user=user, name=opts["name"])
        self.stdout.write(raw)
