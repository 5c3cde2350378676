"""Regressions from the corpus of real exports (benchmarks/real_exports.py, docs/onnx.md
*Real exports*): each model built by hand with onnx.helper to the structure of the
export that did not read."""

import numpy as np
import pytest
from onnx import helper

from netc.diagnostics import NetcError

from test_onnx_reader import M, read, rows


def test_weight_standardized_by_a_training_mode_batchnorm_reads_as_the_conv():
    """timm's nf_resnet26 and eca_nfnet_l0 (ScaledStdConv2d, TorchScript): the weight
    viewed as (1, K, -1) goes through F.batch_norm in training mode — a
    BatchNormalization of three outputs, its mean and variance computed from the weight,
    its scale the gain — then back to the weight's shape. The conv of that weight,
    counted once; the first node used to be E011 ("the shape of input 1 is not known")."""
    m = M((1, 4, 10, 10), opset=17)
    w, wt = m.w(1, 6, 36), m.w(1, 36, 6)      # the export stores the weight transposed too
    mean = m.op("ReduceMean", [wt], axes=[0, 1], keepdims=0)
    d = m.op("Sub", [wt, m.op("ReduceMean", [wt], axes=[0, 1], keepdims=1)])
    var = m.op("ReduceMean", [m.op("Mul", [d, d])], axes=[0, 1], keepdims=0)
    m.nodes.append(helper.make_node(
        "BatchNormalization", [w, m.w(6), m.const([0.0] * 6, np.float32), mean, var],
        ["bn_y", "bn_mean", "bn_var"], name="bn", training_mode=1, momentum=1.0))
    back = m.op("Reshape", ["bn_y", m.const([6, 4, 3, 3])])
    z = m.op("Conv", ["x", back, m.w(6)], pads=[1, 1, 1, 1])
    assert rows(read(m.model([z]))) == [("conv", (6, 10, 10), 6 * 36 + 6, 6 * 36 * 100)]


def _f(m, v):
    return m.const([v], np.float32, scalar=True)


def _same_pads(m, axis, k, s):
    """timm's pad_same as TorchScript exports it, in float: pad = max((ceil(i / s) - 1) * s
    + (k - 1) + 1 - i, 0); left = int(pad / 2), right = pad - left."""
    i = m.op("Cast", [m.op("Gather", [m.op("Shape", ["x"]), m.const([axis], scalar=True)], axis=0)], to=1)
    o = m.op("Ceil", [m.op("Div", [i, _f(m, s)])])
    full = m.op("Add", [m.op("Add", [m.op("Mul", [m.op("Sub", [o, _f(m, 1.0)]), _f(m, s)]), _f(m, k - 1.0)]),
                        _f(m, 1.0)])
    pad = m.op("Clip", [m.op("Sub", [full, i]), _f(m, 0.0), ""])
    left = m.op("Cast", [m.op("Cast", [m.op("Div", [pad, _f(m, 2.0)])], to=7)], to=1)
    right = m.op("Sub", [pad, left])
    return [m.op("Unsqueeze", [t, m.const([0])]) for t in (left, right)]


def test_same_pads_computed_in_float_from_the_input_shape_are_read():
    """tf_efficientnetv2_b0 (TorchScript): the stem's F.pad takes pads computed from
    Shape(x) in float (Cast, Div, Ceil, Clip with no upper bound, Cast to int64), then
    TorchScript's pads chain, whose ConstantOfShape is sized by the Shape of that Concat.
    Used to be E011 at the Pad ("pads None")."""
    m = M((1, 4, 8, 9))
    cat = m.op("Concat", [*_same_pads(m, 3, 3, 2), *_same_pads(m, 2, 3, 2)], axis=0)
    p = m.op("Cast", [cat], to=7)
    n = m.op("Gather", [m.op("Shape", [cat]), m.const([0])], axis=0)
    m.n += 1
    zeros = f"zeros{m.n}"
    m.nodes.append(helper.make_node("ConstantOfShape", [m.op("Sub", [m.const([8], scalar=True), n])], [zeros],
                                    value=helper.make_tensor("v", 7, [1], [0])))
    y = m.op("Reshape", [m.op("Concat", [p, zeros], axis=0), m.const([-1, 2])])
    y = m.op("Slice", [y, m.const([-1]), m.const([-(2 ** 63)]), m.const([0]), m.const([-1])])
    y = m.op("Cast", [m.op("Reshape", [m.op("Transpose", [y], perm=[1, 0]), m.const([-1])])], to=7)
    y = m.op("Pad", ["x", y, _f(m, 0.0)], mode="constant", name="pad")
    y = m.op("Conv", [y, m.w(8, 4, 3, 3)], strides=[2, 2], name="conv")
    layers = {r.name: r for r in read(m.model([y])).layers}
    assert layers["pad"].node.params["padding"] == ((0, 1), (1, 1))        # (top, bottom), (left, right)
    assert layers["conv"].output_shape == (8, 4, 5)


