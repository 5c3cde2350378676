"""Safe YAML reading with positions and limits.

The file is read as a stream of YAML events (never constructed by PyYAML), so
no tag can run code and no alias can expand. Values become plain Python
objects; ``Source.spans`` maps each value's path (a tuple of keys and indices)
to where it is written, so that any later stage can point at the file.

Scalars follow the YAML 1.2 core schema: ``1e-3`` is a number, ``yes`` is a
string, quoted scalars are always strings.
"""

from __future__ import annotations

import bisect
import math
import os
import re
from dataclasses import dataclass, field

from .diagnostics import IO, LIMIT, SYNTAX, Span, error

MAX_BYTES = 1 << 20          # 1 MiB: a ResNet-152 file is about 2 KiB
MAX_DEPTH = 24               # the format needs 7 levels of nesting
MAX_VALUES = 100_000         # scalars, mappings and sequences in one file
MAX_SCALAR = 4096            # characters in one scalar
MAX_INT = 10**18             # integers beyond +-10^18 are refused (as in expressions)

Path = tuple  # of str | int

_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")
_NUMBER_START = frozenset("+-.0123456789")   # how every number pattern above starts
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


@dataclass
class Source:
    """A parsed netc file: plain data plus the span of every value and key."""

    path: str
    text: str
    data: object
    spans: dict[Path, Span] = field(default_factory=dict)
    key_spans: dict[Path, Span] = field(default_factory=dict)

    def span(self, path: Path, key: bool = False) -> Span:
        """The span of the value (or key) at ``path``, else of its nearest ancestor."""
        path = tuple(path)
        table = self.key_spans if key else self.spans
        while path:
            if path in table:
                return table[path]
            if path in self.spans:
                return self.spans[path]
            path = path[:-1]
        return self.spans.get((), Span(self.path, 1, 1))


def _indexes(text: str, index: int) -> bool:
    """Whether the YAML error at ``index`` is a '[' right after a name: an unquoted
    ``rates[0]`` in a flow collection."""
    return 0 < index < len(text) and text[index] == "[" and (text[index - 1].isalnum() or text[index - 1] == "_")


