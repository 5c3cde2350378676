"""netc.to_torch, netc torch and netc build --weights (netc/torch/).

The torch module of a network computes what netc's shapes and ONNX build compute:
each test builds the ONNX model from the module's own state_dict (every tensor
randomized, batchnorm statistics too, so that none hides behind an init of zeros or
ones) through ``--weights``' path and compares onnxruntime's output with the module's
in eval mode. The cross-framework edges the lint rules describe (ceil-mode pools,
count_include_pad, 'same' and asymmetric padding, output_padding past the stride)
each get a network of their own."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import netc
from conftest import EXAMPLES, ROOT, run_netc
from netc.diagnostics import BuildError
from netc.torch.source import generate

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")


def net_of(layers: list[str], shape, outputs=None, extra: str = ""):
    text = f"netc: 1\nname: t\ninput: {{shape: {list(shape)}}}\n{extra}layers:\n"
    text += "".join(f"  - {layer}\n" for layer in layers)
    if outputs:
        text += f"outputs: {outputs}\n"
    return netc.loads(text, "t.yaml")


def randomized(model, seed: int = 0) -> dict:
    """The module's state_dict with every float tensor changed: each weight of a layer by
    a tenth of its own spread (its scale kept: a 150-layer network stays finite), every
    vector (biases, batchnorm's and layernorm's affine, slopes) by N(0, 0.1^2), batchnorm's
    running means drawn from N(0, 0.1^2) and variances from U(0.5, 2), so that no tensor
    hides behind an init of zeros or ones."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, v in model.state_dict().items():
        noise = torch.randn(v.shape, generator=g) if v.is_floating_point() else None
        if noise is None:
            state[k] = v.clone()
        elif k.endswith("running_var"):
            state[k] = torch.rand(v.shape, generator=g) * 1.5 + 0.5
        elif k.endswith("running_mean"):
            state[k] = noise * 0.1
        elif v.dim() >= 2 and v.numel() > 1:
            state[k] = v + noise * 0.1 * v.std()
        else:
            state[k] = v + noise * 0.1
    model.load_state_dict(state)
    return state


def onnx_outputs(net, state: dict, x: np.ndarray, tmp_path: Path) -> list[np.ndarray]:
    """onnxruntime's outputs of the model built with ``state`` as its weights, through a
    .safetensors file as ``netc build --weights`` reads it."""
    from safetensors.torch import save_file

    from netc.onnx.build import build_model
    from netc.torch.weights import check_weights, read_weights, weight_source

    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    entries = generate(net).entries
    arrays = read_weights(path)
    check_weights(arrays, entries, path)
    model = build_model(net, weights=weight_source(arrays, entries))
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})


def agree(net, tmp_path, seed: int = 0, batch: int = 2) -> list:
    """Module and onnxruntime agree to 1e-4 of the output's scale; shapes are netc's."""
    model = netc.to_torch(net, seed=seed).eval()
    state = randomized(model, seed)
    x = np.random.default_rng(seed).standard_normal((batch, *net.graph.input_shape), dtype=np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x))
    ys = list(y) if isinstance(y, tuple) else [y]
    want = [(batch, *net.analysis.layer(o).output_shape) for o in net.graph.outputs]
    assert [tuple(t.shape) for t in ys] == want
    refs = onnx_outputs(net, state, x, tmp_path)
    for t, r in zip(ys, refs):
        assert np.isfinite(r).all() and torch.isfinite(t).all()
        scale = max(float(np.abs(r).max()), 1e-6)
        assert float(np.abs(t.numpy() - r).max()) <= 1e-4 * scale
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    fixed = sum(p.numel() for p in model.parameters() if not p.requires_grad)    # YOLO's DFL conv
    assert trainable == net.totals.trainable_params
    assert trainable + fixed + sum(b.numel() for n, b in model.named_buffers()
                                   if not n.endswith("num_batches_tracked")) == net.totals.params
    return ys


# -- the cross-framework edges -------------------------------------------------------------

