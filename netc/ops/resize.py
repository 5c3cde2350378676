"""Changing the height and width without weights: upsample, crop, pad.

    upsample and crop take maps of 1, 2 or 3 spatial axes ((C, L), (C, H, W),
    (C, D, H, W)), every axis alike; pad takes (C, H, W).

    upsample: (C, H, W) -> (C, floor(H*s_h), floor(W*s_w)) by ``scale`` (PyTorch's
              nn.Upsample), or to ``size``, or to the height and width of a second
              input (``from: [x, ref]``). nearest: output row i reads input row
              min(floor(i*H/H_out), H - 1) (PyTorch's "nearest"; with a scale, H/H_out
              is 1/s); bilinear: PyTorch's align_corners false (half-pixel centres)
              or true (corner pixels aligned). As in PyTorch, an axis whose size does
              not change is copied, and nearest doubling reads row i >> 1. PyTorch's
              names of the interpolation along every axis: linear (1-D), bilinear
              (2-D), trilinear (3-D). flops: nearest 0; linear 3, bilinear 7,
              trilinear 15 per output (2^n multiplies, 2^n - 1 adds).
    crop:     (C, H, W) -> (C, h, w), the centre, to ``size`` or to a second input's
              height and width (the 2015 U-Net's skip connections); torchvision's
              offset top = round((H - h)/2), left = round((W - w)/2), Python's round.
    pad:      (C, H, W) -> (C, top + H + bottom, left + W + right): constant (``value``),
              reflect (the border row is not repeated; each pad < the side, as PyTorch
              requires), replicate (the border row repeated) or circular (the rows of the
              other end, wrapped around once: each pad <= the side, as PyTorch requires).
    crop and pad cost 0 flops; none of them has parameters.
"""

from __future__ import annotations

import math

from .registry import (MAX_WINDOW, Cost, Field, Inferred, Op, Param, ShapeError, feature_map,
                       fmt_shape, numel, register, spatial)
from .transpose import MAX_SIDE
from .window import axis_names, per_axis, sides_per_axis

LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}   # PyTorch's mode for each map rank


def _target(name: str, p: dict, ins: list, given: str) -> tuple[int, ...] | None:
    """The spatial sizes asked for by ``size`` or a second input (a map of the same rank),
    or None if neither; ShapeError if both (or, with ``given``, also a scale)."""
    asked = [k for k in (given, "size") if k and p.get(k) is not None] + (["from"] if len(ins) > 1 else [])
    if len(asked) > 1:
        raise ShapeError(f"{name} takes one of {'a scale, ' if given else ''}a size or a second input "
                         f"(from: [x, ref]), got {' and '.join(asked)}",
                         asked[-1] if asked[-1] != "from" else None)
    if len(ins) > 1:
        if len(ins[1]) != len(ins[0]):
            raise ShapeError(f"{name}'s second input gives the spatial sizes of a map like its first "
                             f"{fmt_shape(ins[0])}; got {fmt_shape(ins[1])}")
        return tuple(ins[1][1:])
    return None if p.get("size") is None else per_axis(p["size"], len(ins[0]) - 1, "size")


