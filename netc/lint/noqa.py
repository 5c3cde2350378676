"""Inline suppressions: ``# netc: noqa: A001, D002`` (or a bare ``# netc: noqa``,
which suppresses every finding) on any line of a finding's span."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NOQA = re.compile(r"(?:^|(?<=\s))#\s*netc:\s*noqa(?P<sep>:\s*(?P<codes>[A-Za-z0-9_, \t]*))?", re.IGNORECASE)
_CODE = re.compile(r"[A-Z]+[0-9]+")


@dataclass
class Suppression:
    line: int
    col: int
    end_col: int
    codes: list[str] | None          # None: every code
    used: set[str] = field(default_factory=set)

    def covers(self, code: str) -> bool:
        return self.codes is None or code in self.codes


def parse(text: str) -> dict[int, Suppression]:
    """Line number (1-based) -> the suppression comment on it."""
    out = {}
    if "noqa" not in text:
        return out
    for number, line in enumerate(text.splitlines(), 1):
        if "noqa" not in line:
            continue
        m = _NOQA.search(line)
        if not m:
            continue
        codes = None
        if m.group("sep"):
            codes = _CODE.findall((m.group("codes") or "").upper())
            end = m.start("codes") + len((m.group("codes") or "").rstrip())
        else:
            end = m.end()
        out[number] = Suppression(number, m.start() + 1, end + 1, codes)
    return out
