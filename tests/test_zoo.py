"""The model zoo (examples/*.yaml) against published figures and hand-computed rows.

Published parameter counts are torchvision's ``num_params`` (trainable only, so
they are compared with ``trainable_params``); published MACs are torchvision's
``_ops`` ("GFLOPS" in its docs, which are multiply-accumulates), rounded there
to three decimals (VGG-16: two). docs/zoo.md gives the sources.
"""

import math

import pytest

import netc
from conftest import EXAMPLES, run_netc

# name: (trainable params, GMACs as published, decimals, exact MACs netc counts)
PUBLISHED = {
    "alexnet": (61_100_840, 0.714, 3, 714_188_480),
    "vgg16": (138_357_544, 15.47, 2, 15_470_264_320),
    "googlenet": (6_624_904, 1.498, 3, 1_498_376_192),
    "resnet18": (11_689_512, 1.814, 3, 1_814_073_344),
    "resnet50": (25_557_032, 4.089, 3, 4_089_184_256),
    "resnet152": (60_192_808, 11.514, 3, 11_513_626_624),
    "mobilenet_v2": (3_504_872, 0.301, 3, 300_774_272),
    "efficientnet_b0": (5_288_548, 0.386, 3, 385_814_752),
    "convnext_tiny": (28_589_128, 4.456, 3, 4_455_531_264),
    "mobilenet_v3_large": (5_483_032, 0.217, 3, 216_589_760),
}

# batchnorm running mean and variance: 2 buffers per channel
BUFFERS = {
    "alexnet": 0,
    "vgg16": 0,
    "googlenet": 14_560,
    "resnet18": 9_600,
    "resnet50": 53_120,
    "resnet152": 151_424,
    "mobilenet_v2": 34_112,
    "efficientnet_b0": 42_016,
    "convnext_tiny": 0,             # layernorm keeps no running statistics
    "mobilenet_v3_large": 24_400,
}


def load(name):
    return netc.load(EXAMPLES / f"{name}.yaml")


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_totals_match_published_figures(name):
    params, gmacs, decimals, macs = PUBLISHED[name]
    totals = load(name).totals
    assert totals.trainable_params == params
    assert totals.params == params + BUFFERS[name]
    assert round(totals.macs / 1e9, decimals) == gmacs
    assert totals.macs == macs


def test_resnet18_buffers_are_two_per_batchnorm_channel():
    # bn1 64; layer1: 2 blocks x 2 bn x 64; layer2..4: 2 blocks x 2 bn x width + one downsample bn
    channels = 64 + 2 * 2 * 64 + sum(2 * 2 * w + w for w in (128, 256, 512))
    assert channels == 4800
    assert load("resnet18").totals.non_trainable_params == 2 * channels


def test_lenet5_counts_and_its_difference_from_the_paper():
    net = load("lenet5")
    rows = {r.name: r for r in net.layers}
    assert rows["c1.conv"].params == 6 * (5 * 5 * 1 + 1)                  # 156, as in the paper
    assert rows["c1.conv"].output_shape == (6, 28, 28)
    assert rows["c1.conv"].macs == 6 * 25 * 28 * 28                       # 117,600
    assert rows["c3.conv"].params == 16 * (5 * 5 * 6 + 1)                 # 2,416 fully connected
    assert rows["c3.pool"].output_shape == (16, 5, 5)
    assert rows["c5"].params == 120 * (400 + 1)                           # 48,120, as in the paper
    assert rows["f6"].params == 84 * (120 + 1)                            # 10,164, as in the paper
    assert rows["output"].params == 10 * 84 + 10
    # The paper's 60,000: C1 156 + S2 12 + C3 1,516 + S4 32 + C5 48,120 + F6 10,164 (RBF fixed).
    paper = 156 + 12 + 1516 + 32 + 48120 + 10164
    assert paper == 60_000
    assert net.totals.trainable_params == paper - 1516 + 2416 - 12 - 32 + 850 == 61_706
    assert net.totals.macs == 117_600 + 16 * 6 * 25 * 100 + 120 * 400 + 120 * 84 + 84 * 10


def test_alexnet_rows():
    rows = {r.name: r for r in load("alexnet").layers}
    assert rows["conv1"].output_shape == (64, 55, 55)                     # (224 + 4 - 11) // 4 + 1
    assert rows["conv1"].params == 64 * 3 * 11 * 11 + 64                  # 23,296
    assert rows["conv1"].macs == 64 * 3 * 11 * 11 * 55 * 55
    assert rows["pool5"].output_shape == (256, 6, 6)
    assert rows["fc6.fc"].params == 256 * 6 * 6 * 4096 + 4096