EDGES = {
    # ceil mode: the last window starts inside the input (kept) or in the end padding (dropped,
    # as PyTorch and netc do; ONNX shape inference would keep it: A005)
    "maxpool_ceil": (["maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}"], (2, 10, 10)),
    "maxpool_ceil_dropped_window": (["maxpool: {kernel: 2, stride: 2, padding: 1, ceil_mode: true}"], (2, 8, 9)),
    # count_include_pad: netc's default false, PyTorch's true (A008); with a ceil-mode overhang,
    # PyTorch divides by the window clipped to the padded input
    "avgpool_pad_excluded": (["avgpool: {kernel: 3, stride: 2, padding: 1}"], (2, 9, 9)),
    "avgpool_pad_counted_ceil": (["avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true, "
                                  "count_include_pad: true}"], (2, 10, 10)),
    "avgpool_ceil_excluded": (["avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}"], (2, 10, 7)),
    # 'same' padding: the extra row at the end, an F.pad before PyTorch's layer
    "conv_same_even_kernel": (["conv: {filters: 4, kernel: 4, stride: 2, padding: same}"], (3, 11, 10)),
    "conv_same_dilated": (["conv: {filters: 4, kernel: 3, dilation: 2, stride: 3, padding: same}"], (3, 13, 12)),
    "maxpool_same": (["maxpool: {kernel: 2, stride: 2, padding: same}"], (2, 7, 9)),
    "maxpool_same_ceil": (["maxpool: {kernel: 3, stride: 2, padding: same, ceil_mode: true}"], (2, 8, 7)),
    "avgpool_same": (["avgpool: {kernel: 2, stride: 2, padding: same}"], (2, 7, 9)),
    "avgpool_same_counted": (["avgpool: {kernel: 4, stride: 3, padding: same, count_include_pad: true}"],
                             (2, 11, 10)),
    "avgpool_same_counted_ceil": (["avgpool: {kernel: 3, stride: 2, padding: same, ceil_mode: true, "
                                   "count_include_pad: true}"], (2, 8, 10)),
    # asymmetric padding through a pad layer; the pad modes
    "pad_modes": (["pad: {padding: [1, 2, 0, 3]}", "pad: {padding: [2, 1], mode: reflect}",
                   "pad: {padding: [0, 1, 2, 0], mode: replicate}", "pad: {padding: 1, value: 0.5}"], (2, 5, 6)),
    # output_padding up to the dilation, past the stride (onnxruntime refuses; netc lowers it)
    "conv_transpose_output_padding": (["conv_transpose: {filters: 3, kernel: 3, stride: 1, dilation: 2, "
                                       "output_padding: 1, padding: 1, activation: prelu}"], (2, 5, 6)),
    "conv_transpose_stride": (["conv_transpose: {filters: 4, kernel: 4, stride: 2, padding: 1, groups: 2}"],
                              (2, 5, 5)),
    "conv_groups_prelu": (["conv: {filters: 6, kernel: [3, 1], stride: [2, 1], padding: [1, 0], groups: 3, "
                           "activation: prelu, bias: false}", "batchnorm"], (3, 9, 8)),
    "activations": (["conv: {filters: 4, kernel: 1, activation: hardswish}", "hardsigmoid", "silu",
                     "gelu: {approximate: tanh}", "gelu", "mish", "leaky_relu: {slope: 0.2}", "relu6",
                     "tanh", "sigmoid", "prelu: {shared: true, slope: 0.1}", "prelu", "identity", "dropout: {rate: 0.3}", "lrn: {size: 3, k: 2.0}",
                     "softmax"], (2, 5, 5)),
    "dense_vector_ops": (["flatten", "dense: {units: 12, activation: prelu}", "batchnorm",
                          "layernorm", "scale: {value: 0.5, bias: true}",
                          "dense: {units: 5, activation: gelu_tanh, init: lecun_uniform}", "softmax"], (2, 3, 3)),
    "layernorm_map_scale": (["conv: {filters: 8, kernel: 3, padding: 1}", "layernorm: {eps: 1.0e-6}",
                             "scale: {value: 1.0e-3}", "layernorm: {affine: false}"], (3, 6, 6)),
    "se_gate_and_shapes": (["conv: {name: c, filters: 8, kernel: 3, padding: 1}", "global_avgpool",
                            "dense: {units: 8, activation: sigmoid}", "mul: {from: [c, dense1]}",
                            "add: {from: [mul1, dense1]}", "channel_shuffle: {groups: 2}",
                            "slice: {name: s, start: 2, end: 6}", "slice: {name: t, from: add1, start: 4}",
                            "concat: {from: [s, t, c]}", "global_maxpool: {keepdims: true}",
                            "mul: {from: [concat1, global_maxpool1, concat1]}"], (3, 6, 6)),
    "adaptive_and_global": (["adaptive_avgpool: {name: a, size: [3, 4]}", "adaptive_maxpool: {name: b, from: input, "
                             "size: 3}", "adaptive_avgpool: {name: d, from: input, size: 5}",
                             "global_maxpool: {name: g, from: input}", "global_avgpool: {name: h, from: input}"],
                            (2, 10, 9), "[a, b, d, g, h]"),
    "upsample_crop": (["upsample: {name: u, scale: 2}", "upsample: {name: v, scale: [1.5, 3], mode: bilinear}",
                       "upsample: {name: w, from: input, size: [7, 5], mode: bilinear, align_corners: true}",
                       "upsample: {name: r, from: [input, v]}", "crop: {name: k, from: [v, input]}",
                       "crop: {name: q, from: u, size: [3, 4]}", "concat: {from: [k, input]}"],
                      (2, 5, 4), "[u, v, w, r, q, concat1]"),
}


