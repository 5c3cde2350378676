"""The math ops on tensors of any rank (issue 18): elementwise arithmetic with numpy's
broadcasting and constant operands, softmax/log_softmax on any axis, reductions,
matmul, groupnorm and instancenorm, circular pad.

- the broadcasting rule against numpy's own ``np.broadcast_shapes`` on random shapes;
- each op read from ONNX on several ranks, axes (negative too) and broadcast cases,
  netc's output shapes equal to onnxruntime's (``read``);
- real structures built with onnx.helper (ConvNeXt-V2's GRN, selective-kernel attention,
  smp FPN's GroupNorm export, YOLO11's attention, YOLOv8's DFL tail and box decode), read
  whole with exact counts, imported back to netc text that describes the same network;
- the YAML spelling: shapes and costs by hand, ``netc build`` checked by ONNX shape
  inference and run on onnxruntime, and read back.
"""

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netc
from netc.diagnostics import NetcError
from netc.onnx.build import build_model
from netc.onnx.importer import import_graph
from netc.onnx.reader import read_graph
from netc.ops.axes import broadcast
from netc.ops.window import ShapeError
from test_onnx_reader import M, _zeros, read


def f32(v):
    return np.float32 if isinstance(v, float) else np.int64


def ops(a):
    return [(r.op, r.output_shape) for r in a.layers]


def same_after_import(model):
    """The analysis of ``model`` equals that of its ``netc import`` text (ops, shapes,
    params, MACs, FLOPs), and the text builds to a model onnxruntime runs."""
    a = read(model, check_ort=False)
    text = import_graph(read_graph(model, "m.onnx"), "m.onnx")
    again = netc.loads(text, "imported.yaml")
    got = [(r.op, r.output_shape, r.params, r.buffers, r.macs, r.flops) for r in again.layers]
    assert got == [(r.op, r.output_shape, r.params, r.buffers, r.macs, r.flops) for r in a.layers], text
    built = build_model(again, weights=_zeros)
    sess = ort.InferenceSession(built.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.ones([2, *again.graph.input_shape], np.float32)
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    assert [tuple(y.shape[1:]) for y in outs] == [again.analysis.layer(o).output_shape
                                                  for o in again.graph.outputs]
    return text


# -- the broadcasting rule against numpy -----------------------------------------------------

dims = st.integers(1, 4)
shapes = st.lists(dims, min_size=0, max_size=5).map(tuple)


def _numpy_case(ins):
    """netc's vector rule applies to a vector beside a map of rank 2 to 4: leave those out."""
    rank = max(len(s) for s in ins)
    return not (2 <= rank <= 4 and any(len(s) == 1 for s in ins))


@settings(max_examples=400, deadline=None)
@given(st.lists(shapes, min_size=1, max_size=4), st.data())
def test_broadcast_is_numpys_rule(ins, data):
    # make about half the cases compatible: stretch some dims of a common shape to 1
    if data.draw(st.booleans()):
        base = max(ins, key=len)
        ins = [tuple(1 if data.draw(st.booleans()) else d for d in base[len(base) - len(s):])
               if len(s) <= len(base) else s for s in ins]
    if not _numpy_case(ins):
        ins = [s for s in ins if len(s) != 1] or [()]
    try:
        want = np.broadcast_shapes(*ins)
    except ValueError:
        with pytest.raises(ShapeError, match="cannot broadcast"):
            broadcast("add", ins)
    else:
        assert broadcast("add", ins) == want


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.lists(st.integers(1, 5), min_size=1, max_size=3))
def test_a_vector_beside_a_map_is_one_value_per_channel(c, spatial):
    """netc's one rule before numpy's: (C,) beside (C, *spatial) is (C, 1, ...): numpy's
    rule on the vector Unsqueezed at its end (what the ONNX lowering does)."""
    m = (c, *spatial)
    assert broadcast("mul", [m, (c,)]) == np.broadcast_shapes(m, (c, *(1,) * len(spatial)))


