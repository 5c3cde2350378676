"""The batch as a symbol in computed shapes (issue 18): a Reshape to a target computed from
Shape that folds the batch into an axis (MobileViT's unfold to patches, B·C·n_h), the ops
on such a tensor, and the fold back. Each model built by hand with onnx.helper to the
structure of the export (timm's mobilevit_xxs, TorchScript) that did not read."""

import math

import numpy as np
import pytest

import netc
from netc.diagnostics import NetcError
from netc.onnx.build import build_model
from netc.onnx.importer import import_graph
from netc.onnx.reader import read_graph

from test_onnx_reader import M, _zeros, read


def _dim(m, t, i):
    """Gather(Shape(t), i): a size of ``t`` as the export computes it (a scalar)."""
    return m.op("Gather", [m.op("Shape", [t]), m.const([i], scalar=True)], axis=0)


def _target(m, *parts):
    """Concat of Unsqueezed scalars and constants: a Reshape target built as TorchScript builds it."""
    return m.op("Concat", [m.op("Unsqueeze", [p, m.const([0])]) if isinstance(p, str) else m.const([p])
                           for p in parts], axis=0)


def _mul(m, a, k):
    return m.op("Mul", [a, m.const([k], scalar=True)])


def mobilevit_block(m, y, c=16, size=8, patch=2, heads=2):
    """timm's MobileVitBlock between its convs: the unfold to patches, one attention layer
    on the (B·P, N, C) tokens, the fold back."""
    n = size // patch
    area, patches, hd = patch * patch, n * n, c // heads
    b, ch = _dim(m, y, 0), _dim(m, y, 1)
    # x.reshape(B * C * n_h, p_h, n_w, p_w).transpose(1, 2)
    t = m.op("Reshape", [y, _target(m, _mul(m, m.op("Mul", [b, ch]), n), patch, n, patch)], name="unfold")
    t = m.op("Transpose", [t], perm=[0, 2, 1, 3])
    # .reshape(B, C, num_patches, area).transpose(1, 3).reshape(B * area, num_patches, -1)
    t = m.op("Reshape", [t, _target(m, b, ch, patches, area)])
    t = m.op("Transpose", [t], perm=[0, 3, 2, 1])
    x = m.op("Reshape", [t, _target(m, _mul(m, b, area), patches, -1)], name="tokens")
    t = m.op("LayerNormalization", [x, m.w(c), m.w(c)], axis=-1, name="norm")
    t = m.op("Add", [m.w(3 * c), m.op("MatMul", [t, m.w(c, 3 * c)], name="qkv")])
    t = m.op("Reshape", [t, _target(m, _dim(m, t, 0), _dim(m, t, 1), 3, heads, hd)])
    t = m.op("Transpose", [t], perm=[2, 0, 3, 1, 4])
    m.nodes.append(__import__("onnx").helper.make_node("Split", [t, m.const([1, 1, 1])], ["q0", "k0", "v0"],
                                                       name="split", axis=0))
    q, k, v = (m.op("Squeeze", [s, m.const([0])]) for s in ("q0", "k0", "v0"))
    scale = m.op("Div", [m.const([1.0], np.float32, scalar=True),
                         m.op("Sqrt", [m.op("Cast", [m.op("Slice", [m.op("Shape", [q]), m.const([-1]),
                                                                    m.const([2 ** 62])])], to=1)])])
    s = m.op("MatMul", [m.op("Mul", [q, scale]), m.op("Transpose", [k], perm=[0, 1, 3, 2])], name="scores")
    s = m.op("Softmax", [s], axis=-1)
    t = m.op("Transpose", [m.op("MatMul", [s, v], name="attend")], perm=[0, 2, 1, 3])
    t = m.op("Reshape", [t, _target(m, _dim(m, t, 0), _dim(m, t, 1), c)])
    x = m.op("Add", [x, t], name="residual")
    # x.view(B, area, num_patches, -1).transpose(1, 3).reshape(B * C * n_h, n_w, p_h, p_w)
    t = m.op("Reshape", [x, _target(m, b, area, patches, -1)], name="unfolded")
    t = m.op("Transpose", [t], perm=[0, 3, 2, 1])
    t = m.op("Reshape", [t, _target(m, _mul(m, m.op("Mul", [b, ch]), n), n, patch, patch)])
    # .transpose(1, 2).reshape(B, C, n_h * p_h, n_w * p_w)
    t = m.op("Transpose", [t], perm=[0, 2, 1, 3])
    return m.op("Reshape", [t, _target(m, b, ch, size, size)], name="folded")