@register
class Upsample(Op):
    name = "upsample"
    doc = "nearest or (bi/tri)linear resize by a scale, to a size, or to a second input's size"
    arity = (1, 2)
    params = {
        "scale": Param("scale", "scale factor s (output floor(N*s)), or one per axis",
                       default=None, min=0, max=MAX_WINDOW),
        "size": Param("pair", "output size, or one per axis ([height, width])", default=None, min=1,
                      max=MAX_SIDE),
        "mode": Param("choice", "interpolation: nearest, or PyTorch's linear (1-D map), bilinear "
                      "(2-D) or trilinear (3-D)", default="nearest",
                      choices=("nearest", "linear", "bilinear", "trilinear")),
        "align_corners": Param("bool", "(bi/tri)linear: align the corner pixels (PyTorch's "
                               "align_corners)", default=False),
    }

    def infer(self, p, ins):
        c, sizes = feature_map(self.name, ins[0])
        n = len(sizes)
        if p["align_corners"] and p["mode"] == "nearest":
            raise ShapeError(f"align_corners applies to {LINEAR[n]} upsampling only", "align_corners")
        if p["mode"] != "nearest" and p["mode"] != LINEAR[n]:
            raise ShapeError(f"mode {p['mode']} is for a {list(LINEAR.values()).index(p['mode']) + 1}-D "
                             f"map; this {n}-D one takes mode {LINEAR[n]} (PyTorch's names)", "mode")
        target = _target(self.name, p, ins, "scale")
        if target is None:
            if p["scale"] is None:
                raise ShapeError("upsample needs a scale, a size, or a second input whose spatial "
                                 "sizes it takes (from: [x, ref])")
            scale = per_axis(p["scale"], n, "scale")
            target = tuple(math.floor(m * s) for m, s in zip(sizes, scale))
            for axis, (m, s, o) in enumerate(zip(sizes, scale, target)):
                if o < 1:
                    raise ShapeError(f"{axis_names(n)[axis]}: scale {s} of {m} gives "
                                     f"floor({m}*{s}) = {o} rows", "scale")
                if o > MAX_SIDE:
                    raise ShapeError(f"output side {o:,} exceeds netc's limit of {MAX_SIDE:,}", "scale")
        return Inferred((c, *target))

    def cost(self, p, ins, out):
        """nearest 0; (bi/tri)linear 2^n multiplies and 2^n - 1 adds per output of an n-D map."""
        n = len(out.shape) - 1
        return Cost(flops=0 if p["mode"] == "nearest" else (2 ** (n + 1) - 1) * numel(out.shape))

    def field(self, p, ins, fields, out):
        """nearest reads one input per output, bilinear two per axis: size' = size (+ jump);
        jump' = jump*N/N_out, None unless a whole number of input pixels."""
        f = fields[0]
        if f is None or any(j * n % o for j, n, o in zip(f.jump, ins[0][1:], out.shape[1:])):
            return None
        extra = 1 if p["mode"] == "bilinear" else 0
        return Field(tuple(s + extra * j for s, j in zip(f.size, f.jump)),
                     tuple(j * n // o for j, n, o in zip(f.jump, ins[0][1:], out.shape[1:])))

    def torch(self, p, ctx):
        """F.interpolate: by ``scale_factor`` (PyTorch's mapping by 1/s, netc's), else to the
        output's spatial sizes (a second input's, known here); linear, bilinear or
        trilinear with its align_corners."""
        kwargs = "" if p["mode"] == "nearest" else f', mode="{p["mode"]}", align_corners={p["align_corners"]}'
        if len(ctx.inputs) == 1 and p["size"] is None:
            scales = [float(s) for s in per_axis(p["scale"], len(ctx.in_shapes[0]) - 1, "scale")]
            scale = repr(scales[0]) if len(set(scales)) == 1 else f"({', '.join(map(repr, scales))})"
            return f"F.interpolate({ctx.input}, scale_factor={scale}{kwargs})"
        return f"F.interpolate({ctx.input}, size={tuple(ctx.out_shape[1:])}{kwargs})"

    def lower(self, p, ctx):
        """Resize (rank-generic). nearest: coordinate_transformation_mode asymmetric,
        nearest_mode floor; (bi/tri)linear: mode linear, half_pixel (align_corners false)
        or align_corners. A scale
        becomes Resize's ``scales`` (PyTorch's mapping by 1/s, and its special cases: an
        axis whose size does not change is copied, nearest doubling reads i >> 1); a size
        or a second input becomes ``sizes``: Concat(Shape(x)[0:2], [h, w]), the batch
        kept symbolic."""
        if p["mode"] == "nearest":
            attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        else:
            attrs = dict(mode="linear", coordinate_transformation_mode=(
                "align_corners" if p["align_corners"] else "half_pixel"))
        if len(ctx.inputs) == 1 and p["size"] is None:
            sides, outs = ctx.in_shapes[0][1:], ctx.out_shape[1:]
            # PyTorch copies an axis whose size does not change, and nearest reads row
            # i >> 1 when the size doubles, whatever the scale: so do the scales given here
            used = [1 if o == n else 2 if o == 2 * n and p["mode"] == "nearest" else s
                    for n, s, o in zip(sides, per_axis(p["scale"], len(sides), "scale"), outs)]
            _check_float32_sizes(sides, used, outs)
            scales = ctx.constant("scales", [1.0, 1.0, *map(float, used)], "float32")
            return ctx.node("Resize", [ctx.input, "", scales], **attrs)
        shape = ctx.node("Shape", [ctx.input])
        batch_channels = ctx.node("Slice", [shape, ctx.constant("start", [0], "int64"),
                                            ctx.constant("end", [2], "int64")])
        sizes = ctx.node("Concat", [batch_channels, ctx.constant(_LETTERS[len(ctx.out_shape) - 1],
                                                                 list(ctx.out_shape[1:]), "int64")],
                         axis=0)
        return ctx.node("Resize", [ctx.input, "", "", sizes], **attrs)


    onnx_types = ("Resize",)

    def read(self, node, ctx):
        """Resize by constant ``scales`` (1, 1, s_h, s_w) or to constant ``sizes``
        (N, C, h, w) (also Concat(Shape(x)[0:2], [h, w])), of a 1-, 2- or 3-D map (one
        scale or size per spatial axis). nearest: mode nearest with
        coordinate_transformation_mode asymmetric and nearest_mode floor (PyTorch's);
        linear, bilinear or trilinear (by the map's rank): mode linear, half_pixel or
        pytorch_half_pixel (align_corners false) or align_corners. Other modes and
        rounding are not read."""
        c, spatial_sizes = feature_map(self.name, ctx.input_shape(node))
        rank = len(spatial_sizes) + 2
        mode = ctx.attr(node, "mode", "nearest")
        ctm = ctx.attr(node, "coordinate_transformation_mode", "half_pixel")
        if mode == "nearest" and ctm == "asymmetric" and ctx.attr(node, "nearest_mode", "round_prefer_floor") == "floor":
            p = {"mode": "nearest"}
        elif mode == "linear" and ctm in ("half_pixel", "pytorch_half_pixel", "align_corners"):
            p = {"mode": LINEAR[rank - 2], "align_corners": ctm == "align_corners"}
        else:
            raise ctx.unsupported(f"Resize mode {mode} with {ctm} coordinates (netc reads PyTorch's "
                                  "nearest and bilinear)")
        if ctx.attr(node, "antialias", 0) or ctx.attr(node, "axes") is not None:
            raise ctx.unsupported("Resize with antialias or axes")
        scales = ctx.value(node.input[2]) if ctx.has_input(node, 2) else None
        sizes = ctx.value(node.input[3]) if ctx.has_input(node, 3) else None
        if scales and len(scales) == rank and list(scales[:2]) == [1, 1] and not sizes:
            return {**p, "scale": [ctx.float32(v) for v in scales[2:]]}
        if sizes and len(sizes) == rank and sizes[1] == c and all(isinstance(v, int) for v in sizes[2:]):
            return {**p, "size": list(sizes[2:])}
        raise ctx.unsupported("Resize without constant scales (1, 1, s_h, s_w) or sizes (N, C, h, w), "
                              "one per axis of the input")


_LETTERS = {1: "l", 2: "hw", 3: "dhw"}


def _check_float32_sizes(sides, scales, outs):
    """ONNX computes floor(N*s) with s in float32: refuse a scale for which that differs
    from PyTorch's floor(N*s) in float64 (2.3 on 10 rows: 22 against 23)."""
    import numpy as np

    from ..diagnostics import BuildError

    for n, s, o in zip(sides, scales, outs):
        f32 = float(np.float32(s))
        if math.floor(np.float32(n) * np.float32(s)) != o or math.floor(n * f32) != o:
            raise BuildError(f"upsample scale {s} on {n} rows: ONNX computes the output size in "
                             f"float32 ({float(np.float32(s))!r}) and may not get PyTorch's {o}; choose a "
                             "scale exact in binary (2, 1.5, 0.25...) or a size")


@register
class Crop(Op):
    name = "crop"
    doc = "centre crop to a size or to a second input's spatial sizes"
    arity = (1, 2)
    params = {"size": Param("pair", "output size, or one per axis ([height, width])", default=None,
                            min=1, max=MAX_SIDE)}

    def infer(self, p, ins):
        c, sizes = feature_map(self.name, ins[0])
        target = _target(self.name, p, ins, "")
        if target is None:
            raise ShapeError("crop needs a size or a second input whose spatial sizes it takes "
                             "(from: [x, ref])")
        if any(t > m for t, m in zip(target, sizes)):
            raise ShapeError(f"cannot crop {'x'.join(map(str, sizes))} to the larger "
                             f"{'x'.join(map(str, target))}", "size" if len(ins) == 1 else None)
        return Inferred((c, *target))

    def field(self, p, ins, fields, out):
        return fields[0]

    onnx_types = ("Slice",)

    def read(self, node, ctx):
        """Slice on spatial axes (2 and/or 3 of a 2-D map), step 1, at torchvision's centre
        offsets."""
        _, sizes = feature_map(self.name, ctx.input_shape(node))
        cuts = ctx.slices(node)
        axes = range(2, 2 + len(sizes))
        if not cuts or not set(cuts) <= set(axes):
            raise ctx.unsupported(f"Slice on axes {sorted(cuts)} (netc's crop cuts the spatial axes)")
        size = []
        for axis, n in zip(axes, sizes):
            start, end = cuts.get(axis, (0, n))
            if end <= start or start != crop_offset(n, end - start):
                raise ctx.unsupported(f"Slice [{start}, {end}) of {n} is not a centre crop")
            size.append(end - start)
        return {"size": tuple(size)}

    def torch(self, p, ctx):
        """Indexing every spatial dim (2 and 3 of a 2-D map) at torchvision's offsets."""
        cuts = [f"{crop_offset(n, o)}:{crop_offset(n, o) + o}"
                for n, o in zip(ctx.in_shapes[0][1:], ctx.out_shape[1:])]
        return f"{ctx.input}[:, :, {', '.join(cuts)}]"

    def lower(self, p, ctx):
        """Slice on the spatial axes (2 and 3 of a 2-D map) from torchvision's offsets."""
        sizes, outs = ctx.in_shapes[0][1:], ctx.out_shape[1:]
        starts = [crop_offset(n, o) for n, o in zip(sizes, outs)]
        return ctx.node("Slice", [ctx.input, ctx.constant("starts", starts, "int64"),
                                  ctx.constant("ends", [s + o for s, o in zip(starts, outs)], "int64"),
                                  ctx.constant("axes", list(range(2, 2 + len(sizes))), "int64")])


def crop_offset(n: int, out: int) -> int:
    """torchvision's center_crop: int(round((n - out) / 2.0)), Python's round (half to even)."""
    return int(round((n - out) / 2.0))


@register
class Pad(Op):
    name = "pad"
    doc = "pad height and width: constant, reflect, replicate or circular"
    params = {
        "padding": Param("sides", "rows and columns added: each side, [height, width] or "
                         "[top, bottom, left, right]", min=0, max=MAX_WINDOW),
        "mode": Param("choice", "what the border holds", default="constant",
                      choices=("constant", "reflect", "replicate", "circular")),
        "value": Param("number", "the constant of mode constant", default=0),
    }

    def infer(self, p, ins):
        c, h, w = spatial(self.name, ins[0])
        if p["value"] != 0 and p["mode"] != "constant":
            raise ShapeError(f"value is for mode constant, not {p['mode']}", "value")
        (t, b), (l, r) = sides_per_axis(p["padding"], 2)
        if p["mode"] in ("reflect", "circular"):
            for axis, n, pads in ((0, h, (t, b)), (1, w, (l, r))):
                if max(pads) > n or (max(pads) == n and p["mode"] == "reflect"):
                    rule = "smaller than" if p["mode"] == "reflect" else "at most"
                    raise ShapeError(f"{p['mode']} padding {max(pads)} must be {rule} the input "
                                     f"{('height', 'width')[axis]} {n} (PyTorch's rule)", "padding")
        out = (c, t + h + b, l + w + r)
        if max(out[1:]) > MAX_SIDE:
            raise ShapeError(f"output side {max(out[1:]):,} exceeds netc's limit of {MAX_SIDE:,}", "padding")
        return Inferred(out)

    def field(self, p, ins, fields, out):
        return fields[0]

    onnx_types = ("Pad",)

    def read(self, node, ctx):
        """Pad of height and width only: pads [0, 0, top, left, 0, 0, bottom, right] (attribute
        before opset 11, input since), mode constant (constant_value), reflect, edge, wrap
        (circular, opset 19)."""
        if len(ctx.input_shape(node)) != 3:
            raise ctx.unsupported(f"Pad of the tensor {fmt_shape(ctx.input_shape(node))} (netc's pad "
                                  "pads the height and width of a (C, H, W) map)")
        if ctx.opset < 11:
            pads, value = ctx.attr(node, "pads"), ctx.attr(node, "value", 0.0)
        else:
            pads = ctx.value(node.input[1]) if ctx.has_input(node, 1) else None
            value = ctx.scalar(node, 2, 0.0)
            axes = ctx.value(node.input[3]) if ctx.has_input(node, 3) else None
            if axes is not None and pads is not None:
                if len(pads) != 2 * len(axes) or len({a % 4 for a in axes}) != len(axes):
                    raise ctx.unsupported(f"Pad with pads {pads} for axes {axes}")
                full = [0] * 8
                for i, a in enumerate(axes):
                    full[a % 4], full[4 + a % 4] = pads[i], pads[len(axes) + i]
                pads = full
        if pads is None or len(pads) != 8 or pads[0] or pads[1] or pads[4] or pads[5] or min(pads) < 0:
            raise ctx.unsupported(f"Pad with pads {pads} (netc pads height and width)")
        mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}.get(
            ctx.attr(node, "mode", "constant"))
        if mode is None:
            raise ctx.unsupported(f"Pad mode {ctx.attr(node, 'mode')}")
        t, l, b, r = pads[2], pads[3], pads[6], pads[7]
        return {"padding": [t, b, l, r], "mode": mode,
                "value": ctx.float32(value) if mode == "constant" else 0}

    def torch(self, p, ctx):
        """F.pad with (left, right, top, bottom), its mode and value."""
        (t, b), (l, r) = sides_per_axis(p["padding"], 2)
        extra = f', mode="{p["mode"]}"' if p["mode"] != "constant" else ""
        if p["value"] != 0:
            extra += f", value={float(p['value'])!r}"
        return f"F.pad({ctx.input}, {(l, r, t, b)}{extra})"

    def lower(self, p, ctx):
        """Pad with pads [0, 0, top, left, 0, 0, bottom, right]; mode constant (with
        constant_value), reflect, edge (replicate), or wrap (circular) from opset 19; below
        it, circular as PyTorch computes it: Concat of the last rows, the input and the first
        rows, along the height and then the width."""
        (t, b), (l, r) = sides_per_axis(p["padding"], 2)
        if p["mode"] == "circular" and ctx.opset < 19:
            y = ctx.input
            for axis, (lo, hi) in ((2, (t, b)), (3, (l, r))):
                n = ctx.in_shapes[0][axis - 1]
                parts = [self._rows(ctx, y, axis, n - lo, n)] if lo else []
                parts.append(y)
                if hi:
                    parts.append(self._rows(ctx, y, axis, 0, hi))
                if len(parts) > 1:
                    y = ctx.node("Concat", parts, axis=axis)
            return y
        ins = [ctx.input, ctx.constant("pads", [0, 0, t, l, 0, 0, b, r], "int64")]
        if p["mode"] == "constant" and p["value"] != 0:
            ins.append(ctx.constant("value", float(p["value"])))
        mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[p["mode"]]
        return ctx.node("Pad", ins, mode=mode)

    @staticmethod
    def _rows(ctx, x: str, axis: int, start: int, end: int) -> str:
        return ctx.node("Slice", [x, ctx.int_constant("start", [start]), ctx.int_constant("end", [end]),
                                  ctx.int_constant("axis", [axis])])
