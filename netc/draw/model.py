"""What a drawing shows: the network input and one item per layer, or per block
rolled up to a depth (netc/rollup.py), with the edges between items, labels and
the lint findings that concern each item. Both views draw from this."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..analysis import Analysis, LayerReport
from ..diagnostics import Diagnostic, Severity
from ..ops.registry import Shape
from ..rollup import BlockReport, rollup

# Fill colours by kind of op; blocks have their own. Severities colour findings.
COLOURS = {
    "input": "#b8c4d6", "conv": "#5b8fd0", "pool": "#e8a33d", "norm": "#c9cdd3", "activation": "#dde1e6",
    "dense": "#9b7fc6", "merge": "#5fae6e", "shape": "#d6d0c4", "block": "#4fa3a5",
}
SEVERITY_COLOURS = {Severity.ERROR: "#d62728", Severity.WARNING: "#e67e00", Severity.INFO: "#1f77b4"}


def category(op: str) -> str:
    if op == "input":
        return "input"
    if "conv" in op:
        return "conv"
    if "pool" in op:
        return "pool"
    if "norm" in op or op in ("dropout",):
        return "norm"
    if op in ("dense", "linear"):
        return "dense"
    if op in ("add", "concat", "mul"):
        return "merge"
    if op in ("flatten", "reshape"):
        return "shape"
    return "activation"


@dataclass
class Item:
    """One box: the input, a layer or a rolled-up block."""

    name: str
    op: str                          # the op, "input", or the block's name
    kind: str                        # "input", "layer" or "block"
    shape: Shape
    inputs: list[str]                # item names
    report: LayerReport | None = None
    layers: list[str] = field(default_factory=list)   # the layer names it stands for
    marks: list["Footnote"] = field(default_factory=list)

    @property
    def colour(self) -> str:
        return COLOURS["block" if self.kind == "block" else category(self.op)]

    @property
    def severity(self) -> Severity | None:
        return max((m.diagnostic.severity for m in self.marks), default=None)

    @property
    def layer_count(self) -> int:
        return len(self.layers)

    @property
    def has_merge(self) -> bool:
        """Whether a block holds an add or concat: a residual or a branching block."""
        return isinstance(self.report, BlockReport) and any(
            category(r.op) == "merge" for r in self.report.layers)

    @property
    def group(self) -> str | None:
        """The outermost block use this item sits in (None at top level)."""
        trace = self.report.node.trace if self.report is not None else ()
        if self.kind == "block":
            return self.name if not trace else trace[0][0]
        return trace[0][0] if trace else None

    @property
    def entry_windows(self):
        """The windows of the op that reads this item's input: the layer's own, or a
        block's first layer's (the kernel drawn on the map before)."""
        r = self.report
        if isinstance(r, BlockReport):
            r = r.layers[0]
        return r.windows if r is not None else None

    def window_text(self) -> str | None:
        """``3×3/2`` for sliding-window ops (``3×3/2 d2`` when dilated)."""
        ws = self.report.windows if self.report is not None else None
        if not ws:
            return None
        k = "×".join(str(w.kernel) for w in ws)
        strides = {w.stride for w in ws}
        s = str(ws[0].stride) if len(strides) == 1 else "×".join(str(w.stride) for w in ws)
        dil = {w.dilation for w in ws}
        return f"{k}/{s}" + ("" if dil == {1} else " d" + "×".join(str(w.dilation) for w in ws))

    def detail(self) -> str:
        """The second label line: the window, the block and its size, or the op."""
        if self.kind == "block":
            return f"{self.op} · {self.layer_count} layers"
        w = self.window_text()
        return f"{self.op} {w}" if w else self.op


def short_name(it: Item) -> str:
    """The name inside its top-level block, which the drawing labels once: ``branch1``
    inside ``inception3a``."""
    g = it.group
    if g and it.name.startswith(g + ".") and (it.kind != "block" or it.name != g):
        return it.name[len(g) + 1:]
    return it.name


def shape_text(shape: Shape) -> str:
    """``56×56×128`` (height × width × channels, as the paper writes maps; a 1-D or 3-D
    map likewise: length × channels, depth × height × width × channels), or ``4096``."""
    if 2 <= len(shape) <= 4:
        return "×".join(map(str, (*shape[1:], shape[0])))
    return "×".join(map(str, shape)) or "1"      # (): one number per sample


def label(item: Item) -> str:
    """The one-line label: ``conv3 · 3×3/2 · 56×56×128``."""
    parts = [item.name]
    if item.kind == "block":
        parts.append(f"{item.op} ×{item.layer_count}")
    elif item.window_text():
        parts.append(item.window_text())
    parts.append(shape_text(item.shape))
    return " · ".join(parts)


def items(a: Analysis, depth: int | None) -> list[Item]:
    """The input and the layers, or the layers and blocks at ``depth`` (None: every layer)."""
    g = a.graph
    rows = a.layers if depth is None else rollup(a, depth).layers
    out = [Item(g.input_name, "input", "input", g.input_shape, [], None, [])]
    for r in rows:
        if isinstance(r, BlockReport):
            out.append(Item(r.name, r.op, "block", r.output_shape, list(r.node.inputs), r,
                            [m.name for m in r.layers]))
        else:
            out.append(Item(r.name, r.op, "layer", r.output_shape, list(r.node.inputs), r, [r.name]))
    return out


def branches_widely(a: Analysis) -> bool:
    """More than two consumers of one tensor, or more than two inputs to one layer:
    inception modules, detector necks. Residual chains and U-Nets stay in volume view."""
    consumers = a.graph.consumers()
    return any(len(c) > 2 for c in consumers.values()) or any(len(r.node.inputs) > 2 for r in a.layers)


@dataclass
class Footnote:
    number: int
    diagnostic: Diagnostic
    item: str | None


def attach(its: list[Item], findings: list[Diagnostic]) -> list[Footnote]:
    """Number the findings and mark each on the item holding its layer."""
    owner = {layer: it for it in its for layer in it.layers}
    notes = []
    for n, d in enumerate(findings, 1):
        it = owner.get(d.layer) if d.layer else None
        note = Footnote(n, d, it.name if it else None)
        if it is not None:
            it.marks.append(note)
        notes.append(note)
    return notes


def footnote_text(f: Footnote) -> str:
    d = f.diagnostic
    where = f"{d.span.line}:{d.span.col} " if d.span else ""
    layer = f"{d.layer}: " if d.layer and not d.message.startswith(d.layer) else ""
    return f"[{f.number}] {d.code} {d.severity} {where}{layer}{d.message}"
