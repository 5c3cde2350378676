"""Reading the ops of the modern-ops issue from ONNX graphs shaped as PyTorch's
TorchScript exporter writes them (built here with onnx.helper): each read, checked
against hand-computed shapes, parameters and MACs, and against onnxruntime's output
shapes (the ``read`` helper of test_onnx_reader.py)."""

import numpy as np
import pytest

from netc.diagnostics import NetcError
from test_onnx_reader import M, read, rows


def ops(a):
    return [(r.op, r.output_shape) for r in a.layers]


def params(a, i=0):
    return a.layers[i].node.params


# -- activations as decompositions and as single nodes ----------------------------------------

def test_silu_as_sigmoid_times_x_fuses_into_the_conv():
    m = M((1, 3, 16, 16), opset=13)
    y = m.op("Conv", ["x", m.w(8, 3, 3, 3), m.w(8)], pads=[1, 1, 1, 1])
    s = m.op("Sigmoid", [y])
    z = m.op("Mul", [y, s])
    a = read(m.model([z]))
    # 8*3*9 + 8 = 224 params; MACs 216 * 256; silu 5 flops per element
    assert rows(a) == [("conv", (8, 16, 16), 224, 216 * 256)]
    assert params(a)["activation"] == "silu"
    assert a.layers[0].flops == 2 * 216 * 256 + 8 * 256 + 5 * 8 * 256


def test_silu_after_batchnorm_is_a_layer_and_a_sigmoid_gate_is_not_silu():
    m = M((1, 4, 6, 6), opset=13)
    b = m.op("BatchNormalization", ["x", m.w(4), m.w(4), m.w(4), m.w(4)])
    s = m.op("Sigmoid", [b])
    y = m.op("Mul", [s, b])                            # sigmoid first: the order does not matter
    g = m.op("Sigmoid", [y])                           # a gate on another tensor: plain sigmoid
    z = m.op("Mul", ["x", g])
    assert ops(read(m.model([z]))) == [("batchnorm", (4, 6, 6)), ("silu", (4, 6, 6)),
                                      ("sigmoid", (4, 6, 6)), ("mul", (4, 6, 6))]


def _gelu_erf(m, x):
    """torch.nn.GELU() by the TorchScript exporter: x * (erf(x / sqrt 2) + 1) * 0.5."""
    d = m.op("Div", [x, m.const([1.4142135381698608], np.float32, scalar=True)])
    e = m.op("Erf", [d])
    p = m.op("Add", [e, m.const([1.0], np.float32, scalar=True)])
    y = m.op("Mul", [x, p])
    return m.op("Mul", [y, m.const([0.5], np.float32, scalar=True)])


def _gelu_tanh(m, x):
    """GELU(approximate='tanh') by the TorchScript exporter: constants first in its Muls."""
    c = lambda v: m.const([v], np.float32, scalar=True)
    cube = m.op("Mul", [x, m.op("Mul", [x, x])])
    inner = m.op("Mul", [c(0.7978845608), m.op("Add", [x, m.op("Mul", [c(0.044715), cube])])])
    t = m.op("Add", [c(1.0), m.op("Tanh", [inner])])
    return m.op("Mul", [c(0.5), m.op("Mul", [x, t])])


@pytest.mark.parametrize("form", ["erf", "tanh", "Gelu", "Gelu-tanh"])
def test_gelu_every_form(form):
    opset = 20 if form.startswith("Gelu") else 17
    m = M((1, 6, 5, 5), opset=opset)
    y = m.op("Conv", ["x", m.w(6, 6, 1, 1), m.w(6)])
    if form == "erf":
        z = _gelu_erf(m, y)
    elif form == "tanh":
        z = _gelu_tanh(m, y)
    else:
        z = m.op("Gelu", [y], approximate="tanh" if form == "Gelu-tanh" else "none")
    a = read(m.model([z]))
    want = "gelu_tanh" if "tanh" in form else "gelu"
    assert rows(a) == [("conv", (6, 5, 5), 42, 36 * 25)] and params(a)["activation"] == want
    # 2 * 900 MACs + 150 bias adds + 5 (erf form) or 13 (tanh form) flops per element
    assert a.layers[0].flops == 1800 + 150 + (13 if want == "gelu_tanh" else 5) * 150


