"""torchvision's state_dicts under netc's module names: ``netc.from_torchvision``.

Where a zoo file builds the network torchvision builds (examples/resnet18.yaml,
resnet50.yaml, resnet152.yaml, mobilenet_v2.yaml, efficientnet_b0.yaml,
convnext_tiny.yaml), each tensor of torchvision's state_dict has one tensor of
``netc.to_torch``'s, under another name::

    resnet50        layer2.first.branch.conv1.weight   <- layer2.0.conv1.weight
                    layer2.first.downsample_bn.bias    <- layer2.0.downsample.1.bias
                    layer2.rest.0.branch.bn3.weight    <- layer2.1.bn3.weight
    mobilenet_v2    stage2.first.expand.conv.weight    <- features.2.conv.0.0.weight
                    block1.depthwise.bn.bias           <- features.1.conv.0.1.bias   (t = 1: no expand)
                    fc.weight                          <- classifier.1.weight
    efficientnet_b0 stage2.rest.0.se.fc1.weight        <- features.2.1.block.2.fc1.weight
                    head.conv.weight                   <- features.8.0.weight
    convnext_tiny   stage1.0.pwconv1.weight (384, 96, 1, 1) <- features.1.0.block.3.weight (384, 96)
                    stage1.0.layer_scale.weight        <- features.1.0.layer_scale
                    down2.norm.weight                  <- features.2.0.weight

The rules are written per architecture below; the feature indices (torchvision's
``features.N``) follow netc's block instances in order, so a file with other stage
lengths maps as long as torchvision's model has them too. A tensor whose netc shape is
torchvision's with trailing 1s (a ``Linear`` read as a 1x1 conv) is reshaped; every other
shape must be equal. Every key is checked: a torchvision key the rules expect and the
state_dict lacks, one no netc tensor maps to, or a shape that differs is an error naming
the key and the shape expected (``num_batches_tracked`` may be absent).

Nothing here imports torch: the tensors are torch's or numpy's, each only reshaped."""

from __future__ import annotations

import re

from ..diagnostics import BUILD, BuildError, Diagnostic, NetcError
from .source import generate
from .weights import MAX_REPORTED, _shape

ARCHS = ("resnet18", "resnet50", "resnet152", "mobilenet_v2", "efficientnet_b0", "convnext_tiny")


def _resnet(key: str, units: dict) -> str:
    for pattern, repl in ((r"(layer\d+)\.first\.branch\.", r"\1.0."),
                          (r"(layer\d+)\.first\.downsample\.", r"\1.0.downsample.0."),
                          (r"(layer\d+)\.first\.downsample_bn\.", r"\1.0.downsample.1.")):
        if re.match(pattern, key):
            return re.sub(pattern, repl, key, count=1)
    m = re.match(r"(layer\d+)\.rest\.(\d+)\.branch\.(.*)", key)
    if m:
        return f"{m[1]}.{int(m[2]) + 1}.{m[3]}"
    m = re.match(r"(layer\d+)\.(\d+)\.branch\.(.*)", key)     # a stage of identity blocks only (ResNet-18's layer1)
    if m:
        return f"{m[1]}.{m[2]}.{m[3]}"
    return key                                  # conv1, bn1, fc


# the sequence of torchvision's features.N: netc's block instances in the order of their tensors
_MOBILENET_UNIT = re.compile(r"(stem|block\d+|stage\d+\.first|stage\d+\.rest\.\d+|head)\.(.*)")


def _mobilenet_v2(key: str, units: dict) -> str:
    if key.startswith("fc."):
        return "classifier.1." + key[3:]
    m = _MOBILENET_UNIT.fullmatch(key)
    if not m:
        return key
    index, has_expand = units[m[1]]
    rest = m[2]
    if m[1] in ("stem", "head"):               # conv_bn_relu6: features.N.0 conv, .1 batchnorm
        return f"features.{index}." + _conv_bn(rest)
    layers = ["expand"] * has_expand + ["depthwise", "project", "project_bn"]
    layer, _, tail = rest.partition(".")
    i = layers.index(layer) if layer in layers else None
    if i is None:
        return key
    if layer in ("expand", "depthwise"):
        return f"features.{index}.conv.{i}.{_conv_bn(tail)}"
    return f"features.{index}.conv.{i}.{tail}"


_EFFICIENTNET_UNIT = re.compile(r"(stem|stage\d+\.first|stage\d+\.rest\.\d+|head)\.(.*)")


def _efficientnet_b0(key: str, units: dict) -> str:
    if key.startswith("fc."):
        return "classifier.1." + key[3:]
    m = _EFFICIENTNET_UNIT.fullmatch(key)
    if not m:
        return key
    unit, rest = m[1], m[2]
    if unit == "stem":
        return "features.0." + _conv_bn(rest)
    if unit == "head":                         # after the stages: features.(last stage + 1)
        last = max(int(re.match(r"stage(\d+)", u)[1]) for u in units if u.startswith("stage"))
        return f"features.{last + 1}." + _conv_bn(rest)
    stage = int(re.match(r"stage(\d+)", unit)[1])
    block = 0 if unit.endswith(".first") else int(unit.rsplit(".", 1)[1]) + 1
    has_expand = units[unit][1]
    layers = ["expand"] * has_expand + ["depthwise", "se", "project"]
    layer, _, tail = rest.partition(".")
    if layer == "project_bn":
        return f"features.{stage}.{block}.block.{layers.index('project')}.1.{tail}"
    if layer not in layers:
        return key
    i = layers.index(layer)
    if layer == "se":                          # SqueezeExcitation: fc1, fc2 by name
        return f"features.{stage}.{block}.block.{i}.{tail}"
    if layer == "project":
        return f"features.{stage}.{block}.block.{i}.0.{tail}"
    return f"features.{stage}.{block}.block.{i}.{_conv_bn(tail)}"


