"""Regressions from reading real exports (issue 18), each model built by hand with
onnx.helper to the structure of the export that showed the bug: timm's mixnet_s
(state left by one Split read leaking into the next), E011's pointer and blocker list
(yolo11n, ConvNeXt-V2), A008 on an explicit count_include_pad (inception_v3),
dynamo's allowzero=1 Reshapes (shufflenet), a one-input Concat (densenet121) and
F.pad's pads computed by a TorchScript chain (tf_efficientnetv2)."""

import numpy as np
import pytest
from onnx import helper

from netc.diagnostics import NetcError
from test_onnx_reader import M, read


def _split(m, x, sizes, name):
    """Split ``x`` on the channels into parts of ``sizes`` (opset 13+: sizes as an input)."""
    outs = [f"{name}_{i}" for i in range(len(sizes))]
    m.nodes.append(helper.make_node("Split", [x, m.const(sizes)], outs, name=name, axis=1))
    return outs


def test_mixnet_split_after_a_three_way_split():
    """timm mixnet_s: a mixed conv splits in 3, a later conv feeds a 2-way Split only.
    The 2-way Split is offered to the conv's activation fold; it used to be read with
    the output index the 3-way Split had left (2): IndexError in every command."""
    m = M((1, 6, 8, 8))
    parts = _split(m, "x", [2, 2, 2], "split3")
    convs = [m.op("Conv", [p, m.w(2, 2, 3, 3)], pads=[1, 1, 1, 1], name=f"mix{i}") for i, p in enumerate(parts)]
    y = m.op("Concat", convs, axis=1, name="cat3")
    y = m.op("Conv", [y, m.w(6, 6, 1, 1)], name="pw")             # its only reader: a 2-way Split
    a, b = _split(m, y, [4, 2], "split2")
    y = m.op("Concat", [m.op("Conv", [a, m.w(4, 4, 3, 3)], pads=[1, 1, 1, 1], name="ca"),
                        m.op("Conv", [b, m.w(2, 2, 5, 5)], pads=[2, 2, 2, 2], name="cb")], axis=1, name="cat2")
    a = read(m.model([y]))
    layers = {r.name: r for r in a.layers}
    assert [(n, layers[n].node.params["start"], layers[n].node.params["end"]) for n in
            ("split3_0", "split3_1", "split3_2", "split2_0", "split2_1")] == [
        ("split3_0", 0, 2), ("split3_1", 2, 4), ("split3_2", 4, None), ("split2_0", 0, 4), ("split2_1", 4, None)]
    assert layers["pw"].node.params["activation"] == "none"
    assert layers["cat2"].output_shape == (6, 8, 8)


# -- E011 names the real blockers, at the first one ---------------------------------------

def _attention_blocker(m, y):
    """YOLO11's C2PSA: a Reshape at the attention netc does not read. Since issue 18 netc
    reads the real one (to heads, the batch kept first); this one folds the batch into the
    heads ([-1, 2, 2, 16] of 256 values per sample), which netc still refuses."""
    return m.op("Reshape", [y, m.const([-1, 2, 2, 16])], name="/model.10/m/m.0/attn/Reshape")


