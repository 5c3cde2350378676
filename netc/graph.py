"""The expanded network: nodes with their source spans, in topological order."""

from __future__ import annotations

from dataclasses import dataclass, field

from .diagnostics import Span
from .ops.registry import Shape


@dataclass
class Node:
    """One layer after expansion: an op with complete, checked parameters."""

    name: str                       # unique, dotted through block instances: "layer1.0.conv1"
    op: str
    params: dict
    inputs: list[str]               # producer node names, or the graph input's name
    span: Span                      # the layer's op key in the file
    param_spans: dict[str, Span] = field(default_factory=dict)
    trace: tuple[tuple[str, Span], ...] = ()   # enclosing block uses, outermost first
    block: str | None = None        # the block this layer was written in
    origin: Span | None = None      # where a node read from ONNX was built from (its FILE:LINE)
    origin_note: str = ""           # what the origin note says ('' : the default wording)
    aliases: tuple[str, ...] = ()   # other names of a layer read from ONNX: its node, its PyTorch module
    torch_scope: tuple[str, str] = ()   # a dynamo export's (module path, FX node name), for netc import

    def param_span(self, name: str | None) -> Span:
        return self.param_spans.get(name, self.span) if name else self.span


UNREAD_TYPES_SHOWN = 8   # unread op types that E011 and a partial summary name (then a count)

ACTIVATION_OPS = ("relu", "relu6", "leaky_relu", "sigmoid", "tanh")
SEE_THROUGH = ("batchnorm", "dropout", "add")   # between a layer and its activation: normalization,
                                                # dropout, and a residual branch's sum


def activation_after(node: Node, consumers: dict[str, list[str]], by_name) -> str:
    """The activation a weighted layer's result meets: its fused ``activation``, else the
    activation op reached along single-consumer edges through batchnorm, dropout and
    add (conv -> batchnorm -> add -> relu in a ResNet unit); 'none' when there is none."""
    act = node.params.get("activation", "none")
    if act != "none":
        return act
    name = node.name
    for _ in range(64):
        nxt = consumers.get(name, [])
        if len(nxt) != 1:
            return "none"
        follower = by_name(nxt[0])
        if follower.op in ACTIVATION_OPS:
            return follower.op
        if follower.op not in SEE_THROUGH:
            return "none"
        name = follower.name
    return "none"


@dataclass
class Graph:
    """A network: one input, nodes in topological order, named outputs."""

    name: str
    input_name: str
    input_shape: Shape
    input_span: Span
    nodes: list[Node]
    outputs: list[str]
    source: object = None           # the netc.source.Source it came from
    blocks_defined: dict[str, Span] = field(default_factory=dict)
    blocks_used: set[str] = field(default_factory=set)
    params_declared: dict[tuple, Span] = field(default_factory=dict)  # ("params", k), ("blocks", b, "params", k)
    params_read: set[tuple] = field(default_factory=set)              # those an expression read
    unread: object = None           # an ONNX model read in part: the E011 Diagnostic
    unread_ops: dict = field(default_factory=dict)   # op type -> names of its unread nodes, most first
    unread_after: int = 0           # nodes after those, of types netc reads: not reached
    warnings: list = field(default_factory=list)     # Diagnostics of reading (an ONNX model's bad UTF-8)
    sides_read: frozenset = frozenset()   # 'height', 'width': sides an expression read (NAME.height)
    params_given: dict = field(default_factory=dict)   # the params: overrides it was expanded with
    instance_params: dict = field(default_factory=dict)   # block instance name -> {param: value}

    def node(self, name: str) -> Node:
        return self._index()[name]

    def _index(self) -> dict[str, Node]:
        index = self.__dict__.get("_by_name")
        if index is None or len(index) != len(self.nodes):
            index = self.__dict__["_by_name"] = {n.name: n for n in self.nodes}
        return index

    def consumers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {self.input_name: []}
        for n in self.nodes:
            out.setdefault(n.name, [])
            for i in n.inputs:
                out.setdefault(i, []).append(n.name)
        return out
