"""Changing the height and width without weights: upsample, crop, pad.

    upsample: (C, H, W) -> (C, floor(H*s_h), floor(W*s_w)) by ``scale`` (PyTorch's
              nn.Upsample), or to ``size``, or to the height and width of a second
              input (``from: [x, ref]``). nearest: output row i reads input row
              min(floor(i*H/H_out), H - 1) (PyTorch's "nearest"; with a scale, H/H_out
              is 1/s); bilinear: PyTorch's align_corners false (half-pixel centres)
              or true (corner pixels aligned). As in PyTorch, an axis whose size does
              not change is copied, and nearest doubling reads row i >> 1. flops: nearest 0; bilinear 7 per output
              (4 multiplies, 3 adds).
    crop:     (C, H, W) -> (C, h, w), the centre, to ``size`` or to a second input's
              height and width (the 2015 U-Net's skip connections); torchvision's
              offset top = round((H - h)/2), left = round((W - w)/2), Python's round.
    pad:      (C, H, W) -> (C, top + H + bottom, left + W + right): constant (``value``),
              reflect (the border row is not repeated; each pad < the side, as PyTorch
              requires) or replicate (the border row repeated).
    crop and pad cost 0 flops; none of them has parameters.
"""

from __future__ import annotations

import math

from .registry import (MAX_WINDOW, Cost, Field, Inferred, Op, Param, ShapeError, fmt_shape,
                       numel, register, spatial)
from .transpose import MAX_SIDE


def _target(name: str, p: dict, ins: list, given: str) -> tuple[int, int] | None:
    """The (height, width) asked for by ``size`` or a second input, or None if neither;
    ShapeError if both (or, with ``given``, also a scale)."""
    asked = [k for k in (given, "size") if k and p.get(k) is not None] + (["from"] if len(ins) > 1 else [])
    if len(asked) > 1:
        raise ShapeError(f"{name} takes one of {'a scale, ' if given else ''}a size or a second input "
                         f"(from: [x, ref]), got {' and '.join(asked)}",
                         asked[-1] if asked[-1] != "from" else None)
    if len(ins) > 1:
        if len(ins[1]) != 3:
            raise ShapeError(f"{name}'s second input gives the height and width; got the vector "
                             f"{fmt_shape(ins[1])}")
        return ins[1][1], ins[1][2]
    return p.get("size")


