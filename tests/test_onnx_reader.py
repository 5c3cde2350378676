"""Reading ONNX models (netc/onnx/reader.py): every mapped op and exporter pattern,
built with onnx.helper, read, and checked against hand-computed shapes, parameters
and MACs, and against onnxruntime's output shapes; the round trip netc build ->
read for every example; unsupported ops; binary files; lint and summary on .onnx."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import netc
from conftest import EXAMPLES, run_netc
from netc.analysis import analyze
from netc.diagnostics import NetcError
from netc.onnx.build import build_model
from netc.onnx.reader import read_graph
from netc.ops import OPS

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
DATA = EXAMPLES.parent / "tests" / "data"


# -- building test models -------------------------------------------------------------

class M:
    """A small ONNX model under construction: nodes, weights (random, by shape) and constants."""

    def __init__(self, shape=(1, 3, 8, 8), opset=17, batch="N"):
        self.nodes, self.inits, self.opset = [], [], opset
        self.input = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, *shape[1:]])
        self.rng = np.random.default_rng(0)
        self.n = 0

    def w(self, *shape):
        """A float initializer of ``shape``."""
        self.n += 1
        name = f"w{self.n}"
        self.inits.append(numpy_helper.from_array(self.rng.standard_normal(shape).astype(np.float32), name))
        return name

    def const(self, values, dtype=np.int64, scalar=False):
        """A Constant node holding ``values`` (1-D, or a scalar)."""
        self.n += 1
        name = f"c{self.n}"
        arr = np.array(values[0] if scalar else values, dtype=dtype)
        self.nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr)))
        return name

    def op(self, op_type, inputs, name=None, **attrs):
        self.n += 1
        out = name or f"t{self.n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def model(self, outputs):
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
        g = helper.make_graph(self.nodes, "test", [self.input], outs, self.inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)],
                                 ir_version=helper.find_min_ir_version_for(
                                     [helper.make_opsetid("", self.opset)]))


def read(model, check_ort=True):
    """netc's analysis of ``model``; with check_ort, every graph output's shape must equal
    the shape onnxruntime computes at batch 2."""
    graph = read_graph(model, "model.onnx")
    a = analyze(graph)
    if check_ort:
        dims = [d.dim_value or 2 for d in model.graph.input[0].type.tensor_type.shape.dim]
        x = np.random.default_rng(1).standard_normal(dims).astype(np.float32)
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        outs = sess.run(None, {model.graph.input[0].name: x})
        shapes = a.shapes()
        for o, y in zip(graph.outputs, outs):
            assert tuple(y.shape[1:]) == shapes[o], (o, y.shape, shapes[o])
    return a


def rows(a):
    return [(r.op, r.output_shape, r.params, r.macs) for r in a.layers]


# -- every op -------------------------------------------------------------------------

def test_conv_with_bias_stride_pads_and_fused_relu():
    m = M((1, 3, 32, 32))
    y = m.op("Conv", ["x", m.w(16, 3, 5, 5), m.w(16)], strides=[2, 2], pads=[2, 2, 2, 2])
    m.op("Relu", [y], name="out")
    a = read(m.model(["out"]))
    # (32 + 4 - 5)//2 + 1 = 16; params 16*3*25 + 16; MACs 16*3*25 * 16*16
    assert rows(a) == [("conv", (16, 16, 16), 1216, 1200 * 256)]
    p = a.layers[0].node.params
    assert (p["activation"], p["bias"], p["padding"], p["stride"]) == ("relu", True, ((2, 2), (2, 2)), (2, 2))
    assert a.layers[0].name == y                  # the layer is named after its first node


def test_conv_groups_dilation_and_no_bias():
    m = M((1, 8, 20, 20))
    y = m.op("Conv", ["x", m.w(16, 2, 3, 3)], group=4, dilations=[2, 2])
    a = read(m.model([y]))
    # extent 5: 20 - 5 + 1 = 16; weights 16*2*9 = 288
    assert rows(a) == [("conv", (16, 16, 16), 288, 288 * 256)]
    assert a.layers[0].node.params["groups"] == 4 and a.layers[0].node.params["dilation"] == (2, 2)


def test_depthwise_conv():
    m = M((1, 32, 14, 14))
    y = m.op("Conv", ["x", m.w(32, 1, 3, 3), m.w(32)], group=32, pads=[1, 1, 1, 1])
    assert rows(read(m.model([y]))) == [("conv", (32, 14, 14), 32 * 9 + 32, 32 * 9 * 196)]


@pytest.mark.parametrize("auto_pad, pads", [("SAME_UPPER", ((0, 1), (1, 1))),
                                            ("SAME_LOWER", ((1, 0), (1, 1))),
                                            ("VALID", ((0, 0), (0, 0)))])
def test_auto_pad(auto_pad, pads):
    # height 5, kernel 2, stride 1: SAME pads 1 in total, at the end (UPPER) or start (LOWER);
    # width 6, kernel 3: 2 in total, one on each side
    m = M((1, 3, 5, 6))
    y = m.op("Conv", ["x", m.w(4, 3, 2, 3)], auto_pad=auto_pad)
    a = read(m.model([y]))
    w = a.layers[0].windows
    assert ((w[0].pad_begin, w[0].pad_end), (w[1].pad_begin, w[1].pad_end)) == pads
    assert a.layers[0].output_shape == ((4, 5, 6) if auto_pad != "VALID" else (4, 4, 4))


def test_same_upper_with_stride_on_a_pool():
    # 7 wide, kernel 3, stride 2: out ceil(7/2) = 4, total pad (4-1)*2 + 3 - 7 = 2 -> (1, 1)
    # 8 high: out 4, total (4-1)*2 + 3 - 8 = 1 -> (0, 1)
    m = M((1, 2, 8, 7))
    y = m.op("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
    a = read(m.model([y]))
    w = a.layers[0].windows
    assert [(v.pad_begin, v.pad_end) for v in w] == [(0, 1), (1, 1)]
    assert a.layers[0].output_shape == (2, 4, 4)


def test_asymmetric_pads_are_kept():
    m = M((1, 3, 9, 9))
    y = m.op("Conv", ["x", m.w(8, 3, 3, 3)], strides=[2, 2], pads=[0, 1, 1, 0])
    a = read(m.model([y]))
    # height (9 + 0 + 1 - 3)//2 + 1 = 4, width (9 + 1 + 0 - 3)//2 + 1 = 4
    assert a.layers[0].node.params["padding"] == ((0, 1), (1, 0))
    assert a.layers[0].output_shape == (8, 4, 4)


def test_maxpool_defaults_stride_one_and_ceil_mode():
    m = M((1, 4, 10, 10))
    y = m.op("MaxPool", ["x"], kernel_shape=[3, 3])          # ONNX strides default to 1
    z = m.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    a = read(m.model([z]))
    # 10 - 3 + 1 = 8; ceil((8 - 3)/2) + 1 = 4 (floor would give 3)
    assert rows(a) == [("maxpool", (4, 8, 8), 0, 0), ("maxpool", (4, 4, 4), 0, 0)]
    assert a.layers[1].node.params["ceil_mode"] is True


def test_avgpool_count_include_pad():
    m = M((1, 4, 8, 8))
    y = m.op("AveragePool", ["x"], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1],
             count_include_pad=1)
    a = read(m.model([y]))
    assert rows(a) == [("avgpool", (4, 5, 5), 0, 0)]
    assert a.layers[0].node.params["count_include_pad"] is True


def test_dilated_pool_is_unsupported():
    m = M((1, 4, 8, 8))
    y = m.op("MaxPool", ["x"], kernel_shape=[2, 2], dilations=[2, 2])
    with pytest.raises(NetcError, match=r"E011|dilations"):
        read(m.model([y]), check_ort=False)


@pytest.mark.parametrize("tail", ["flatten", "reshape", "none"])
def test_global_average_pool_and_its_flatten(tail):
    m = M((1, 16, 7, 7))
    y = m.op("GlobalAveragePool", ["x"])
    if tail == "flatten":
        y = m.op("Flatten", [y])
    elif tail == "reshape":
        y = m.op("Reshape", [y, m.const([0, -1])])
    a = read(m.model([y]))
    assert rows(a) == [("global_avgpool", (16,) if tail != "none" else (16, 1, 1), 0, 0)]


@pytest.mark.parametrize("opset", [13, 18])
def test_reduce_mean_over_height_and_width(opset):
    m = M((1, 16, 7, 7), opset=opset)
    if opset < 18:
        y = m.op("ReduceMean", ["x"], axes=[2, 3], keepdims=0)
    else:
        y = m.op("ReduceMean", ["x", m.const([-2, -1])], keepdims=0)
    assert rows(read(m.model([y]))) == [("global_avgpool", (16,), 0, 0)]


def test_gemm_with_trans_b_and_without():
    m = M((1, 64))
    y = m.op("Gemm", ["x", m.w(10, 64), m.w(10)], transB=1)
    z = m.op("Gemm", [y, m.w(10, 5)])                         # no bias, W (C, units)
    a = read(m.model([z]))
    assert rows(a) == [("dense", (10,), 650, 640), ("dense", (5,), 50, 50)]
    assert [r.node.params["bias"] for r in a.layers] == [True, False]


def test_matmul_add_is_one_dense_with_bias():
    m = M((1, 64))
    y = m.op("MatMul", ["x", m.w(64, 10)])
    z = m.op("Add", [m.w(10), y])                             # bias first: still a bias
    out = m.op("Relu", [z])
    a = read(m.model([out]))
    assert rows(a) == [("dense", (10,), 650, 640)]
    assert a.layers[0].node.params["activation"] == "relu"


@pytest.mark.parametrize("form", ["torchscript", "static_batch", "minus_one_first", "flatten"])
def test_flatten_patterns(form):
    batch = 1 if form == "static_batch" else "N"
    m = M((1, 8, 4, 4), batch=batch)
    if form == "torchscript":              # x.view(x.size(0), -1)
        s = m.op("Shape", ["x"])
        n = m.op("Gather", [s, m.const([0], scalar=True)], axis=0)
        u = m.op("Unsqueeze", [n, m.const([0])])
        shape = m.op("Concat", [u, m.const([-1])], axis=0)
        y = m.op("Reshape", ["x", shape])
    elif form == "static_batch":
        y = m.op("Reshape", ["x", m.const([1, 128])])
    elif form == "minus_one_first":
        y = m.op("Reshape", ["x", m.const([-1, 128])])
    else:
        y = m.op("Flatten", ["x"], axis=1)
    out = m.op("Gemm", [y, m.w(10, 128), m.w(10)], transB=1)
    a = read(m.model([out]))
    assert rows(a) == [("flatten", (128,), 0, 0), ("dense", (10,), 1290, 1280)]


def test_reshape_that_is_not_a_flatten_is_a_reshape():
    """Issue 18: a Reshape that keeps the batch first and is no flatten is netc's reshape;
    one that folds the batch into other dimensions is E011, saying so."""
    m = M((1, 8, 4, 4))
    y = m.op("Reshape", ["x", m.const([0, 2, -1])])
    assert rows(read(m.model([y]))) == [("reshape", (2, 64), 0, 0)]
    m = M((1, 8, 4, 4))
    y = m.op("Reshape", ["x", m.const([-1, 2, 16])])
    with pytest.raises(NetcError) as e:
        read(m.model([y]), check_ort=False)
    d = e.value.diagnostics[0]
    assert d.code == "E011" and "Reshape to [-1, 2, 16] folds the batch into other dimensions" in str(e.value)


@pytest.mark.parametrize("opset", [10, 13])
def test_clip_zero_six_is_relu6_in_both_forms(opset):
    m = M((1, 3, 8, 8), opset=opset)
    y = m.op("Conv", ["x", m.w(4, 3, 1, 1)])
    z = m.op("BatchNormalization", [y, m.w(4), m.w(4), m.w(4), m.w(4)])
    if opset < 11:
        out = m.op("Clip", [z], min=0.0, max=6.0)
    else:
        out = m.op("Clip", [z, m.const([0.0], np.float32, scalar=True), m.const([6.0], np.float32, scalar=True)])
    a = read(m.model([out]), check_ort=False)   # the random variance may be negative: shapes only
    assert [r.op for r in a.layers] == ["conv", "batchnorm", "relu6"]
    # batchnorm: 2C trainable + 2C running statistics
    assert (a.layers[1].params, a.layers[1].buffers) == (16, 8)


def test_clip_with_other_bounds_is_clip_not_relu6():
    """Clip(0, 5) is no relu6: read as netc's clip with its bounds (it was unread before
    netc had clip)."""
    m = M((1, 3, 8, 8))
    y = m.op("Clip", ["x", m.const([0.0], np.float32, scalar=True), m.const([5.0], np.float32, scalar=True)])
    a = read(m.model([y]))
    assert [(r.op, r.node.params) for r in a.layers] == [("clip", {"min": 0.0, "max": 5.0})]


def test_activations_standalone_and_softmax():
    m = M((1, 10))
    y = m.op("LeakyRelu", ["x"], alpha=0.2)
    y = m.op("Sigmoid", [y])
    y = m.op("Tanh", [y])
    y = m.op("Softmax", [y], axis=1)
    a = read(m.model([y]))
    assert [r.op for r in a.layers] == ["leaky_relu", "sigmoid", "tanh", "softmax"]
    assert a.layers[0].node.params["slope"] == 0.2
    # FLOPs per element: leaky 2, sigmoid 4, tanh 5, softmax 5
    assert [r.flops for r in a.layers] == [20, 40, 50, 50]


def test_leaky_relu_fuses_only_with_the_fused_slope():
    m = M((1, 3, 8, 8))
    y = m.op("Conv", ["x", m.w(4, 3, 1, 1)])
    y = m.op("LeakyRelu", [y], alpha=0.01)
    y = m.op("Conv", [y, m.w(4, 4, 1, 1)])
    y = m.op("LeakyRelu", [y], alpha=0.1)
    a = read(m.model([y]))
    assert [(r.op, r.node.params.get("activation")) for r in a.layers] == \
        [("conv", "leaky_relu"), ("conv", "none"), ("leaky_relu", None)]


def test_softmax_over_a_map_before_opset_13_is_unsupported():
    m = M((1, 3, 8, 8), opset=12)
    y = m.op("Softmax", ["x"], axis=1)
    with pytest.raises(NetcError, match="Softmax over axis 1"):
        read(m.model([y]), check_ort=False)


@pytest.mark.parametrize("opset", [11, 13])
def test_dropout_rate(opset):
    m = M((1, 10), opset=opset)
    if opset < 12:
        y = m.op("Dropout", ["x"], ratio=0.3)
    else:
        y = m.op("Dropout", ["x", m.const([0.3], np.float32, scalar=True)])
    a = read(m.model([y]))
    assert [(r.op, r.node.params["rate"]) for r in a.layers] == [("dropout", 0.3)]


def test_residual_add_sum_and_concat():
    m = M((1, 8, 6, 6))
    a1 = m.op("Conv", ["x", m.w(8, 8, 3, 3)], pads=[1, 1, 1, 1])
    s = m.op("Add", [a1, "x"])
    t = m.op("Sum", [s, a1, "x"])
    c = m.op("Concat", [t, s], axis=1)
    a = read(m.model([c]))
    assert rows(a)[1:] == [("add", (8, 6, 6), 0, 0), ("add", (8, 6, 6), 0, 0), ("concat", (16, 6, 6), 0, 0)]
    assert a.layers[2].node.inputs == [s, a1, "x"]
    assert a.layers[2].flops == 2 * 8 * 36


def test_concat_along_height_is_a_concat_on_that_axis():
    """Issue 18: Concat along any axis after the batch is read; along the batch, E011."""
    m = M((1, 8, 6, 6))
    y = m.op("Concat", ["x", "x"], axis=2)
    a = read(m.model([y]))
    assert rows(a) == [("concat", (8, 12, 6), 0, 0)] and a.layers[0].node.params["axis"] == 2
    m = M((1, 8, 6, 6))
    y = m.op("Concat", ["x", "x"], axis=0)
    with pytest.raises(NetcError, match="Concat along axis 0"):
        read(m.model([y]), check_ort=False)


def test_add_of_a_constant_is_unsupported():
    m = M((1, 8, 6, 6))
    y = m.op("Add", ["x", m.w(1, 8, 1, 1)])
    with pytest.raises(NetcError, match="constant operand"):
        read(m.model([y]), check_ort=False)


# -- unsupported ops: one error, counts and names, nothing counted --------------------

def test_every_unsupported_op_type_in_one_error(tmp_path):
    m = M((1, 3, 8, 8))
    y = m.op("Conv", ["x", m.w(4, 3, 3, 3)], pads=[1, 1, 1, 1], name="conv0")
    names = []
    for i in range(5):
        y = m.op("Selu", [y], name=f"hs{i}")
        names.append(y)
    y = m.op("Erf", [y], name="erf0")                        # after them: types netc reads,
    y = m.op("Conv", [y, m.w(4, 4, 1, 1)], name="conv1")     # not reached, not errors
    other = m.op("Celu", ["conv0"], name="celu0")            # on another branch: read its input
    with pytest.raises(NetcError) as e:
        read(m.model([y, other]), check_ort=False)
    (d,) = e.value.diagnostics
    assert d.code == "E011"
    assert "6 nodes of 2 op types netc cannot read (Selu x5, Celu x1)" in d.message
    notes = [n for _, n in d.notes]
    assert notes[0] == "Selu: 5 nodes: 'hs0', 'hs1', 'hs2' and 2 more"
    assert notes[1] == "Celu: 1 node: 'celu0'"
    assert notes[2] == ("2 nodes after them were not reached: netc reads their op types, but not "
                        "without their input shapes")
    assert str(d.span) == "model.onnx: node 'hs0' (Selu #1)"
    path = tmp_path / "m.onnx"
    onnx.save(m.model([y, other]), path)
    r = run_netc("summary", str(path))
    assert r.returncode == 1                       # the error, then what was read, marked incomplete
    assert r.stderr.startswith(f"{path}: node 'hs0' (Selu #1): error[E011]: 6 nodes")
    assert ("Totals are incomplete: 6 nodes of 2 op types (Selu x5: 'hs0', 'hs1', 'hs2' ..., "
            "Celu x1: 'celu0') were not read, and 2 nodes after them were not reached; the counts "
            "below cover the 1 layer read") in r.stdout


def test_other_domains_are_unsupported():
    m = M((1, 3, 8, 8))
    m.nodes.append(helper.make_node("FusedConv", ["x", m.w(4, 3, 1, 1)], ["y"], name="fc",
                                    domain="com.microsoft"))
    model = m.model(["y"])
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(NetcError, match="com.microsoft.FusedConv x1"):
        read(model, check_ort=False)


def test_input_with_symbolic_height_is_refused():
    m = M((1, 3, 8, 8))
    m.input = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = m.op("Relu", ["x"])
    with pytest.raises(NetcError, match=r"\[N, 3, H, W\]: every dimension but the batch"):
        read(m.model([y]), check_ort=False)


def test_shape_error_names_the_node():
    m = M((1, 3, 4, 4))
    y = m.op("Conv", ["x", m.w(4, 3, 7, 7)], name="big")
    with pytest.raises(NetcError) as e:
        read(m.model([y]), check_ort=False)
    d = e.value.diagnostics[0]
    assert d.code == "E004" and str(d.span) == "model.onnx: node 'big' (Conv #0)"
    assert "kernel 7 is larger than the padded input 4" in d.message


# -- files: recognised by content --------------------------------------------------------

def test_binary_file_that_is_not_onnx_is_one_line(tmp_path):
    path = tmp_path / "weights.yaml"              # the suffix does not decide
    path.write_bytes(bytes(range(256)) * 4)
    for cmd in ("summary", "lint"):
        r = run_netc(cmd, str(path))
        out = (r.stderr if cmd == "summary" else r.stdout).strip().splitlines()
        assert r.returncode == 1
        assert out[0] == (f"{path}: error[E010]: not a netc file nor an ONNX model: binary content "
                          "that does not parse as an ONNX ModelProto")
        assert "E001" not in r.stdout + r.stderr


def test_model_recognised_by_content_not_suffix(tmp_path):
    net = netc.load(EXAMPLES / "lenet5.yaml")
    path = tmp_path / "lenet.bin"
    path.write_bytes(build_model(net, check=False).SerializeToString())
    r = run_netc("summary", str(path), "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["totals"]["params"] == net.totals.params
    assert data["layers"][0]["source"] == {"file": str(path), "line": None, "column": None,
                                           "where": "node 'c1.conv' (Conv #0)"}


# -- round trip: every example, netc build -> read ------------------------------------------

def _zeros(layer, suffix, shape, init, fan_in, fan_out):
    return np.zeros(shape, np.float32)


def _comparable(r):
    """A layer's params with the spellings YAML allows normalised (pool stride None: the
    kernel; padding 'same': its pads), the init scheme aside (ONNX holds weights: the
    initial values of scale and prelu too, read only when every element is alike)."""
    p = dict(r.node.params)
    p.pop("init", None)
    n = len(r.output_shape) - 1
    for key, param in OPS[r.op].params.items():     # a number is the same on every axis
        if param.kind in ("pair", "scale") and p.get(key) is not None and not isinstance(p[key], tuple):
            p[key] = (p[key],) * n
        if param.kind == "sides" and not isinstance(p[key], tuple):
            p[key] = ((p[key], p[key]),) * n
        elif param.kind == "sides" and not isinstance(p[key][0], tuple):
            p[key] = tuple((v, v) for v in p[key])
    if r.op in ("scale", "prelu"):
        p.pop("value" if r.op == "scale" else "slope")
    if p.get("stride", 0) is None:
        p["stride"] = p["kernel"]
    if p.get("ceil_mode"):
        # netc builds ceil mode as floor mode with the end padding that gives PyTorch's
        # size (docs/onnx.md): the same windows, read back as floor mode
        p["ceil_mode"] = False
        p["padding"] = tuple((w.pad_begin, w.pad_end + w.overhang) for w in r.windows)
    elif "padding" in p and r.op != "pad":
        p["padding"] = tuple((w.pad_begin, w.pad_end) for w in r.windows)
    return p


def _sized(r):
    """A crop or upsample to a second input's size is built with that size as constants
    (docs/onnx.md): it reads back as the size, from its first input only."""
    p, inputs = _comparable(r), list(r.node.inputs)
    if r.op in ("crop", "upsample") and len(inputs) == 2:
        p["size"], inputs = tuple(r.output_shape[1:]), inputs[:1]
    if r.op == "reshape":       # built with the sizes it found (a -1, a second input's shape)
        p["shape"], inputs = tuple(r.output_shape), inputs[:1]
    if p.get("by_shape") is not None and -1 in p["by_shape"]:     # -1: the other operand's size
        p["by_shape"] = tuple(d if d != -1 else r.output_shape[i - len(p["by_shape"])]
                              for i, d in enumerate(p["by_shape"]))
    p.pop("trainable", None)    # ONNX holds no trainability: a fixed conv reads back trainable
    return p, inputs


def _fixed(r) -> int:
    """The params of a fixed-weight conv (YOLO's DFL), which read back as trainable."""
    return r.params if r.op == "conv" and not r.node.params.get("trainable", True) else 0


@pytest.mark.parametrize("path", [*EXAMPLE_FILES, DATA / "unet2015.yaml"], ids=lambda p: p.stem)
def test_round_trip_every_example(path):
    net = netc.load(path)
    model = build_model(net, weights=_zeros, check=False)
    a = analyze(read_graph(model, "m.onnx"))
    yaml_layers = [r for r in net.layers if r.op != "dropout"]    # no node at inference
    assert [r.name for r in a.layers] == [r.name for r in yaml_layers]
    for mine, theirs in zip(a.layers, yaml_layers):
        assert (mine.op, mine.output_shape, mine.params, mine.buffers, mine.macs, mine.flops) == \
            (theirs.op, theirs.output_shape, theirs.params, theirs.buffers - _fixed(theirs), theirs.macs,
             theirs.flops), mine.name
        (p, inputs), (q, their_inputs) = _sized(mine), _sized(theirs)
        assert p == q, mine.name
        assert inputs == [_skip_dropout(net, n) for n in their_inputs]
    t, u = a.totals, net.totals
    dropped = sum(r.activations for r in net.layers if r.op == "dropout")
    fixed = sum(_fixed(r) for r in net.layers)
    assert (t.params, t.trainable_params, t.macs, t.flops, t.activations) == \
        (u.params, u.trainable_params + fixed, u.macs, u.flops, u.activations - dropped)
    assert a.graph.outputs == [_skip_dropout(net, o) for o in net.graph.outputs]


def _skip_dropout(net, name):
    while name != net.graph.input_name and net.graph.node(name).op == "dropout":
        name = net.graph.node(name).inputs[0]
    return name


# -- lint on a model: same codes and messages, valid outputs -----------------------------------

BAD = "netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n  - conv: {filters: 32, kernel: 3, stride: 3}\n"


def _built(tmp_path, text, name="net"):
    src = tmp_path / f"{name}.yaml"
    src.write_text(text)
    out = tmp_path / f"{name}.onnx"
    out.write_bytes(build_model(netc.load(src), check=False).SerializeToString())
    return src, out


def test_inexact_conv_is_flagged_with_the_same_code_and_message(tmp_path):
    src, model = _built(tmp_path, BAD)
    yaml_f = json.loads(run_netc("lint", str(src), "--output-format", "json").stdout)
    r = run_netc("lint", str(model), "--output-format", "json")
    assert r.returncode == 1
    onnx_f = json.loads(r.stdout)
    assert [(f["code"], f["message"]) for f in onnx_f] == [(f["code"], f["message"]) for f in yaml_f]
    a001 = next(f for f in onnx_f if f["code"] == "A001")
    assert a001["message"].startswith("conv1: (32 - 3)/3 + 1 = 32/3 is not whole")
    assert (a001["file"], a001["line"], a001["where"]) == (str(model), None, "node 'conv1' (Conv #0)")
    text = run_netc("lint", str(model), "--select", "A001").stdout
    assert text.splitlines()[0].startswith(f"{model}: node 'conv1' (Conv #0): error[A001]: conv1: (32 - 3)/3")
    # netc's own builds stamp FILE:LINE: the finding points at the YAML line too
    assert text.splitlines()[1] == f"  {src}:4:1: note: the node was built from this line"


def test_ceil_mode_border_is_flagged_on_the_model(tmp_path):
    """A ceil-mode pool as PyTorch exports it (ceil_mode=1; netc's own build writes floor
    mode with the equivalent end padding) is flagged as on the netc file."""
    text = "netc: 1\ninput: {shape: [64, 112, 112]}\nlayers:\n  - maxpool: {kernel: 3, stride: 2, ceil_mode: true}\n"
    src = tmp_path / "net.yaml"
    src.write_text(text)
    m = M((1, 64, 112, 112))
    y = m.op("MaxPool", ["x"], name="maxpool1", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    model = tmp_path / "net.onnx"
    model.write_bytes(m.model([y]).SerializeToString())
    yaml_f = json.loads(run_netc("lint", str(src), "--output-format", "json").stdout)
    onnx_f = json.loads(run_netc("lint", str(model), "--output-format", "json").stdout)
    assert "A005" in [f["code"] for f in onnx_f]
    assert [(f["code"], f["message"]) for f in onnx_f] == [(f["code"], f["message"]) for f in yaml_f]


def test_lint_folder_finds_models_beside_netc_files(tmp_path):
    _built(tmp_path, BAD, "a")
    (tmp_path / "notes.yaml").write_text("just: yaml\n")
    r = run_netc("lint", str(tmp_path), "--output-format", "json", "--select", "A001")
    assert sorted(f["file"].rsplit("/", 1)[1] for f in json.loads(r.stdout)) == ["a.onnx", "a.yaml"]


def test_sarif_and_github_for_a_model(tmp_path):
    import jsonschema
    from pathlib import Path

    _, model = _built(tmp_path, BAD)
    log = json.loads(run_netc("lint", str(model), "--output-format", "sarif").stdout)
    schema = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0-subset.schema.json").read_text())
    jsonschema.validate(log, schema)
    res = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "A001")
    loc = res["locations"][0]
    assert "region" not in loc["physicalLocation"]
    assert loc["message"]["text"] == "node 'conv1' (Conv #0)"
    assert loc["logicalLocations"] == [{"name": "conv1", "kind": "layer"}]
    gh = run_netc("lint", str(model), "--output-format", "github", "--select", "A001").stdout
    assert gh.startswith(f"::error file={model},title=netc A001::A001 node 'conv1' (Conv #0): conv1: (32 - 3)/3")


def test_external_data_is_not_loaded(tmp_path):
    from netc.onnx.build import write_model

    net = netc.load(EXAMPLES / "resnet18.yaml")
    path = tmp_path / "r18.onnx"
    write_model(build_model(net, weights=_zeros, check=False), path, external_data=True)
    data = tmp_path / "r18.onnx.data"
    assert data.stat().st_size > path.stat().st_size * 100
    data.unlink()                                  # weights are never read: shapes suffice
    got = netc.load(path)
    assert (got.totals.params, got.totals.macs) == (net.totals.params, net.totals.macs)


def test_build_refuses_a_model_as_input(tmp_path):
    _, model = _built(tmp_path, BAD)
    r = run_netc("build", str(model), "--onnx", str(tmp_path / "again.onnx"))
    assert r.returncode == 2 and "is not a netc file" in r.stderr


# -- the skeleton: structure read, weights' bytes skipped ------------------------------------

def test_skeleton_keeps_structure_and_drops_only_large_tensor_data(tmp_path):
    from netc.onnx.skeleton import KEEP_BYTES, skeleton

    m = M((1, 3, 8, 8))
    big = m.w(64, 3, 3, 3)                                     # 6,912 bytes: dropped
    y = m.op("Conv", ["x", big], pads=[1, 1, 1, 1])
    # a weight held by a Constant node (some exporters do this): its data is dropped too
    m.nodes.append(helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(
        np.ones((8, 64, 1, 1), np.float32))))
    y = m.op("Conv", [y, "k"])
    y = m.op("Reshape", [y, m.const([0, -1])])                 # a small constant: kept
    model = m.model([y])
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    skel = onnx.ModelProto.FromString(skeleton(str(path)))
    assert len(skel.SerializeToString()) < 1500 < path.stat().st_size
    inits = {t.name: t for t in skel.graph.initializer}
    assert list(inits[big].dims) == [64, 3, 3, 3] and not inits[big].raw_data
    const = next(n for n in skel.graph.node if n.output == ["k"]).attribute[0].t
    assert list(const.dims) == [8, 64, 1, 1] and not const.raw_data and not const.float_data
    shape = next(n for n in skel.graph.node if n.output[0] == m.nodes[-2].output[0]).attribute[0].t
    assert numpy_helper.to_array(shape).tolist() == [0, -1]
    # everything but the dropped bytes is as the file has it
    for t in model.graph.initializer:
        t.ClearField("raw_data")
    for n in model.graph.node:
        for a in n.attribute:
            if a.t.raw_data and len(a.t.raw_data) > KEEP_BYTES:
                a.t.ClearField("raw_data")
    assert skel == model
    assert rows(analyze(read_graph(skel, "m.onnx")))[:2] == [("conv", (64, 8, 8), 1728, 1728 * 64),
                                                            ("conv", (8, 8, 8), 512, 512 * 64)]