def test_broadcast_errors_name_the_dimension():
    from netc.ops.merge import broadcast as named

    with pytest.raises(ShapeError, match="axis 2's sizes 6 and 7 differ"):      # axis 0 is the batch
        broadcast("sub", [(2, 6, 5, 5), (7, 1, 1)])
    with pytest.raises(ShapeError, match=r"channels 4 and 8 differ; .*counts as \(C, 1, 1\)"):
        named("mul", [(4, 5, 5), (8,)])


# -- each op from ONNX, netc's shapes equal to onnxruntime's --------------------------------

def base(m, rank):
    """A feature tensor of ONNX rank ``rank`` (2 to 4) from an input (1, 4, 6, 5)."""
    if rank == 4:
        return "x"
    return m.op("ReduceSum", ["x", m.const([2] if rank == 3 else [2, 3])], keepdims=0)


@pytest.mark.parametrize("rank", [2, 3, 4])
@pytest.mark.parametrize("op", ["Sqrt", "Exp", "Log", "Neg", "Abs", "Erf"])
def test_unary_on_every_rank(op, rank):
    m = M((1, 4, 6, 5), opset=17)
    y = m.op(op, [base(m, rank)])
    a = read(m.model([y]))
    assert a.layers[-1].op == op.lower() and a.layers[-1].flops == 4 * (30 if rank == 4 else 5 if rank == 3 else 1)


CONSTANTS = [((), 0.5), ((1,), 2.0), ((5,), None), ((6, 1), None), ((4, 1, 1), None),
             ((1, 4, 6, 5), None), ((1, 1, 1, 5), None), ((1, 6, 1), 3.0)]


@pytest.mark.parametrize("shape,value", CONSTANTS, ids=str)
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Pow", "Min", "Max"])
@pytest.mark.parametrize("first", [False, True])
def test_binary_with_a_constant_on_a_map(op, shape, value, first):
    m = M((1, 4, 6, 5), opset=17)
    arr = np.full(shape, value if value is not None else 1.5, np.float32) if value is not None or not shape \
        else np.random.default_rng(0).standard_normal(shape).astype(np.float32) + 2
    if value is None and shape in ((5,), (6, 1), (4, 1, 1)):
        c = m.const(arr.reshape(-1), np.float32)                   # a Constant node, reshaped below
        c = m.op("Reshape", [c, m.const(list(shape))])
    else:
        c = m.const(arr if shape else [float(arr)], np.float32, scalar=not shape)
    y = m.op(op, [c, "x"] if first else ["x", c])
    if shape == (4, 1, 1) and op in ("Add", "Mul"):       # a weight per channel: scale's
        if op == "Add":
            with pytest.raises(NetcError, match="per-channel weight as a constant operand"):
                read(m.model([y]), check_ort=False)
        else:
            assert [(r.op, r.params) for r in read(m.model([y])).layers] == [("scale", 4)]
        return
    a = read(m.model([y]))
    name = {"Min": "minimum", "Max": "maximum"}.get(op, op.lower())
    (layer,) = a.layers
    assert (layer.op, layer.output_shape, layer.params) == (name, (4, 6, 5), 0)
    assert layer.flops == 120
    p = layer.node.params
    assert (p.get("by_index") == 0) == (first and op in ("Sub", "Div", "Pow"))
    assert p["by_shape"] is None if arr.size == 1 else len(p["by_shape"]) == 3


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Pow", "Min", "Max"])
@pytest.mark.parametrize("axis", [1, 2, -1, -3])
def test_binary_between_layers_that_broadcast(op, axis):
    m = M((1, 4, 6, 5), opset=17)
    g = m.op("ReduceMean", ["x"], axes=[axis], keepdims=1)
    y = m.op(op, ["x", g])
    z = m.op(op, [g, y])
    a = read(m.model([z]))
    assert [r.output_shape for r in a.layers[-2:]] == [(4, 6, 5), (4, 6, 5)]