def test_gelu_on_the_vector_after_gemm_and_standalone():
    m = M((1, 16), opset=13)
    y = m.op("Gemm", ["x", m.w(8, 16), m.w(8)], transB=1)
    z = _gelu_erf(m, y)
    w = _gelu_tanh(m, m.op("Relu", [m.op("Gemm", [z, m.w(8, 8)], transB=1)]))
    a = read(m.model([w]))
    assert [(r.op, r.output_shape, r.params, r.macs) for r in a.layers] == \
        [("dense", (8,), 136, 128), ("dense", (8,), 64, 64), ("gelu", (8,), 0, 0)]
    assert params(a)["activation"] == "gelu" and params(a, 1)["activation"] == "relu"
    assert params(a, 2)["approximate"] == "tanh"


@pytest.mark.parametrize("opset", [13, 14])
def test_hardswish_op_and_its_hardsigmoid_form(opset):
    m = M((1, 3, 8, 8), opset=opset)
    y = m.op("Conv", ["x", m.w(16, 3, 3, 3)], strides=[2, 2], pads=[1, 1, 1, 1])
    if opset >= 14:
        z = m.op("HardSwish", [y])
    else:
        z = m.op("Mul", [y, m.op("HardSigmoid", [y], alpha=1 / 6, beta=0.5)])
    a = read(m.model([z]))
    assert rows(a) == [("conv", (16, 4, 4), 432, 432 * 16)] and params(a)["activation"] == "hardswish"


def test_hardsigmoid_with_onnx_default_slope_is_not_read():
    m = M((1, 3, 8, 8))
    y = m.op("HardSigmoid", ["x"])                     # alpha 0.2: not PyTorch's relu6(x + 3) / 6
    with pytest.raises(NetcError, match=r"HardSigmoid\(alpha=0.2"):
        read(m.model([y]), check_ort=False)


@pytest.mark.parametrize("opset", [13, 18])
def test_mish(opset):
    m = M((1, 4, 6, 6), opset=opset)
    y = m.op("Conv", ["x", m.w(4, 4, 3, 3), m.w(4)])
    z = m.op("Mish", [y]) if opset >= 18 else m.op("Mul", [y, m.op("Tanh", [m.op("Softplus", [y])])])
    a = read(m.model([z]))
    assert rows(a) == [("conv", (4, 4, 4), 148, 144 * 16)] and params(a)["activation"] == "mish"


def test_squeeze_and_excitation_with_hardsigmoid():
    """MobileNetV3's SE: GlobalAveragePool -> Conv -> Relu -> Conv -> HardSigmoid -> Mul."""
    m = M((1, 16, 7, 7))
    g = m.op("GlobalAveragePool", ["x"])
    h = m.op("Relu", [m.op("Conv", [g, m.w(8, 16, 1, 1), m.w(8)])])
    s = m.op("HardSigmoid", [m.op("Conv", [h, m.w(16, 8, 1, 1), m.w(16)])], alpha=1 / 6, beta=0.5)
    z = m.op("Mul", ["x", s])
    a = read(m.model([z]))
    assert rows(a) == [("global_avgpool", (16, 1, 1), 0, 0), ("conv", (8, 1, 1), 136, 128),
                       ("conv", (16, 1, 1), 144, 128), ("mul", (16, 7, 7), 0, 0)]
    assert [params(a, i)["activation"] for i in (1, 2)] == ["relu", "hardsigmoid"]


@pytest.mark.parametrize("slope_shape, shared, count", [((16, 1, 1), False, 16), ((1,), True, 1)])
def test_prelu_per_channel_and_shared(slope_shape, shared, count):
    m = M((1, 16, 5, 5))
    y = m.op("PRelu", ["x", m.w(*slope_shape)])
    a = read(m.model([y]))
    assert rows(a) == [("prelu", (16, 5, 5), count, 0)] and params(a)["shared"] is shared


# -- normalization and scale ---------------------------------------------------------------

def test_layernorm2d_as_torchvision_exports_it():
    """ConvNeXt: permute -> LayerNorm(C) -> permute, LayerNormalization at opset 17."""
    m = M((1, 96, 14, 14), opset=17)
    t = m.op("Transpose", ["x"], perm=[0, 2, 3, 1])
    n = m.op("LayerNormalization", [t, m.w(96), m.w(96)], axis=-1, epsilon=1e-6)
    z = m.op("Transpose", [n], perm=[0, 3, 1, 2])
    a = read(m.model([z]))
    # 2*96 params; flops (5 + 2)*96*196 + 5*196
    assert rows(a) == [("layernorm", (96, 14, 14), 192, 0)]
    assert params(a)["eps"] == 1e-6 and a.layers[0].flops == 7 * 96 * 196 + 5 * 196


