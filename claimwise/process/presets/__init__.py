"""Preset processes for every line (P1, P5), built from the PRC rules in regulations.md.

Each `*.yaml` file here is a `claimwise.process/v1` document, installed through the same import a
company uses for a shared standard. Installing is idempotent: a code that already exists is left
alone (a company's own later versions are never overwritten); an unpublished preset draft is only
published when asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from claimwise.accounts.models import User
from claimwise.process.choices import DefinitionStatus
from claimwise.process.definitions import definition_publish
from claimwise.process.models import ProcessDefinition
from claimwise.process.transfer import definition_import

PRESET_DIR = Path(__file__).resolve().parent
PRESET_CODES = ("motor", "health", "accident", "property", "life", "travel")


@cache
def _load(code: str) -> dict[str, Any]:
    with open(PRESET_DIR / f"{code}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)  # type: ignore[no-any-return]


def preset_document(code: str) -> dict[str, Any]:
    """A fresh copy of one preset document (callers may change it)."""
    import copy

    return copy.deepcopy(_load(code))


def preset_documents() -> dict[str, dict[str, Any]]:
    return {code: preset_document(code) for code in PRESET_CODES}


@dataclass(frozen=True)
class PresetResult:
    code: str
    outcome: str  # "installed", "published", "kept"
    definition_id: int


@transaction.atomic
def presets_install(
    actor: User | None = None, publish: bool = True, codes: tuple[str, ...] = PRESET_CODES
) -> list[PresetResult]:
    """Install the presets whose code is not there yet; with `publish`, also publish a preset that
    is still an unpublished draft (and nothing else of that code was ever published)."""
    results = []
    for code in codes:
        versions = list(ProcessDefinition.objects.filter(code=code).order_by("version"))
        if not versions:
            definition = definition_import(actor=actor, source=preset_document(code), publish=publish)
            results.append(PresetResult(code, "published" if publish else "installed", definition.pk))
            continue
        only = versions[0]
        if publish and len(versions) == 1 and only.status == DefinitionStatus.DRAFT:
            definition_publish(actor=actor, definition_id=only.pk)
            results.append(PresetResult(code, "published", only.pk))
            continue
        results.append(PresetResult(code, "kept", versions[-1].pk))
    return results
