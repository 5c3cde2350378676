"""ONNX export: ``netc.onnx.build.build_model`` turns a loaded network into an
``onnx.ModelProto``, ``netc.onnx.build.write_model`` writes it atomically.

Importing this package imports nothing heavy; onnx and numpy are imported by
``netc.onnx.build`` only, so ``netc lint`` and ``netc summary`` never load them.
Each op lowers itself (``Op.lower`` in ``netc/ops/*.py``) through the
``LoweringContext`` of ``netc.onnx.lowering``; see docs/onnx.md.
"""

# The opsets netc builds: the one range that ``netc build --help``, its error and the
# README state. 13: Softmax over one axis, Clip with inputs, the Gemm/Flatten forms.
# 26: the newest that onnxruntime 1.31 runs (27 is "under development" there and
# refused, 28 needs IR version 14 where it reads 13), though onnx 1.23 defines 28.
MIN_OPSET = 13
MAX_OPSET = 26
DEFAULT_OPSET = 17
OPSET_RANGE = f"{MIN_OPSET} to {MAX_OPSET}"