# 1-D and 3-D maps: the torch rules read the windows per axis (nn.Conv1d, nn.MaxPool3d, ...)
EDGES.update({
    "one_d": (["conv: {filters: 4, kernel: 5, stride: 2, padding: same, activation: prelu}", "batchnorm",
               "maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}",
               "avgpool: {kernel: 2, padding: same, count_include_pad: true}",
               "conv_transpose: {name: t, filters: 3, kernel: 3, stride: 2, padding: 1, output_padding: 1}",
               "upsample: {name: u, from: input, scale: 1.5, mode: linear}",
               "adaptive_avgpool: {name: a, from: t, size: 5}", "crop: {name: k, from: [u, t]}",
               "scale: {name: s, from: k, bias: true}", "layernorm: {name: n, from: s}",
               "global_maxpool: {name: g, from: t}", "global_avgpool: {name: v, from: a, keepdims: true}"],
              (3, 19), "[n, g, v]"),
    "three_d": (["conv: {filters: 4, kernel: [3, 1, 2], stride: [1, 2, 1], padding: [1, 0, 1], "
                 "dilation: [2, 1, 1], groups: 2, activation: prelu}", "batchnorm",
                 "maxpool: {kernel: 2, padding: same}",
                 "avgpool: {kernel: [1, 2, 2], stride: 1, padding: [0, 1, 1]}",
                 "conv_transpose: {name: t, filters: 2, kernel: [2, 3, 3], stride: 2, padding: [0, 1, 1], "
                 "activation: prelu}",
                 "upsample: {name: u, from: input, scale: [1, 2, 1.5], mode: trilinear, align_corners: true}",
                 "adaptive_maxpool: {name: a, from: t, size: [2, 3, 4]}", "crop: {name: k, from: [u, t]}",
                 "instancenorm: {name: i, from: k, affine: true}", "global_avgpool: {name: v, from: a}"],
                (2, 5, 6, 7), "[i, v]"),
})

# the tensor ops of any rank
EDGES.update({
    "tensor_ops": (["conv: {name: c, filters: 8, kernel: 3, padding: 1}", "groupnorm: {groups: 4, eps: 1.0e-3}",
                    "reshape: {shape: [2, 4, 36]}", "permute: {name: p, dims: [0, 1, 3, 2]}",
                    "matmul: {name: m, from: [p, reshape1]}", "reduce_mean: {axes: [-1], keepdims: true}",
                    "sub: {by: 0.5, by_index: 0}", "sub: {from: [m, sub1]}", "div: {by_shape: [36, 1], by: 3}",
                    "pow: {by: 2}", "sqrt", "exp", "log", "neg", "abs", "erf", "clip: {min: -0.5, max: 0.9}",
                    "minimum: {from: [clip1, m], by: 0.7}", "maximum: {from: [minimum1, m]}",
                    "where: {from: [maximum1, m], by: -1}", "add: {from: [where1, m], by: 1.5}",
                    "mul: {by_shape: [2], by: 2}", "squeeze: {name: q, from: reduce_mean1}",
                    "unsqueeze: {name: z, from: q, axes: [2]}", "expand: {from: z, shape: [2, 5, 36]}",
                    "reduce_sum: {name: r1, from: mul1, axes: [1, 3]}", "reduce_max: {name: r2, from: mul1}",
                    "reduce_min: {name: r3, from: mul1, axes: [2], keepdims: true}",
                    "reduce_l2: {name: r4, from: mul1, axes: [-2]}",
                    "log_softmax: {name: ls, from: mul1, axis: 2}", "softmax: {name: sm, from: mul1, axis: -1}",
                    "gather: {name: ga, from: mul1, indices: [3, -1, 0], axis: 3}",
                    "gather: {name: gb, from: mul1, indices: 1, axis: 1}",
                    "slice: {name: sl, from: c, axis: 2, start: 1, end: 6, step: 2}",
                    "flatten: {name: fl, from: c, start: 2, end: 3}",
                    "concat: {name: ct, from: [c, c], axis: -1}"],
                   (3, 6, 6), "[expand1, r1, r2, r3, r4, ls, sm, ga, gb, sl, fl, ct]"),
})


@pytest.mark.parametrize("name", sorted(EDGES))
def test_the_module_computes_what_netc_and_onnx_compute(name, tmp_path):
    layers, shape, *outputs = EDGES[name]
    agree(net_of(layers, shape, outputs[0] if outputs else None), tmp_path)


def test_ceil_mode_drops_the_window_that_starts_in_the_padding():
    """8 rows, kernel 2, stride 2, padding 1, ceil: 5 windows by ceil alone, the last starting
    in the end padding: PyTorch and netc give 5 only when it starts inside (9 columns), else 4."""
    net = net_of(["maxpool: {kernel: 2, stride: 2, padding: 1, ceil_mode: true}"], (1, 8, 9))
    out = netc.to_torch(net)(torch.zeros(1, 1, 8, 9))
    assert tuple(out.shape[2:]) == net.analysis.layers[0].output_shape[1:] == (5, 5)


