"""Shape, parameter, MAC, FLOP and receptive-field rules of the spatial and channel ops,
against hand arithmetic and brute-force enumerations written here."""

import math

import numpy as np

import pytest

import netc
from netc.diagnostics import NetcError
from netc.ops.adaptive import adaptive_windows
from netc.ops.resize import crop_offset
from netc.ops.transpose import unslide


def net(layers, shape=(3, 32, 32)):
    text = f"netc: 1\ninput: {{shape: {list(shape)}}}\nlayers:\n" + "".join(f"  - {l}\n" for l in layers)
    return netc.loads(text, "t.yaml")


def one(layer, shape=(3, 32, 32)):
    return net([layer], shape).layers[-1]


def error(layers, shape=(3, 32, 32)) -> str:
    with pytest.raises(NetcError) as e:
        net(layers, shape)
    return str(e.value.diagnostics[0].message)


# -- transposed convolution ----------------------------------------------------

def scatter_length(n, k, s, p, d, op):
    """Enumerate every position an input pixel's window writes to, then PyTorch's
    output_padding rows at the end and the padding cropped from both sides."""
    touched = {i * s + t * d for i in range(n) for t in range(k)}
    return max(touched) + 1 + op - 2 * p


@pytest.mark.parametrize("n, k, s, p, d, op, out", [
    (1, 4, 1, 0, 1, 0, 4),       # DCGAN's first layer: 1x1 -> 4x4
    (4, 4, 2, 1, 1, 0, 8),       # DCGAN: doubles
    (28, 2, 2, 0, 1, 0, 56),     # U-Net's 2x2 up-convolution
    (7, 3, 2, 1, 1, 1, 14),      # (7-1)*2 - 2 + 3 + 1 = 14: the inverse of a 3x3 s2 p1 conv on 14
    (7, 3, 2, 1, 1, 0, 13),      # ... and on 13
    (5, 3, 1, 2, 3, 2, 9),       # (5-1) - 4 + 7 + 2: output_padding below the dilation
    (16, 64, 32, 16, 1, 0, 512),  # FCN-32s's 64x64 stride-32 upsampling
])
def test_transposed_window_by_hand_and_by_enumeration(n, k, s, p, d, op, out):
    w = unslide(n, k, s, p, p, d, op)
    assert w.out == out == scatter_length(n, k, s, p, d, op)


def test_conv_transpose_inverts_conv_sizes():
    """For every size N, a k3 s2 p1 conv gives M; exactly one output_padding in {0, 1}
    brings a k3 s2 p1 transposed conv from M back to N (why output_padding exists)."""
    for n in range(1, 40):
        m = (n + 2 - 3) // 2 + 1
        back = [op for op in (0, 1) if scatter_length(m, 3, 2, 1, 1, op) == n]
        assert back == [(n + 1) % 2]
        assert unslide(m, 3, 2, 1, 1, 1, back[0]).out == n


def test_conv_transpose_counts():
    # U-Net's first up-convolution: 1024 -> 512 channels, 2x2 stride 2, on 28x28
    r = one("conv_transpose: {filters: 512, kernel: 2, stride: 2}", (1024, 28, 28))
    assert r.output_shape == (512, 56, 56)
    assert r.params == 1024 * 512 * 2 * 2 + 512 == 2_097_664
    assert r.macs == 1024 * 512 * 2 * 2 * 28 * 28            # weights * H_in * W_in (fvcore)
    assert r.flops == 2 * r.macs + 512 * 56 * 56
    g = one("conv_transpose: {filters: 6, kernel: 3, groups: 3, bias: false, activation: relu}", (9, 5, 5))
    assert g.params == 9 * 2 * 3 * 3                         # (C_in, K/groups, kh, kw)
    assert g.macs == 9 * 2 * 9 * 25 and g.flops == 2 * g.macs + 6 * 7 * 7


def test_conv_transpose_errors():
    assert "output_padding 2 must be smaller than the stride 2 or the dilation 1" in error(
        ["conv_transpose: {filters: 2, kernel: 3, stride: 2, output_padding: 2}"])
    assert "crops the whole output" in error(["conv_transpose: {filters: 2, kernel: 1, padding: 1}"], (3, 1, 1))
    assert "groups 2 does not divide the 3 input channels" in error(
        ["conv_transpose: {filters: 2, kernel: 1, groups: 2}"])


def test_conv_transpose_receptive_field():
    # after a 2x2 pool (size 2, jump 2), a 3x3 s2 transposed conv: an output sees
    # ceil(3/2) = 2 inputs: 2 + 1*2 = 4 pixels, jump 2/2 = 1
    r = net(["maxpool: {kernel: 2}", "conv_transpose: {filters: 2, kernel: 3, stride: 2}"]).layers[-1]
    assert (r.field.size, r.field.jump) == ((4, 4), (1, 1))
    # from the input itself the jump would be half a pixel: not a whole-pixel field
    assert one("conv_transpose: {filters: 2, kernel: 2, stride: 2}").field is None


