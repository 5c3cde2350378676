"""Make the PyTorch ONNX fixtures of tests/test_torch_fixtures.py (run by hand, never by CI).

    /path/to/venv-with-torch/bin/python tests/data/torch_fixtures/make.py

Each small module is exported in eval mode, BatchNormalization kept as a node (both
exporters otherwise fold it into the conv in eval mode: its scale and shift then vanish
from the file, and no reader can recover torch's parameter count) with the TorchScript exporter (opset 17,
``NAME.ts.onnx``; the channels-last ConvNeXt block also at opset 13, ``NAME.ts13.onnx``,
where LayerNorm is written as its definition) and, where onnxscript is installed, with ``dynamo=True``
(opset 18, ``NAME.dynamo.onnx``, ``optimize=False`` then only onnxscript's constant folding, so
that its BN-fusing rewriter is skipped). ``manifest.json`` records, per module, torch's own numbers:

- ``params``: ``sum(p.numel() for p in module.parameters())`` (trainable; BN running
  stats are buffers, not counted);
- ``macs``: multiply-accumulates of conv, conv-transpose and linear layers for one
  sample, bias excluded, counted by forward hooks (fvcore's convention):
  conv = out_elements * (C_in / groups) * kh * kw;
  conv_transpose = in_elements * (C_out / groups) * kh * kw;
  linear = out_elements * in_features (every leading position, e.g. H*W of a
  channels-last tensor).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
OPSET = 17          # TorchScript exporter
DYNAMO_OPSET = 18   # the dynamo exporter's lowest; asking 17 runs onnx's version converter,
                    # which drops the nodes' metadata (the source positions) on the way
OLD_OPSET = 13      # below 17 the TorchScript exporter writes LayerNorm as its definition
OLD_OPSET_FIXTURES = ("convnext_linear",)   # ... inside the channels-last region


class BasicBlock(nn.Module):
    """ResNet basic block (He et al. 2016) with a 1x1 stride-2 projection shortcut."""

    def __init__(self, c_in=8, c_out=16, stride=2):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.down(x))


class SqueezeExcite(nn.Module):
    def __init__(self, c, c_sq):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, c_sq, 1)
        self.fc2 = nn.Conv2d(c_sq, c, 1)

    def forward(self, x):
        s = self.fc2(torch.relu(self.fc1(self.pool(x))))
        return x * nn.functional.hardsigmoid(s)


class MobileNetV3Block(nn.Module):
    """MobileNetV3 bneck (Howard et al. 2019): 1x1 expand, hardswish, depthwise 3x3,
    SE with hardsigmoid, 1x1 project, residual."""

    def __init__(self, c=16, expand=48, c_sq=12):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(c, expand, 1, bias=False), nn.BatchNorm2d(expand), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(expand, expand, 3, 1, 1, groups=expand, bias=False),
                                nn.BatchNorm2d(expand), nn.Hardswish())
        self.se = SqueezeExcite(expand, c_sq)
        self.project = nn.Sequential(nn.Conv2d(expand, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.project(self.se(self.dw(self.expand(x))))


class InvertedResidualSiLU(nn.Module):
    """EfficientNet-style inverted residual with SiLU."""

    def __init__(self, c=16, expand=64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, expand, 1, bias=False), nn.BatchNorm2d(expand), nn.SiLU(),
            nn.Conv2d(expand, expand, 3, 1, 1, groups=expand, bias=False), nn.BatchNorm2d(expand), nn.SiLU(),
            nn.Conv2d(expand, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over channels of an NCHW tensor: permute to channels-last and back."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block (Liu et al. 2022): depthwise 7x7, LayerNorm2d, 1x1 conv 4x,
    GELU, 1x1 conv, layer scale, residual. (torchvision's Linear layers on the
    channels-last tensor are the same products; netc reads them as 1x1 convs only
    when written so: see LinearConvNeXtBlock.)"""

    def __init__(self, c=16):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = LayerNorm2d(c, eps=1e-6)
        self.pw1 = nn.Conv2d(c, 4 * c, 1)
        self.pw2 = nn.Conv2d(4 * c, c, 1)
        self.gamma = nn.Parameter(torch.full((c, 1, 1), 1e-6))

    def forward(self, x):
        y = self.pw2(nn.functional.gelu(self.pw1(self.norm(self.dw(x)))))
        return x + self.gamma * y


class LinearConvNeXtBlock(nn.Module):
    """ConvNeXt block as torchvision writes it: depthwise 7x7, permute to
    channels-last, LayerNorm, Linear 4x, GELU, Linear, layer scale, permute back."""

    def __init__(self, c=16):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pw1 = nn.Linear(c, 4 * c)
        self.pw2 = nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.full((c,), 1e-6))

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw2(nn.functional.gelu(self.pw1(self.norm(y))))
        y = (self.gamma * y).permute(0, 3, 1, 2)
        return x + y