def test_truncated_model_is_not_onnx(tmp_path):
    _, model = _built(tmp_path, BAD)
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])
    r = run_netc("lint", str(model))
    assert r.returncode == 1
    assert r.stdout.startswith(f"{model}: error[E010]: not a netc file nor an ONNX model")


def test_text_with_a_stray_control_character_stays_a_netc_file(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_bytes(b"netc: 1\ninput: \x01\n")
    r = run_netc("summary", str(path))
    assert r.returncode == 1 and "error[E001]" in r.stderr and "E010" not in r.stderr


def test_long_chains_of_constants_are_bounded():
    m = M((1, 8, 4, 4))
    t = m.const([0, -1])
    for _ in range(5000):                       # far past Python's recursion limit
        t = m.op("Identity", [t])
    y = m.op("Reshape", ["x", t])
    with pytest.raises(NetcError, match="the target shape is not a constant"):
        read(m.model([y]), check_ort=False)


def test_a_pattern_op_reads_first_and_needs_only_its_own_module(monkeypatch):
    """An op registered with onnx_pattern (say x * Tanh(x), which netc lacks) is tried
    before the plain op of the same ONNX type; the reader itself does not change."""
    from netc.onnx import reader, reading
    from netc.ops import OPS
    from netc.ops.registry import Cost, Op, numel

    class TanhProbe(Op):
        name = "tanh_probe"
        onnx_types = ("Tanh",)
        onnx_pattern = True

        def cost(self, p, ins, out):
            return Cost(flops=6 * numel(out.shape))

        def read(self, node, ctx):
            nxt = ctx.sole_consumer(node.output[0])
            if nxt is None or nxt.op_type != "Mul" or set(nxt.input) != {node.input[0], node.output[0]}:
                raise ctx.unsupported("not x * tanh(x)")
            return {}

        def absorb(self, p, node, ctx):
            return {} if node.op_type == "Mul" and any(
                ctx.producer.get(t) is not None and ctx.producer[t].op_type == "Tanh"
                for t in node.input) else None

    monkeypatch.setitem(OPS, "tanh_probe", TanhProbe())
    monkeypatch.setattr(reader, "READERS", reading._readers())
    monkeypatch.setattr(reading, "READERS", reader.READERS)
    m = M((1, 4, 5, 5))
    s = m.op("Tanh", ["x"], name="act")
    y = m.op("Mul", ["x", s])
    z = m.op("Tanh", [y])                        # a plain tanh: the pattern refuses it
    a = read(m.model([z]))
    assert [(r.name, r.op, r.output_shape, r.flops) for r in a.layers] == \
        [("act", "tanh_probe", (4, 5, 5), 600), (z, "tanh", (4, 5, 5), 500)]


def test_lint_checks_the_windows_it_can_read_beside_unsupported_ops(tmp_path):
    m = M((1, 3, 32, 32))
    y = m.op("Conv", ["x", m.w(32, 3, 3, 3)], strides=[3, 3], name="early")    # 32/3: A001
    h = m.op("Selu", [y], name="hs")
    z = m.op("Conv", [h, m.w(32, 32, 3, 3)], strides=[3, 3], name="late")    # shape unknown
    side = m.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2], name="side")  # 10/2: exact
    path = tmp_path / "m.onnx"
    onnx.save(m.model([z, side]), path)
    r = run_netc("lint", str(path), "--output-format", "json")
    assert r.returncode == 1
    found = [(f["code"], f["where"]) for f in json.loads(r.stdout)]
    assert found == [("A001", "node 'early' (Conv #0)"), ("E011", "node 'hs' (Selu #1)")]
    with pytest.raises(NetcError, match="Selu x1"):       # summary stays strict
        netc.load(path)
    part = netc.load(path, partial=True)
    assert [r.name for r in part.layers] == ["early", "side"] and part.graph.outputs == ["side"]