@pytest.mark.parametrize("opset", [9, 13])
def test_lrn_as_caffe2_and_pytorch_export_it(opset):
    """AlexNet's conv -> relu -> LRN(size 5, alpha 1e-4, beta 0.75, bias 1); GoogLeNet's
    after a pool; a non-default bias (the 2012 paper's k = 2) is read as k."""
    m = M((1, 3, 32, 32), opset=opset)
    y = m.op("Relu", [m.op("Conv", ["x", m.w(16, 3, 5, 5), m.w(16)], pads=[2, 2, 2, 2])])
    n = m.op("LRN", [y], size=5, alpha=1e-4, beta=0.75, bias=1.0)
    z = m.op("LRN", [m.op("MaxPool", [n], kernel_shape=[2, 2], strides=[2, 2])], size=3,
             alpha=0.001, beta=0.5, bias=2.0)
    a = read(m.model([z]))
    assert ops(a) == [("conv", (16, 32, 32)), ("lrn", (16, 32, 32)), ("maxpool", (16, 16, 16)),
                      ("lrn", (16, 16, 16))]
    assert params(a, 1) == {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0}
    assert params(a, 3) == {"size": 3, "alpha": 0.001, "beta": 0.5, "k": 2.0}
    assert [a.layers[i].params for i in (1, 3)] == [0, 0]
    assert [a.layers[i].flops for i in (1, 3)] == [9 * 16 * 32 * 32, 7 * 16 * 16 * 16]


def test_lrn_of_even_size_is_not_read():
    """ONNX centres an even window one channel later than PyTorch; onnxruntime refuses it."""
    m = M((1, 8, 4, 4), opset=13)
    z = m.op("LRN", ["x"], size=4)
    with pytest.raises(NetcError, match="LRN of even size 4"):
        read(m.model([z]), check_ort=False)


def test_lrn_round_trip_yaml_to_onnx_and_back():
    import netc
    from netc.onnx.build import build_model
    from netc.onnx.reader import read_graph

    net = netc.loads("netc: 1\ninput: {shape: [8, 6, 6]}\nlayers:\n  - lrn: {size: 3, alpha: 0.01, "
                     "beta: 0.6, k: 2.0}\n  - lrn: {size: 7}\n", "t.yaml")
    graph = read_graph(build_model(net), "t.onnx")
    assert [(n.op, n.params) for n in graph.nodes] == [(n.op, n.params) for n in net.graph.nodes]


@pytest.mark.parametrize("gelu", ["erf", "Gelu"])
def test_channels_last_region_of_torchvision_convnext(gelu):
    """permute -> LayerNorm -> Linear(8, 32) + GELU -> Linear(32, 8, bias=False) ->
    gamma * x + beta -> permute back, on an 8 x 5 x 6 map: the Linears are 1x1 convs."""
    m = M((1, 8, 5, 6), opset=20 if gelu == "Gelu" else 17)
    t = m.op("Transpose", ["x"], perm=[0, 2, 3, 1])
    n = m.op("LayerNormalization", [t, m.w(8), m.w(8)], axis=-1, epsilon=1e-6)
    h = m.op("Add", [m.op("MatMul", [n, m.w(8, 32)]), m.w(32)])
    g = m.op("Gelu", [h]) if gelu == "Gelu" else _gelu_erf(m, h)
    y = m.op("MatMul", [g, m.w(32, 8)])
    s = m.op("Add", [m.op("Mul", [m.w(8), y]), m.w(8)])
    z = m.op("Transpose", [s], perm=[0, 3, 1, 2])
    a = read(m.model([z]))
    # layernorm 2*8; conv 8*32 + 32, MACs 8*32 * 5*6; conv 32*8, MACs 32*8 * 30; scale 2*8
    assert rows(a) == [("layernorm", (8, 5, 6), 16, 0), ("conv", (32, 5, 6), 288, 7680),
                       ("conv", (8, 5, 6), 256, 7680), ("scale", (8, 5, 6), 16, 0)]
    assert [params(a, i)["activation"] for i in (1, 2)] == ["gelu", "none"]
    assert params(a, 1)["kernel"] == (1, 1) and params(a, 2)["bias"] is False


