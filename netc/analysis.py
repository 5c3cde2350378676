"""Per-layer analysis: output shape, parameters, MACs, FLOPs, activations and
receptive field, exactly, in Python integers, one op rule at a time.

Conventions (docs/conventions.md): counts are per sample; ``macs`` counts the
multiply-accumulates of conv and dense layers with bias excluded; ``flops``
follows each op's documented cost rule; ``params`` includes non-trainable
buffers (batchnorm running statistics), ``trainable_params`` does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field

from .diagnostics import SHAPE, Diagnostic, NetcError
from .graph import Graph, Node
from .ops import OPS, Field, ShapeError
from .ops.registry import Shape, Window, fmt_shape, numel


@dataclass
class LayerReport:
    """The analysis of one node."""

    node: Node
    output_shape: Shape
    params: int              # trainable + buffers
    buffers: int             # non-trainable
    macs: int
    flops: int
    field: Field | None      # receptive field; None for a network whose input is a vector
    windows: list[Window] | None
    name: str = _field(init=False, repr=False, compare=False)   # the node's, read by every rule
    op: str = _field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self.name, self.op = self.node.name, self.node.op

    @property
    def trainable(self) -> int:
        return self.params - self.buffers

    @property
    def activations(self) -> int:
        """Elements of the output tensor, per sample."""
        return numel(self.output_shape)


@dataclass
class Totals:
    params: int
    trainable_params: int
    macs: int
    flops: int
    activations: int         # sum of every layer's output elements (input excluded), per sample

    @property
    def non_trainable_params(self) -> int:
        return self.params - self.trainable_params


@dataclass
class Analysis:
    graph: Graph
    layers: list[LayerReport]
    totals: Totals

    @property
    def input_shape(self) -> Shape:
        return self.graph.input_shape

    def layer(self, name: str) -> LayerReport:
        for r in self.layers:
            if r.name == name:
                return r
        raise KeyError(name)

    def shapes(self) -> dict[str, Shape]:
        out = {self.graph.input_name: self.graph.input_shape}
        out.update((r.name, r.output_shape) for r in self.layers)
        return out


def analyze(graph: Graph) -> Analysis:
    """Run every node's shape, cost and receptive-field rules in topological order."""
    shapes: dict[str, Shape] = {graph.input_name: graph.input_shape}
    fields: dict[str, Field | None] = {graph.input_name: Field.start(graph.input_shape)}
    layers = []
    for node in graph.nodes:
        op = OPS[node.op]
        ins = [shapes[i] for i in node.inputs]
        try:
            if op.per_channel and ins and not ins[0]:
                raise ShapeError(f"{op.name} works per channel: it needs a tensor with channels, "
                                 "not one number per sample ()")
            out = op.infer(node.params, ins)
        except ShapeError as e:
            raise _shape_error(node, e, ins) from None
        if any(d <= 0 for d in out.shape):  # pragma: no cover - slide() refuses first
            raise _shape_error(node, ShapeError(f"output shape {fmt_shape(out.shape)}"), ins)
        cost = op.cost(node.params, ins, out)
        field = op.field(node.params, ins, [fields[i] for i in node.inputs], out)
        shapes[node.name], fields[node.name] = out.shape, field
        layers.append(LayerReport(node, out.shape, cost.params + cost.buffers, cost.buffers,
                                  cost.macs, cost.flops, field, out.windows))
    params = sum(r.params for r in layers)
    totals = Totals(params, params - sum(r.buffers for r in layers), sum(r.macs for r in layers),
                    sum(r.flops for r in layers), sum(r.activations for r in layers))
    return Analysis(graph, layers, totals)


def _shape_error(node: Node, e: ShapeError, ins: list[Shape]) -> NetcError:
    msg = f"{node.name}: {e}"
    if len(ins) > 1:
        msg += " (inputs: " + ", ".join(f"{n} {fmt_shape(s)}" for n, s in zip(node.inputs, ins)) + ")"
    elif ins:
        msg += f" (input {fmt_shape(ins[0])})"
    notes = [(use, f"in block instance '{inst}'") for inst, use in reversed(node.trace)]
    return NetcError(Diagnostic(msg, node.param_span(e.param), SHAPE, layer=node.name, notes=notes))