def test_vgg16_against_an_independent_count():
    config = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    params = macs = 0
    channels, size = 3, 224
    for v in config:
        if v == "M":
            size //= 2
            continue
        params += v * channels * 9 + v
        macs += v * channels * 9 * size * size
        channels = v
    for fan_in, fan_out in [(512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)]:
        params += fan_in * fan_out + fan_out
        macs += fan_in * fan_out
    net = load("vgg16")
    assert (net.totals.params, net.totals.macs) == (params, macs)
    rows = {r.name: r for r in net.layers}
    assert rows["block1.conv.0"].params == 64 * 3 * 9 + 64                # 1,792
    assert rows["block5.conv.2"].output_shape == (512, 14, 14)
    assert rows["block5.pool"].output_shape == (512, 7, 7)


def _resnet_count(blocks, bottleneck):
    """ResNet trainable params and MACs, counted the way torchvision builds the model."""
    params = macs = 0

    def conv(cin, cout, k, size):
        nonlocal params, macs
        params += cout * cin * k * k + 2 * cout        # + batchnorm scale and shift
        macs += cout * cin * k * k * size * size

    conv(3, 64, 7, 112)
    cin, size, expansion = 64, 56, 4 if bottleneck else 1
    for stage, (width, n) in enumerate(zip((64, 128, 256, 512), blocks)):
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            size //= stride
            cout = width * expansion
            if bottleneck:
                conv(cin, width, 1, size * stride)
                conv(width, width, 3, size)
                conv(width, cout, 1, size)
            else:
                conv(cin, width, 3, size)
                conv(width, width, 3, size)
            if stride != 1 or cin != cout:
                conv(cin, cout, 1, size)
            cin = cout
    params += cin * 1000 + 1000
    macs += cin * 1000
    return params, macs


@pytest.mark.parametrize("name, blocks, bottleneck", [
    ("resnet18", (2, 2, 2, 2), False),
    ("resnet50", (3, 4, 6, 3), True),
    ("resnet152", (3, 8, 36, 3), True),
])
def test_resnets_against_an_independent_count(name, blocks, bottleneck):
    totals = load(name).totals
    assert (totals.trainable_params, totals.macs) == _resnet_count(blocks, bottleneck)


def test_resnet50_rows():
    rows = {r.name: r for r in load("resnet50").layers}
    assert rows["conv1"].params == 64 * 3 * 7 * 7 == 9408                 # no bias
    assert rows["conv1"].macs == 9408 * 112 * 112
    assert rows["maxpool1"].output_shape == (64, 56, 56)
    assert rows["layer1.first.downsample"].params == 256 * 64              # projection 64 -> 256
    assert rows["layer2.first.branch.conv2"].output_shape == (128, 28, 28)  # stride on the 3x3 (V1.5)
    assert rows["layer2.first.branch.conv1"].output_shape == (128, 56, 56)
    assert rows["layer4.rest.1.relu1"].output_shape == (2048, 7, 7)
    assert rows["fc"].params == 2048 * 1000 + 1000


def test_resnet152_is_short_and_repeats():
    text = (EXAMPLES / "resnet152.yaml").read_text()
    assert len(text.splitlines()) < 80
    assert sum(line.strip().startswith("- stage:") for line in text.splitlines()) == 4
    names = {r.name for r in load("resnet152").layers}
    assert "layer3.rest.34.relu1" in names                                # 36 blocks: 1 + 35
    assert "layer3.rest.35.relu1" not in names
    assert sum(n.endswith(".add1") for n in names) == 3 + 8 + 36 + 3


def test_googlenet_rows():
    rows = {r.name: r for r in load("googlenet").layers}
    assert rows["conv1.conv"].params == 64 * 3 * 7 * 7
    assert rows["maxpool1"].output_shape == (64, 56, 56)                  # ceil((112 - 3) / 2) + 1
    assert rows["maxpool2"].output_shape == (192, 28, 28)
    assert rows["inception3a.concat1"].output_shape == (64 + 128 + 32 + 32, 28, 28)
    assert rows["inception3a.branch3.conv"].params == 32 * 16 * 3 * 3      # torchvision's 3x3 "5x5"
    assert rows["inception4e.concat1"].output_shape == (832, 14, 14)
    assert rows["inception5b.concat1"].output_shape == (1024, 7, 7)
    assert rows["fc"].params == 1024 * 1000 + 1000


