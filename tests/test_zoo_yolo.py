"""The YOLO files of the zoo (examples/yolov8.yaml, examples/yolo11n.yaml) with the whole
Detect head, decode included, against Ultralytics.

Three kinds of proof:
- published totals (Ultralytics' model summaries: parameters and gradients, the 16 fixed
  DFL weights the difference) and an independent count of each file, Ultralytics'
  modules counted by hand (tests/test_zoo.py's ``_yolov8_count``, ``_yolo11_count`` here);
- Ultralytics' own per-module numbers, measured once with ultralytics 8.4.190 and torch
  (``sum(p.numel() for p in model.model[i].parameters())``, and forward hooks on every
  Conv2d plus the attention's ``@`` for MACs at 640; docs/zoo.md gives the script), compared
  with the file's rows grouped by the module they belong to (the grouping written here);
- where the real exports exist (/tmp/netc-exports, made by the issue-18 corpus script; too
  large to commit), the file with ``fused=true`` at 320 against netc's reading of
  Ultralytics' ``model.export(format='onnx')`` and of ``torch.onnx.export``: every conv
  paired by its Ultralytics module path, params and MACs equal pair by pair, and totals.
"""

import json
import math
from pathlib import Path

import pytest

import netc
from conftest import EXAMPLES, run_netc

EXPORTS = Path("/tmp/netc-exports")


def torch_params(row) -> int:
    """What PyTorch's ``parameters()`` holds for a row: trainable and fixed weights, not
    batchnorm's running statistics (buffers)."""
    return row.params - (row.buffers if row.op == "batchnorm" else 0)


def by_module(net, modules: dict[int, list[str]]) -> tuple[list[int], list[int]]:
    """Params (as PyTorch counts them) and MACs per Ultralytics module index, from the rows
    whose top-level layer is one of the module's names."""
    owner = {name: i for i, names in modules.items() for name in names}
    params, macs = [0] * len(modules), [0] * len(modules)
    for r in net.layers:
        if r.name == "input":
            continue
        i = owner[r.name.split(".")[0]]          # every row belongs to a module: KeyError if not
        params[i] += torch_params(r)
        macs[i] += r.macs
    return params, macs


# -- the fixed-weight conv (the DFL) -------------------------------------------------------

DFL = """
netc: 1
input: {shape: [64, 100]}
layers:
  - reshape: {shape: [4, 16, -1]}
  - permute: {dims: [0, 2, 1, 3]}
  - softmax: {axis: 1}
  - conv: {name: dfl, filters: 1, kernel: 1, bias: false, trainable: false, init: arange}
  - reshape: {shape: [4, -1]}
"""


def test_a_fixed_conv_counts_its_weights_as_non_trainable():
    net = netc.loads(DFL)
    row = {r.name: r for r in net.layers}["dfl"]
    assert (row.params, row.buffers, row.trainable, row.macs) == (16, 16, 0, 16 * 4 * 100)
    assert (net.totals.params, net.totals.trainable_params, net.totals.non_trainable_params) == (16, 0, 16)
    assert net.memory().gradients == 0                      # nothing to train
    trained = netc.loads(DFL.replace("trainable: false, ", ""))
    assert trained.totals.trainable_params == 16 and trained.totals.macs == net.totals.macs


