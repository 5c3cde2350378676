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


class _Elementwise(Op):
    def cost(self, p, ins, out):
        return Cost(flops=ACTIVATIONS[self.name] * numel(out.shape))


@register
class ReLU(_Elementwise):
    name = "relu"
    doc = "max(0, x) (eq. 10)"


@register
class ReLU6(_Elementwise):
    name = "relu6"
    doc = "min(max(0, x), 6), as in MobileNet"


@register
class LeakyReLU(_Elementwise):
    name = "leaky_relu"
    doc = "max(slope * x, x) (eq. 11, with the sign the paper dropped)"
    params = {"slope": Param("number", "slope for x < 0", default=0.01, min=0, max=1)}


@register
class Sigmoid(_Elementwise):
    name = "sigmoid"
    doc = "1 / (1 + exp(-x)) (eq. 8)"


@register
class Tanh(_Elementwise):
    name = "tanh"
    doc = "tanh(x) (eq. 7)"


@register
class Softmax(Op):
    name = "softmax"
    doc = "exp(x_c) / sum_c exp(x_c), over channels"

    def cost(self, p, ins, out):
        return Cost(flops=5 * numel(out.shape))
