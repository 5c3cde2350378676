"""Models that benchmarks/fuzz.py --mode onnx found netc failing on, each cut down to a
few nodes: read by lint and summary (every renderer), with a clear error
or a correct answer, never a traceback."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from netc.api import load
from netc.diagnostics import NetcError
from netc.draw.html import SUMMARY_FORMATS
from netc.lint import Config, lint_source, output


def save(tmp_path, nodes, inits=(), shape=(1, 3, 8, 8), outputs=("y",), opset=17):
    g = helper.make_graph(nodes, "found", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    path = tmp_path / "found.onnx"
    path.write_bytes(m.SerializeToString())
    return path


def everything(path):
    """What netc lint and netc summary do with ``path``: the network, or the NetcError."""
    result = lint_source(str(path), Config())
    for fmt in output.FORMATS.values():
        fmt([result])
    try:
        net = load(path, partial=True)
    except NetcError as e:
        return e
    mem = net.memory()
    for fmt in SUMMARY_FORMATS.values():
        fmt(net.analysis, mem, None)
    return net


W = np.zeros((4, 3, 1, 1), dtype=np.float32)


def test_an_elementwise_node_without_its_second_operand_is_no_activation(tmp_path):
    # Conv -> Div(x) -> Erf: a GELU's start whose Div lost its constant (was IndexError in
    # the function probe of reading.py)
    path = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
                           helper.make_node("Div", ["c"], ["d"], name="div"),
                           helper.make_node("Erf", ["d"], ["y"], name="erf")], [("w", W)])
    unread = everything(path).graph.unread
    assert unread.code == "E011" and "Div x1" in unread.message, unread


@pytest.mark.parametrize("data_type", [99, 0])
def test_a_constant_of_an_unknown_element_type_is_not_a_value(tmp_path, data_type):
    # a Reshape target of element type 99 (none ONNX defines): was KeyError in onnx's numpy_helper
    path = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
                           helper.make_node("Reshape", ["c", "target"], ["y"], name="flatten")], [("w", W)])
    model = onnx.load(path)
    target = model.graph.initializer.add()
    target.name, target.data_type, target.raw_data = "target", data_type, np.array([1, -1], np.int64).tobytes()
    target.dims.append(2)
    path.write_bytes(model.SerializeToString())
    unread = everything(path).graph.unread
    assert unread.code == "E011" and "Reshape x1" in unread.message, unread


def test_a_layernorm_without_its_scale_inside_a_channels_last_pattern_is_unread(tmp_path):
    # Transpose -> LayerNormalization(x) -> Transpose: the pattern's second node lost its
    # Scale input (was IndexError in layernorm's read, which checks the first node only)
    path = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
                           helper.make_node("Transpose", ["c"], ["t"], name="to_last", perm=[0, 2, 3, 1]),
                           helper.make_node("LayerNormalization", ["t"], ["n"], name="ln", axis=-1),
                           helper.make_node("Transpose", ["n"], ["y"], name="to_first", perm=[0, 3, 1, 2])],
                [("w", W)])
    result = everything(path)
    unread = result.graph.unread if not isinstance(result, NetcError) else result.diagnostics[0]
    assert unread.code == "E011", unread


def test_a_constant_whose_data_do_not_fill_its_dims_is_no_value(tmp_path):
    # a Mul by an initializer of dims [16] holding 4 floats: was ValueError in numpy's reshape
    path = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
                           helper.make_node("Mul", ["c", "k"], ["y"], name="mul")], [("w", W)], shape=(1, 3, 4, 4))
    model = onnx.load(path)
    k = model.graph.initializer.add()
    k.name, k.data_type, k.raw_data = "k", TensorProto.FLOAT, np.ones(4, np.float32).tobytes()
    k.dims.append(16)
    path.write_bytes(model.SerializeToString())
    result = everything(path)
    assert isinstance(result, NetcError) or result.graph is not None


def test_an_opset_past_a_c_int_is_read_as_unknown_not_a_type_error(tmp_path):
    # opset_import version 2**40: was TypeError in onnx.defs.get_schema
    path = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], [("w", W)])
    model = onnx.load(path)
    model.opset_import[0].version = 1 << 40
    path.write_bytes(model.SerializeToString())
    result = everything(path)
    assert isinstance(result, NetcError) or result.graph is not None


def test_a_cast_that_lost_its_input_has_no_weight_shape(tmp_path):
    # BatchNormalization whose scale is a Cast of nothing: was IndexError in static_shape
    path = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
                           helper.make_node("Cast", [], ["s"], name="cast", to=TensorProto.FLOAT),
                           helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"], name="bn")],
                [("w", W), ("b", np.zeros(4, np.float32)), ("m", np.zeros(4, np.float32)),
                 ("v", np.ones(4, np.float32))])
    result = everything(path)
    assert isinstance(result, NetcError) or result.graph.unread is not None


def test_squeeze_axes_that_are_a_float_are_unread(tmp_path):
    # Squeeze whose axes are a Constant float scalar 1.0: was TypeError indexing a shape with 1.0
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    path = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
                           helper.make_node("Constant", [], ["axes"], name="axes", value=one),
                           helper.make_node("Squeeze", ["c", "axes"], ["y"], name="squeeze")], [("w", W)])
    result = everything(path)
    assert isinstance(result, NetcError) or result.graph.unread is not None


def test_a_slice_without_starts_after_a_conv_is_no_activation(tmp_path):
    # Conv -> Slice(c): offered to the conv's activation fold, crop's read indexed its missing
    # starts (was IndexError in ReadingContext.slices)
    path = save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
                           helper.make_node("Slice", ["c"], ["y"], name="slice")], [("w", W)])
    result = everything(path)
    assert isinstance(result, NetcError) or result.graph.unread is not None


@pytest.mark.parametrize("opset", [0, 17])
def test_a_matmul_of_a_map_without_its_weight_is_unread(tmp_path, opset):
    # MatMul(x) of a (C, H, W) map with its second input gone, under opset 0 (no schema to
    # say it lacks one) and 17: dense's read as nn.Linear over the last axis indexed the
    # missing weight (IndexError in dense.read, fuzz seed 7)
    path = save(tmp_path, [helper.make_node("MatMul", ["x"], ["y"], name="mm")], shape=(1, 4, 8, 8), opset=opset)
    result = everything(path)
    assert isinstance(result, NetcError) or result.graph.unread is not None


FOUND = sorted((Path(__file__).parent / "data" / "fuzz_found").glob("*.onnx"))


@pytest.mark.parametrize("path", FOUND, ids=[p.stem for p in FOUND])
def test_minimized_models_of_the_fuzz_runs_end_in_a_result_or_a_clear_error(path):
    """The minimized models of the 20,000-model runs at seeds 3 and 4 on merged main, kept as files:
    a pattern's last node without an output (IndexError in the reader's _grown), an INT
    ``strides`` and a list-valued Flatten ``axis`` under an opset with no schema (TypeErrors); at seed 4, a
    constant onnx cannot decode (a TypeError in numpy_helper)."""
    result = everything(path)
    assert isinstance(result, NetcError) or result.graph is not None


def test_the_minimized_models_are_in_the_checkout():
    assert len(FOUND) >= 4, FOUND         # an ignore rule once kept them out of git