def _mobilevit():
    m = M((1, 8, 8, 8))
    y = m.op("Conv", ["x", m.w(16, 8, 1, 1), m.w(16)], name="conv1")
    y = mobilevit_block(m, y)
    return m.model([m.op("Conv", [y, m.w(8, 16, 1, 1), m.w(8)], name="conv2")])


def test_mobilevit_unfold_attention_and_fold_back_read_whole():
    """The batch folded into the first axis (B·C·n_h, then B·P) is carried as a symbol: the
    tokens are a (P, N, C) tensor per sample, and every count is per sample. Counted
    apart: conv1 16·8+16 params, 16·8·64 MACs; layernorm 2·16; qkv 16·48+48, 4·16·16·48;
    q·kᵀ and attention·v 4 patches · 2 heads · 16·16·8 each; conv2 8·16+8, 8·16·64.
    Used to stop at the first Reshape (E011, "the target shape is not a constant")."""
    a = read(_mobilevit())                      # onnxruntime's output shape at batch 2 agrees
    layers = {r.name: r for r in a.layers}
    assert layers["unfold"].output_shape == (64, 2, 4, 2)            # (B·C·n_h, p_h, n_w, p_w) per sample
    assert layers["tokens"].output_shape == (4, 16, 16)              # (B·P, N, C)
    assert (layers["qkv"].op, layers["qkv"].output_shape) == ("dense", (4, 16, 48))
    assert layers["qkv"].node.params["last_axis"] is True
    assert layers["scores"].output_shape == (4, 2, 16, 16)
    assert layers["folded"].output_shape == (16, 8, 8)                # back to (N, C, H, W)
    assert a.totals.params == 144 + 32 + 816 + 136
    assert layers["qkv"].macs == 4 * 16 * 16 * 48
    assert layers["scores"].macs == layers["attend"].macs == 4 * 2 * 16 * 16 * 8
    assert a.totals.macs == 16 * 8 * 64 + 4 * 16 * 16 * 48 + 2 * 4 * 2 * 16 * 16 * 8 + 8 * 16 * 64


def test_mobilevit_block_imports_builds_and_round_trips():
    """netc import writes the block as reshapes, permutes, dense over the last axis and
    matmuls of per-sample tensors: the imported file sums to the same counts, and its
    ONNX build (dense over the last axis lowered to MatMul and Add) reads back alike and
    runs in onnxruntime at batch 2."""
    model = _mobilevit()
    a = read(model, check_ort=False)
    text = import_graph(read_graph(model, "m.onnx"), "m.onnx")
    assert "last_axis: true" in text
    again = netc.loads(text, "imported.yaml")
    assert [(r.op, r.output_shape, r.params, r.macs) for r in again.layers] == \
        [(r.op, r.output_shape, r.params, r.macs) for r in a.layers]
    built = read(build_model(again, weights=_zeros, check=False))
    assert (built.totals.params, built.totals.macs, built.totals.flops) == \
        (a.totals.params, a.totals.macs, a.totals.flops)


def _folded_tokens(m):
    """(N, 16, 4, 4) reshaped to (N·4, 16, 4): the batch folded into the first axis."""
    y = m.op("Conv", ["x", m.w(16, 8, 1, 1)], name="conv")
    return m.op("Reshape", [y, _target(m, _mul(m, _dim(m, y, 0), 4), 16, -1)], name="fold")


@pytest.mark.parametrize("build, why", [
    (lambda m, t: m.op("Softmax", [t], axis=0, name="bad"), "axis 0, into which the batch is folded"),
    (lambda m, t: m.op("Conv", [m.op("Unsqueeze", [t, m.const([1])]), m.w(4, 1, 1, 1)], name="bad"),
     "Conv of a tensor with the batch folded into axis 0"),
    (lambda m, t: m.op("Add", [t, m.w(4, 1, 1)], name="bad"), "against axis 0, into which the batch is folded"),
    (lambda m, t: m.op("Reshape", [t, _target(m, 2, _mul(m, _dim(m, t, 0), 2), 16, -1)], name="bad"),
     "the batch after sizes other than 1"),
    (lambda m, t: m.op("Reshape", [t, _target(m, m.op("Mul", [_dim(m, t, 0), _dim(m, t, 0)]), -1)], name="bad"),
     "the target shape is not a constant"),
])
def test_what_would_mix_samples_is_e011_saying_why(build, why):
    """On a tensor whose batch is folded into an axis, an op over that axis, a constant that
    varies along it, a reshape that puts sizes before the batch, an op netc does not read
    there (a Conv over the patches), and a target not linear in N (N·N) are E011 at the
    node, the reason named."""
    m = M((1, 8, 4, 4))
    out = build(m, _folded_tokens(m))
    with pytest.raises(NetcError) as e:
        read(m.model([out]), check_ort=False)
    d = e.value.diagnostics[0]
    assert d.code == "E011" and "'bad'" in str(d) and why in str(d), str(d)