def plain_scalar(text: str):
    """The YAML 1.2 core-schema value of an unquoted scalar."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text[0] not in _NUMBER_START:   # a name: no number pattern below can match
        return text
    if _INT.match(text):
        return _int(text, text, 10)
    if _OCT.match(text):
        return _int(text, text[2:], 8)
    if _HEX.match(text):
        return _int(text, text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


class _TooLarge(ValueError):
    """An integer scalar beyond ``MAX_INT``."""


def _int(text: str, digits: str, base: int) -> int:
    value = int(digits, base)
    if abs(value) > MAX_INT:
        raise _TooLarge(f"the integer {cut(text)} ({len(digits.lstrip('+-'))} digits) is beyond "
                        f"netc's limit of 10^18")
    return value


def cut(text: str, limit: int = 40) -> str:
    """``text`` shortened to about ``limit`` characters for a message: 'head…tail'."""
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return text[:half] + "…" + text[-half:]


class Lines:
    """Editor positions: lines end at LF (a CRLF's CR ends the line before it);
    CR alone, NEL, U+2028 and U+2029 are characters within a line, as editors
    show them, whatever YAML's own notion of a line break."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of character ``index``."""
        line = bisect.bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1


def read_file(path: str | os.PathLike) -> Source:
    """Read and parse a netc file, within the size limit."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise error(f"cannot read file: {e.strerror or e}", Span(name, 1, 1), IO) from None
    return read_bytes(raw, name)


def read_bytes(raw: bytes, name: str) -> Source:
    """Parse the bytes of a netc file (at most ``MAX_BYTES``, UTF-8) named ``name``."""
    if len(raw) > MAX_BYTES:
        raise error(f"file is larger than the {MAX_BYTES // 1024} KiB limit for netc files",
                    Span(name, 1, 1), LIMIT)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(not_utf8(raw, e), _byte_span(raw, e.start, name), SYNTAX) from None
    return parse(text, name)


def _byte_span(raw: bytes, index: int, name: str) -> Span:
    """The place of byte ``index`` as an editor shows it: its line, and its column counted in
    the characters before it (UTF-8 up to there)."""
    start = raw.rfind(b"\n", 0, index) + 1
    col = len(raw[start:index].decode("utf-8", errors="replace")) + 1
    line = raw.count(b"\n", 0, index) + 1
    return Span(name, line, col, line, col + 1)


def not_utf8(raw: bytes, e: UnicodeDecodeError) -> str:
    """What is wrong with a text file that is not UTF-8, naming the byte and what it most
    likely is: a Latin-1 (Windows-1252) character such as the 'é' of a comment."""
    byte = raw[e.start]
    guess = bytes([byte]).decode("cp1252", errors="replace")
    likely = f" ({guess!r} in Latin-1 or Windows-1252)" if guess != "\ufffd" else ""
    return f"a text file that is not UTF-8: byte 0x{byte:02x}{likely} is not valid UTF-8; save the file as UTF-8"


def parse(text: str, name: str = "<string>") -> Source:
    """Parse YAML text into a ``Source``; raise ``NetcError`` on anything unsafe or broken."""
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    src = Source(name, text, None)

    lines = Lines(text)

    position = lines.position

    def span_of(start, end=None) -> Span:
        end = end or start
        return Span(name, *position(start.index), *position(end.index))

    if "\x00" in text:
        raise error("file contains a NUL character: not a text file",
                    Span(name, *lines.position(text.index("\x00"))), SYNTAX)

    loader = loader_cls(text)
    try:
        try:
            events = _events(loader)
            src.data = _build(events, src, span_of)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            msg = _cause(text, mark) if mark else None
            if msg:
                raise error(f"invalid YAML: {msg}", span_of(mark), SYNTAX) from None
            msg = " ".join(p for p in (e.context, e.problem) if p) or "invalid YAML"
            if "nesting depth" in msg:   # libyaml 0.2.5+ counts levels before netc's limit does
                raise error(f"nesting deeper than {MAX_DEPTH} levels",
                            span_of(mark) if mark else Span(name, 1, 1), LIMIT) from None
            if mark and "flow" in msg and _indexes(text, mark.index):
                msg += ("; a [ inside { } or [ ] starts a list: quote an expression that indexes one, "
                        "e.g. dilation: \"rates[0]\"")
            raise error(f"invalid YAML: {msg}", span_of(mark) if mark else Span(name, 1, 1), SYNTAX) from None
        except yaml.reader.ReaderError as e:    # a character YAML does not allow, at its place
            where = Span(name, *lines.position(e.position)) if 0 <= e.position < len(text) else Span(name, 1, 1)
            what = f"U+{e.character:04X}" if isinstance(e.character, int) else repr(e.character)
            raise error(f"invalid YAML: the control character {what} is not allowed in a YAML file "
                        "(in a double-quoted string, write it as an escape such as \\x1b)", where, SYNTAX) from None
        except yaml.YAMLError as e:
            raise error(f"invalid YAML: {e}", Span(name, 1, 1), SYNTAX) from None
    finally:
        loader.dispose()
    return src


def _cause(text: str, mark) -> str | None:
    """What a YAML error at ``mark`` comes from, in words, where the character there tells:
    a tab (YAML indents with spaces only), a reserved '@' or '`'; None for the rest."""
    index = mark.index
    if not 0 <= index < len(text):
        return None
    c = text[index]
    if c == "\t":
        start = text.rfind("\n", 0, index) + 1
        if not text[start:index].strip(" \t"):
            return "tabs are not allowed for indentation: indent with spaces"
        return "a tab is not allowed here: YAML separates with spaces"
    if c in "@`":
        return f"'{c}' is reserved in YAML and cannot start a plain value: quote the value"
    return None


def _events(loader):
    while loader.check_event():
        yield loader.get_event()


def _build(events, src: Source, span_of):
    import yaml

    count = 0
    documents = 0
    root = None
    # Stack entries: [container, path, pending_key, pending_key_span]
    stack: list[list] = []

    def place(value, span: Span, start_mark):
        nonlocal root
        if not stack:
            root = value
            src.spans[()] = span
            return ()
        top = stack[-1]
        container, path = top[0], top[1]
        if isinstance(container, list):
            p = path + (len(container),)
            container.append(value)
            src.spans[p] = span
            return p
        if top[2] is _NO_KEY:
            if not isinstance(value, str):
                what = "null" if value is None else str(value).lower() if isinstance(value, bool) \
                    else f"the number {value}" if isinstance(value, (int, float)) else "a collection"
                raise error(f"mapping keys must be names (strings), got {what}", span, SYNTAX)
            if value in container:
                first = src.key_spans[path + (value,)]
                raise error(f"duplicate key {value!r} (first given at line {first.line})", span, SYNTAX)
            top[2], top[3] = value, span
            return None
        key = top[2]
        p = path + (key,)
        container[key] = value
        src.key_spans[p] = top[3]
        src.spans[p] = span
        top[2] = _NO_KEY
        return p

    skipped = (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    scalar, document, alias = yaml.ScalarEvent, yaml.DocumentStartEvent, yaml.AliasEvent
    for ev in events:
        if isinstance(ev, skipped):
            continue
        if isinstance(ev, ends):    # no anchor, no tag, no value: nothing to check or place
            stack.pop()
            continue
        if isinstance(ev, document):
            documents += 1
            if documents > 1:
                raise error("a netc file holds one YAML document; found a second '---'",
                            span_of(ev.start_mark), SYNTAX)
            continue
        span = span_of(ev.start_mark, ev.end_mark)
        if isinstance(ev, alias):
            raise error("YAML aliases (*name) are not supported in netc files; "
                        "use 'defaults:' or 'blocks:' to share settings", span, SYNTAX)
        if ev.anchor:
            raise error(f"YAML anchors (&{ev.anchor}) are not supported in netc files; "
                        "use 'defaults:' or 'blocks:' to share settings", span, SYNTAX)
        if ev.tag and ev.tag != "!":
            raise error(f"YAML tags ({ev.tag}) are not allowed in netc files", span, SYNTAX)
        count += 1
        if count > MAX_VALUES:
            raise error(f"file holds more than {MAX_VALUES} values", span, LIMIT)
        if isinstance(ev, scalar):
            if len(ev.value) > MAX_SCALAR:
                raise error(f"scalar longer than {MAX_SCALAR} characters", span, LIMIT)
            try:
                value = plain_scalar(ev.value) if not ev.style else ev.value
            except _TooLarge as e:
                raise error(str(e), span, LIMIT) from None
            if ev.value == "<<" and not ev.style and stack and stack[-1][2] is _NO_KEY \
                    and isinstance(stack[-1][0], dict):
                raise error("YAML merge keys (<<) are not supported in netc files; "
                            "use 'defaults:' or 'blocks:' to share settings", span, SYNTAX)
            place(value, span, ev.start_mark)
            continue
        container = {} if isinstance(ev, yaml.MappingStartEvent) else []
        if len(stack) >= MAX_DEPTH:
            raise error(f"nesting deeper than {MAX_DEPTH} levels", span, LIMIT)
        if stack and isinstance(stack[-1][0], dict) and stack[-1][2] is _NO_KEY:
            raise error("mapping keys must be plain scalars", span, SYNTAX)
        path = place(container, span, ev.start_mark)
        stack.append([container, path, _NO_KEY, None])
    if documents == 0:
        raise error("empty file: a netc file starts with 'netc: 1'", Span(src.path, 1, 1), SYNTAX)
    return root


_NO_KEY = object()
