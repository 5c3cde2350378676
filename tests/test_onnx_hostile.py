"""The ONNX reader under attack (issue 19): models crafted to make it hang, blow up or
crash end in a clear error or a correct answer, in bounded time and memory.

Each test builds its hostile model by hand (onnx.helper, a few bytes patched where
protobuf's helpers refuse the input) and times the reader in-process, so the bound
measured is netc's, not the interpreter's start."""

import itertools
import json
import time

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import netc
from netc.analysis import analyze
from conftest import run_netc
from netc.diagnostics import LIMIT, NOT_ONNX, TEXT, UNSUPPORTED, NetcError
from netc.lint import lint_file
from netc.onnx import provenance, skeleton
from netc.onnx.importer import import_graph
from netc.onnx.reader import load_model
from netc.draw.html import SUMMARY_FORMATS as FORMATS
from test_onnx_reader import M

FAST = 3.0        # seconds: every input below took 7 s to minutes before its fix


def _save(model, tmp_path, name="model.onnx"):
    path = tmp_path / name
    onnx.save(model, path)
    return path


def _timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def _error(path, **kw) -> tuple:
    """The first diagnostic of loading ``path`` and how long it took."""
    t = time.perf_counter()
    with pytest.raises(NetcError) as e:
        netc.load(path, **kw)
    return e.value.diagnostics[0], time.perf_counter() - t


def _every_output(net) -> dict:
    """The summary in every format, the lint findings and the imported text of ``net``."""
    mem = net.memory(1, "float32", "sgd")
    out = {fmt: render(net.analysis, mem, None) for fmt, render in FORMATS.items()}
    out["lint"] = "\n".join(d.format() for d in lint_file(net.graph.source.path))
    return out


# -- 1. bounded evaluation of values ----------------------------------------------------------

def test_squaring_a_constant_past_the_limit_is_refused_naming_the_node(tmp_path):
    """28 Mul(v, v) on a constant 2 feeding a Reshape target: 2^(2^28) before the fix
    (seconds and hundreds of MB); now E005 at the node that passes 10^18."""
    m = M((1, 3, 8, 8))
    v = m.const([2])
    for _ in range(28):
        v = m.op("Mul", [v, v])
    y = m.op("Reshape", ["x", m.op("Concat", [m.const([1]), v], axis=0)])
    d, took = _error(_save(m.model([y]), tmp_path), partial=True)
    assert took < FAST
    assert d.code == LIMIT and "beyond ±10^18" in d.message
    # 2^(2^6) = 2^64 is the first past 10^18: the sixth Mul, node 't7' (#6 after the Constant)
    assert d.span.where == "node 't7' (Mul #6)"


def test_values_never_grow_past_their_element_bound(tmp_path):
    """24 Concat(v, v) double a 1-element value to 16M elements before the fix (seconds,
    a message listing them all); ConstantOfShape, Range and Expand of huge sizes are
    never built. Each target is unknown: the Reshape is unsupported, quickly."""
    m = M((1, 3, 8, 8))
    v = m.const([1])
    for _ in range(24):
        v = m.op("Concat", [v, v], axis=0)
    huge = m.const([1 << 40])
    targets = [v,
               m.op("ConstantOfShape", [huge]),
               m.op("Range", [m.const([0], scalar=True), m.const([1 << 40], scalar=True),
                              m.const([1], scalar=True)]),
               m.op("Expand", [m.const([1]), huge])]
    outs = [m.op("Reshape", ["x", t]) for t in targets]
    net, took = _timed(netc.load, _save(m.model(outs), tmp_path), partial=True)
    assert took < FAST
    assert net.graph.unread_ops == {"Reshape": outs}
    assert len(net.graph.unread.format()) < 2000
    assert "target shape is not a constant" in net.graph.unread.format()


# -- 2. name_scopes metadata scanned once -----------------------------------------------------

HOSTILE_SCOPES = "'" + "\\'" * 32767          # 64 KB: every quote opens an unclosed item


def test_name_scopes_of_quoted_escapes_scan_in_linear_time(tmp_path):
    scope, took = _timed(provenance.torch_scope, HOSTILE_SCOPES)
    assert scope == ("", "") and took < 0.5
    m = M((1, 3, 8, 8))
    y = "x"
    for _ in range(10):
        y = m.op("Relu", [y])
        p = m.nodes[-1].metadata_props.add()
        p.key, p.value = provenance.NAME_SCOPES, HOSTILE_SCOPES
    net, took = _timed(netc.load, _save(m.model([y]), tmp_path))
    assert took < FAST and len(net.graph.nodes) == 10