def test_e011_points_at_the_first_unread_node_and_leaves_out_nodes_not_reached():
    """yolo11n: the blocker is the attention Reshape (#178); the Detect head's many Sub
    nodes after it were listed as the most frequent type and pointed at (#444). Here:
    a Reshape refused with its input known, then a GELU (Div, Erf, Add, Mul, Mul: netc
    reads it) and Subs after it, not reached; and later, on a branch whose input is
    known, two nodes of a type no op reads (Selu): they are blockers too."""
    m = M((1, 4, 8, 8))
    y = m.op("Conv", ["x", m.w(4, 4, 3, 3)], pads=[1, 1, 1, 1], name="conv0")
    r = _attention_blocker(m, y)
    g = m.op("Div", [r, m.const([1.4142135], np.float32, scalar=True)], name="gelu/Div")
    e = m.op("Erf", [g], name="gelu/Erf")
    a = m.op("Add", [e, m.const([1.0], np.float32, scalar=True)], name="gelu/Add")
    h = m.op("Mul", [r, a], name="gelu/Mul")
    h = m.op("Mul", [h, m.const([0.5], np.float32, scalar=True)], name="gelu/Mul_1")
    subs = [m.op("Sub", [h, m.const([float(i)], np.float32, scalar=True)], name=f"/model.23/Sub_{i}")
            for i in range(3)]
    selus = [m.op("Selu", [y], name=f"selu{i}") for i in range(2)]
    with pytest.raises(NetcError) as exc:
        read(m.model([*subs, *selus]), check_ort=False)
    (d,) = exc.value.diagnostics
    assert d.code == "E011"
    assert str(d.span) == "model.onnx: node '/model.10/m/m.0/attn/Reshape' (Reshape #2)"
    assert d.message.startswith("3 nodes of 2 op types netc cannot read (Selu x2, Reshape x1);")
    notes = [n for _, n in d.notes]
    assert notes[0] == "Selu: 2 nodes: 'selu0', 'selu1'"
    assert notes[1].startswith("Reshape: 1 node: '/model.10/m/m.0/attn/Reshape' (")
    assert notes[2] == ("8 nodes after them were not reached: netc reads their op types, but not "
                        "without their input shapes")
    assert "Erf" not in d.message and "Sub" not in d.message


def test_convnextv2_erf_after_an_unread_reduce_is_not_a_blocker(tmp_path):
    """ConvNeXt-V2's GRN (ReduceL2 over H, W) stopped the read; the GELUs after it (Erf x11
    in the real export) used to be listed as unread op types. netc reads ReduceL2 now:
    ReduceSumSquare, which it does not read, stands in its place."""
    m = M((1, 4, 8, 8))
    y = m.op("Conv", ["x", m.w(4, 4, 3, 3)], pads=[1, 1, 1, 1], name="conv0")
    gx = m.op("ReduceSumSquare", [y], axes=[2, 3], keepdims=1, name="grn/ReduceL2")
    y = m.op("Mul", [y, gx], name="grn/Mul")
    for i in range(3):
        g = m.op("Div", [y, m.const([1.4142135], np.float32, scalar=True)], name=f"gelu{i}/Div")
        e = m.op("Erf", [g], name=f"gelu{i}/Erf")
        a = m.op("Add", [e, m.const([1.0], np.float32, scalar=True)], name=f"gelu{i}/Add")
        y = m.op("Mul", [m.op("Mul", [y, a], name=f"gelu{i}/Mul"), m.const([0.5], np.float32, scalar=True)],
                 name=f"gelu{i}/Mul_1")
    net = __import__("netc").load(_save(tmp_path, m.model([y])), partial=True)
    assert net.graph.unread_ops == {"ReduceSumSquare": ["grn/ReduceL2"]}
    assert net.graph.unread_after == 1 + 3 * 5
    assert [r.name for r in net.analysis.layers] == ["conv0"]


def test_e011_names_a_few_of_many_unknown_op_types(tmp_path):
    """A model of 20,000 distinct unknown op types (the fuzzer's 200,000 made an 11 MB
    message): E011, the summary's sentence and its JSON name the first types and a count."""
    n = 20_000
    m = M((1, 3, 4, 4))
    outs = [m.op(f"Mystery{i}", ["x"], name=f"n{i}") for i in range(n)]
    path = _save(tmp_path, m.model(outs))
    net = __import__("netc").load(path, partial=True)
    d = net.graph.unread
    assert len(net.graph.unread_ops) == n                      # all kept, a few shown
    assert d.message == (f"20,000 nodes of 20,000 op types netc cannot read (Mystery0 x1, Mystery1 x1, "
                         "Mystery2 x1, Mystery3 x1, Mystery4 x1, Mystery5 x1, Mystery6 x1, Mystery7 x1 "
                         "and 19,992 more op types); they are left out of every count, never counted as zero")
    assert len(d.notes) == 8 and str(d.span) == f"{path}: node 'n0' (Mystery0 #0)"
    from netc.render.summary import as_dict, incomplete_text
    inc = as_dict(net.analysis, net.memory(1))["incomplete"]
    assert (inc["unread_nodes"], inc["unread_op_types"], len(inc["op_types"])) == (n, n, 8)
    assert "Mystery7 x1: 'n7' and 19,992 more op types) were not read" in incomplete_text(inc)
    assert len(incomplete_text(inc)) < 400


