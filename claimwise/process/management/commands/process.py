"""`claimwise process`: install the preset processes, export a definition, import a shared one (S2).

claimwise process presets [--publish]
claimwise process export CODE [--version N] [--format yaml|json] [--output FILE]
claimwise process import FILE [--publish]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from claimwise.core.errors import DomainError
from claimwise.process.choices import DefinitionStatus
from claimwise.process.definitions import definition_document
from claimwise.process.models import ProcessDefinition
from claimwise.process.presets import presets_install
from claimwise.process.transfer import FORMATS, definition_import, dump_document


class Command(BaseCommand):
    help = (
        "Process definitions: install the presets, export one in the shared format, import one; "
        "run the deadline job (tick)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        presets = sub.add_parser("presets", help="install the preset process of every line (idempotent)")
        presets.add_argument("--publish", action="store_true", help="publish presets that are still drafts")
        export = sub.add_parser("export", help="print a definition in the claimwise.process/v1 format")
        export.add_argument("code")
        export.add_argument("--version", type=int, help="default: the published version, else the latest")
        export.add_argument("--format", choices=FORMATS, default="yaml")
        export.add_argument("--output", help="write to this file instead of standard output")
        imp = sub.add_parser("import", help="import a claimwise.process/v1 file (JSON or YAML) as a draft")
        imp.add_argument("file", help="path, or - for standard input")
        imp.add_argument("--publish", action="store_true", help="publish it at once")
        tick = sub.add_parser(
            "tick", help="run the deadline job now: forced registration, clocks, warnings and breaches, review"
        )
        tick.add_argument("--full", action="store_true", help="compare every stored clock, final ones included")
        tick.add_argument("--workers", type=int, help="worker processes over id ranges (PostgreSQL)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except DomainError as exc:
            lines = [str(exc.message)]
            if isinstance(exc.detail, list):
                lines += [f"  {p.get('field')}: {p.get('message')}" for p in exc.detail]
            raise CommandError("\n".join(lines)) from exc

    def _tick(self, opts: dict[str, Any]) -> None:
        from claimwise.process.tasks import clocks_tick

        started = time.monotonic()
        result = clocks_tick(workers=opts["workers"], full=opts["full"])
        r = result.recompute
        self.stdout.write(
            f"registered by the system: {result.registered}; claims recomputed: {r.claims} "
            f"(rows written {r.written}, {r.per_evaluation}); warnings: {result.warnings}; "
            f"breaches: {result.breaches}; {time.monotonic() - started:.1f} s"
        )

    def _presets(self, opts: dict[str, Any]) -> None:
        for result in presets_install(actor=None, publish=opts["publish"]):
            self.stdout.write(f"{result.code:<10} {result.outcome} (id {result.definition_id})")

    def _export(self, opts: dict[str, Any]) -> None:
        versions = ProcessDefinition.objects.filter(code=opts["code"])
        if opts["version"] is not None:
            definition = versions.filter(version=opts["version"]).first()
        else:
            definition = (
                versions.filter(status=DefinitionStatus.PUBLISHED).first() or versions.order_by("-version").first()
            )
        if definition is None:
            raise CommandError(
                f"no process definition {opts['code']!r}" + (f" version {opts['version']}" if opts["version"] else "")
            )
        text = dump_document(definition_document(definition), opts["format"])
        if opts["output"]:
            Path(opts["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"{definition.code} v{definition.version} written to {opts['output']}")
        else:
            self.stdout.write(text, ending="")

    def _import(self, opts: dict[str, Any]) -> None:
        if opts["file"] == "-":
            source = sys.stdin.buffer.read()
        else:
            try:
                source = Path(opts["file"]).read_bytes()
            except OSError as exc:
                raise CommandError(f"cannot read {opts['file']}: {exc.strerror}") from exc
        definition = definition_import(actor=None, source=source, publish=opts["publish"])
        self.stdout.write(f"{definition.code} v{definition.version} imported ({definition.status}, id {definition.pk})")
