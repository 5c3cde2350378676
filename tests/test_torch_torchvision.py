"""torchvision's state_dicts under netc's module names (netc/torch/torchvision_keys.py).

torchvision does not install beside the torch the tests run (torch 2.13.0's CPU build:
torchvision 0.28.0's wheel is built against the CUDA one and fails on import with
"operator torchvision::nms does not exist"), so torchvision's keys and shapes are
fixtures, written by tests/data/torchvision_keys/make.py with torchvision 0.29.1; the
outputs themselves are compared by benchmarks/torchvision_weights.py (docs/torch.md)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import netc
from conftest import EXAMPLES, ROOT, run_netc
from netc.diagnostics import BuildError, NetcError
from netc.torch.source import generate
from netc.torch.torchvision_keys import ARCHS, from_torchvision, torchvision_keys

FIXTURES = ROOT / "tests/data/torchvision_keys"


def tv_state(arch: str, seed: int = 0) -> dict[str, np.ndarray]:
    """A state_dict of torchvision's ``arch``: its keys and shapes, random float32 values."""
    doc = json.loads((FIXTURES / f"{arch}.json").read_text())
    rng = np.random.default_rng(seed)
    return {k: (rng.standard_normal(shape).astype(np.float32) if not k.endswith("num_batches_tracked")
                else np.zeros(shape, np.int64)) for k, shape in doc["state_dict"]}


def test_every_architecture_has_a_fixture_and_a_zoo_file():
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(ARCHS)
    for arch in ARCHS:
        assert (EXAMPLES / f"{arch}.yaml").is_file()
        assert json.loads((FIXTURES / f"{arch}.json").read_text())["torchvision"] == "0.29.1"


@pytest.mark.parametrize("arch", ARCHS)
def test_the_mapping_is_a_bijection_onto_to_torch_s_state_dict(arch):
    net = netc.load(EXAMPLES / f"{arch}.yaml")
    entries = generate(net).entries
    names = torchvision_keys(net)
    state = tv_state(arch)
    assert list(names) == [e.key for e in entries]
    assert len(set(names.values())) == len(names)                  # one to one
    assert set(names.values()) == set(state)                       # onto torchvision's keys
    mapped = from_torchvision(net, state)
    assert list(mapped) == [e.key for e in entries]
    for e in entries:
        tv = state[names[e.key]]
        assert mapped[e.key].shape == e.shape, e.key
        assert np.array_equal(mapped[e.key].ravel(), tv.ravel()), e.key
        # shapes are equal but for a Linear read as a 1x1 conv (ConvNeXt's pwconv1, pwconv2)
        assert tv.shape == e.shape or (arch == "convnext_tiny" and e.shape == tv.shape + (1, 1)), e.key


def test_the_documented_examples_of_the_mapping():
    cases = {"resnet50": {"layer2.first.branch.conv1.weight": "layer2.0.conv1.weight",
                          "layer2.first.downsample_bn.bias": "layer2.0.downsample.1.bias",
                          "layer2.rest.0.branch.bn3.weight": "layer2.1.bn3.weight", "fc.bias": "fc.bias"},
             "mobilenet_v2": {"stage2.first.expand.conv.weight": "features.2.conv.0.0.weight",
                              "block1.depthwise.bn.bias": "features.1.conv.0.1.bias",
                              "block17.project_bn.running_var": "features.17.conv.3.running_var",
                              "head.conv.weight": "features.18.0.weight", "fc.weight": "classifier.1.weight"},
             "efficientnet_b0": {"stage2.rest.0.se.fc1.weight": "features.2.1.block.2.fc1.weight",
                                 "stage1.first.project_bn.bias": "features.1.0.block.2.1.bias",
                                 "head.conv.weight": "features.8.0.weight"},
             "convnext_tiny": {"stage1.0.pwconv1.weight": "features.1.0.block.3.weight",
                               "stage1.0.layer_scale.weight": "features.1.0.layer_scale",
                               "down2.norm.weight": "features.2.0.weight",
                               "head_norm.bias": "classifier.0.bias"}}
    for arch, pairs in cases.items():
        names = torchvision_keys(netc.load(EXAMPLES / f"{arch}.yaml"))
        for netc_key, tv_key in pairs.items():
            assert names[netc_key] == tv_key


