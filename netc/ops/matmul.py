"""Matrix products of two layers' outputs (attention's q·kᵀ and its product with v).

    matmul: (*stack_a, n, k) @ (*stack_b, k, m) -> (*broadcast(stack_a, stack_b), n, m)
            both inputs of rank 2 or more (the batch excluded: every sample has its own
            matrices, as ONNX's MatMul of (N, ..., n, k) and (N, ..., k, m) computes);
            the stacking dimensions broadcast as numpy's (aligned at the end);
            macs = stacked matrices * n * k * m; flops = 2 * macs; no parameters

A MatMul by a weight (an initializer) is a layer with parameters, read by ``dense``
(a vector) and ``conv`` (kernel 1, channels-last), which come first.
"""

from __future__ import annotations

from .arith import torch_aligned, unsqueeze_to
from .axes import broadcast
from .registry import Cost, Inferred, Op, ShapeError, fmt_shape, numel, register


@register
class MatMul(Op):
    name = "matmul"
    doc = "the matrix product of two layers' outputs over their last two axes, batched (torch.matmul)"
    arity = (2, 2)
    onnx_types = ("MatMul",)

    def infer(self, p, ins):
        a, b = ins
        if len(a) < 2 or len(b) < 2:
            raise ShapeError("matmul needs inputs of rank 2 or more besides the batch (matrices "
                             f"(n, k) and (k, m)), got {fmt_shape(a)} and {fmt_shape(b)}")
        if a[-1] != b[-2]:
            raise ShapeError(f"matmul of {fmt_shape(a)} and {fmt_shape(b)}: the first's last axis "
                             f"({a[-1]}) must equal the second's next-to-last ({b[-2]})")
        stack = broadcast(self.name, [a[:-2], b[:-2]])
        return Inferred((*stack, a[-2], b[-1]))

    def cost(self, p, ins, out):
        (a, b), shape = ins, out.shape
        macs = numel(shape[:-2]) * a[-2] * a[-1] * b[-1]
        return Cost(macs=macs, flops=2 * macs)

    def field(self, p, ins, fields, out):
        return None          # each output mixes whole rows and columns: not a map's window

    def read(self, node, ctx):
        """MatMul of two tensors computed from the network input, of the same rank (3 or
        more with the batch: ONNX aligns tensors of other ranks with the batch among their
        matrices' dimensions)."""
        a, b = ctx.input_shape(node, 0), ctx.input_shape(node, 1)
        if len(a) != len(b):
            raise ctx.unsupported(f"MatMul of tensors of ranks {len(a) + 1} and {len(b) + 1}")
        if len(a) < 2:
            raise ctx.unsupported(f"MatMul of rank-{len(a) + 1} tensors (the batch among the matrix "
                                  "dimensions)")
        return {}

    def lower(self, p, ctx):
        """MatMul, an input of lower rank Unsqueezed after the batch."""
        rank = len(ctx.out_shape)
        return ctx.node("MatMul", [unsqueeze_to(ctx, x, s, rank) for x, s in zip(ctx.inputs, ctx.in_shapes)])

    def torch(self, p, ctx):
        """torch.matmul, an input of lower rank indexed with new axes after the batch."""
        rank = len(ctx.out_shape)
        a, b = (torch_aligned(x, s, rank) for x, s in zip(ctx.inputs, ctx.in_shapes))
        return f"torch.matmul({a}, {b})"