def test_a_cast_of_a_feature_to_its_own_type_passes_it_through():
    """timm's efficientvit_b0 (TorchScript): its linear attention casts q, k and v to float
    (``.float()``) on a float model. A Cast to the input's own element type changes
    nothing: the tensor passes through, no layer. A cast to another type stays E011."""
    m = M((1, 4, 6, 6))
    y = m.op("Conv", ["x", m.w(8, 4, 1, 1)], name="conv")
    y = m.op("Relu", [m.op("Cast", [y], to=1, name="cast")], name="relu")
    a = read(m.model([y]))
    assert [(r.name, r.op, r.output_shape) for r in a.layers] == [
        ("conv", "conv", (8, 6, 6)), ("relu", "relu", (8, 6, 6))]
    m = M((1, 4, 6, 6))
    y = m.op("Cast", [m.op("Conv", ["x", m.w(8, 4, 1, 1)], name="conv")], to=10, name="half")
    with pytest.raises(NetcError, match="node 'half' \\(Cast #"):
        read(m.model([y]), check_ort=False)


def _imported_totals(model):
    """(params, MACs) of the netc file that ``netc import`` writes for ``model``, loaded again."""
    import netc
    from netc.onnx.importer import import_graph
    from netc.onnx.reader import read_graph

    t = netc.loads(import_graph(read_graph(model, "m.onnx"), "m.onnx")).totals
    return t.params, t.macs


@pytest.mark.parametrize("bias_first", [True, False])
def test_grn_addcmul_bias_after_a_mul_by_one_is_the_scale_bias(bias_first):
    """timm's convnextv2_atto (TorchScript): GRN ends with torch.addcmul(bias, weight, x * nx),
    exported as Mul(weight, y), Mul by the addcmul ``value`` 1, then Add(bias, ...): the bias
    standing first, after the Mul by one. One scale layer with its bias: 2C params. Used to
    be E011 at the Add ("a per-channel weight as a constant operand")."""
    c = 8
    m = M((1, 4, 6, 6))
    y = m.op("Conv", ["x", m.w(c, 4, 1, 1), m.w(c)], name="conv")
    y = m.op("Mul", [m.w(1, c, 1, 1), y], name="gamma")
    y = m.op("Mul", [y, m.const([1.0], np.float32)], name="value")
    b = m.w(1, c, 1, 1)
    y = m.op("Add", [b, y] if bias_first else [y, b], name="beta")
    y = m.op("Relu", [y], name="relu")
    model = m.model([y])
    a = read(model)
    assert [(r.op, r.params) for r in a.layers] == [("conv", c * 4 + c), ("scale", 2 * c), ("relu", 0)]
    assert a.layers[1].node.params["bias"] is True
    assert _imported_totals(model) == (c * 4 + c + 2 * c, c * 4 * 36)


def test_a_mul_by_another_constant_between_the_scale_and_its_bias_is_no_bias():
    """Only the constant 1 is taken: a Mul by 2 stays a layer of its own (mul by 2)."""
    m = M((1, 4, 6, 6))
    y = m.op("Mul", [m.w(1, 4, 1, 1), "x"], name="gamma")
    y = m.op("Mul", [y, m.const([2.0], np.float32)], name="twice")
    a = read(m.model([y]))
    assert [(r.op, r.params) for r in a.layers] == [("scale", 4), ("mul", 0)]


def _stack(m, maps, keepdims=0, reduce="ReduceSum", axis=0):
    ups = [m.op("Unsqueeze", [t, m.const([0])], name=f"up{i}") for i, t in enumerate(maps)]
    cat = m.op("Concat", ups, axis=axis, name="stack")
    return m.op(reduce, [cat, m.const([0])], keepdims=keepdims, name="merge")


