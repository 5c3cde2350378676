"""torchvision's weights in netc's modules: for each architecture netc maps
(netc/torch/torchvision_keys.py), torchvision's randomly initialized model (eval mode,
every batchnorm's running statistics and affine, and ConvNeXt's layer scale, randomized
so that each matters) has its state_dict renamed by ``netc.from_torchvision`` and loaded
into ``netc.to_torch`` of the zoo file; the two outputs are compared, and so is
onnxruntime's output of ``netc build --weights tv.pth --weights-map torchvision``.

Needs torchvision (and onnxruntime); netc from this checkout:

    PYTHONPATH=. /tmp/exp/bin/python benchmarks/torchvision_weights.py [--input 224]

Prints one row per architecture: the largest difference from torchvision's output,
relative to that output's largest magnitude (the issue's bound: 1e-4)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torchvision

import netc

ROOT = Path(__file__).resolve().parent.parent
ARCHS = ("resnet18", "resnet50", "resnet152", "mobilenet_v2", "efficientnet_b0", "convnext_tiny")


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Batchnorm's running means N(0, 0.1^2), variances U(0.5, 2), every vector (biases,
    affines, layer scales) moved by N(0, 0.1^2): no tensor hides behind a 0, 1 or 1e-6."""
    g = torch.Generator().manual_seed(seed)
    state = model.state_dict()
    with torch.no_grad():
        for k, v in state.items():
            if not v.is_floating_point():
                continue
            noise = torch.randn(v.shape, generator=g)
            if k.endswith("running_var"):
                v.copy_(torch.rand(v.shape, generator=g) * 1.5 + 0.5)
            elif k.endswith("running_mean"):
                v.copy_(noise * 0.1)
            elif v.numel() == v.shape[0]:     # a vector, or ConvNeXt's (C, 1, 1) layer scale
                v.add_(noise * 0.1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", type=int, default=224, help="input height and width")
    ap.add_argument("--arch", nargs="*", default=list(ARCHS))
    args = ap.parse_args()
    import onnxruntime as ort

    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, onnxruntime {ort.__version__}, "
          f"input (2, 3, {args.input}, {args.input})")
    print(f"{'arch':16} {'tensors':>7} {'to_torch':>10} {'onnx build':>10}   (max |diff| / max |torchvision|)")
    worst = 0.0
    for arch in args.arch:
        torch.manual_seed(0)
        tv = getattr(torchvision.models, arch)().eval()
        randomize(tv, 1)
        shape = (3, args.input, args.input)
        net = netc.load(ROOT / "examples" / f"{arch}.yaml", input_shape=shape)
        model = netc.to_torch(net).eval()
        state = netc.from_torchvision(net, tv.state_dict())
        model.load_state_dict(state, strict=True)
        x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            want, got = tv(x), model(x)
        scale = float(want.abs().max())
        d_torch = float((got - want).abs().max()) / scale
        with tempfile.TemporaryDirectory() as tmp:
            pt, out = Path(tmp) / f"{arch}.pth", Path(tmp) / f"{arch}.onnx"
            torch.save(tv.state_dict(), pt)
            r = subprocess.run([sys.executable, "-m", "netc", "build", str(ROOT / "examples" / f"{arch}.yaml"),
                                "--input", ",".join(map(str, shape)), "--weights", str(pt),
                                "--weights-map", "torchvision", "-o", str(out)], capture_output=True, text=True,
                               check=False)
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr)
                return 1
            s = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
            y = s.run(None, {s.get_inputs()[0].name: x.numpy()})[0]
        d_onnx = float(np.abs(y - want.numpy()).max()) / scale
        worst = max(worst, d_torch, d_onnx)
        print(f"{arch:16} {len(state):7d} {d_torch:10.1e} {d_onnx:10.1e}")
    print(f"worst {worst:.1e}: {'within' if worst <= 1e-4 else 'OVER'} the bound 1e-4")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
