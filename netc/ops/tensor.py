"""Shape plumbing on tensors of any rank, all free (0 FLOPs, no parameters): the ops
that move data between shapes without computing on it.

Shapes exclude the batch, as everywhere in netc; axes count as PyTorch and ONNX count
them, the batch being axis 0 (so axis 1 is the first netc dimension, the channels of
a map) and a negative axis counting from the end. No op here moves, splits or merges
the batch: axis 0 is refused with a message that says so.

    reshape:   shape [d1, ...] without the batch, one -1 for "the rest"; the element
               count must not change (PyTorch's view / reshape)
    permute:   dims [0, ...], a permutation of every axis with the batch first (PyTorch's
               permute; transpose(a, b) is the permutation that swaps a and b)
    squeeze:   drop axes of size 1 (all of them but the batch when ``axes`` is left out)
    unsqueeze: insert axes of size 1 at ``axes`` (counted in the output, as PyTorch and ONNX)
    expand:    broadcast to ``shape`` by numpy's rule (-1 keeps a size; new leading axes
               go after the batch); the copies are not computed, so free
    gather:    the entries ``indices`` (a list, or one index that drops the axis) of one axis
               (PyTorch's index_select / x[:, i], ONNX's Gather of constant indices)

``slice`` and ``concat`` (netc/ops/channels.py, merge.py) and ``flatten`` (dense.py)
take an ``axis`` (``start``/``end``) by the same rule, defaulting to the channels.

    cost:   params 0, macs 0, flops 0 (docs/conventions.md): a copy or a view
    field:  a map that keeps its spatial axes keeps its receptive field (a slice or
            gather of channels); any other result is no map, and has none (None)
"""

from __future__ import annotations

from .axes import MAX_DIM, MAX_ELEMENTS, MAX_RANK, Ints, axis_name, axis_param, dim
from .registry import Inferred, Op, Shape, ShapeError, fmt_shape, numel, register

def keep_field(fields, ins, out):
    """The input's receptive field when the result is that map (same shape), else None."""
    return fields[0] if out.shape == ins[0] else None


def _rank(shape: Shape, op: str, param: str) -> None:
    if len(shape) > MAX_RANK:
        raise ShapeError(f"{op} gives {len(shape)} axes after the batch, more than netc's {MAX_RANK}", param)


