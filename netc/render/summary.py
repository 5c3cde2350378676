"""Renderers for summaries: text, json, markdown, csv. Computing lives elsewhere;
these only format an Analysis and a Memory.

Human units are SI (1 MB = 10^6 bytes, as the paper's tables use); JSON carries
exact integers.

Names (the graph's, its layers', the file's, unread op types) are shown through
``safe_text`` (netc/safe_text.py): one visible line each, in every format; markdown also
escapes what would end a table cell or open markup (``|``, ``<``, ``[``, backticks), and
JSON carries the names themselves (``safe_json``).
"""

from __future__ import annotations

import itertools
import json
import math

from ..analysis import Analysis, LayerReport
from ..graph import UNREAD_TYPES_SHOWN
from ..memory import DTYPE_BYTES, Memory
from ..ops.registry import fmt_shape, numel
from ..safe_text import safe_json, safe_text

SUMMARY_SCHEMA_VERSION = 1


def human_bytes(n: int) -> str:
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def human_count(n: int) -> str:
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


EXACT_DIGITS = 30          # receptive fields longer than this print rounded: ≈1.23e45
JSON_EXACT_BITS = 13_000  # about 3,900 digits: JSON carries exact integers up to here


def approx(n: int) -> str:
    """``n`` rounded to three digits, '≈1.23e4771', without converting it to decimal."""
    shift = max(0, n.bit_length() - 64)
    log = math.log10(n >> shift) + shift * math.log10(2)
    exponent = math.floor(log)
    mantissa = 10 ** (log - exponent)
    if mantissa >= 9.995:
        mantissa, exponent = 1.0, exponent + 1
    return f"≈{mantissa:.2f}e{exponent}"


def big(n: int) -> str:
    """An exact integer, or rounded (``approx``) past ``EXACT_DIGITS`` digits."""
    return str(n) if abs(n) < 10**EXACT_DIGITS else approx(n)


def json_int(n: int):
    """An exact integer for JSON, or the ``approx`` string past about 3,900 digits."""
    return n if n.bit_length() <= JSON_EXACT_BITS else approx(n)


def rounded_fields(a: Analysis) -> bool:
    return any(r.field is not None and any(big(v).startswith("≈") for v in r.field.size + r.field.jump)
               for r in a.layers)


def field_text(r: LayerReport) -> str:
    if r.field is None:
        return "-"
    size, jump = [big(v) for v in r.field.size], [big(v) for v in r.field.jump]
    return f"{_axes_text(size)} /{_axes_text(jump)}"


def _axes_text(values: list[str]) -> str:
    """One value per spatial axis: written once when every axis has it, else joined by x."""
    return values[0] if len(set(values)) == 1 else "x".join(values)


def _rows(a: Analysis, mem: Memory):
    size = mem.batch * _dtype_bytes(mem)
    yield ("input", "input", fmt_shape(a.input_shape), 0, 0,
           numel(a.input_shape) * size, "1 /1" if 2 <= len(a.input_shape) <= 4 else "-")
    for r in a.layers:
        yield (r.name, r.op, fmt_shape(r.output_shape), r.params, r.macs, r.activations * size,
               field_text(r))


def _dtype_bytes(mem: Memory) -> int:
    return DTYPE_BYTES[mem.dtype]


def incomplete(a: Analysis) -> dict | None:
    """What an ONNX model read in part (``netc.load(path, partial=True)``) left unread, or
    None: every unread op type with its count and first node names. Its totals are then
    lower bounds: the unread nodes are not counted, never counted as zero."""
    g = a.graph
    if getattr(g, "unread", None) is None:
        return None
    full = getattr(a, "full", None) or a
    return {
        "code": g.unread.code, "reason": g.unread.message,
        "unread_nodes": sum(len(names) for names in g.unread_ops.values()),
        "unread_op_types": len(g.unread_ops),
        "op_types": [{"op_type": t, "count": len(names), "first_nodes": names[:FIRST_NODES]}
                     for t, names in itertools.islice(g.unread_ops.items(), UNREAD_TYPES_SHOWN)],
        "nodes_after": g.unread_after, "layers_read": len(full.layers),
    }


FIRST_NODES = 3   # node names listed per unread op type


