"""What a drawing shows: the network input and one item per layer, or per block
rolled up to a depth (netc/rollup.py), with the edges between items, labels and
the lint findings that concern each item. Both views draw from this.

Joins are told apart, so that a picture never calls a gate or a concatenation a
residual: an ``add`` is a *residual* join when one operand is a shortcut (the
tensor itself or a projection of it, at most ``PROJECTION_STEPS`` single-input
layers back) taken from a tensor that also feeds another path, else a *sum*;
a ``mul`` is a *gate* (squeeze-excitation, attention); a ``concat`` a *concat*.
Each edge between items carries the kind of the join it leads to, so a U-Net's
skip reads as one that concatenates. Shapes are written channels first, as every
other output writes them (docs/conventions.md)."""

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

# The kinds of join, in the order a legend lists them: colour, dash pattern of an edge
# that leads to one, and the words of the legend.
JOINS = {
    "residual": ("#2c7a7b", None, "residual add: a shortcut (identity or projection) summed with its branch"),
    "sum": ("#2c7a7b", "1 3", "add of two paths that share no shortcut"),
    "gate": ("#c0392b", "2 2", "gate: a map multiplied by weights computed from it (squeeze-excitation)"),
    "concat": ("#7b5ea7", "6 3", "concat: maps stacked along the channels"),
}
PROJECTION_STEPS = 3        # a projection shortcut: conv, batchnorm, a pool (ResNet-D) before the add
ONWARD_STEPS = 4            # how far an edge is followed to the join it feeds, through PASS_ON ops
PASS_ON = frozenset({"crop", "pad", "slice", "upsample", "identity", "dropout", "flatten"})   # move data, compute nothing


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
    joins: list[str] = field(default_factory=list)     # the kinds of join inside it (JOINS), in order
    edge_kinds: dict[str, str] = field(default_factory=dict)   # input item -> the join that input feeds

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
    def has_residual(self) -> bool:
        """Whether a block holds a residual add (the small arc over it in the volume view)."""
        return self.kind == "block" and "residual" in self.joins

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
            return f"{self.op} · {block_size_text(self.report)}"
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
    """``128×56×56``: channels first, as the text, CSV and JSON outputs write ``(128, 56, 56)``
    and PyTorch a tensor's size (a 1-D or 3-D map likewise); ``4096`` for a vector; ``1``
    for one number per sample."""
    return "×".join(map(str, shape)) or "1"


def count_text(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def size_text(blocks: int, layers: int) -> str:
    """``3 blocks, 32 layers`` (the block uses directly inside, then every layer), or ``8 layers``:
    a size, never a repeat count."""
    return f"{count_text(blocks, 'block')}, {count_text(layers, 'layer')}" if blocks else count_text(layers, "layer")


def block_size_text(r: LayerReport | None) -> str:
    """The size of a rolled-up block use: its direct block uses and its layers."""
    if not isinstance(r, BlockReport):
        return count_text(1, "layer")
    level = len(r.node.trace) + 1               # the trace entry of a block use directly inside
    inner = {m.node.trace[level][0] for m in r.layers if len(m.node.trace) > level}
    return size_text(len(inner), len(r.layers))


def label(item: Item) -> str:
    """The one-line label: ``conv3 · 3×3/2 · 128×56×56``."""
    parts = [item.name]
    if item.kind == "block":
        parts.append(f"{item.op} · {block_size_text(item.report)}")
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
    _joins(a, out)
    return out


def join_kinds(a: Analysis) -> dict[str, str]:
    """Layer name -> the kind of join it is (JOINS), for every add, mul and concat."""
    producers = {r.name: r for r in a.layers}
    consumers = a.graph.consumers()
    out = {}
    for r in a.layers:
        if r.op == "concat":
            out[r.name] = "concat"
        elif r.op == "mul":
            out[r.name] = "gate"
        elif r.op == "add":
            out[r.name] = "residual" if any(_shortcut(i, producers, consumers) for i in r.node.inputs) else "sum"
    return out


def _shortcut(name: str, producers: dict, consumers: dict) -> bool:
    """Whether ``name`` is a tensor that also feeds another path, or a projection of one
    (at most PROJECTION_STEPS single-input layers after it)."""
    for _ in range(PROJECTION_STEPS + 1):
        if len(consumers.get(name, ())) > 1:
            return True
        r = producers.get(name)
        if r is None or len(r.node.inputs) != 1:
            return False
        name = r.node.inputs[0]
    return False


def _joins(a: Analysis, its: list[Item]) -> None:
    """Set each item's joins and the join kind of each of its inputs: one pass over the
    layers and their edges, each edge followed at most ONWARD_STEPS layers on."""
    kinds = join_kinds(a)
    consumers = a.graph.consumers()
    inputs = {r.name: r.node.inputs for r in a.layers}
    ops = {r.name: r.op for r in a.layers}
    owner = {layer: it.name for it in its for layer in it.layers}

    def onward(name: str) -> str | None:
        for _ in range(ONWARD_STEPS):
            if name in kinds:
                return kinds[name]
            nxt = consumers.get(name, ())
            if ops.get(name) not in PASS_ON or len(nxt) != 1:
                return None
            name = nxt[0]
        return kinds.get(name)

    for it in its:
        seen = []
        for layer in it.layers:
            k = kinds.get(layer)
            if k and k not in seen:
                seen.append(k)
            for i in inputs.get(layer, ()):
                src = owner.get(i, i)
                if src != it.name and src not in it.edge_kinds:
                    k = onward(layer)
                    if k:
                        it.edge_kinds[src] = k
        it.joins = [k for k in JOINS if k in seen]


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


def finding_layers(d: Diagnostic) -> list[str]:
    """Every layer a finding holds for: its own, and those of the other block instances
    it was merged with (the same rule at the same place of one block)."""
    return ([d.layer] if d.layer else []) + d.instances


def attach(its: list[Item], findings: list[Diagnostic]) -> list[Footnote]:
    """Number the findings and mark each on every item holding one of its layers."""
    owner = {layer: it for it in its for layer in it.layers}
    notes = []
    for n, d in enumerate(findings, 1):
        marked = []
        for layer in finding_layers(d):
            it = owner.get(layer)
            if it is not None and all(it is not m for m in marked):
                marked.append(it)
        note = Footnote(n, d, marked[0].name if marked else None)
        for it in marked:
            it.marks.append(note)
        notes.append(note)
    return notes


def footnote_text(f: Footnote) -> str:
    d = f.diagnostic
    where = f"{d.span.line}:{d.span.col} " if d.span else ""
    layer = f"{d.layer}: " if d.layer and not d.message.startswith(d.layer) else ""
    return f"[{f.number}] {d.code} {d.severity} {where}{layer}{d.message}{also_text(d)}"


def also_text(d: Diagnostic, shown: int = 3) -> str:
    """`` (also layer3.x, layer4.x)``: the other block instances a merged finding holds for."""
    if not d.instances:
        return ""
    more = len(d.instances) - shown
    return f" (also {', '.join(d.instances[:shown])}{f' and {more} more' if more > 0 else ''})"