def test_conv_transpose_is_not_linted_as_a_sliding_window(write):
    from netc.lint import Config, lint_file
    found = lint_file(write("netc: 1\ninput: {shape: [8, 1, 1]}\nlayers:\n"
                            "  - conv_transpose: {filters: 4, kernel: 4, padding: 0}\n"), Config())
    assert not [d for d in found if d.code in ("A001", "A002", "A003", "A004")]


# -- adaptive pooling ------------------------------------------------------------

def windows_by_enumeration(n, out):
    """start = the largest r with r*out <= i*n; end = the smallest r with r*out >= (i+1)*n."""
    return [(max(r for r in range(n + 1) if r * out <= i * n),
             min(r for r in range(n + 1) if r * out >= (i + 1) * n)) for i in range(out)]


def test_adaptive_windows_by_hand():
    # 10 rows to 7: [0,2) [1,3) [2,5) [4,6) [5,8) [7,9) [8,10): sizes 2 2 3 2 3 2 2, overlapping
    assert adaptive_windows(10, 7) == [(0, 2), (1, 3), (2, 5), (4, 6), (5, 8), (7, 9), (8, 10)]
    assert adaptive_windows(14, 7) == [(2 * i, 2 * i + 2) for i in range(7)]
    assert adaptive_windows(3, 5) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]


@pytest.mark.parametrize("n", range(1, 30))
def test_adaptive_windows_by_enumeration(n):
    for out in range(1, 2 * n + 3):
        assert adaptive_windows(n, out) == windows_by_enumeration(n, out)


def test_adaptive_pool_counts():
    r = one("adaptive_avgpool: {size: 7}", (512, 10, 10))
    assert r.output_shape == (512, 7, 7) and r.params == 0 and r.macs == 0
    assert r.flops == 512 * 16 * 16              # 16 = 2+2+3+2+3+2+2 rows, the same columns
    m = one("adaptive_maxpool: {size: [7, 5]}", (512, 10, 10))
    assert m.output_shape == (512, 7, 5)
    assert m.flops == 512 * (16 * 10 - 35)
    # receptive field: the largest window (3) and the largest step between starts (2)
    assert (r.field.size, r.field.jump) == ((3, 3), (2, 2))
    whole = one("adaptive_avgpool: {size: 1}", (8, 6, 5))
    assert (whole.field.size, whole.field.jump) == ((6, 5), (6, 5))


def test_global_maxpool_counts():
    r = one("global_maxpool", (64, 7, 7))
    assert r.output_shape == (64,) and r.flops == 64 * 48
    assert one("global_maxpool: {keepdims: true}", (64, 7, 7)).output_shape == (64, 1, 1)
    assert r.field.size == (7, 7)


# -- upsample, crop, pad ----------------------------------------------------------

@pytest.mark.parametrize("layer, shape, out", [
    ("upsample: {scale: 2}", (3, 7, 5), (3, 14, 10)),
    ("upsample: {scale: 1.5}", (3, 7, 5), (3, 10, 7)),           # floor(10.5), floor(7.5)
    ("upsample: {scale: [0.5, 3]}", (3, 7, 5), (3, 3, 15)),
    ("upsample: {scale: 2.3}", (3, 10, 10), (3, 23, 23)),        # PyTorch: floor(10 * 2.3) = 23 in float64
    ("upsample: {size: [9, 4], mode: bilinear}", (3, 7, 5), (3, 9, 4)),
])
def test_upsample_shapes(layer, shape, out):
    r = one(layer, shape)
    assert r.output_shape == out
    assert r.flops == (7 * math.prod(out) if "bilinear" in layer else 0)


def test_upsample_to_another_layer_and_its_errors():
    r = net(["conv: {name: a, filters: 4, kernel: 3, stride: 2}",
             "upsample: {from: [a, input]}"], (3, 9, 8)).layers[-1]
    assert r.output_shape == (4, 9, 8)
    assert "needs a scale, a size, or a second input" in error(["upsample"])
    assert "takes one of a scale, a size or a second input" in error(["upsample: {scale: 2, size: 3}"])
    assert "align_corners applies to bilinear upsampling only" in error(
        ["upsample: {scale: 2, align_corners: true}"])
    assert "floor(3*0.25) = 0" in error(["upsample: {scale: 0.25}"], (3, 3, 3))


def test_upsample_refuses_a_scale_onnx_computes_otherwise():
    from netc.onnx.build import BuildError, build_model
    with pytest.raises(BuildError, match="upsample scale 2.3 on 10 rows"):
        build_model(net(["upsample: {scale: 2.3}"], (3, 10, 10)))


@pytest.mark.parametrize("n, out, offset", [(9, 4, 2), (10, 7, 2), (10, 9, 0), (11, 8, 2), (64, 56, 4),
                                            (13, 8, 2), (12, 12, 0)])
