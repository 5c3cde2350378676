"""Each op's shape, parameter, MAC, FLOP and receptive-field rules, against hand arithmetic."""

import pytest

import netc
from netc.diagnostics import NetcError
from netc.ops.window import same_padding, slide


def one(layer: str, shape=(3, 32, 32), extra: str = ""):
    """Analyze a one-layer network and return the last layer's report."""
    net = netc.loads(f"netc: 1\ninput: {{shape: {list(shape)}}}\n{extra}layers:\n  - {layer}\n", "t.yaml")
    return net.layers[-1]


# -- window arithmetic (equations 1 and 2) -----------------------------------

@pytest.mark.parametrize("n, f, s, p, out, rem, dropped", [
    (5, 3, 1, 0, 3, 0, 0),          # the paper's Figure 3: 5x5 * 3x3 -> 3x3
    (125, 5, 2, 0, 61, 0, 0),       # Table 1
    (224, 7, 2, 3, 112, 1, 0),      # ResNet stem: (224 + 6 - 7) / 2 = 111.5; the lost row is padding
    (224, 11, 4, 0, 54, 1, 1),      # (224 - 11) / 4 = 53.25: one input row never seen
    (227, 11, 4, 0, 55, 0, 0),      # why AlexNet's input is really 227
    (8, 2, 3, 0, 3, 0, 0),
])
def test_slide(n, f, s, p, out, rem, dropped):
    w = slide(n, f, s, p, p)
    assert (w.out, w.remainder, w.dropped, w.exact) == (out, rem, dropped, rem == 0)


def test_slide_stride_larger_than_kernel_skips_rows():
    w = slide(10, 3, 4, 0, 0)      # windows [0,3) and [4,7): row 3 skipped, rows 7..9 dropped
    assert (w.out, w.skipped, w.dropped) == (2, 1, 3)


def test_slide_dilation_and_ceil_mode():
    assert slide(32, 3, 1, 2, 2, dilation=2).out == 32          # extent 5, same size
    assert slide(112, 3, 2, 0, 0).out == 55
    assert slide(112, 3, 2, 0, 0, ceil_mode=True).out == 56     # GoogLeNet's ceil-mode pools
    assert slide(6, 3, 2, 1, 1, ceil_mode=True).out == 4        # (6 + 2 - 3) / 2 = 2.5 -> 3 + 1
    assert slide(5, 2, 2, 1, 1, ceil_mode=True).out == 3        # a 4th window would start in the padding


def test_same_padding_like_tensorflow():
    assert same_padding(224, 7, 2) == (2, 3)
    assert same_padding(32, 3, 1) == (1, 1)
    assert same_padding(5, 1, 2) == (0, 0)


# -- ops ---------------------------------------------------------------------

def test_conv_counts():
    r = one("conv: {filters: 16, kernel: 3, padding: 1}")
    assert r.output_shape == (16, 32, 32)
    assert r.params == 16 * 3 * 3 * 3 + 16
    assert r.macs == 16 * 3 * 3 * 3 * 32 * 32
    assert r.flops == 2 * r.macs + 16 * 32 * 32
    assert (r.field.size, r.field.jump) == ((3, 3), (1, 1))


def test_conv_nonsquare_groups_dilation_activation():
    r = one("conv: {filters: 8, kernel: [1, 5], stride: [1, 2], padding: [0, 2], groups: 4, "
            "dilation: [1, 1], bias: false, activation: relu}", shape=(4, 10, 11))
    assert r.output_shape == (8, 10, 6)
    assert r.params == 8 * 1 * 1 * 5
    assert r.macs == 8 * 1 * 5 * 10 * 6
    assert r.flops == 2 * r.macs + 8 * 10 * 6      # no bias; one FLOP per ReLU output
    assert r.field.size == (1, 5) and r.field.jump == (1, 2)


def test_depthwise_conv():
    r = one("conv: {filters: 32, kernel: 3, padding: same, groups: 32}", shape=(32, 14, 14))
    assert r.output_shape == (32, 14, 14)
    assert r.params == 32 * 9 + 32
    assert r.macs == 32 * 9 * 14 * 14


def test_conv_same_padding_with_stride():
    r = one("conv: {filters: 1, kernel: 7, stride: 2, padding: same}", shape=(1, 224, 224))
    assert r.output_shape == (1, 112, 112)
    assert (r.windows[0].pad_begin, r.windows[0].pad_end) == (2, 3)


