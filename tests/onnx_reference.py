"""Independent float64 numpy implementations of netc's ops, for the ONNX tests.

They follow the paper's definitions and PyTorch's conventions (eq. 2 window
counts; ceil mode's last window starts inside the input or left padding;
average pooling with count_include_pad divides by the window clipped to the
padded input), written without looking at any ONNX node."""

from __future__ import annotations

import itertools
import math

import numpy as np
from onnx import numpy_helper

RTOL, ATOL = 1e-4, 1e-4


def axes(value, n):
    """A netc per-axis parameter for n spatial axes: a number is the same on every axis."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def conv_nd(x, w, b, stride, pads, dilation, groups):
    """x (N, C, *spatial) of 1, 2 or 3 spatial axes, w (K, C/g, *kernel), pads ((begin, end), ...)
    per axis: out[k, o] = sum over c, u of x_padded[c, o*S + u*D] * w[k, c, u]."""
    n, c, *sizes = x.shape
    k, cg, *kernel = w.shape
    xp = np.pad(x, [(0, 0), (0, 0), *pads])
    outs = [(m + pb + pe - d * (f - 1) - 1) // s + 1
            for m, (pb, pe), f, s, d in zip(sizes, pads, kernel, stride, dilation)]
    out = np.zeros((n, k, *outs))
    kg = k // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        for tap in itertools.product(*(range(f) for f in kernel)):
            patch = xs[(slice(None), slice(None), *(slice(u * d, u * d + s * (o - 1) + 1, s)
                                                   for u, d, s, o in zip(tap, dilation, stride, outs)))]
            weight = w[(slice(g * kg, (g + 1) * kg), slice(None), *tap)]
            out[:, g * kg:(g + 1) * kg] += np.einsum("nc...,kc->nk...", patch, weight)
    if b is not None:
        out += b.reshape(1, -1, *(1,) * len(sizes))
    return out


def conv2d(x, w, b, stride, pads, dilation, groups):
    """x (N, C, H, W), w (K, C/g, kh, kw), pads (top, left, bottom, right)."""
    t, l, btm, r = pads
    return conv_nd(x, w, b, stride, ((t, btm), (l, r)), dilation, groups)


def pool_nd(x, kind, kernel, stride, pads, outs, count_include_pad=False):
    """Max or average over windows of 1, 2 or 3 spatial axes; ``pads`` ((begin, end), ...),
    ``outs`` the output size (floor or ceil mode)."""
    n, c, *sizes = x.shape
    out = np.zeros((n, c, *outs))
    for pos in itertools.product(*(range(o) for o in outs)):
        real, count = [], 1
        for i, m, f, s, (pb, pe) in zip(pos, sizes, kernel, stride, pads):
            lo = i * s                                  # window in padded coordinates,
            hi = min(lo + f, m + pb + pe)               # clipped to the padded input
            r0, r1 = max(lo - pb, 0), min(hi - pb, m)   # the real input rows inside it
            real.append(slice(r0, r1))
            count *= (hi - lo) if count_include_pad else (r1 - r0)
        region = x[(slice(None), slice(None), *real)]
        flat = region.reshape(n, c, -1)
        out[(slice(None), slice(None), *pos)] = flat.max(axis=2) if kind == "max" else flat.sum(axis=2) / count
    return out


def pool2d(x, kind, kernel, stride, pads, out_hw, count_include_pad=False):
    """Max or average over windows; ``out_hw`` is the output size (floor or ceil mode)."""
    t, l, btm, r = pads
    return pool_nd(x, kind, kernel, stride, ((t, btm), (l, r)), out_hw, count_include_pad)


def dense(x, w, b):
    """x (N, C), w (units, C) as PyTorch stores it."""
    out = x @ w.T
    return out if b is None else out + b


def batchnorm(x, scale, shift, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * scale.reshape(shape) + shift.reshape(shape)


def erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def per_channel(v, x):
    """A per-channel vector shaped to broadcast against x (N, C) or (N, C, H, W)."""
    return np.asarray(v, dtype=np.float64).reshape((1, -1) + (1,) * (x.ndim - 2))


def activation(x, name, slope=0.01, prelu=None):
    """``prelu``: the learned slopes, one per channel (or one)."""
    if name == "none":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "relu6":
        return np.minimum(np.maximum(x, 0), 6)
    if name == "leaky_relu":
        return np.where(x >= 0, x, slope * x)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "prelu":
        return np.where(x >= 0, x, per_channel(prelu, x) * x)
    if name == "hardsigmoid":                       # PyTorch: relu6(x + 3) / 6
        return np.minimum(np.maximum(x + 3, 0), 6) / 6
    if name == "hardswish":
        return x * np.minimum(np.maximum(x + 3, 0), 6) / 6
    if name == "silu":
        return x / (1 + np.exp(-x))
    if name == "gelu":                              # x * Phi(x)
        return x * 0.5 * (1 + erf(x / math.sqrt(2)))
    if name == "gelu_tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "mish":
        return x * np.tanh(np.logaddexp(0, x))      # softplus = log(1 + e^x)
    raise AssertionError(name)


def layernorm(x, weight, bias, eps):
    """Normalize over the channels (axis 1) at every position."""
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    return y if weight is None else y * per_channel(weight, x) + per_channel(bias, x)


def broadcast_vectors(ins):
    """netc's rule: a vector (N, C) beside a map is (N, C, 1, 1); then numpy's."""
    rank = max(a.ndim for a in ins)
    return [a.reshape(a.shape + (1,) * (rank - a.ndim)) for a in ins]


def lrn(x, size, alpha, beta, k):
    """PyTorch's LocalResponseNorm: the squares summed over the channels
    c - size//2 .. c + (size - 1)//2 (zero padded), averaged over size."""
    sq = np.pad(x ** 2, ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
    window = sum(sq[:, i:i + x.shape[1]] for i in range(size))
    return x / (k + alpha * window / size) ** beta


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- walking a netc network ----------------------------------------------------

def random_weights(seed=1):
    """A weight source with random values everywhere (biases and batchnorm too)."""
    def draw(layer, suffix, shape, init, fan_in, fan_out):
        rng = np.random.default_rng([seed, len(layer), sum(map(ord, layer + suffix))])
        if suffix == "running_var":
            return rng.uniform(0.5, 2.0, shape).astype(np.float32)
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
    return draw


def network(layers, shape, outputs=None):
    import netc

    text = f"netc: 1\nname: t\ninput: {{shape: {list(shape)}}}\nlayers:\n"
    text += "".join(f"  - {layer}\n" for layer in layers)
    if outputs:
        text += f"outputs: {outputs}\n"
    return netc.loads(text, "t.yaml")


def same_pads(n, k, s, d=1):
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def pads_of(p, sizes, dilation=1):
    """((begin, end), ...) per spatial axis from the YAML-level padding, computed here."""
    n = len(sizes)
    if p["padding"] == "same":
        stride = axes(p.get("stride") or p["kernel"], n)
        return tuple(same_pads(m, k, s, d) for m, k, s, d in
                     zip(sizes, axes(p["kernel"], n), stride, axes(dilation, n)))
    if isinstance(p["padding"], tuple):
        return p["padding"]
    return ((p["padding"], p["padding"]),) * n


def pool_out(n, k, s, pb, pe, ceil):
    span = n + pb + pe - k
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= n + pb:
        out -= 1
    return out


def reference(net, model, x):
    """Walk the netc graph in float64 with the model's initializers."""
    w = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    vals = {net.graph.input_name: x.astype(np.float64)}
    for node in net.graph.nodes:
        vals[node.name] = one(node, [vals[i] for i in node.inputs], w)
    return [vals[o] for o in net.graph.outputs]


def one(node, ins, w):
    """One layer's output from its inputs ``ins`` and the weights ``w`` by name."""
    p, name, op = node.params, node.name, node.op
    a = ins[0]
    if op == "conv":
        n = a.ndim - 2
        y = conv_nd(a, w[f"{name}.weight"], w.get(f"{name}.bias"), axes(p["stride"], n),
                    pads_of(p, a.shape[2:], p["dilation"]), axes(p["dilation"], n), p["groups"])
        y = activation(y, p["activation"], prelu=w.get(f"{name}.slope"))
    elif op == "dense":
        y = activation(dense(a, w[f"{name}.weight"], w.get(f"{name}.bias")), p["activation"],
                       prelu=w.get(f"{name}.slope"))
    elif op in ("maxpool", "avgpool"):
        n = a.ndim - 2
        kernel = axes(p["kernel"], n)
        stride = axes(p["stride"] or p["kernel"], n)
        pads = pads_of(p, a.shape[2:])
        out = [pool_out(m, k, s, pb, pe, p["ceil_mode"])
               for m, k, s, (pb, pe) in zip(a.shape[2:], kernel, stride, pads)]
        y = pool_nd(a, op[:3], kernel, stride, pads, out, p.get("count_include_pad", False))
    elif op == "global_avgpool":
        y = a.mean(axis=tuple(range(2, a.ndim)), keepdims=p["keepdims"])
    elif op == "flatten":
        y = a.reshape(len(a), -1)
    elif op == "batchnorm":
        y = batchnorm(a, w[f"{name}.weight"], w[f"{name}.bias"], w[f"{name}.running_mean"],
                          w[f"{name}.running_var"], p["eps"])
    elif op == "dropout":
        y = a
    elif op == "add":
        y = sum(broadcast_vectors(ins))
    elif op == "mul":
        y = np.prod(np.broadcast_arrays(*broadcast_vectors(ins)), axis=0)
    elif op == "layernorm":
        y = layernorm(a, w.get(f"{name}.weight"), w.get(f"{name}.bias"), p["eps"])
    elif op == "scale":
        y = a * per_channel(w[f"{name}.weight"], a)
        if p["bias"]:
            y = y + per_channel(w[f"{name}.bias"], a)
    elif op == "gelu":
        y = activation(a, "gelu" if p["approximate"] == "none" else "gelu_tanh")
    elif op == "concat":
        y = np.concatenate(ins, axis=1)
    elif op == "softmax":
        y = softmax(a)
    elif op == "lrn":
        y = lrn(a, p["size"], p["alpha"], p["beta"], p["k"])
    else:
        y = activation(a, op, p.get("slope", 0.01), prelu=w.get(f"{name}.slope"))
    return y


def run(model, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})