def test_binary_of_layers_of_different_ranks_is_refused():
    m = M((1, 4, 6, 5), opset=17)
    g = m.op("ReduceMean", ["x"], axes=[3], keepdims=0)            # (N, 4, 6): ONNX aligns N with 4
    y = m.op("Sub", ["x", g])
    with pytest.raises(NetcError, match="inputs of ranks"):
        read(m.model([y]), check_ort=False)


@pytest.mark.parametrize("rank", [3, 4])
def test_where_with_layers_and_a_constant(rank):
    m = M((1, 4, 6, 5), opset=17)
    x = base(m, rank)
    cond = m.op("Cast", [x], to=9)
    y = m.op("Where", [cond, x, m.const([0.0], np.float32, scalar=True)])
    a = read(m.model([y]))
    assert a.layers[-1].op == "where" and a.layers[-1].node.params["by"] == 0.0
    assert a.layers[-1].node.inputs == [a.layers[-1].node.inputs[0]] * 2


@pytest.mark.parametrize("opset", [11, 13])
def test_clip_bounds(opset):
    m = M((1, 4, 6, 5), opset=opset)
    if opset < 13:
        y = m.op("Clip", ["x", "", m.const([2.5], np.float32, scalar=True)])
    else:
        y = m.op("Clip", ["x", m.const([-1.0], np.float32, scalar=True)])
    a = read(m.model([y]))
    want = {"min": None, "max": 2.5} if opset < 13 else {"min": -1.0, "max": None}
    assert [(r.op, r.node.params, r.flops) for r in a.layers] == [("clip", want, 120)]


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("rank,axis", [(4, 1), (4, 2), (4, 3), (4, -1), (4, -3), (3, -1), (3, 2), (2, 1),
                                       (2, -1)])
def test_softmax_on_any_axis(op, rank, axis):
    m = M((1, 4, 6, 5), opset=13)
    y = m.op(op, [base(m, rank)], axis=axis)
    a = read(m.model([y]))
    r = a.layers[-1]
    assert r.op == ("softmax" if op == "Softmax" else "log_softmax")
    assert r.node.params["axis"] == axis % rank
    n = {4: 120, 3: 20, 2: 4}[rank]
    shape = {4: (4, 6, 5), 3: (4, 5), 2: (4,)}[rank]
    rows = n // shape[axis % rank - 1]
    assert r.flops == 5 * n + (rows if op == "LogSoftmax" else 0)


def test_softmax_over_the_batch_is_refused():
    m = M((1, 4, 6, 5), opset=13)
    y = m.op("Softmax", ["x"], axis=-4)
    with pytest.raises(NetcError, match="the batch"):
        read(m.model([y]), check_ort=False)


REDUCTIONS = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2"]


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("axes", [[1], [2], [-1], [1, 3], [-2, -1], [1, 2, 3]])
@pytest.mark.parametrize("keep", [0, 1])
@pytest.mark.parametrize("op", REDUCTIONS)
def test_reductions_over_any_axes(op, axes, keep, opset):
    m = M((1, 4, 6, 5), opset=opset)
    as_input = opset >= 18 or (op == "ReduceSum" and opset >= 13)
    y = m.op(op, ["x", m.const(axes)], keepdims=keep) if as_input else m.op(op, ["x"], axes=axes, keepdims=keep)
    a = read(m.model([y]))
    (r,) = a.layers
    kept = [1 if (i + 1) in {x % 4 for x in axes} else d for i, d in enumerate((4, 6, 5))]
    assert r.output_shape == tuple(d for i, d in enumerate(kept) if keep or (i + 1) not in {x % 4 for x in axes})
    if r.op.startswith("reduce_"):
        n, out = 120, int(np.prod(r.output_shape))
        assert r.flops == {"ReduceMean": n, "ReduceSum": n - out, "ReduceMax": n - out,
                           "ReduceMin": n - out, "ReduceL2": 2 * n}[op]
    else:   # the global pools keep reading the mean and the maximum over height and width
        assert (op, sorted(x % 4 for x in axes)) in (("ReduceMean", [2, 3]), ("ReduceMax", [2, 3]))


