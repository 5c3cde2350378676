"""Independent float64 numpy implementations of netc's ops, for the ONNX tests.

They follow the paper's definitions and PyTorch's conventions (eq. 2 window
counts; ceil mode's last window starts inside the input or left padding;
average pooling with count_include_pad divides by the window clipped to the
padded input), written without looking at any ONNX node."""

from __future__ import annotations

import numpy as np


def conv2d(x, w, b, stride, pads, dilation, groups):
    """x (N, C, H, W), w (K, C/g, kh, kw), pads (top, left, bottom, right)."""
    n, c, h, wd = x.shape
    k, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    t, l, btm, r = pads
    xp = np.zeros((n, c, h + t + btm, wd + l + r))
    xp[:, :, t:t + h, l:l + wd] = x
    ho = (h + t + btm - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + l + r - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, k, ho, wo))
    kg = k // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        for u in range(kh):
            for v in range(kw):
                patch = xs[:, :, u * dh:u * dh + sh * (ho - 1) + 1:sh, v * dw:v * dw + sw * (wo - 1) + 1:sw]
                out[:, g * kg:(g + 1) * kg] += np.einsum("nchw,kc->nkhw", patch, w[g * kg:(g + 1) * kg, :, u, v])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def pool2d(x, kind, kernel, stride, pads, out_hw, count_include_pad=False):
    """Max or average over windows; ``out_hw`` is the output size (floor or ceil mode)."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    t, l, btm, r = pads
    ho, wo = out_hw
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            # window in padded coordinates, clipped to the padded input
            h0, w0 = i * sh, j * sw
            h1, w1 = min(h0 + kh, h + t + btm), min(w0 + kw, w + l + r)
            # the real input rows inside it
            r0, r1 = max(h0 - t, 0), min(h1 - t, h)
            c0, c1 = max(w0 - l, 0), min(w1 - l, w)
            region = x[:, :, r0:r1, c0:c1]
            if kind == "max":
                out[:, :, i, j] = region.max(axis=(2, 3))
            else:
                count = (h1 - h0) * (w1 - w0) if count_include_pad else (r1 - r0) * (c1 - c0)
                out[:, :, i, j] = region.sum(axis=(2, 3)) / count
    return out


def dense(x, w, b):
    """x (N, C), w (units, C) as PyTorch stores it."""
    out = x @ w.T
    return out if b is None else out + b


def batchnorm(x, scale, shift, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * scale.reshape(shape) + shift.reshape(shape)


def activation(x, name, slope=0.01):
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
    raise AssertionError(name)


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