@register
class Upsample(Op):
    name = "upsample"
    doc = "nearest or bilinear resize by a scale, to a size, or to a second input's size"
    arity = (1, 2)
    params = {
        "scale": Param("scale", "scale factor s (output floor(N*s)), or [height, width]",
                       default=None, min=0, max=MAX_WINDOW),
        "size": Param("pair", "output size, or [height, width]", default=None, min=1, max=MAX_SIDE),
        "mode": Param("choice", "interpolation", default="nearest", choices=("nearest", "bilinear")),
        "align_corners": Param("bool", "bilinear: align the corner pixels (PyTorch's align_corners)",
                               default=False),
    }

    def infer(self, p, ins):
        c, h, w = spatial(self.name, ins[0])
        if p["align_corners"] and p["mode"] != "bilinear":
            raise ShapeError("align_corners applies to bilinear upsampling only", "align_corners")
        target = _target(self.name, p, ins, "scale")
        if target is None:
            if p["scale"] is None:
                raise ShapeError("upsample needs a scale, a size, or a second input whose height "
                                 "and width it takes (from: [x, ref])")
            target = tuple(math.floor(n * s) for n, s in zip((h, w), p["scale"]))
            for axis, (n, s, o) in enumerate(zip((h, w), p["scale"], target)):
                if o < 1:
                    raise ShapeError(f"{('height', 'width')[axis]}: scale {s} of {n} gives "
                                     f"floor({n}*{s}) = {o} rows", "scale")
                if o > MAX_SIDE:
                    raise ShapeError(f"output side {o:,} exceeds netc's limit of {MAX_SIDE:,}", "scale")
        return Inferred((c, *target))

    def cost(self, p, ins, out):
        return Cost(flops=7 * numel(out.shape) if p["mode"] == "bilinear" else 0)

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
        output's height and width (a second input's, known here); bilinear with its
        align_corners."""
        kwargs = f', mode="bilinear", align_corners={p["align_corners"]}' if p["mode"] == "bilinear" else ""
        if len(ctx.inputs) == 1 and p["size"] is None:
            sh, sw = (float(s) for s in p["scale"])
            scale = repr(sh) if sh == sw else f"({sh!r}, {sw!r})"
            return f"F.interpolate({ctx.input}, scale_factor={scale}{kwargs})"
        return f"F.interpolate({ctx.input}, size={tuple(ctx.out_shape[1:])}{kwargs})"

    def lower(self, p, ctx):
        """Resize. nearest: coordinate_transformation_mode asymmetric, nearest_mode floor;
        bilinear: mode linear, half_pixel (align_corners false) or align_corners. A scale
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
                    for n, s, o in zip(sides, p["scale"], outs)]
            _check_float32_sizes(sides, used, outs)
            scales = ctx.constant("scales", [1.0, 1.0, *map(float, used)], "float32")
            return ctx.node("Resize", [ctx.input, "", scales], **attrs)
        shape = ctx.node("Shape", [ctx.input])
        batch_channels = ctx.node("Slice", [shape, ctx.constant("start", [0], "int64"),
                                            ctx.constant("end", [2], "int64")])
        sizes = ctx.node("Concat", [batch_channels, ctx.constant("hw", list(ctx.out_shape[1:]), "int64")],
                         axis=0)
        return ctx.node("Resize", [ctx.input, "", "", sizes], **attrs)


    onnx_types = ("Resize",)

    def read(self, node, ctx):
        """Resize by constant ``scales`` (1, 1, s_h, s_w) or to constant ``sizes``
        (N, C, h, w) (also Concat(Shape(x)[0:2], [h, w])). nearest: mode nearest with
        coordinate_transformation_mode asymmetric and nearest_mode floor (PyTorch's);
        bilinear: mode linear, half_pixel or pytorch_half_pixel (align_corners false) or
        align_corners. Other modes and rounding are not read."""
        c = ctx.input_shape(node)[0]
        mode = ctx.attr(node, "mode", "nearest")
        ctm = ctx.attr(node, "coordinate_transformation_mode", "half_pixel")
        if mode == "nearest" and ctm == "asymmetric" and ctx.attr(node, "nearest_mode", "round_prefer_floor") == "floor":
            p = {"mode": "nearest"}
        elif mode == "linear" and ctm in ("half_pixel", "pytorch_half_pixel", "align_corners"):
            p = {"mode": "bilinear", "align_corners": ctm == "align_corners"}
        else:
            raise ctx.unsupported(f"Resize mode {mode} with {ctm} coordinates (netc reads PyTorch's "
                                  "nearest and bilinear)")
        if ctx.attr(node, "antialias", 0) or ctx.attr(node, "axes") is not None:
            raise ctx.unsupported("Resize with antialias or axes")
        scales = ctx.value(node.input[2]) if ctx.has_input(node, 2) else None
        sizes = ctx.value(node.input[3]) if ctx.has_input(node, 3) else None
        if scales and len(scales) == 4 and list(scales[:2]) == [1, 1] and not sizes:
            return {**p, "scale": [ctx.float32(v) for v in scales[2:]]}
        if sizes and len(sizes) == 4 and sizes[1] == c and all(isinstance(v, int) for v in sizes[2:]):
            return {**p, "size": list(sizes[2:])}
        raise ctx.unsupported("Resize without constant scales (1, 1, s_h, s_w) or sizes (N, C, h, w)")


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
    doc = "centre crop to a size or to a second input's height and width"
    arity = (1, 2)
    params = {"size": Param("pair", "output size, or [height, width]", default=None, min=1, max=MAX_SIDE)}

    def infer(self, p, ins):
        c, h, w = spatial(self.name, ins[0])
        target = _target(self.name, p, ins, "")
        if target is None:
            raise ShapeError("crop needs a size or a second input whose height and width it takes "
                             "(from: [x, ref])")
        if target[0] > h or target[1] > w:
            raise ShapeError(f"cannot crop {h}x{w} to the larger {target[0]}x{target[1]}",
                             "size" if len(ins) == 1 else None)
        return Inferred((c, *target))

    def field(self, p, ins, fields, out):
        return fields[0]

    onnx_types = ("Slice",)

    def read(self, node, ctx):
        """Slice on axes 2 and/or 3, step 1, at torchvision's centre offsets."""
        _, h, w = spatial(self.name, ctx.input_shape(node))
        cuts = ctx.slices(node)
        if not cuts or not set(cuts) <= {2, 3}:
            raise ctx.unsupported(f"Slice on axes {sorted(cuts)} (netc's crop cuts height and width)")
        size = []
        for axis, n in ((2, h), (3, w)):
            start, end = cuts.get(axis, (0, n))
            if end <= start or start != crop_offset(n, end - start):
                raise ctx.unsupported(f"Slice [{start}, {end}) of {n} is not a centre crop")
            size.append(end - start)
        return {"size": tuple(size)}

    def torch(self, p, ctx):
        """Indexing dims 2 and 3 at torchvision's offsets."""
        (_, h, w), (_, oh, ow) = ctx.in_shapes[0], ctx.out_shape
        top, left = crop_offset(h, oh), crop_offset(w, ow)
        return f"{ctx.input}[:, :, {top}:{top + oh}, {left}:{left + ow}]"

    def lower(self, p, ctx):
        """Slice on axes 2 and 3 from torchvision's offsets."""
        (_, h, w), (_, oh, ow) = ctx.in_shapes[0], ctx.out_shape
        top, left = crop_offset(h, oh), crop_offset(w, ow)
        return ctx.node("Slice", [ctx.input, ctx.constant("starts", [top, left], "int64"),
                                  ctx.constant("ends", [top + oh, left + ow], "int64"),
                                  ctx.constant("axes", [2, 3], "int64")])


