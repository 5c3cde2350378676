"""Weight initializers, named after the paper's §5.3 and their usual names.

fan_in = inputs per output (C_in/groups * kh * kw for conv, C_in for dense);
fan_out = outputs per input (C_out * kh * kw for conv, units for dense).

| name            | distribution | scale                          | source              |
|-----------------|--------------|--------------------------------|---------------------|
| xavier_uniform  | U(-a, a)     | a = sqrt(6 / (fan_in+fan_out)) | Glorot & Bengio [14]|
| xavier_normal   | N(0, s^2)    | s^2 = 2 / (fan_in + fan_out)   | Glorot & Bengio     |
| caffe_xavier    | U(-a, a)     | a = sqrt(3 / fan_in)           | Caffe's filler [15] |
| he_normal       | N(0, s^2)    | s^2 = 2 / fan_in               | He et al. [16]      |
| he_uniform      | U(-a, a)     | a = sqrt(6 / fan_in)           | He et al.           |
| lecun_normal    | N(0, s^2)    | s^2 = 1 / fan_in               | LeCun               |
| lecun_uniform   | U(-a, a)     | a = sqrt(3 / fan_in)           | LeCun               |
| zeros, ones     | constant     | 0, 1                           |                     |
| {constant: v}   | constant     | v                              |                     |
| arange          | fixed        | 0, 1, ..., n - 1 in order      | Ultralytics' DFL    |

``auto`` (the default) picks he_normal for the ReLU family and xavier_uniform
otherwise, the pairing §5.3 recommends; the activation is the fused one or the
activation layer after batchnorm, dropout and add (``netc.graph.activation_after``).
The ReLU family is every activation
that is the identity for large x and near zero for negative x: relu, relu6,
leaky_relu and prelu (He et al. derived their init for PReLU), and the smooth
ReLUs silu, hardswish, gelu, gelu_tanh and mish, which the networks that use
them initialize the He way too (torchvision's EfficientNet and MobileNetV3,
timm's EfficientNet: kaiming normal, over fan_out there). sigmoid, tanh and
hardsigmoid saturate and take Xavier. (ConvNeXt draws N(0, 0.02^2), truncated,
whatever the fan: write it as an explicit init where it matters.)
"""

from __future__ import annotations

import math

from .diagnostics import unknown_choice

# name -> (family, distribution, numerator, over): variance = numerator / fan, where fan is
# fan_in, or (fan_in + fan_out) / 2 for "fan_avg" (so xavier: 1 / fan_avg = 2 / (fan_in + fan_out))
INITIALIZERS: dict[str, tuple[str, str, float, str]] = {
    "auto": ("auto", "", 0.0, ""),
    "xavier_uniform": ("xavier", "uniform", 1.0, "fan_avg"),
    "xavier_normal": ("xavier", "normal", 1.0, "fan_avg"),
    "caffe_xavier": ("caffe", "uniform", 1.0, "fan_in"),
    "he_normal": ("he", "normal", 2.0, "fan_in"),
    "he_uniform": ("he", "uniform", 2.0, "fan_in"),
    "lecun_normal": ("lecun", "normal", 1.0, "fan_in"),
    "lecun_uniform": ("lecun", "uniform", 1.0, "fan_in"),
    "zeros": ("constant", "constant", 0.0, ""),
    "ones": ("constant", "constant", 1.0, ""),
    # 0, 1, ..., n - 1 in the tensor's order: YOLOv8's DFL, a fixed 1x1 conv whose 16
    # weights are the bin indices, so that it computes the expectation of a softmax
    "arange": ("arange", "arange", 0.0, ""),
    # the usual other names
    "glorot_uniform": ("xavier", "uniform", 1.0, "fan_avg"),
    "glorot_normal": ("xavier", "normal", 1.0, "fan_avg"),
    "kaiming_normal": ("he", "normal", 2.0, "fan_in"),
    "kaiming_uniform": ("he", "uniform", 2.0, "fan_in"),
}

RELU_FAMILY = {"relu", "relu6", "leaky_relu", "prelu", "silu", "hardswish", "gelu", "gelu_tanh",
               "mish"}


def check_init(value):
    """Normal form of an ``init`` value: a known name, or {'constant': v}."""
    if isinstance(value, str):
        if value in INITIALIZERS:
            return value
        raise ValueError(unknown_choice(value, sorted(INITIALIZERS)))
    if isinstance(value, dict) and list(value) == ["constant"]:
        v = value["constant"]
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return {"constant": v}
    raise ValueError("expected an initializer name or {constant: number}")


def resolve(init, activation: str | None) -> object:
    """Replace ``auto`` by the scheme §5.3 pairs with the activation."""
    if init == "auto":
        return "he_normal" if activation in RELU_FAMILY else "xavier_uniform"
    return init


def family(init) -> str:
    return "constant" if isinstance(init, dict) else INITIALIZERS[init][0]


def sample(init, shape: tuple[int, ...], fan_in: int, fan_out: int, rng, out=None):
    """Draw a float32 array for ``init`` (already resolved) from numpy Generator ``rng``;
    into ``out`` (a float32 array of ``shape``) when given, the same values either way."""
    import numpy as np

    if out is None:
        out = np.empty(shape, dtype=np.float32)
    if isinstance(init, dict):
        out.fill(init["constant"])
        return out
    _, dist, numerator, over = INITIALIZERS[init]
    if dist == "constant":
        out.fill(numerator)
        return out
    if dist == "arange":
        out[...] = np.arange(out.size, dtype=np.float32).reshape(out.shape)
        return out
    fan = (fan_in + fan_out) / 2 if over == "fan_avg" else fan_in
    variance = numerator / max(fan, 1)
    # float32 draws scaled in place: one array of the tensor's size, never a float64 copy
    if dist == "normal":
        rng.standard_normal(dtype=np.float32, out=out)
        out *= np.float32(math.sqrt(variance))
        return out
    bound = math.sqrt(3 * variance)
    rng.random(dtype=np.float32, out=out)           # [0, 1) -> [-bound, bound)
    out *= np.float32(2 * bound)
    out -= np.float32(bound)
    return out


def seeded_draw(seed: int, name: str, init, shape: tuple[int, ...], fan_in: int, fan_out: int):
    """The float32 array ``netc build`` draws for the weight called ``name`` (``LAYER.SUFFIX``):
    ``sample`` from a numpy Generator seeded by (seed, sha256 of the name), so that every
    tensor's values depend on its name and the seed alone (netc/onnx/build.py's
    ``seeded_weights``; ``netc.to_torch`` draws the same)."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256(name.encode()).digest()
    rng = np.random.default_rng([seed, int.from_bytes(digest[:16], "little")])
    return sample(init, tuple(shape), fan_in, fan_out, rng)