def test_conv_dilated_field():
    r = one("conv: {filters: 1, kernel: 3, dilation: 2}", shape=(1, 9, 9))
    assert r.output_shape == (1, 5, 5) and r.field.size == (5, 5)


def test_conv_groups_must_divide():
    with pytest.raises(NetcError, match="groups 2 does not divide the 3 input channels"):
        one("conv: {filters: 4, kernel: 1, groups: 2}")


def test_pools():
    r = one("maxpool: {kernel: 3, stride: 2}", shape=(64, 112, 112))
    assert r.output_shape == (64, 55, 55) and r.params == 0 and r.macs == 0
    assert r.flops == 8 * 64 * 55 * 55
    r = one("avgpool: {kernel: 2}", shape=(6, 28, 28))         # stride defaults to the kernel
    assert r.output_shape == (6, 14, 14) and r.flops == 4 * 6 * 14 * 14
    r = one("maxpool: {kernel: 3, stride: 2, ceil_mode: true}", shape=(64, 112, 112))
    assert r.output_shape == (64, 56, 56)


# -- pools at the edges (issue 9); sizes worked out by hand with PyTorch's rule -----

def test_ceil_mode_drops_a_last_window_starting_in_the_end_padding():
    # (5 + 2 - 2)/3 = 1.67 -> ceil 2, + 1 = 3 windows; the 3rd would start at 6 >= 5 + 1
    assert one("maxpool: {kernel: 2, stride: 3, padding: 1, ceil_mode: true}",
               shape=(1, 5, 5)).output_shape == (1, 2, 2)
    # (8 + 2 - 3)/3 = 2.33 -> 3 + 1 = 4; the 4th would start at 9 >= 8 + 1
    assert one("maxpool: {kernel: 3, padding: 1, ceil_mode: true}", shape=(1, 8, 8)).output_shape == (1, 3, 3)


def test_ceil_mode_kernel_larger_than_the_padded_input():
    # PyTorch and onnxruntime: ceil((1 - 4)/4) + 1 = 1 window, holding the one real pixel
    r = one("maxpool: {kernel: 4, ceil_mode: true}", shape=(1, 1, 1))
    assert r.output_shape == (1, 1, 1)
    assert (r.windows[0].dropped, r.windows[0].skipped, r.windows[0].overhang) == (0, 0, 3)
    assert one("avgpool: {kernel: [4, 2], ceil_mode: true}", shape=(2, 3, 3)).output_shape == (2, 1, 2)
    # floor mode, or a stride that leaves no window: still refused, at the kernel
    with pytest.raises(NetcError, match=r"E004.*kernel 4 is larger than the padded input 1: output would be 0"):
        one("maxpool: {kernel: 4}", shape=(1, 1, 1))
    with pytest.raises(NetcError, match=r"kernel 4 is larger than the padded input 1: output would be -2") as e:
        one("maxpool: {kernel: 4, stride: 1, ceil_mode: true}", shape=(1, 1, 1))
    assert (e.value.diagnostics[0].span.line, e.value.diagnostics[0].span.col) == (4, 23)


@pytest.mark.parametrize("layer, col", [
    ("maxpool: {kernel: 2, stride: 1, padding: 2}", 46),
    ("avgpool: {kernel: 3, stride: 1, padding: 3, ceil_mode: true}", 46),   # PyTorch 4x4, was 5x5
    ("maxpool: {kernel: 3, padding: [1, 2]}", 35),
    ("avgpool: {kernel: 1, padding: 1}", 35),
])
def test_pool_padding_above_half_the_kernel_is_an_error(layer, col):
    with pytest.raises(NetcError) as e:
        one(layer, shape=(1, 1, 1))
    d = e.value.diagnostics[0]
    assert d.code == "E004" and (d.span.line, d.span.col) == (4, col)
    assert "is more than half the kernel" in d.message
    assert "PyTorch refuses padding > kernel/2" in d.message and "Pad should be smaller than kernel" in d.message


def test_pool_padding_up_to_half_the_kernel_and_same_are_accepted():
    assert one("maxpool: {kernel: 2, stride: 1, padding: 1}", shape=(1, 4, 4)).output_shape == (1, 5, 5)
    assert one("avgpool: {kernel: 4, stride: 1, padding: 2}", shape=(1, 4, 4)).output_shape == (1, 5, 5)
    w = one("maxpool: {kernel: 4, stride: 2, padding: same}", shape=(1, 7, 7)).windows[0]
    assert (w.pad_begin, w.pad_end, w.out) == (1, 2, 4)