def test_hostile_attributes_give_errors_never_tracebacks():
    """Random attribute values on every op: a NetcError or a graph, nothing else."""
    rng = np.random.default_rng(7)
    values = [-3, -1, 0, 1, 2, 3, 7, 1 << 20, 1 << 40]
    specs = [
        ("Conv", lambda m: ["x", m.w(4, 3, 3, 3)], ["strides", "pads", "dilations", "group", "kernel_shape"]),
        ("MaxPool", lambda m: ["x"], ["strides", "pads", "kernel_shape", "ceil_mode"]),
        ("AveragePool", lambda m: ["x"], ["strides", "pads", "kernel_shape", "count_include_pad"]),
        ("Concat", lambda m: ["x", "x"], ["axis"]),
        ("Softmax", lambda m: ["x"], ["axis"]),
        ("Flatten", lambda m: ["x"], ["axis"]),
        ("ReduceMean", lambda m: ["x"], ["axes", "keepdims"]),
        ("MatMul", lambda m: [m.w(3, 8), "x"], []),
    ]
    lengths = {"strides": 2, "pads": 4, "dilations": 2, "kernel_shape": 2, "axes": 2}
    outcomes = set()
    for _ in range(300):
        op_type, inputs, names = specs[rng.integers(len(specs))]
        m = M((1, 3, 9, 9))
        attrs = {}
        for n in names:
            if rng.random() < 0.7:
                k = lengths.get(n)
                attrs[n] = [int(v) for v in rng.choice(values, k)] if k else int(rng.choice(values))
        if rng.random() < 0.3 and op_type in ("Conv", "MaxPool", "AveragePool"):
            attrs["auto_pad"] = str(rng.choice(["SAME_UPPER", "SAME_LOWER", "VALID", "BOGUS"]))
        if op_type in ("MaxPool", "AveragePool"):
            attrs.setdefault("kernel_shape", [2, 2])
        y = m.op(op_type, inputs(m), **attrs)
        try:
            a = analyze(read_graph(m.model([y]), "m.onnx"))
            outcomes.add("read")
            assert all(d > 0 for r in a.layers for d in r.output_shape)
        except NetcError as e:
            outcomes.add(e.diagnostics[0].code)
    assert {"read", "E011", "E004"} <= outcomes


