"""``netc sizes``: the input sizes at which a network loads and every window is exact.

For one spatial axis at a time (the other held at the file's size), the set of input
sizes N at which the network loads (no E004) and no window leaves real rows unread
(no A001), derived from each layer's equation rather than by trying sizes:

    L_out = floor((N + P_begin + P_end - E) / S) + 1,   E = D(F - 1) + 1

Sizes are propagated as a set of *classes*: N = M t + rho for t in [t_lo, t_hi],
within which every tensor's side is affine in t (a t + b). A window of stride S splits
a class into the S / gcd(a, S) sub-classes on which its remainder is one number; the
sub-classes whose remainder leaves real rows unread are dropped (A001), and a side
that must reach a minimum (a kernel inside the padded input, a crop inside its
input) raises t_lo. A merge (add, mul, concat, crop to a second input) keeps the
t at which its inputs agree: all of a class when they are the same affine function,
else at most one size. A dense layer reads as many features as at the file's size
(its weights were sized there), which fixes the side. Ceil-mode pools, 'same'
padding, transposed convolutions, upsampling by a scale whose float is p/q with a
small p, to a size or to a second input, adaptive and global pools, crops and pads
each have their closed form here, and so do views: with one axis varying, a tensor's
element count is affine in t, so a reshape (a -1 where its other sizes divide the
count, or a second input's shape where the counts agree), a transpose, a matrix
product (where its inner sides agree) and elementwise ops with numpy's broadcasting
(a constant's by_shape -1 taking the others' side) carry affine shapes on as well.
The work is (classes x layers), independent of the range asked for; classes
are at most the product of the strides met (32 for a network of total stride 32).

A layer with no closed form here (an op this module does not know, an upsample
scale whose float is not a small fraction) is met by a bounded scan: each size of
the scan window reaching it becomes a class of its own, and its own shape rule
answers (``AxisSizes.scanned`` names such layers). A netc file whose expressions
read a side (``in.height``) is expanded again at each size of the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from .analysis import analyze
from .diagnostics import SHAPE, NetcError
from .fit import at_size, dense_features, drops_rows, problems
from .graph import Graph
from .ops import OPS, ShapeError
from .ops.arith import Operands, _Unary
from .ops.axes import axis_set, dim
from .ops.reduce import LogSoftmax, _Reduce
from .ops.tensor import _permutation
from .ops.transpose import MAX_SIDE
from .ops.window import axis_names

MAX_CLASSES = 4096          # live classes at one layer before the derivation narrows to the window
MAX_STEPS = 4_000_000       # class-by-layer steps, in all
SCAN_LIMIT = 1 << 16        # sizes a scan may visit
READ_LIMIT = 2048           # sizes an ONNX model whose layers change with the size is read at, per axis
EXACT_FLOAT = 1 << 32       # an upsample scale p/q (its float) with p below this is floor(p N / q)
LISTED = 12                 # sizes a rule names besides its progression
ONE = (0, 1)                # the side 1, constant


def _rank(shape) -> int:
    """The spatial axes of a map (channels, 1 to 3 sides); 0 for any other tensor."""
    return len(shape) - 1 if 2 <= len(shape) <= 4 else 0


def _name(shape, k: int) -> str:
    """How messages name spatial axis ``k`` of a map (length; height, width; depth, ...)."""
    return axis_names(_rank(shape))[k]

# ops that keep every spatial side and whose shape rule does not read it
KEEP = {"batchnorm", "dropout", "layernorm", "scale", "lrn", "channel_shuffle", "identity"}
# ops whose result is no map of the input's spatial axes (the total stride ends there)
VIEWS = {"flatten", "dense", "reshape", "permute", "matmul"}


class SizesError(ValueError):
    """The sizes cannot be derived within netc's limits (a usage error: narrow the range)."""


class _Overflow(Exception):
    pass


@dataclass
class _Class:
    """Input sizes N = m*t + rho, t in [lo, hi]; ``env``: the live tensors' shapes, each
    dimension (a, b) meaning a*t + b."""

    m: int
    rho: int
    lo: int
    hi: int
    env: dict

    def size(self, t: int) -> int:
        return self.m * t + self.rho

    @property
    def single(self) -> bool:
        return self.lo == self.hi

    def narrowed(self, lo: int, hi: int) -> "_Class | None":
        lo, hi = max(lo, self.lo), min(hi, self.hi)
        if lo > hi:
            return None
        return self if (lo, hi) == (self.lo, self.hi) else _Class(self.m, self.rho, lo, hi, self.env)


def _refine(c: _Class, g: int, j: int, lo: int, hi: int) -> _Class:
    """The sub-class t = g*u + j of ``c``, u in [lo, hi], its tensors in terms of u."""
    env = {k: tuple((a * g, a * j + b) for a, b in shape) for k, shape in c.env.items()}
    return _Class(c.m * g, c.rho + c.m * j, lo, hi, env)


def _at(x, c: _Class, t: int | None = None) -> int:
    a, b = x
    return a * (c.lo if t is None else t) + b


