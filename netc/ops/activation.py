"""Activation functions (§5.6): standalone ops, and the table that conv and
dense use for a fused ``activation:``.

FLOPs per output element (docs/conventions.md; an exp, log or erf counts as one):

    relu 1          max(0, x)
    relu6 2         min(max(0, x), 6)
    leaky_relu 2    max(slope*x, x): multiply, max
    prelu 2         as leaky_relu, the slope learned per channel
    sigmoid 4       1 / (1 + exp(-x)): negate, exp, add, divide
    tanh 5          multiply, exp, subtract, add, divide
    hardsigmoid 4   relu6(x + 3) / 6: add, max, min, divide
    hardswish 5     x * hardsigmoid(x)
    silu 5          x * sigmoid(x)
    gelu 5          0.5x(1 + erf(x/sqrt2)): divide, erf, add, multiply, multiply
    gelu_tanh 13    0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))): 8 + tanh's 5
    mish 9          x * tanh(softplus(x)): exp, add, log, tanh's 5, multiply
    softmax 5       max, subtract, exp, sum, divide (along an axis: the channels by default)
"""

from __future__ import annotations

import math

from .registry import Cost, Inferred, Op, Param, numel, register

# name -> FLOPs per element
ACTIVATIONS: dict[str, int] = {
    "relu": 1,
    "relu6": 2,
    "leaky_relu": 2,
    "prelu": 2,
    "sigmoid": 4,
    "tanh": 5,
    "hardsigmoid": 4,
    "hardswish": 5,
    "silu": 5,
    "gelu": 5,
    "gelu_tanh": 13,
    "mish": 9,
}
FUSED_CHOICES = ("none", *ACTIVATIONS)
PRELU_INIT = 0.25          # PyTorch's nn.PReLU(init=0.25)

# the first opset with the activation as one ONNX node; below it, netc emits its exact decomposition
SINGLE_NODE_SINCE = {"hardswish": 14, "mish": 18, "gelu": 20, "gelu_tanh": 20}


def fused_param() -> Param:
    return Param("choice", "activation applied to the output (none: linear; gelu_tanh: gelu "
                 "with approximate: tanh; prelu: one learned slope per channel, from 0.25)",
                 default="none", choices=FUSED_CHOICES)


def activation_flops(name: str, elements: int) -> int:
    return ACTIVATIONS.get(name, 0) * elements


def activation_params(name: str, channels: int) -> int:
    """Learned parameters of a fused activation: prelu has one slope per channel."""
    return channels if name == "prelu" else 0


