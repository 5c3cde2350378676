"""Safe YAML reading with positions and limits.

The file is read as a stream of YAML events (never constructed by PyYAML), so
no tag can run code and no alias can expand. Values become plain Python
objects; ``Source.spans`` maps each value's path (a tuple of keys and indices)
to where it is written, so that any later stage can point at the file.

Scalars follow the YAML 1.2 core schema: ``1e-3`` is a number, ``yes`` is a
string, quoted scalars are always strings.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

from .diagnostics import IO, LIMIT, SYNTAX, Span, error

MAX_BYTES = 1 << 20          # 1 MiB: a ResNet-152 file is about 2 KiB
MAX_DEPTH = 24               # the format needs 7 levels of nesting
MAX_VALUES = 100_000         # scalars, mappings and sequences in one file
MAX_SCALAR = 4096            # characters in one scalar

Path = tuple  # of str | int

_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")
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


def plain_scalar(text: str):
    """The YAML 1.2 core-schema value of an unquoted scalar."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        return int(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


def read_file(path: str | os.PathLike) -> Source:
    """Read and parse a netc file, within the size limit."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise error(f"cannot read file: {e.strerror or e}", Span(name, 1, 1), IO) from None
    if len(raw) > MAX_BYTES:
        raise error(f"file is larger than the {MAX_BYTES // 1024} KiB limit for netc files",
                    Span(name, 1, 1), LIMIT)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise error("file is not UTF-8 text", Span(name, line, col), SYNTAX) from None
    return parse(text, name)


def parse(text: str, name: str = "<string>") -> Source:
    """Parse YAML text into a ``Source``; raise ``NetcError`` on anything unsafe or broken."""
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    src = Source(name, text, None)

    def span_of(start, end=None) -> Span:
        end = end or start
        return Span(name, start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    if "\x00" in text:
        i = text.index("\x00")
        line = text.count("\n", 0, i) + 1
        raise error("file contains a NUL character: not a text file", Span(name, line, i - text.rfind("\n", 0, i)), SYNTAX)

    loader = loader_cls(text)
    try:
        try:
            events = _events(loader)
            src.data = _build(events, src, span_of)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            msg = " ".join(p for p in (e.context, e.problem) if p) or "invalid YAML"
            raise error(f"invalid YAML: {msg}", span_of(mark) if mark else Span(name, 1, 1), SYNTAX) from None
        except yaml.YAMLError as e:
            raise error(f"invalid YAML: {e}", Span(name, 1, 1), SYNTAX) from None
    finally:
        loader.dispose()
    return src


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
            if not isinstance(value, (str, int, float, bool)) or value is None:
                raise error("mapping keys must be plain scalars", span, SYNTAX)
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

    for ev in events:
        if isinstance(ev, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
            continue
        if isinstance(ev, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise error("a netc file holds one YAML document; found a second '---'",
                            span_of(ev.start_mark), SYNTAX)
            continue
        span = span_of(ev.start_mark, ev.end_mark)
        if isinstance(ev, yaml.AliasEvent):
            raise error("YAML aliases (*name) are not supported in netc files; "
                        "use 'defaults:' or 'blocks:' to share settings", span, SYNTAX)
        if getattr(ev, "anchor", None):
            raise error(f"YAML anchors (&{ev.anchor}) are not supported in netc files; "
                        "use 'defaults:' or 'blocks:' to share settings", span, SYNTAX)
        if getattr(ev, "tag", None) and ev.tag != "!":
            raise error(f"YAML tags ({ev.tag}) are not allowed in netc files", span, SYNTAX)
        if isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            stack.pop()
            continue
        count += 1
        if count > MAX_VALUES:
            raise error(f"file holds more than {MAX_VALUES} values", span, LIMIT)
        if isinstance(ev, yaml.ScalarEvent):
            if len(ev.value) > MAX_SCALAR:
                raise error(f"scalar longer than {MAX_SCALAR} characters", span, LIMIT)
            value = plain_scalar(ev.value) if not ev.style else ev.value
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