def test_a_multiple_of_the_batch_past_the_limits_is_e005_at_the_node():
    """The coefficient of N obeys the evaluator's ±10^18 bound as any integer does: a chain of
    Mul by 10^10 is E005 at the Mul that passes it, never an unbounded integer."""
    m = M((1, 8, 4, 4))
    y = m.op("Conv", ["x", m.w(16, 8, 1, 1)], name="conv")
    k = _mul(m, _mul(m, _dim(m, y, 0), 10 ** 10), 10 ** 10)
    out = m.op("Reshape", [y, _target(m, k, -1)])
    with pytest.raises(NetcError) as e:
        read(m.model([out]), check_ort=False)
    d = e.value.diagnostics[0]
    assert d.code == "E005" and "multiple of the batch beyond" in str(d), str(d)
    assert f"#{len(m.nodes) - 6}" in str(d) or "Mul" in str(d)


def test_linear_arithmetic_on_the_batch_and_what_is_not():
    """k·N times and exactly divided by an int, k·N ± j·N stay multiples of N (N·k / k is N
    again); k·N + 1 and N·N are unknown, never a number."""
    from netc.onnx.reading import BATCH, Scaled, _linear, batch_times

    assert _linear("Mul", BATCH, 6) == Scaled(6) and _linear("Mul", 6, BATCH) == "6*N"
    assert _linear("Div", Scaled(6), 3) == Scaled(2) and _linear("Div", Scaled(6), 6) == BATCH
    assert _linear("Div", Scaled(6), 4) is None and _linear("Div", 6, BATCH) is None
    assert _linear("Div", Scaled(6), Scaled(2)) == 3
    assert _linear("Add", Scaled(6), BATCH) == Scaled(7) and _linear("Sub", Scaled(6), Scaled(6)) == 0
    assert _linear("Add", BATCH, 0) == BATCH and _linear("Add", BATCH, 1) is None
    assert _linear("Mul", BATCH, BATCH) is None and _linear("Mul", BATCH, 2.0) is None
    assert batch_times(1) == BATCH and batch_times(0) == 0


# -- YOLO pose's keypoint decode (TorchScript): ScatterND over the batch index ---------------

def _pose_decode(m, y, step=3):
    """``y[:, 0::step] = sigmoid(y[:, 0::step])`` on a copy, as TorchScript exports it: the
    indices (N, K, 2) built from Range over the batch and over the channels, Expand of both
    to Where(Equal(shape, -1), 1, shape), Unsqueeze and Concat; the updates reshaped to the
    indices' shape followed by the data's other sizes."""
    from onnx import helper

    n = m.op("Cast", [_dim(m, y, 0)], to=7)
    c = m.op("Cast", [_dim(m, y, 1)], to=7)
    b = m.op("Reshape", [m.op("Range", [m.const([0], scalar=True), n, m.const([1], scalar=True)]),
                         m.const([-1, 1])])
    ch = m.op("Slice", [m.op("Range", [m.const([0], scalar=True), c, m.const([1], scalar=True)]),
                        m.const([0]), m.const([2 ** 62]), m.const([0]), m.const([step])])
    shape = m.op("Shape", [m.op("Add", [b, ch])])
    m.n += 1
    ones = f"ones{m.n}"
    m.nodes.append(helper.make_node("ConstantOfShape", [m.op("Shape", [shape])], [ones],
                                    value=helper.make_tensor("v", 7, [1], [1])))
    to = m.op("Where", [m.op("Equal", [shape, m.op("Mul", [ones, m.const([-1], scalar=True)])]), ones, shape])
    idx = m.op("Concat", [m.op("Unsqueeze", [m.op("Expand", [b, to]), m.const([-1])]),
                          m.op("Unsqueeze", [m.op("Expand", [ch, to]), m.const([-1])])], axis=-1)
    u = m.op("Sigmoid", [m.op("Slice", [y, m.const([0]), m.const([2 ** 62]), m.const([1]), m.const([step])])])
    rest = m.op("Slice", [m.op("Shape", [y]), m.const([2]), m.const([2 ** 62]), m.const([0])])
    u = m.op("Reshape", [u, m.op("Concat", [shape, rest], axis=0)])
    return m.op("ScatterND", [y, idx, u], name="decode")


