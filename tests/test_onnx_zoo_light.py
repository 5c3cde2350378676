"""The classic ONNX model zoo that ships with the onnx package (its backend tests'
``onnx/backend/test/data/light/``: AlexNet, ZFNet-512, GoogLeNet v1 and v2, ResNet-50,
ShuffleNet, SqueezeNet, VGG-19, DenseNet-121), read whole.

They are Caffe2 conversions at opset 9 and IR 3: every weight is a ``ConstantOfShape``
of a stored shape (the "light" models carry no weights), a fully connected weight may be
a ``Reshape`` of one, and every initializer is listed as a graph input too. Each is
checked against a count of its own, made here from the ONNX graph and onnx's shape
inference, never from netc's formulas: params are the elements of every float
initializer and ``ConstantOfShape`` that a node uses; MACs are, per Conv, its output's
elements times its weight's elements per filter and, per Gemm, its weight's elements;
every layer's output shape is one that shape inference gives its nodes.

Below them, the reader's shape path for weights computed in the graph (ConstantOfShape,
NF-nets' weight standardization, Reshape of a weight) on small hand-built models, and
its bounds on hostile ones."""

import math
import os
import time

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper, shape_inference

import netc
from netc.diagnostics import NetcError
from netc.onnx.importer import import_graph
from netc.onnx.reader import load_model, read_graph
from test_onnx_reader import M, read, rows

LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
ZOO = ["bvlc_alexnet", "zfnet512", "inception_v1", "inception_v2", "resnet50", "shufflenet",
       "squeezenet", "vgg19", "densenet121"]


def path_of(name: str) -> str:
    return os.path.join(LIGHT, f"light_{name}.onnx")


def own_count(path: str):
    """(params, MACs, shapes): counted from the graph and onnx's shape inference."""
    model = shape_inference.infer_shapes(onnx.load(path))
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    dims = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in (*g.value_info, *g.input, *g.output) if v.type.tensor_type.HasField("shape")}
    sources = {t.name: list(t.dims) for t in g.initializer if t.data_type == TensorProto.FLOAT}
    for n in g.node:
        if n.op_type == "ConstantOfShape":
            sources[n.output[0]] = numpy_helper.to_array(inits[n.input[0]]).tolist()
    used = {t for n in g.node if n.op_type != "ConstantOfShape" for t in n.input}
    params = sum(math.prod(shape) for t, shape in sources.items() if t in used)
    macs = 0
    for n in g.node:
        if n.op_type == "Conv":
            macs += math.prod(dims[n.output[0]][1:]) * math.prod(dims[n.input[1]][1:])
        elif n.op_type == "Gemm":
            macs += math.prod(dims[n.input[1]])
    return params, macs, [(n.name, tuple(dims.get(n.output[0], [0])[1:])) for n in g.node]


def node_shapes(net, shapes):
    """Per layer, the shapes shape inference gives the nodes from its first node to the
    next layer's (a layer of several nodes, such as channel_shuffle's Reshape, Transpose,
    Reshape, ends at one of them)."""
    index = {name: i for i, (name, _) in enumerate(shapes)}
    starts = [index[r.name] for r in net.layers] + [len(shapes)]
    return {r.name: {shape for _, shape in shapes[start:end]}
            for r, start, end in zip(net.layers, starts, starts[1:])}


def test_the_nine_models_are_installed_and_small():
    sizes = {name: os.path.getsize(path_of(name)) for name in ZOO}
    assert max(sizes.values()) < 300_000, sizes


@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_reads_whole_with_its_own_counts(name):
    path = path_of(name)
    started = time.perf_counter()
    net = netc.load(path)                             # raises E011 if any node is unread
    assert time.perf_counter() - started < 10
    assert net.graph.unread is None
    params, macs, shapes = own_count(path)
    assert (net.totals.params, net.totals.macs) == (params, macs)
    found = node_shapes(net, shapes)
    assert len(found) == len(net.layers)
    for r in net.layers:
        assert r.output_shape in found[r.name], r.name
    out = onnx.load(path).graph.output[0]
    assert net.analysis.shapes()[net.graph.outputs[0]] == \
        tuple(d.dim_value for d in out.type.tensor_type.shape.dim[1:])