def test_name_scopes_still_read_as_before():
    assert provenance.torch_scope("['', 'layer1', 'layer1.0', 'add']") == ("layer1.0", "add")
    assert provenance.torch_scope('["", "a", "a.b", "x"]') == ("a.b", "x")
    assert provenance.torch_scope("['', 'a', 'b") == ("", "a")       # unclosed: read up to it
    assert provenance.torch_scope("['', 'it\\'s', 'x']") == ("it\\'s", "x")


# -- 3. import linear in path depth and in names alike ---------------------------------------

@pytest.mark.parametrize("parts", [8000, 20000])
def test_a_node_named_with_thousands_of_dotted_parts_imports_fast(tmp_path, parts):
    m = M((1, 3, 8, 8))
    y = m.op("Relu", ["x"], name=".".join(["a"] * parts))
    y = m.op("Relu", [y])
    net = netc.load(_save(m.model([y]), tmp_path))
    text, took = _timed(import_graph, net.graph, "model.onnx")
    assert took < FAST
    assert "  - relu: {name: a_a_a_" in text             # named, at most 100 characters
    assert max(len(line) for line in text.splitlines()) < 150


def test_thousands_of_names_alike_read_and_import_in_linear_time(tmp_path):
    """Names made unique by counting: 20,000 nodes named 'r' (the reader) and 3,000 whose
    cleaned names are the same 100 characters (the importer) cost a square before."""
    m = M((1, 3, 8, 8))
    y = "x"
    for i in range(20000):
        m.nodes.append(helper.make_node("Relu", [y], [f"t{i}"], name="r"))
        y = f"t{i}"
    net, took = _timed(netc.load, _save(m.model([y]), tmp_path))
    assert took < 2 * FAST
    assert [n.name for n in net.graph.nodes[:3]] == ["r", "r_2", "r_3"] and net.graph.nodes[-1].name == "r_20000"
    m = M((1, 3, 8, 8))
    y = "x"
    for i in range(3000):
        y = m.op("Relu", [y], name="b" * 120 + f"/{i}")
    net = netc.load(_save(m.model([y]), tmp_path, "alike.onnx"))
    text, took = _timed(import_graph, net.graph, "alike.onnx")
    assert took < FAST
    assert f"{'b' * 100}_3000" in text


# -- 4. names that are not UTF-8 --------------------------------------------------------------

def _bad_utf8(tmp_path, where: str):
    """A model whose node / tensor / input / output / graph name or doc string holds invalid
    UTF-8 (patched into the bytes: protobuf's helpers refuse it)."""
    m = M((1, 3, 8, 8))
    y = m.op("Conv", ["x", m.w(4, 3, 3, 3)], name="NODEaaa")
    y = m.op("Relu", [y], name="RELUaaa")
    model = m.model([y])
    model.graph.name = "GRAPHaaa"
    model.graph.node[0].doc_string = "DOCaaa"
    key = {"node": b"NODEaaa", "graph": b"GRAPHaaa", "doc": b"DOCaaa", "tensor": b"w1",
           "input": b"x", "output": b"RELUaaa"}[where]
    data = model.SerializeToString()
    assert data.count(key) >= 1
    path = tmp_path / f"{where}.onnx"
    path.write_bytes(data.replace(key, (key[:-2] + b"\xff\xfe") if len(key) > 2 else b"\xff\xfe"[:len(key)]))
    return path


@pytest.mark.parametrize("where", ["node", "tensor", "input", "output", "graph", "doc"])
def test_invalid_utf8_is_decoded_once_and_reported(tmp_path, where):
    path = _bad_utf8(tmp_path, where)
    net = netc.load(path)
    [warning] = net.graph.warnings
    assert warning.code == TEXT and "not valid UTF-8" in warning.message
    outputs = _every_output(net)
    assert "warning[E012]" in outputs["lint"]
    text = import_graph(net.graph, str(path))
    shown = {"node": "NODEa\\xff\\xfe", "graph": "GRAPHa\\xff\\xfe"}.get(where)
    if shown:                    # the bad bytes shown as \xNN, the rest of the name kept
        formats = ("text", "markdown", "html") + (("csv",) if where == "node" else ())  # csv: no graph name
        # markdown writes a backslash as \\ (it renders as one)
        assert all((shown.replace("\\", "\\\\") if fmt == "markdown" else shown) in outputs[fmt]
                   for fmt in formats), where
        doc = json.loads(outputs["json"])
        assert shown == (doc["name"] if where == "graph" else doc["layers"][0]["name"])
        assert ('name: "GRAPHa\\\\xff\\\\xfe"' if where == "graph" else "name: NODEa_xff_xfe") in text