def _conv_bn(rest: str) -> str:
    """conv.X -> 0.X, bn.X -> 1.X (torchvision's Conv2dNormActivation)."""
    layer, _, tail = rest.partition(".")
    return {"conv": "0", "bn": "1"}.get(layer, layer) + "." + tail


def _convnext_tiny(key: str, units: dict) -> str:
    for netc_name, tv in (("stem.", "features.0.0."), ("stem_norm.", "features.0.1."),
                          ("head_norm.", "classifier.0."), ("fc.", "classifier.2.")):
        if key.startswith(netc_name):
            return tv + key[len(netc_name):]
    m = re.fullmatch(r"stage(\d+)\.(\d+)\.(\w+)\.(.*)", key)
    if m:
        where = f"features.{2 * int(m[1]) - 1}.{m[2]}."
        if m[3] == "layer_scale" and m[4] == "weight":
            return where + "layer_scale"
        sub = {"dwconv": "0", "norm": "2", "pwconv1": "3", "pwconv2": "5"}.get(m[3])
        return where + f"block.{sub}.{m[4]}" if sub else key
    m = re.fullmatch(r"down(\d+)\.(norm|conv)\.(.*)", key)
    if m:
        return f"features.{2 * (int(m[1]) - 1)}.{'0' if m[2] == 'norm' else '1'}.{m[3]}"
    return key


RULES = {"resnet18": _resnet, "resnet50": _resnet, "resnet152": _resnet, "mobilenet_v2": _mobilenet_v2,
         "efficientnet_b0": _efficientnet_b0, "convnext_tiny": _convnext_tiny}
_UNITS = {"mobilenet_v2": _MOBILENET_UNIT, "efficientnet_b0": _EFFICIENTNET_UNIT}


def _units(arch: str, keys: list[str]) -> dict[str, tuple[int, bool]]:
    """Each block instance (``stage2.rest.0``) -> (its index in torchvision's ``features``,
    whether it has an expansion conv), in the order of netc's tensors."""
    pattern = _UNITS.get(arch)
    units: dict[str, tuple[int, bool]] = {}
    if pattern is None:
        return units
    for key in keys:
        m = pattern.fullmatch(key)
        if m:
            index, expand = units.get(m[1], (len(units), False))
            units[m[1]] = (index, expand or m[2].startswith("expand."))
    return units


def torchvision_keys(network, arch: str | None = None) -> dict[str, str]:
    """netc's state_dict key -> torchvision's, for the network (a ``netc.Network`` of the
    zoo file of ``arch``; by default the network's name)."""
    return _names(arch or network.graph.name, [e.key for e in generate(network).entries])


def _names(arch: str, keys: list[str]) -> dict[str, str]:
    if arch not in RULES:
        raise BuildError(f"no torchvision key mapping for {arch!r}: netc maps {', '.join(ARCHS)}")
    units = _units(arch, keys)
    return {k: RULES[arch](k, units) for k in keys}


def from_torchvision(network, state_dict: dict, arch: str | None = None, source: str = "torchvision") -> dict:
    """``state_dict`` (torchvision's model ``arch``'s, tensors of torch or numpy) under
    netc's names, in netc's order, each tensor reshaped to netc's shape where only
    trailing 1s differ; ``model.load_state_dict(...)`` of ``netc.to_torch(network)``
    takes it, and so does ``netc build --weights``. Raises NetcError naming every missing,
    unexpected or mis-shaped key (``source`` prefixes the messages)."""
    arch = arch or network.graph.name
    entries = {e.key: e for e in generate(network).entries}
    names = _names(arch, list(entries))
    mapped = set(names.values())
    if len(mapped) != len(names):  # pragma: no cover - a rule's bug: two netc tensors, one key
        raise BuildError(f"internal error: the {arch} key mapping is not one to one")
    out, problems = {}, []
    for key, tv_key in names.items():
        e = entries[key]
        if tv_key not in state_dict:
            if not e.optional:
                problems.append(f"missing key {tv_key!r} (expected shape {_shape(e.shape)}; netc's {key!r})")
            continue
        t = state_dict[tv_key]
        shape = tuple(t.shape)
        if shape != e.shape and not (len(e.shape) > len(shape) and e.shape[:len(shape)] == shape
                                     and set(e.shape[len(shape):]) == {1}):
            problems.append(f"key {tv_key!r} has shape {_shape(shape)}, expected {_shape(e.shape)} "
                            f"(netc's {key!r})")
            continue
        out[key] = t if shape == e.shape else t.reshape(e.shape)
    for tv_key in state_dict:
        if tv_key not in mapped:
            problems.append(f"unexpected key {tv_key!r}: no tensor of netc's {arch} maps to it")
    if problems:
        shown = problems[:MAX_REPORTED]
        if len(problems) > len(shown):
            more = len(problems) - len(shown)
            shown.append(f"and {more} more problem{'s' if more != 1 else ''}")
        raise NetcError([Diagnostic(f"{source}: {p}", None, BUILD) for p in shown])
    return out