def _save(tmp_path, model):
    import onnx

    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    return path


# -- A008 on ONNX AveragePools -------------------------------------------------------------

@pytest.mark.parametrize("attrs", [{"count_include_pad": 1}, {"count_include_pad": 0}, {}])
def test_a008_reads_the_onnx_attribute(tmp_path, attrs):
    """inception_v3 (x9): AveragePool 3x3, pads 1, count_include_pad=1 said explicitly,
    warned as if it were a YAML layer without the setting. An ONNX model states it: the
    attribute, or ONNX's default 0 (TorchScript writes PyTorch's count_include_pad=True
    as a Pad before an unpadded pool, so a padded pool without it is PyTorch's False)."""
    from netc.lint import Config, lint_file

    m = M((1, 4, 8, 8))
    y = m.op("AveragePool", ["x"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], name="pool",
             **attrs)
    path = _save(tmp_path, m.model([y]))
    net = __import__("netc").load(path)
    assert net.graph.nodes[0].params["count_include_pad"] is bool(attrs.get("count_include_pad", 0))
    assert [d.code for d in lint_file(path, Config())] == []


def test_a008_still_fires_on_yaml_without_the_setting(write):
    from netc.lint import Config, lint_file

    head = "netc: 1\ninput: {shape: [4, 8, 8]}\nlayers:\n"
    assert [d.code for d in lint_file(write(head + "  - avgpool: {kernel: 3, padding: 1}\n"), Config())] == ["A008"]
    assert [d.code for d in lint_file(write(head + "  - avgpool: {kernel: 3, padding: 1, count_include_pad: "
                                                   "true}\n"), Config())] == []


# -- dynamo's allowzero=1 --------------------------------------------------------------------

def _shuffle(m, y, first, allowzero):
    """ShuffleNet's channel shuffle of 4 channels in 2 groups on 8x8, as dynamo writes it:
    every Reshape with allowzero=1 (here the batch as ``first``: 1, or 0)."""
    r = m.op("Reshape", [y, m.const([first, 2, 2, 8, 8])], name="view", allowzero=allowzero)
    t = m.op("Transpose", [r], perm=[0, 2, 1, 3, 4], name="transpose")
    return m.op("Reshape", [t, m.const([first, 4, 8, 8])], name="view_1", allowzero=allowzero)


def test_allowzero_without_a_zero_in_the_target_is_read():
    m = M((1, 4, 8, 8), opset=18, batch=1)
    y = m.op("Conv", ["x", m.w(4, 4, 1, 1)], name="conv")
    y = _shuffle(m, y, 1, allowzero=1)
    y = m.op("Reshape", [y, m.const([1, -1])], name="flat", allowzero=1)
    a = read(m.model([y]))
    assert [(r.op, r.output_shape) for r in a.layers] == [
        ("conv", (4, 8, 8)), ("channel_shuffle", (4, 8, 8)), ("flatten", (256,))]
    assert a.layers[1].node.params["groups"] == 2


def test_allowzero_with_a_zero_in_the_target_says_so():
    m = M((1, 4, 8, 8), opset=18)
    y = m.op("Conv", ["x", m.w(4, 4, 1, 1)], name="conv")
    y = _shuffle(m, y, 0, allowzero=1)
    with pytest.raises(NetcError) as exc:
        read(m.model([y]), check_ort=False)
    (d,) = exc.value.diagnostics
    assert str(d.span) == "model.onnx: node 'view' (Reshape #2)"
    assert any("Reshape to [0, 2, 2, 8, 8] with allowzero=1: its 0 is a dimension of size zero, not a copy "
               "of the input's" in n for _, n in d.notes)


# -- a one-input Concat ----------------------------------------------------------------------