def test_reduction_of_the_batch_or_every_axis_is_refused():
    for axes in ([0], None):
        m = M((1, 4, 6, 5), opset=13)
        y = m.op("ReduceL2", ["x"], **({"axes": axes} if axes else {}))
        with pytest.raises(NetcError, match="batch"):
            read(m.model([y]), check_ort=False)


def test_matmul_of_layers_batched_and_broadcast():
    m = M((1, 4, 6, 6), opset=17)
    a1 = m.op("MatMul", ["x", "x"])                                       # (4, 6, 6) @ (4, 6, 6)
    g = m.op("ReduceMean", ["x"], axes=[1], keepdims=1)                 # (1, 6, 6)
    a2 = m.op("MatMul", [g, a1])                                          # broadcast stack
    r3 = m.op("ReduceSum", ["x", m.const([3])], keepdims=0)             # (4, 6)
    r2 = m.op("ReduceSum", ["x", m.const([1])], keepdims=0)             # (6, 6)
    a3 = m.op("MatMul", [r3, r2])                                         # (4, 6) @ (6, 6)
    a = read(m.model([a2, a3]))
    mm = [r for r in a.layers if r.op == "matmul"]
    assert [(r.output_shape, r.macs, r.flops) for r in mm] == [
        ((4, 6, 6), 4 * 6 * 6 * 6, 2 * 4 * 216), ((4, 6, 6), 4 * 216, 2 * 4 * 216), ((4, 6), 4 * 6 * 6, 288)]


def test_matmul_by_a_weight_is_still_dense():
    m = M((1, 12), opset=17)
    y = m.op("MatMul", ["x", m.w(12, 5)])
    assert [(r.op, r.params) for r in read(m.model([y])).layers] == [("dense", 60)]


@pytest.mark.parametrize("rank", [3, 4])
def test_instance_normalization(rank):
    m = M((1, 4, 6, 5), opset=17)
    x = base(m, rank)
    learned = m.op("InstanceNormalization", [x, m.w(4), m.w(4)])
    fixed = m.op("InstanceNormalization", [learned, m.const([1.0] * 4, np.float32),
                                           m.const([0.0] * 4, np.float32)], epsilon=1e-3)
    a = read(m.model([fixed]))
    n = 120 if rank == 4 else 20
    assert [(r.op, r.params, r.node.params["affine"], r.flops) for r in a.layers[-2:]] == [
        ("instancenorm", 8, True, 7 * n + 20), ("instancenorm", 0, False, 5 * n + 20)]
    assert a.layers[-1].node.params["eps"] == 0.001


def test_circular_pad_from_wrap():
    m = M((1, 4, 6, 5), opset=19)
    y = m.op("Pad", ["x", m.const([0, 0, 1, 2, 0, 0, 3, 4])], mode="wrap")
    a = read(m.model([y]))
    assert [(r.op, r.output_shape, r.node.params["mode"]) for r in a.layers] == [("pad", (4, 10, 11), "circular")]


# -- real structures, read whole with exact counts ------------------------------------------

def test_convnextv2_global_response_norm():
    """timm's GlobalResponseNorm (channels first): gx = ||x||_2 over H, W; nx = gx /
    (mean_C gx + eps); y = x + gamma * (x * nx) + beta. gamma and beta are learned (2C)."""
    m = M((1, 8, 6, 6), opset=17)
    x = m.op("Conv", ["x", m.w(8, 8, 3, 3), m.w(8)], pads=[1, 1, 1, 1])
    gx = m.op("ReduceL2", [x], axes=[2, 3], keepdims=1)
    mean = m.op("ReduceMean", [gx], axes=[-3], keepdims=1)
    nx = m.op("Div", [gx, m.op("Add", [mean, m.const([1e-6], np.float32, scalar=True)])])
    t = m.op("Mul", [x, nx])
    t = m.op("Add", [m.w(1, 8, 1, 1), m.op("Mul", [m.w(1, 8, 1, 1), t])])
    y = m.op("Add", [x, t])
    a = read(m.model([y]))
    assert [(r.op, r.output_shape, r.params) for r in a.layers] == [
        ("conv", (8, 6, 6), 584), ("reduce_l2", (8, 1, 1), 0), ("reduce_mean", (1, 1, 1), 0),
        ("add", (1, 1, 1), 0), ("div", (8, 1, 1), 0), ("mul", (8, 6, 6), 0), ("scale", (8, 6, 6), 16),
        ("add", (8, 6, 6), 0)]
    assert a.totals.params == 584 + 16 and a.totals.macs == 576 * 36
    assert [r.flops for r in a.layers[1:6]] == [2 * 288, 8, 1, 8, 288]
    same_after_import(m.model([y]))


