"""Reductions over any axes of a tensor of any rank, and log_softmax on any axis.

    reduce_mean, reduce_sum, reduce_max, reduce_min, reduce_l2:
        axes: the axes reduced (PyTorch's and ONNX's numbers: axis 1 is the first after
        the batch, negative ones count from the end; default every axis but the batch);
        keepdims: keep each reduced axis as a 1 (PyTorch's keepdim; default false)
        flops, n the elements of the input, m of the output:
            mean  n        (n - m adds, m divides)
            sum   n - m    adds
            max   n - m    comparisons (min alike)
            l2    2n       (n squares, n - m adds, m square roots)
    log_softmax: x - log(sum exp(x)) along ``axis`` (default 1, the channels, as softmax);
        flops 5 per element (max, subtract, exp, sum, subtract) + 1 per softmax row (log)

The global pools (global_avgpool, global_maxpool) stay the readers of ReduceMean and
ReduceMax over height and width; these read what they do not.
"""

from __future__ import annotations

from .axes import Axes, axis_index, axis_set, field_over, softmax_axis
from .registry import Cost, Inferred, Op, Param, ShapeError, numel, register


class _Reduce(Op):
    kind = ""
    onnx_op = ""
    channels_last = False
    params = {
        "axes": Axes("axes", "the axes reduced: 1 is the first after the batch, -1 the last; "
                     "default every axis but the batch", default=None),
        "keepdims": Param("bool", "keep each reduced axis as a 1 (PyTorch's keepdim)", default=False),
    }

    def infer(self, p, ins):
        dims = axis_set(p["axes"], len(ins[0]), self.name)
        shape = ins[0]
        if not shape:
            raise ShapeError(f"{self.name} needs a tensor with an axis besides the batch, got one number "
                             "per sample", "axes")
        if p["keepdims"]:
            return Inferred(tuple(1 if i in dims else d for i, d in enumerate(shape)))
        return Inferred(tuple(d for i, d in enumerate(shape) if i not in dims))

    def cost(self, p, ins, out):
        n, m = numel(ins[0]), numel(out.shape)
        return Cost(flops={"mean": n, "sum": n - m, "max": n - m, "min": n - m, "l2": 2 * n}[self.kind])

    def field(self, p, ins, fields, out):
        return field_over(fields[0], ins[0], axis_set(p["axes"], len(ins[0]), self.name), out.shape)

    def lower(self, p, ctx):
        """ReduceX with the axes (every one but the batch by default) and keepdims: an
        attribute below opset 18 (13 for ReduceSum), an input since."""
        rank = len(ctx.in_shapes[0])
        axes = [d + 1 for d in axis_set(p["axes"], rank, self.name)]
        keep = int(p["keepdims"])
        since = 13 if self.kind == "sum" else 18
        if ctx.opset >= since:
            return ctx.node(self.onnx_op, [ctx.input, ctx.int_constant("axes", axes)], keepdims=keep)
        return ctx.node(self.onnx_op, [ctx.input], axes=axes, keepdims=keep)

    def torch(self, p, ctx):
        """torch.mean, sum, amax, amin or linalg.vector_norm over the axes (with the batch)."""
        dims = tuple(d + 1 for d in axis_set(p["axes"], len(ctx.in_shapes[0]), self.name))
        keep = ", keepdim=True" if p["keepdims"] else ""
        if self.kind == "l2":
            return f"torch.linalg.vector_norm({ctx.input}, 2, {dims}{keep})"
        fn = {"mean": "mean", "sum": "sum", "max": "amax", "min": "amin"}[self.kind]
        return f"torch.{fn}({ctx.input}, {dims}{keep})"

    def read(self, node, ctx):
        """ReduceX over constant axes (an attribute, or an input since opset 18; 13 for
        ReduceSum) that leave the batch alone; keepdims (ONNX's default 1)."""
        shape = ctx.input_shape(node)
        axes = ctx.axes(node)
        rank = len(shape) + 1
        if axes is None or len(axes) == 0:
            if ctx.has_input(node, 1):
                raise ctx.unsupported(f"{node.op_type} over axes that are not constants")
            if ctx.attr(node, "noop_with_empty_axes", 0):
                raise ctx.unsupported(f"{node.op_type} with no axes and noop_with_empty_axes (a no-op)")
            raise ctx.unsupported(f"{node.op_type} over every axis, the batch too")
        if not all(isinstance(a, int) and -rank <= a < rank for a in axes) or len({a % rank for a in axes}) != len(axes):
            raise ctx.unsupported(f"{node.op_type} over axes {list(axes)} of a rank-{rank} tensor")
        if any(a % rank == 0 for a in axes):
            raise ctx.unsupported(f"{node.op_type} over the batch (axes {list(axes)})")
        keep = bool(ctx.attr(node, "keepdims", 1))
        every = sorted(a % rank for a in axes) == list(range(1, rank))
        return {"axes": None if every else tuple(sorted(a % rank for a in axes)), "keepdims": keep}


def _reduce(kind: str, onnx_op: str, doc: str) -> type:
    cls = type(f"Reduce{kind.capitalize()}", (_Reduce,), {
        "name": f"reduce_{kind}", "kind": kind, "onnx_op": onnx_op, "onnx_types": (onnx_op,),
        "doc": doc, "__module__": __name__})
    return register(cls)


ReduceMean = _reduce("mean", "ReduceMean", "the mean over axes (torch.mean)")
ReduceSum = _reduce("sum", "ReduceSum", "the sum over axes (torch.sum)")
ReduceMax = _reduce("max", "ReduceMax", "the maximum over axes (torch.amax)")
ReduceMin = _reduce("min", "ReduceMin", "the minimum over axes (torch.amin)")
ReduceL2 = _reduce("l2", "ReduceL2", "the Euclidean norm over axes (torch.linalg.vector_norm, "
                   "ConvNeXt-V2's global response norm)")


@register
class LogSoftmax(Op):
    name = "log_softmax"
    doc = "log(softmax(x)) along an axis, computed as x - log(sum exp(x)) (torch.log_softmax)"
    onnx_types = ("LogSoftmax",)
    params = {"axis": Param("int", "the axis: 1 is the first after the batch (the channels), -1 the "
                            "last", default=1, min=-17, max=16)}

    def infer(self, p, ins):
        axis_index(p["axis"], len(ins[0]), self.name)
        return Inferred(ins[0])

    def cost(self, p, ins, out):
        n = numel(out.shape)
        size = ins[0][axis_index(p["axis"], len(ins[0]), self.name)]
        return Cost(flops=5 * n + n // size)

    def field(self, p, ins, fields, out):
        return field_over(fields[0], ins[0], (axis_index(p["axis"], len(ins[0]), self.name),), out.shape)

    def read(self, node, ctx):
        """LogSoftmax over one axis (not the batch): any axis from opset 13, before it the
        last, or one after which every size is 1."""
        return {"axis": softmax_axis(self.name, node, ctx)}

    def torch(self, p, ctx):
        """F.log_softmax over ``axis`` (counted with the batch, as torch's dim)."""
        return f"F.log_softmax({ctx.input}, dim={p['axis']})"

    def lower(self, p, ctx):
        return ctx.node("LogSoftmax", [ctx.input], axis=axis_index(p["axis"], len(ctx.in_shapes[0]),
                                                                     self.name) + 1)