def test_channels_last_region_refuses_what_netc_cannot_read_there():
    """A Conv inside the region (its NCHW reading would be wrong) is E011; a region left
    open at the graph output is refused; a MatMul of a channels-first map is not a conv
    but nn.Linear over its last axis (dense with last_axis: 6·3 params, 4·6·6·3 MACs)."""
    m = M((1, 4, 6, 6), opset=17)
    t = m.op("Transpose", ["x"], perm=[0, 2, 3, 1])
    z = m.op("Transpose", [m.op("Conv", [t, m.w(4, 6, 1, 1)])], perm=[0, 3, 1, 2])
    with pytest.raises(NetcError, match="(?s)E011.*Conv on a channels-last tensor"):
        read(m.model([z]), check_ort=False)
    m = M((1, 4, 6, 6), opset=17)
    y = m.op("MatMul", [m.op("Transpose", ["x"], perm=[0, 2, 3, 1]), m.w(4, 3)])
    with pytest.raises(NetcError, match="channels-last"):
        read(m.model([y]), check_ort=False)
    m = M((1, 4, 6, 6), opset=17)
    y = m.op("MatMul", ["x", m.w(6, 3)])
    a = read(m.model([y]))
    assert rows(a) == [("dense", (4, 6, 3), 18, 4 * 6 * 6 * 3)] and params(a, 0)["last_axis"] is True


@pytest.mark.parametrize("square", ["Pow", "Mul"])
def test_layernorm_decomposed_over_channels(square):
    """ConvNeXt's own LayerNorm2d: u = mean(x, 1); s = mean((x - u)^2, 1);
    w[:, None, None] * (x - u) / sqrt(s + eps) + b[:, None, None] (opset 13)."""
    m = M((1, 8, 5, 5), opset=13)
    u = m.op("ReduceMean", ["x"], axes=[1], keepdims=1)
    d = m.op("Sub", ["x", u])
    sq = m.op("Pow", [d, m.const([2.0], np.float32, scalar=True)]) if square == "Pow" else m.op("Mul", [d, d])
    s = m.op("ReduceMean", [sq], axes=[1], keepdims=1)
    r = m.op("Sqrt", [m.op("Add", [s, m.const([1e-6], np.float32, scalar=True)])])
    y = m.op("Div", [d, r])
    z = m.op("Add", [m.op("Mul", [m.w(8, 1, 1), y]), m.w(8, 1, 1)])
    a = read(m.model([z]))
    assert rows(a) == [("layernorm", (8, 5, 5), 16, 0)] and params(a) == {"eps": 1e-6, "affine": True, "axis": None}


def test_layernorm_over_the_last_axis_of_a_vector_at_opset_13():
    m = M((1, 32), opset=13)
    u = m.op("ReduceMean", ["x"], axes=[-1], keepdims=1)
    d = m.op("Sub", ["x", u])
    s = m.op("ReduceMean", [m.op("Pow", [d, m.const([2.0], np.float32, scalar=True)])], axes=[-1])
    y = m.op("Div", [d, m.op("Sqrt", [m.op("Add", [s, m.const([1e-5], np.float32, scalar=True)])])])
    z = m.op("Add", [m.op("Mul", [y, m.w(32)]), m.w(32)])
    assert rows(read(m.model([z]))) == [("layernorm", (32,), 64, 0)]


def test_layernorm_of_a_map_over_its_width_is_layernorm_with_axis():
    """Without Transposes around it, LayerNormalization(axis -1) of a map normalizes each
    row over its width, as ONNX defines it: layernorm with ``axis: -1`` (a weight and a bias
    of the width: 2 x 5 params), not the channels' layernorm."""
    m = M((1, 8, 5, 5), opset=17)
    z = m.op("LayerNormalization", ["x", m.w(5), m.w(5)], axis=-1)
    a = read(m.model([z]))
    assert rows(a) == [("layernorm", (8, 5, 5), 10, 0)] and params(a)["axis"] == -1


def test_layer_scale_and_affine_scale():
    m = M((1, 8, 4, 4))
    y = m.op("Mul", ["x", m.w(8, 1, 1)])                 # ConvNeXt's gamma * x
    z = m.op("Add", [m.op("Mul", [y, m.w(1, 8, 1, 1)]), m.w(1, 8, 1, 1)])
    a = read(m.model([z]))
    assert rows(a) == [("scale", (8, 4, 4), 8, 0), ("scale", (8, 4, 4), 16, 0)]
    assert params(a, 1)["bias"] is True


def test_layer_scale_with_the_weight_first():
    """``self.gamma * y`` in PyTorch exports Mul(gamma, y): the weight is input 0."""
    m = M((1, 8, 4, 4))
    y = m.op("Mul", [m.w(8, 1, 1), "x"])
    z = m.op("Add", [m.w(1, 8, 1, 1), y])
    a = read(m.model([z]))
    assert rows(a) == [("scale", (8, 4, 4), 16, 0)]
    assert params(a)["bias"] is True