def test_selective_kernel_softmax_over_the_radix():
    """Split attention over a radix axis that exists already (the Reshape to radix groups
    is tensor-shape's): sum the radix branches, pool, a 1x1 conv to radix logits, Softmax
    over the radix, weight the branches and sum them."""
    m = M((1, 2, 8, 6), opset=13)                          # (N, radix, C, L)
    u = m.op("ReduceSum", ["x", m.const([1])], keepdims=1)       # (1, 8, 6)
    s = m.op("ReduceMean", [u], axes=[3], keepdims=1)            # (1, 8, 1)
    z = m.op("Conv", [s, m.w(2, 1, 1, 1), m.w(2)])               # (2, 8, 1): radix logits
    att = m.op("Softmax", [z], axis=1)
    y = m.op("ReduceSum", [m.op("Mul", ["x", att]), m.const([1])], keepdims=0)
    a = read(m.model([y]))
    assert [(r.op, r.output_shape, r.params, r.macs, r.flops) for r in a.layers] == [
        ("reduce_sum", (1, 8, 6), 0, 0, 48), ("reduce_mean", (1, 8, 1), 0, 0, 48),
        ("conv", (2, 8, 1), 4, 16, 48), ("softmax", (2, 8, 1), 0, 0, 80), ("mul", (2, 8, 6), 0, 0, 96),
        ("reduce_sum", (8, 6), 0, 0, 48)]
    same_after_import(m.model([y]))


def _fpn_groupnorm(m, x, c, groups, affine, unsqueezed):
    """torch.onnx's GroupNorm below opset 18 (smp FPN's segmentation head)."""
    r = m.op("Reshape", [x, m.const([0, groups, -1])])
    n = m.op("InstanceNormalization", [r, m.const([1.0] * groups, np.float32),
                                       m.const([0.0] * groups, np.float32)], epsilon=1e-5)
    back = m.op("Reshape", [n, m.op("Shape", [x])])
    if not affine:
        w, b = m.const([1.0], np.float32), m.const([0.0], np.float32)
    elif unsqueezed:
        w = m.op("Unsqueeze", [m.w(c), m.const([1, 2])])
        b = m.op("Unsqueeze", [m.w(c), m.const([1, 2])])
    else:
        w, b = m.w(c, 1, 1), m.w(c, 1, 1)
    return m.op("Add", [m.op("Mul", [back, w]), b])


@pytest.mark.parametrize("form", ["unsqueezed", "folded", "no-affine"])
def test_smp_fpn_groupnorm_export_is_one_groupnorm(form):
    m = M((1, 16, 8, 8), opset=13)
    x = m.op("Conv", ["x", m.w(16, 16, 3, 3)], pads=[1, 1, 1, 1])
    y = m.op("Relu", [_fpn_groupnorm(m, x, 16, 4, form != "no-affine", form == "unsqueezed")])
    a = read(m.model([y]))
    affine = form != "no-affine"
    assert [(r.op, r.output_shape, r.params) for r in a.layers] == [
        ("conv", (16, 8, 8), 2304), ("groupnorm", (16, 8, 8), 32 if affine else 0), ("relu", (16, 8, 8), 0)]
    assert a.layers[1].node.params == {"groups": 4, "eps": 1e-5, "affine": affine}
    assert a.layers[1].flops == (7 if affine else 5) * 1024 + 5 * 4
    same_after_import(m.model([y]))