def _pose():
    m = M((1, 4, 4, 4))
    y = m.op("Conv", ["x", m.w(6, 4, 1, 1), m.w(6)], name="conv")
    y = m.op("Reshape", [y, _target(m, _dim(m, y, 0), 6, -1)])
    return m, m.model([_pose_decode(m, y)])


def test_pose_keypoint_decode_scatter_reads_as_scatter_of_the_channels():
    """The indices evaluate with the batch as a symbol: Range(0, N) reshaped to (N, 1) is the
    batch index, the channels 0::3 the written ones; the write is scatter (indices [0, 3] on
    the channels, free: params and MACs those of the conv, 6·4+6 and 6·4·16). Used to be
    E011 at the ScatterND and at the Reshape of the updates."""
    m, model = _pose()
    a = read(model)                              # onnxruntime at batch 2: the same shape
    layers = {r.name: r for r in a.layers}
    assert (layers["decode"].op, layers["decode"].output_shape) == ("scatter", (6, 16))
    assert layers["decode"].node.params["indices"] == (0, 3) and layers["decode"].node.params["axis"] == 1
    assert (a.totals.params, a.totals.macs) == (6 * 4 + 6, 6 * 4 * 16)


def test_scatter_other_indices_are_e011():
    """Indices that vary by sample in another way (a constant (N, K, 2) tensor is not the
    batch index) are E011 at the ScatterND, saying what netc reads."""
    m = M((1, 4, 4, 4), batch=2)
    y = m.op("Reshape", [m.op("Conv", ["x", m.w(6, 4, 1, 1)]), m.const([0, 6, -1])])
    idx = m.w(2, 2, 2)
    out = m.op("ScatterND", [y, idx, m.op("Slice", [y, m.const([0]), m.const([2]), m.const([1])])], name="bad")
    with pytest.raises(NetcError, match="(?s)E011.*'bad'.*the batch index beside constant indices"):
        read(m.model([out]), check_ort=False)


def test_scatter_in_yaml_lowers_to_onnx_and_torch():
    """scatter: {from: [x, u], indices, axis}: YAML spelling and shape errors; its ONNX
    lowering (ScatterElements of the indices expanded to the updates' shape) computes
    y[:, idx] = u in onnxruntime at batch 2; its PyTorch rule is index_copy."""
    import onnxruntime as ort

    from netc.torch.source import generate

    text = ("netc: 1\ninput: {shape: [5, 3]}\nlayers:\n"
            "  - gather: {name: g, indices: [0, 2]}\n  - sigmoid: {name: s}\n"
            "  - scatter: {name: w, from: [input, s], indices: [4, -4]}\n")
    net = netc.loads(text)
    assert [(r.op, r.output_shape, r.flops) for r in net.layers][-1] == ("scatter", (5, 3), 0)
    model = build_model(net, weights=_zeros, check=False)
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {model.graph.input[0].name: x})[0]
    want = x.copy()
    want[:, [4, 1]] = 1 / (1 + np.exp(-x[:, [0, 2]]))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert "index_copy(1, torch.tensor([4, 1]" in generate(net).text
    for bad, words in (("indices: [4, -1]", "write an entry twice"), ("indices: [5, 0]", "out of range"),
                       ("indices: [0]", "the second input must be (1, 3)")):
        with pytest.raises(NetcError, match=words.replace("(", r"\(").replace(")", r"\)")):
            netc.loads(text.replace("indices: [4, -4]", bad))


# -- CoaT: the class token, and attention's qkv permute that moves the batch -----------------

def _expand_over_batch(m, t, like, rank=3):
    """t.expand(B, -1, -1) as TorchScript writes it: Expand to Where(Equal(s, -1), 1, s) of
    s = [B, -1, -1], B from Shape(like)."""
    from onnx import helper

    s = m.op("Reshape", [_target(m, _dim(m, like, 0), *([-1] * (rank - 1))), m.const([-1])])
    m.n += 1
    ones = f"ones{m.n}"
    m.nodes.append(helper.make_node("ConstantOfShape", [m.op("Shape", [s])], [ones],
                                    value=helper.make_tensor("v", 7, [1], [1])))
    to = m.op("Where", [m.op("Equal", [s, m.op("Mul", [ones, m.const([-1], scalar=True)])]), ones, s])
    return m.op("Expand", [t, to])