def reshaped(shape: Shape, target) -> Shape:
    """``shape`` reshaped to ``target`` (one -1 for the rest); ShapeError when it cannot be."""
    total = numel(shape)
    if list(target).count(-1) > 1:
        raise ShapeError(f"reshape target {list(target)} has more than one -1", "shape")
    known = numel([d for d in target if d != -1])
    if -1 in target:
        if total % known:
            raise ShapeError(f"cannot reshape {fmt_shape(shape)} ({total:,} elements) to {list(target)}: "
                             f"{known:,} does not divide {total:,}", "shape")
        target = [total // known if d == -1 else d for d in target]
    if numel(target) != total:
        raise ShapeError(f"cannot reshape {fmt_shape(shape)} ({total:,} elements) to {list(target)} "
                         f"({numel(target):,} elements)", "shape")
    return tuple(target)


@register
class Reshape(Op):
    name = "reshape"
    doc = "view the input as another shape with the same elements (the batch kept apart)"
    params = {
        "shape": Ints("ints", "the output shape without the batch; one -1 stands for the rest "
                      "(none with a second input: its shape)", min=-1, max=MAX_DIM, default=None),
    }
    arity = (1, 2)                    # from: [x, ref]: x viewed as ref's shape
    onnx_types = ("Reshape",)
    onnx_fallback = onnx_types        # after every specific reader of Reshape

    def infer(self, p, ins):
        if len(ins) == 2:             # the shape of a second input (YOLO11's attention back to
            if p["shape"] is not None:  # its map), read without an expression on the sides
                raise ShapeError("reshape takes a shape or a second input whose shape it takes, "
                                 "not both", "shape")
            if numel(ins[0]) != numel(ins[1]):
                raise ShapeError(f"reshape of {fmt_shape(ins[0])} to the shape of its second input "
                                 f"{fmt_shape(ins[1])}: {numel(ins[0]):,} elements against "
                                 f"{numel(ins[1]):,}")
            return Inferred(tuple(ins[1]))
        if p["shape"] is None:
            raise ShapeError("reshape needs a shape, or a second input (from: [x, ref]) whose shape "
                             "it takes", "shape")
        if 0 in p["shape"]:
            raise ShapeError(f"reshape target {list(p['shape'])} has a 0: sizes are positive "
                             "(-1 once for the rest)", "shape")
        return Inferred(reshaped(ins[0], p["shape"]))

    def field(self, p, ins, fields, out):
        return keep_field(fields, ins, out)

    def read(self, node, ctx):
        """Reshape with a constant target (or one computed from the input's Shape: the batch
        as the symbol N) that keeps the batch first: 0, N, the fixed batch, or -1 with the
        other sizes known; elsewhere 0 copies the input's size (allowzero=0) and one -1 takes
        the rest. A target that folds the batch into other dimensions is refused."""
        shape = ctx.input_shape(node)
        target = ctx.reshape_target(node)
        if target is None:
            raise ctx.unsupported("the target shape is not a constant")
        shown = "[" + ", ".join(map(str, target)) + "]"
        mixes = ctx.unsupported(f"Reshape to {shown} folds the batch into other dimensions (netc keeps "
                                "the batch as the first dimension: 0, N, or -1 with the other sizes known)")
        if not target or any(not isinstance(d, int) for d in target[1:]):
            raise mixes
        full = [ctx.batch, *shape]
        rest = [full[i] if d == 0 and i < len(full) else d for i, d in enumerate(target) if i > 0]
        if any(d < -1 or d == 0 for d in rest) or rest.count(-1) > 1:
            raise ctx.unsupported(f"Reshape to {shown} of {fmt_shape(shape)}")
        first = target[0]
        if first == -1:
            if -1 in rest or numel(rest) != numel(shape):
                raise mixes
        elif first not in (0, ctx.batch, "N"):
            raise mixes
        try:
            out = reshaped(shape, rest)
        except ShapeError as e:
            raise ctx.unsupported(str(e)) from None
        return {"shape": out}

    def lower(self, p, ctx):
        """Reshape to [0, *shape]: the batch copied (so it stays symbolic), every other size
        as the analysis found it (with a second input, its shape: the reference itself is
        not an input of the node)."""
        return ctx.node("Reshape", [ctx.input, ctx.int_constant("shape", [0, *ctx.out_shape])])

    def torch(self, p, ctx):
        """x.reshape(batch, *shape): the file's target where it has a -1 (so that the module
        takes what the file takes, e.g. any H x W), else the sizes the analysis found."""
        target = p.get("shape")
        if isinstance(target, (list, tuple)) and -1 in target:
            return f"{ctx.input}.reshape({', '.join([f'{ctx.input}.shape[0]', *map(str, target)])})"
        return torch_reshape(ctx)


def _permutation(dims, shape: Shape) -> list[int]:
    """``dims`` (with the batch) as netc indices: a permutation of the axes after the batch."""
    rank = len(shape) + 1
    if len(dims) != rank:
        raise ShapeError(f"permute dims {list(dims)} name {len(dims)} axes; the input {fmt_shape(shape)} "
                         f"has {rank} with the batch", "dims")
    if any(not -rank <= d < rank for d in dims):
        raise ShapeError(f"permute dims {list(dims)}: each is an axis from -{rank} to {rank - 1}", "dims")
    norm = [d % rank for d in dims]
    if sorted(norm) != list(range(rank)):
        raise ShapeError(f"permute dims {list(dims)} are not a permutation of the {rank} axes", "dims")
    if norm[0] != 0:
        raise ShapeError(f"permute dims {list(dims)} move the batch: netc keeps it first (dims [0, ...])",
                         "dims")
    return [d - 1 for d in norm[1:]]


@register
class Permute(Op):
    name = "permute"
    doc = "reorder the axes (PyTorch's permute and transpose; the batch stays first)"
    params = {"dims": Ints("ints", "every axis in its new order, the batch (0) first", min=-MAX_RANK - 1,
                           max=MAX_RANK, most=MAX_RANK + 1)}
    onnx_types = ("Transpose",)
    onnx_fallback = onnx_types        # after every specific reader of Transpose

    def infer(self, p, ins):
        return Inferred(tuple(ins[0][i] for i in _permutation(p["dims"], ins[0])))

    def field(self, p, ins, fields, out):
        perm = _permutation(p["dims"], ins[0])
        return fields[0] if perm == sorted(perm) else None

    def read(self, node, ctx):
        """Transpose whose perm keeps the batch first. A channels-first map's (0, 2, 3, 1)
        read only by nodes a channels-last region reads (LayerNorm, MatMul, ... then back)
        is left to that region (netc/onnx/reader.py)."""
        shape = ctx.input_shape(node)
        rank = len(shape) + 1
        perm = ctx.attr(node, "perm", list(range(rank))[::-1])
        if not isinstance(perm, list) or len(perm) != rank or sorted(perm) != list(range(rank)):
            raise ctx.unsupported(f"Transpose perm {perm} of a tensor of {rank} axes")
        if perm[0] != 0:
            raise ctx.unsupported(f"Transpose perm {perm} moves the batch (netc keeps it first)")
        if rank == 4 and perm == [0, 2, 3, 1] and ctx.opens_region(node):
            raise ctx.unsupported("a channels-last region's opening Transpose")
        return {"dims": tuple(perm)}

    def lower(self, p, ctx):
        """Transpose with perm [0, ...] (axes made positive)."""
        perm = _permutation(p["dims"], ctx.in_shapes[0])
        return ctx.node("Transpose", [ctx.input], perm=[0, *(i + 1 for i in perm)])

    def torch(self, p, ctx):
        """x.permute(0, *dims) (axes made positive)."""
        perm = _permutation(p["dims"], ctx.in_shapes[0])
        return f"{ctx.input}.permute(0, {', '.join(str(i + 1) for i in perm)})"


def _axes(axes, shape: Shape, op: str, extra: int = 0) -> list[int]:
    """``axes`` (with the batch) as distinct netc indices of a tensor of ``len(shape) + extra``."""
    out = [dim(a, shape, "axes", op, extra) for a in axes]
    if len(set(out)) != len(out):
        raise ShapeError(f"{op} axes {list(axes)} name an axis twice", "axes")
    return out


@register
class Squeeze(Op):
    name = "squeeze"
    doc = "drop axes of size 1"
    params = {"axes": Ints("ints", "the axes to drop, each of size 1 (default: every axis of size 1 "
                           "after the batch)", default=None, min=-MAX_RANK - 1, max=MAX_RANK,
                           scalar=False)}
    onnx_types = ("Squeeze",)
    onnx_fallback = onnx_types        # after every specific reader of Squeeze

    def drop(self, p, shape: Shape) -> list[int]:
        if p["axes"] is None:
            return [i for i, d in enumerate(shape) if d == 1]
        drop = _axes(p["axes"], shape, "squeeze")
        for i in drop:
            if shape[i] != 1:
                raise ShapeError(f"squeeze {axis_name(shape, i)} of size {shape[i]}: only axes of "
                                 "size 1 can be dropped", "axes")
        return drop

    def infer(self, p, ins):
        drop = set(self.drop(p, ins[0]))
        return Inferred(tuple(d for i, d in enumerate(ins[0]) if i not in drop))

    def field(self, p, ins, fields, out):
        return keep_field(fields, ins, out)

    def read(self, node, ctx):
        """Squeeze of constant axes after the batch (an attribute before opset 13, an input
        since); without axes, every size-1 axis but a batch that is not 1."""
        shape = ctx.input_shape(node)
        axes = ctx.axes(node)
        if axes is None:
            if ctx.has_input(node, 1) or ctx.attr(node, "axes") is not None:
                raise ctx.unsupported("Squeeze axes that are not constants")
            if ctx.batch == 1:
                raise ctx.unsupported("Squeeze without axes of a batch of 1 drops the batch")
            return {}
        try:
            drop = _axes(axes, shape, "squeeze")
        except ShapeError as e:
            raise ctx.unsupported(str(e)) from None
        if any(shape[i] != 1 for i in drop):
            raise ctx.unsupported(f"Squeeze of axes {list(axes)} of {fmt_shape(shape)}: not of size 1")
        return {"axes": tuple(i + 1 for i in drop)}

    def lower(self, p, ctx):
        """Squeeze with the axes as an input (positive); none to drop: the input itself."""
        drop = self.drop(p, ctx.in_shapes[0])
        if not drop:
            return ctx.input
        return ctx.node("Squeeze", [ctx.input, ctx.int_constant("axes", sorted(i + 1 for i in drop))])

    def torch(self, p, ctx):
        """A reshape to the output's shape (none to drop: the input itself)."""
        return torch_reshape(ctx) if self.drop(p, ctx.in_shapes[0]) else ctx.input


@register
class Unsqueeze(Op):
    name = "unsqueeze"
    doc = "insert axes of size 1"
    params = {"axes": Ints("ints", "where the new axes stand in the output (1: before the first "
                           "dimension after the batch)", min=-MAX_RANK - 1, max=MAX_RANK)}
    onnx_types = ("Unsqueeze",)
    onnx_fallback = onnx_types        # after every specific reader of Unsqueeze

    def insert(self, p, shape: Shape) -> list[int]:
        if not p["axes"]:
            raise ShapeError("unsqueeze needs at least one axis", "axes")
        return _axes(p["axes"], shape, "unsqueeze", extra=len(p["axes"]))

    def infer(self, p, ins):
        new = set(self.insert(p, ins[0]))
        rest = iter(ins[0])
        out = tuple(1 if i in new else next(rest) for i in range(len(ins[0]) + len(new)))
        _rank(out, "unsqueeze", "axes")
        return Inferred(out)

    def field(self, p, ins, fields, out):
        return keep_field(fields, ins, out)

    def read(self, node, ctx):
        """Unsqueeze of constant axes (an attribute before opset 13, an input since), none
        of them before the batch."""
        shape = ctx.input_shape(node)
        axes = ctx.axes(node)
        if not axes:
            raise ctx.unsupported("Unsqueeze axes that are not constants")
        try:
            new = _axes(axes, shape, "unsqueeze", extra=len(axes))
        except ShapeError as e:
            raise ctx.unsupported(str(e)) from None
        return {"axes": tuple(sorted(i + 1 for i in new))}

    def lower(self, p, ctx):
        """Unsqueeze with the axes as an input (positive)."""
        new = self.insert(p, ctx.in_shapes[0])
        return ctx.node("Unsqueeze", [ctx.input, ctx.int_constant("axes", sorted(i + 1 for i in new))])

    def torch(self, p, ctx):
        """A reshape to the output's shape."""
        return torch_reshape(ctx)


def broadcast_to(shape: Shape, target) -> Shape:
    """numpy's broadcast of ``shape`` with ``target`` (-1 in the target keeps the size it
    meets; new leading axes come after the batch); ShapeError when they do not broadcast."""
    n = max(len(shape), len(target))
    a = (1,) * (n - len(shape)) + tuple(shape)
    b = (None,) * (n - len(target)) + tuple(target)
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if y is None or y == -1:
            if y == -1 and i < n - len(shape):
                raise ShapeError(f"expand shape {list(target)}: -1 stands for an axis the input has, "
                                 "not a new one", "shape")
            out.append(x)
        elif x == y or x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        else:
            raise ShapeError(f"cannot expand {fmt_shape(shape)} to {list(target)}: sizes {x} and {y} "
                             "differ and neither is 1", "shape")
    return tuple(out)


@register
class Expand(Op):
    name = "expand"
    doc = "broadcast to a larger shape (PyTorch's expand, numpy's broadcast_to; the batch kept apart)"
    params = {"shape": Ints("ints", "the shape to broadcast to, without the batch; -1 keeps the "
                            "input's size", min=-1, max=MAX_DIM)}
    onnx_types = ("Expand", "Unsqueeze")
    onnx_pattern = True               # Unsqueeze of axes 1.. then Expand: ``lower``'s own form
    onnx_fallback = ("Expand",)       # after every specific reader of Expand

    def infer(self, p, ins):
        if 0 in p["shape"]:
            raise ShapeError(f"expand shape {list(p['shape'])} has a 0: sizes are positive", "shape")
        out = broadcast_to(ins[0], p["shape"])
        _rank(out, "expand", "shape")
        if numel(out) > MAX_ELEMENTS:
            raise ShapeError(f"expand to {fmt_shape(out)} gives {numel(out):,} elements per sample, beyond "
                             f"netc's limit of {MAX_ELEMENTS:,}", "shape")
        return Inferred(out)

    def field(self, p, ins, fields, out):
        return keep_field(fields, ins, out)

    def read(self, node, ctx):
        """Expand by a constant shape (the batch as 1, N or the fixed batch where the
        target reaches it), broadcast with the input as ONNX does (both ways); or
        ``lower``'s Unsqueeze -> Expand for new leading axes."""
        shape = ctx.input_shape(node)
        if node.op_type == "Unsqueeze":
            return self._unsqueezed(node, ctx, shape)
        target = ctx.value(node.input[1]) if ctx.has_input(node, 1) else None
        if target is None:
            raise ctx.unsupported("an Expand whose shape is not a constant")
        if len(target) > len(shape) + 1:
            raise ctx.unsupported(f"Expand to {target} adds axes before the batch")
        if len(target) == len(shape) + 1:
            if target[0] not in (1, "N", ctx.batch):
                raise ctx.unsupported(f"Expand to {target} changes the batch")
            target = target[1:]
        if not all(isinstance(d, int) and d >= 1 for d in target):
            raise ctx.unsupported(f"Expand to {target}")
        try:
            return {"shape": broadcast_to(shape, target)}
        except ShapeError as e:
            raise ctx.unsupported(str(e)) from None

    def _unsqueezed(self, node, ctx, shape) -> dict:
        """Unsqueeze of axes 1..k whose only reader is an Expand to [1 or the batch, *shape]
        of rank + k axes: one expand (new leading axes after the batch)."""
        axes = ctx.axes(node)
        nxt = ctx.sole_consumer(node.output[0])
        fail = ctx.unsupported("not Unsqueeze -> Expand of an expand")
        if not axes or sorted(axes) != list(range(1, len(axes) + 1)) or nxt is None \
                or nxt.op_type != "Expand" or len(nxt.input) != 2 or nxt.input[0] != node.output[0]:
            raise fail
        target = ctx.value(nxt.input[1])
        if target is None or len(target) != len(shape) + len(axes) + 1 or target[0] not in (1, "N", ctx.batch) \
                or not all(isinstance(d, int) and d >= 1 for d in target[1:]):
            raise fail
        try:
            out = broadcast_to((1,) * len(axes) + tuple(shape), target[1:])
        except ShapeError:
            raise fail from None
        ctx.take(nxt)
        return {"shape": out}

    def lower(self, p, ctx):
        """Expand to [1, *shape] (the batch broadcast as it is), after an Unsqueeze of the
        new leading axes when the output has more axes than the input."""
        x, new = ctx.input, len(ctx.out_shape) - len(ctx.in_shapes[0])
        if new:
            x = ctx.node("Unsqueeze", [x, ctx.int_constant("axes", range(1, new + 1))])
        return ctx.node("Expand", [x, ctx.int_constant("shape", [1, *ctx.out_shape])])

    def torch(self, p, ctx):
        """x.expand(-1, *shape), after new axes past the batch when the output has more."""
        new = len(ctx.out_shape) - len(ctx.in_shapes[0])
        x = f"{ctx.input}[:{', None' * new}]" if new else ctx.input
        return f"{x}.expand(-1, {', '.join(map(str, ctx.out_shape))})"


@register
class Gather(Op):
    name = "gather"
    doc = "the entries of one axis at constant indices (index_select; one index drops the axis)"
    params = {
        "indices": Ints("ints", "the indices taken, in order (negative from the end); one integer "
                        "instead of a list drops the axis", min=-MAX_DIM, max=MAX_DIM, scalar=True,
                        most=1 << 16),
        "axis": axis_param("the axis indexed"),
    }
    onnx_types = ("Gather",)
    onnx_fallback = onnx_types        # after every specific reader of Gather

    def infer(self, p, ins):
        shape = ins[0]
        i = dim(p["axis"], shape, op="gather")
        idx = p["indices"]
        n = shape[i]
        for k in (idx,) if isinstance(idx, int) else idx:
            if not -n <= k < n:
                raise ShapeError(f"gather index {k} is out of range for {axis_name(shape, i)} of size {n} "
                                 f"(-{n} to {n - 1})", "indices")
        if isinstance(idx, int):
            return Inferred(shape[:i] + shape[i + 1:])
        if not idx:
            raise ShapeError("gather needs at least one index", "indices")
        return Inferred((*shape[:i], len(idx), *shape[i + 1:]))

    def field(self, p, ins, fields, out):
        return fields[0] if dim(p["axis"], ins[0]) == 0 and len(out.shape) == len(ins[0]) else None

    def read(self, node, ctx):
        """Gather of constant indices (a scalar or a list) on an axis after the batch."""
        shape = ctx.input_shape(node)
        idx_shape = ctx.static_shape(node.input[1]) if ctx.has_input(node, 1) else None
        idx = ctx.value(node.input[1]) if ctx.has_input(node, 1) else None
        if idx is None or idx_shape is None or len(idx_shape) > 1 or not all(
                isinstance(k, int) and not isinstance(k, bool) for k in idx):
            raise ctx.unsupported("a Gather whose indices are not constants of rank 0 or 1")
        axis = ctx.attr(node, "axis", 0)
        try:
            dim(axis, shape, op="Gather")
        except ShapeError as e:
            raise ctx.unsupported(str(e)) from None
        return {"indices": idx[0] if len(idx_shape) == 0 else tuple(idx),
                "axis": axis % (len(shape) + 1)}

    def lower(self, p, ctx):
        """Gather with the indices as an int64 constant (a scalar for one index)."""
        i = dim(p["axis"], ctx.in_shapes[0])
        idx = p["indices"]
        return ctx.node("Gather", [ctx.input, ctx.constant("indices", idx if isinstance(idx, int)
                                                            else list(idx), "int64")], axis=i + 1)

    def torch(self, p, ctx):
        """Indexing the axis with the indices (one integer drops it): x[:, :, [2, 0]]."""
        i, idx = dim(p["axis"], ctx.in_shapes[0]), p["indices"]
        return f"{ctx.input}[{':, ' * (i + 1)}{idx if isinstance(idx, int) else list(idx)}]"


def torch_reshape(ctx) -> str:
    """PyTorch's reshape of the layer's input to its output's shape, the batch kept."""
    return f"{ctx.input}.reshape({', '.join([f'{ctx.input}.shape[0]', *map(str, ctx.out_shape)])})"


@register
class Scatter(Op):
    name = "scatter"
    doc = ("the first input with the entries at constant indices of one axis replaced by the second "
           "input's, in order (PyTorch's y[:, idx] = u on a copy, index_copy; ONNX's ScatterND)")
    params = {
        "indices": Ints("ints", "the distinct indices written, one per entry of the second input along "
                        "the axis (negative from the end)", min=-MAX_DIM, max=MAX_DIM, most=1 << 16),
        "axis": axis_param("the axis written"),
    }
    arity = (2, 2)
    onnx_types = ("ScatterND",)

    def infer(self, p, ins):
        shape, upd = ins
        i = dim(p["axis"], shape, op="scatter")
        n, idx = shape[i], p["indices"]
        if not idx:
            raise ShapeError("scatter needs at least one index", "indices")
        for k in idx:
            if not -n <= k < n:
                raise ShapeError(f"scatter index {k} is out of range for {axis_name(shape, i)} of size {n} "
                                 f"(-{n} to {n - 1})", "indices")
        if len({k % n for k in idx}) != len(idx):
            raise ShapeError(f"scatter indices {list(idx)} write an entry twice", "indices")
        want = (*shape[:i], len(idx), *shape[i + 1:])
        if tuple(upd) != want:
            raise ShapeError(f"scatter of {fmt_shape(upd)} into {fmt_shape(shape)} at {len(idx)} indices of "
                             f"{axis_name(shape, i)}: the second input must be {fmt_shape(want)}")
        return Inferred(tuple(shape))

    def field(self, p, ins, fields, out):
        return None           # entries from two inputs: no one window

    def read(self, node, ctx):
        """ScatterND(data, indices, updates) without reduction whose indices (N, K, 2) are the
        batch index beside K constant indices of the axis after it (``ctx.batch_rows``: YOLO
        pose's keypoint decode as TorchScript exports it)."""
        if ctx.attr(node, "reduction", "none") != "none":
            raise ctx.unsupported(f"ScatterND with reduction {ctx.attr(node, 'reduction')!r}")
        if not ctx.has_input(node, 1) or ctx.is_feature(node.input[1]) or not ctx.is_feature(node.input[0]):
            raise ctx.unsupported("ScatterND of indices computed from the network input")
        rows = ctx.batch_rows(node.input[1])
        if any(len(r) != 1 for r in rows):
            raise ctx.unsupported("ScatterND indices of depth other than 2 (the batch and one axis)")
        return {"indices": tuple(r[0] for r in rows), "axis": 1}

    def lower(self, p, ctx):
        """ScatterElements on the axis, its indices a constant expanded to the second input's
        shape (ScatterElements wants one index per entry)."""
        i = dim(p["axis"], ctx.in_shapes[0])
        upd = ctx.in_shapes[1]
        idx = [[int(k) % ctx.in_shapes[0][i]] for k in p["indices"]]
        shaped = ctx.constant("indices", _nested(idx, i, len(upd)), "int64")
        full = ctx.node("Expand", [shaped, ctx.node("Shape", [ctx.inputs[1]])])
        return ctx.node("ScatterElements", [ctx.inputs[0], full, ctx.inputs[1]], axis=i + 1)

    def torch(self, p, ctx):
        """index_copy of the second input into the first along the axis (a new tensor)."""
        i = dim(p["axis"], ctx.in_shapes[0])
        n = ctx.in_shapes[0][i]
        idx = [int(k) % n for k in p["indices"]]
        return (f"{ctx.inputs[0]}.index_copy({i + 1}, torch.tensor({idx}, device={ctx.inputs[0]}.device), "
                f"{ctx.inputs[1]})")


def _nested(idx: list, axis: int, rank: int):
    """The indices (a list of [k]) as a nested list of shape (1, ..., K, ..., 1): K at netc
    axis ``axis`` of a tensor of ``rank`` axes besides the batch (which is the leading 1)."""
    value = [k for (k,) in idx]
    for _ in range(rank - 1 - axis):
        value = [[v] for v in value]
    for _ in range(axis):
        value = [value]
    return [value]