def test_yolo11_attention_on_heads():
    """C2PSA's Attention: qkv conv, q·kᵀ * scale, Softmax over the keys, v·attnᵀ, proj, and the
    residual. The Reshape to heads and the transposes are tensor-shape's: here the heads are
    the channels of a Split, and positions and key dims are a square map, so that no
    Transpose is needed (q and k play the same roles, the shapes and counts are those of a
    (2 heads, 4 positions, 4 dims) attention)."""
    m = M((1, 16, 4, 4), opset=17)
    qkv = m.op("Conv", ["x", m.w(6, 16, 1, 1)])
    q, k, v = (f"s{i}" for i in range(3))
    m.nodes.append(__import__("onnx").helper.make_node("Split", [qkv, m.const([2, 2, 2])], [q, k, v], axis=1))
    attn = m.op("Mul", [m.op("MatMul", [q, k]), m.const([0.5], np.float32, scalar=True)])
    attn = m.op("Softmax", [attn], axis=-1)
    out = m.op("MatMul", [v, attn])
    y = m.op("Add", ["x", m.op("Conv", [out, m.w(16, 2, 1, 1), m.w(16)])])
    a = read(m.model([y]))
    assert [(r.op, r.output_shape, r.params, r.macs) for r in a.layers] == [
        ("conv", (6, 4, 4), 96, 96 * 16), ("slice", (2, 4, 4), 0, 0), ("slice", (2, 4, 4), 0, 0),
        ("slice", (2, 4, 4), 0, 0), ("matmul", (2, 4, 4), 0, 128), ("mul", (2, 4, 4), 0, 0),
        ("softmax", (2, 4, 4), 0, 0), ("matmul", (2, 4, 4), 0, 128), ("conv", (16, 4, 4), 48, 32 * 16),
        ("add", (16, 4, 4), 0, 0)]
    assert a.layers[5].node.params["by"] == 0.5 and a.layers[6].node.params["axis"] == 3
    same_after_import(m.model([y]))


def test_yolov8_dfl_tail():
    """DFL after its Reshape and Transpose (tensor-shape's): Softmax over the 16 bins, then the
    fixed 1x1 conv (16 -> 1, the arange weights) to the expected distance."""
    m = M((1, 16, 4, 10), opset=17)                        # (N, bins, 4 sides, anchors)
    y = m.op("Conv", [m.op("Softmax", ["x"], axis=1), m.w(1, 16, 1, 1)])
    a = read(m.model([y]))
    assert [(r.op, r.output_shape, r.params, r.macs) for r in a.layers] == [
        ("softmax", (16, 4, 10), 0, 0), ("conv", (1, 4, 10), 16, 640)]
    same_after_import(m.model([y]))


def test_yolov8_box_decode_with_constant_anchors_and_strides():
    """dist2bbox and the stride: lt, rb = split(dist); x1y1 = anchors - lt; x2y2 = anchors +
    rb; boxes = cat((x1y1 + x2y2) / 2, x2y2 - x1y1) * strides; then the class scores.
    Anchors (an initializer, as TorchScript stores them) and strides (a Constant) are not
    parameters. Here on the (H, W) grid before the flatten to anchors (tensor-shape's)."""
    m = M((1, 8, 5, 5), opset=17)
    box = m.op("Conv", ["x", m.w(4, 8, 1, 1), m.w(4)])
    lt, rb = "lt", "rb"
    m.nodes.append(__import__("onnx").helper.make_node("Split", [box, m.const([2, 2])], [lt, rb], axis=1))
    anchors = m.w(1, 2, 5, 5)
    x1y1 = m.op("Sub", [anchors, lt])
    x2y2 = m.op("Add", [anchors, rb])
    c = m.op("Div", [m.op("Add", [x1y1, x2y2]), m.const([2.0], np.float32, scalar=True)])
    wh = m.op("Sub", [x2y2, x1y1])
    arr = np.full((1, 1, 5, 5), 8.0, np.float32)
    strides = m.const(arr, np.float32)
    dbox = m.op("Mul", [m.op("Concat", [c, wh], axis=1), strides])
    cls = m.op("Sigmoid", [m.op("Conv", ["x", m.w(3, 8, 1, 1), m.w(3)])])     # conv + fused sigmoid
    y = m.op("Concat", [dbox, cls], axis=1)
    a = read(m.model([y]))
    assert [(r.op, r.output_shape, r.params) for r in a.layers] == [
        ("conv", (4, 5, 5), 36), ("slice", (2, 5, 5), 0), ("slice", (2, 5, 5), 0), ("sub", (2, 5, 5), 0),
        ("add", (2, 5, 5), 0), ("add", (2, 5, 5), 0), ("div", (2, 5, 5), 0), ("sub", (2, 5, 5), 0),
        ("concat", (4, 5, 5), 0), ("mul", (4, 5, 5), 0), ("conv", (3, 5, 5), 27), ("concat", (7, 5, 5), 0)]
    p = {r.name: r.node.params for r in a.layers}
    assert p[x1y1] == {"by": None, "by_shape": (2, 5, 5), "by_index": 0}
    assert p[x2y2]["by_shape"] == (2, 5, 5) and p[dbox]["by_shape"] == (1, 5, 5)
    assert a.totals.params == 36 + 27
    same_after_import(m.model([y]))