def lower_activation(ctx, x: str, name: str, slope: float = 0.01, prelu_init: float = PRELU_INIT,
                     prelu_shared: bool = False) -> str:
    """Emit the ONNX nodes of activation ``name`` on tensor ``x`` (none: ``x`` itself);
    ``x`` has the layer's output shape. Per ``ctx.opset``:

    relu: Relu; relu6: Clip(x, 0, 6); leaky_relu: LeakyRelu(alpha=slope);
    prelu: PRelu with the slope initializer ``LAYER.slope`` of shape (C, 1, 1)
    for maps, (C,) for vectors ((1,) shared); sigmoid, tanh: Sigmoid, Tanh;
    hardsigmoid: HardSigmoid(alpha=1/6, beta=0.5), PyTorch's (ONNX's default alpha is 0.2);
    hardswish: HardSwish (>= 14), else x * HardSigmoid(x);
    silu: x * Sigmoid(x) at every opset (onnxruntime 1.31 runs ONNX's Swish only at opset 24);
    gelu: Gelu (>= 20), else 0.5 * x * (1 + Erf(x / sqrt 2));
    gelu_tanh: Gelu(approximate=tanh) (>= 20), else
    0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)));
    mish: Mish (>= 18), else x * Tanh(Softplus(x))."""
    if name == "none":
        return x
    single = ctx.opset >= SINGLE_NODE_SINCE.get(name, 10**9)
    if name == "relu6":
        return ctx.node("Clip", [x, ctx.constant("min", 0.0), ctx.constant("max", 6.0)])
    if name == "leaky_relu":
        return ctx.node("LeakyRelu", [x], alpha=float(slope))
    if name == "prelu":
        c = 1 if prelu_shared else ctx.out_shape[0]
        shape = (c, *(1,) * (len(ctx.out_shape) - 1))      # (C, 1, 1) on a 2-D map: broadcasts
        return ctx.node("PRelu", [x, ctx.weight("slope", shape, {"constant": float(prelu_init)})])
    if name == "hardsigmoid":
        return ctx.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)
    if name == "hardswish":
        if single:
            return ctx.node("HardSwish", [x])
        return ctx.node("Mul", [x, ctx.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)])
    if name == "silu":
        return ctx.node("Mul", [x, ctx.node("Sigmoid", [x])])
    if name in ("gelu", "gelu_tanh"):
        if single:
            return ctx.node("Gelu", [x], approximate="none" if name == "gelu" else "tanh")
        if name == "gelu":
            inner = ctx.node("Erf", [ctx.node("Div", [x, ctx.constant("sqrt2", math.sqrt(2))])])
        else:
            cube = ctx.node("Mul", [ctx.node("Mul", [x, x]), x])
            poly = ctx.node("Add", [x, ctx.node("Mul", [cube, ctx.constant("c", 0.044715)])])
            inner = ctx.node("Tanh", [ctx.node("Mul", [poly, ctx.constant("k", math.sqrt(2 / math.pi))])])
        half_x = ctx.node("Mul", [x, ctx.constant("half", 0.5)])
        return ctx.node("Mul", [half_x, ctx.node("Add", [inner, ctx.constant("one", 1.0)])])
    if name == "mish":
        if single:
            return ctx.node("Mish", [x])
        return ctx.node("Mul", [x, ctx.node("Tanh", [ctx.node("Softplus", [x])])])
    return ctx.node({"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}[name], [x])


# activation -> its torch.nn.functional call on ``{x}`` (prelu: a module, see torch_activation)
TORCH_ACTIVATIONS = {
    "relu": "F.relu({x})", "relu6": "F.relu6({x})", "leaky_relu": "F.leaky_relu({x}, {slope})",
    "sigmoid": "torch.sigmoid({x})", "tanh": "torch.tanh({x})", "hardsigmoid": "F.hardsigmoid({x})",
    "hardswish": "F.hardswish({x})", "silu": "F.silu({x})", "gelu": "F.gelu({x})",
    "gelu_tanh": 'F.gelu({x}, approximate="tanh")', "mish": "F.mish({x})",
}


def torch_activation(ctx, x: str, name: str, slope: float = 0.01) -> str:
    """The PyTorch expression of activation ``name`` on expression ``x`` (none: ``x``);
    the fused prelu is the layer module's own (``Conv2dPReLU``, ...), not written here.
    hardsigmoid is PyTorch's relu6(x + 3) / 6, the ONNX lowering's alpha 1/6."""
    if name in ("none", "prelu"):
        return x
    return TORCH_ACTIVATIONS[name].format(x=x, slope=repr(float(slope)))


class _Elementwise(Op):
    channels_last = True          # one value at a time: any layout
    def kind(self, p) -> str:
        """The entry of ``ACTIVATIONS`` this layer computes."""
        return self.name

    def cost(self, p, ins, out):
        return Cost(flops=ACTIVATIONS[self.kind(p)] * numel(out.shape))

    def lower(self, p, ctx):
        return lower_activation(ctx, ctx.input, self.kind(p), p.get("slope", 0.01))

    def torch(self, p, ctx):
        """The activation's torch.nn.functional call (``torch_activation``)."""
        return torch_activation(ctx, ctx.input, self.kind(p), p.get("slope", 0.01))

    def fused(self, p):
        """Every activation but leaky_relu with another slope than 0.01 (the fused one's)."""
        name = self.kind(p)
        return None if name == "leaky_relu" and p.get("slope", 0.01) != 0.01 else name


# the functions, to recognise an exporter's decomposition (ReadingContext.computes)
def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _hardsigmoid(x: float) -> float:
    return min(max(x / 6 + 0.5, 0.0), 1.0)


FUNCTIONS = {
    "hardsigmoid": _hardsigmoid,
    "hardswish": lambda x: x * _hardsigmoid(x),
    "silu": lambda x: x * _sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
    "mish": lambda x: x * math.tanh(x if x > 30 else math.log1p(math.exp(x))),
}


class _Decomposed(_Elementwise):
    """An activation that exporters write as one node at recent opsets (``single``, the
    ONNX op type) and as a handful of elementwise nodes before: read from the first
    node of either, the decomposition recognised by what it computes, whatever its
    order and spelling (``ReadingContext.elementwise``)."""

    onnx_pattern = True
    single = ""

    def read(self, node, ctx):
        if node.op_type == self.single:
            return self.read_single(node, ctx)
        for nodes, f in ctx.elementwise(node):
            for params in self.variants():
                if len(nodes) > 1 and ctx.computes(f, FUNCTIONS[self.kind(params)]):
                    ctx.take(*nodes[1:])
                    return params
        raise ctx.unsupported(f"not the start of {self.name}")

    def read_single(self, node, ctx) -> dict:
        return {}

    def variants(self) -> list[dict]:
        return [{}]


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
class PReLU(_Elementwise):
    name = "prelu"
    per_channel = True
    channels_last = False         # its slope is per channel
    doc = "max(0, x) + a * min(0, x), a learned per channel (He et al. 2015)"
    onnx_types = ("PRelu",)
    params = {
        "slope": Param("number", "initial slope a for x < 0 (PyTorch's init)", default=PRELU_INIT,
                       min=-1, max=1),
        "shared": Param("bool", "one slope for every channel (PyTorch's nn.PReLU() default; "
                        "netc's default is one per channel)", default=False),
    }

    def cost(self, p, ins, out):
        return Cost(params=1 if p["shared"] else out.shape[0], flops=ACTIVATIONS["prelu"] * numel(out.shape))

    def lower(self, p, ctx):
        return lower_activation(ctx, ctx.input, "prelu", prelu_init=p["slope"], prelu_shared=p["shared"])

    def torch(self, p, ctx):
        """nn.PReLU(C or 1, init=slope); its ``weight`` is the ONNX ``slope``."""
        c = 1 if p["shared"] else ctx.out_shape[0]
        m = ctx.module("nn.PReLU", c, init=float(p["slope"]))
        ctx.weight("weight", (c,), {"constant": float(p["slope"])}, onnx="slope", torch_default=True)
        return f"{m}({ctx.input})"

    def read(self, node, ctx):
        """PRelu(x, slope): slope (C, 1, 1) or (C,) per channel, (1,) or a scalar shared;
        ``slope`` is the slopes' common value when the model stores them all alike."""
        c = ctx.input_shape(node)[0]
        shape = ctx.weight_shape(node, 1)
        n = numel(shape)
        if n not in (1, c) or (n == c and c > 1 and shape[0] != c) or len(shape) > len(ctx.input_shape(node)):
            raise ctx.unsupported(f"PRelu slope of shape {list(shape)} for {c} channels (netc reads one "
                                  "per channel or one shared)")
        p = {"shared": n == 1 and c > 1}
        values = ctx.value(node.input[1])
        if values and len(set(values)) == 1 and -1 <= values[0] <= 1:
            p["slope"] = ctx.float32(values[0])
        return p

    def fused(self, p):
        """Fused prelu has one slope per channel."""
        return None if p["shared"] else "prelu"


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
class HardSigmoid(_Elementwise):
    name = "hardsigmoid"
    doc = "relu6(x + 3) / 6, PyTorch's and MobileNetV3's (not ONNX's default slope 0.2)"
    onnx_types = ("HardSigmoid",)

    def read(self, node, ctx):
        """HardSigmoid(alpha 1/6, beta 0.5) as float32 (ONNX's default alpha 0.2 is not read)."""
        alpha, beta = ctx.attr(node, "alpha", 0.2), ctx.attr(node, "beta", 0.5)
        if not (ctx.near(alpha, 1 / 6) and ctx.near(beta, 0.5)):
            raise ctx.unsupported(f"HardSigmoid(alpha={ctx.float32(alpha)}, beta={ctx.float32(beta)}) "
                                  "is not relu6(x + 3) / 6 (alpha 1/6, beta 0.5)")
        return {}


@register
class HardSwish(_Decomposed):
    name = "hardswish"
    doc = "x * relu6(x + 3) / 6 (MobileNetV3)"
    onnx_types = ("HardSwish", "HardSigmoid", "Add", "Div", "Mul", "Clip")
    single = "HardSwish"


@register
class SiLU(_Decomposed):
    name = "silu"
    doc = "x * sigmoid(x), also called swish (EfficientNet, YOLO)"
    onnx_types = ("Sigmoid", "Swish")
    single = "Swish"

    def read_single(self, node, ctx):
        """Swish (opset 24) with alpha 1."""
        if ctx.attr(node, "alpha", 1.0) != 1.0:
            raise ctx.unsupported("Swish with alpha other than 1")
        return {}


@register
class GELU(_Decomposed):
    name = "gelu"
    doc = "x * Phi(x), Phi the standard normal CDF; or its tanh approximation"
    onnx_types = ("Gelu", "Div", "Mul", "Pow")
    single = "Gelu"
    params = {"approximate": Param("choice", "none: exact, with erf; tanh: "
                                   "0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))), as PyTorch",
                                   default="none", choices=("none", "tanh"))}

    def kind(self, p):
        return "gelu" if p.get("approximate", "none") == "none" else "gelu_tanh"

    def read_single(self, node, ctx):
        """Gelu (opset 20): approximate none or tanh."""
        approximate = ctx.attr(node, "approximate", "none")
        if approximate not in ("none", "tanh"):
            raise ctx.unsupported(f"Gelu approximate={approximate!r}")
        return {"approximate": approximate}

    def variants(self):
        return [{"approximate": "none"}, {"approximate": "tanh"}]


@register
class Mish(_Decomposed):
    name = "mish"
    doc = "x * tanh(softplus(x)), softplus(x) = log(1 + exp(x))"
    onnx_types = ("Mish", "Softplus")
    single = "Mish"


@register
class Softmax(Op):
    name = "softmax"
    doc = "exp(x_i) / sum_i exp(x_i) along an axis: the channels by default"
    onnx_types = ("Softmax",)
    params = {"axis": Param("int", "the axis: 1 is the first after the batch (the channels), -1 the "
                            "last", default=1, min=-17, max=16)}

    def infer(self, p, ins):
        from .axes import axis_index

        axis_index(p["axis"], len(ins[0]), self.name)
        return Inferred(ins[0])

    def read(self, node, ctx):
        """Softmax over one axis but the batch: any from opset 13 (the channels: axis 1 of
        (N, C) or of (N, C, H, W)); before opset 13, axis 1 of a map meant over C*H*W at
        once, read only where H and W are 1 (as SqueezeNet's classifier ends), and the
        last axis."""
        from .axes import softmax_axis

        return {"axis": softmax_axis(self.name, node, ctx)}

    def cost(self, p, ins, out):
        return Cost(flops=5 * numel(out.shape))

    def field(self, p, ins, fields, out):
        from .axes import axis_index, field_over

        return field_over(fields[0], ins[0], (axis_index(p["axis"], len(ins[0]), self.name),), out.shape)

    def torch(self, p, ctx):
        """F.softmax over ``axis`` (counted with the batch, as torch's dim)."""
        return f"F.softmax({ctx.input}, dim={p['axis']})"

    def lower(self, p, ctx):
        """Softmax over the axis: axis 1, the channels of (N, C) and (N, C, H, W) alike by
        default (opset >= 13)."""
        from .axes import axis_index

        return ctx.node("Softmax", [ctx.input], axis=axis_index(p["axis"], len(ctx.in_shapes[0]), self.name) + 1)