def _split(c: _Class, x, s: int):
    """x = s*q + r on each sub-class where r is one number: yields (sub, x, q, r), x and q
    in the sub-class's terms."""
    a, b = x
    g = s // math.gcd(a, s)
    if g == 1:
        yield c, x, (a // s, b // s), b % s
        return
    js = range(g) if c.hi - c.lo + 1 >= g else sorted({t % g for t in range(c.lo, c.hi + 1)})
    for j in js:
        lo, hi = -((j - c.lo) // g), (c.hi - j) // g
        if lo > hi:
            continue
        sub = _refine(c, g, j, lo, hi)
        xb = a * j + b
        yield sub, (a * g, xb), (a * g // s, xb // s), xb % s


def _at_least(c: _Class | None, x, v: int) -> _Class | None:
    """``c`` narrowed to x >= v."""
    if c is None:
        return None
    a, b = x
    if a == 0:
        return c if b >= v else None
    if a > 0:
        return c.narrowed(-((b - v) // a), c.hi)
    return c.narrowed(c.lo, (b - v) // -a)


def _at_most(c, x, v: int):
    return _at_least(c, (-x[0], -x[1]), -v)


def _equal(c: _Class | None, x, y) -> _Class | None:
    """``c`` narrowed to x == y: all of it, one size, or nothing."""
    if c is None:
        return None
    a, b = x[0] - y[0], x[1] - y[1]
    if a == 0:
        return c if b == 0 else None
    if b % a:
        return None
    t = -b // a
    return c.narrowed(t, t)


def _const(shape) -> tuple:
    return tuple((0, d) for d in shape)


def _carry(old: _Class, new: _Class, shape) -> tuple:
    """A shape in ``old``'s terms, in those of ``new``, a sub-class of ``old``."""
    g, j = new.m // old.m, (new.rho - old.rho) // old.m
    return shape if (g, j) == (1, 0) else tuple((a * g, a * j + b) for a, b in shape)


def _per_axis(c: _Class, shape, rule) -> list:
    """Apply ``rule(class, side, k) -> (sub-class, new side)...`` to each spatial side in
    turn: [(sub-class, shape)], each shape in its sub-class's terms."""
    done = [(c, shape)]
    for k in range(len(shape) - 1):
        step = []
        for cl, s in done:
            for sub, side in rule(cl, s[1 + k], k):
                s2 = list(_carry(cl, sub, s))
                s2[1 + k] = side
                step.append((sub, tuple(s2)))
        done = step
    return done


@dataclass
class _Run:
    """One derivation over the domain [lo, hi] of one axis."""

    graph: Graph
    axis: int                           # 1 + the spatial axis studied
    lo: int
    hi: int
    window: tuple[int, int]             # where a scan may look
    features: dict | None               # dense layers' features at the file's size (None: unknown)
    exact: bool = True                  # False: loading alone (A001 allowed)
    scanned: dict = field(default_factory=dict)     # layer -> why it was scanned
    why: dict = field(default_factory=dict)         # layer -> why some sizes stop there
    visited: int = 0
    steps: int = 0

    def drop(self, node, message: str) -> list:
        self.why.setdefault(node.name, message)
        return []

    # -- the walk ---------------------------------------------------------------------------------
    def classes(self) -> list[_Class]:
        g = self.graph
        shape = list(_const(g.input_shape))
        shape[self.axis] = (1, 0)
        live = [_Class(1, 0, self.lo, self.hi, {g.input_name: tuple(shape)})]
        last = {}
        for i, node in enumerate(g.nodes):
            for name in node.inputs:
                last[name] = i
        dead: dict[int, list[str]] = {}
        for name, i in last.items():
            dead.setdefault(i, []).append(name)
        for i, node in enumerate(g.nodes):
            out = []
            for c in live:
                results = self.layer(node, c)
                for sub, shape in results:
                    if sub.env is c.env and len(results) > 1:
                        sub = _Class(sub.m, sub.rho, sub.lo, sub.hi, dict(c.env))
                    sub.env[node.name] = shape
                    out.append(sub)
            for c in out:
                for name in dead.get(i, ()):
                    c.env.pop(name, None)
            live = out
            self.steps += len(live)
            if len(live) > MAX_CLASSES or self.steps > MAX_STEPS:
                raise _Overflow
            if not live:
                break
        return live

    def layer(self, node, c: _Class) -> list:
        ins = [c.env[i] for i in node.inputs]
        if c.single or all(a == 0 for s in ins for a, _ in s):
            return self.concrete(node, c, ins)
        rule = getattr(self, "op_" + node.op, None)
        if rule is None:
            if node.op in KEEP or type(OPS[node.op]).__module__.endswith(".activation") or \
                    isinstance(OPS[node.op], (_Unary, LogSoftmax)):
                rule = self.keep
            elif isinstance(OPS[node.op], Operands):
                rule = self.operands
            elif isinstance(OPS[node.op], _Reduce):
                rule = self.reduce
            else:
                return self.scan(node, c, ins, f"{node.op} has no closed form here")
        try:
            p = _per_axis_nd(node.op, node.params, _rank(ins[0]) if ins else 0)
        except ShapeError:      # a per-axis parameter of another rank: the op's own rule says so
            return self.concrete(node, c, ins)
        return rule(node, c, ins, p)

    def scan(self, node, c: _Class, ins, why: str) -> list:
        """Each size of the window in ``c``: a class of its own, answered by the op's rule."""
        self.scanned.setdefault(node.name, why)
        lo, hi = self.window
        t_lo = max(c.lo, -((c.rho - lo) // c.m))
        t_hi = min(c.hi, (hi - c.rho) // c.m)
        self.visited += max(0, t_hi - t_lo + 1)
        if self.visited > SCAN_LIMIT:
            raise SizesError(f"{node.name}: {why}, and scanning it would visit more than "
                             f"{SCAN_LIMIT:,} sizes: give a narrower --range")
        out = []
        for t in range(t_lo, t_hi + 1):
            one = c.narrowed(t, t)
            out += self.concrete(node, one, ins)
        return out

    def concrete(self, node, c: _Class, ins) -> list:
        """The op's own shape rule at the class's one size (or on constant inputs)."""
        shapes = [tuple(_at(d, c) for d in s) for s in ins]
        try:
            inferred = OPS[node.op].infer(node.params, shapes)
        except ShapeError as e:
            return self.drop(node, f"{node.name}: {e}")
        names = axis_names(len(inferred.windows)) if 1 <= len(inferred.windows or ()) <= 3 else ()
        for k, w in enumerate(inferred.windows or ()):
            if self.exact and drops_rows(w):
                return self.drop(node, f"{node.name}: {names[k] if names else k} ({w.size} + {w.padding} - {w.extent})/"
                                 f"{w.stride} + 1 is not whole (A001)")
        if node.op == "dense":
            rest = self.dense_check(node, c, (0, shapes[0][0]))
            if rest is None:
                return []
        return [(c, _const(inferred.shape))]

    # -- the ops ----------------------------------------------------------------------------------
    def keep(self, node, c, ins, p):
        return [(c, ins[0])]

    def op_slice(self, node, c, ins, p):
        """[start, end) of one axis, every step-th: ceil((end - start) / step) entries."""
        try:
            i = dim(p["axis"], ins[0], op="slice")
        except ShapeError:
            return self.concrete(node, c, ins)
        x, start, step = ins[0][i], p["start"], p.get("step") or 1
        if p["end"] is not None and p["end"] <= start:
            return self.concrete(node, c, ins)
        sub = _at_least(c, x, start + 1 if p["end"] is None else p["end"])
        if sub is None:
            return self.drop(node, f"{node.name}: the slice reaches past its input's side")
        span = (x[0], x[1] - start) if p["end"] is None else (0, p["end"] - start)
        out = []
        for cl, _, q, _r in _split(sub, (span[0], span[1] + step - 1), step):
            shape = list(_carry(sub, cl, ins[0]))
            shape[i] = q
            out.append((cl, tuple(shape)))
        return out

    def _windows(self, node, c, ins, p, out_channels, stride, dilation, ceil):
        if not _rank(ins[0]):
            return self.concrete(node, c, ins)
        kernel, padding = p["kernel"], p["padding"]
        done = _per_axis(c, ins[0], lambda cl, x, k: self.slide(
            node, cl, x, _name(ins[0], k), kernel[k], stride[k], "same" if padding == "same" else padding[k], dilation[k], ceil))
        return [(cl, ((0, out_channels), *shape[1:])) for cl, shape in done]

    def slide(self, node, c, x, axis, kernel, stride, pads, dilation, ceil):
        """Equation 2 along one axis: yields (sub-class, output side)."""
        extent = dilation * (kernel - 1) + 1
        if pads == "same":
            for sub, x2, q, r in _split(c, x, stride):
                total = max(stride * (r > 0) - stride + extent - r, 0)
                yield from self.slide(node, sub, x2, axis, kernel, stride,
                                       (total // 2, total - total // 2), dilation, False)
            return
        pb, pe = pads
        span = (x[0], x[1] + pb + pe - extent)
        if not ceil:
            c = _at_least(c, span, 0)
            if c is None:
                self.drop(node, f"{node.name}: {axis}: kernel {extent} is larger than the padded input")
                return
        for sub, _, q, r in _split(c, span, stride):
            if ceil:
                up = int(r > 0)
                reduce = int(pe - extent - r + stride * up >= 0)
                out = (q[0], q[1] + up + 1 - reduce)
                gap = pe - r + stride * up - stride * reduce
                sub = _at_least(sub, out, 1)
                if sub is None:
                    self.drop(node, f"{node.name}: {axis}: no window fits")
                    continue
            else:
                out, gap = (q[0], q[1] + 1), pe - r
            if self.exact and gap < 0 and stride <= extent:
                self.drop(node, f"{node.name}: {axis}: its input side n gives (n + {pb + pe} - {extent}) "
                          f"mod {stride} = {r}: {-gap} row{'s' if -gap > 1 else ''} never read (A001)")
                continue
            yield sub, out

    def op_conv(self, node, c, ins, p):
        return self._windows(node, c, ins, p, p["filters"], p["stride"], p["dilation"], False)

    def _pool(self, node, c, ins, p):
        if not _rank(ins[0]):
            return self.concrete(node, c, ins)
        return self._windows(node, c, ins, p, _at(ins[0][0], c), p["stride"] or p["kernel"],
                             (1,) * _rank(ins[0]), p["ceil_mode"])

    op_maxpool = op_avgpool = _pool

    def op_conv_transpose(self, node, c, ins, p):
        n = _rank(ins[0])
        if not n or any(o >= max(s, d) for o, s, d in zip(p["output_padding"], p["stride"], p["dilation"])):
            return self.concrete(node, c, ins)
        shape = [(0, p["filters"])]
        for k in range(n):
            (a, b), s = ins[0][1 + k], p["stride"][k]
            o = (a * s, (b - 1) * s - 2 * p["padding"][k] + p["dilation"][k] * (p["kernel"][k] - 1)
                 + p["output_padding"][k] + 1)
            c = _at_most(_at_least(c, o, 1), o, MAX_SIDE)
            if c is None:
                return self.drop(node, f"{node.name}: {_name(ins[0], k)}: the output side leaves 1 to {MAX_SIDE:,}")
            shape.append(o)
        return [(c, tuple(shape))]

    def op_upsample(self, node, c, ins, p):
        asked = (p["scale"] is not None) + (p["size"] is not None) + (len(ins) > 1)
        if not _rank(ins[0]) or asked != 1 or (p["align_corners"] and p["mode"] != "bilinear") or \
                (len(ins) > 1 and len(ins[1]) != len(ins[0])):
            return self.concrete(node, c, ins)
        if p["scale"] is None:
            target = ins[1][1:] if len(ins) > 1 else tuple((0, v) for v in p["size"])
            return [(c, (ins[0][0], *target))]
        ratios = [float(s).as_integer_ratio() for s in p["scale"]]
        if any(num >= EXACT_FLOAT for num, _ in ratios):
            return self.scan(node, c, ins, f"scale {list(p['scale'])} is not a small fraction p/q")

        def scaled(cl, x, k):
            (num, den), s = ratios[k], p["scale"][k]
            for sub, _, q, _r in _split(cl, (x[0] * num, x[1] * num), den):
                sub = _at_most(_at_least(sub, q, 1), q, MAX_SIDE)
                if sub is None:
                    self.drop(node, f"{node.name}: {_name(ins[0], k)}: scale {s} gives a side outside 1 to {MAX_SIDE:,}")
                    continue
                yield sub, q

        return _per_axis(c, ins[0], scaled)

    def op_crop(self, node, c, ins, p):
        if not _rank(ins[0]) or (p["size"] is not None) + (len(ins) > 1) != 1 or \
                (len(ins) > 1 and len(ins[1]) != len(ins[0])):
            return self.concrete(node, c, ins)
        target = ins[1][1:] if len(ins) > 1 else tuple((0, v) for v in p["size"])
        for k in range(_rank(ins[0])):
            x, y = ins[0][1 + k], target[k]
            c = _at_least(c, (x[0] - y[0], x[1] - y[1]), 0)
            if c is None:
                return self.drop(node, f"{node.name}: {_name(ins[0], k)}: the crop is larger than its input")
        return [(c, (ins[0][0], *target))]

    def op_pad(self, node, c, ins, p):
        if len(ins[0]) != 3 or (p.get("value", 0) != 0 and p["mode"] != "constant"):    # pad is 2-D: its rule says
            return self.concrete(node, c, ins)
        shape = [ins[0][0]]
        for k, (t, b) in enumerate(p["padding"]):
            x = ins[0][1 + k]
            if p["mode"] in ("reflect", "circular"):    # PyTorch: reflect below the side, circular up to it
                c = _at_least(c, x, max(t, b) + (p["mode"] == "reflect"))
            o = (x[0], x[1] + t + b)
            c = _at_most(c, o, MAX_SIDE)
            if c is None:
                return self.drop(node, f"{node.name}: {_name(ins[0], k)}: the padding does not fit")
            shape.append(o)
        return [(c, tuple(shape))]

    def _fixed(self, node, c, ins, p):
        if not _rank(ins[0]):
            return self.concrete(node, c, ins)
        return [(c, (ins[0][0], *((0, v) for v in p["size"])))]

    op_adaptive_avgpool = op_adaptive_maxpool = _fixed

    def _global(self, node, c, ins, p):
        if not _rank(ins[0]):
            return self.concrete(node, c, ins)
        return [(c, (ins[0][0], *(ONE,) * _rank(ins[0])) if p["keepdims"] else (ins[0][0],))]

    op_global_avgpool = op_global_maxpool = _global

    def op_flatten(self, node, c, ins, p):
        n = [(0, 1)]
        for a, b in ins[0]:
            if a and n[0][0]:
                return self.scan(node, c, ins, "flatten of two growing sides")
            n = [(n[0][0] * b + a * n[0][1], n[0][1] * b)] if a else [(n[0][0] * b, n[0][1] * b)]
        return [(c, (n[0],))]

    def op_dense(self, node, c, ins, p):
        if len(ins[0]) != 1:
            return self.concrete(node, c, ins)
        c = self.dense_check(node, c, ins[0][0])
        return [] if c is None else [(c, ((0, p["units"]),))]

    def dense_check(self, node, c, x):
        if self.features is None:
            return c
        want = self.features.get(node.name)
        if want is None:
            self.drop(node, f"{node.name}: its weights are sized at the file's input size, which does not load")
            return None
        c = _equal(c, x, (0, want))
        if c is None:
            self.drop(node, f"{node.name}: its weights take {want:,} features, as at the file's size")
        return c

    def op_concat(self, node, c, ins, p):
        if any(len(s) != len(ins[0]) for s in ins):
            return self.concrete(node, c, ins)
        try:
            i = dim(p["axis"], ins[0], op="concat")
        except ShapeError:
            return self.concrete(node, c, ins)
        for s in ins[1:]:
            for k, (x, y) in enumerate(zip(ins[0], s)):
                if k != i:
                    c = _equal(c, x, y)
        if c is None:
            return self.drop(node, f"{node.name}: its inputs' sides differ")
        if c.single:
            return self.concrete(node, c, [tuple((0, _at(d, c)) for d in s) for s in ins])
        joined = (sum(s[i][0] for s in ins), sum(s[i][1] for s in ins))
        return [(c, (*ins[0][:i], joined, *ins[0][i + 1:]))]

    def _except(self, node, c, ins, shape, ts, why: str) -> list:
        """``shape`` on ``c`` but at the sizes ``ts`` (t values), which the op's own rule
        answers; with no ``shape`` (the inputs agree nowhere else), those sizes only."""
        ts = sorted(t for t in ts if c.lo <= t <= c.hi)
        out = []
        for t in ts:
            out += self.concrete(node, c.narrowed(t, t), ins)
        if shape is None:
            return out or self.drop(node, f"{node.name}: {why}")
        lo = c.lo
        for t in [*ts, c.hi + 1]:
            if lo <= t - 1:
                out.append((c.narrowed(lo, t - 1), shape))
            lo = t + 1
        return out

    def op_reshape(self, node, c, ins, p):
        """The same elements in another shape: the element count, a product of sides of which
        one at most grows (one axis varies), is affine; one -1 takes it divided by the other
        target sizes (the sub-classes where they divide it), a second input its shape (where
        the counts agree). What follows is no map of the input's axes, and is carried as is."""
        total = _product(ins[0])
        if len(ins) == 2:
            if p["shape"] is not None:
                return self.concrete(node, c, ins)
            other = _product(ins[1])
            if total is None or other is None:
                return self.scan(node, c, ins, "reshape of two growing sides")
            sub = _equal(c, total, other)
            if sub is None:
                return self.drop(node, f"{node.name}: its input's elements and its second input's differ")
            return self.concrete(node, sub, ins) if sub.single and not c.single else [(sub, ins[1])]
        target = p["shape"]
        if target is None or 0 in target or list(target).count(-1) > 1:
            return self.concrete(node, c, ins)
        if total is None:
            return self.scan(node, c, ins, "reshape of two growing sides")
        known = math.prod(d for d in target if d != -1)
        if -1 not in target:
            sub = _equal(c, total, (0, known))
            if sub is None:
                return self.drop(node, f"{node.name}: its input's elements are never {known:,}")
            return self.concrete(node, sub, ins)
        out = []
        for sub, _, q, r in _split(c, total, known):
            if r:
                self.drop(node, f"{node.name}: {known:,} does not divide its input's elements")
                continue
            out.append((sub, tuple(q if d == -1 else (0, d) for d in target)))
        return out

    def op_permute(self, node, c, ins, p):
        try:
            perm = _permutation(p["dims"], ins[0])
        except ShapeError:
            return self.concrete(node, c, ins)
        return [(c, tuple(ins[0][i] for i in perm))]

    def op_matmul(self, node, c, ins, p):
        """(..., n, k) @ (..., k, m): the sizes where the two k agree, the stacks broadcast."""
        a, b = ins
        if len(a) < 2 or len(b) < 2:
            return self.concrete(node, c, ins)
        sub = _equal(c, a[-1], b[-2])
        if sub is None:
            return self.drop(node, f"{node.name}: the first's last axis and the second's next-to-last differ")
        if sub.single:
            return self.concrete(node, sub, ins)
        stack, ts = _merged([a[:-2], b[:-2]])
        return self._except(node, sub, ins, None if stack is None else (*stack, a[-2], b[-1]),
                            ts if stack is None else (), "its inputs' stacks differ")

    def reduce(self, node, c, ins, p):
        try:
            dims = axis_set(p["axes"], len(ins[0]), node.op)
        except ShapeError:
            return self.concrete(node, c, ins)
        if not ins[0]:
            return self.concrete(node, c, ins)
        shape = tuple(ONE if i in dims else d for i, d in enumerate(ins[0]) if p["keepdims"] or i not in dims)
        return [(c, shape)]

    def operands(self, node, c, ins, p):
        """Elementwise ops (add, mul, sub, div, where, ...) with numpy's broadcasting and at
        most one constant operand, whose by_shape -1 takes the others' side on its axis (YOLO's
        anchors and strides follow the input's size). Where two sides differ, the few sizes at
        which they agree or one is 1; a -1 facing one growing side, except where it is 1."""
        op = OPS[node.op]
        lo, hi = op.arity
        given = p.get("by") is not None or p.get("by_shape") is not None
        n = len(ins) + given
        if n < lo or (hi is not None and n > hi) or (p.get("by_index") is not None and
                                                      (not given or p["by_index"] > len(ins))):
            return self.concrete(node, c, ins)
        shapes, ts = list(ins), set()
        if p.get("by_shape"):
            const = []
            for i, d in enumerate(p["by_shape"]):
                if d != -1:
                    const.append((0, d))
                    continue
                back = len(p["by_shape"]) - i
                sides = {s[-back] for s in ins if len(s) >= back} - {ONE}
                if len(sides) != 1:     # none: an error at every size; several: where they agree
                    return self._except(node, c, ins, None, _agree(sides), "by_shape's -1 faces sides that differ")
                x = sides.pop()
                ts |= _agree({x})       # where it is 1, the op's rule says
                const.append(x)
            shapes.append(tuple(const))
        shape, where = _merged(shapes)
        return self._except(node, c, ins, shape, ts if shape is not None else ts | where,
                            "its inputs' sides differ")


def _product(shape) -> tuple | None:
    """The element count of ``shape`` (affine sides), affine while one side at most grows."""
    a, b = 0, 1
    for x, y in shape:
        if x and a:
            return None
        a, b = a * y + x * b, b * y
    return a, b


def _agree(sides) -> set:
    """The t at which two of the affine ``sides`` are equal, or one is 1."""
    ts = set()
    for x in sides:
        if x[0] and (1 - x[1]) % x[0] == 0:
            ts.add((1 - x[1]) // x[0])
        for y in sides:
            if x != y and x[0] != y[0] and (y[1] - x[1]) % (x[0] - y[0]) == 0:
                ts.add((y[1] - x[1]) // (x[0] - y[0]))
    return ts


def _merged(shapes) -> tuple:
    """numpy's broadcasting of affine shapes, after netc's rule (a vector beside a map is one
    value per channel; netc/ops/axes.py): (the shape, or None where two sides differ as
    functions; the t at which such sides agree or one is 1)."""
    rank = max((len(s) for s in shapes), default=0)
    vector = 2 <= rank <= 4 and any(len(s) == 1 for s in shapes)
    shapes = [(*s, *(ONE,) * (rank - 1)) if len(s) == 1 and vector else (ONE,) * (rank - len(s)) + tuple(s)
              for s in shapes]
    out, ts = [], set()
    for k in range(rank):
        sides = {s[k] for s in shapes} - {ONE}
        if len(sides) > 1:
            ts |= _agree(sides)
            out = None
        elif out is not None:
            out.append(sides.pop() if sides else ONE)
    return (None if out is None else tuple(out)), ts


def _stride(graph: Graph, axis: int) -> tuple[Fraction | None, str | None]:
    """The total stride along an axis: 1 / the smallest slope dN_layer/dN of a map's side,
    and the layer where it is reached."""
    slope = {graph.input_name: Fraction(1)}
    best, where = None, None
    rank = {graph.input_name: _rank(graph.input_shape)}
    for node in graph.nodes:
        n = rank.get(node.inputs[0], 0) if node.inputs else 0
        view = node.op == "reshape" and len(node.inputs) > 1      # to a second input's shape
        rank[node.name] = rank.get(node.inputs[1], 0) if view else 0 if node.op in VIEWS or \
            (node.op in ("global_avgpool", "global_maxpool") and not node.params.get("keepdims")) else n
        s = [slope.get(i) for i in node.inputs]
        k = axis - 1
        try:
            p = _per_axis_nd(node.op, node.params, n)
        except ShapeError:
            p = None
        if view:
            out = s[1]
        elif not s or s[0] is None or p is None or node.op in VIEWS:
            out = None
        elif node.op in ("conv", "maxpool", "avgpool"):
            out = s[0] / (p.get("stride") or p["kernel"])[k]
        elif node.op == "conv_transpose":
            out = s[0] * p["stride"][k]
        elif node.op == "upsample":
            out = s[1] if len(s) > 1 else 0 if p["size"] is not None or p["scale"] is None else \
                s[0] * Fraction(p["scale"][k]).limit_denominator(1 << 16)
        elif node.op == "crop":
            out = s[1] if len(s) > 1 else 0
        elif node.op in ("slice", "concat") and n and _joins(node.params, n) == axis:
            out = (None if node.params["end"] is not None else s[0] / (node.params.get("step") or 1)) \
                if node.op == "slice" else sum((v for v in s if v), Fraction(0)) or None
        elif node.op in ("adaptive_avgpool", "adaptive_maxpool", "global_avgpool", "global_maxpool",
                         "flatten", "dense"):
            out = None
        else:
            out = next((v for v in s if v), s[0])
        slope[node.name] = out
        if out and (best is None or out < best):
            best, where = out, node.name
    return (1 / best if best else None), where


def _joins(p: dict, n: int) -> int | None:
    """The shape index a slice cuts or a concat joins on a map of n spatial axes."""
    try:
        return dim(p["axis"], (0,) * (n + 1))
    except ShapeError:
        return None


@dataclass
class Rule:
    """A set of sizes: those N in [start, end] with N % period in ``residues``, and
    ``also``, the other sizes (below ``start`` or off the progression)."""

    period: int = 1
    residues: tuple[int, ...] = ()
    start: int | None = None
    end: int | None = None          # None: up to netc's largest side
    also: tuple[int, ...] = ()
    also_more: int = 0              # sizes in ``also`` past those listed

    @property
    def empty(self) -> bool:
        return self.start is None and not self.also

    def text(self) -> str:
        if self.empty:
            return "none"
        extra = list(self.also) + ([f"{self.also_more:,} more"] if self.also_more else [])
        if self.start is None:
            return _listed(extra) + (" only" if len(extra) == 1 else "")
        m, first = self.period, self.start
        if m == 1:
            text = "every size" + (f" from {first}" if first > 1 else "")
        else:
            runs = _runs(self.residues, m)
            k = f"{m}k"
            if len(runs) <= 2:
                text = " or ".join(_offset(k, a) if a == b else f"{_offset(k, a)} … {_offset(k, b)}"
                                   for a, b in runs)
            else:
                shown = ", ".join(map(str, self.residues[:LISTED]))
                more = len(self.residues) - LISTED
                text = f"N ≡ {shown}{f', … ({len(self.residues)} residues)' if more > 0 else ''} (mod {m})"
            a = runs[0][0]
            if len(runs) == 1 and (first - a) % m == 0:
                text += f", k ≥ {(first - a) // m}"
            else:
                text += f", from {first}"
        if self.end is not None:
            text += f", up to {self.end}"
        if extra:
            text += "; also " + _listed(extra)
        return text

    def json(self) -> dict:
        return {"text": self.text(), "period": self.period, "residues": list(self.residues),
                "from": self.start, "to": self.end, "also": list(self.also), "also_more": self.also_more}


def _offset(k: str, a: int) -> str:
    return k if a == 0 else f"{k} + {a}" if a > 0 else f"{k} − {-a}"


def _listed(items) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _runs(residues, m: int) -> list[tuple[int, int]]:
    """Residues mod m as runs of consecutive ones (cyclic), as offsets: a run through 0
    starts below it (32k − 7 … 32k)."""
    rs = sorted(residues)
    runs = []
    for r in rs:
        if runs and runs[-1][1] == r - 1:
            runs[-1][1] = r
        else:
            runs.append([r, r])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == m - 1:
        a = runs.pop()
        runs[0][0] = a[0] - m
    runs.sort()
    return [tuple(r) for r in runs]


def _members(classes, lo: int, hi: int, limit: int | None = None) -> list[int]:
    """The sizes of ``classes`` (disjoint) in [lo, hi], sorted (at most ``limit`` of each class)."""
    out = []
    for c in classes:
        t0 = max(c.lo, -((c.rho - lo) // c.m))
        t1 = min(c.hi, (hi - c.rho) // c.m)
        if limit is not None:
            t1 = min(t1, t0 + limit - 1)
        out += range(c.size(t0), c.size(t1) + 1, c.m) if t1 >= t0 else ()
    out.sort()
    return out


def describe(classes: list[_Class], hi: int) -> Rule:
    """The rule of a union of classes within [1, hi]."""
    classes = [c for c in classes if c.lo <= c.hi]
    if not classes:
        return Rule()
    top = max(c.size(c.hi) for c in classes)
    long = [c for c in classes if not c.single and c.size(c.hi) + c.m > top]
    if not long:
        sizes = _members(classes, 1, top, LISTED + 1)
        return Rule(also=tuple(sizes[:LISTED]), also_more=max(0, len(_members(classes, 1, top)) - LISTED)
                    if len(sizes) > LISTED else 0)
    period = 1
    for c in long:
        period = period * c.m // math.gcd(period, c.m)
        if period > MAX_SIDE:
            period = None
            break
    if period is None:      # no short pattern: list them
        return Rule(also=tuple(_members(classes, 1, top, LISTED)[:LISTED]), also_more=1)
    residues = {(c.rho + c.m * i) % period for c in long for i in range(period // c.m)}
    start = max(c.size(c.lo) for c in long)
    for p in _primes(period):       # the shortest period
        while period % p == 0 and all((r + period // p) % period in residues for r in residues):
            period //= p
            residues = {r % period for r in residues}
    floor = max(1, start - 4 * period - 4096)
    below = set(_members(classes, floor, start - 1))
    while start > floor and ((start - 1) in below) == ((start - 1) % period in residues):
        start -= 1
    first = start + min((r - start) % period for r in residues)
    others = _members(classes, 1, first - 1)
    for c in classes:                # sizes off the progression, from the classes that stop early
        if c not in long and len(others) <= 4 * LISTED:
            others += [n for n in _members([c], first, top, 4 * LISTED) if n % period not in residues]
    others = sorted(set(others))
    return Rule(period, tuple(sorted(residues)), first, None if top + period > hi else top,
                tuple(others[:LISTED]), max(0, len(others) - LISTED))


def _primes(n: int) -> list[int]:
    out, p = [], 2
    while p * p <= n:
        if n % p == 0:
            out.append(p)
            while n % p == 0:
                n //= p
        p += 1
    return out + ([n] if n > 1 else [])


@dataclass
class AxisSizes:
    """What ``netc sizes`` says of one axis."""

    axis: str                       # 'height' or 'width'
    size: int                       # the file's
    rule: Rule
    min: int | None                 # the smallest size that fits
    loads_from: int | None          # the smallest size that loads (windows may drop rows)
    stride: Fraction | None         # the total stride, and the layer of the coarsest map
    stride_layer: str | None
    range: tuple[int, int] | None = None
    exact: list[int] | None = None  # the sizes of the range that fit
    scanned: dict = field(default_factory=dict)     # layer -> why its sizes were scanned
    within: tuple[int, int] | None = None           # the rule holds only within these (a scan)
    why: dict = field(default_factory=dict)         # layer -> why sizes stop there


@dataclass
class Declared:
    size: tuple[int, ...]
    problems: list[tuple[str | None, str]]


@dataclass
class SizesReport:
    name: str
    input_shape: tuple
    axes: list[AxisSizes]
    declared: list[Declared]
    own_size: list[tuple[str | None, str]]      # why the file's own size does not fit ([]: it does)


def axis_sizes(graph: Graph, axis: int, range_: tuple[int, int] | None = None,
               features: dict | None = None, graph_at=None) -> AxisSizes:
    """The sizes of spatial axis ``axis`` (0 the first: length, height or depth) at which
    ``graph`` fits, the other axes held at the file's size. ``features``: each dense
    layer's features at the file's size (default: ``fit.dense_features`` there; {} where
    it does not load). ``graph_at(shape)``: the graph read anew at each size (an ONNX
    model whose layers change with its dynamic input's size), checked size by size."""
    if features is None:
        features = _features(graph)
    shape = graph.input_shape
    if not _rank(shape):
        raise SizesError(_not_a_map(shape))
    own = shape[1 + axis]
    window = range_ or (1, min(MAX_SIDE, max(4 * own, 256)))
    if graph_at is not None:
        return _by_expansion(graph, axis, range_ or (1, min(MAX_SIDE, max(2 * own, 64))), range_, features,
                             graph_at)
    if graph.sides_read:
        return _by_expansion(graph, axis, window, range_, features)
    lo, hi = 1, MAX_SIDE
    for attempt in range(2):
        try:
            run = _Run(graph, 1 + axis, lo, hi, window, features)
            classes = run.classes()
            loads = _Run(graph, 1 + axis, lo, hi, window, features, exact=False)
            loading = loads.classes()
            break
        except _Overflow:
            if attempt or range_ is None:
                raise SizesError(f"the {_name(shape, axis)}'s residue classes pass {MAX_CLASSES:,} (strides that "
                                 "multiply past netc's limits): give a --range to look within") from None
            lo, hi = range_
    within = window if run.scanned or (lo, hi) != (1, MAX_SIDE) else None
    if within:
        classes = [c for c in (_clip(c, *within) for c in classes) if c]
        loading = [c for c in (_clip(c, *within) for c in loading) if c]
    rule = describe(classes, hi if not within else within[1])
    stride, where = _stride(graph, 1 + axis)
    found = _members(classes, 1, MAX_SIDE, 1)
    started = _members(loading, 1, MAX_SIDE, 1)
    out = AxisSizes(_name(shape, axis), own, rule, found[0] if found else None, started[0] if started else None,
                    stride, where, range_, None, run.scanned, within, run.why)
    if range_:
        out.exact = _members(classes, *range_)
    return out


def _clip(c: _Class, lo: int, hi: int) -> _Class | None:
    return c.narrowed(-((c.rho - lo) // c.m), (hi - c.rho) // c.m)


def _by_expansion(graph: Graph, axis: int, window, range_, features, graph_at=None) -> AxisSizes:
    """A netc file whose expressions read a side, or an ONNX model whose layers change with
    its dynamic input's size: expanded (read) and checked at each size of the window."""
    lo, hi = window
    if graph_at is not None and hi - lo + 1 > READ_LIMIT:
        raise SizesError(f"the model's layers change with its input's size (its shape computations read it), "
                         f"so it is read anew at each size: give a --range of at most {READ_LIMIT:,} sizes")
    if hi - lo + 1 > SCAN_LIMIT // 16:
        raise SizesError(f"the file reads the input's {'/'.join(sorted(graph.sides_read))} in an expression, "
                         f"so each size is expanded anew: give a --range of at most {SCAN_LIMIT // 16:,} sizes")
    fits, loads = [], []
    shape = list(graph.input_shape)
    for n in range(lo, hi + 1):
        shape[1 + axis] = n
        found = problems(graph, tuple(shape), features, graph_at)
        if not found:
            fits.append(n)
        if not any("(A001)" not in m for _, m in found):
            loads.append(n)
    classes = _progressions(fits, hi)
    rule = describe(classes, hi)
    stride, where = None, None
    if graph_at is not None:
        scanned = {"(dynamic input)": "the model's shape computations read its input's size (read anew at "
                                      "each size)"}
    else:
        scanned = {"(expressions)": "the file reads the input's " + " and ".join(sorted(graph.sides_read))
                                    + " (expanded at each size)"}
    return AxisSizes(_name(graph.input_shape, axis), graph.input_shape[1 + axis], rule, fits[0] if fits else None,
                     loads[0] if loads else None, stride, where, range_,
                     [n for n in fits if range_ and range_[0] <= n <= range_[1]] if range_ else None,
                     scanned, window, {})


def _progressions(fits: list[int], hi: int, longest: int = 64) -> list[_Class]:
    """The sizes found one by one up to ``hi``, as classes: the tail from where they repeat
    with the shortest period (up to ``longest``, at least twice over), the rest one by one."""
    found, best = set(fits), None
    for m in range(1, longest + 1):
        start = hi - m + 1
        while start - 1 >= 1 and (start - 1 in found) == (start - 1 + m in found):
            start -= 1
        if hi - start + 1 >= 2 * m and (best is None or start < best[1]):
            best = (m, start)
    if best is None or not found:
        return [_Class(1, n, 0, 0, {}) for n in fits]
    m, start = best
    tail = [_Class(m, r, -((r - start) // m), (hi - r) // m, {}) for r in range(m)
            if any(n % m == r for n in range(start, start + m) if n in found)]
    return [_Class(1, n, 0, 0, {}) for n in fits if n < start] + tail


def _layers(graph: Graph) -> list:
    return [(n.name, n.op, n.params, n.inputs) for n in graph.nodes]


def depends_on_size(graph: Graph, graph_at) -> bool:
    """Whether ``graph_at(shape)`` (an ONNX model read at another input size) gives other
    layers than ``graph``: read at every side + 1 and at every side doubled plus one. A
    model whose shape computations read its input (a resize to a skip's size, a crop
    computed from a Shape) is folded to that size's constants, so its sizes are its
    reads' (``axis_sizes``'s ``graph_at``); the others have one graph for every size."""
    own, read = graph.input_shape, 0
    for base in (1, 2):
        for j in range(1, 9):       # the first size near own + 1, then near 2 own, that reads
            shape = (own[0], *(min(MAX_SIDE, base * n + j) for n in own[1:]))
            try:
                if _layers(graph_at(shape)) != _layers(graph):
                    return True
                read += 1
                break
            except NetcError as e:
                if any(d.code != SHAPE for d in e.diagnostics):
                    return True
                continue            # a size where the same graph would not load either: try the next
            except (ValueError, TypeError):     # params that do not compare
                return True
    return read < 2


def _features(graph: Graph) -> dict:
    try:
        return dense_features(analyze(graph))
    except NetcError:
        return {}


def sizes(graph: Graph, range_: tuple[int, int] | None = None,
          declared: list[tuple[int, ...]] | None = None, reread=None) -> SizesReport:
    """Every spatial axis of ``graph``, and each declared size (``input: {sizes: ...}``).
    ``reread(shape)``: the graph of an ONNX model with a dynamic input, read at another
    size; where its layers change with the size, each size is read anew."""
    if not _rank(graph.input_shape):
        raise SizesError(_not_a_map(graph.input_shape))
    graph_at = reread if reread is not None and depends_on_size(graph, reread) else None
    try:
        features = dense_features(analyze(graph))
        own = []
    except NetcError as e:
        features = {}
        own = [(d.layer, d.message) for d in e.diagnostics]
    if not own:
        own = problems(graph, graph.input_shape, features)
    axes = [axis_sizes(graph, k, range_, features, graph_at) for k in range(len(graph.input_shape) - 1)]
    for k, a in enumerate(axes):
        if own and a.min is not None:   # an error no size escapes (channels, groups) shows here
            shape = list(graph.input_shape)
            shape[1 + k] = a.min
            bad = problems(graph, tuple(shape), features, graph_at)
            if bad:
                axes[k] = AxisSizes(a.axis, a.size, Rule(), None, None, a.stride, a.stride_layer, a.range,
                                    [] if a.range else None, a.scanned, a.within, {bad[0][0]: bad[0][1]})
    checked = [Declared(tuple(s), problems(graph, (graph.input_shape[0], *s), features, graph_at))
               for s in declared or ()]
    return SizesReport(graph.name, graph.input_shape, axes, checked, own)


def declared_sizes(graph: Graph) -> list[tuple[int, ...]]:
    """The sizes a netc file declares (``input: {sizes: [[h, w], ...]}``)."""
    src = graph.source
    data = getattr(src, "data", None)
    if not isinstance(data, dict) or not isinstance(data.get("input"), dict):
        return []
    return [tuple(s) for s in data["input"].get("sizes") or ()]


__all__ = ["AxisSizes", "Declared", "Rule", "SizesError", "SizesReport", "axis_sizes", "declared_sizes",
           "depends_on_size", "describe", "sizes"]


_PER_AXIS = ("kernel", "stride", "dilation", "output_padding", "scale", "size")


def _per_axis_nd(op: str, p: dict, n: int) -> dict:
    """A layer's per-axis parameters as n-tuples (one number is the same on every axis) and
    its padding per side, as the rules above read them on an n-D map (n: the spatial axes
    of its input; 0, not a map: as written): ((begin, end), ...) per axis for windows and
    pad, the rows cropped per axis for conv_transpose. A ShapeError: a tuple of another rank."""
    from .ops.window import pads_per_axis, per_axis, sides_per_axis

    if not n:
        return p
    out = dict(p)
    for key in _PER_AXIS:
        if out.get(key) is not None and not isinstance(out[key], str):
            out[key] = per_axis(out[key], n, key)
    if out.get("padding") is not None:
        resolve = per_axis if op == "conv_transpose" else sides_per_axis if op == "pad" else pads_per_axis
        out["padding"] = resolve(out["padding"], n, "padding")
    return out


def _not_a_map(shape) -> str:
    if len(shape) == 1:
        return f"the input is the vector ({shape[0]},): it has no length, height or width"
    return f"the input {tuple(shape)} is not a map of 1, 2 or 3 spatial axes (channels first)"