def test_a_model_that_computes_nothing_is_refused():
    m = M((1, 3, 8, 8))
    y = m.op("Identity", ["x"])
    with pytest.raises(NetcError, match="graph output 't1' is not computed from the input"):
        read(m.model([y]), check_ort=False)


# -- every op, at every opset: netc build -> read ------------------------------------------

EVERY_OP = """\
netc: 1
name: every_op
input: {shape: [3, 20, 20]}
layers:
  - conv: {name: c_hswish, filters: 8, kernel: 3, padding: 1, activation: hardswish}
  - conv: {name: c_gelu, filters: 8, kernel: 3, padding: 1, activation: gelu}
  - conv: {name: c_gelu_tanh, filters: 8, kernel: 3, padding: 1, activation: gelu_tanh}
  - conv: {name: c_silu, filters: 8, kernel: 3, padding: 1, activation: silu}
  - conv: {name: c_mish, filters: 8, kernel: 3, padding: 1, activation: mish}
  - conv: {name: c_hsig, filters: 8, kernel: 3, padding: 1, activation: hardsigmoid}
  - conv: {name: c_prelu, filters: 8, kernel: 3, padding: 1, activation: prelu}
  - conv: {name: c_relu6, filters: 8, kernel: 1, activation: relu6, bias: false}
  - silu: {name: a_silu}
  - hardswish: {name: a_hswish}
  - hardsigmoid: {name: a_hsig}
  - gelu: {name: a_gelu}
  - gelu: {name: a_gelu_tanh, approximate: tanh}
  - mish: {name: a_mish}
  - prelu: {name: a_prelu}
  - prelu: {name: a_prelu_shared, shared: true}
  - leaky_relu: {name: a_leaky, slope: 0.2}
  - batchnorm: {name: bn}
  - layernorm: {name: ln, eps: 1e-6}
  - layernorm: {name: ln_plain, affine: false}
  - scale: {name: ls, value: 0.5}
  - scale: {name: affine, bias: true}
  - conv_transpose: {name: up1, filters: 8, kernel: 2, stride: 2}
  - conv_transpose: {name: up2, filters: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1,
                     groups: 2, activation: relu}
  - crop: {name: crop, size: [60, 58]}
  - pad: {name: pad_reflect, padding: [1, 2, 0, 1], mode: reflect}
  - pad: {name: pad_const, padding: 1, value: 0.5}
  - pad: {name: pad_edge, padding: [2, 1], mode: replicate}
  - maxpool: {name: pool, kernel: 2}
  - upsample: {name: up_nearest, scale: 2}
  - upsample: {name: up_size, size: [40, 36], mode: bilinear}
  - upsample: {name: up_corners, scale: 0.5, mode: bilinear, align_corners: true}
  - slice: {name: part_a, start: 2, end: 5, from: [up_corners]}
  - slice: {name: part_b, start: 1, from: [up_corners]}
  - channel_shuffle: {name: shuffle, groups: 5, from: [part_b]}
  - identity: {name: same}
  - conv: {name: widen, filters: 5, kernel: 1, from: [part_a]}
  - add: {name: sum, from: [shuffle, widen]}
  - mul: {name: prod, from: [sum, shuffle]}
  - global_maxpool: {name: gmax, keepdims: true}
  - mul: {name: gate, from: [prod, gmax]}
  - adaptive_avgpool: {name: adapt_avg, size: [7, 5]}
  - adaptive_maxpool: {name: adapt_max, size: 3}
  - global_avgpool: {name: gap}
  - dense: {name: fc, units: 5, activation: gelu}
  - add: {name: broadcast, from: [adapt_max, fc]}
  - mul: {name: broadcast_mul, from: [broadcast, fc]}
  - concat: {name: cat, from: [broadcast_mul, adapt_max]}
  - global_maxpool: {name: gmax_flat}
  - dropout: {name: drop}
  - dense: {name: head, units: 4}
  - softmax: {name: prob}
"""


