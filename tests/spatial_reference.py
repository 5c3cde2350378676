"""Float64 numpy references of the spatial and channel ops (conv_transpose, upsample,
crop, pad, adaptive and global max pooling, slice, channel_shuffle), written with
loops from PyTorch's definitions, without looking at any ONNX node; and a walker
that runs a netc network through them (with onnx_reference for the other ops)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
from onnx import numpy_helper

import onnx_reference as base


def conv_transpose_nd(x, w, b, stride, padding, dilation, output_padding, groups):
    """PyTorch's ConvTranspose1d/2d/3d: input position i adds w[c, k, u] * x to output
    i*S + u*D - P on every axis; w (C_in, K/groups, *kernel)."""
    n, c, *sizes = x.shape
    _, kg, *kernel = w.shape
    full = [(m - 1) * s + d * (f - 1) + 1 + op
            for m, s, d, f, op in zip(sizes, stride, dilation, kernel, output_padding)]
    y = np.zeros((n, kg * groups, *full))
    cg = c // groups
    for g in range(groups):
        for pos in itertools.product(*(range(m) for m in sizes)):
            for tap in itertools.product(*(range(f) for f in kernel)):
                at = tuple(i * s + u * d for i, s, u, d in zip(pos, stride, tap, dilation))
                y[(slice(None), slice(g * kg, (g + 1) * kg), *at)] += np.einsum(
                    "nc,ck->nk", x[(slice(None), slice(g * cg, (g + 1) * cg), *pos)],
                    w[(slice(g * cg, (g + 1) * cg), slice(None), *tap)])
    out = y[(slice(None), slice(None), *(slice(p, f - p) for p, f in zip(padding, full)))]
    return out if b is None else out + b.reshape(1, -1, *(1,) * len(sizes))


def conv_transpose2d(x, w, b, stride, padding, dilation, output_padding, groups):
    """PyTorch's ConvTranspose2d: input pixel (i, j) adds w[c, k, u, v] * x to output
    (i*S + u*D - P, j*S + v*D - P); w (C_in, K/groups, kh, kw)."""
    return conv_transpose_nd(x, w, b, stride, padding, dilation, output_padding, groups)


def _source_nearest(i, n, out, scale):
    """PyTorch's nearest_idx: i when the size does not change, i >> 1 when it doubles,
    else floor(i * n/out), or floor(i / scale) when a scale is given."""
    if out == n:
        return i
    if out == 2 * n:
        return i >> 1
    src = math.floor(Fraction(i) / Fraction(scale)) if scale is not None else i * n // out
    return min(src, n - 1)


def _source_linear(i, n, out, scale, align_corners):
    """PyTorch's compute_source_index_and_lambda: row i when the size does not change,
    else area_pixel_compute_source_index."""
    if out == n:
        return float(i)
    if align_corners:
        return i * (n - 1) / (out - 1) if out > 1 else 0.0
    ratio = 1 / scale if scale is not None else n / out
    return max((i + 0.5) * ratio - 0.5, 0.0)


def upsample(x, outs, mode, align_corners=False, scale=None):
    """PyTorch's interpolate on 1, 2 or 3 spatial axes: nearest, or linear along every
    axis (linear, bilinear, trilinear): a weighted sum of the 2^n neighbours."""
    n, c, *sizes = x.shape
    scale = scale if scale is not None else (None,) * len(sizes)
    y = np.zeros((n, c, *outs))
    for pos in itertools.product(*(range(o) for o in outs)):
        if mode == "nearest":
            src = tuple(_source_nearest(i, m, o, s) for i, m, o, s in zip(pos, sizes, outs, scale))
            y[(slice(None), slice(None), *pos)] = x[(slice(None), slice(None), *src)]
            continue
        lines = []
        for i, m, o, s in zip(pos, sizes, outs, scale):
            r = _source_linear(i, m, o, s, align_corners)
            r0 = min(int(r), m - 1)
            lines.append(((r0, 1 - (r - r0)), (min(r0 + 1, m - 1), r - r0)))
        total = 0
        for corner in itertools.product(*lines):
            weight = np.prod([wt for _, wt in corner])
            total = total + weight * x[(slice(None), slice(None), *(i for i, _ in corner))]
        y[(slice(None), slice(None), *pos)] = total
    return y


def center_crop(x, outs):
    """torchvision.transforms.functional.center_crop's offsets, on every spatial axis."""
    starts = [int(round((m - o) / 2.0)) for m, o in zip(x.shape[2:], outs)]
    return x[(slice(None), slice(None), *(slice(s, s + o) for s, o in zip(starts, outs)))]