def test_count_include_pad_follows_netc_not_pytorch_s_default():
    """A constant map of ones: netc's default excludes the padding, so every mean is 1;
    PyTorch's default (count_include_pad=True) would give 4/9 in the corners."""
    net = net_of(["avgpool: {kernel: 3, stride: 1, padding: 1}"], (1, 4, 4))
    y = netc.to_torch(net)(torch.ones(1, 1, 4, 4))
    assert torch.allclose(y, torch.ones_like(y))
    counted = net_of(["avgpool: {kernel: 3, stride: 1, padding: 1, count_include_pad: true}"], (1, 4, 4))
    assert float(netc.to_torch(counted)(torch.ones(1, 1, 4, 4))[0, 0, 0, 0]) == pytest.approx(4 / 9)


def test_same_padding_puts_the_extra_row_at_the_end():
    net = net_of(["conv: {filters: 1, kernel: 2, padding: same, bias: false, init: ones}"], (1, 3, 3))
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    y = netc.to_torch(net)(x)
    # the last row and column sum with the zero padding after them, not before
    assert y[0, 0].tolist() == [[8.0, 12.0, 7.0], [20.0, 24.0, 13.0], [13.0, 15.0, 8.0]]


# -- the module itself --------------------------------------------------------------------

def test_module_names_are_the_layer_names_and_the_weights_netc_build_s():
    from onnx import numpy_helper

    from netc.onnx.build import build_model

    net = netc.load(EXAMPLES / "resnet18.yaml", input_shape=(3, 32, 32))
    model = netc.to_torch(net, seed=7)
    names = dict(model.named_modules())
    assert type(names["layer1"]).__name__ == "ModuleList"
    assert type(names["layer2.rest.0.branch.conv1"]).__name__ == "Conv2d"
    state = model.state_dict()
    onnx_model = build_model(net, seed=7)
    for t in onnx_model.graph.initializer:
        assert np.array_equal(state[t.name].numpy().reshape(t.dims), numpy_helper.to_array(t)), t.name
    assert {k for k in state if not k.endswith("num_batches_tracked")} == \
        {t.name for t in onnx_model.graph.initializer}
    assert [e.key for e in generate(net).entries] == list(state)
    assert [e.shape for e in generate(net).entries] == [tuple(v.shape) for v in state.values()]


def test_several_outputs_are_a_tuple_and_blocks_nest(tmp_path):
    text = """netc: 1
name: two
input: {shape: [3, 8, 8]}
blocks:
  pair:
    params: {w: null}
    outputs: [a, b]
    layers:
      - conv: {name: a, filters: w, kernel: 3, padding: 1, activation: relu}
      - conv: {name: b, filters: w, kernel: 3, stride: 2, padding: 1}
  unit:
    layers:
      - conv: {filters: 4, kernel: 3, padding: 1}
      - relu
layers:
  - pair: {name: p, w: 4}
  - pair: {name: q, from: p.a, w: 4}
  - add: {name: s, from: [p.b, q.b]}
  - unit: {name: u, repeat: 2}
outputs: [q.a, u]
"""
    net = netc.loads(text, "two.yaml")
    ys = agree(net, tmp_path)
    assert len(ys) == 2
    model = netc.to_torch(net)
    assert {"q.b.weight", "u.1.conv1.weight"} <= set(model.state_dict())
    assert type(model.u).__name__ == "ModuleList"


def test_an_op_without_a_torch_rule_is_an_error_naming_it(monkeypatch):
    from netc.ops.lrn import LRN
    from netc.ops.registry import Op

    monkeypatch.setattr(LRN, "torch", Op.torch)
    net = net_of(["lrn: {size: 3}"], (2, 4, 4))
    with pytest.raises(BuildError, match="lrn1: op 'lrn' has no PyTorch rule"):
        generate(net)


@pytest.mark.parametrize("name", ["forward", "training", "lambda"])
def test_a_layer_name_pytorch_cannot_take_is_refused(name):
    with pytest.raises(BuildError, match=f"the name '{name}' is"):
        netc.to_torch(net_of([f"relu: {{name: {name}}}"], (1, 2, 2)))


def test_to_torch_takes_a_path_with_overrides_and_refuses_onnx_models():
    model = netc.to_torch(EXAMPLES / "lenet5.yaml", params=None, input_shape=(1, 32, 32))
    assert type(model).__name__ == "Lenet5"
    with pytest.raises(netc.OverrideError):
        netc.to_torch(netc.load(ROOT / "tests/data/torch_fixtures/resnet_basic.ts.onnx"))