# torchvision's published figures for the same architectures (num_params; "GFLOPS",
# which are MACs, to two decimals): the Caffe2 conversions agree
TORCHVISION = {
    "resnet50": (25_557_032, 4.09),                 # resnet50 (V1.5, as examples/resnet50.yaml)
    "vgg19": (143_667_240, 19.63),                  # vgg19
    "squeezenet": (1_235_496, 0.35),                # squeezenet1_1
    "densenet121": (7_978_856 + 83_648, 2.83),      # densenet121, + Caffe's Scale after each BN
}


@pytest.mark.parametrize("name", TORCHVISION)
def test_zoo_counts_agree_with_torchvision(name):
    net = netc.load(path_of(name))
    params, gmacs = TORCHVISION[name]
    assert net.totals.trainable_params == params
    assert round(net.totals.macs / 1e9, 2) == gmacs


def test_the_paper_era_nets_have_their_lrn_layers():
    """AlexNet (Caffe's, two-tower groups) and GoogLeNet v1 (BVLC's) normalize twice each
    with LRN size 5, alpha 1e-4, beta 0.75, k 1 (Caffe's defaults); ZFNet with alpha 5e-4, k 2."""
    want = {"bvlc_alexnet": (5, 1e-4, 0.75, 1.0), "zfnet512": (5, 5e-4, 0.75, 2.0),
            "inception_v1": (5, 1e-4, 0.75, 1.0)}
    for name, params in want.items():
        lrn = [r.node.params for r in netc.load(path_of(name)).layers if r.op == "lrn"]
        assert [(p["size"], p["alpha"], p["beta"], p["k"]) for p in lrn] == [params] * 2, name


@pytest.mark.parametrize("name", [n for n in ZOO if n != "inception_v1"])
def test_zoo_model_imports_and_round_trips(name):
    """netc import writes the same network (GoogLeNet v1's last pool, a 7x7 window over a
    6x6 map padded at the end only, is a window netc's avgpool cannot write: refused)."""
    path = path_of(name)
    net = netc.load(path)
    again = netc.loads(import_graph(read_graph(load_model(path), path), path), "imported.yaml")
    assert [(r.op, r.output_shape, r.params, r.macs, r.flops) for r in again.layers] == \
        [(r.op, r.output_shape, r.params, r.macs, r.flops) for r in net.layers]
    assert again.totals == net.totals


def test_googlenet_v1_import_refuses_its_end_padded_pool_with_a_message():
    path = path_of("inception_v1")
    with pytest.raises(NetcError, match="n138.*not symmetric"):
        import_graph(read_graph(load_model(path), path), path)


# -- weights computed in the graph ---------------------------------------------------------

def _shape_of(m, shape):
    """ConstantOfShape of a stored shape, as the Caffe2 converter writes a weight."""
    return m.op("ConstantOfShape", [m.const(list(shape))],
                value=numpy_helper.from_array(np.array([0.02], np.float32)))


def test_weights_as_constant_of_shape_conv_batchnorm_and_reshaped_gemm():
    m = M((1, 3, 12, 12), opset=9, batch=1)
    y = m.op("Conv", ["x", _shape_of(m, (8, 3, 3, 3)), _shape_of(m, (8,))], pads=[1, 1, 1, 1])
    y = m.op("BatchNormalization", [y, *(_shape_of(m, (8,)) for _ in range(4))])
    y = m.op("GlobalAveragePool", [y])
    y = m.op("Reshape", [y, m.const([1, 8])])
    w = m.op("Reshape", [_shape_of(m, (1, 1, 10, 8)), m.const([10, 8])])   # GoogLeNet's classifier
    z = m.op("Gemm", [y, w, _shape_of(m, (10,))], transB=1)
    a = read(m.model([z]))
    # conv 8*27 + 8, MACs 216 * 144; batchnorm 2*8 + 2*8 buffers; dense 80 + 10
    assert rows(a) == [("conv", (8, 12, 12), 224, 216 * 144), ("batchnorm", (8, 12, 12), 32, 0),
                       ("global_avgpool", (8,), 0, 0), ("dense", (10,), 90, 80)]