class UNetUp(nn.Module):
    """U-Net decoder stage (Ronneberger et al. 2015): 2x2/2 up-convolution, centre crop
    of the skip, concat, two unpadded 3x3 convs with ReLU. netc reads one-input
    networks, so the skip is the input itself and the decoder's input comes from a
    2x2 max pool and an unpadded 3x3 conv (20 -> 10 -> 8 -> up 16; skip 20 cropped to 16)."""

    def __init__(self, c_in=32, c_out=16):
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.enc = nn.Conv2d(c_out, c_in, 3)
        self.up = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
        self.conv1 = nn.Conv2d(2 * c_out, c_out, 3)
        self.conv2 = nn.Conv2d(c_out, c_out, 3)

    def forward(self, skip):
        x = self.up(torch.relu(self.enc(self.pool(skip))))
        dy = (skip.shape[2] - x.shape[2]) // 2
        dx = (skip.shape[3] - x.shape[3]) // 2
        skip = skip[:, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]
        x = torch.cat([skip, x], dim=1)
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))


class Inexact(nn.Module):
    """Deliberate window bugs: a 3x3 stride-2 unpadded conv on 16x16 ((16 - 3)/2 + 1 is
    not whole: a row and a column dropped), then a 2x2/2 ceil-mode max pool on 7x7 (its
    last window hangs over the border)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)

    def forward(self, x):
        return self.pool(torch.relu(self.conv(x)))


FIXTURES = {
    "resnet_basic": (BasicBlock, [(1, 8, 16, 16)]),
    "mobilenetv3": (MobileNetV3Block, [(1, 16, 14, 14)]),
    "inverted_residual_silu": (InvertedResidualSiLU, [(1, 16, 14, 14)]),
    "convnext": (ConvNeXtBlock, [(1, 16, 14, 14)]),
    "convnext_linear": (LinearConvNeXtBlock, [(1, 16, 14, 14)]),
    "unet_up": (UNetUp, [(1, 16, 20, 20)]),
    "inexact": (Inexact, [(1, 3, 16, 16)]),
}


def count_macs(module: nn.Module, inputs) -> int:
    """Conv, conv-transpose and linear MACs of one sample, by forward hooks."""
    total = 0

    def hook(m, args, out):
        nonlocal total
        if isinstance(m, nn.ConvTranspose2d):
            total += args[0].numel() * (m.out_channels // m.groups) * math.prod(m.kernel_size)
        elif isinstance(m, nn.Conv2d):
            total += out.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size)
        elif isinstance(m, nn.Linear):
            total += out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.no_grad():
        module(*inputs)
    for h in handles:
        h.remove()
    return total


def drop_zero_bias(path: Path, module: nn.Module) -> None:
    """Unoptimized, the dynamo exporter gives a bias-free conv a bias input of zeros
    (an initializer ``val_N`` that is no torch parameter); torch's optimizer removes
    it, but that optimizer also fuses BatchNormalization. Remove just the zero bias."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    names = set(module.state_dict())
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Conv" and len(node.input) == 3 and node.input[2] in inits \
                and node.input[2] not in names and not np.any(numpy_helper.to_array(inits[node.input[2]])):
            del node.input[2]
    used = {t for n in model.graph.node for t in n.input}
    keep = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    onnx.save(model, str(path))


def main() -> None:
    torch.manual_seed(0)
    try:
        import onnxscript  # noqa: F401
        dynamo = True
    except ImportError:
        dynamo = False
    manifest = {"torch": torch.__version__, "opset": OPSET, "dynamo_opset": DYNAMO_OPSET, "fixtures": {}}
    for name, (cls, shapes) in FIXTURES.items():
        module = cls().eval()
        inputs = tuple(torch.randn(*s) for s in shapes)
        files = {}
        ts = HERE / f"{name}.ts.onnx"
        torch.onnx.export(module, inputs, str(ts), opset_version=OPSET, dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
        files["torchscript"] = ts.name
        if name in OLD_OPSET_FIXTURES:
            old = HERE / f"{name}.ts{OLD_OPSET}.onnx"
            torch.onnx.export(module, inputs, str(old), opset_version=OLD_OPSET, dynamo=False,
                              training=torch.onnx.TrainingMode.PRESERVE)
            files[f"torchscript{OLD_OPSET}"] = old.name
        if dynamo:
            dyn = HERE / f"{name}.dynamo.onnx"
            program = torch.onnx.export(module, inputs, opset_version=DYNAMO_OPSET, dynamo=True, optimize=False)
            from onnxscript import optimizer
            optimizer.fold_constants(program.model)      # not optimize(): its rewriter fuses BN
            optimizer.remove_unused_nodes(program.model)
            program.save(str(dyn), external_data=False)
            drop_zero_bias(dyn, module)
            files["dynamo"] = dyn.name
        manifest["fixtures"][name] = {
            "module": cls.__name__, "input_shapes": [list(s) for s in shapes], "files": files,
            "params": sum(p.numel() for p in module.parameters()),
            "macs": count_macs(module, inputs)}
        print(name, manifest["fixtures"][name], file=sys.stderr)
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