def test_one_input_concat_is_the_identity():
    """densenet121 (TorchScript): torch.cat of a one-tensor list in the first dense
    layer writes a Concat of one input, axis 1."""
    m = M((1, 4, 8, 8))
    y = m.op("Conv", ["x", m.w(8, 4, 3, 3)], pads=[1, 1, 1, 1], name="conv0")
    c = m.op("Concat", [y], axis=1, name="denseblock1/denselayer1/Concat")
    z = m.op("BatchNormalization", [c, m.w(8), m.w(8), m.w(8), m.const([1.0] * 8, np.float32)], name="norm1")
    out = m.op("Concat", [y, z], axis=1, name="cat")
    a = read(m.model([out]))
    assert [(r.name, r.op, r.node.inputs, r.output_shape) for r in a.layers] == [
        ("conv0", "conv", ["x"], (8, 8, 8)), ("norm1", "batchnorm", ["conv0"], (8, 8, 8)),
        ("cat", "concat", ["conv0", "norm1"], (16, 8, 8))]


# -- F.pad's pads computed by a TorchScript chain --------------------------------------------

def _fpad_pads(m, pad):
    """The pads TorchScript's ``_prepare_onnx_paddings`` computes for ``F.pad(x, pad)`` on
    a 4-D input: pad (PyTorch's order, last axis first) and ConstantOfShape zeros to 8,
    Reshape to [-1, 2], flip (Slice with step -1), Transpose, Reshape to [-1]: ONNX's
    [x1_begin, x2_begin, ..., x1_end, ...] order."""
    p = m.const(pad)
    n = m.op("Gather", [m.op("Shape", [p]), m.const([0])], axis=0)
    ext = m.op("Sub", [m.op("Mul", [m.const([4], scalar=True), m.const([2], scalar=True)]), n])
    m.n += 1
    zeros = f"zeros{m.n}"
    m.nodes.append(helper.make_node("ConstantOfShape", [ext], [zeros],
                                    value=helper.make_tensor("v", 7, [1], [0])))
    y = m.op("Concat", [m.op("Cast", [p], to=7), zeros], axis=0)
    y = m.op("Reshape", [y, m.const([-1, 2])])
    y = m.op("Slice", [y, m.const([-1]), m.const([-(2 ** 63)]), m.const([0]), m.const([-1])])
    y = m.op("Transpose", [y], perm=[1, 0])
    return m.op("Cast", [m.op("Reshape", [y, m.const([-1])])], to=7)


def test_fpad_pads_computed_by_a_constant_chain_are_read():
    """tf_efficientnetv2_b0 / smp Unet-efficientnet (TorchScript): a 'same' conv's
    asymmetric F.pad (left 0, right 1, top 0, bottom 1) before a stride-2 conv."""
    m = M((1, 4, 8, 8))
    y = m.op("Pad", ["x", _fpad_pads(m, [0, 1, 0, 1]), m.const([0.0], np.float32, scalar=True)],
             mode="constant", name="pad")
    y = m.op("Conv", [y, m.w(8, 4, 3, 3)], strides=[2, 2], name="conv")
    other = m.op("Pad", ["x", _fpad_pads(m, [1, 2, 3, 4])], mode="reflect", name="pad2")   # 4 different
    a = read(m.model([y, other]))
    layers = {r.name: r for r in a.layers}
    assert layers["pad"].node.params["padding"] == ((0, 1), (0, 1))        # (top, bottom), (left, right)
    assert layers["conv"].output_shape == (8, 4, 4)
    assert layers["pad2"].node.params["padding"] == ((3, 4), (1, 2))
    assert layers["pad2"].output_shape == (4, 15, 11)


def test_fpad_chain_of_a_huge_constant_of_shape_is_not_evaluated():
    """The chain's evaluation stays bounded: a ConstantOfShape of 2**62 zeros is left
    unknown (the Pad is E011), not built."""
    m = M((1, 4, 8, 8))
    m.nodes.append(helper.make_node("ConstantOfShape", [m.const([2 ** 62])], ["big"],
                                    value=helper.make_tensor("v", 7, [1], [0])))
    y = m.op("Reshape", ["big", m.const([-1, 2])])
    y = m.op("Transpose", [y], perm=[1, 0])
    y = m.op("Pad", ["x", m.op("Reshape", [y, m.const([-1])])], name="pad")
    with pytest.raises(NetcError, match=r"(?s)E011.*'pad' \(Pad with pads None"):
        read(m.model([y]), check_ort=False)