def test_scale_value_is_read_when_every_multiplier_is_alike():
    m = M((1, 4, 3, 3))
    w = "gamma"
    from onnx import numpy_helper
    m.inits.append(numpy_helper.from_array(np.full((4, 1, 1), 1e-6, np.float32), w))
    y = m.op("Mul", ["x", w])
    assert params(read(m.model([y])))["value"] == 1e-6


# -- merging -----------------------------------------------------------------------------

def test_add_and_mul_of_an_unsqueezed_vector():
    m = M((1, 8, 6, 6), opset=13)
    v = m.op("Flatten", [m.op("GlobalAveragePool", ["x"])])
    f = m.op("Gemm", [v, m.w(8, 8), m.w(8)], transB=1)
    u = m.op("Unsqueeze", [f, m.const([2, 3])])
    y = m.op("Add", ["x", u])
    r = m.op("Reshape", [f, m.const([-1, 8, 1, 1])])
    z = m.op("Mul", [y, r])
    a = read(m.model([z]))
    assert rows(a) == [("global_avgpool", (8,), 0, 0), ("dense", (8,), 72, 64),
                       ("add", (8, 6, 6), 0, 0), ("mul", (8, 6, 6), 0, 0)]
    assert a.layers[2].node.inputs == ["x", a.layers[1].name]


# -- resizing and cropping ---------------------------------------------------------------------

