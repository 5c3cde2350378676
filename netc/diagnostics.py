"""Source spans and diagnostics: the one error type every layer of netc raises.

A diagnostic is printed as ``FILE:LINE:COL: severity[CODE]: message`` (lines and
columns are 1-based, like every compiler and linter people already use). A place
in a binary file (a node of an ONNX model) has line 0 and says where in words:
``model.onnx: node 'layer1.0.conv1' (Conv #12): error[A001]: ...``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from .safe_text import safe_text

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

    def format(self) -> str:
        """``FILE:LINE:COL: severity[CODE]: message`` and a line per note; every name in it
        (file, node, the message's) shown through ``safe_text``: one line each, nothing raw."""
        where = f"{self.span}: " if self.span else ""
        code = f"[{self.code}]" if self.code else ""
        lines = [f"{where}{self.severity}{code}: {safe_text(self.message)}"]
        for span, note in self.notes:
            lines.append(f"  {span}: note: {safe_text(note)}" if span else f"  note: {safe_text(note)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


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