def test_stack_and_sum_on_the_batch_axis_is_an_add():
    """segmentation_models_pytorch's FPN (TorchScript): the merge of the pyramid's levels
    is torch.stack(maps).sum(0) — Unsqueeze on axis 0 of each, Concat on axis 0, ReduceSum
    over axis 0 without keepdims: one add of the maps (3 maps: 2 flops per element). Used
    to be E011 at the first Unsqueeze ("cannot act on the batch")."""
    m = M((1, 4, 6, 6))
    maps = [m.op("Conv", ["x", m.w(8, 4, 1, 1)], name=f"conv{i}") for i in range(3)]
    y = m.op("Relu", [_stack(m, maps)], name="relu")
    model = m.model([y])
    a = read(model)
    assert [(r.name, r.op, r.output_shape, r.params) for r in a.layers] == [
        ("conv0", "conv", (8, 6, 6), 32), ("conv1", "conv", (8, 6, 6), 32), ("conv2", "conv", (8, 6, 6), 32),
        ("merge", "add", (8, 6, 6), 0), ("relu", "relu", (8, 6, 6), 0)]
    assert a.layers[3].flops == 2 * 8 * 36 and a.layers[3].node.inputs == ["conv0", "conv1", "conv2"]
    assert _imported_totals(model) == (3 * 32, 3 * 32 * 36)


@pytest.mark.parametrize("change", ["keepdims", "mean", "axis1", "shapes", "shape_used"])
def test_other_work_on_the_batch_axis_stays_e011(change):
    """Only the stack-and-sum reads as an add: a sum that keeps the stacked axis, a mean,
    a Concat on another axis, maps of different shapes, or a stacked tensor whose shape is
    read stay E011, at the node that does them."""
    m = M((1, 4, 6, 6))
    maps = [m.op("Conv", ["x", m.w(8, 4, 1, 1)], name=f"conv{i}") for i in range(2)]
    if change == "shapes":
        maps[1] = m.op("MaxPool", [maps[1]], kernel_shape=[2, 2], strides=[2, 2])
    y = _stack(m, maps, keepdims=int(change == "keepdims"), reduce="ReduceMean" if change == "mean" else "ReduceSum",
               axis=1 if change == "axis1" else 0)
    if change == "shape_used":
        m.op("Shape", ["up1"], name="sh")
    with pytest.raises(NetcError, match="E011|netc cannot read") as e:
        read(m.model([y]), check_ort=False)
    first = {"shapes": "stack", "shape_used": "up1"}.get(change, "up0")
    assert f"node '{first}'" in str(e.value)


@pytest.mark.parametrize("axis", [-1, -2, 1, 2])
def test_layernorm_over_the_trailing_axes_of_tokens(axis):
    """timm's coat_lite_tiny (TorchScript): the patch embedding's LayerNorm over the last
    axis of (L, C) tokens (Conv -> Reshape to (N, C, L) -> Transpose (0, 2, 1) ->
    LayerNormalization(axis -1)): layernorm with ``axis``, its weight and bias of the
    normalized dimensions' shape (C: 2C params; axes (L, C): 2LC). Used to be E011
    ("LayerNormalization of a map without Transposes around it"). The import writes it
    back, and the build of the import computes what onnxruntime computes of the export."""
    c, hw = 8, 12
    m = M((1, 4, 3, 4))
    y = m.op("Conv", ["x", m.w(c, 4, 1, 1)], name="conv")
    y = m.op("Transpose", [m.op("Reshape", [y, m.const([0, c, -1])], name="flat")], perm=[0, 2, 1], name="tokens")
    shape = (hw, c)[axis:] if axis < 0 else (hw, c)[axis - 1:]
    every = axis in (-2, 1)                     # over (L, C), else over C
    y = m.op("LayerNormalization", [y, m.w(*shape), m.w(*shape)], axis=axis, epsilon=1e-6, name="norm")
    model = m.model([y])
    a = read(model)
    assert [(r.op, r.output_shape, r.params) for r in a.layers][-1] == ("layernorm", (hw, c), 2 * (hw * c if every else c))
    p = a.layers[-1].node.params
    assert (p["axis"], p["affine"], p["eps"]) == (-2 if every else -1, True, 1e-6)
    assert _imported_totals(model) == (c * 4 + 2 * (hw * c if every else c), c * 4 * hw)