def test_nf_net_weight_standardization_reads_as_the_conv():
    """timm's ScaledStdConv2d: the weight (K, C, kh, kw) viewed as (1, K, -1), standardized
    (ReduceMean, Sub, Mul, ReduceMean, Add eps, Sqrt, Div), times a gain, and viewed back
    with Shape(weight): the conv of that weight, its params counted once."""
    m = M((1, 4, 10, 10), opset=13)
    w = m.w(6, 4, 3, 3)
    v = m.op("Reshape", [w, m.const([1, 6, -1])])
    mean = m.op("ReduceMean", [v], axes=[2], keepdims=1)
    d = m.op("Sub", [v, mean])
    var = m.op("ReduceMean", [m.op("Mul", [d, d])], axes=[2], keepdims=1)
    std = m.op("Sqrt", [m.op("Add", [var, m.const([1e-5], np.float32, scalar=True)])])
    s = m.op("Mul", [m.op("Div", [d, std]), m.w(1, 6, 1)])
    back = m.op("Reshape", [s, m.op("Shape", [w])])
    z = m.op("Conv", ["x", back, m.w(6)], pads=[1, 1, 1, 1])
    a = read(m.model([z]))
    assert rows(a) == [("conv", (6, 10, 10), 6 * 36 + 6, 6 * 36 * 100)]


def test_standardization_over_axes_1_2_3_with_keepdims():
    m = M((1, 4, 10, 10), opset=13)
    w = m.w(6, 4, 3, 3)
    d = m.op("Sub", [w, m.op("ReduceMean", [w], axes=[1, 2, 3], keepdims=1)])
    z = m.op("Conv", ["x", m.op("Div", [d, m.op("ReduceL2", [d], axes=[1, 2, 3])])])
    assert rows(read(m.model([z]))) == [("conv", (6, 8, 8), 6 * 36 + 6 - 6, 6 * 36 * 64)]


@pytest.mark.parametrize("shape, why", [
    ((1 << 40, 3, 3, 3), "filters"),                 # known, but beyond netc's limits
    ((-8, 3, 3, 3), "shape of input 1"),             # not a shape
])
def test_a_hostile_constant_of_shape_weight_is_refused_never_materialized(shape, why):
    m = M((1, 3, 8, 8), opset=9)
    z = m.op("Conv", ["x", _shape_of(m, shape)])
    started = time.perf_counter()
    with pytest.raises(NetcError, match=f"E011(.|\\n)*{why}"):
        read(m.model([z]), check_ort=False)
    assert time.perf_counter() - started < 2


def test_a_long_or_doubling_chain_of_weight_arithmetic_stays_bounded():
    """w + w, again and again (each node's two inputs the same value): memoized, so
    linear; deeper than the evaluation limit, the shape is unknown: E011, no RecursionError."""
    for depth, known in ((40, True), (5000, False)):
        m = M((1, 3, 8, 8), opset=13)
        w = m.w(4, 3, 1, 1)
        for _ in range(depth):
            w = m.op("Add", [w, w])
        z = m.op("Conv", ["x", w])
        started = time.perf_counter()
        if known:
            assert rows(read(m.model([z]), check_ort=False)) == [("conv", (4, 8, 8), 12, 12 * 64)]
        else:
            with pytest.raises(NetcError, match="shape of input 1"):
                read(m.model([z]), check_ort=False)
        assert time.perf_counter() - started < 5