def test_googlenet_with_the_papers_5x5_branch():
    text = (EXAMPLES / "googlenet.yaml").read_text().replace("wide_kernel: 3}", "wide_kernel: 5}")
    net = netc.loads(text, "googlenet-5x5")
    # the 3x3 -> 5x5 change adds 16 * c5 * c5_reduce weights per module
    modules = [(16, 32), (32, 96), (16, 48), (24, 64), (24, 64), (32, 64), (32, 128), (32, 128), (48, 128)]
    extra = sum(16 * r * c for r, c in modules)
    assert net.totals.trainable_params == 6_624_904 + extra
    assert rows_of(net)["inception3a.branch3.conv"].params == 32 * 16 * 5 * 5


def rows_of(net):
    return {r.name: r for r in net.layers}


def test_mobilenet_v2_rows():
    rows = rows_of(load("mobilenet_v2"))
    assert rows["stem.conv"].params == 32 * 3 * 3 * 3
    assert rows["block1.depthwise.conv"].params == 32 * 1 * 3 * 3          # groups = channels
    assert rows["stage2.first.expand.conv"].params == 96 * 16              # 16 * t(6)
    dw = rows["stage2.first.depthwise.conv"]
    assert dw.params == 96 * 3 * 3
    assert dw.output_shape == (96, 56, 56)
    assert dw.macs == 96 * 9 * 56 * 56
    # residual only where stride 1 and width unchanged: n - 1 per stage, none in block1/block17
    adds = [r.name for r in load("mobilenet_v2").layers if r.op == "add"]
    assert len(adds) == (2 - 1) + (3 - 1) + (4 - 1) + (3 - 1) + (3 - 1)
    assert "stage2.first.shortcut" not in rows and "stage2.rest.0.shortcut" in rows  # if: stride 1, widths agree
    assert "block1.expand.conv" not in rows and rows["block1.depthwise.conv"].output_shape == (32, 112, 112)
    assert rows["head.conv"].params == 1280 * 320
    assert rows["fc"].params == 1280 * 1000 + 1000


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "googlenet", "resnet152", "mobilenet_v2"])
def test_summary_cli_runs(name):
    result = run_netc("summary", f"examples/{name}.yaml")
    assert result.returncode == 0, result.stderr
    assert "Params:" in result.stdout


# torchvision's efficientnet_b0..b7: (width, depth, crop size, dropout) from its _efficientnet_conf
# and weights' transforms; published num_params and _ops (GMACs, three decimals)
EFFICIENTNETS = {
    "b0": (1.0, 1.0, 224, 0.2, 5_288_548, 0.386),
    "b1": (1.0, 1.1, 240, 0.2, 7_794_184, 0.687),
    "b2": (1.1, 1.2, 288, 0.3, 9_109_994, 1.088),
    "b3": (1.2, 1.4, 300, 0.3, 12_233_232, 1.827),
    "b4": (1.4, 1.8, 380, 0.4, 19_341_616, 4.394),
    "b5": (1.6, 2.2, 456, 0.4, 30_389_784, 10.266),
    "b6": (1.8, 2.6, 528, 0.5, 43_040_704, 19.068),
    "b7": (2.0, 3.1, 600, 0.5, 66_347_960, 37.746),
}