def test_the_written_source_needs_no_netc_and_equals_to_torch(tmp_path):
    out = tmp_path / "model.py"
    r = run_netc("torch", str(EXAMPLES / "mobilenet_v3_large.yaml"), "--input", "3,64,64", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "netc" not in text.split('"""', 2)[2]              # no import of netc, only the docstring names it
    probe = ("import sys, torch, importlib.util\nsys.modules['netc'] = None\n"
             f"spec = importlib.util.spec_from_file_location('m', {str(out)!r})\n"
             "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
             "print(sum(p.numel() for p in m.MobilenetV3Large().parameters()))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r2 = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                        timeout=300)
    assert r2.returncode == 0, r2.stderr
    net = netc.load(EXAMPLES / "mobilenet_v3_large.yaml", input_shape=(3, 64, 64))
    assert int(r2.stdout) == net.totals.trainable_params
    spec = importlib.util.spec_from_file_location("written_model", out)
    written = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(written)
    live = netc.to_torch(net).eval()
    randomized(live, 3)
    model = written.MobilenetV3Large().eval()
    model.load_state_dict(live.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), live(x))


def test_one_class_per_block_with_the_block_s_parameters_as_arguments(tmp_path):
    """ResNet-50's source: one class per block, built with its parameters (the stride of the
    first block of a stage an argument, not a second class); the instances of a repeat a
    loop; the written module equals to_torch's, and a class builds a variant of its own."""
    out = tmp_path / "resnet50.py"
    r = run_netc("torch", str(EXAMPLES / "resnet50.yaml"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    classes = [line.split("(")[0][6:] for line in text.splitlines() if line.startswith("class ")]
    assert classes == ["Residual", "BottleneckProjected", "Bottleneck", "Stage", "Resnet50"]
    assert "    def __init__(self, width, blocks, stride, in_channels):" in text
    assert "        self.layer2 = Stage(width=128, blocks=4, stride=2, in_channels=256)" in text
    assert "self.rest = nn.ModuleList(Bottleneck(width=width, in_channels=width * 4) for _ in range(blocks - 1))" \
        in text
    assert "        for block in self.rest:\n            rest = block(rest)" in text
    spec = importlib.util.spec_from_file_location("written_resnet50", out)
    written = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(written)
    net = netc.load(EXAMPLES / "resnet50.yaml", input_shape=(3, 64, 64))
    live = netc.to_torch(net).eval()
    randomized(live, 5)
    model = written.Resnet50().eval()
    assert list(model.state_dict()) == list(live.state_dict())
    model.load_state_dict(live.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), live(x))
        # a stage the file does not have: 2 blocks of width 32 on 48 channels, stride 2
        y = written.Stage(width=32, blocks=2, stride=2, in_channels=48)(torch.randn(1, 48, 16, 16))
    assert tuple(y.shape) == (1, 128, 8, 8)


def load_written(text: str, name: str, tmp_path):
    out = tmp_path / f"{name}.py"
    out.write_text(text)
    spec = importlib.util.spec_from_file_location(name, out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_if_layers_are_constructor_arguments_in_one_class(tmp_path):
    """MobileNetV2's inverted residual with and without its `if:` layers (the expansion where
    t != 1, the shortcut where the stride is 1 and the widths agree) is one class: its
    constructor decides each condition as the file states it and builds the expansion only
    where it holds; the written module equals to_torch's, bit for bit."""
    net = netc.load(EXAMPLES / "mobilenet_v2.yaml", input_shape=(3, 64, 64))
    gen = generate(net)
    classes = [line.split("(")[0][6:] for line in gen.text.splitlines() if line.startswith("class ")]
    assert classes == ["ConvBnRelu6", "Inverted", "Stage", "MobilenetV2"]
    assert "    def __init__(self, c, t, stride, in_channels):\n" in gen.text
    assert "        self.use_expand = t != 1\n" in gen.text
    assert "        self.use_shortcut = stride == 1 and in_channels == c\n" in gen.text
    assert "        expand = self.expand(x) if self.use_expand else x\n" in gen.text
    assert "        shortcut = project_bn + x if self.use_shortcut else project_bn\n" in gen.text
    assert "self.block1 = Inverted(c=16, t=1, stride=1, in_channels=32)" in gen.text
    written = load_written(gen.text, "written_mobilenet_v2", tmp_path)
    plain = written.Inverted(c=16, t=1, stride=1, in_channels=32)
    assert not hasattr(plain, "expand") and not plain.use_shortcut
    assert [k for k in plain.state_dict() if k.startswith("depthwise.conv.")] == ["depthwise.conv.weight"]
    assert tuple(plain.depthwise.conv.weight.shape) == (32, 1, 3, 3)
    wide = written.Inverted(c=24, t=4, stride=1, in_channels=24)    # a ratio the file does not use
    assert tuple(wide.expand.conv.weight.shape) == (96, 24, 1, 1) and wide.use_shortcut
    assert tuple(wide(torch.randn(1, 24, 8, 8)).shape) == (1, 24, 8, 8)
    live = netc.to_torch(net).eval()
    randomized(live, 7)
    model = written.MobilenetV2().eval()
    assert list(model.state_dict()) == list(live.state_dict())
    model.load_state_dict(live.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), live(x))


def test_yolov8_blocks_are_one_class_each_with_forward_numbers_as_arguments(tmp_path):
    """YOLOv8's Conv (cbs) was 30 classes: its xavier fans (in*k*k + out*k*k) / 2 are read
    from the weight, also where a 1x1 conv's fan in equals its fan out; the C2f step's
    slice start (in.channels - c in the file) is an argument forward reads; the head's
    view keeps the file's -1, so the three levels are one Detect."""
    net = netc.load(EXAMPLES / "yolov8.yaml", input_shape=(3, 64, 64))
    gen = generate(net)
    classes = [line.split("(")[0][6:] for line in gen.text.splitlines() if line.startswith("class ")]
    assert classes.count("Cbs") == 1 and not any(c.startswith(("Cbs2", "Detect2")) for c in classes), classes
    assert "        split = x[:, self.in_channels - self.c:]\n" in gen.text
    assert "box3.reshape(box3.shape[0], 64, -1)" in gen.text
    written = load_written(gen.text, "written_yolov8", tmp_path)
    live = netc.to_torch(net).eval()
    randomized(live, 3)
    model = written.Yolov8().eval()
    assert list(model.state_dict()) == list(live.state_dict())
    model.load_state_dict(live.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), live(x))


IF_BLOCK = """netc: 1
name: t
input: {{shape: [4, 8, 8]}}
params: {{gate: 2}}
blocks:
  unit:
    params: {{c: null, stride: 1, rates: [1, 2]}}
    layers:
      - conv: {{name: pre, filters: in.channels, kernel: 1, if: "{cond}"}}
      - conv: {{name: body, filters: c, kernel: 3, stride: stride, padding: 1}}
      - add: {{name: skip, from: [body, input], if: stride == 1 and input.channels == c}}
layers:
  - unit: {{name: a, c: 4}}
  - unit: {{name: b, c: 8, stride: 2}}
  - unit: {{name: d, c: 8}}
"""


@pytest.mark.parametrize("cond, merged", [
    ("stride == 1", True),
    ("not (stride != 1)", True),
    ("floor(2 / stride) == 2", True),                # math.floor, and `import math`
    ("rates[0] == stride", False),                   # a list: no Python of the arguments
    ("make_divisible(stride, 1) == 1", False),       # no Python function
    ("gate == stride * 2", False),                   # a network parameter: no argument of the block
])
def test_a_condition_python_cannot_take_keeps_a_class_per_structure(cond, merged, tmp_path):
    net = netc.loads(IF_BLOCK.format(cond=cond), "t.yaml")
    gen = generate(net)
    classes = [line.split("(")[0][6:] for line in gen.text.splitlines() if line.startswith("class ")]
    assert classes == (["Unit", "T"] if merged else ["Unit", "Unit2", "T"])
    if merged:
        assert "self.use_pre = " in gen.text and ("import math\n" in gen.text) == ("floor" in cond)
    written = load_written(gen.text, f"written_if_{abs(hash(cond))}", tmp_path)
    live = netc.to_torch(net).eval()
    randomized(live, 2)
    model = written.T().eval()
    assert list(model.state_dict()) == list(live.state_dict())
    model.load_state_dict(live.state_dict())
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), live(x))
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "-"], check=False,
                          input=gen.text, capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout


