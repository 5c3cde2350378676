"""Lint one file or many: load, run the enabled rules, apply per-file ignores,
per-node ignores (ONNX models) and inline suppressions, report unused suppressions.
Rendering lives in ``output.py``.

A file that fails to load gives its load errors (codes E001-E011) as findings;
they cannot be ignored or suppressed, since nothing else can be checked. An ONNX
model with ops netc cannot read is the exception: its E011 error comes with the
window rules (A) on every layer that could be read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Diagnostic, NetcError, Severity, Span
from . import noqa
from .config import Config
from .rule import RULES, Context

UNUSED_NOQA = "N001"
# rules that stay true on the part of an ONNX model netc can read: each window on its own
PARTIAL_RULES = ("A",)
YAML_SUFFIXES = (".yaml", ".yml")
ONNX_SUFFIX = ".onnx"
_NETC_KEY = re.compile(r"^netc\s*:", re.MULTILINE)


class RuleCrash(RuntimeError):
    """A rule raised: a bug in netc, reported as an internal error (exit 2)."""


@dataclass
class FileResult:
    path: str
    findings: list[Diagnostic]
    loaded: bool
    skipped: str = ""       # why the file was not linted (an ONNX model without the onnx extra)
    text: str | None = None     # the netc file's text, for source excerpts (None: read it from its path)


def lint_source(path: str, config: Config, load_options: dict | None = None,
                data: bytes | None = None) -> FileResult:
    """Lint one file with ``config`` (already specialised to this file); ``load_options``
    (``params``, ``input_shape``) override the file's as in ``netc.load`` (an
    override the file cannot take raises OverrideError). ``data``: the file's
    bytes, given (``netc lint -`` reads them from stdin), ``path`` only naming it."""
    from ..api import load, loads

    try:
        if data is None:
            network = load(path, partial=True, **(load_options or {}))
        else:
            network = loads(data, path, **(load_options or {}))
    except NetcError as e:
        text = data.decode("utf-8", errors="replace") if data is not None else None
        return FileResult(path, [_as_error(d) for d in e.diagnostics], False, text=text)
    src = network.source
    ctx = Context(network, config.options)
    unread = network.graph.unread
    findings: list[Diagnostic] = []
    for code, r in RULES.items():
        if r.check is None or not config.enabled(code):
            continue
        if unread is not None and not code.startswith(PARTIAL_RULES):
            continue
        try:
            for d in r.check(ctx):
                d.code, d.severity = code, r.severity
                findings.append(d)
        except Exception as e:  # a bug in a rule must not pass for a clean file
            raise RuleCrash(f"internal error: rule {code} failed on {path}: "
                            f"{type(e).__name__}: {e}") from e
    findings = _merge_instances(findings)
    if config.node_ignores and not src.text:      # an ONNX model: node-name patterns
        findings = [d for d in findings if not _node_ignored(d, network.graph, config)]
    suppressions = noqa.parse(src.text)
    kept = [d for d in findings if not _suppressed(d, suppressions)]
    if config.enabled(UNUSED_NOQA):
        kept += _unused(suppressions, path, config)
    if unread is not None:
        kept.append(_as_error(unread))
    kept += network.graph.warnings          # E012: names of an ONNX model that are not UTF-8
    kept.sort(key=lambda d: (d.span.line, d.span.col, d.code) if d.span else (0, 0, d.code))
    return FileResult(path, kept, unread is None, text=src.text or None)


def _node_ignored(d: Diagnostic, graph, config: Config) -> bool:
    """``per-node-ignores``: a finding on a layer whose name, ONNX node name or PyTorch
    module matches a pattern that covers its code."""
    if not d.layer:
        return False
    try:
        names = (d.layer, *graph.node(d.layer).aliases)
    except KeyError:
        names = (d.layer,)
    return config.node_ignored(d.code, names)


def _as_error(d: Diagnostic) -> Diagnostic:
    return Diagnostic(d.message, d.span, d.code or "E000", Severity.ERROR, d.layer, d.notes)


def _merge_instances(findings: list[Diagnostic]) -> list[Diagnostic]:
    """One finding per (code, place): a rule firing inside a block used 16 times
    reports once, naming the other instances in a note."""
    first: dict[tuple, Diagnostic] = {}
    others: dict[tuple, list[str]] = {}
    for d in findings:
        key = (d.code, d.span)
        if key in first:
            others[key].append(d.layer or "?")
        else:
            first[key], others[key] = d, []
    for key, names in others.items():
        if names:
            first[key].instances = [n for n in names if n != "?"]
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            first[key].notes.append((None, f"also in {len(names)} other instance"
                                     f"{'s' if len(names) > 1 else ''}: {shown}"))
    return list(first.values())


def _suppressed(d: Diagnostic, suppressions: dict[int, noqa.Suppression]) -> bool:
    if not suppressions or d.span is None:
        return False
    for line in range(d.span.line, (d.span.end_line or d.span.line) + 1):
        s = suppressions.get(line)
        if s is not None and s.covers(d.code):
            s.used.add(d.code)
            return True
    return False


def _unused(suppressions: dict[int, noqa.Suppression], path: str, config: Config) -> list[Diagnostic]:
    from . import known_codes

    out = []
    codes = known_codes()
    for s in suppressions.values():
        span = Span(path, s.line, s.col, s.line, s.end_col)
        if s.codes is None:
            if not s.used:
                out.append(Diagnostic("unused blanket suppression: no finding on this line",
                                      span, UNUSED_NOQA, RULES[UNUSED_NOQA].severity))
            continue
        unknown = [c for c in s.codes if c not in codes]
        unused = [c for c in s.codes if c in codes and c not in s.used and config.enabled(c)]
        if unknown:
            out.append(Diagnostic(f"suppression names unknown rule code{'s' if len(unknown) > 1 else ''} "
                                  f"{', '.join(unknown)}", span, UNUSED_NOQA, RULES[UNUSED_NOQA].severity))
        if unused:
            out.append(Diagnostic(f"unused suppression: no {', '.join(unused)} finding on this line",
                                  span, UNUSED_NOQA, RULES[UNUSED_NOQA].severity))
    return out


def collect_files(paths: list[Path], netc_only: bool = False) -> tuple[list[Path], list[str]]:
    """Expand folders into their netc files (YAML files with a top-level ``netc:`` key)
    and ONNX models (``*.onnx``), sorted; keep explicit files unless ``netc_only``.
    Returns (files, missing paths)."""
    files: list[Path] = []
    missing: list[str] = []
    seen: set[Path] = set()
    for p in paths:
        if p.is_dir():
            found = []
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__"))
                found += [Path(root) / n for n in names if n.endswith(YAML_SUFFIXES + (ONNX_SUFFIX,))]
            candidates = [f for f in sorted(found) if _is_netc_file(f)]
        elif p.exists():
            candidates = [p] if not netc_only or _is_netc_file(p) else []
        else:
            missing.append(str(p))
            continue
        for f in candidates:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files, missing


def _is_netc_file(path: Path) -> bool:
    """A YAML file with a top-level ``netc:`` key, or an ``.onnx`` model."""
    if path.suffix == ONNX_SUFFIX:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
    except OSError:
        return True   # let the loader report it
    return bool(_NETC_KEY.search(head.decode("utf-8", "replace")))
