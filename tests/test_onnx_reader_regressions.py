"""Regressions from reading real exports (issue 18), each model built by hand with
onnx.helper to the structure of the export that showed the bug: timm's mixnet_s
(state left by one Split read leaking into the next), E011's pointer and blocker list
(yolo11n, ConvNeXt-V2), A008 on an explicit count_include_pad (inception_v3),
dynamo's allowzero=1 Reshapes (shufflenet), a one-input Concat (densenet121) and
F.pad's pads computed by a TorchScript chain (tf_efficientnetv2)."""

import numpy as np
import pytest
from onnx import helper

from netc.diagnostics import NetcError
from test_onnx_reader import M, read


def _split(m, x, sizes, name):
    """Split ``x`` on the channels into parts of ``sizes`` (opset 13+: sizes as an input)."""
    outs = [f"{name}_{i}" for i in range(len(sizes))]
    m.nodes.append(helper.make_node("Split", [x, m.const(sizes)], outs, name=name, axis=1))
    return outs


def test_mixnet_split_after_a_three_way_split():
    """timm mixnet_s: a mixed conv splits in 3, a later conv feeds a 2-way Split only.
    The 2-way Split is offered to the conv's activation fold; it used to be read with
    the output index the 3-way Split had left (2): IndexError in every command."""
    m = M((1, 6, 8, 8))
    parts = _split(m, "x", [2, 2, 2], "split3")
    convs = [m.op("Conv", [p, m.w(2, 2, 3, 3)], pads=[1, 1, 1, 1], name=f"mix{i}") for i, p in enumerate(parts)]
    y = m.op("Concat", convs, axis=1, name="cat3")
    y = m.op("Conv", [y, m.w(6, 6, 1, 1)], name="pw")             # its only reader: a 2-way Split
    a, b = _split(m, y, [4, 2], "split2")
    y = m.op("Concat", [m.op("Conv", [a, m.w(4, 4, 3, 3)], pads=[1, 1, 1, 1], name="ca"),
                        m.op("Conv", [b, m.w(2, 2, 5, 5)], pads=[2, 2, 2, 2], name="cb")], axis=1, name="cat2")
    a = read(m.model([y]))
    layers = {r.name: r for r in a.layers}
    assert [(n, layers[n].node.params["start"], layers[n].node.params["end"]) for n in
            ("split3_0", "split3_1", "split3_2", "split2_0", "split2_1")] == [
        ("split3_0", 0, 2), ("split3_1", 2, 4), ("split3_2", 4, None), ("split2_0", 0, 4), ("split2_1", 4, None)]
    assert layers["pw"].node.params["activation"] == "none"
    assert layers["cat2"].output_shape == (6, 8, 8)
