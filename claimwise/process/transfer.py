"""Sharing a process between companies (S2): one open format, `claimwise.process/v1`, written as JSON
or YAML with the same structure (docs/process-format.md).

An import is all or nothing: the whole file is validated first and refused with the full list of
problems (nothing is written), then stored as a draft, the next version when the code is known.
Versions and status are not part of the document: they belong to the company that holds it.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from django.db import transaction
from django.utils.translation import gettext as _

from claimwise.accounts.models import User
from claimwise.core.errors import ValidationFailed
from claimwise.process.definitions import definition_create_version, definition_document, definition_publish
from claimwise.process.models import ProcessDefinition
from claimwise.process.validation import FORMAT, definition_problems

MAX_DOCUMENT_BYTES = 1_000_000
FORMATS = ("yaml", "json")


def definition_export(definition: ProcessDefinition) -> dict[str, Any]:
    """The definition as a plain `claimwise.process/v1` document."""
    return definition_document(definition)


def dump_document(document: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        header = f"# {FORMAT}: a Claimwise claim process definition (docs/process-format.md)\n"
        return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)
    raise ValueError(f"unknown format {fmt!r}")


def load_document(source: str | bytes) -> Any:
    """Parse JSON or YAML text; a syntax error names its line and column."""
    if isinstance(source, bytes):
        if len(source) > MAX_DOCUMENT_BYTES:
            raise ValidationFailed([{"field": "document", "message": _("The file is too large.")}])
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed([{"field": "document", "message": _("The file is not UTF-8 text.")}]) from exc
    if len(source) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed([{"field": "document", "message": _("The file is too large.")}])
    text = source.lstrip("\ufeff")
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                [
                    {
                        "field": "document",
                        "message": _("Not valid JSON at line %(line)s, column %(col)s: %(why)s.")
                        % {"line": exc.lineno, "col": exc.colno, "why": exc.msg},
                    }
                ]
            ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _("at line %(line)s, column %(col)s") % {"line": mark.line + 1, "col": mark.column + 1} if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationFailed(
            [
                {
                    "field": "document",
                    "message": _("Not valid YAML %(where)s: %(why)s.") % {"where": where, "why": problem},
                }
            ]
        ) from exc


@transaction.atomic
def definition_import(
    *, actor: User | None, source: str | bytes | dict[str, Any], publish: bool = False
) -> ProcessDefinition:
    """Store a shared document as a draft (a new code, or the next version of a known one), and
    publish it when asked. Nothing changes when any part of the file has a problem."""
    data = source if isinstance(source, dict) else load_document(source)
    if not isinstance(data, dict):
        raise ValidationFailed([{"field": "document", "message": _("Give a JSON or YAML object.")}])
    if "format" not in data:
        # Every problem at once: the missing format line and whatever else the file has.
        problems = [{"field": "format", "message": _("Name the format: “format: %(want)s”.") % {"want": FORMAT}}]
        raise ValidationFailed(problems + definition_problems(data))
    definition = definition_create_version(actor=actor, data=data, action="process_definition.import")
    if publish:
        definition = definition_publish(actor=actor, definition_id=definition.pk)
    return definition
