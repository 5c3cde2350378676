"""Regressions from the corpus of real exports (benchmarks/real_exports.py, docs/onnx.md
*Real exports*): each model built by hand with onnx.helper to the structure of the
export that did not read."""

import numpy as np
from onnx import helper

from test_onnx_reader import M, read, rows


def test_weight_standardized_by_a_training_mode_batchnorm_reads_as_the_conv():
    """timm's nf_resnet26 and eca_nfnet_l0 (ScaledStdConv2d, TorchScript): the weight
    viewed as (1, K, -1) goes through F.batch_norm in training mode — a
    BatchNormalization of three outputs, its mean and variance computed from the weight,
    its scale the gain — then back to the weight's shape. The conv of that weight,
    counted once; the first node used to be E011 ("the shape of input 1 is not known")."""
    m = M((1, 4, 10, 10), opset=17)
    w, wt = m.w(1, 6, 36), m.w(1, 36, 6)      # the export stores the weight transposed too
    mean = m.op("ReduceMean", [wt], axes=[0, 1], keepdims=0)
    d = m.op("Sub", [wt, m.op("ReduceMean", [wt], axes=[0, 1], keepdims=1)])
    var = m.op("ReduceMean", [m.op("Mul", [d, d])], axes=[0, 1], keepdims=0)
    m.nodes.append(helper.make_node(
        "BatchNormalization", [w, m.w(6), m.const([0.0] * 6, np.float32), mean, var],
        ["bn_y", "bn_mean", "bn_var"], name="bn", training_mode=1, momentum=1.0))
    back = m.op("Reshape", ["bn_y", m.const([6, 4, 3, 3])])
    z = m.op("Conv", ["x", back, m.w(6)], pads=[1, 1, 1, 1])
    assert rows(read(m.model([z]))) == [("conv", (6, 10, 10), 6 * 36 + 6, 6 * 36 * 100)]
