"""The lowering context: what ``Op.lower(p, ctx)`` sees for one layer.

An op's ``lower`` emits ONNX nodes for one layer and returns the name of the
tensor that holds the layer's result::

    def lower(self, p, ctx):
        w = ctx.weight("weight", (k, c, kh, kw), resolve(p["init"], p["activation"]), fan_in, fan_out)
        y = ctx.node("Conv", [ctx.input, w], kernel_shape=[kh, kw], pads=ctx.pads())
        return lower_activation(ctx, y, p["activation"])

The builder then gives that tensor the layer's name (so tensor names are the
YAML layer names), names the layer's first node after the layer and the others
``LAYER/OpType``, and stamps every node's ``doc_string`` with ``FILE:LINE``.
A layer that computes nothing at inference (dropout) returns ``ctx.input``.

This module imports neither onnx nor numpy; the builder it talks to does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis import LayerReport
    from ..ops.registry import Shape, Window


class LoweringContext:
    """One layer's view of the graph being built.

    name       the layer name (its result tensor will carry it)
    inputs     ONNX tensor names of the layer's inputs, in the YAML order
    in_shapes  netc shapes of the inputs, without the batch dimension
    out_shape  netc shape of the result, without the batch dimension
    windows    one ``Window`` per spatial axis of sliding-window ops, else None
    opset      the ONNX opset being built (netc.onnx.MIN_OPSET to MAX_OPSET):
               an op picks the single node where the opset has it, an exact
               decomposition below (e.g. HardSwish from opset 14)
    activation the activation the layer's result meets (``netc.graph.activation_after``)
    """

    def __init__(self, builder, report: "LayerReport", inputs: list[str], in_shapes: list["Shape"]):
        self._builder = builder
        self.name: str = report.name
        self.inputs: list[str] = inputs
        self.in_shapes: list["Shape"] = in_shapes
        self.out_shape: "Shape" = report.output_shape
        self.windows: list["Window"] | None = report.windows
        self.opset: int = builder.opset
        self.activation: str = builder.activation_after(report.node)   # what ``init: auto`` pairs with

    @property
    def input(self) -> str:
        """The first (for most ops, the only) input tensor."""
        return self.inputs[0]

    def pads(self) -> list[int]:
        """Explicit ONNX ``pads`` [begin..., end...] from the layer's windows (2-D: [top,
        left, bottom, right])."""
        return [w.pad_begin for w in self.windows] + [w.pad_end for w in self.windows]

    def node(self, op_type: str, inputs: Sequence[str], **attrs) -> str:
        """Emit one ONNX node of the default domain; return the name of its output."""
        return self._builder.add_node(self.name, op_type, list(inputs), attrs)

    def weight(self, suffix: str, shape: tuple[int, ...], init, fan_in: int = 1,
               fan_out: int = 1) -> str:
        """Add an initializer ``LAYER.SUFFIX`` drawn from ``init`` (a resolved scheme of
        netc/initializers.py, e.g. "he_normal", "zeros", {"constant": 1}); return its name.
        Every initializer element counts as one parameter of the layer."""
        return self._builder.add_weight(self.name, suffix, tuple(shape), init, fan_in, fan_out)

    def constant(self, suffix: str, value, dtype: str | None = None) -> str:
        """A scalar, or a (nested) list as a tensor, of the graph's element type or of
        ``dtype`` ("int64" for shapes and indices, "float32" for Resize scales), as a
        Constant node (not an initializer, so it is not counted as a parameter); return
        its tensor name."""
        return self._builder.add_constant(self.name, suffix, value, dtype)

    def int_constant(self, suffix: str, values: Sequence[int]) -> str:
        """A 1-D int64 tensor (axes, shapes) as a Constant node; return its tensor name."""
        return self._builder.add_int_constant(self.name, suffix, [int(v) for v in values])