def test_upsample_nearest_with_scales_from_a_constant():
    """nn.Upsample(scale_factor=2): Resize(x, roi, Constant scales), asymmetric, floor."""
    m = M((1, 4, 5, 7), opset=13)
    roi = m.const([], np.float32)
    y = m.op("Resize", ["x", roi, m.const([1.0, 1.0, 2.0, 2.0], np.float32)], mode="nearest",
             coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    a = read(m.model([y]))
    assert ops(a) == [("upsample", (4, 10, 14))] and params(a)["scale"] == (2, 2)


def test_upsample_bilinear_to_sizes_from_the_shape_chain():
    """F.interpolate(x, size=(9, 12), mode='bilinear'): sizes = Concat(Shape(x)[0:2], [9, 12])."""
    m = M((1, 4, 5, 7), opset=13)
    sh = m.op("Shape", ["x"])
    nc = m.op("Slice", [sh, m.const([0]), m.const([2]), m.const([0])])
    sizes = m.op("Concat", [nc, m.const([9, 12])], axis=0)
    y = m.op("Resize", ["x", "", "", sizes], mode="linear",
             coordinate_transformation_mode="pytorch_half_pixel")
    a = read(m.model([y]))
    assert ops(a) == [("upsample", (4, 9, 12))]
    assert (params(a)["size"], params(a)["mode"], params(a)["align_corners"]) == ((9, 12), "bilinear", False)
    assert a.layers[0].flops == 7 * 4 * 9 * 12


def test_resize_with_cubic_mode_is_not_read():
    m = M((1, 4, 5, 7), opset=13)
    y = m.op("Resize", ["x", "", m.const([1.0, 1.0, 2.0, 2.0], np.float32)], mode="cubic")
    with pytest.raises(NetcError, match="Resize mode cubic"):
        read(m.model([y]), check_ort=False)


def test_conv_transpose_upsampling():
    """nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1): (H - 1)*2 - 2 + 4 = 2H."""
    m = M((1, 8, 6, 5))
    y = m.op("ConvTranspose", ["x", m.w(8, 4, 4, 4), m.w(4)], strides=[2, 2], pads=[1, 1, 1, 1],
             kernel_shape=[4, 4])
    a = read(m.model([y]))
    # weights 8*4*16 = 512 (+ 4 bias); MACs 512 * 6 * 5
    assert rows(a) == [("conv_transpose", (4, 12, 10), 516, 512 * 30)]


def test_conv_transpose_groups_output_padding_and_fused_relu():
    m = M((1, 6, 4, 4))
    y = m.op("ConvTranspose", ["x", m.w(6, 2, 3, 3)], strides=[2, 2], pads=[1, 1, 1, 1],
             output_padding=[1, 1], group=3)
    z = m.op("Relu", [y])
    a = read(m.model([z]))
    # (4 - 1)*2 - 2 + 3 + 1 = 8; filters 2*3 = 6; weights 6*2*9 = 108; MACs 108 * 16
    assert rows(a) == [("conv_transpose", (6, 8, 8), 108, 108 * 16)]
    assert (params(a)["groups"], params(a)["activation"], params(a)["output_padding"]) == (3, "relu", (1, 1))


def test_crop_pad_and_channel_slice():
    m = M((1, 6, 10, 9), opset=13)
    c = m.op("Slice", ["x", m.const([1, 2]), m.const([9, 7]), m.const([2, 3])])      # centre 8x5
    p = m.op("Pad", [c, m.const([0, 0, 1, 2, 0, 0, 0, 1])], mode="reflect")
    s = m.op("Slice", [p, m.const([2]), m.const([np.iinfo(np.int64).max]), m.const([1])])
    a = read(m.model([s]))
    assert ops(a) == [("crop", (6, 8, 5)), ("pad", (6, 9, 8)), ("slice", (4, 9, 8))]
    assert params(a, 1)["padding"] == ((1, 0), (2, 1)) and params(a, 2)["end"] is None


def test_an_off_centre_crop_is_a_slice_of_the_height():
    """Not a centre crop: since issue 18, netc's slice on axis 2, not a crop."""
    m = M((1, 6, 10, 9), opset=13)
    c = m.op("Slice", ["x", m.const([0]), m.const([8]), m.const([2])])
    a = read(m.model([c]))
    assert ops(a) == [("slice", (6, 8, 9))]
    assert params(a) == {"start": 0, "end": 8, "axis": 2, "step": 1}


def test_channel_shuffle_with_the_batch_from_the_shape_chain():
    """ShuffleNet: x.view(b, g, c // g, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)."""
    m = M((1, 12, 5, 5), opset=13)
    b = m.op("Unsqueeze", [m.op("Gather", [m.op("Shape", ["x"]), m.const([0], scalar=True)], axis=0),
                           m.const([0])])
    v = m.op("Reshape", ["x", m.op("Concat", [b, m.const([3, 4, 5, 5])], axis=0)])
    t = m.op("Transpose", [v], perm=[0, 2, 1, 3, 4])
    z = m.op("Reshape", [t, m.op("Concat", [b, m.const([-1, 5, 5])], axis=0)])
    a = read(m.model([z]))
    assert ops(a) == [("channel_shuffle", (12, 5, 5))] and params(a)["groups"] == 3


def test_global_max_pool_flattened_and_adaptive_pools():
    m = M((1, 4, 9, 9))
    g = m.op("Flatten", [m.op("GlobalMaxPool", ["x"])])
    d = m.op("AveragePool", ["x"], kernel_shape=[3, 3], strides=[3, 3])   # AdaptiveAvgPool2d(3) of 9
    a = read(m.model([g, d]))
    # global max: 4*(81 - 1) flops; the dividing adaptive pool is the avgpool it is written as
    assert ops(a) == [("global_maxpool", (4,)), ("avgpool", (4, 3, 3))]
    assert a.layers[0].flops == 4 * 80


def test_hardswish_as_clip_and_gelu_tanh_with_pow():
    """Older spellings: x * Clip(x + 3, 0, 6) / 6, and the cube as Pow(x, 3)."""
    m = M((1, 4, 6, 6), opset=13)
    c = lambda v: m.const([v], np.float32, scalar=True)
    clip = m.op("Clip", [m.op("Add", ["x", c(3.0)]), c(0.0), c(6.0)])
    h = m.op("Div", [m.op("Mul", ["x", clip]), c(6.0)])
    inner = m.op("Mul", [m.op("Add", [h, m.op("Mul", [m.op("Pow", [h, c(3.0)]), c(0.044715)])]),
                         c(0.7978845608)])
    g = m.op("Mul", [m.op("Mul", [h, c(0.5)]), m.op("Add", [m.op("Tanh", [inner]), c(1.0)])])
    a = read(m.model([g]))
    assert ops(a) == [("hardswish", (4, 6, 6)), ("gelu", (4, 6, 6))]
    assert params(a, 1)["approximate"] == "tanh"


def test_a_near_miss_is_not_an_activation():
    """x * Sigmoid(2x) is no silu: read node by node (mul by 2, sigmoid, mul), never as silu."""
    m = M((1, 4, 6, 6), opset=13)
    s = m.op("Sigmoid", [m.op("Mul", ["x", m.const([2.0], np.float32, scalar=True)])])
    y = m.op("Mul", ["x", s])
    a = read(m.model([y]))
    assert [r.op for r in a.layers] == ["mul", "sigmoid", "mul"]
    assert a.layers[0].node.params["by"] == 2.0


def test_hostile_attributes_on_the_new_readers_give_errors_never_tracebacks():
    """Random attribute and constant values on every new reader: a NetcError or a graph."""
    from netc.analysis import analyze
    from netc.onnx.reader import read_graph

    rng = np.random.default_rng(11)
    values = [-3, -1, 0, 1, 2, 3, 7, 1 << 20, 1 << 40]
    ints = lambda k: [int(v) for v in rng.choice(values, k)]
    specs = [
        ("ConvTranspose", lambda m: ["x", m.w(3, 2, 3, 3)],
         {"strides": 2, "pads": 4, "dilations": 2, "group": 0, "output_padding": 2, "kernel_shape": 2}),
        ("Resize", lambda m: ["x", "", m.const(rng.choice([0.0, 0.5, 1.0, 2.0, -1.0, 1e9], 4), np.float32)],
         {}),
        ("Resize", lambda m: ["x", "", "", m.const(ints(4))], {}),
        ("Pad", lambda m: ["x", m.const(ints(8))], {}),
        ("Pad", lambda m: ["x", m.const(ints(4)), "", m.const(ints(2))], {}),
        ("Slice", lambda m: ["x", m.const(ints(2)), m.const(ints(2)), m.const(ints(2))], {}),
        ("Slice", lambda m: ["x", m.const(ints(1)), m.const(ints(1)), m.const(ints(1)), m.const(ints(1))], {}),
        ("PRelu", lambda m: ["x", m.w(*[int(v) for v in rng.choice([1, 3], rng.integers(1, 4))])], {}),
        ("Reshape", lambda m: ["x", m.const(ints(5))], {}),
        ("Gather", lambda m: ["x", m.const(ints(3))], {"axis": 0}),
        ("LayerNormalization", lambda m: ["x", m.w(9), m.w(9)], {"axis": 0}),
        ("ReduceMax", lambda m: ["x"], {"axes": 2, "keepdims": 0}),
        ("Transpose", lambda m: ["x"], {"perm": 4}),
        ("Reshape", lambda m: ["x", m.const([0, 3, 1, 9, 9])], {}),
        ("HardSigmoid", lambda m: ["x"], {}),
        ("Sigmoid", lambda m: ["x"], {}),
        ("Gelu", lambda m: ["x"], {}),
    ]
    outcomes = set()
    for _ in range(300):
        op_type, inputs, names = specs[rng.integers(len(specs))]
        m = M((1, 3, 9, 9), opset=18)
        attrs = {}
        for n, k in names.items():
            if rng.random() < 0.7:
                attrs[n] = ints(k) if k else int(rng.choice(values))
        if op_type == "Resize":
            attrs["mode"] = str(rng.choice(["nearest", "linear", "cubic"]))
            attrs["coordinate_transformation_mode"] = str(rng.choice(["asymmetric", "half_pixel", "align_corners"]))
            attrs["nearest_mode"] = "floor"
        if op_type == "Transpose" and "perm" in attrs and rng.random() < 0.5:
            attrs["perm"] = [0, 2, 3, 1]
        if op_type == "Pad":
            attrs["mode"] = str(rng.choice(["constant", "reflect", "edge", "wrap"]))
        y = m.op(op_type, inputs(m), **attrs)
        try:
            a = analyze(read_graph(m.model([y]), "m.onnx"))
            outcomes.add("read")
            assert all(d > 0 for r in a.layers for d in r.output_shape)
        except NetcError as e:
            outcomes.add(e.diagnostics[0].code)
    assert {"read", "E011"} <= outcomes


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_split_is_one_slice_per_part(opset):
    """torch.chunk(x, 2, 1) / x.split([4, 8], 1) (YOLOv8's C2f): Split on axis 1."""
    m = M((1, 12, 5, 5), opset=opset)
    outs = ["a", "b"]
    if opset < 13:
        m.nodes.append(__import__("onnx").helper.make_node("Split", ["x"], outs, name="sp", axis=1,
                                                           split=[4, 8]))
    elif opset < 18:
        m.nodes.append(__import__("onnx").helper.make_node("Split", ["x", m.const([4, 8])], outs,
                                                           name="sp", axis=1))
    else:
        outs = ["a", "b", "c"]                         # 12 in 3 equal parts
        m.nodes.append(__import__("onnx").helper.make_node("Split", ["x"], outs, name="sp", axis=1,
                                                           num_outputs=3))
    y = m.op("Concat", [outs[-1], "a"], axis=1)
    a = read(m.model([y]))
    if opset < 18:
        assert [(r.name, r.op, r.output_shape) for r in a.layers] == \
            [("sp_0", "slice", (4, 5, 5)), ("sp_1", "slice", (8, 5, 5)), (y, "concat", (12, 5, 5))]
        assert (params(a, 1)["start"], params(a, 1)["end"]) == (4, None)
    else:
        assert [(r.name, r.output_shape) for r in a.layers] == \
            [("sp_0", (4, 5, 5)), ("sp_2", (4, 5, 5)), (y, (8, 5, 5))]
        assert (params(a, 1)["start"], params(a, 1)["end"]) == (8, None)


def test_conv_transpose_with_fused_prelu_counts_its_slopes():
    """ConvTranspose -> PRelu (C, 1, 1): one conv_transpose whose parameters include the
    6 slopes, as many as the ONNX model's initializers hold."""
    m = M((1, 4, 5, 5))
    y = m.op("ConvTranspose", ["x", m.w(4, 6, 2, 2), m.w(6)], strides=[2, 2])
    z = m.op("PRelu", [y, m.w(6, 1, 1)])
    model = m.model([z])
    a = read(model)
    # weights 4*6*4 = 96, bias 6, slopes 6; MACs 96 * 25
    assert rows(a) == [("conv_transpose", (6, 10, 10), 108, 96 * 25)]
    assert sum(int(np.prod(t.dims)) for t in model.graph.initializer) == 108


def _layernorm_by_definition(m, x, c, eps, axis):
    """torch.nn.LayerNorm by the TorchScript exporter below opset 17: ReduceMean -> Sub ->
    Pow(2) -> ReduceMean -> Add(eps) -> Sqrt -> Div -> Mul(weight) -> Add(bias)."""
    d = m.op("Sub", [x, m.op("ReduceMean", [x], axes=[axis], keepdims=1)])
    var = m.op("ReduceMean", [m.op("Pow", [d, m.const([2.0], np.float32, scalar=True)])], axes=[axis], keepdims=1)
    y = m.op("Div", [d, m.op("Sqrt", [m.op("Add", [var, m.const([eps], np.float32, scalar=True)])])])
    return m.op("Add", [m.op("Mul", [y, m.w(c)]), m.w(c)])


@pytest.mark.parametrize("axis", [-1, 3])
def test_channels_last_region_at_opset_13_with_layernorm_by_definition(axis):
    """torchvision's ConvNeXt block exported at opset 13: the LayerNorm inside the permuted
    region is its definition over the last axis; read as the same layers as at opset 17."""
    m = M((1, 8, 5, 6), opset=13)
    t = m.op("Transpose", ["x"], perm=[0, 2, 3, 1])
    n = _layernorm_by_definition(m, t, 8, 1e-6, axis)
    h = _gelu_erf(m, m.op("Add", [m.op("MatMul", [n, m.w(8, 32)]), m.w(32)]))
    s = m.op("Mul", [m.w(8), m.op("MatMul", [h, m.w(32, 8)])])
    z = m.op("Transpose", [s], perm=[0, 3, 1, 2])
    a = read(m.model([z]))
    # layernorm 2*8; conv 8*32 + 32, MACs 8*32 * 5*6; conv 32*8, MACs 32*8 * 30; scale 8
    assert rows(a) == [("layernorm", (8, 5, 6), 16, 0), ("conv", (32, 5, 6), 288, 7680),
                       ("conv", (8, 5, 6), 256, 7680), ("scale", (8, 5, 6), 8, 0)]
    assert params(a)["eps"] == pytest.approx(1e-6) and params(a)["affine"] is True
    assert params(a, 1)["activation"] == "gelu"


def test_layernorm_by_definition_over_the_width_of_a_channels_last_map_is_refused():
    """Over axis 2 (W of (N, H, W, C)) it is not the layernorm over the channels."""
    m = M((1, 8, 5, 6), opset=13)
    t = m.op("Transpose", ["x"], perm=[0, 2, 3, 1])
    z = m.op("Transpose", [_layernorm_by_definition(m, t, 8, 1e-5, 2)], perm=[0, 3, 1, 2])
    with pytest.raises(NetcError, match="E011"):
        read(m.model([z]), check_ort=False)


def test_layernorm_weights_shared_through_identity_are_learned():
    """The TorchScript exporter shares identical initializers (the ones and zeros of an
    untrained LayerNorm) through Identity nodes: still a learned weight and bias."""
    m = M((1, 8, 5, 6), opset=17)
    ones, zeros = m.w(8), m.w(8)
    t = m.op("Transpose", ["x"], perm=[0, 2, 3, 1])
    n = m.op("LayerNormalization", [t, m.op("Identity", [ones]), m.op("Identity", [zeros])], axis=-1)
    z = m.op("Transpose", [n], perm=[0, 3, 1, 2])
    a = read(m.model([z]))
    assert rows(a) == [("layernorm", (8, 5, 6), 16, 0)] and params(a)["affine"] is True