def test_a_learned_per_channel_weight_is_still_scale_not_a_constant():
    m = M((1, 8, 6, 6), opset=17)
    y = m.op("Mul", ["x", m.w(8, 1, 1)])
    y = m.op("Sub", [y, m.w(1, 8, 1, 1)])                      # Sub by a constant: no params
    a = read(m.model([y]))
    assert [(r.op, r.params) for r in a.layers] == [("scale", 8), ("sub", 0)]


# -- the YAML spelling ---------------------------------------------------------------------------

NET = """\
netc: 1
name: tensor-math
input: {shape: [8, 6, 6]}
layers:
  - conv: {name: c, filters: 8, kernel: 3, padding: 1}
  - reduce_l2: {name: g, axes: [2, 3], keepdims: true}
  - reduce_mean: {name: m, axes: 1, keepdims: true}
  - add: {name: e, by: 1.0e-6}
  - div: {name: n, from: [g, e]}
  - mul: {name: xn, from: [c, n]}
  - sub: {name: s, by: 0.5, by_index: 0}
  - pow: {by: 2}
  - sqrt
  - exp
  - log
  - neg
  - abs
  - erf
  - clip: {min: -1, max: 1}
  - softmax: {axis: -1}
  - log_softmax: {axis: 2}
  - mul: {name: k, by: 2.0, by_shape: [6, 6]}
  - minimum: {from: [k, c]}
  - maximum: {by: 0.1}
  - groupnorm: {groups: 2}
  - instancenorm: {name: inorm, affine: true}
  - reduce_sum: {name: rs, axes: [-1]}
  - reduce_max: {axes: [2], keepdims: true}
  - reduce_min: {name: r0}
  - matmul: {name: mm, from: [inorm, inorm]}
  - where: {name: w, from: [mm, mm], by: 0.0}
  - pad: {name: p, padding: [1, 2, 1, 1], mode: circular, from: inorm}
outputs: [w, p, r0]
"""


def test_yaml_shapes_and_costs():
    net = netc.loads(NET)
    r = {x.name: x for x in net.layers}
    assert [r[n].output_shape for n in ("g", "m", "e", "n", "s", "k", "rs", "r0", "mm", "w", "p")] == [
        (8, 1, 1), (1, 1, 1), (1, 1, 1), (8, 1, 1), (8, 6, 6), (8, 6, 6), (8, 6), (), (8, 6, 6), (8, 6, 6),
        (8, 9, 8)]
    assert (r["groupnorm1"].params, r["inorm"].params) == (16, 16)
    assert r["mm"].macs == 8 * 6 * 6 * 6 and r["mm"].flops == 2 * 8 * 216
    assert r["r0"].flops == 8 - 1 and r["k"].flops == 288 and r["w"].flops == 288
    assert r["clip1"].flops == 2 * 288 and r["log_softmax1"].flops == 5 * 288 + 48
    assert r["groupnorm1"].flops == 7 * 288 + 10 and r["inorm"].flops == 7 * 288 + 40
    assert net.totals.params == 584 + 16 + 16


