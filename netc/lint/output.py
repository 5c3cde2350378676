"""Renderers of lint results: text, json, sarif (2.1.0) and github (workflow
commands). They only format; the engine decides what was found."""

from __future__ import annotations

from ..diagnostics import BOLD, Diagnostic, Severity, SourceLines, _paint, _plain
from ..safe_text import safe_json, safe_text
from .engine import FileResult
from .rule import RULES

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def findings(results: list[FileResult]):
    for r in results:
        for d in r.findings:
            yield r.path, d


def text(results: list[FileResult], closing: bool = True, show_source: bool = False,
         color: bool = False) -> str:
    """``FILE:LINE:COL: severity[CODE]: message`` with notes, then a closing count (``closing``:
    the count, or "All checks passed!" when clean). ``show_source``: each finding's source
    line with a caret under its column; ``color``: ANSI colours (diagnostics.py)."""
    sources = SourceLines({r.path: r.text for r in results if r.text is not None}) if show_source else None
    lines = [d.format(sources, color) for _, d in findings(results)]
    paint = _paint if color else _plain
    if not lines:
        return paint("1;32", "All checks passed!") + "\n" if closing else ""
    if not closing:
        return "\n".join(lines) + "\n"
    counts = {s: 0 for s in Severity}
    for _, d in findings(results):
        counts[d.severity] += 1
    parts = [f"{n} {s}{'s' if n != 1 and s != Severity.INFO else ''}" for s, n in
             sorted(counts.items(), reverse=True) if n]
    files = len({p for p, _ in findings(results)})
    lines.append(paint(BOLD, f"Found {', '.join(parts)} in {files} file{'s' if files != 1 else ''}."))
    return "\n".join(lines) + "\n"


def statistics(results: list[FileResult]) -> str:
    """One line per code found: its count, code and rule name, most frequent first (ruff's
    ``--statistics``)."""
    counts: dict[str, int] = {}
    for _, d in findings(results):
        counts[d.code] = counts.get(d.code, 0) + 1
    if not counts:
        return ""
    width = len(str(max(counts.values())))
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return "".join(f"{n:>{width}}  {code}  {RULES[code].name if code in RULES else 'load-error'}\n"
                   for code, n in rows)


def as_record(path: str, d: Diagnostic) -> dict:
    """One finding; a place in a binary file (an ONNX node) has null line and column
    and a ``where`` text instead."""
    s = d.span
    if s and not s.line:
        return {"code": d.code, "severity": str(d.severity), "message": d.message, "file": s.file,
                "line": None, "column": None, "end_line": None, "end_column": None,
                "where": s.where or None, "layer": d.layer, "notes": _notes(d)}
    return {"code": d.code, "severity": str(d.severity), "message": d.message,
            "file": s.file if s else path, "line": s.line if s else 1, "column": s.col if s else 1,
            "end_line": (s.end_line or s.line) if s else 1, "end_column": (s.end_col or s.col) if s else 1,
            "layer": d.layer, "notes": _notes(d)}


def _notes(d: Diagnostic) -> list[dict]:
    return [{"message": note, "file": span.file if span else None,
             "line": (span.line or None) if span else None, "column": (span.col or None) if span and span.line else None}
            for span, note in d.notes]


def json_(results: list[FileResult]) -> str:
    import json     # only the json and sarif formats pay for it

    return safe_json(json.dumps([as_record(p, d) for p, d in findings(results)], indent=2)) + "\n"


def _uri(path: str) -> str:
    """A relative reference for a relative path, a ``file://`` URI for an absolute one
    (SARIF1004: an artifact uri is never a bare absolute path)."""
    from pathlib import PurePath
    from urllib.parse import quote

    p = PurePath(path)
    if p.is_absolute():
        return p.as_uri()
    return quote(p.as_posix())      # ':' is escaped, so no segment reads as a scheme


def _region(d: Diagnostic) -> dict:
    s = d.span
    region = {"startLine": s.line, "startColumn": s.col}
    if s.end_line:
        region["endLine"] = s.end_line
        region["endColumn"] = max(s.end_col or s.col, 1)
    return region


def sarif(results: list[FileResult]) -> str:
    from .. import __version__
    from . import LOAD_ERRORS

    ids = sorted({d.code for _, d in findings(results)} | set(RULES))
    descriptors = []
    for code in ids:
        if code in RULES:
            r = RULES[code]
            descriptors.append({
                "id": code, "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": " ".join(r.what.split())},
                "help": {"text": " ".join(r.fix.split())},
                "defaultConfiguration": {"level": SARIF_LEVEL[r.severity]},
            })
        else:
            descriptors.append({"id": code, "name": "load-error",
                                "shortDescription": {"text": LOAD_ERRORS.get(code, "load error")},
                                "defaultConfiguration": {"level": "error"}})
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    out = []
    for path, d in findings(results):
        res = {"ruleId": d.code, "ruleIndex": index[d.code], "level": SARIF_LEVEL[d.severity],
               "message": {"text": d.message}}
        file = d.span.file if d.span else path
        loc = {"physicalLocation": {"artifactLocation": {"uri": _uri(file)}}}
        if d.span and d.span.line:
            loc["physicalLocation"]["region"] = _region(d)
        if d.span and d.span.where:
            loc["message"] = {"text": d.span.where}
        if d.layer:
            loc["logicalLocations"] = [{"name": d.layer, "kind": "layer"}]
        res["locations"] = [loc]
        related = []
        for i, (span, note) in enumerate(d.notes):
            rel = {"id": i, "message": {"text": note}}
            if span is not None:
                rel["physicalLocation"] = {"artifactLocation": {"uri": _uri(span.file)}}
                if span.line:
                    rel["physicalLocation"]["region"] = _region(Diagnostic("", span))
            related.append(rel)
        if related:
            res["relatedLocations"] = related
        out.append(res)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "netc", "version": __version__,
                                "rules": descriptors}},
            "results": out,
        }],
    }
    import json

    return safe_json(json.dumps(log, indent=2)) + "\n"


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def github(results: list[FileResult]) -> str:
    """GitHub Actions workflow commands: one annotation per finding. Every name goes through
    ``safe_text`` and then GitHub's escapes, so each annotation is one line that starts
    with ``::`` and no name can start a line or hold a ``##[`` command."""
    lines = []
    for path, d in findings(results):
        s = d.span
        props = [f"file={_escape_property(safe_text(s.file if s else path))}"]
        if s and s.line:
            props += [f"line={s.line}", f"col={s.col}"]
            if s.end_line:
                props += [f"endLine={s.end_line}"]
                if s.end_line == s.line and s.end_col:
                    props += [f"endColumn={s.end_col}"]
        props.append(f"title={_escape_property(f'netc {d.code}')}")
        where = f"{s.where}: " if s and s.where and not s.line else ""
        # names through safe_text: one line each, so only the notes' own line breaks become %0A
        message = "\n".join([safe_text(f"{d.code} {where}{d.message}")] +
                             [f"{span}: note: {safe_text(note)}" if span else f"note: {safe_text(note)}"
                              for span, note in d.notes])
        lines.append(f"::{GITHUB_LEVEL[d.severity]} {','.join(props)}::{_escape_data(message)}")
    return "".join(line + "\n" for line in lines)


FORMATS = {"text": text, "json": json_, "sarif": sarif, "github": github}