def crop_offset(n: int, out: int) -> int:
    """torchvision's center_crop: int(round((n - out) / 2.0)), Python's round (half to even)."""
    return int(round((n - out) / 2.0))


@register
class Pad(Op):
    name = "pad"
    doc = "pad height and width: constant, reflect or replicate"
    params = {
        "padding": Param("sides", "rows and columns added: each side, [height, width] or "
                         "[top, bottom, left, right]", min=0, max=MAX_WINDOW),
        "mode": Param("choice", "what the border holds", default="constant",
                      choices=("constant", "reflect", "replicate")),
        "value": Param("number", "the constant of mode constant", default=0),
    }

    def infer(self, p, ins):
        c, h, w = spatial(self.name, ins[0])
        if p["value"] != 0 and p["mode"] != "constant":
            raise ShapeError(f"value is for mode constant, not {p['mode']}", "value")
        (t, b), (l, r) = p["padding"]
        if p["mode"] == "reflect":
            for axis, n, pads in ((0, h, (t, b)), (1, w, (l, r))):
                if max(pads) >= n:
                    raise ShapeError(f"reflect padding {max(pads)} must be smaller than the input "
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
        before opset 11, input since), mode constant (constant_value), reflect, edge."""
        spatial(self.name, ctx.input_shape(node))
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
        mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}.get(
            ctx.attr(node, "mode", "constant"))
        if mode is None:
            raise ctx.unsupported(f"Pad mode {ctx.attr(node, 'mode')}")
        t, l, b, r = pads[2], pads[3], pads[6], pads[7]
        return {"padding": [t, b, l, r], "mode": mode,
                "value": ctx.float32(value) if mode == "constant" else 0}

    def torch(self, p, ctx):
        """F.pad with (left, right, top, bottom), its mode and value."""
        (t, b), (l, r) = p["padding"]
        extra = f', mode="{p["mode"]}"' if p["mode"] != "constant" else ""
        if p["value"] != 0:
            extra += f", value={float(p['value'])!r}"
        return f"F.pad({ctx.input}, {(l, r, t, b)}{extra})"

    def lower(self, p, ctx):
        """Pad with pads [0, 0, top, left, 0, 0, bottom, right]; mode constant (with
        constant_value), reflect, or edge (replicate)."""
        (t, b), (l, r) = p["padding"]
        ins = [ctx.input, ctx.constant("pads", [0, 0, t, l, 0, 0, b, r], "int64")]
        if p["mode"] == "constant" and p["value"] != 0:
            ins.append(ctx.constant("value", float(p["value"])))
        mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}[p["mode"]]
        return ctx.node("Pad", ins, mode=mode)