def test_global_avgpool():
    r = one("global_avgpool", shape=(512, 7, 7))
    assert r.output_shape == (512,) and r.flops == 512 * 49
    assert r.field.size == (7, 7)
    assert one("global_avgpool: {keepdims: true}", shape=(512, 7, 7)).output_shape == (512, 1, 1)


def test_dense_and_flatten():
    net = netc.loads("netc: 1\ninput: {shape: [16, 5, 5]}\nlayers:\n  - flatten\n"
                     "  - dense: {units: 120, activation: tanh}\n", "t.yaml")
    flat, fc = net.layers
    assert flat.output_shape == (400,) and flat.params == 0
    assert fc.params == 400 * 120 + 120 and fc.macs == 400 * 120
    assert fc.flops == 2 * 400 * 120 + 120 + 5 * 120


def test_dense_needs_a_vector():
    with pytest.raises(NetcError, match="add a flatten or global_avgpool"):
        one("dense: {units: 10}")


def test_batchnorm_has_buffers():
    r = one("batchnorm", shape=(64, 8, 8))
    assert (r.params, r.buffers, r.trainable) == (256, 128, 128)
    assert r.flops == 2 * 64 * 64


@pytest.mark.parametrize("op, flops_per_element", [
    ("relu", 1), ("relu6", 2), ("leaky_relu: {slope: 0.1}", 2), ("sigmoid", 4), ("tanh", 5),
    ("softmax", 5), ("dropout: {rate: 0.5}", 0),
])
def test_elementwise(op, flops_per_element):
    r = one(op, shape=(4, 3, 3))
    assert r.output_shape == (4, 3, 3) and r.params == 0 and r.flops == flops_per_element * 36


def test_lrn_keeps_the_shape_and_costs_size_plus_4_per_element():
    r = one("lrn: {size: 5}", shape=(96, 55, 55))
    assert r.output_shape == (96, 55, 55) and (r.params, r.buffers, r.macs) == (0, 0, 0)
    assert r.flops == 9 * 96 * 55 * 55
    assert r.field.size == (1, 1)                 # across channels only: no spatial window
    p = r.node.params
    assert (p["alpha"], p["beta"], p["k"]) == (1e-4, 0.75, 1.0)   # ONNX's and PyTorch's defaults


@pytest.mark.parametrize("layer, shape, words", [
    ("lrn: {size: 4}", (8, 4, 4), "lrn size 4 is even"),
    ("lrn", (8, 4, 4), "size"),
    ("lrn: {size: 3, alpha: -1}", (8, 4, 4), "at least 0"),
])
def test_lrn_errors(layer, shape, words):
    with pytest.raises(NetcError, match=words):
        one(layer, shape=shape)


def test_lrn_needs_a_map():
    with pytest.raises(NetcError, match="lrn needs a .channels, height, width. input"):
        netc.loads("netc: 1\ninput: {shape: [3, 4, 4]}\nlayers:\n  - flatten\n  - lrn: {size: 3}\n", "t.yaml")


def test_add_and_concat():
    net = netc.loads("""netc: 1
input: {shape: [8, 16, 16]}
layers:
  - conv: {name: a, filters: 8, kernel: 3, padding: 1}
  - conv: {name: b, filters: 4, kernel: 1, from: input}
  - add: {from: [input, a]}
  - concat: {from: [add1, b, a]}
""", "t.yaml")
    add, cat = net.layers[2], net.layers[3]
    assert add.output_shape == (8, 16, 16) and add.flops == 8 * 16 * 16
    assert cat.output_shape == (20, 16, 16) and cat.flops == 0
    assert cat.field.size == (3, 3)


def test_add_shape_mismatch_names_the_inputs():
    with pytest.raises(NetcError) as e:
        netc.loads("netc: 1\ninput: {shape: [8, 16, 16]}\nlayers:\n"
                   "  - conv: {filters: 4, kernel: 1}\n  - add: {from: [input, conv1]}\n", "t.yaml")
    msg = str(e.value)
    assert msg.startswith("t.yaml:5:5:")
    assert "input (8, 16, 16)" in msg and "conv1 (4, 16, 16)" in msg


def test_huge_counts_stay_exact():
    # 2^20 filters of 4096x4096 kernels... on a 65536^2 input: far past 10^15 MACs, still exact.
    r = one("conv: {filters: 1048576, kernel: 1, bias: false}", shape=(1048576, 65536, 1))
    assert r.macs == 1048576 * 1048576 * 65536
    assert r.macs > 10**15 and isinstance(r.macs, int)
