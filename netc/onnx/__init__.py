"""ONNX export: ``netc.onnx.build.build_model`` turns a loaded network into an
``onnx.ModelProto``, ``netc.onnx.build.write_model`` writes it atomically.

Importing this package imports nothing heavy; onnx and numpy are imported by
``netc.onnx.build`` only, so ``netc lint`` and ``netc summary`` never load them.
Each op lowers itself (``Op.lower`` in ``netc/ops/*.py``) through the
``LoweringContext`` of ``netc.onnx.lowering``; see docs/onnx.md.
"""
