"""Source spans and diagnostics: the one error type every layer of netc raises.

A diagnostic is printed as ``FILE:LINE:COL: severity[CODE]: message`` (lines and
columns are 1-based, like every compiler and linter people already use). A place
in a binary file (a node of an ONNX model) has line 0 and says where in words:
``model.onnx: node 'layer1.0.conv1' (Conv #12): error[A001]: ...``.

On a terminal, as ruff and rustc do, the line is followed by the source line it
points at with a caret under the column (``show_source``), and coloured: never
when piped, never with ``NO_COLOR`` set, always with ``FORCE_COLOR`` set
(``color_wanted``). Every name is escaped by ``safe_text`` first; the only escape
sequences in the output are the colour codes added here.
"""

from __future__ import annotations

import enum
import os
import re
import unicodedata
from dataclasses import dataclass, field

from .safe_text import safe_piece, safe_text

MAX_WORD = 100                  # longer runs of non-space characters in a message are cut
_LONG_WORD = re.compile(r"\S{%d,}" % (MAX_WORD + 1))


def shorten(text: str) -> str:
    """``text`` with every word past ``MAX_WORD`` characters cut to 'head…tail', so
    that a message never echoes a 4,000-character name or number whole."""
    if len(text) <= MAX_WORD:
        return text
    half = (MAX_WORD - 1) // 2
    return _LONG_WORD.sub(lambda m: m.group()[:half] + "…" + m.group()[-half:], text)


@dataclass(frozen=True)
class Span:
    """A region of a source file: 1-based line and column, end exclusive.

    Line 0 means no text position (a binary file); ``where`` then names the place
    (``node 'conv1' (Conv #3)``) and ``col`` orders places within the file."""

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None
    where: str = ""

    def __str__(self) -> str:
        """The place as a message shows it: file and node names through ``safe_text``."""
        file = safe_text(self.file)
        if not self.line:
            return f"{file}: {safe_text(self.where)}" if self.where else file
        return f"{file}:{self.line}:{self.col}"


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: expected error, warning or info") from None