def incomplete_text(inc: dict) -> str:
    """The one sentence saying why the totals are incomplete."""
    n, kinds, n_kinds = inc["unread_nodes"], inc["op_types"], inc["unread_op_types"]
    types = ", ".join(f"{safe_text(k['op_type'])} x{k['count']}: "
                      + ", ".join(f"'{safe_text(x)}'" for x in k["first_nodes"])
                      + (" ..." if k["count"] > len(k["first_nodes"]) else "") for k in kinds)
    if n_kinds > len(kinds):
        more = n_kinds - len(kinds)
        types += f" and {more:,} more op type{'s' if more > 1 else ''}"
    after, k = inc["nodes_after"], inc["layers_read"]
    after = (f", and {after:,} node{'s' if after > 1 else ''} after {'them' if n > 1 else 'it'} "
             f"{'were' if after > 1 else 'was'} not reached") if after else ""
    cover = (f"the counts below cover the {k} layer{'s' if k != 1 else ''} read and are lower bounds (≥)"
             if k else "no layer of the model could be read, so nothing below counts it but its input")
    return (f"Totals are incomplete: {n:,} node{'s' if n > 1 else ''} of {n_kinds:,} op type"
            f"{'s' if n_kinds > 1 else ''} ({types}) {'were' if n > 1 else 'was'} not read{after}; "
            f"{cover}.")


HEADERS = ("Layer", "Op", "Output shape", "Params", "MACs", "Activations", "Receptive field")


def text(a: Analysis, mem: Memory, device_bytes: int | None = None) -> str:
    rows = [(safe_text(n), safe_text(op), shape, f"{p:,}", f"{m:,}", human_bytes(act), rf)
            for n, op, shape, p, m, act, rf in _rows(a, mem)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    right = {3, 4, 5}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(line(HEADERS))
    t, g = a.totals, a.graph
    inc = incomplete(a)
    ge = "≥ " if inc else ""
    out = [f"{safe_text(g.name)}  ({safe_text(g.source.path) if g.source else ''})",
           *([incomplete_text(inc)] if inc else []),
           rule, line(HEADERS), rule]
    out += [line(r) for r in rows]
    out += [rule,
            f"Params:          {ge}{t.params:,} (trainable {ge}{t.trainable_params:,}, "
            f"non-trainable {ge}{t.non_trainable_params:,})",
            f"MACs:            {ge}{t.macs:,} ({human_count(t.macs)}) per sample",
            f"FLOPs:           {ge}{t.flops:,} ({human_count(t.flops)}) per sample",
            f"Activations:     {ge}{t.activations:,} elements per sample",
            *(["Receptive fields past 10^30 pixels are shown rounded (≈)."] if rounded_fields(a) else []),
            rule,
            f"Memory (batch {mem.batch}, {mem.dtype}, {mem.optimizer})"
            f"{', lower bounds (incomplete)' if inc else ''}:",
            f"  parameters       {human_bytes(mem.parameters):>10}",
            f"  gradients        {human_bytes(mem.gradients):>10}",
            f"  optimizer state  {human_bytes(mem.optimizer_state):>10}",
            f"  saved activations{human_bytes(mem.saved_activations):>11}",
            f"  backward working {human_bytes(mem.backward_working):>10}",
            f"  training total   {human_bytes(mem.training):>10}",
            f"  inference peak   {human_bytes(mem.inference):>10}"]
    if device_bytes is not None:
        train, infer = mem.max_batch(device_bytes)
        out.append(f"Largest batch in {human_bytes(device_bytes)}: training {train:,}, "
                   f"inference {infer:,}")
    return "\n".join(out) + "\n"


def as_dict(a: Analysis, mem: Memory, device_bytes: int | None = None) -> dict:
    """The stable JSON form documented in docs/summary-json.md."""
    size = DTYPE_BYTES[mem.dtype]
    t, g = a.totals, a.graph
    layers = []
    for r in a.layers:
        layers.append({
            "name": r.name, "op": r.op, "inputs": list(r.node.inputs),
            "output_shape": list(r.output_shape),
            "params": r.params, "trainable_params": r.trainable, "macs": r.macs, "flops": r.flops,
            "activations": r.activations, "activation_bytes": r.activations * size * mem.batch,
            "receptive_field": None if r.field is None else
            {"size": [json_int(v) for v in r.field.size], "jump": [json_int(v) for v in r.field.jump]},
            "windows": None if not r.windows else [
                {"size": w.size, "kernel": w.kernel, "stride": w.stride, "padding": [w.pad_begin, w.pad_end],
                 "dilation": w.dilation, "out": w.out, "exact": w.exact, "remainder": w.remainder,
                 "dropped": w.dropped, "skipped": w.skipped,
                 **({"output_padding": w.output_padding} if hasattr(w, "output_padding") else {})}
                for w in r.windows],
            "source": _source(r.node.span),
        })
        if hasattr(r, "layers"):  # a block rolled up by ``summary --depth`` (netc/rollup.py)
            layers[-1].update(kind="block", layer_count=len(r.layers))
    memory = {
        "batch": mem.batch, "dtype": mem.dtype, "optimizer": mem.optimizer,
        "parameter_bytes": mem.parameters, "gradient_bytes": mem.gradients,
        "optimizer_bytes": mem.optimizer_state, "saved_activation_bytes": mem.saved_activations,
        "backward_working_bytes": mem.backward_working, "training_bytes": mem.training,
        "inference_activation_bytes": mem.inference_activations, "inference_bytes": mem.inference,
    }
    if device_bytes is not None:
        train, infer = mem.max_batch(device_bytes)
        memory["device_bytes"] = device_bytes
        memory["max_batch"] = {"training": train, "inference": infer}
    inc = incomplete(a)
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "name": g.name,
        "file": g.source.path if g.source else None,
        "input": {"name": g.input_name, "shape": list(g.input_shape)},
        "outputs": list(g.outputs),
        **({"depth": a.depth} if getattr(a, "depth", 0) else {}),
        "layers": layers,
        "totals": {"params": t.params, "trainable_params": t.trainable_params,
                   "non_trainable_params": t.non_trainable_params, "macs": t.macs, "flops": t.flops,
                   "activations": t.activations, "param_bytes": t.params * size,
                   "activation_bytes": t.activations * size * mem.batch,
                   **({"lower_bound": True} if inc else {})},
        "memory": {**memory, **({"lower_bound": True} if inc else {})},
        **({"incomplete": inc} if inc else {}),
    }