def test_ir3_initializers_listed_as_inputs_are_weights_not_inputs():
    """IR < 4 lists every initializer as a graph input: the one input left is the image."""
    m = M((1, 3, 8, 8), opset=9)
    z = m.op("Conv", ["x", _shape_of(m, (4, 3, 3, 3)), m.w(4)])
    model = m.model([z])
    model.ir_version = 3
    g = model.graph
    g.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in g.initializer)
    assert len(g.input) == 2
    graph = read_graph(model, "m.onnx")
    assert graph.input_name == "x" and graph.input_shape == (3, 8, 8)
    assert [n.op for n in graph.nodes] == ["conv"]


def test_softmax_before_opset_13_over_a_map_of_one_pixel_is_over_the_channels():
    """SqueezeNet ends with GlobalAveragePool -> Softmax(axis 1) at opset 9: over C*1*1."""
    m = M((1, 3, 8, 8), opset=9)
    z = m.op("Softmax", [m.op("GlobalAveragePool", [m.op("Conv", ["x", m.w(10, 3, 1, 1)])])])
    assert [r.op for r in read(m.model([z])).layers] == ["conv", "global_avgpool", "softmax"]


def _value_shape(build, opset=13):
    """The shape ReadingContext.static_shape gives the value ``build(m, w)`` computes from
    an initializer w of shape (6, 4, 3, 3)."""
    from netc.onnx.reading import ReadingContext

    m = M((1, 3, 8, 8), opset=opset)
    t = build(m, m.w(6, 4, 3, 3))
    g = m.model([t]).graph
    ctx = ReadingContext(g, list(g.node), opset, "N")
    ctx.shapes["x"] = (3, 8, 8)                       # the network input: a feature
    return ctx.static_shape(t)


@pytest.mark.parametrize("build, shape", [
    (lambda m, w: m.op("Transpose", [w], perm=[1, 0, 2, 3]), (4, 6, 3, 3)),
    (lambda m, w: m.op("Transpose", [w]), (3, 3, 4, 6)),                         # reversed
    (lambda m, w: m.op("Unsqueeze", [w, m.const([0, -1])]), (1, 6, 4, 3, 3, 1)),
    (lambda m, w: m.op("Squeeze", [m.op("ReduceMax", [w], axes=[1], keepdims=1), m.const([1])]),
     (6, 3, 3)),
    (lambda m, w: m.op("ReduceSum", [w, m.const([], np.int64)], keepdims=0), ()),           # all axes
    (lambda m, w: m.op("ReduceSum", [w, m.const([], np.int64)], noop_with_empty_axes=1), (6, 4, 3, 3)),
    (lambda m, w: m.op("Reshape", [w, m.const([0, -1])]), (6, 36)),
    (lambda m, w: m.op("Mul", [w, m.w(4, 1, 1)]), (6, 4, 3, 3)),
    (lambda m, w: m.op("Pow", [m.w(7, 1, 1, 1, 1), w]), (7, 6, 4, 3, 3)),
    # unknown: never guessed
    (lambda m, w: m.op("Add", [w, m.w(5, 1, 1)]), None),                         # 4 against 5
    (lambda m, w: m.op("Reshape", [w, m.const([5, -1])]), None),                 # 216 / 5
    (lambda m, w: m.op("Reshape", [w, m.const([-1, -1])]), None),
    (lambda m, w: m.op("Transpose", [w], perm=[0, 0, 1, 2]), None),
    (lambda m, w: m.op("Squeeze", [w, m.const([1])]), None),                     # size 4, not 1
    (lambda m, w: m.op("Unsqueeze", [w, m.const([1, 1])]), None),
    (lambda m, w: m.op("ReduceMean", [w], axes=[4]), None),
    (lambda m, w: m.op("MatMul", [w, w]), None),                                 # not a shape rule netc has
    (lambda m, w: m.op("ConstantOfShape", [m.op("Shape", ["x"])]), None),      # the batch is symbolic
    (lambda m, w: m.op("ConstantOfShape", [m.op("Shape", [w])]), (6, 4, 3, 3)),
])
def test_value_shapes_follow_onnx_s_rules(build, shape):
    assert _value_shape(build) == shape