def test_invalid_utf8_warning_on_the_command_line(tmp_path):
    path = _bad_utf8(tmp_path, "node")
    r = run_netc("lint", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{path}: node 'NODEa\\xff\\xfe' (Conv #0): warning[E012]: 3 names")
    r = run_netc("import", str(path))
    assert r.returncode == 0 and "warning[E012]" in r.stderr and "Traceback" not in r.stderr


# -- 5. attributes of the wrong type, missing inputs -------------------------------------------

def _conv(**attrs):
    m = M((1, 3, 8, 8))
    y = m.op("Conv", ["x", m.w(4, 3, 3, 3)], name="conv", **attrs)
    return m.model([y])


def _concat_axis():
    m = M((1, 3, 8, 8))
    y = m.op("Concat", [m.op("Relu", ["x"]), "x"], name="cat", axis=[1.0])
    return m.model([y])


def _slice_without_ends():
    m = M((1, 3, 8, 8))
    return m.model([m.op("Slice", ["x", m.const([0])], name="cut")])


@pytest.mark.parametrize("model, node, why", [
    (lambda: _conv(strides=2), "'conv'", "attribute 'strides' is INT, not INTS as ONNX's Conv gives it"),
    (lambda: _conv(pads=1), "'conv'", "attribute 'pads' is INT, not INTS"),
    (lambda: _conv(kernel_shape=3), "'conv'", "attribute 'kernel_shape' is INT, not INTS"),
    (lambda: _conv(dilations=1.0), "'conv'", "attribute 'dilations' is FLOAT, not INTS"),
    (_concat_axis, "'cat'", "attribute 'axis' is FLOATS, not INT as ONNX's Concat gives it"),
    (_slice_without_ends, "'cut'", "2 inputs where ONNX's Slice requires 3"),
])
def test_wrong_attribute_types_and_missing_inputs_name_the_node(tmp_path, model, node, why):
    path = _save(model(), tmp_path)
    d, _ = _error(path)
    assert d.code == UNSUPPORTED
    assert f"1 node: {node} ({why}" in d.format()
    net = netc.load(path, partial=True)
    assert _every_output(net)["lint"].count("error[E011]") == 1


def _transpose_perm():
    m = M((1, 3, 8, 8))
    return m.model([m.op("Transpose", ["x"], name="t", perm=3)])


def test_a_transpose_with_a_wrong_perm_names_it(tmp_path):
    d, _ = _error(_save(_transpose_perm(), tmp_path))
    assert d.code == UNSUPPORTED and "1 node: 't' (attribute 'perm' is INT, not INTS" in d.format()


WRONG = {"INT": 2, "INTS": [2, 2], "FLOAT": 0.5, "FLOATS": [0.5], "STRING": "x",
         "TENSOR": helper.make_tensor("t", TensorProto.FLOAT, [1], [1.0])}


def test_every_reader_takes_every_attribute_of_every_type():
    """Each default-domain op netc reads, each attribute ONNX gives it, set to each type
    (one input, or two with a weight): a read or a NetcError, never another exception."""
    from netc.onnx.reader import READERS, read_graph

    tried = 0
    for op_type in sorted(t for t in READERS if onnx.defs.has(t)):
        attrs = onnx.defs.get_schema(op_type).attributes          # the latest: every name ONNX uses
        for name, (kind, value), inputs in itertools.product(attrs, WRONG.items(), (1, 2)):
            m = M((1, 3, 8, 8))
            y = m.op(op_type, ["x", *(m.w(3) for _ in range(inputs - 1))], **{name: value})
            try:
                analyze(read_graph(m.model([y]), "m.onnx", partial=True))
            except NetcError:
                pass
            tried += 1
    assert tried > 500


# -- 6. a model of which nothing could be read ------------------------------------------------

def _first_unsupported():
    m = M((1, 3, 8, 8))
    return m.model([m.op("Relu", [m.op("Selu", ["x"])])])


def _stride_zero():
    m = M((1, 3, 8, 8))
    return m.model([m.op("MaxPool", ["x"], kernel_shape=[2, 2], strides=[0, 0])])


def _never_produced():
    m = M((1, 3, 8, 8))
    return m.model([m.op("Add", ["x", "never"])])


@pytest.mark.parametrize("model", [_first_unsupported, _stride_zero, _never_produced])
def test_a_model_of_which_nothing_was_read_says_so_in_every_format(tmp_path, model):
    net = netc.load(_save(model(), tmp_path), partial=True)
    assert net.analysis.layers == []
    outputs = _every_output(net)
    for fmt in ("text", "markdown", "csv", "html"):
        assert "no layer of the model could be read" in outputs[fmt], fmt
    assert '"layers_read": 0' in outputs["json"]


def test_a_cycle_is_an_error(tmp_path):
    m = M((1, 3, 8, 8))
    m.nodes += [helper.make_node("Relu", ["b"], ["a"], name="r1"), helper.make_node("Relu", ["a"], ["b"], name="r2")]
    r = run_netc("summary", "--format", "html", str(_save(m.model(["b"]), tmp_path)))
    assert r.returncode == 1 and r.stdout == ""
    assert "error[E011]: graph output 'b' is not computed from the input" in r.stderr


# -- 7. constants matched NaN-safely ----------------------------------------------------------

def test_hardsigmoid_with_nan_alpha_is_not_pytorchs(tmp_path):
    m = M((1, 3, 8, 8))
    y = m.op("HardSigmoid", ["x"], alpha=float("nan"), beta=0.5)
    d, _ = _error(_save(m.model([y]), tmp_path))
    assert d.code == UNSUPPORTED and "HardSigmoid(alpha=nan, beta=0.5) is not relu6(x + 3) / 6" in d.format()


# -- 8. no graph outputs -------------------------------------------------------------------------

def test_import_of_a_model_without_outputs_fails(tmp_path):
    m = M((1, 3, 8, 8))
    m.op("Relu", ["x"])
    path = _save(m.model([]), tmp_path)
    r = run_netc("import", str(path))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith(f"{path}: graph outputs: error[E011]: the model has no graph outputs")


# -- 9. files that are not ONNX, or ONNX padded with unknown fields -----------------------------

def test_64_mib_of_zero_bytes_is_not_onnx_at_once(tmp_path):
    path = tmp_path / "zeros.onnx"
    path.write_bytes(bytes(64 << 20))
    d, took = _error(path)
    assert d.code == NOT_ONNX and took < 1.0


def test_a_model_padded_with_unknown_fields_reads_fast(tmp_path):
    """16 MB of unknown fields (field 20, varint 0: 5.3M fields) after a small model."""
    m = M((1, 3, 8, 8))
    data = m.model([m.op("Relu", ["x"])]).SerializeToString()
    path = tmp_path / "padded.onnx"
    path.write_bytes(data + b"\xa0\x01\x00" * (16_000_000 // 3))
    net, took = _timed(netc.load, path)
    assert took < FAST and [n.op for n in net.graph.nodes] == ["relu"]


def test_a_large_file_is_walked_within_a_field_budget(tmp_path, monkeypatch):
    """Past ``DIRECT_BYTES`` the file is walked field by field in Python: a budget of
    fields (outside the weights' data) bounds the time; past it, E005."""
    m = M((1, 3, 8, 8))
    data = m.model([m.op("Relu", ["x"])]).SerializeToString()
    path = tmp_path / "padded.onnx"
    path.write_bytes(data + b"\xa0\x01\x00" * 5000)
    monkeypatch.setattr(skeleton, "DIRECT_BYTES", 0)
    assert [n.op for n in netc.load(path).graph.nodes] == ["relu"]
    monkeypatch.setattr(skeleton, "MAX_FIELDS", 1000)
    d, _ = _error(path)
    assert d.code == LIMIT and "more than 1,000 protobuf fields" in d.message


def test_parsed_whole_or_walked_the_reader_sees_the_same_model(tmp_path, monkeypatch):
    """A small file is parsed by protobuf and trimmed; a large one walked: both drop the
    same tensor data (initializers and big Constant nodes), keep the small constants."""
    m = M((1, 3, 8, 8))
    big = m.w(64, 3, 3, 3)
    y = m.op("Conv", ["x", big], pads=[1, 1, 1, 1])
    m.nodes.append(helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(
        np.ones((8, 64, 1, 1), np.float32))))
    m.nodes.append(helper.make_node("Constant", [], ["i"], value=helper.make_tensor(
        "i", TensorProto.INT64, [300], list(range(300)))))             # packed varints: 300+ bytes
    y = m.op("Conv", [y, "k"])
    y = m.op("Reshape", [y, m.const([0, -1])])
    path = _save(m.model([y, "i"]), tmp_path)
    whole = load_model(str(path))
    monkeypatch.setattr(skeleton, "DIRECT_BYTES", 0)
    walked = load_model(str(path))
    assert whole == walked
    assert not whole.graph.initializer[0].raw_data and list(whole.graph.initializer[0].dims) == [64, 3, 3, 3]