def _source(span) -> dict:
    """FILE, LINE and COLUMN; a node of a binary model has null line and column and a ``where``."""
    if not span.line:
        return {"file": span.file, "line": None, "column": None, "where": span.where}
    return {"file": span.file, "line": span.line, "column": span.col}


def json_text(a: Analysis, mem: Memory, device_bytes: int | None = None) -> str:
    return safe_json(json.dumps(as_dict(a, mem, device_bytes), indent=2)) + "\n"


_MARKUP = str.maketrans({c: "\\" + c for c in "\\|`[]<>"})


def markdown_text(text) -> str:
    """``text`` in a markdown table cell or heading: ``safe_text``, then a backslash before
    what would end the cell or open a link, an HTML tag or a code span."""
    return safe_text(text).translate(_MARKUP)


def markdown(a: Analysis, mem: Memory, device_bytes: int | None = None) -> str:
    inc = incomplete(a)
    ge = "≥ " if inc else ""
    out = [f"### {markdown_text(a.graph.name)}", "",
           *([f"> **{markdown_text(incomplete_text(inc))}**", ""] if inc else []),
           "| " + " | ".join(HEADERS) + " |",
           "|" + "|".join("---:" if i in (3, 4, 5) else "---" for i in range(len(HEADERS))) + "|"]
    for n, op, shape, p, m, act, rf in _rows(a, mem):
        out.append(f"| {markdown_text(n)} | {markdown_text(op)} | {shape} | {p:,} | {m:,} | {human_bytes(act)} | {rf} |")
    t = a.totals
    out.append(f"| **total{' (incomplete)' if inc else ''}** | | | **{ge}{t.params:,}** | **{ge}{t.macs:,}** | "
               f"**{ge}{human_bytes(t.activations * _dtype_bytes(mem) * mem.batch)}** | |")
    out += ["", f"Trainable params {ge}{t.trainable_params:,}; FLOPs {ge}{t.flops:,}; "
            f"training memory {ge}{human_bytes(mem.training)} and inference memory "
            f"{ge}{human_bytes(mem.inference)} at batch {mem.batch}, {mem.dtype}, {mem.optimizer}."]
    if rounded_fields(a):
        out.append("Receptive fields past 10^30 pixels are shown rounded (≈).")
    if device_bytes is not None:
        train, infer = mem.max_batch(device_bytes)
        out.append(f"Largest batch in {human_bytes(device_bytes)}: training {train:,}, inference {infer:,}.")
    return "\n".join(out) + "\n"


def csv_text(a: Analysis, mem: Memory, device_bytes: int | None = None) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    inc = incomplete(a)
    if inc:     # a comment line before the header: pandas ``comment="#"``, R ``comment.char``
        buf.write("# " + incomplete_text(inc).replace("the counts below", "the rows below") + "\n")
    w.writerow(["name", "op", "output_shape", "params", "trainable_params", "macs", "flops",
                "activations", "activation_bytes", "receptive_field", "jump"])
    size = _dtype_bytes(mem) * mem.batch
    for r in a.layers:
        rf = "" if r.field is None else "x".join(map(big, r.field.size))
        jump = "" if r.field is None else "x".join(map(big, r.field.jump))
        w.writerow([safe_text(r.name), safe_text(r.op), "x".join(map(str, r.output_shape)), r.params, r.trainable, r.macs,
                    r.flops, r.activations, r.activations * size, rf, jump])
    return buf.getvalue()


# netc summary's fifth format, html, is netc/draw/html.py's report: it draws and lints,
# on a floor above these renderers (netc.draw.html.SUMMARY_FORMATS holds all five)
FORMATS = {"text": text, "json": json_text, "markdown": markdown, "csv": csv_text}