def test_crop_offsets_are_torchvisions(n, out, offset):
    """round((n - out)/2) with Python's round: 2.5 -> 2, 1.5 -> 2, 0.5 -> 0."""
    assert crop_offset(n, out) == offset


def test_crop_shapes_and_errors():
    # U-Net's first skip: the 64x64 encoder map cropped to the 56x56 decoder map
    r = net(["conv: {name: enc, filters: 4, kernel: 1}", "maxpool: {name: down, kernel: 8}",
             "crop: {from: [enc, down]}"], (3, 64, 64)).layers[-1]
    assert r.output_shape == (4, 8, 8) and r.flops == 0
    assert one("crop: {size: [5, 3]}", (3, 6, 6)).output_shape == (3, 5, 3)
    assert "cannot crop 6x6 to the larger 7x3" in error(["crop: {size: [7, 3]}"], (3, 6, 6))
    assert "crop needs a size or a second input" in error(["crop"])


def test_pad_shapes_and_errors():
    assert one("pad: {padding: 1}", (3, 5, 6)).output_shape == (3, 7, 8)
    assert one("pad: {padding: [2, 3]}", (3, 5, 6)).output_shape == (3, 9, 12)
    assert one("pad: {padding: [1, 2, 3, 4]}", (3, 5, 6)).output_shape == (3, 8, 13)
    assert one("pad: {padding: [4, 0, 5, 5], mode: reflect}", (3, 5, 6)).output_shape == (3, 9, 16)
    assert "reflect padding 5 must be smaller than the input height 5" in error(
        ["pad: {padding: 5, mode: reflect}"], (3, 5, 6))
    assert one("pad: {padding: 9, mode: replicate}", (3, 5, 6)).output_shape == (3, 23, 24)
    assert "value is for mode constant" in error(["pad: {padding: 1, mode: reflect, value: 1}"])
    assert "[top, bottom, left, right]" in error(["pad: {padding: [1, 2, 3]}"])


# -- channels ------------------------------------------------------------------------

def test_slice_channel_shuffle_identity():
    assert one("slice: {start: 4, end: 10}", (16, 8, 8)).output_shape == (6, 8, 8)
    assert one("slice: {start: 4}", (16, 8, 8)).output_shape == (12, 8, 8)
    assert net(["flatten", "slice: {end: 5}"], (2, 2, 2)).layers[-1].output_shape == (5,)
    assert "end 17 is past the 16 input channels" in error(["slice: {end: 17}"], (16, 2, 2))
    assert "start 5 must be below end 5" in error(["slice: {start: 5, end: 5}"], (16, 2, 2))
    r = one("channel_shuffle: {groups: 4}", (16, 8, 8))
    assert r.output_shape == (16, 8, 8) and r.flops == 0 and r.params == 0
    assert "groups 3 does not divide the 16 channels" in error(["channel_shuffle: {groups: 3}"], (16, 2, 2))
    assert one("identity", (16, 8, 8)).output_shape == (16, 8, 8)


def test_summary_json_shows_transposed_windows():
    from netc.render import as_dict
    n = net(["conv_transpose: {filters: 2, kernel: 3, stride: 2, padding: 1, output_padding: 1}"], (3, 7, 5))
    [layer] = as_dict(n.analysis, n.memory())["layers"]
    assert layer["windows"][0] == {"size": 7, "kernel": 3, "stride": 2, "padding": [1, 1], "dilation": 1,
                                   "out": 14, "exact": True, "remainder": 0, "dropped": 0, "skipped": 0,
                                   "output_padding": 1}
    assert layer["windows"][1]["out"] == 10     # (5-1)*2 - 2 + 3 + 1


def test_unet_2015_counts_and_builds():
    """The 2015 U-Net: 31,030,658 parameters (Figure 1 with biases, as PyTorch ports count it),
    572x572 -> 388x388 with the encoder maps cropped 64->56, 136->104, 280->200, 568->392."""
    from conftest import ROOT
    from netc.onnx.build import build_model

    unet = netc.load(ROOT / "tests" / "data" / "unet2015.yaml")
    assert unet.analysis.totals.trainable_params == 31_030_658
    assert unet.layers[-1].output_shape == (2, 388, 388)
    crops = {r.name: r.output_shape[1] for r in unet.layers if r.op == "crop"}
    assert crops == {"skip4": 56, "skip3": 104, "skip2": 200, "skip1": 392}
    # the up-convolutions: 2x2, stride 2, channels halved: C_in * C_in/2 * 4 + C_in/2 each
    ups = [r.params for r in unet.layers if r.op == "conv_transpose"]
    assert ups == [c * c // 2 * 4 + c // 2 for c in (1024, 512, 256, 128)]
    model = build_model(unet)          # ONNX shape inference agrees with every layer
    assert sum(int(np.prod(t.dims)) for t in model.graph.initializer) == 31_030_658