def pad(x, top, bottom, left, right, mode, value=0.0):
    n, c, h, w = x.shape

    def source(p, size, before):
        i = p - before
        if 0 <= i < size:
            return i
        if mode == "replicate":
            return min(max(i, 0), size - 1)
        if mode == "reflect":
            return -i if i < 0 else 2 * (size - 1) - i
        return None                       # constant

    y = np.full((n, c, top + h + bottom, left + w + right), float(value))
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            r, q = source(i, h, top), source(j, w, left)
            if r is not None and q is not None:
                y[:, :, i, j] = x[:, :, r, q]
    return y


def adaptive_pool(x, outs, kind):
    """PyTorch's adaptive pooling: window i = [floor(i*N/out), ceil((i+1)*N/out)) on every axis."""
    n, c, *sizes = x.shape
    y = np.zeros((n, c, *outs))
    for pos in itertools.product(*(range(o) for o in outs)):
        region = x[(slice(None), slice(None), *(slice(math.floor(i * m / o), math.ceil((i + 1) * m / o))
                                                for i, m, o in zip(pos, sizes, outs)))].reshape(n, c, -1)
        y[(slice(None), slice(None), *pos)] = region.max(axis=2) if kind == "max" else region.mean(axis=2)
    return y


def channel_shuffle(x, groups):
    """x.view(n, groups, C/groups, ...).transpose(1, 2).reshape(n, C, ...), as loops."""
    c = x.shape[1]
    per = c // groups
    y = np.zeros_like(x)
    for g in range(groups):
        for i in range(per):
            y[:, i * groups + g] = x[:, g * per + i]
    return y


SPATIAL = {"conv_transpose", "upsample", "crop", "pad", "global_maxpool", "adaptive_avgpool",
           "adaptive_maxpool", "slice", "channel_shuffle", "identity"}


def reference(net, model, x):
    """Walk the netc graph in float64: these ops here, the others through onnx_reference
    (one node at a time, as a network of that node alone)."""
    w = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    vals = {net.graph.input_name: x.astype(np.float64)}
    for node in net.graph.nodes:
        p, name, op = node.params, node.name, node.op
        ins = [vals[i] for i in node.inputs]
        a = ins[0]
        nd = a.ndim - 2
        if op == "conv_transpose":
            y = conv_transpose_nd(a, w[f"{name}.weight"], w.get(f"{name}.bias"),
                                  *(base.axes(p[k], nd) for k in ("stride", "padding", "dilation",
                                                                  "output_padding")), p["groups"])
            y = base.activation(y, p["activation"], prelu=w.get(f"{name}.slope"))
        elif op == "upsample":
            if len(ins) > 1:
                size, scale = ins[1].shape[2:], None
            elif p["size"] is not None:
                size, scale = base.axes(p["size"], nd), None
            else:
                scale = base.axes(p["scale"], nd)
                size = tuple(math.floor(n * s) for n, s in zip(a.shape[2:], scale))
            y = upsample(a, size, p["mode"], p["align_corners"], scale)
        elif op == "crop":
            y = center_crop(a, ins[1].shape[2:] if len(ins) > 1 else base.axes(p["size"], nd))
        elif op == "pad":
            v = p["padding"]
            (t, b), (l, r) = (((v, v),) * 2 if not isinstance(v, tuple) else
                              v if isinstance(v[0], tuple) else ((v[0], v[0]), (v[1], v[1])))
            y = pad(a, t, b, l, r, p["mode"], p["value"])
        elif op == "global_maxpool":
            y = a.max(axis=tuple(range(2, a.ndim)), keepdims=p["keepdims"])
        elif op in ("adaptive_avgpool", "adaptive_maxpool"):
            y = adaptive_pool(a, base.axes(p["size"], nd), op[9:12])
        elif op == "slice":
            y = a[:, p["start"]:p["end"]]
        elif op == "channel_shuffle":
            y = channel_shuffle(a, p["groups"])
        elif op == "identity":
            y = a
        else:
            y = base.one(node, ins, w)
        vals[name] = y
    return [vals[o] for o in net.graph.outputs]
