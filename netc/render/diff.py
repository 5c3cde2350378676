"""Renderers of ``netc diff``: text, markdown (for a pull-request comment) and JSON.
Computing lives in ``netc/diff.py``; these only format the ``NetworkDiff`` they are handed.

Names and values read from files are shown, never interpreted: control characters
and line breaks are escaped (``netc.safe_text``); in markdown a name is a code span
and ``|`` is escaped in table cells. Text is plain (netc prints no colour).
"""

from __future__ import annotations

import json
import re

from ..safe_text import safe_json, safe_text
from .summary import big, field_text, human_bytes, json_int

DIFF_SCHEMA_VERSION = 1
MARKDOWN_ROWS = 25          # changed layers shown before the rest fold into <details>

# total -> (label, kind): kind 'count' (exact, with commas), 'bytes' (SI), 'axes' (per output)
TOTAL_LABELS = {
    "params": ("Params", "count"),
    "macs": ("MACs", "count"),
    "flops": ("FLOPs", "count"),
    "activations": ("Activations (elements)", "count"),
    "activation_bytes": ("Activation memory", "bytes"),
    "inference_bytes": ("Inference memory (peak)", "bytes"),
    "training_bytes": ("Training memory", "bytes"),
    "receptive_field": ("Receptive field", "axes"),
    "output_shape": ("Output shape", "axes"),
}
NUMBER_LABELS = {"output_shape": "output", "params": "params", "macs": "MACs", "flops": "FLOPs",
                 "activations": "activations", "receptive_field": "receptive field"}
SIGN = {"added": "+", "removed": "-", "changed": "~", "same": " "}

# -- shared pieces ------------------------------------------------------------------------------

def _signed(n: int) -> str:
    return f"{'+' if n > 0 else '-' if n < 0 else '±'}{abs(n):,}" if abs(n) < 10**30 else \
        ("+" if n > 0 else "-") + big(abs(n))


def _percent(delta: int, old: int) -> str:
    """'+4.37%' of ``old``, rounded half up in exact integers; '' when old is 0 or nothing moved."""
    if not old or not delta:
        return ""
    hundredths = (abs(delta) * 20000 + old) // (2 * old)
    if hundredths >= 10**8:
        return f"{'+' if delta > 0 else '-'}>999999%"
    whole, frac = divmod(hundredths, 100)
    return f"{'+' if delta > 0 else '-'}{whole:,}.{frac:02d}%"


def _bytes_signed(n: int) -> str:
    return f"{'+' if n > 0 else '-' if n < 0 else '±'}{human_bytes(abs(n))}"


def _axes(value, square: bool = False) -> str:
    """The receptive-field sizes or shapes of the outputs: '619', '64x80x80, 64x40x40';
    ``square``: a size alike on every axis written once, as ``netc summary`` does."""
    if not value:
        return "-"
    return ", ".join("-" if v is None else big(v[0]) if square and len(set(v)) == 1 else
                     "x".join(big(x) for x in v) for v in value)


def _axes_delta(value, square: bool = False) -> str:
    if value is None:
        return ""
    if all(x == 0 for v in value for x in v):
        return "±0"

    def signed(x):
        return "+" + big(x) if x > 0 else "-" + big(-x) if x < 0 else "±0"
    return ", ".join(signed(v[0]) if square and len(set(v)) == 1 else "x".join(map(signed, v))
                     for v in value)


def total_cells(key: str, t) -> tuple[str, str, str]:
    """(old, new, delta) of one total, as text."""
    kind = TOTAL_LABELS[key][1]
    if kind == "count":
        pct = _percent(t.delta, t.old)
        return f"{big(t.old) if t.old >= 10**30 else f'{t.old:,}'}", \
            f"{big(t.new) if t.new >= 10**30 else f'{t.new:,}'}", \
            _signed(t.delta) + (f" ({pct})" if pct else "")
    if kind == "bytes":
        pct = _percent(t.delta, t.old)
        return human_bytes(t.old), human_bytes(t.new), _bytes_signed(t.delta) + (f" ({pct})" if pct else "")
    square = key == "receptive_field"
    return _axes(t.old, square), _axes(t.new, square), _axes_delta(t.delta, square) if t.old != t.new else "±0"


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (tuple, list)):
        if v and all(not isinstance(x, (tuple, list)) for x in v) and len(set(v)) == 1 and len(v) > 1:
            return _value(v[0])          # kernel (3, 3) -> 3
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if v is None:
        return "null"
    if isinstance(v, int):
        return big(v)
    return safe_text(v)