def test_netc_torch_prints_without_o_and_errors_cleanly(tmp_path):
    r = run_netc("torch", str(EXAMPLES / "lenet5.yaml"))
    assert r.returncode == 0 and r.stdout.startswith('"""lenet5') and "class Lenet5(nn.Module)" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("netc: 1\ninput: {shape: [1, 4, 4]}\nlayers:\n  - relu: {name: forward}\n")
    r = run_netc("torch", str(bad))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "forward: the name 'forward' is an attribute of torch.nn.Module" in r.stderr
    r = run_netc("torch", str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and r.stderr.startswith("netc: error: no such file")


# -- netc build --weights -----------------------------------------------------------------

def _state_files(tmp_path, net, seed=4):
    from safetensors.torch import save_file

    model = netc.to_torch(net, seed=seed)
    state = randomized(model, seed)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "w.safetensors"))
    torch.save(state, tmp_path / "w.pt")
    return state


def test_build_weights_is_byte_reproducible_and_reads_both_formats(tmp_path):
    net = netc.load(EXAMPLES / "lenet5.yaml")
    state = _state_files(tmp_path, net)
    outs = []
    for i, w in enumerate(["w.safetensors", "w.safetensors", "w.pt"]):
        out = tmp_path / f"m{i}.onnx"
        r = run_netc("build", str(EXAMPLES / "lenet5.yaml"), "--weights", str(tmp_path / w), "-o", str(out))
        assert r.returncode == 0, r.stderr
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    import onnx
    from onnx import numpy_helper

    for path in (outs[0], outs[2]):
        model = onnx.load(path)
        for t in model.graph.initializer:
            assert np.array_equal(numpy_helper.to_array(t), state[t.name].numpy().reshape(t.dims))
        assert any(p.key == "io.netc.weights" for p in model.metadata_props)


