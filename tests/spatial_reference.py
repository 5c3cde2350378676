"""Float64 numpy references of the spatial and channel ops (conv_transpose, upsample,
crop, pad, adaptive and global max pooling, slice, channel_shuffle), written with
loops from PyTorch's definitions, without looking at any ONNX node; and a walker
that runs a netc network through them (with onnx_reference for the other ops)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from onnx import numpy_helper

import onnx_reference as base


def conv_transpose2d(x, w, b, stride, padding, dilation, output_padding, groups):
    """PyTorch's ConvTranspose2d: input pixel (i, j) adds w[c, k, u, v] * x to output
    (i*S + u*D - P, j*S + v*D - P); w (C_in, K/groups, kh, kw)."""
    n, c, h, wd = x.shape
    _, kg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw), (oph, opw) = stride, padding, dilation, output_padding
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph
    full_w = (wd - 1) * sw + dw * (kw - 1) + 1 + opw
    full = np.zeros((n, kg * groups, full_h, full_w))
    cg = c // groups
    for g in range(groups):
        for i in range(h):
            for j in range(wd):
                for u in range(kh):
                    for v in range(kw):
                        full[:, g * kg:(g + 1) * kg, i * sh + u * dh, j * sw + v * dw] += np.einsum(
                            "nc,ck->nk", x[:, g * cg:(g + 1) * cg, i, j], w[g * cg:(g + 1) * cg, :, u, v])
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


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


def upsample(x, out_hw, mode, align_corners=False, scale=None):
    n, c, h, w = x.shape
    oh, ow = out_hw
    sh, sw = scale if scale is not None else (None, None)
    y = np.zeros((n, c, oh, ow))
    if mode == "nearest":
        for i in range(oh):
            for j in range(ow):
                y[:, :, i, j] = x[:, :, _source_nearest(i, h, oh, sh), _source_nearest(j, w, ow, sw)]
        return y
    for i in range(oh):
        r = _source_linear(i, h, oh, sh, align_corners)
        r0 = min(int(r), h - 1)
        r1, lr = min(r0 + 1, h - 1), r - r0
        for j in range(ow):
            q = _source_linear(j, w, ow, sw, align_corners)
            q0 = min(int(q), w - 1)
            q1, lq = min(q0 + 1, w - 1), q - q0
            y[:, :, i, j] = ((1 - lr) * ((1 - lq) * x[:, :, r0, q0] + lq * x[:, :, r0, q1])
                             + lr * ((1 - lq) * x[:, :, r1, q0] + lq * x[:, :, r1, q1]))
    return y


def center_crop(x, out_hw):
    """torchvision.transforms.functional.center_crop's offsets."""
    h, w = x.shape[2:]
    oh, ow = out_hw
    top, left = int(round((h - oh) / 2.0)), int(round((w - ow) / 2.0))
    return x[:, :, top:top + oh, left:left + ow]


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


def adaptive_pool(x, out_hw, kind):
    """PyTorch's adaptive pooling: window i = [floor(i*N/out), ceil((i+1)*N/out))."""
    n, c, h, w = x.shape
    oh, ow = out_hw
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        r0, r1 = math.floor(i * h / oh), math.ceil((i + 1) * h / oh)
        for j in range(ow):
            q0, q1 = math.floor(j * w / ow), math.ceil((j + 1) * w / ow)
            region = x[:, :, r0:r1, q0:q1]
            y[:, :, i, j] = region.max(axis=(2, 3)) if kind == "max" else region.mean(axis=(2, 3))
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
        if op == "conv_transpose":
            y = conv_transpose2d(a, w[f"{name}.weight"], w.get(f"{name}.bias"), p["stride"], p["padding"],
                                 p["dilation"], p["output_padding"], p["groups"])
            y = base.activation(y, p["activation"])
        elif op == "upsample":
            if len(ins) > 1:
                size, scale = ins[1].shape[2:], None
            elif p["size"] is not None:
                size, scale = p["size"], None
            else:
                scale = p["scale"]
                size = tuple(math.floor(n * s) for n, s in zip(a.shape[2:], scale))
            y = upsample(a, size, p["mode"], p["align_corners"], scale)
        elif op == "crop":
            y = center_crop(a, ins[1].shape[2:] if len(ins) > 1 else p["size"])
        elif op == "pad":
            (t, b), (l, r) = p["padding"]
            y = pad(a, t, b, l, r, p["mode"], p["value"])
        elif op == "global_maxpool":
            y = a.max(axis=(2, 3), keepdims=p["keepdims"])
        elif op in ("adaptive_avgpool", "adaptive_maxpool"):
            y = adaptive_pool(a, p["size"], op[9:12])
        elif op == "slice":
            y = a[:, p["start"]:p["end"]]
        elif op == "channel_shuffle":
            y = channel_shuffle(a, p["groups"])
        elif op == "identity":
            y = a
        else:
            y = _base_one(node, ins, w)
        vals[name] = y
    return [vals[o] for o in net.graph.outputs]


def _base_one(node, ins, w):
    """The other ops these tests combine with, through onnx_reference's functions."""
    p, name, a = node.params, node.name, ins[0]
    if node.op == "conv":
        y = base.conv2d(a, w[f"{name}.weight"], w.get(f"{name}.bias"), p["stride"],
                        base.pads_of(p, a.shape[2:], p["dilation"]), p["dilation"], p["groups"])
        return base.activation(y, p["activation"])
    if node.op == "concat":
        return np.concatenate(ins, axis=1)
    if node.op == "add":
        return sum(ins)
    if node.op == "dense":
        return base.activation(base.dense(a, w[f"{name}.weight"], w.get(f"{name}.bias")), p["activation"])
    if node.op == "flatten":
        return a.reshape(len(a), -1)
    return base.activation(a, node.op, p.get("slope", 0.01))