def _numbers(r) -> str:
    """An added or removed layer in one phrase."""
    parts = [f"output {'x'.join(map(str, r.output_shape))}"]
    if r.params:
        parts.append(f"params {r.params:,}")
    if r.macs:
        parts.append(f"MACs {r.macs:,}")
    if r.field is not None:
        parts.append(f"receptive field {field_text(r)}")
    return ", ".join(parts)


def _number_change(key: str, a, b) -> str:
    label = NUMBER_LABELS[key]
    if key == "output_shape":
        return f"{label} {'x'.join(map(str, a.output_shape))} → {'x'.join(map(str, b.output_shape))}"
    if key == "receptive_field":
        return f"{label} {field_text(a)} → {field_text(b)}"
    x, y = getattr(a, key), getattr(b, key)
    return f"{label} {x:,} → {y:,} ({_signed(y - x)})"


def describe(layer) -> str:
    """What happened to one layer, in one line (names escaped, not yet for markdown)."""
    if layer.status == "added":
        return "added: " + _numbers(layer.new)
    if layer.status == "removed":
        return "removed: " + _numbers(layer.old)
    a, b = layer.old, layer.new
    parts = []
    for key in layer.changes:
        if key == "name":
            parts.append(f"renamed from {safe_text(a.name)}"
                         + (" (matched by position)" if layer.matched == "position" else ""))
        elif key == "op":
            parts.append(f"op {a.op} → {b.op}")
        elif key == "inputs":
            parts.append("inputs " + ", ".join(map(safe_text, a.node.inputs)) + " → "
                         + ", ".join(map(safe_text, b.node.inputs)))
        elif key in NUMBER_LABELS:
            parts.append(_number_change(key, a, b))
        else:
            pa, pb = a.node.params, b.node.params
            parts.append(f"{safe_text(key)} {_value(pa[key]) if key in pa else '(none)'} → "
                         f"{_value(pb[key]) if key in pb else '(none)'}")
    return "; ".join(parts)


def _counts(d) -> str:
    text = ", ".join(f"{d.count(s)} {s}" for s in ("added", "removed", "changed", "same"))
    by_position = sum(1 for layer in d.layers if layer.matched == "position")
    renamed = d.renamed
    if renamed:
        text += f"; {renamed} renamed" + (f" ({by_position} matched by position)" if by_position else "")
    return text


def _memory_note(d) -> str:
    m = d.new_memory
    return f"memory at batch {m.batch}, {m.dtype}, {m.optimizer}"


def _budget_line(budgets, over) -> str:
    """'Budgets: params=5% passed, macs=10% kept.' ('' without budgets)."""
    if not budgets:
        return ""
    bad = {b.metric for b in over}
    return "Budgets: " + ", ".join(f"{b} {'passed' if b.metric in bad else 'kept'}" for b in budgets) + "."


# -- text -----------------------------------------------------------------------------------------

def text(d, budgets=(), over=()) -> str:
    old, new = d.old.source.path, d.new.source.path
    out = [f"netc diff {safe_text(old)} → {safe_text(new)}  ({_memory_note(d)})", ""]
    rows = [("", "old", "new", "delta")]
    rows += [(TOTAL_LABELS[k][0], *total_cells(k, t)) for k, t in d.totals.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        out.append("  ".join((r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].rjust(widths[2]),
                              r[3])).rstrip())
    out += ["", f"Layers: {_counts(d)}"]
    changed = d.changed_layers
    if changed:
        names = [safe_text(layer.name) for layer in changed]
        ops = [(layer.new or layer.old).op for layer in changed]
        wn, wo = max(map(len, names)), max(map(len, ops))
        for layer, name, op in zip(changed, names, ops):
            out.append(f"  {SIGN[layer.status]} {name.ljust(wn)}  {op.ljust(wo)}  {describe(layer)}")
    line = _budget_line(budgets, over)
    if line:
        out += ["", line]
    return "\n".join(out) + "\n"


# -- markdown -------------------------------------------------------------------------------------