def test_build_weights_names_every_bad_key_with_its_shape(tmp_path):
    from safetensors.numpy import save_file

    net = netc.load(EXAMPLES / "lenet5.yaml")
    state = {k: v.numpy() for k, v in netc.to_torch(net).state_dict().items()}
    del state["c1.conv.bias"]
    state["c3.conv.weight"] = np.zeros((16, 6, 3, 3), np.float32)
    state["head.weight"] = np.zeros((2,), np.float32)
    path = tmp_path / "w.safetensors"
    save_file(state, str(path))
    out = tmp_path / "m.onnx"
    r = run_netc("build", str(EXAMPLES / "lenet5.yaml"), "--weights", str(path), "-o", str(out))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "missing key 'c1.conv.bias' (expected shape (6,))" in r.stderr
    assert "key 'c3.conv.weight' has shape (16, 6, 3, 3), expected (16, 6, 5, 5)" in r.stderr
    assert "unexpected key 'head.weight'" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("content, name, code, message", [
    (b"not safetensors at all", "w.safetensors", 1, "cannot read"),
    (b"\x80\x02not a pickle", "w.pt", 1, "cannot read"),
    (b"{}", "w.json", 2, "expected a .safetensors file"),
])
def test_build_weights_refuses_unreadable_files_in_one_line(tmp_path, content, name, code, message):
    path = tmp_path / name
    path.write_bytes(content)
    r = run_netc("build", str(EXAMPLES / "lenet5.yaml"), "--weights", str(path), "-o", str(tmp_path / "m.onnx"))
    assert r.returncode == code and "Traceback" not in r.stderr
    assert message in r.stderr


def test_a_pt_file_that_is_not_a_state_dict_is_refused(tmp_path):
    torch.save([torch.zeros(2)], tmp_path / "w.pt")
    r = run_netc("build", str(EXAMPLES / "lenet5.yaml"), "--weights", str(tmp_path / "w.pt"),
                 "-o", str(tmp_path / "m.onnx"))
    assert r.returncode == 1 and "is not a state_dict" in r.stderr


# -- training and export --------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("file, shape", [("lenet5.yaml", (1, 32, 32)), ("resnet18.yaml", (3, 32, 32))])
def test_lenet_and_resnet18_train_and_export(file, shape, tmp_path):
    """A few dozen SGD steps on a fixed synthetic batch (the label a function of the input):
    the loss falls; the trained module exported to ONNX by both exporters (TorchScript,
    dynamo) reads back with netc's counts and the YAML's layer names."""
    torch.manual_seed(0)
    net = netc.load(EXAMPLES / file, input_shape=shape)
    model = netc.to_torch(net, seed=1).train()
    x = torch.randn(32, *shape)
    classes = net.analysis.layer(net.graph.outputs[0]).output_shape[0]
    y = (x.flatten(1)[:, :classes] * 3).argmax(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05 if file == "lenet5.yaml" else 0.01, momentum=0.9)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        out = model(x)
        loss = torch.nn.functional.cross_entropy(out, y) if file != "lenet5.yaml" else \
            torch.nn.functional.nll_loss(torch.log(out.clamp_min(1e-9)), y) if net.graph.nodes[-1].op == "softmax" \
            else torch.nn.functional.cross_entropy(out, y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    path = tmp_path / "trained.onnx"
    # do_constant_folding=False: the TorchScript exporter would fold each batchnorm into its conv
    torch.onnx.export(model, (torch.randn(1, *shape),), str(path), dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["output"], do_constant_folding=False)
    back = netc.load(path)
    assert back.totals.trainable_params == net.totals.trainable_params
    assert back.totals.params == net.totals.params
    assert back.totals.macs == net.totals.macs
    if file == "resnet18.yaml":     # the projection's stride-2 1x1 conv (A003), named by its module path
        from netc.lint import lint_file

        a003 = [d for d in lint_file(path) if d.code == "A003"]
        assert a003 and a003[0].message.startswith("/layer2/first/downsample/Conv: stride 2")
    # torch.onnx.export(dynamo=True), as the issue asks (onnxscript, which .ci/run installs
    # beside torch): its default optimization folds each batchnorm into its conv, so the
    # model read back has each batchnorm's 4C values (scale, shift, mean, variance) as its
    # conv's C biases, and the same MACs; its findings name the YAML's layers through the
    # module path the export keeps in each node's metadata
    dyn = tmp_path / "trained.dynamo.onnx"
    torch.onnx.export(model, (torch.randn(1, *shape),), str(dyn), dynamo=True)
    back = netc.load(dyn)
    norms = sum(r.params for r in net.analysis.layers if r.op == "batchnorm")
    assert norms % 4 == 0 and back.totals.params == net.totals.params - norms + norms // 4
    assert back.totals.macs == net.totals.macs
    if file == "resnet18.yaml":
        from netc.lint import lint_file

        layers = {r.name for r in net.analysis.layers}
        notes = [note for d in lint_file(dyn) if d.code == "A003" for _, note in d.notes]
        named = [n.split("'")[1] for n in notes if "PyTorch module '" in n]
        assert named and set(named) <= layers and named[0].startswith("layer2.first.downsample")


# -- every zoo file ------------------------------------------------------------------------

ZOO = {   # small inputs where the file allows them, to keep CPU time low
    "alexnet": (3, 127, 127), "vgg16": (3, 32, 32), "googlenet": (3, 64, 64), "resnet18": (3, 64, 64),
    "resnet50": (3, 64, 64), "resnet152": (3, 32, 32), "mobilenet_v2": (3, 64, 64),
    "efficientnet_b0": (3, 64, 64), "convnext_tiny": (3, 64, 64), "mobilenet_v3_large": (3, 64, 64),
    "unet": (1, 188, 188), "yolov8": (3, 64, 64), "yolo11n": (3, 64, 64), "deeplabv3_resnet50": (3, 64, 64),
    "murphy-fig7": None, "murphy-deep-stride1": (3, 96, 96), "lenet5": None,
    "m5": None, "unet3d": (3, 92, 92, 92),   # the smallest volume the 3-D U-Net's valid convs take
}


def test_the_zoo_list_covers_every_example():
    assert set(ZOO) == {p.stem for p in EXAMPLES.glob("*.yaml")}


# every `--set` variant the README shows: EfficientNet-B7 (`--set width=2.0 --set depth=3.1 --set
# dropout=0.5`, at a small input) and `--set width=0.75` on the files with a width parameter
SET_VARIANTS = {
    "efficientnet_b7": ("efficientnet_b0", {"width": 2.0, "depth": 3.1, "dropout": 0.5}, (3, 64, 64)),
    "efficientnet_b0-width0.75": ("efficientnet_b0", {"width": 0.75}, (3, 64, 64)),
    "yolov8-width0.75": ("yolov8", {"width": 0.75}, (3, 64, 64)),
}


def test_the_set_variants_are_the_readme_s():
    readme = (ROOT / "README.md").read_text()
    assert "--set width=2.0 --set depth=3.1 --set dropout=0.5" in readme and "--set width=0.75" in readme
    for file, params, _ in SET_VARIANTS.values():
        net = netc.load(EXAMPLES / f"{file}.yaml", params=params)
        assert net.totals.trainable_params != netc.load(EXAMPLES / f"{file}.yaml").totals.trainable_params


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ZOO) + sorted(SET_VARIANTS))
def test_every_zoo_file_agrees_with_onnxruntime_on_its_own_state_dict(name, tmp_path):
    file, params, shape = SET_VARIANTS.get(name, (name, None, ZOO.get(name)))
    net = netc.load(EXAMPLES / f"{file}.yaml", params=params, input_shape=shape)
    agree(net, tmp_path, batch=1)