def test_a_missing_extra_or_mis_shaped_key_is_named_with_the_shape_expected():
    net = netc.load(EXAMPLES / "resnet50.yaml")
    state = tv_state("resnet50")
    del state["layer1.0.conv1.weight"]
    del state["bn1.num_batches_tracked"]                            # optional, as in netc's own files
    state["layer4.2.bn3.bias"] = np.zeros(7, np.float32)
    state["AuxLogits.fc.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(NetcError) as e:
        from_torchvision(net, state, source="r50.pth")
    messages = [d.message for d in e.value.diagnostics]
    assert messages == [
        ("r50.pth: missing key 'layer1.0.conv1.weight' (expected shape (64, 64, 1, 1); "
         "netc's 'layer1.first.branch.conv1.weight')"),
        "r50.pth: key 'layer4.2.bn3.bias' has shape (7,), expected (2048,) (netc's 'layer4.rest.1.branch.bn3.bias')",
        "r50.pth: unexpected key 'AuxLogits.fc.weight': no tensor of netc's resnet50 maps to it"]


def test_an_architecture_without_a_mapping_is_refused():
    with pytest.raises(BuildError, match="no torchvision key mapping for 'lenet5': netc maps resnet18, "):
        torchvision_keys(netc.load(EXAMPLES / "lenet5.yaml"))
    net = netc.load(EXAMPLES / "resnet18.yaml")            # the wrong architecture: every key is named
    with pytest.raises(NetcError, match=r"key 'layer1.0.conv1.weight' has shape \(64, 64, 1, 1\), expected "
                       r"\(64, 64, 3, 3\) \(netc's 'layer1.0.branch.conv1.weight'\)"):
        from_torchvision(net, tv_state("resnet50"))


def test_build_weights_map_torchvision(tmp_path):
    from safetensors.numpy import save_file

    state = tv_state("resnet18", seed=3)
    path = tmp_path / "tv.safetensors"
    save_file(state, str(path))
    out = tmp_path / "r18.onnx"
    r = run_netc("build", str(EXAMPLES / "resnet18.yaml"), "--input", "3,64,64", "--weights", str(path),
                 "--weights-map", "torchvision", "-o", str(out))
    assert r.returncode == 0, r.stderr
    import onnx
    from onnx import numpy_helper

    names = torchvision_keys(netc.load(EXAMPLES / "resnet18.yaml"))
    inits = onnx.load(out).graph.initializer
    assert len(inits) == sum(not k.endswith("num_batches_tracked") for k in state)
    for t in inits:
        assert np.array_equal(numpy_helper.to_array(t).ravel(), state[names[t.name]].ravel()), t.name
    # netc's own names are refused under the torchvision map, and the other way round
    r = run_netc("build", str(EXAMPLES / "resnet18.yaml"), "--weights", str(path), "-o", str(out))
    assert r.returncode == 1 and "missing key 'layer1.0.branch.conv1.weight'" in r.stderr
    del state["fc.weight"]
    save_file(state, str(path))
    r = run_netc("build", str(EXAMPLES / "resnet18.yaml"), "--weights", str(path),
                 "--weights-map", "torchvision", "-o", str(out))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{path}: missing key 'fc.weight' (expected shape (1000, 512); netc's 'fc.weight')" in r.stderr
    r = run_netc("build", str(EXAMPLES / "lenet5.yaml"), "--weights", str(path), "--weights-map", "torchvision",
                 "-o", str(out))
    assert r.returncode == 1 and "no torchvision key mapping for 'lenet5'" in r.stderr
    r = run_netc("build", str(EXAMPLES / "resnet18.yaml"), "--weights-map", "torchvision", "-o", str(out))
    assert r.returncode == 2 and "give --weights too" in r.stderr


def test_the_mapped_state_dict_loads_into_to_torch_strictly():
    torch = pytest.importorskip("torch")
    net = netc.load(EXAMPLES / "convnext_tiny.yaml", input_shape=(3, 32, 32))
    state = {k: torch.from_numpy(v) for k, v in tv_state("convnext_tiny").items()}
    model = netc.to_torch(net)
    model.load_state_dict(netc.from_torchvision(net, state), strict=True)
    assert torch.equal(model.stage1[0].pwconv1.weight.flatten(), state["features.1.0.block.3.weight"].flatten())
    assert torch.equal(model.stage1[0].layer_scale.weight, state["features.1.0.layer_scale"])