@pytest.mark.parametrize("opset", [13, 17])
def test_layernorm_axis_builds_what_onnxruntime_computes(opset):
    """netc's layernorm with ``axis`` lowers to LayerNormalization(axis) (opset 17) or its
    definition over the trailing axes (below): onnxruntime's result is a layer norm over
    those axes, and the model reads back as the same layer."""
    import onnxruntime as ort

    import netc
    from netc.onnx.build import build_model
    from netc.onnx.reader import read_graph

    net = netc.loads("netc: 1\nname: t\ninput: {shape: [6, 5]}\nlayers:\n  - layernorm: {axis: -2, affine: false}\n")
    assert net.totals.params == 0
    model = build_model(net, opset=opset)
    x = np.random.default_rng(0).standard_normal((2, 6, 5)).astype(np.float32)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    want = (x - x.mean(axis=(1, 2), keepdims=True)) / np.sqrt(x.var(axis=(1, 2), keepdims=True) + 1e-5)
    assert np.allclose(got, want, atol=1e-4)
    again = read_graph(model, "m.onnx").nodes
    if opset >= 17:
        assert [(n.op, n.params["axis"], n.params["affine"]) for n in again] == [("layernorm", -2, False)]
    else:                     # the definition over two axes reads back as its pieces
        assert [n.op for n in again] == ["reduce_mean", "sub", "mul", "reduce_mean", "add", "sqrt", "div"]


def _as_strided(m, y, c, offsets):
    """torch dynamo's as_strided of (N, C, 1, 1) after a global pool: Reshape to [-1], then
    Gather of Range(0, N) * C (Unsqueezed to (N, 1, 1, 1)) + offsets (1, C, 1, 1) + 0."""
    from onnx import numpy_helper

    flat = m.op("Reshape", [y, m.const([-1])], name="flat")
    n = m.op("Squeeze", [m.op("Shape", ["x"], start=0, end=1)])
    rows = m.op("Mul", [m.op("Range", [m.const([0], scalar=True), n, m.const([1], scalar=True)]),
                        m.const([c], scalar=True)])
    rows = m.op("Unsqueeze", [rows, m.const([1, 2, 3])])
    m.inits.append(numpy_helper.from_array(np.array(offsets, np.int64).reshape(1, c, 1, 1), "offsets"))
    m.inits.append(numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.int64), "zero"))
    idx = m.op("Add", [m.op("Add", [rows, "offsets"]), "zero"])
    return m.op("Gather", [flat, idx], axis=0, name="as_strided")


@pytest.mark.parametrize("c", [8, 300])        # 300 int64 offsets: past the skeleton's 1 KiB
def test_dynamo_as_strided_of_a_pooled_map_is_the_map(tmp_path, c):
    """torchvision's convnext_tiny exported by dynamo: the global pool's view is written as
    ReduceMean -> Reshape to [-1] -> Gather with the flat index of every element (an
    as_strided of the map's own sizes and strides): the map itself, no layer. Used to be
    E011 ("Reshape to [-1] is not a flatten of (768, 1, 1)"). A file whose offsets the
    skeleton skips reads them from the file."""
    import onnx

    from netc.onnx.reader import read_onnx

    m = M((1, 4, 6, 6), opset=18)
    y = m.op("ReduceMean", [m.op("Conv", ["x", m.w(c, 4, 1, 1)], name="conv"), m.const([-1, -2])], keepdims=1,
             name="pool")
    y = m.op("Flatten", [_as_strided(m, y, c, list(range(c)))], name="flatten")
    y = m.op("Gemm", [y, m.w(5, c)], transB=1, name="fc")
    model = m.model([y])
    want = [("conv", (c, 6, 6), 4 * c, 4 * c * 36), ("global_avgpool", (c, 1, 1), 0, 0), ("flatten", (c,), 0, 0),
            ("dense", (5,), 5 * c, 5 * c)]
    assert rows(read(model)) == want
    onnx.save(model, tmp_path / "m.onnx")
    assert [(r.op, r.params) for r in netc_load(tmp_path / "m.onnx").layers] == [(w[0], w[2]) for w in want]
    assert read_onnx(tmp_path / "m.onnx") is not None


def netc_load(path):
    import netc

    return netc.load(path).analysis


def test_an_as_strided_that_reorders_the_map_stays_e011():
    """Indices that are not every element in order (here the channels reversed) are a
    gather netc does not read: E011 at the Reshape."""
    m = M((1, 4, 6, 6), opset=18)
    y = m.op("ReduceMean", [m.op("Conv", ["x", m.w(8, 4, 1, 1)], name="conv"), m.const([-1, -2])], keepdims=1)
    y = _as_strided(m, y, 8, list(range(8))[::-1])
    with pytest.raises(NetcError, match="node 'flat' \\(Reshape #"):
        read(m.model([y]), check_ort=False)