@dataclass
class Diagnostic:
    """One finding or error, anchored at a span, with optional notes elsewhere."""

    message: str
    span: Span | None = None
    code: str = ""
    severity: Severity = Severity.ERROR
    layer: str | None = None
    notes: list[tuple[Span | None, str]] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)   # the layers of other block instances
                                                         # where the same finding holds (merged)

    def __post_init__(self):
        self.message = shorten(self.message)
        self.notes = [(span, shorten(note)) for span, note in self.notes]

    def format(self, sources: "SourceLines | None" = None, color: bool = False) -> str:
        """``FILE:LINE:COL: severity[CODE]: message`` and a line per note; every name in it
        (file, node, the message's) shown through ``safe_text``: one line each, nothing raw.

        ``sources``: the source line quoted under the first line with a caret under the
        span (ruff's ``--show-source``), where that file's text is known; ``color``: ANSI
        colours, added after the escaping."""
        paint = _paint if color else _plain
        where = f"{paint(BOLD, str(self.span))}: " if self.span else ""
        code = paint(BOLD, f"[{self.code}]") if self.code else ""
        lines = [f"{where}{paint(SEVERITY_COLOR[self.severity], str(self.severity))}{code}: "
                 f"{safe_text(self.message)}"]
        if sources is not None and self.span is not None and self.span.line:
            lines += excerpt(self.span, sources.line(self.span.file, self.span.line), paint,
                             SEVERITY_COLOR[self.severity])
        note = paint(NOTE_COLOR, "note")
        for span, text in self.notes:
            lines.append(f"  {span}: {note}: {safe_text(text)}" if span else f"  {note}: {safe_text(text)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


# -- source excerpts and colour ------------------------------------------------------------

BOLD, RED, YELLOW, CYAN, BLUE = "1", "1;31", "1;33", "1;36", "1;34"
SEVERITY_COLOR = {Severity.ERROR: RED, Severity.WARNING: YELLOW, Severity.INFO: CYAN}
NOTE_COLOR = CYAN
GUTTER_COLOR = BLUE
EXCERPT_WIDTH = 120      # characters of a long source line shown around the column


def _paint(code: str, text: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m"


def _plain(code: str, text: str) -> str:
    return text


def color_wanted(stream) -> bool:
    """Colour for ``stream``: never with ``NO_COLOR`` set (https://no-color.org), always with
    ``FORCE_COLOR`` set (not '0'), else when the stream is a terminal (not ``TERM=dumb``)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    return _is_terminal(stream) and os.environ.get("TERM") != "dumb"


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def show_source_wanted(stream, option: bool | None = None) -> bool:
    """Source excerpts for ``stream``: as ``option`` says (``--show-source`` /
    ``--no-show-source``), else when the stream is a terminal."""
    return _is_terminal(stream) if option is None else option


class SourceLines:
    """The lines of the files that excerpts quote: given texts (a file read from stdin, a
    file already loaded), else each file read once, up to ``limit`` bytes; a file that
    cannot be read, is binary or larger is quoted from nowhere (no excerpt)."""

    def __init__(self, texts: dict[str, str] | None = None, limit: int = 1 << 20):
        self.texts = dict(texts or {})
        self.limit = limit
        self.lines: dict[str, list[str] | None] = {}

    def line(self, file: str, number: int) -> str | None:
        if file not in self.lines:
            text = self.texts.get(file)
            if text is None:
                text = self._read(file)
            self.lines[file] = None if text is None else text.split("\n")
        lines = self.lines[file]
        if lines is None or not 1 <= number <= len(lines):
            return None
        return lines[number - 1].removesuffix("\r")

    def _read(self, file: str) -> str | None:
        try:
            with open(file, "rb") as f:
                raw = f.read(self.limit + 1)
        except (OSError, ValueError):
            return None
        if len(raw) > self.limit or b"\0" in raw:
            return None
        return raw.decode("utf-8", errors="replace")


def _width(text: str) -> int:
    """Terminal columns of text: wide (CJK) characters take two, combining marks none."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1
               for c in text)


def excerpt(span: Span, line: str | None, paint=_plain, color: str = RED) -> list[str]:
    """The source line of ``span`` with carets under it, framed as ruff and rustc frame it::

          |
        4 |   - conv: {filters: 96, kernel: 11, stride: 4}
          |     ^^^^
          |

    The line's characters escaped as ``safe_text`` escapes them (a tab shown as four
    spaces), the carets counted over what is shown, a long line cut around the column;
    nothing when the line is not known."""
    if line is None:
        return []
    start = min(max(span.col - 1, 0), len(line))
    end = span.end_col - 1 if span.end_line == span.line and span.end_col else start + 1
    end = min(max(end, start + 1), len(line))
    left = right = ""
    if len(line) > EXCERPT_WIDTH:
        lo = max(0, min(start - EXCERPT_WIDTH // 3, len(line) - EXCERPT_WIDTH))
        left, right = ("…" if lo else ""), ("…" if lo + EXCERPT_WIDTH < len(line) else "")
        line, start, end = line[lo:lo + EXCERPT_WIDTH], start - lo, min(end - lo, EXCERPT_WIDTH)

    def shown(text: str) -> str:
        return safe_piece(text.replace("\t", "    "))

    before, marked = left + shown(line[:start]), shown(line[start:end])
    number = str(span.line)
    gutter = paint(GUTTER_COLOR, " " * len(number) + " |")
    return [gutter,
            f"{paint(GUTTER_COLOR, number + ' |')} {left}{shown(line)}{right}".rstrip(),
            f"{gutter} {' ' * _width(before)}{paint(color, '^' * max(_width(marked), 1))}",
            gutter]


# Codes of the errors that stop loading. Lint rules use other prefixes.
SYNTAX = "E001"      # not YAML, not UTF-8, tags, aliases, duplicate keys, too deep
SCHEMA = "E002"      # unknown key, wrong type, out of range, missing key
REFERENCE = "E003"   # unknown op, block, layer name or parameter; cycles
SHAPE = "E004"       # shapes that do not fit: output <= 0, add/concat mismatch
LIMIT = "E005"       # file too large, too many layers, numbers beyond the limits
IO = "E006"          # the file cannot be read
BUILD = "E007"       # the ONNX model cannot be built (netc/onnx/build.py)
NOT_ONNX = "E010"    # a binary file that is not an ONNX model
UNSUPPORTED = "E011" # an ONNX model with ops or a structure netc cannot read
TEXT = "E012"        # a warning: names in an ONNX model that are not valid UTF-8 (shown escaped)


class NetcError(Exception):
    """Invalid input: one or more error diagnostics. The CLI prints them and exits 1."""

    def __init__(self, diagnostics: Diagnostic | list[Diagnostic]):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = diagnostics
        super().__init__("\n".join(d.format() for d in diagnostics))


class BuildError(NetcError):
    """The network cannot be built as asked (netc/onnx/build.py, or an op's lowering);
    printed like any other diagnostic."""

    def __init__(self, message: str, span: Span | None = None, layer: str | None = None):
        super().__init__(Diagnostic(message, span, BUILD, layer=layer))


def error(message: str, span: Span | None, code: str, **kw) -> NetcError:
    """Shorthand: a NetcError holding one error diagnostic."""
    return NetcError(Diagnostic(message, span, code, Severity.ERROR, **kw))


def show_value(value) -> str:
    """A value as a message quotes it: strings quoted, booleans as YAML writes them, at most 60
    characters, a huge integer by its number of digits (never converted whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def unknown_choice(value, choices) -> str:
    """'unknown value X; did you mean Y?' (or the list of choices when nothing is close)."""
    import difflib

    msg = f"unknown value {show_value(value)}"
    close = difflib.get_close_matches(str(value), choices, n=1)
    if close:
        return msg + f"; did you mean {close[0]!r}?"
    return msg + f" (expected one of: {', '.join(choices)})"


class MissingExtra(Exception):
    """A feature needs an optional dependency that is not installed; the message says
    which extra to install. The CLI prints it on one line and exits 2."""
