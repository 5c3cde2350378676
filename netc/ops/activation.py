"""Activation functions (§5.6): standalone ops, and the table that conv and
dense use for a fused ``activation:``.

FLOPs per output element (docs/conventions.md): relu 1 (max), relu6 2 (max,
min), leaky_relu 2 (multiply, max), sigmoid 4 (negate, exp, add, divide),
tanh 5 (multiply, exp, subtract, add, divide), softmax 5 (max, subtract, exp,
sum, divide).
"""

from __future__ import annotations

from .registry import Cost, Op, Param, numel, register

# name -> FLOPs per element
ACTIVATIONS: dict[str, int] = {
    "relu": 1,
    "relu6": 2,
    "leaky_relu": 2,
    "sigmoid": 4,
    "tanh": 5,
}
FUSED_CHOICES = ("none", *ACTIVATIONS)


def fused_param() -> Param:
    return Param("choice", "activation applied to the output (none: linear)", default="none",
                 choices=FUSED_CHOICES)


def activation_flops(name: str, elements: int) -> int:
    return ACTIVATIONS.get(name, 0) * elements


def lower_activation(ctx, x: str, name: str, slope: float = 0.01) -> str:
    """Emit the ONNX node of activation ``name`` on tensor ``x`` (none: ``x`` itself).

    relu: Relu; relu6: Clip(x, 0, 6); leaky_relu: LeakyRelu(alpha=slope);
    sigmoid: Sigmoid; tanh: Tanh."""
    if name == "none":
        return x
    if name == "relu6":
        return ctx.node("Clip", [x, ctx.constant("min", 0.0), ctx.constant("max", 6.0)])
    if name == "leaky_relu":
        return ctx.node("LeakyRelu", [x], alpha=float(slope))
    return ctx.node({"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}[name], [x])


class _Elementwise(Op):
    def cost(self, p, ins, out):
        return Cost(flops=ACTIVATIONS[self.name] * numel(out.shape))

    def lower(self, p, ctx):
        return lower_activation(ctx, ctx.input, self.name, p.get("slope", 0.01))


@register
class ReLU(_Elementwise):
    name = "relu"
    onnx_types = ("Relu",)
    doc = "max(0, x) (eq. 10)"


@register
class ReLU6(_Elementwise):
    name = "relu6"
    doc = "min(max(0, x), 6), as in MobileNet"
    onnx_types = ("Clip",)

    def read(self, node, ctx):
        """Clip with bounds 0 and 6: attributes before opset 11, constant inputs since."""
        if ctx.opset < 11:
            lo, hi = ctx.attr(node, "min", None), ctx.attr(node, "max", None)
        else:
            lo, hi = ctx.scalar(node, 1), ctx.scalar(node, 2)
        if (lo, hi) != (0, 6):
            raise ctx.unsupported(f"Clip({lo}, {hi}) is not relu6 (0, 6)")
        return {}


@register
class LeakyReLU(_Elementwise):
    name = "leaky_relu"
    doc = "max(slope * x, x) (eq. 11, with the sign the paper dropped)"
    onnx_types = ("LeakyRelu",)
    params = {"slope": Param("number", "slope for x < 0", default=0.01, min=0, max=1)}

    def read(self, node, ctx):
        """LeakyRelu(alpha), ONNX default 0.01 (a float32, read as 0.01, not 0.009999999776)."""
        return {"slope": ctx.float32(ctx.attr(node, "alpha", 0.01))}


@register
class Sigmoid(_Elementwise):
    name = "sigmoid"
    doc = "1 / (1 + exp(-x)) (eq. 8)"
    onnx_types = ("Sigmoid",)


@register
class Tanh(_Elementwise):
    name = "tanh"
    doc = "tanh(x) (eq. 7)"
    onnx_types = ("Tanh",)


@register
class Softmax(Op):
    name = "softmax"
    doc = "exp(x_c) / sum_c exp(x_c), over channels"
    onnx_types = ("Softmax",)

    def read(self, node, ctx):
        """Softmax over the channels: axis 1 of (N, C), or of (N, C, H, W) from opset 13
        (before, axis 1 of a map meant over C*H*W at once)."""
        rank = len(ctx.input_shape(node)) + 1
        axis = ctx.attr(node, "axis", 1 if ctx.opset < 13 else -1)
        if axis % rank != 1 or (rank > 2 and ctx.opset < 13):
            raise ctx.unsupported(f"Softmax over axis {axis} of a rank-{rank} tensor in opset "
                                  f"{ctx.opset} (netc's softmax is over the channels)")
        return {}

    def cost(self, p, ins, out):
        return Cost(flops=5 * numel(out.shape))

    def lower(self, p, ctx):
        """Softmax over axis 1, the channels of (N, C) and (N, C, H, W) alike (opset >= 13)."""
        return ctx.node("Softmax", [ctx.input], axis=1)