@pytest.mark.parametrize("opset", [13, 17, 20, "newest"])
def test_round_trip_every_op_at_every_opset(tmp_path, opset):
    """Each op as netc lowers it (single nodes at high opsets, decompositions below) reads
    back to the same layers: op, shape, parameters, MACs, FLOPs; onnxruntime agrees."""
    from test_onnx_acts import NEWEST                 # the newest opset onnxruntime runs

    opset = NEWEST if opset == "newest" else opset
    path = tmp_path / "every_op.yaml"
    path.write_text(EVERY_OP)
    net = netc.load(path)
    model = build_model(net, opset=opset, weights=_zeros, check=False)
    a = read(model)
    skipped = ("dropout", "identity")                        # no node at inference
    yaml_layers = [r for r in net.layers if r.op not in skipped]
    assert [(r.name, r.op) for r in a.layers] == [(r.name, r.op) for r in yaml_layers]
    for mine, theirs in zip(a.layers, yaml_layers):
        assert (mine.output_shape, mine.params, mine.buffers, mine.macs, mine.flops) == \
            (theirs.output_shape, theirs.params, theirs.buffers, theirs.macs, theirs.flops), mine.name
        assert _comparable(mine) == _comparable(theirs), mine.name


def test_a_built_ceil_mode_pool_whose_end_pad_passes_half_the_kernel_reads_back_as_ceil_mode():
    """netc builds maxpool {kernel: 3, stride: 2, padding: 1, ceil_mode: true} on 32x32 as
    floor mode with pads [1, 1, 2, 2] (end pad past kernel // 2, which netc's own padding
    rule refuses): it reads back as the ceil-mode pool it was, with the same windows."""
    net = netc.loads("netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n"
                     "  - maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}\n", "p.yaml")
    model = build_model(net, weights=_zeros, check=False)
    [node] = [n for n in model.graph.node if n.op_type == "MaxPool"]
    assert list(next(a for a in node.attribute if a.name == "pads").ints) == [1, 1, 2, 2]
    [r] = read(model).layers
    assert r.output_shape == (3, 17, 17)
    assert (r.node.params["padding"], r.node.params["ceil_mode"]) == (((1, 1), (1, 1)), True)
    # a floor-mode pool whose uneven padding gives other windows than ceil mode stays refused
    m = M((1, 3, 8, 8))
    y = m.op("MaxPool", ["x"], kernel_shape=[3, 3], strides=[1, 1], pads=[0, 0, 2, 2])
    with pytest.raises(NetcError, match="more than half the kernel"):
        read(m.model([y]), check_ort=False)
