"""The source strings are English: the en catalogue starts as msgstr = msgid, and translators may
then polish an entry without touching the code."""

from __future__ import annotations

import sys

import polib


def main(path: str) -> None:
    po = polib.pofile(path)
    for entry in po:
        if "fuzzy" in entry.flags:
            # A guess from a similar old string: for English the source text itself is right.
            entry.msgstr = ""
            entry.msgstr_plural = {k: "" for k in entry.msgstr_plural}
            entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
        if entry.msgid_plural:
            if not any(entry.msgstr_plural.values()):
                entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
        elif not entry.msgstr:
            entry.msgstr = entry.msgid
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.save(path)


if __name__ == "__main__":
    main(sys.argv[1])