def test_a_fixed_conv_builds_arange_and_computes_the_expected_bin(tmp_path):
    """The build writes the weights 0..15; onnxruntime then gives, per box side, the
    expectation of the softmax over the 16 bins, as Ultralytics' DFL does."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    src = tmp_path / "dfl.yaml"
    src.write_text(DFL)
    out = tmp_path / "dfl.onnx"
    r = run_netc("build", str(src), "-o", str(out))
    assert r.returncode == 0, r.stderr
    model = onnx.load(str(out))
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    assert weights["dfl.weight"].shape == (1, 16, 1, 1)
    assert weights["dfl.weight"].ravel().tolist() == list(range(16))
    x = np.random.default_rng(0).standard_normal((2, 64, 100)).astype(np.float32)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    bins = x.reshape(2, 4, 16, 100)
    p = np.exp(bins - bins.max(axis=2, keepdims=True))
    p /= p.sum(axis=2, keepdims=True)
    expected = (p * np.arange(16, dtype=np.float32)[None, None, :, None]).sum(axis=2)
    assert y.shape == (2, 4, 100)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_a_fixed_conv_is_a_frozen_module_in_pytorch_source():
    from netc.torch.source import generate

    gen = generate(netc.loads(DFL))
    assert "self.dfl.weight.data.copy_(torch.arange(self.dfl.weight.numel()).view_as(self.dfl.weight))" \
        in gen.text
    assert "self.dfl.requires_grad_(False)" in gen.text
    [entry] = gen.entries
    assert (entry.key, entry.shape, entry.init, entry.buffer) == ("dfl.weight", (1, 16, 1, 1), "arange", True)
    compile(gen.text, "dfl.py", "exec")


def test_trainable_takes_true_or_false_only(write):
    r = run_netc("lint", str(write(DFL.replace("trainable: false", "trainable: 0"))))
    assert r.returncode == 1
    assert "trainable" in r.stdout + r.stderr and "Traceback" not in r.stderr


# -- YOLOv8n: per Ultralytics module --------------------------------------------------------

# Ultralytics' layer index -> the top-level layers of examples/yolov8.yaml that build it
YOLOV8_MODULES = {
    0: ["stem"], 1: ["down2"], 2: ["c2f2"], 3: ["down3"], 4: ["p3"], 5: ["down4"], 6: ["p4"],
    7: ["down5"], 8: ["c2f8"], 9: ["p5"], 10: ["up1"], 11: ["cat1"], 12: ["h4"], 13: ["up2"],
    14: ["cat2"], 15: ["out3"], 16: ["down6"], 17: ["cat3"], 18: ["out4"], 19: ["down7"],
    20: ["cat4"], 21: ["out5"],
    22: ["detect3", "detect4", "detect5", "boxes", "scores", "dfl", "dbox", "pixels", "probs",
         "detections"],
}
# ultralytics 8.4.190, YOLO('yolov8n.yaml').model, input 1x3x640x640
YOLOV8N_PARAMS = [464, 4672, 7360, 18560, 49664, 73984, 197632, 295424, 460288, 164608, 0, 0, 148224, 0,
                  0, 37248, 36992, 0, 123648, 147712, 0, 493056, 897664]
YOLOV8N_MACS = [44236800, 117964800, 183500800, 117964800, 314572800, 117964800, 314572800, 117964800,
                183500800, 65536000, 0, 0, 235929600, 0, 0, 235929600, 58982400, 0, 196608000, 58982400,
                0, 196608000, 1811174400]


def test_yolov8n_per_module_params_and_macs_are_ultralytics():
    net = netc.load(EXAMPLES / "yolov8.yaml")
    assert by_module(net, YOLOV8_MODULES) == (YOLOV8N_PARAMS, YOLOV8N_MACS)
    assert sum(YOLOV8N_PARAMS) == 3_157_200 and sum(YOLOV8N_MACS) == net.totals.macs == 4_371_993_600
    assert round(2 * net.totals.macs / 1e9, 1) == 8.7                  # the published GFLOPs


def test_yolov8n_detect_head_by_hand():
    """Detect(nc 80, ch (64, 128, 256)) at 640: c2 = max(16, 64 // 4, 64) = 64, c3 =
    max(64, 80) = 80; per level Conv(x, 64, 3) Conv(64, 64, 3) Conv2d(64, 64, 1) and
    Conv(x, 80, 3) Conv(80, 80, 3) Conv2d(80, 80, 1); the DFL's 16 over 8400 anchors."""
    params = macs = 0
    for x, side in ((64, 80), (128, 40), (256, 20)):
        for c, out in ((64, 64), (80, 80)):
            for cin, cout, k, bn in ((x, c, 3, True), (c, c, 3, True), (c, out, 1, False)):
                params += cout * cin * k * k + (2 * cout if bn else cout)
                macs += cout * cin * k * k * side * side
    anchors = 80 * 80 + 40 * 40 + 20 * 20
    params += 16
    macs += 16 * 4 * anchors
    assert (params, macs) == (YOLOV8N_PARAMS[22], YOLOV8N_MACS[22])


def test_yolov8_fused_is_the_conv_with_a_bias():
    plain, fused = netc.load(EXAMPLES / "yolov8.yaml"), netc.load(EXAMPLES / "yolov8.yaml", params={"fused": True})
    rows = {r.name: r for r in fused.layers}
    assert "stem.bn" not in rows and rows["stem.conv"].params == 16 * 3 * 9 + 16
    # folding removes half of each batchnorm's trainable pair (scale and shift -> bias)
    # and its running statistics; the MACs do not change
    bn = sum(r.output_shape[0] for r in plain.layers if r.op == "batchnorm")
    assert fused.totals.trainable_params == plain.totals.trainable_params - bn
    assert fused.totals.non_trainable_params == 16
    assert fused.totals.macs == plain.totals.macs


# -- YOLO11n -------------------------------------------------------------------------------

# Ultralytics' yolo11.yaml scales (depth, width, max_channels, C3k2 unit where the yaml says
# c3k False: parse_model makes it C3k at m, l, x); its model summaries' parameters and gradients
YOLO11 = {
    "n": (0.50, 0.25, 1024, "bottleneck", 2_624_080, 2_624_064),
    "s": (0.50, 0.50, 1024, "bottleneck", 9_458_752, 9_458_736),
    "m": (0.50, 1.00, 512, "c3k", 20_114_688, 20_114_672),
    "l": (1.00, 1.00, 512, "c3k", 25_372_160, 25_372_144),
    "x": (1.00, 1.50, 512, "c3k", 56_966_176, 56_966_160),
}


def _yolo11_count(depth, width, max_channels, small, classes=80, size=640):
    """Ultralytics' parse_model and modules (8.4), counted by hand: Conv(c1, c2, k, g) =
    conv (no bias) + batchnorm; C3k2(c1, c2, n, c3k, e) = Conv(c1, 2c) + n units +
    Conv((2 + n)c, c2), c = int(c2 e), the unit Bottleneck(c, c, e 0.5) = Conv(c, c/2, 3) +
    Conv(c/2, c, 3), or C3k(c, c, 2) = 2 Conv(c, c/2, 1) + 2 Bottleneck(c/2, c/2, e 1.0) +
    Conv(c, c, 1); SPPF(c1, c2) = Conv(c1, c1/2) + Conv(2 c1, c2); C2PSA(c1, c1, n) =
    Conv(c1, 2c) + n PSABlock(c) + Conv(2c, c1), c = c1/2, PSABlock(c) = Attention(c, h =
    c // 64) [qkv Conv(c, c + 2 h kd), pe Conv(c, c, 3, g c), proj Conv(c, c), kd =
    c / h / 2; matmuls h N N kd + h N N (c / h), N = H W] + Conv(c, 2c) + Conv(2c, c);
    Detect (legacy False): per level Conv(x, c2, 3) Conv(c2, c2, 3) Conv2d(c2, 64) and
    DWConv(x, x, 3) Conv(x, c3) DWConv(c3, c3, 3) Conv(c3, c3) Conv2d(c3, nc), plus the
    DFL's 16. Returns trainable params, MACs (convs and matmuls), non-trainable params."""
    params = macs = buffers = 0

    def conv(c1, c2, k, side, g=1, bn=True):
        nonlocal params, macs, buffers
        w = c2 * (c1 // g) * k * k
        params += w + (2 * c2 if bn else c2)
        buffers += 2 * c2 if bn else 0
        macs += w * side * side

    def ch(c):
        return math.ceil(min(c, max_channels) * width / 8) * 8

    def reps(n):
        return max(round(n * depth), 1)

    def bottleneck(c, hidden, side):
        conv(c, hidden, 3, side)
        conv(hidden, c, 3, side)

    def c3k2(c1, c2, n, c3k, side, e=0.5):
        c = int(c2 * e)
        conv(c1, 2 * c, 1, side)
        for _ in range(n):
            if c3k:
                h = c // 2
                conv(c, h, 1, side)
                conv(c, h, 1, side)
                bottleneck(h, h, side)
                bottleneck(h, h, side)
                conv(2 * h, c, 1, side)
            else:
                bottleneck(c, c // 2, side)
        conv((2 + n) * c, c2, 1, side)

    def c2psa(c1, n, side):
        nonlocal macs
        c = c1 // 2
        conv(c1, 2 * c, 1, side)
        for _ in range(n):
            heads = max(c // 64, 1)
            hd = c // heads
            kd = hd // 2
            conv(c, c + 2 * heads * kd, 1, side)
            conv(c, c, 3, side, g=c)
            conv(c, c, 1, side)
            tokens = side * side
            macs += heads * tokens * tokens * kd + heads * hd * tokens * tokens
            conv(c, 2 * c, 1, side)
            conv(2 * c, c, 1, side)
        conv(2 * c, c1, 1, side)

    small_c3k = small == "c3k"
    s = size // 2
    conv(3, ch(64), 3, s)
    s //= 2
    conv(ch(64), ch(128), 3, s)
    c3k2(ch(128), ch(256), reps(2), small_c3k, s, e=0.25)
    s //= 2
    conv(ch(256), ch(256), 3, s)
    c3k2(ch(256), ch(512), reps(2), small_c3k, s, e=0.25)
    p3 = ch(512)
    s //= 2
    conv(p3, ch(512), 3, s)
    c3k2(ch(512), ch(512), reps(2), True, s)
    p4 = ch(512)
    s //= 2
    conv(p4, ch(1024), 3, s)
    c3k2(ch(1024), ch(1024), reps(2), True, s)
    conv(ch(1024), ch(1024) // 2, 1, s)                            # SPPF
    conv(ch(1024) // 2 * 4, ch(1024), 1, s)
    c2psa(ch(1024), reps(2), s)
    p5 = ch(1024)
    c3k2(p5 + p4, ch(512), reps(2), small_c3k, 2 * s)               # up, cat P4
    h4 = ch(512)
    c3k2(h4 + p3, ch(256), reps(2), small_c3k, 4 * s)               # up, cat P3
    o3 = ch(256)
    conv(o3, ch(256), 3, 2 * s)
    c3k2(ch(256) + h4, ch(512), reps(2), small_c3k, 2 * s)
    o4 = ch(512)
    conv(o4, ch(512), 3, s)
    c3k2(ch(512) + p5, ch(1024), reps(2), True, s)
    o5 = ch(1024)
    box, cls = max(16, o3 // 4, 64), max(o3, min(classes, 100))
    for x, side in ((o3, 4 * s), (o4, 2 * s), (o5, s)):
        conv(x, box, 3, side)
        conv(box, box, 3, side)
        conv(box, 64, 1, side, bn=False)
        conv(x, x, 3, side, g=x)
        conv(x, cls, 1, side)
        conv(cls, cls, 3, side, g=cls)
        conv(cls, cls, 1, side)
        conv(cls, classes, 1, side, bn=False)
    anchors = (4 * s) ** 2 + (2 * s) ** 2 + s ** 2
    buffers += 16
    macs += 16 * 4 * anchors
    return params, macs, buffers


def load11(**params):
    return netc.load(EXAMPLES / "yolo11n.yaml", params=params or None)


@pytest.mark.parametrize("scale", sorted(YOLO11))
def test_yolo11_scales_against_ultralytics_and_an_independent_count(scale):
    depth, width, max_channels, small, published, gradients = YOLO11[scale]
    net = load11(depth=depth, width=width, max_channels=max_channels, small=small)
    totals = net.totals
    assert totals.trainable_params == gradients
    fixed = [r for r in net.layers if r.op == "conv" and not r.node.params["trainable"]]
    assert [(r.name, r.params) for r in fixed] == [("dfl.conv", 16)]
    assert totals.trainable_params + 16 == published
    assert (totals.trainable_params, totals.macs, totals.non_trainable_params) == \
        _yolo11_count(depth, width, max_channels, small)


# Ultralytics' layer index -> the top-level layers of examples/yolo11n.yaml that build it
YOLO11_MODULES = {
    0: ["stem"], 1: ["down2"], 2: ["c3k2_2"], 3: ["down3"], 4: ["p3"], 5: ["down4"], 6: ["p4"],
    7: ["down5"], 8: ["c3k2_8"], 9: ["sppf"], 10: ["p5"], 11: ["up1"], 12: ["cat1"], 13: ["h4"],
    14: ["up2"], 15: ["cat2"], 16: ["out3"], 17: ["down6"], 18: ["cat3"], 19: ["out4"], 20: ["down7"],
    21: ["cat4"], 22: ["out5"],
    23: ["detect3", "detect4", "detect5", "boxes", "scores", "dfl", "dbox", "pixels", "probs",
         "detections"],
}
# ultralytics 8.4.190, YOLO('yolo11n.yaml').model, input 1x3x640x640; MACs of Conv2d hooks,
# plus the attention's two matmuls in module 10 (30,720,000)
YOLO11N_PARAMS = [464, 4672, 6640, 36992, 26080, 147712, 87040, 295424, 346112, 164608, 249728, 0, 0,
                  111296, 0, 0, 32096, 36992, 0, 86720, 147712, 0, 378880, 464912]
YOLO11N_MACS = [44236800, 117964800, 163840000, 235929600, 163840000, 235929600, 137625600, 117964800,
                137625600, 65536000, 129484800, 0, 0, 176947200, 0, 0, 203161600, 58982400, 0, 137625600,
                58982400, 0, 150732800, 934841600]


def test_yolo11n_per_module_params_and_macs_are_ultralytics():
    net = load11()
    assert by_module(net, YOLO11_MODULES) == (YOLO11N_PARAMS, YOLO11N_MACS)
    assert sum(YOLO11N_PARAMS) == 2_624_080 and sum(YOLO11N_MACS) == net.totals.macs == 3_271_251_200


def test_yolo11n_attention_rows():
    """C2PSA at 20x20 (module 10): c = 128, 2 heads, head_dim 64, key_dim 32, N = 400."""
    rows = {r.name: r for r in load11().layers}
    a = "p5.m.0.attn"
    assert rows[f"{a}.qkv.conv"].params == 128 * 256 and rows[f"{a}.view"].output_shape == (2, 128, 400)
    assert [rows[f"{a}.{x}"].output_shape for x in ("q", "k", "v")] == [(2, 32, 400), (2, 32, 400), (2, 64, 400)]
    assert rows[f"{a}.scores"].output_shape == (2, 400, 400)
    assert rows[f"{a}.scores"].macs == 2 * 400 * 400 * 32                   # q^T k
    assert rows[f"{a}.mix"].output_shape == (2, 64, 400)
    assert rows[f"{a}.mix"].macs == 2 * 64 * 400 * 400                      # v attn^T
    assert rows[f"{a}.pe.conv"].params == 128 * 9                           # depthwise 3x3
    assert rows[f"{a}.out"].output_shape == rows[f"{a}.proj.conv"].output_shape == (128, 20, 20)
    assert "p5.m.0.ffn2.act" not in rows and "p5.m.0.ffn1.act" in rows      # ffn's second Conv: act=False
    assert rows["detect3.dw1.conv"].params == 64 * 9 and rows["detect3.cls1.conv"].params == 80 * 64
    assert rows["c3k2_2.step.0.m.cv1.conv"].params == 8 * 16 * 9            # c = 64 x 0.25, e 0.5 inside


# -- the real exports (not committed: 12 MB; docs/zoo.md records the run) -------------------

def export_rules_v8():
    """(YAML row, export node) for every conv of YOLOv8n: Ultralytics' module paths."""
    pairs = [("dfl.conv", "/model.22/dfl/conv/Conv")]
    for i, y in ((0, "stem"), (1, "down2"), (3, "down3"), (5, "down4"), (7, "down5"), (16, "down6"),
                 (19, "down7")):
        pairs.append((f"{y}.conv", f"/model.{i}/conv/Conv"))
    for i, y, n, shortcut in ((2, "c2f2", 1, True), (4, "p3", 2, True), (6, "p4", 2, True), (8, "c2f8", 1, True),
                              (12, "h4", 1, False), (15, "out3", 1, False), (18, "out4", 1, False),
                              (21, "out5", 1, False)):
        pairs += [(f"{y}.cv1.conv", f"/model.{i}/cv1/conv/Conv"), (f"{y}.cv2.conv", f"/model.{i}/cv2/conv/Conv")]
        unit = "m.m" if shortcut else "m"
        for j in range(n):
            for cv in ("cv1", "cv2"):
                pairs.append((f"{y}.step.{j}.{unit}.{cv}.conv", f"/model.{i}/m.{j}/{cv}/conv/Conv"))
    pairs += [("p5.cv1.conv", "/model.9/cv1/conv/Conv"), ("p5.cv2.conv", "/model.9/cv2/conv/Conv")]
    for level in range(3):
        d, m = f"detect{3 + level}", f"/model.22/cv{{}}.{level}/cv{{}}.{level}"
        for branch, names in ((2, ("box1", "box2", "box3")), (3, ("cls1", "cls2", "cls3"))):
            for k, name in enumerate(names):
                node = m.format(branch, branch) + (f".{k}/conv/Conv" if k < 2 else ".2/Conv")
                pairs.append((f"{d}.{name}" + (".conv" if k < 2 else ""), node))
    return pairs


def export_rules_v11():
    """(YAML row, export node) for every conv and matmul of YOLO11n."""
    pairs = [("dfl.conv", "/model.23/dfl/conv/Conv")]
    for i, y in ((0, "stem"), (1, "down2"), (3, "down3"), (5, "down4"), (7, "down5"), (17, "down6"),
                 (20, "down7")):
        pairs.append((f"{y}.conv", f"/model.{i}/conv/Conv"))
    for i, y, c3k in ((2, "c3k2_2", False), (4, "p3", False), (6, "p4", True), (8, "c3k2_8", True),
                      (13, "h4", False), (16, "out3", False), (19, "out4", False), (22, "out5", True)):
        pairs += [(f"{y}.cv1.conv", f"/model.{i}/cv1/conv/Conv"), (f"{y}.cv2.conv", f"/model.{i}/cv2/conv/Conv")]
        m = f"/model.{i}/m.0"
        if c3k:
            pairs += [(f"{y}.step.0.m.{cv}.conv", f"{m}/{cv}/conv/Conv") for cv in ("cv1", "cv2", "cv3")]
            pairs += [(f"{y}.step.0.m.m.{j}.{cv}.conv", f"{m}/m/m.{j}/{cv}/conv/Conv")
                      for j in range(2) for cv in ("cv1", "cv2")]
        else:
            pairs += [(f"{y}.step.0.m.{cv}.conv", f"{m}/{cv}/conv/Conv") for cv in ("cv1", "cv2")]
    pairs += [("sppf.cv1.conv", "/model.9/cv1/conv/Conv"), ("sppf.cv2.conv", "/model.9/cv2/conv/Conv")]
    a, m = "p5.m.0", "/model.10/m/m.0"
    pairs += [("p5.cv1.conv", "/model.10/cv1/conv/Conv"), ("p5.cv2.conv", "/model.10/cv2/conv/Conv"),
              (f"{a}.attn.qkv.conv", f"{m}/attn/qkv/conv/Conv"), (f"{a}.attn.pe.conv", f"{m}/attn/pe/conv/Conv"),
              (f"{a}.attn.proj.conv", f"{m}/attn/proj/conv/Conv"), (f"{a}.attn.scores", f"{m}/attn/MatMul"),
              (f"{a}.attn.mix", f"{m}/attn/MatMul_1"), (f"{a}.ffn1.conv", f"{m}/ffn/ffn.0/conv/Conv"),
              (f"{a}.ffn2.conv", f"{m}/ffn/ffn.1/conv/Conv")]
    for level in range(3):
        d, box, cls = f"detect{3 + level}", f"/model.23/cv2.{level}/cv2.{level}", f"/model.23/cv3.{level}/cv3.{level}"
        pairs += [(f"{d}.box1.conv", f"{box}.0/conv/Conv"), (f"{d}.box2.conv", f"{box}.1/conv/Conv"),
                  (f"{d}.box3", f"{box}.2/Conv"),
                  (f"{d}.dw1.conv", f"{cls}.0/{cls.split('/')[-1]}.0.0/conv/Conv"),
                  (f"{d}.cls1.conv", f"{cls}.0/{cls.split('/')[-1]}.0.1/conv/Conv"),
                  (f"{d}.dw2.conv", f"{cls}.1/{cls.split('/')[-1]}.1.0/conv/Conv"),
                  (f"{d}.cls2.conv", f"{cls}.1/{cls.split('/')[-1]}.1.1/conv/Conv"),
                  (f"{d}.cls3", f"{cls}.2/Conv")]
    return pairs


# the Detect head's decode, YAML row -> the node of Ultralytics' export (model.export), and
# the shape both give at 320 (2100 anchors)
DECODE = {
    "boxes": ("Concat", (64, 2100)), "scores": ("Concat_1", (80, 2100)),
    "dfl.bins": ("dfl/Reshape", (4, 16, 2100)), "dfl.transpose": ("dfl/Transpose", (16, 4, 2100)),
    "dfl.softmax": ("dfl/Softmax", (16, 4, 2100)), "dfl.dist": ("dfl/Reshape_1", (4, 2100)),
    "dbox.lt": ("Slice", (2, 2100)), "dbox.rb": ("Slice_1", (2, 2100)), "dbox.x1y1": ("Sub", (2, 2100)),
    "dbox.x2y2": ("Add_1", (2, 2100)), "dbox.sum": ("Add_2", (2, 2100)), "dbox.wh": ("Sub_1", (2, 2100)),
    "dbox.c_xy": ("Div_1", (2, 2100)), "dbox.xywh": ("Concat_2", (4, 2100)), "pixels": ("Mul_2", (4, 2100)),
    "probs": ("Sigmoid", (80, 2100)), "detections": ("Concat_3", (84, 2100)),
}

CASES = {   # export file -> (YAML file, its pairs, the Detect module's index, its ops checked)
    "yolov8n_ultralytics": ("yolov8.yaml", export_rules_v8, 22, True),
    "yolov8n_torchscript": ("yolov8.yaml", export_rules_v8, 22, False),
    "yolo11n_ultralytics": ("yolo11n.yaml", export_rules_v11, 23, True),
    "yolo11n_torchscript": ("yolo11n.yaml", export_rules_v11, 23, False),
}


def summary_json(*args) -> dict:
    r = run_netc("summary", *args, "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_yaml_and_the_real_export_give_the_same_layers(name):
    path = EXPORTS / f"{name}.onnx"
    if not path.exists():
        pytest.skip(f"{path} is absent: the issue-18 export corpus is made outside the repository "
                    "(12 MB each); docs/zoo.md records this comparison's figures")
    yaml_file, rules, detect, decode = CASES[name]
    meta = json.loads(path.with_suffix(".json").read_text())
    size = meta["input_shape"][2]
    ours = summary_json(str(EXAMPLES / yaml_file), "--set", "fused=true", "--input", f"3,{size},{size}")
    theirs = summary_json(str(path))
    mine = {r["name"]: r for r in ours["layers"]}
    export = {r["name"]: r for r in theirs["layers"]}
    pairs = rules()
    # the pairing covers every weighted layer of both sides, once
    weighted = {"conv", "matmul"}
    assert sorted(y for y, _ in pairs) == sorted(n for n, r in mine.items() if r["op"] in weighted)
    assert sorted(e for _, e in pairs) == sorted(n for n, r in export.items() if r["op"] in weighted)
    for y, e in pairs:
        assert (mine[y]["params"], mine[y]["macs"], mine[y]["output_shape"]) == \
            (export[e]["params"], export[e]["macs"], export[e]["output_shape"]), (y, e)
    if decode:
        for y, (node, shape) in DECODE.items():
            e = export[f"/model.{detect}/{node}"]
            assert mine[y]["op"] == e["op"] and tuple(mine[y]["output_shape"]) == tuple(e["output_shape"]) == shape, y
    # totals: params (the export's fused convs hold the folded batchnorm as a bias; ONNX
    # cannot say the DFL's 16 are fixed), MACs equal to PyTorch's forward hooks
    assert ours["totals"]["params"] == theirs["totals"]["params"]
    assert ours["totals"]["macs"] == theirs["totals"]["macs"] == meta["hook_macs"] + meta["matmul_macs"]
    assert ours["totals"]["flops"] == theirs["totals"]["flops"]
    assert ours["totals"]["non_trainable_params"] == 16
    anchors = (size // 8) ** 2 + (size // 16) ** 2 + (size // 32) ** 2
    assert ours["outputs"] == ["detections"] and mine["detections"]["output_shape"] == [84, anchors]


# -- the two spellings the YOLO files need to read no side of the input ---------------------

def test_reshape_to_the_shape_of_a_second_input_and_its_errors():
    net = netc.loads("""
netc: 1
input: {shape: [8, 4, 5]}
layers:
  - reshape: {name: heads, shape: [2, 4, -1]}
  - reshape: {name: back, from: [heads, input]}
""")
    rows = {r.name: r for r in net.layers}
    assert rows["heads"].output_shape == (2, 4, 20) and rows["back"].output_shape == (8, 4, 5)
    assert not net.graph.sides_read                     # no expression read a side: sizes stays closed
    with pytest.raises(netc.NetcError, match="not both"):
        netc.loads("netc: 1\ninput: {shape: [8, 4, 5]}\nlayers:\n  - reshape: {from: [input, input], shape: [160]}")
    with pytest.raises(netc.NetcError, match="160 elements against"):
        netc.loads("netc: 1\ninput: {shape: [8, 4, 5]}\nlayers:\n  - conv: {filters: 2, kernel: 1}\n"
                   "  - reshape: {from: [input, conv1]}")
    with pytest.raises(netc.NetcError, match="needs a shape"):
        netc.loads("netc: 1\ninput: {shape: [8, 4, 5]}\nlayers:\n  - reshape: {}")


def test_a_constant_operand_of_minus_one_takes_the_other_operands_size():
    net = netc.loads("""
netc: 1
input: {shape: [4, 300]}
layers:
  - slice: {name: lt, end: 2}
  - sub: {name: x1y1, by_shape: [2, -1], by_index: 0}
  - mul: {name: px, by_shape: [1, -1]}
""")
    rows = {r.name: r for r in net.layers}
    assert rows["x1y1"].output_shape == rows["px"].output_shape == (2, 300)
    assert rows["x1y1"].flops == 600 and not net.graph.sides_read
    with pytest.raises(netc.NetcError, match="-1 takes the size of the other operands"):
        netc.loads("netc: 1\ninput: {shape: [4, 1]}\nlayers:\n  - sub: {by_shape: [4, -1]}")
