"""Renderers of ``netc sizes``: text and JSON of the ``SizesReport`` netc/sizes.py computed.

Names and messages read from files go through ``safe_text`` (text) and ``safe_json``
(JSON), as every renderer's do."""

from __future__ import annotations

import json

from ..safe_text import safe_json, safe_text

SIZES_SCHEMA_VERSION = 1
SHOWN_REASONS = 3           # why sizes stop, in text: the first layers


def _stride(s):
    if s is None:
        return None
    return int(s) if s.denominator == 1 else f"{s.numerator}/{s.denominator}"


def _listed(sizes: list[int]) -> str:
    return ", ".join(map(str, sizes)) if sizes else "none"


def axis_dict(a) -> dict:
    return {"size": a.size, "rule": a.rule.text(), **{k: v for k, v in a.rule.json().items() if k != "text"},
            "min": a.min, "loads_from": a.loads_from, "stride": _stride(a.stride), "stride_layer": a.stride_layer,
            "range": list(a.range) if a.range else None, "exact": a.exact,
            "within": list(a.within) if a.within else None, "scanned": dict(a.scanned), "why": dict(a.why)}


def as_dict(r) -> dict:
    out = {"version": SIZES_SCHEMA_VERSION, "name": r.name, "input": list(r.input_shape),
           "axes": [a.axis for a in r.axes]}
    out.update((a.axis, axis_dict(a)) for a in r.axes)
    out["fits_own_size"] = not r.own_size
    out["own_size_problems"] = [{"layer": layer, "message": m} for layer, m in r.own_size]
    out["declared"] = [{"size": list(d.size), "fits": not d.problems,
                        "problems": [{"layer": layer, "message": m} for layer, m in d.problems]}
                       for d in r.declared]
    return out


def json_text(r) -> str:
    return safe_json(json.dumps(as_dict(r), indent=2, ensure_ascii=True)) + "\n"


def text(r, path: str = "") -> str:
    shape = "x".join(map(str, r.input_shape))
    head = safe_text(r.name) + (f" ({safe_text(path)})" if path else "")
    held = ("" if len(r.axes) == 1 else "; each axis with the other at the file's size" if len(r.axes) == 2
            else "; each axis with the others at the file's size")
    lines = [f"{head}: input {shape}{held}"]
    width = max(len(a.axis) for a in r.axes)
    for a in r.axes:
        line = f"{a.axis:<{width}}  {a.rule.text()}"
        facts = []
        if a.min is not None:
            facts.append(f"smallest {a.min}")
        if a.loads_from is not None and a.loads_from != a.min:
            facts.append(f"loads from {a.loads_from}, dropping rows")
        if a.stride is not None:
            facts.append(f"total stride {_stride(a.stride)} (at {safe_text(a.stride_layer)})")
        lines.append(line + ("; " + "; ".join(facts) if facts else ""))
        if a.within:
            lines.append(f"{'':<{width}}  within {a.within[0]}:{a.within[1]} only: "
                         + "; ".join(f"{safe_text(k)} scanned ({safe_text(v)})" for k, v in a.scanned.items()))
        if a.range:
            lines.append(f"{'':<{width}}  in {a.range[0]}:{a.range[1]}: {_listed(a.exact)}")
        if a.rule.empty or (a.range and not a.exact):
            for _, why in list(a.why.items())[:SHOWN_REASONS]:
                lines.append(f"{'':<{width}}  stops at {safe_text(why)}")
    if r.own_size:
        lines.append(f"the file's own size {'x'.join(map(str, r.input_shape[1:]))} does not fit: "
                     + safe_text(r.own_size[0][1]))
    if r.declared:
        lines.append("declared sizes:")
        for d in r.declared:
            size = "x".join(map(str, d.size))
            lines.append(f"  {size}  " + ("fits" if not d.problems else
                                          "does not fit: " + safe_text(d.problems[0][1])
                                          + (f" (and {len(d.problems) - 1} more)" if len(d.problems) > 1 else "")))
    return "\n".join(lines) + "\n"


FORMATS = {"text": text, "json": lambda r, path="": json_text(r)}