def _code(name: str) -> str:
    """A name as a markdown code span in a table cell: escaped, fenced by more backticks
    than it holds, ``|`` escaped (GitHub reads ``\\|`` inside code spans in tables)."""
    shown = safe_text(name)
    run = max((len(m) for m in re.findall(r"`+", shown)), default=0)
    fence = "`" * (run + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") or not shown.strip() else ""
    return (fence + pad + shown + pad + fence).replace("|", "\\|")


def _cell(text: str) -> str:
    """Text for a table cell: ``|`` escaped, HTML and emphasis characters inert."""
    return re.sub(r"([\\|<>*_`\[\]])", r"\\\1", text)


def markdown(d, budgets=(), over=()) -> str:
    old, new = d.old.source.path, d.new.source.path
    out = [f"### netc diff: {_code(old)} → {_code(new)}", ""]
    if over:
        out += ["**Over budget:** " + "; ".join(
            f"{b.metric} {total_cells(b.metric, d.totals[b.metric])[2]}, past {b}" for b in over), ""]
    out += ["| | old | new | change |", "|---|---:|---:|---:|"]
    for k, t in d.totals.items():
        o, n, delta = total_cells(k, t)
        flag = "**" if any(b.metric == k for b in over) else ""
        out.append(f"| {TOTAL_LABELS[k][0]} | {_cell(o)} | {_cell(n)} | {flag}{_cell(delta)}{flag} |")
    line = _budget_line(budgets, over)
    out += ["", f"Layers: {_counts(d)}. {_memory_note(d).capitalize()}." + (f" {line}" if line else "")]
    changed = d.changed_layers
    if changed:
        head = ["| | Layer | Op | Change |", "|---|---|---|---|"]
        rows = [f"| {SIGN[layer.status].strip() or ' '} | {_code(layer.name)} | {(layer.new or layer.old).op} | "
                f"{_cell(describe(layer))} |" for layer in changed]
        out += ["", *head, *rows[:MARKDOWN_ROWS]]
        if len(rows) > MARKDOWN_ROWS:
            more = len(rows) - MARKDOWN_ROWS
            out += ["", f"<details><summary>{more} more changed layer{'s' if more > 1 else ''}</summary>",
                    "", *head, *rows[MARKDOWN_ROWS:], "", "</details>"]
    return "\n".join(out) + "\n"


# -- json ------------------------------------------------------------------------------------------

def _j(v):
    """Exact integers for JSON (rounded past about 3,900 digits), tuples as lists."""
    if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
        return v
    if isinstance(v, int):
        return json_int(v)
    if isinstance(v, dict):
        return {str(k): _j(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_j(x) for x in v]
    return str(v)


def _layer_dict(r) -> dict | None:
    if r is None:
        return None
    return _j({
        "name": r.name, "op": r.op, "inputs": list(r.node.inputs), "settings": r.node.params,
        "output_shape": list(r.output_shape), "params": r.params, "macs": r.macs, "flops": r.flops,
        "activations": r.activations,
        "receptive_field": None if r.field is None else {"size": r.field.size, "jump": r.field.jump},
    })


def as_dict(d, budgets=(), over=()) -> dict:
    m = d.new_memory
    out = {
        "schema_version": DIFF_SCHEMA_VERSION,
        "old": {"file": d.old.source.path, "name": d.old.name},
        "new": {"file": d.new.source.path, "name": d.new.name},
        "memory": {"batch": m.batch, "dtype": m.dtype, "optimizer": m.optimizer},
        "totals": {k: {"old": _j(t.old), "new": _j(t.new), "delta": _j(t.delta)} for k, t in d.totals.items()},
        "counts": {**{s: d.count(s) for s in ("added", "removed", "changed", "same")}, "renamed": d.renamed},
        "layers": [{"name": layer.name, "status": layer.status, "matched": layer.matched,
                    "changes": list(layer.changes), "old": _layer_dict(layer.old),
                    "new": _layer_dict(layer.new)} for layer in d.layers],
    }
    if budgets:
        bad = {b.metric for b in over}
        out["budgets"] = [{"metric": b.metric, "limit": str(b).partition("=")[2],
                           "passed": b.metric in bad} for b in budgets]
    return out


def json_text(d, budgets=(), over=()) -> str:
    return safe_json(json.dumps(as_dict(d, budgets, over), indent=2)) + "\n"


FORMATS = {"text": text, "markdown": markdown, "json": json_text}