def test_every_zoo_file_writes_source_that_compiles():
    """No torch needed: the source of every example compiles, and its state_dict entries
    count netc's parameters."""
    for path in sorted(EXAMPLES.glob("*.yaml")):
        net = netc.load(path)
        gen = generate(net)
        compile(gen.text, str(path), "exec")
        params = sum(int(np.prod(e.shape)) for e in gen.entries if not e.buffer)
        assert params == net.totals.trainable_params, path.name


@pytest.mark.parametrize("name", ["lenet5", "resnet50", "efficientnet_b0", "m5", "yolov8", "yolo11n"])
def test_the_written_source_passes_ruff(tmp_path, name):
    """netc torch's model.py passes ruff's default rules (pyflakes and pycodestyle's errors):
    no unused import, no undefined name (it is written without torch installed)."""
    out = tmp_path / f"{name}.py"
    r = run_netc("torch", f"examples/{name}.yaml", "-o", str(out))
    assert r.returncode == 0, r.stderr
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout


def test_conditions_are_written_as_python_from_netc_s_tree():
    from netc.torch.condition import to_python

    names = {"t": "t", "s": "s", "c": "c", "p": "p", "input.channels": "in_channels"}
    assert to_python("stride == 1", {"stride": "stride"}) == "stride == 1"
    assert to_python("s == 1 and input.channels == c", names) == "s == 1 and in_channels == c"
    assert to_python("not (t != 1) or (s - 1) * 2 > c // 4", names) == "t == 1 or (s - 1) * 2 > c // 4"
    assert to_python("t - (s - c) == -(-c)", names) == "t - (s - c) == --c"
    assert to_python("not (p and s == 1)", names, frozenset({"p"})) == "not (p and s == 1)"
    assert to_python("ceil(t / 2) == max(s, 1) or true", names) == "math.ceil(t / 2) == max(s, 1) or True"
    for text in ("rates[0] == 1", "len(t) == 1", "make_divisible(t, 8) != t", "gate == 1", "p == true",
                 "p == 1", "t ==", "in.height == 1"):
        assert to_python(text, names, frozenset({"p"})) is None, text
