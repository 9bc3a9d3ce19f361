"""Every user-facing string has a zh-hans and an en translation, and the compiled catalogues match."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "claimwise"
LOCALES = ("zh_Hans", "en")


def _po(locale: str) -> polib.POFile:
    return polib.pofile(str(PACKAGE / "locale" / locale / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_complete_and_compiled(locale):
    po = _po(locale)
    missing = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    assert not missing, f"{len(missing)} untranslated in {locale}: {missing[:10]}"
    mo = polib.mofile(str(PACKAGE / "locale" / locale / "LC_MESSAGES" / "django.mo"))
    compiled = {(e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in mo}
    for entry in po:
        if entry.obsolete:
            continue
        key = (entry.msgctxt, entry.msgid)
        assert key in compiled, f"{locale}: django.mo is stale, run compilemessages ({entry.msgid!r})"
        assert compiled[key] == (entry.msgstr, tuple(sorted(entry.msgstr_plural.items()))), entry.msgid


def test_chinese_placeholders_match_the_source():
    for entry in _po("zh_Hans"):
        if entry.obsolete or not entry.msgstr:
            continue
        for token in ("%(", "%s", "%d"):
            assert entry.msgid.count(token) == entry.msgstr.count(token), entry.msgid


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_every_source_string_is_in_the_catalogues(tmp_path):
    """Extract the strings from a copy of the code and compare with the committed catalogue."""
    copy = tmp_path / "claimwise"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("migrations", "__pycache__", "*.mo"))
    # Without settings, makemessages writes into ./locale of the copy, never into the real catalogue.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location", "--no-obsolete"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    extracted = {e.msgid for e in polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))}
    committed = {e.msgid for e in _po("zh_Hans") if not e.obsolete}
    new = sorted(extracted - committed)
    assert not new, f"{len(new)} strings missing from the catalogues (run ./dev messages): {new[:10]}"
