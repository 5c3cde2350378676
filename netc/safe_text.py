"""One rule for every output: a name from a model or a file is shown, never executed.

``safe_text(name)`` is what every renderer prints of a name it did not write itself
(a node, tensor, graph or file name, or a message holding one): one line of visible
characters that no terminal, CI log or document reads as anything but text.

- Control characters (C0 and C1, DEL), the Unicode line and paragraph separators, the
  bidirectional controls (Trojan Source: LRE ... RLO, LRI ... PDI, LRM, RLM, ALM) and
  lone surrogates (a file name that is not UTF-8) are written as escapes: ``\\n``,
  ``\\r``, ``\\t``, ``\\x1b``, ``\\x00``, ``\\u2028``, ``\\udcff``. A name is always one line,
  and no escape sequence reaches a terminal.
- GitHub Actions runs a line that starts with ``::`` (after spaces) as a workflow
  command, and one that holds ``##[`` anywhere as a legacy one: a leading ``:`` is
  written ``\\x3a`` and ``##[`` as ``##\\x5b``, so a name never forms either.

Backslashes are kept as they are (``C:\\models``), so the function is idempotent:
``safe_text(safe_text(s)) == safe_text(s)``, and a name already shown is never escaped
twice. Formats with their own syntax escape it on top of this: XML and HTML entities
(SVG, HTML), table pipes and markup (markdown), CSV quoting, GitHub's ``%0A``.

JSON and SARIF carry the names themselves (their consumers match on them), escaped by
JSON; ``safe_json`` makes the document text as safe in a CI log, without changing any
value it decodes to. Both are linear in the length of the text.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match) -> str:
    c = m.group()
    if c in _NAMED:
        return _NAMED[c]
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def safe_text(text) -> str:
    """``text`` (a name, a path, or a message holding them) as one line that shows every
    character and runs nothing: see the module's docstring."""
    text = _UNSAFE.sub(_escape, str(text))
    if "##[" in text:
        text = text.replace("##[", "##\\x5b")
    head = text.lstrip()
    if head.startswith(":"):
        i = len(text) - len(head)
        text = text[:i] + "\\x3a" + text[i + 1:]
    return text


def safe_piece(text: str) -> str:
    """A piece of a line that netc frames itself (a source line after its line number in an
    excerpt): its characters escaped as ``safe_text`` escapes them, and ``##[``; the line
    around it never starts with ':'."""
    return _UNSAFE.sub(_escape, text).replace("##[", "##\\x5b")


def safe_json(document: str) -> str:
    """A JSON document (``json.dumps`` with its default ``ensure_ascii``) safe to print in a
    CI log, decoding to the same values: DEL, the one control character JSON leaves raw,
    and the ``[`` of a ``##[`` (only ever inside a string) as ``\\u`` escapes. Lines start
    with spaces and ``"``, ``{``, ``[`` or ``]``, never ``::``."""
    return document.replace("\x7f", "\\u007f").replace("##[", "##\\u005b")
