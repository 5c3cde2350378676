"""Roll layers up into blocks, as torchinfo's ``depth`` does: at depth N every
layer nested in N or more block uses is counted in its N-th enclosing block use.

A block use is an entry of ``Node.trace`` (outermost first), so the group of a
node at depth N is ``trace[N-1]`` when ``len(trace) >= N``, else the node itself.
Expansion is depth first, so a block's layers are contiguous and the groups keep
the layers' topological order. Sums are exact: a block's params, MACs, FLOPs and
activations are the sums over its layers; its output is its last layer's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .analysis import Analysis, LayerReport
from .diagnostics import Span
from .graph import Node


@dataclass
class BlockReport(LayerReport):
    """A block use rolled up: a LayerReport whose counts are sums over ``layers``; its
    ``op`` is the block's name in the file ("bottleneck")."""

    layers: list[LayerReport] = field(default_factory=list)

    @property
    def activations(self) -> int:
        """Elements of every layer output inside the block, per sample."""
        return sum(r.activations for r in self.layers)


@dataclass
class RolledAnalysis(Analysis):
    """An Analysis whose ``layers`` are layers and blocks at ``depth``; totals unchanged."""

    depth: int = 0
    full: Analysis | None = None


def group_key(node: Node, depth: int) -> str:
    """The name of the row that holds ``node`` at ``depth``: its depth-th block use, or itself."""
    return node.trace[depth - 1][0] if depth >= 1 and len(node.trace) >= depth else node.name


def block_name(span: Span, lines: list[str] | None) -> str:
    """The block a use names: the key its span covers in the source ``lines``."""
    if lines is None or span.end_col is None or span.end_line not in (None, span.line):
        return "block"
    if not 0 < span.line <= len(lines):
        return "block"
    return lines[span.line - 1][span.col - 1:span.end_col - 1] or "block"


def rollup(a: Analysis, depth: int) -> RolledAnalysis:
    """The analysis with every block use nested ``depth`` deep or more collapsed into one row."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    groups: dict[str, list[LayerReport]] = {}
    for r in a.layers:
        groups.setdefault(group_key(r.node, depth), []).append(r)
    owner = {r.name: key for key, members in groups.items() for r in members}
    text = getattr(a.graph.source, "text", None)
    lines = None if text is None else text.splitlines()
    rows: list[LayerReport] = []
    for key, members in groups.items():
        if len(members) == 1 and members[0].name == key:
            rows.append(_renamed_inputs(members[0], owner))
            continue
        rows.append(_block(key, members, owner, depth, lines))
    return RolledAnalysis(a.graph, rows, a.totals, depth, a)


def _renamed_inputs(r: LayerReport, owner: dict[str, str]) -> LayerReport:
    """The layer, with inputs from inside a rolled-up block named by that block."""
    inputs = [owner.get(i, i) for i in r.node.inputs]
    if inputs == r.node.inputs:
        return r
    return replace(r, node=replace(r.node, inputs=inputs))


def _block(key: str, members: list[LayerReport], owner: dict[str, str], depth: int,
           lines: list[str] | None) -> BlockReport:
    inputs: list[str] = []
    for r in members:
        for i in r.node.inputs:
            src = owner.get(i, i)
            if src != key and src not in inputs:
                inputs.append(src)
    first, last = members[0].node, members[-1]
    use_span = first.trace[depth - 1][1]
    name = block_name(use_span, lines)
    node = Node(key, name, {}, inputs, use_span, trace=first.trace[:depth - 1], block=name)
    params = sum(r.params for r in members)
    return BlockReport(node, last.output_shape, params, sum(r.buffers for r in members),
                       sum(r.macs for r in members), sum(r.flops for r in members), last.field, None,
                       members)