def _coat(c=8, heads=2):
    """A conv stem to (N, 16, c) tokens, the class token before them, then timm's attention:
    qkv, reshape to (N, L, 3, heads, d), permute (2, 0, 3, 1, 4), unbind, q·kᵀ, softmax, ·v."""
    m = M((1, 3, 8, 8))
    y = m.op("Conv", ["x", m.w(c, 3, 2, 2), m.w(c)], strides=[2, 2], name="stem")
    y = m.op("Transpose", [m.op("Reshape", [y, _target(m, _dim(m, y, 0), c, -1)])], perm=[0, 2, 1])
    cls = m.w(1, 1, c)
    x = m.op("Concat", [_expand_over_batch(m, cls, y), y], axis=1, name="with_token")
    t = m.op("Add", [m.op("MatMul", [x, m.w(c, 3 * c)], name="qkv"), m.w(3 * c)])
    t = m.op("Reshape", [t, _target(m, _dim(m, x, 0), _dim(m, x, 1), 3, heads, c // heads)])
    t = m.op("Transpose", [t], perm=[2, 0, 3, 1, 4], name="heads")
    from onnx import helper
    m.nodes.append(helper.make_node("Split", [t, m.const([1, 1, 1])], ["q0", "k0", "v0"], name="unbind", axis=0))
    q, k, v = (m.op("Squeeze", [s, m.const([0])]) for s in ("q0", "k0", "v0"))
    s = m.op("Softmax", [m.op("MatMul", [q, m.op("Transpose", [k], perm=[0, 1, 3, 2])], name="scores")], axis=-1)
    o = m.op("Transpose", [m.op("MatMul", [s, v], name="attend")], perm=[0, 2, 1, 3])
    return m.model([m.op("Reshape", [o, _target(m, _dim(m, x, 0), _dim(m, x, 1), c)], name="merged")])


def test_class_token_and_a_qkv_permute_that_moves_the_batch_read_whole():
    """CoaT (timm's coat_lite_tiny, TorchScript): cat((cls_token.expand(B, -1, -1), x), 1) is a
    concat with a learned token (c params), and the permute (2, 0, 3, 1, 4) of the qkv
    moves the batch to axis 1: each sample is the tensor with a leading 1, permuted, the
    batch folded into axis 1 until the unbind's Squeeze makes it a tensor as any other.
    Counted apart: stem 8·3·4+8, 8·12·16; token 8; qkv 8·24+24, 17·8·24; q·kᵀ and ·v
    2 heads · 17·17·4 each. Used to be E011 at the Concat ("a constant operand")."""
    a = read(_coat())                              # onnxruntime's shape at batch 2 agrees
    layers = {r.name: r for r in a.layers}
    assert (layers["with_token"].op, layers["with_token"].output_shape) == ("concat", (17, 8))
    assert layers["with_token"].params == 8 and layers["with_token"].node.params["token"] == 1
    assert layers["heads"].output_shape == (3, 1, 2, 17, 4)
    assert layers["scores"].output_shape == (2, 17, 17) and layers["merged"].output_shape == (17, 8)
    assert a.totals.params == 8 * 3 * 4 + 8 + 8 + 8 * 24 + 24
    assert a.totals.macs == 8 * 12 * 16 + 17 * 8 * 24 + 2 * (2 * 17 * 17 * 4)
    text = import_graph(read_graph(_coat(), "m.onnx"), "m.onnx")
    again = netc.loads(text, "imported.yaml")
    assert (again.totals.params, again.totals.macs) == (a.totals.params, a.totals.macs)
    built = read(build_model(again, weights=_zeros, check=False))       # the token lowered: Expand
    assert (built.totals.params, built.totals.macs) == (a.totals.params, a.totals.macs)


def test_concat_token_in_yaml_and_torch():
    """concat: {token: k} puts k learned entries before the input along the axis: k times the
    other sizes in params; PyTorch writes it as a zero tensor expanded over the batch."""
    from netc.torch.source import generate

    net = netc.loads("netc: 1\ninput: {shape: [6, 4]}\nlayers:\n  - concat: {name: t, token: 2, axis: 1}\n")
    assert [(r.op, r.output_shape, r.params) for r in net.layers] == [("concat", (8, 4), 8)]
    text = generate(net).text
    assert "self.t = Scale((1, 2, 4), value=0.0)" in text
    assert "torch.cat([self.t.weight.expand(x.shape[0], -1, -1), x], dim=1)" in text
    with pytest.raises(NetcError, match="or a learned token"):
        netc.loads("netc: 1\ninput: {shape: [6, 4]}\nlayers:\n  - concat: {name: t}\n")


def test_a_graph_output_with_the_batch_folded_is_e011():
    """A result whose batch is still folded into an axis (no fold back) is no network output
    netc reads: E011 at the output, saying where the batch is."""
    m = M((1, 8, 4, 4))
    with pytest.raises(NetcError, match="(?s)E011.*has the batch folded into axis 0"):
        read(m.model([_folded_tokens(m)]), check_ort=False)