def _efficientnet_count(width, depth, size):
    """torchvision's MBConv, counted by hand: conv (no bias) + batchnorm (2 per channel),
    SE convs with bias on the pooled (C, 1, 1) map, squeeze = max(1, c_in // 4); channels
    _make_divisible(c * width, 8), blocks ceil(n * depth); 'same' padding k // 2."""
    import math
    params = macs = buffers = 0

    def conv(cin, cout, k, out, groups=1, bn=True, bias=False):
        nonlocal params, macs, buffers
        weights = cout * cin // groups * k * k
        params += weights + (2 * cout if bn else 0) + (cout if bias else 0)
        buffers += 2 * cout if bn else 0
        macs += weights * out * out

    def mbconv(cin, cout, t, k, stride, size):
        exp = _make_divisible(cin * t, 8)
        if exp != cin:
            conv(cin, exp, 1, size)
        out = (size + 2 * (k // 2) - k) // stride + 1
        conv(exp, exp, k, out, groups=exp)
        squeeze = max(1, cin // 4)
        conv(exp, squeeze, 1, 1, bn=False, bias=True)
        conv(squeeze, exp, 1, 1, bn=False, bias=True)
        conv(exp, cout, 1, out)
        return out

    def ch(c):
        return _make_divisible(c * width, 8)

    size = (size - 1) // 2 + 1                         # 3x3, stride 2, padding 1
    conv(3, ch(32), 3, size)
    cin = ch(32)
    for t, k, stride, c, n in [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                               (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]:
        for i in range(int(math.ceil(n * depth))):
            size = mbconv(cin, ch(c), t, k, stride if i == 0 else 1, size)
            cin = ch(c)
    conv(cin, 4 * cin, 1, size)
    params += 4 * cin * 1000 + 1000
    macs += 4 * cin * 1000
    return params, macs, buffers


@pytest.mark.parametrize("variant", sorted(EFFICIENTNETS))
def test_efficientnet_b0_to_b7_from_one_file(variant):
    """B1-B7 are efficientnet_b0.yaml with --set width, depth, dropout and --input."""
    width, depth, size, dropout, published, gmacs = EFFICIENTNETS[variant]
    net = netc.load(EXAMPLES / "efficientnet_b0.yaml", input_shape=(3, size, size),
                    params={"width": width, "depth": depth, "dropout": dropout})
    totals = net.totals
    assert totals.trainable_params == published
    assert round(totals.macs / 1e9, 3) == gmacs
    assert (totals.trainable_params, totals.macs, totals.non_trainable_params) == \
        _efficientnet_count(width, depth, size)


def test_efficientnet_b0_rows():
    rows = rows_of(load("efficientnet_b0"))
    assert "stage1.first.expand.conv" not in rows                           # t = 1: no expansion
    assert "stage1.first.depthwise.conv" in rows
    assert rows["stage2.first.expand.conv"].params == 16 * 96
    assert rows["stage2.first.se.fc1"].params == 96 * 4 + 4                 # squeeze 16 // 4
    assert rows["head.conv"].output_shape == (1280, 7, 7)
    assert sum(r.op == "add" for r in rows.values()) == 16 - 7             # all but each stage's first


def test_efficientnet_b7_from_the_command_line():
    r = run_netc("summary", "examples/efficientnet_b0.yaml", "--set", "width=2.0", "--set", "depth=3.1",
                 "--set", "dropout=0.5", "--input", "3,600,600", "--depth", "1")
    assert r.returncode == 0, r.stderr
    assert "trainable 66,347,960" in r.stdout
    assert "37,745,884,192" in r.stdout
    rows = rows_of(netc.load(EXAMPLES / "efficientnet_b0.yaml", input_shape=(3, 600, 600),
                             params={"width": 2.0, "depth": 3.1}))
    assert rows["stem.conv"].output_shape == (64, 300, 300)
    assert "stage6.rest.11.project" in rows and "stage6.rest.12.project" not in rows  # ceil(4 * 3.1)
    assert rows["head.conv"].output_shape == (2560, 19, 19)


def test_convnext_tiny_against_an_independent_count():
    """torchvision's CNBlock: depthwise 7x7 with bias, layernorm (2C), Linear C -> 4C -> C
    with biases, layer scale (C); downsampling: layernorm + 2x2 conv with bias."""
    params = macs = 0

    def conv(cin, cout, k, size, groups=1):
        nonlocal params, macs
        params += cout * cin // groups * k * k + cout
        macs += cout * cin // groups * k * k * size * size

    conv(3, 96, 4, 56)
    params += 2 * 96
    size, cin = 56, 96
    for stage, (dim, n) in enumerate(zip((96, 192, 384, 768), (3, 3, 9, 3))):
        if stage:
            params += 2 * cin
            size //= 2
            conv(cin, dim, 2, size)
        for _ in range(n):
            conv(dim, dim, 7, size, groups=dim)
            params += 2 * dim
            conv(dim, 4 * dim, 1, size)
            conv(4 * dim, dim, 1, size)
            params += dim
        cin = dim
    params += 2 * 768 + 768 * 1000 + 1000
    macs += 768 * 1000
    totals = load("convnext_tiny").totals
    assert (totals.trainable_params, totals.macs) == (params, macs)
    rows = rows_of(load("convnext_tiny"))
    assert rows["stage3.8.layer_scale"].params == 384
    assert rows["stage3.8.norm"].params == 2 * 384
    assert rows["down4.conv"].output_shape == (768, 7, 7)


def _make_divisible(v, d, min_value=None):
    """torchvision's _make_divisible, restated here."""
    min_value = min_value or d
    new = max(min_value, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


def test_mobilenet_v3_large_against_an_independent_count():
    """torchvision's mobilenet_v3_large: Table 1 rows (kernel, expanded, out, SE, stride);
    conv (no bias) + batchnorm; SE squeeze make_divisible(expanded // 4, 8) with biases;
    residual where stride 1 and in = out."""
    params = macs = buffers = 0

    def conv(cin, cout, k, size, groups=1, bn=True, bias=False):
        nonlocal params, macs, buffers
        weights = cout * cin // groups * k * k
        params += weights + (2 * cout if bn else 0) + (cout if bias else 0)
        buffers += 2 * cout if bn else 0
        macs += weights * size * size

    rows = [(3, 16, 16, False, 1), (3, 64, 24, False, 2), (3, 72, 24, False, 1), (5, 72, 40, True, 2),
            (5, 120, 40, True, 1), (5, 120, 40, True, 1), (3, 240, 80, False, 2), (3, 200, 80, False, 1),
            (3, 184, 80, False, 1), (3, 184, 80, False, 1), (3, 480, 112, True, 1), (3, 672, 112, True, 1),
            (5, 672, 160, True, 2), (5, 960, 160, True, 1), (5, 960, 160, True, 1)]
    conv(3, 16, 3, 112)
    cin, size, adds = 16, 112, 0
    for k, exp, cout, se, stride in rows:
        if exp != cin:
            conv(cin, exp, 1, size)
        size //= stride
        conv(exp, exp, k, size, groups=exp)
        if se:
            squeeze = _make_divisible(exp // 4, 8)
            conv(exp, squeeze, 1, 1, bn=False, bias=True)
            conv(squeeze, exp, 1, 1, bn=False, bias=True)
        conv(exp, cout, 1, size)
        adds += stride == 1 and cin == cout
        cin = cout
    conv(160, 960, 1, 7)
    params += 960 * 1280 + 1280 + 1280 * 1000 + 1000
    macs += 960 * 1280 + 1280 * 1000
    net = load("mobilenet_v3_large")
    totals = net.totals
    assert (totals.trainable_params, totals.macs, totals.non_trainable_params) == (params, macs, buffers)
    assert sum(r.op == "add" for r in net.layers) == adds == 10
    assert sum(r.op == "mul" for r in net.layers) == sum(se for *_, se, _ in rows) == 8
    rows_ = rows_of(net)
    assert "residual1.branch.expand.conv" not in rows_                     # 16 -> 16: no expansion
    assert rows_["bneck2.se.fc1"].params == 72 * 24 + 24                    # make_divisible(18, 8) = 24
    assert rows_["bneck2.se.scale"].output_shape == (72, 28, 28)
    assert rows_["residual1.branch.depthwise.act"].op == "relu"
    assert rows_["residual10.branch.depthwise.act"].op == "hardswish"


def test_unet_against_an_independent_count():
    """The 2015 U-Net of Figure 1: valid 3x3 convs with bias, 2x2 pools, 2x2 stride-2
    up-convolutions halving the channels (weights C x C/2 x 2 x 2, bias), centre crops,
    a 1x1 conv to 2 classes; sides followed through every layer."""
    params = macs = 0

    def conv(cin, cout, k, out):
        nonlocal params, macs
        params += cout * cin * k * k + cout
        macs += cout * cin * k * k * out * out

    size, cin, skips = 572, 1, []
    for width in (64, 128, 256, 512, 1024):
        for _ in range(2):
            size -= 2
            conv(cin, width, 3, size)
            cin = width
        if width < 1024:
            skips.append((width, size))
            assert size % 2 == 0
            size //= 2
    crops = []
    for width, skip_size in reversed(skips):
        size *= 2
        params += cin * width * 2 * 2 + width            # up-convolution, cin -> cin / 2 = width
        macs += cin * width * 2 * 2 * (size // 2) ** 2   # each input pixel scatters a 2x2 patch
        crops.append((skip_size, size))
        cin = 2 * width                                  # concat
        for _ in range(2):
            size -= 2
            conv(cin, width, 3, size)
            cin = width
    conv(64, 2, 1, size)
    assert size == 388 and crops == [(64, 56), (136, 104), (280, 200), (568, 392)]
    net = load("unet")
    assert (net.totals.trainable_params, net.totals.macs) == (params, macs)
    assert net.totals.params == net.totals.trainable_params == 31_030_658     # the published count
    rows = rows_of(net)
    assert rows["classes"].output_shape == (2, 388, 388)
    assert rows["dec4.upconv"].output_shape == (512, 56, 56)
    assert rows["dec4.upconv"].params == 1024 * 512 * 2 * 2 + 512
    assert rows["dec4.crop"].output_shape == (512, 56, 56)              # enc4's 64x64, centre
    assert rows["dec4.concat"].output_shape == (1024, 56, 56)
    assert rows["dec1.crop"].output_shape == (64, 392, 392)             # enc1's 568x568


# Ultralytics' yolov8.yaml scales (depth, width, max_channels); its model summaries'
# "parameters" and "gradients" (the 16 fixed DFL weights are the difference); fused
# GFLOPs (2 x MACs) at 640 from its README table
YOLOV8 = {
    "n": (0.33, 0.25, 1024, 3_157_200, 3_157_184, 8.7),
    "s": (0.33, 0.50, 1024, 11_166_560, 11_166_544, 28.6),
    "m": (0.67, 0.75, 768, 25_902_640, 25_902_624, 78.9),
    "l": (1.00, 1.00, 512, 43_691_520, 43_691_504, 165.2),
    "x": (1.00, 1.25, 512, 68_229_648, 68_229_632, 257.8),
}


def _yolov8_count(depth, width, max_channels, classes=80, size=640):
    """Ultralytics' parse_model and modules, counted by hand: Conv = conv (no bias) +
    batchnorm; C2f(c1, c2, n) = Conv(c1, 2c) + n Bottlenecks of two 3x3 Convs at c +
    Conv((2 + n)c, c2), c = c2 / 2; SPPF(c1, c2) = Conv(c1, c1 / 2) + Conv(2 c1, c2);
    Detect: per level Conv 3x3, Conv 3x3, 1x1 conv with bias, for 64 box and `classes`
    class channels; the DFL's fixed 1x1 conv of 16 weights over (16, 4, A), A the anchors
    of the three levels. Returns trainable params, MACs and the non-trainable params
    (batchnorm running statistics and the DFL's 16)."""
    import math
    params = macs = buffers = 0

    def conv(c1, c2, k, out, bn=True):
        nonlocal params, macs, buffers
        params += c2 * c1 * k * k + (2 * c2 if bn else c2)
        buffers += 2 * c2 if bn else 0
        macs += c2 * c1 * k * k * out * out

    def ch(c):
        return math.ceil(min(c, max_channels) * width / 8) * 8

    def reps(n):
        return max(round(n * depth), 1)

    def c2f(c1, c2, n, out):
        c = c2 // 2
        conv(c1, 2 * c, 1, out)
        for _ in range(n):
            conv(c, c, 3, out)
            conv(c, c, 3, out)
        conv((2 + n) * c, c2, 1, out)

    s = size // 2
    conv(3, ch(64), 3, s)
    cin = ch(64)
    outs = {}
    for c, n in [(128, 3), (256, 6), (512, 6), (1024, 3)]:
        s //= 2
        conv(cin, ch(c), 3, s)
        c2f(ch(c), ch(c), reps(n), s)
        cin = outs[c] = ch(c)
    conv(cin, cin // 2, 1, s)                                    # SPPF
    conv(cin // 2 * 4, ch(1024), 1, s)
    p5 = ch(1024)
    c2f(p5 + ch(512), ch(512), reps(3), 2 * s)                  # up, cat P4
    h4 = ch(512)
    c2f(h4 + ch(256), ch(256), reps(3), 4 * s)                  # up, cat P3
    p3 = ch(256)
    conv(p3, ch(256), 3, 2 * s)
    c2f(ch(256) + h4, ch(512), reps(3), 2 * s)
    conv(ch(512), ch(512), 3, s)
    c2f(ch(512) + p5, ch(1024), reps(3), s)
    box, cls = max(16, p3 // 4, 64), max(p3, min(classes, 100))
    for x, out in [(p3, 4 * s), (ch(512), 2 * s), (ch(1024), s)]:
        for c in (box, cls):
            conv(x, c, 3, out)
            conv(c, c, 3, out)
        conv(box, 64, 1, out, bn=False)
        conv(cls, classes, 1, out, bn=False)
    anchors = (4 * s) ** 2 + (2 * s) ** 2 + s ** 2
    buffers += 16                                                # DFL: arange(16), requires_grad False
    macs += 16 * 4 * anchors
    return params, macs, buffers


@pytest.mark.parametrize("scale", sorted(YOLOV8))
def test_yolov8_scales_against_ultralytics_and_an_independent_count(scale):
    depth, width, max_channels, published, gradients, gflops = YOLOV8[scale]
    net = netc.load(EXAMPLES / "yolov8.yaml",
                    params={"depth": depth, "width": width, "max_channels": max_channels})
    totals = net.totals
    assert published - gradients == 16                # the DFL's fixed 1x1 conv
    assert totals.trainable_params == gradients
    fixed = [r for r in net.layers if r.op == "conv" and not r.node.params["trainable"]]
    assert [(r.name, r.params, r.buffers) for r in fixed] == [("dfl.conv", 16, 16)]
    assert totals.trainable_params + fixed[0].params == published
    assert (totals.trainable_params, totals.macs, totals.non_trainable_params) == \
        _yolov8_count(depth, width, max_channels)
    if scale == "l":      # 165.15 against 165.2: docs/zoo.md
        assert abs(2 * totals.macs / 1e9 - gflops) < 0.06
    else:
        assert round(2 * totals.macs / 1e9, 1) == gflops


def test_yolov8n_rows():
    net = load("yolov8")
    rows = rows_of(net)
    assert [net.analysis.shapes()[o] for o in net.graph.outputs] == [(84, 8400)]   # xywh + 80 classes
    assert rows["detect3.boxes"].output_shape == (64, 6400) and rows["detect5.scores"].output_shape == (80, 400)
    assert rows["boxes"].output_shape == (64, 80 * 80 + 40 * 40 + 20 * 20)
    assert rows["dfl.transpose"].output_shape == (16, 4, 8400)          # the bins first, then softmax
    assert rows["dfl.conv"].params == rows["dfl.conv"].buffers == 16    # fixed: non-trainable
    assert rows["dfl.conv"].macs == 16 * 4 * 8400
    assert rows["dbox.xywh"].output_shape == (4, 8400)
    assert rows["p5.cat"].output_shape == (4 * 128, 20, 20)                 # SPPF: cv1 and three pools
    assert rows["p5.m3"].output_shape == (128, 20, 20)                      # k5 s1 p2 keeps the size
    assert rows["p3.cv2.conv"].params == 64 * (2 + 2) * 32                  # C2f n = round(6 * 0.33) = 2
    assert rows["p3.step.1.m.add1"].op == "add" and "h4.step.0.m.add1" not in rows   # shortcut only in the backbone
    assert rows["cat1"].output_shape == (256 + 128, 40, 40)
    assert rows["detect3.box3"].params == 64 * 64 + 64
    assert rows["detect3.cls3"].params == 80 * 80 + 80


def test_m5_against_the_tutorials_count():
    """M5 as the PyTorch audio tutorial builds it (class M5: n_input 1, n_channel 32, stride 16,
    n_output 35) on one second at 8 kHz, counted per layer from PyTorch's Conv1d (weight
    (K, C, k) and a bias), BatchNorm1d (weight and bias trainable, mean and variance buffers),
    MaxPool1d(4) and Linear; lengths by L_out = floor((L - k)/S) + 1."""
    params = macs = buffers = 0
    length, cin = 8000, 1
    for cout, k, stride in ((32, 80, 16), (32, 3, 1), (64, 3, 1), (64, 3, 1)):
        length = (length - k) // stride + 1
        params += cout * cin * k + cout + 2 * cout         # conv + BatchNorm1d affine
        buffers += 2 * cout
        macs += cout * cin * k * length
        length //= 4                                       # MaxPool1d(4)
        cin = cout
    assert length == 1
    params += 64 * 35 + 35                                 # fc1 after the average over time
    macs += 64 * 35
    assert params == 26_915                                # the tutorial's "Number of parameters: 26915"
    net = load("m5")
    assert (net.totals.trainable_params, net.totals.non_trainable_params, net.totals.macs) == \
        (params, buffers, macs)
    rows = rows_of(net)
    assert rows["unit1.conv"].output_shape == (32, 496) and rows["unit2.pool"].output_shape == (32, 30)
    assert rows["fc1"].output_shape == (35,)


def test_unet3d_against_the_papers_count():
    """The 3-D U-Net of Cicek et al. 2016, Figure 1: valid 3x3x3 convs with biases, each with
    batch normalization; 2x2x2 pools; 2x2x2 stride-2 up-convolutions keeping their channels,
    without bias; centre crops; a 1x1x1 conv to 3 labels. Sides (depth, height, width)
    followed through every layer from the 132 x 132 x 116 tile."""
    params = macs = bn = 0

    def conv(cin, cout, k, out):
        nonlocal params, macs, bn
        params += cout * cin * k ** 3 + cout
        macs += cout * cin * k ** 3 * math.prod(out)
        bn += cout if k == 3 else 0

    size, cin, skips = (116, 132, 132), 3, []
    for first, second in ((32, 64), (64, 128), (128, 256), (256, 512)):
        for cout in (first, second):
            size = tuple(n - 2 for n in size)
            conv(cin, cout, 3, size)
            cin = cout
        if second < 512:
            skips.append((second, size))
            size = tuple(n // 2 for n in size)
    for width, skip_size in reversed(skips):
        params += cin * cin * 8                            # up-convolution, no bias
        macs += cin * cin * 8 * math.prod(size)
        size = tuple(2 * n for n in size)
        assert all((s - n) % 2 == 0 for s, n in zip(skip_size, size))    # a centred crop
        cin += width                                       # concat
        for _ in range(2):
            size = tuple(n - 2 for n in size)
            conv(cin, width, 3, size)
            cin = width
    conv(64, 3, 1, size)
    assert size == (28, 44, 44)                            # the paper's 44 x 44 x 28 output
    assert params == 19_069_955                            # "19069955 parameters in total"
    net = load("unet3d")
    assert net.totals.trainable_params == params + 2 * bn == 19_074_627   # BatchNorm3d's scale and shift
    assert net.totals.non_trainable_params == 2 * bn                      # running mean and variance
    assert net.totals.macs == macs
    rows = rows_of(net)
    assert rows["labels"].output_shape == (3, 28, 44, 44)
    assert rows["dec3.crop"].output_shape == (256, 14, 18, 18)


def _torch_counts(torch, model, x):
    """Trainable parameters, and the MACs of Conv1d/2d/3d, ConvTranspose and Linear by forward
    hooks (fvcore's convention: a conv's output elements times C_in/groups times its kernel;
    a transposed conv's input elements times C_out/groups times its kernel), on the meta
    device: shapes without arithmetic."""
    nn, macs = torch.nn, []

    def hook(m, inputs, out):
        if isinstance(m, nn.Linear):
            macs.append(m.in_features * m.out_features)
        elif isinstance(m, nn.modules.conv._ConvNd):
            k = math.prod(m.kernel_size)
            if m.transposed:
                macs.append(inputs[0][0].numel() * m.out_channels // m.groups * k)
            else:
                macs.append(out[0].numel() * m.in_channels // m.groups * k)

    for m in model.modules():
        m.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    return sum(p.numel() for p in model.parameters() if p.requires_grad), sum(macs)


@pytest.mark.slow
def test_m5_and_unet3d_against_torch_models():
    """The tutorial's M5 class and the 3-D U-Net of Figure 1 (BatchNorm3d, up-convolutions
    without bias), built in PyTorch: trainable parameters and MACs equal netc's."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class M5(nn.Module):                       # the PyTorch audio tutorial's, its forward
        def __init__(self, n_input=1, n_output=35, stride=16, n_channel=32):
            super().__init__()
            c = n_channel
            self.units = nn.Sequential(*(nn.Sequential(nn.Conv1d(a, b, k, stride=s), nn.BatchNorm1d(b), nn.ReLU(),
                                                       nn.MaxPool1d(4))
                                         for a, b, k, s in ((n_input, c, 80, stride), (c, c, 3, 1), (c, 2 * c, 3, 1),
                                                            (2 * c, 2 * c, 3, 1))))
            self.fc1 = nn.Linear(2 * c, n_output)

        def forward(self, x):
            x = self.units(x)
            x = nn.functional.avg_pool1d(x, x.shape[-1]).permute(0, 2, 1)
            return nn.functional.log_softmax(self.fc1(x), dim=2)

    def conv_bn_relu(a, b):
        return nn.Sequential(nn.Conv3d(a, b, 3), nn.BatchNorm3d(b), nn.ReLU())

    class UNet3D(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.ModuleList(nn.Sequential(conv_bn_relu(a, b), conv_bn_relu(b, 2 * b))
                                     for a, b in ((3, 32), (64, 64), (128, 128), (256, 256)))
            self.up = nn.ModuleList(nn.ConvTranspose3d(c, c, 2, stride=2, bias=False) for c in (512, 256, 128))
            self.dec = nn.ModuleList(nn.Sequential(conv_bn_relu(c + c // 2, c // 2), conv_bn_relu(c // 2, c // 2))
                                     for c in (512, 256, 128))
            self.labels = nn.Conv3d(64, 3, 1)

        def forward(self, x):
            skips = []
            for i, level in enumerate(self.enc):
                x = level(x)
                if i < 3:
                    skips.append(x)
                    x = nn.functional.max_pool3d(x, 2)
            for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
                x = up(x)
                cut = [(s - n) // 2 for s, n in zip(skip.shape[2:], x.shape[2:])]
                skip = skip[:, :, cut[0]:cut[0] + x.shape[2], cut[1]:cut[1] + x.shape[3], cut[2]:cut[2] + x.shape[4]]
                x = dec(torch.cat([skip, x], 1))
            return self.labels(x)

    for name, model, shape in (("m5", M5(), (1, 1, 8000)), ("unet3d", UNet3D(), (1, 3, 116, 132, 132))):
        model = model.to("meta").eval()
        params, macs = _torch_counts(torch, model, torch.empty(shape, device="meta"))
        net = load(name)
        assert (net.totals.trainable_params, net.totals.macs) == (params, macs), name