@pytest.mark.parametrize("opset", [13, 17, 19])
def test_yaml_builds_runs_and_reads_back(opset):
    net = netc.loads(NET)
    model = build_model(net, opset=opset)          # ONNX shape inference checks every layer's shape
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {"input": np.random.default_rng(0).standard_normal((2, 8, 6, 6)).astype(np.float32)})
    assert [y.shape[1:] for y in outs] == [(8, 6, 6), (8, 9, 8), ()]
    if opset < 19:                                 # circular pad is Slice/Concat below opset 19
        return
    back = read(model, check_ort=False)
    # a max over the whole length of a 1-D map with keepdims is the global max pool of
    # that map: the reader's specific op for the same computation
    same = {"global_maxpool": "reduce_max"}
    assert [(same.get(x.op, x.op), x.output_shape, x.params, x.macs, x.flops) for x in back.layers] == \
        [(x.op, x.output_shape, x.params, x.macs, x.flops) for x in net.layers]


def test_yaml_errors():
    with pytest.raises(NetcError, match="sub takes 2 inputs, got 2 and the constant 'by'"):
        netc.loads("netc: 1\ninput: {shape: [4, 5, 5]}\nlayers:\n  - relu\n  - sub: {from: [input, relu1], by: 1}\n")
    with pytest.raises(NetcError, match="cannot act on the batch"):
        netc.loads("netc: 1\ninput: {shape: [4, 5, 5]}\nlayers:\n  - softmax: {axis: 0}\n")
    with pytest.raises(NetcError, match="out of range"):
        netc.loads("netc: 1\ninput: {shape: [4, 5, 5]}\nlayers:\n  - reduce_sum: {axes: [4]}\n")
    with pytest.raises(NetcError, match="repeat an axis"):
        netc.loads("netc: 1\ninput: {shape: [4, 5, 5]}\nlayers:\n  - reduce_sum: {axes: [2, 2]}\n")
    with pytest.raises(NetcError, match="groups 3 does not divide"):
        netc.loads("netc: 1\ninput: {shape: [4, 5, 5]}\nlayers:\n  - groupnorm: {groups: 3}\n")
    with pytest.raises(NetcError, match="must equal the second's next-to-last"):
        netc.loads("netc: 1\ninput: {shape: [4, 5, 6]}\nlayers:\n  - relu\n  - matmul: {from: [relu1, relu1]}\n")
    with pytest.raises(NetcError, match="cannot broadcast"):
        netc.loads("netc: 1\ninput: {shape: [4, 5, 6]}\nlayers:\n  - add: {by: 1, by_shape: [5]}\n")
    with pytest.raises(NetcError, match="circular padding 6 must be at most"):
        netc.loads("netc: 1\ninput: {shape: [4, 5, 6]}\nlayers:\n  - pad: {padding: 6, mode: circular}\n")


@pytest.mark.parametrize("op", ["batchnorm", "prelu", "layernorm", "scale", "dense: {units: 4}", "lrn: {size: 3}",
                                "groupnorm: {groups: 1}", "instancenorm", "channel_shuffle: {groups: 1}"])
def test_a_per_channel_op_on_one_number_per_sample_is_a_shape_error(op):
    """A reduction over every axis leaves () per sample; an op that works per channel given it
    is E004 at that layer (the fuzzer found IndexErrors in batchnorm's and prelu's cost rules)."""
    with pytest.raises(NetcError) as e:
        netc.loads(f"netc: 1\ninput: {{shape: [16, 8]}}\nlayers:\n  - reduce_sum\n  - {op}\n")
    [d] = e.value.diagnostics
    assert d.code == "E004" and "per channel" in d.message and d.span.line == 5, d.format()
