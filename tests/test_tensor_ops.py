"""Tensors of any rank (issue 18): the shape ops (reshape, permute, squeeze, unsqueeze,
expand, gather; slice, concat and flatten on any axis).

- their shape rules against numpy doing the same to real arrays of shape (batch, *shape)
  (hypothesis), never against netc's own formula;
- the YAML spelling, and its errors (the batch axis, a bad -1 or permutation);
- netc build: onnxruntime's shape of every layer equals netc's, on several ranks and axes,
  negative ones included;
- the ONNX reader: each ONNX op on tensors of several ranks (checked against onnxruntime),
  the batch-mixing Reshape refused (E011), the dynamic-batch Shape chain, the specific
  readers still first; the import round trip;
- real structure that is pure shape plumbing, hand-built: tresnet's space-to-depth, YOLO11's
  attention reshape to heads, ECA's Squeeze/Unsqueeze around its 1-D conv;
- every summary format, lint and both drawings on such tensors.
"""

import json
import xml.dom.minidom

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import netc
from conftest import run_netc
from netc.analysis import analyze
from netc.diagnostics import NetcError
from netc.onnx.build import build_model
from netc.onnx.importer import import_graph
from netc.onnx.reader import read_graph
from netc.ops import OPS, ShapeError
from test_onnx_reader import M, read, rows

SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
B = 2      # the batch numpy's arrays carry: never 1, so numpy never squeezes it


def infer(op: str, params: dict, *shapes):
    """netc's output shape of ``op`` with ``params`` (checked as a file's are) on ``shapes``."""
    o = OPS[op]
    p = {k: (None if v.default is None else v.check(v.default)) if k not in params else v.check(params[k])
         for k, v in o.params.items() if k in params or not v.required}
    return o.infer(p, list(shapes)).shape


def agree(op: str, params: dict, shapes, numpy_fn):
    """netc and numpy agree: the same shape (batch apart), or both refuse."""
    arrays = [np.zeros((B, *s), dtype=np.int8) for s in shapes]
    try:
        want = numpy_fn(*arrays).shape
    except (ValueError, IndexError, np.exceptions.AxisError):
        want = None
    try:
        got = infer(op, params, *shapes)
    except (ShapeError, ValueError):
        got = None
    if want is not None:
        assert want[0] == B, "a test case that moves the batch: netc must refuse it"
        want = want[1:]
    assert got == want, (op, params, shapes)


shapes = st.lists(st.integers(1, 4), min_size=1, max_size=5).map(tuple)


# -- shape rules against numpy -----------------------------------------------------------

@settings(max_examples=300, **SETTINGS)
@given(shapes, st.data())
def test_reshape_against_numpy(shape, data):
    n = int(np.prod(shape))
    divisors = [d for d in range(1, n + 1) if n % d == 0] + [3, 5]
    target = data.draw(st.lists(st.sampled_from(divisors), min_size=0, max_size=4))
    if data.draw(st.booleans()):
        target.insert(data.draw(st.integers(0, len(target))), -1)
    if data.draw(st.integers(0, 9)) == 0:
        target.append(-1)                                      # two -1: both refuse
    agree("reshape", {"shape": target}, [shape], lambda x: x.reshape((B, *target)))


@settings(max_examples=200, **SETTINGS)
@given(shapes, st.data())
def test_permute_against_numpy(shape, data):
    rest = data.draw(st.permutations(range(1, len(shape) + 1)))
    dims = [0, *rest]
    if data.draw(st.booleans()):                                # negative axes
        dims = [d - len(dims) if data.draw(st.booleans()) else d for d in dims]
    agree("permute", {"dims": dims}, [shape], lambda x: np.transpose(x, dims))


@settings(max_examples=200, **SETTINGS)
@given(shapes, st.data())
def test_squeeze_against_numpy(shape, data):
    rank = len(shape) + 1
    if data.draw(st.booleans()):
        agree("squeeze", {}, [shape], np.squeeze)               # every size-1 axis (the batch is 2)
        return
    axes = data.draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=3, unique=True))
    axes = [a - rank if data.draw(st.booleans()) else a for a in axes]
    agree("squeeze", {"axes": axes}, [shape], lambda x: np.squeeze(x, axis=tuple(axes)))


@settings(max_examples=200, **SETTINGS)
@given(shapes, st.data())
def test_unsqueeze_against_numpy(shape, data):
    k = data.draw(st.integers(1, 3))
    rank = len(shape) + 1 + k
    axes = data.draw(st.lists(st.integers(1, rank - 1), min_size=k, max_size=k))   # duplicates: refused
    axes = [a - rank if data.draw(st.booleans()) else a for a in axes]
    agree("unsqueeze", {"axes": axes}, [shape], lambda x: np.expand_dims(x, tuple(axes)))


@settings(max_examples=300, **SETTINGS)
@given(shapes, st.data())
def test_expand_against_numpy(shape, data):
    """PyTorch's expand (numpy's broadcast_to) and ONNX's Expand (both ways: numpy's
    broadcast of the input with ones of the target shape); new axes after the batch."""
    target = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=6))
    k = max(len(target) - len(shape), 0)
    x_rank = (1,) * k + tuple(shape)                  # the input as numpy aligns it, batch first
    ones = (1,) * (len(shape) - len(target)) + tuple(target)
    agree("expand", {"shape": target}, [shape],
          lambda x: x.reshape((B, *x_rank)) * np.ones((1, *ones), dtype=np.int8))
    # -1 keeps the size it meets (PyTorch's), only where the input has an axis
    if k == 0 and len(target) == len(shape):
        keep = [-1 if data.draw(st.booleans()) else t for t in target]
        full = [s if t == -1 else t for s, t in zip(shape, keep)]
        agree("expand", {"shape": keep}, [shape], lambda x: x * np.ones((1, *full), dtype=np.int8))


@settings(max_examples=300, **SETTINGS)
@given(shapes, st.data())
def test_slice_and_split_against_numpy(shape, data):
    i = data.draw(st.integers(0, len(shape) - 1))
    axis = i + 1 if data.draw(st.booleans()) else i - len(shape)
    n = shape[i]
    start = data.draw(st.integers(0, n - 1))
    end = data.draw(st.integers(start + 1, n))
    step = data.draw(st.integers(1, 3))
    cut = (slice(None),) * (i + 1) + (slice(start, end, step),)
    agree("slice", {"axis": axis, "start": start, "end": end, "step": step}, [shape], lambda x: x[cut])
    # a split into parts is one slice per part: np.split at the same points
    points = sorted(data.draw(st.sets(st.integers(1, n - 1), max_size=2))) if n > 1 else []
    parts = np.split(np.zeros((B, *shape)), points, axis=i + 1)
    for p, a, b in zip(parts, [0, *points], [*points, n]):
        assert infer("slice", {"axis": axis, "start": a, "end": b}, shape) == p.shape[1:]


@settings(max_examples=300, **SETTINGS)
@given(shapes, st.data())
def test_concat_against_numpy(shape, data):
    i = data.draw(st.integers(0, len(shape) - 1))
    axis = i + 1 if data.draw(st.booleans()) else i - len(shape)
    others = []
    for _ in range(data.draw(st.integers(1, 2))):
        s = list(shape)
        s[i] = data.draw(st.integers(1, 4))
        if data.draw(st.integers(0, 5)) == 0:              # a mismatch elsewhere: both refuse
            j = data.draw(st.integers(0, len(s) - 1))
            s[j] += 1
        others.append(tuple(s))
    agree("concat", {"axis": axis}, [shape, *others],
          lambda *xs: np.concatenate(xs, axis=axis if axis < 0 else axis))


@settings(max_examples=300, **SETTINGS)
@given(shapes, st.data())
def test_gather_against_numpy(shape, data):
    i = data.draw(st.integers(0, len(shape) - 1))
    axis = i + 1 if data.draw(st.booleans()) else i - len(shape)
    n = shape[i]
    index = st.integers(-n - 1, n)                        # one past each end: both refuse
    if data.draw(st.booleans()):
        idx = data.draw(index)
    else:
        idx = data.draw(st.lists(index, min_size=1, max_size=5))
    agree("gather", {"axis": axis, "indices": idx}, [shape], lambda x: np.take(x, idx, axis=axis))


@settings(max_examples=200, **SETTINGS)
@given(shapes, st.data())
def test_flatten_against_numpy(shape, data):
    """torch.flatten(x, start_dim, end_dim), as numpy's reshape of the axes start..end."""
    rank = len(shape) + 1
    s = data.draw(st.integers(1, rank - 1))
    e = data.draw(st.integers(1, rank - 1))
    start = s - rank if data.draw(st.booleans()) else s
    end = e - rank if data.draw(st.booleans()) else e

    def flat(x):
        if e < s:
            raise ValueError("end before start")
        return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])
    agree("flatten", {"start": start, "end": end}, [shape], flat)


def test_defaults_keep_todays_meaning():
    assert infer("flatten", {}, (8, 4, 4)) == (128,)
    assert infer("slice", {"start": 2}, (8, 4, 4)) == (6, 4, 4)
    assert infer("concat", {}, (8, 4, 4), (2, 4, 4)) == (10, 4, 4)


# -- YAML ------------------------------------------------------------------------------

HEAD = "netc: 1\ninput: {shape: [8, 6, 4]}\nlayers:\n  - conv: {name: c, filters: 12, kernel: 3, padding: 1}\n"


def load_error(text):
    with pytest.raises(NetcError) as e:
        netc.loads(HEAD + text)
    return e.value.diagnostics[0]


@pytest.mark.parametrize("layer, code, words", [
    ("reshape: {shape: [5, -1]}", "E004", "5 does not divide 288"),
    ("reshape: {shape: [-1, -1]}", "E004", "more than one -1"),
    ("reshape: {shape: [0, 288]}", "E004", "has a 0"),
    ("permute: {dims: [1, 0, 2, 3]}", "E004", "move the batch"),
    ("permute: {dims: [0, 1, 1, 2]}", "E004", "not a permutation"),
    ("permute: {dims: [0, 2, 1]}", "E004", "name 3 axes"),
    ("squeeze: {axes: [1]}", "E004", "squeeze channels of size 12"),
    ("squeeze: {axes: [0]}", "E004", "is the batch"),
    ("unsqueeze: {axes: [0]}", "E004", "is the batch"),
    ("unsqueeze: {axes: [9]}", "E004", "out of range"),
    ("expand: {shape: [5, 6, 4]}", "E004", "sizes 12 and 5 differ"),
    ("expand: {shape: [-1, 12, 6, 4]}", "E004", "not a new one"),
    ("gather: {indices: [12]}", "E004", "index 12 is out of range for channels of size 12"),
    ("gather: {indices: [1], axis: 0}", "E004", "is the batch"),
    ("slice: {axis: 2, end: 7}", "E004", "end 7 is past the 6 entries of axis 2"),
    ("slice: {axis: -4}", "E004", "is the batch"),
    ("concat: {from: [c, input], axis: 2}", "E004", "alike in every other axis"),
    ("flatten: {start: 3, end: 2}", "E004", "comes before start"),
    ("reshape: {shape: seven}", "E003", "seven"),
    ("gather: {indices: [1.5]}", "E002", "indices"),
])
def test_yaml_errors_name_the_problem(layer, code, words):
    d = load_error(f"  - {layer}\n")
    assert d.code == code and words in d.message, d.message


def test_yaml_spelling_and_counts():
    net = netc.loads(HEAD + """\
  - reshape: {name: heads, shape: [2, 6, -1]}
  - permute: {dims: [0, 1, -1, 2]}
  - unsqueeze: {axes: 1}
  - squeeze
  - expand: {shape: [3, -1, -1, -1]}
  - gather: {indices: [0, 2], axis: 1}
  - gather: {indices: -1, axis: 1}
  - slice: {axis: -1, start: 1, end: 5, step: 2}
  - concat: {from: [slice1, slice1], axis: 2}
  - flatten: {start: 2}
  - flatten
""")
    assert [(r.op, r.output_shape) for r in net.layers[1:]] == [
        ("reshape", (2, 6, 24)), ("permute", (2, 24, 6)), ("unsqueeze", (1, 2, 24, 6)),
        ("squeeze", (2, 24, 6)), ("expand", (3, 2, 24, 6)), ("gather", (2, 2, 24, 6)),
        ("gather", (2, 24, 6)), ("slice", (2, 24, 2)), ("concat", (2, 48, 2)), ("flatten", (2, 96)),
        ("flatten", (192,))]
    # free: no parameters, MACs or FLOPs; no receptive field once the data leaves the map
    assert all((r.params, r.macs, r.flops) == (0, 0, 0) for r in net.layers[1:])
    assert net.layers[0].field is not None and all(r.field is None for r in net.layers[1:])


def test_a_slice_or_gather_of_channels_keeps_the_receptive_field():
    net = netc.loads(HEAD + "  - slice: {end: 4}\n  - gather: {from: c, indices: [3, 1]}\n"
                            "  - slice: {from: c, axis: 3, step: 2}\n")
    c, s, g, w = net.layers
    assert s.field == c.field and g.field == c.field
    assert w.field.size == c.field.size and w.field.jump == (1, 2)


# -- netc build against onnxruntime ------------------------------------------------------

BUILD = """\
netc: 1
input: {shape: [4, 6, 8]}
layers:
  - conv: {name: c, filters: 8, kernel: 1}
  - reshape: {name: r5, shape: [2, 4, 6, 2, 4]}
  - permute: {name: p5, dims: [0, 3, -1, 1, 4, 2]}
  - reshape: {name: r2, from: c, shape: [48, -1]}
  - permute: {name: p2, dims: [0, -1, 1]}
  - unsqueeze: {name: u, from: p2, axes: [-1, 1]}
  - squeeze: {name: s, axes: [1, -1]}
  - squeeze: {name: s_all, from: u}
  - expand: {name: e, from: c, shape: [2, 3, -1, -1, -1]}
  - expand: {name: e1, from: u, shape: [1, 8, 48, 5]}
  - gather: {name: g, from: e, indices: [2, 0, 2], axis: -3}
  - gather: {name: g1, from: r5, indices: -1, axis: -2}
  - slice: {name: sl, from: r5, axis: -1, start: 1, step: 2}
  - slice: {name: sl3, from: p5, axis: 2, start: 1, end: 4}
  - concat: {name: cat, from: [sl, sl, r5], axis: 5}
  - concat: {name: cat_neg, from: [g1, g1], axis: -3}
  - flatten: {name: f, from: r5, start: 2, end: -2}
  - flatten: {name: f_all, from: p5}
outputs: [r5, p5, r2, p2, u, s, s_all, e, e1, g, g1, sl, sl3, cat, cat_neg, f, f_all]
"""


def test_build_shapes_equal_onnxruntimes_for_every_op():
    net = netc.loads(BUILD)
    model = build_model(net)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((3, 4, 6, 8)).astype(np.float32)
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {sess.get_inputs()[0].name: x})))
    shapes = net.analysis.shapes()
    assert len(outs) == 17
    for name, y in outs.items():
        assert y.shape == (3, *shapes[name]), name
    # ranks 1 to 5 after the batch were all built
    assert {len(s) for s in map(shapes.get, outs)} == {1, 2, 3, 4, 5}
    # and the values are numpy's: the permute and gather move the data as numpy does
    c = net.layers[0]
    assert outs["p5"].shape[1:] == np.transpose(outs["r5"], (0, 3, 5, 1, 4, 2)).shape[1:]
    np.testing.assert_array_equal(outs["p5"], np.transpose(outs["r5"], (0, 3, 5, 1, 4, 2)))
    np.testing.assert_array_equal(outs["g1"], np.take(outs["r5"], -1, axis=-2))
    np.testing.assert_array_equal(outs["sl"], outs["r5"][..., 1::2])
    assert c.name == "c"


def test_build_then_read_then_import_round_trips(tmp_path):
    """netc build -> read -> import: the same layers, shapes and counts."""
    net = netc.loads(BUILD)
    graph = read_graph(build_model(net), "m.onnx")
    text = import_graph(graph, "m.onnx")
    again = netc.loads(text, "imported.yaml")
    # the partial flatten is built as a Reshape and reads back as a reshape: the same shape
    want = [("reshape" if r.name == "f" else r.op, r.output_shape) for r in net.layers]
    assert [(r.op, r.output_shape) for r in again.layers] == want
    t, u = again.totals, net.totals
    assert (t.params, t.macs, t.flops, t.activations) == (u.params, u.macs, u.flops, u.activations)


# -- the ONNX reader -----------------------------------------------------------------------

def test_reader_each_op_on_several_ranks():
    m = M((1, 4, 6, 8))
    r = m.op("Reshape", ["x", m.const([0, 2, 2, 6, -1])])                       # (2, 2, 6, 8)
    t = m.op("Transpose", [r], perm=[0, 4, 2, 1, 3])                           # (8, 2, 2, 6)
    sq = m.op("Squeeze", [m.op("Unsqueeze", [t, m.const([-1, 2])]), m.const([2, 6])])
    e = m.op("Expand", [m.op("Reshape", ["x", m.const([0, 4, 1, 48])]), m.const([4, 3, 48])])
    g = m.op("Gather", [t, m.const([1, 0, 1])], axis=-2)                        # (8, 2, 3, 6)
    g1 = m.op("Gather", [t, m.const([5], scalar=True)], axis=4)                 # (8, 2, 2)
    fl = m.op("Flatten", [m.op("Reshape", [t, m.const([0, -1])])], axis=1)
    sl = m.op("Slice", [t, m.const([1]), m.const([100]), m.const([-3]), m.const([2])])
    cat = m.op("Concat", [g, g], axis=-1)
    a = read(m.model([sq, e, g1, fl, sl, cat]))
    assert [(r.op, r.output_shape) for r in a.layers] == [
        ("reshape", (2, 2, 6, 8)), ("permute", (8, 2, 2, 6)), ("unsqueeze", (8, 1, 2, 2, 6, 1)),
        ("squeeze", (8, 2, 2, 6)), ("reshape", (4, 1, 48)), ("expand", (4, 3, 48)),
        ("gather", (8, 2, 3, 6)), ("gather", (8, 2, 2)), ("flatten", (192,)), ("flatten", (192,)),
        ("slice", (8, 1, 2, 6)), ("concat", (8, 2, 3, 12))]
    p = [r.node.params for r in a.layers]
    assert p[1]["dims"] == (0, 4, 2, 1, 3) and p[2]["axes"] == (2, 6) and p[3]["axes"] == (2, 6)
    assert (p[6]["indices"], p[6]["axis"]) == ((1, 0, 1), 3)
    assert (p[10]["axis"], p[10]["start"], p[10]["step"]) == (2, 1, 2) and p[11]["axis"] == 4
    assert (p[7]["indices"], p[7]["axis"]) == (5, 4)


@pytest.mark.parametrize("opset", [11, 13])
def test_squeeze_unsqueeze_axes_as_attributes_before_opset_13(opset):
    m = M((1, 4, 6, 1), opset=opset)
    axes = (lambda a: {"axes": a}) if opset < 13 else (lambda a: {})
    extra = (lambda a: []) if opset < 13 else (lambda a: [m.const(a)])
    s = m.op("Squeeze", ["x", *extra([3])], **axes([3]))
    u = m.op("Unsqueeze", [s, *extra([1])], **axes([1]))
    a = read(m.model([u]))
    assert [(r.op, r.output_shape) for r in a.layers] == [("squeeze", (4, 6)), ("unsqueeze", (1, 4, 6))]


def _shape_chain(m, x, index):
    """Shape(x)[index] as a 1-element tensor (TorchScript's x.size(i))."""
    return m.op("Unsqueeze", [m.op("Gather", [m.op("Shape", [x]), m.const([index], scalar=True)], axis=0),
                              m.const([0])])


def test_reshape_with_the_dynamic_batch_from_the_shape_chain():
    """YOLO-style x.view(x.size(0), heads, -1, x.size(3)): the batch from Shape -> Gather ->
    Unsqueeze, the other sizes constants and computed, Concat'ed."""
    m = M((1, 8, 6, 4))
    n, w = _shape_chain(m, "x", 0), _shape_chain(m, "x", 3)
    y = m.op("Reshape", ["x", m.op("Concat", [n, m.const([2, -1]), w], axis=0)])
    a = read(m.model([y]))
    assert rows(a) == [("reshape", (2, 24, 4), 0, 0)]


@pytest.mark.parametrize("target, why", [
    ("batch_in_the_middle", "folds the batch into other dimensions"),
    ([-1, 2, 2, 16], "Reshape to [-1, 2, 2, 16] folds the batch"),
    ([4, 48], "Reshape to [4, 48] folds the batch"),
    ([0, 0, 0, 0, 0], "Reshape to [0, 0, 0, 0, 0] of (4, 6, 8)"),
])
def test_a_reshape_that_mixes_the_batch_is_e011_and_says_why(target, why):
    m = M((1, 4, 6, 8))
    if target == "batch_in_the_middle":
        shape = m.op("Concat", [m.const([4]), _shape_chain(m, "x", 0), m.const([-1])], axis=0)
    else:
        shape = m.const(target)
    y = m.op("Reshape", ["x", shape], name="attn/Reshape")
    with pytest.raises(NetcError) as e:
        read(m.model([y]), check_ort=False)
    (d,) = e.value.diagnostics
    assert d.code == "E011" and "attn/Reshape" in str(d.span)
    assert any(why in n for _, n in d.notes), d.notes


@pytest.mark.parametrize("perm, what", [([1, 0, 2, 3], "moves the batch"), ([0, 1, 1, 2], "perm")])
def test_a_transpose_of_the_batch_is_e011(perm, what):
    m = M((1, 4, 6, 8))
    y = m.op("Transpose", ["x"], perm=perm)
    with pytest.raises(NetcError) as e:
        read(m.model([y]), check_ort=False)
    assert e.value.diagnostics[0].code == "E011" and what in str(e.value)


def test_other_refusals_are_e011():
    cases = [
        lambda m: m.op("Squeeze", ["x", m.const([1])]),                             # 4 channels
        lambda m: m.op("Squeeze", ["x", m.const([0])]),                             # the batch
        lambda m: m.op("Unsqueeze", ["x", m.const([0])]),
        lambda m: m.op("Expand", ["x", m.const([2, 1, 4, 6, 8])]),                  # before the batch
        lambda m: m.op("Expand", ["x", m.const([3, 4, 6, 8])]),                     # the batch to 3
        lambda m: m.op("Gather", ["x", m.const([1])], axis=0),
        lambda m: m.op("Gather", ["x", m.const([[1, 2]])], axis=1),                  # 2-D indices
        lambda m: m.op("Slice", ["x", m.const([0]), m.const([2]), m.const([0])]),   # the batch
        lambda m: m.op("Slice", ["x", m.const([3]), m.const([0]), m.const([1]), m.const([-1])]),
        lambda m: m.op("Slice", ["x", m.const([0, 0]), m.const([2, 2]), m.const([1, 2])]),
        lambda m: m.op("Concat", ["x", "x"], axis=-4),
    ]
    for case in cases:
        m = M((1, 4, 6, 8))
        y = case(m)
        with pytest.raises(NetcError) as e:
            read(m.model([y]), check_ort=False)
        assert e.value.diagnostics[0].code == "E011", e.value


def test_split_on_another_axis_is_one_slice_per_part():
    from onnx import helper

    m = M((1, 4, 6, 8))
    m.nodes.append(helper.make_node("Split", ["x", m.const([2, 6])], ["a", "b"], name="sp", axis=-1))
    a = read(m.model(["a", "b"]))
    assert [(r.name, r.op, r.output_shape) for r in a.layers] == [
        ("sp_0", "slice", (4, 6, 2)), ("sp_1", "slice", (4, 6, 6))]
    assert [r.node.params["axis"] for r in a.layers] == [3, 3]


def test_the_specific_readers_still_come_first():
    """Flatten, channel shuffle, crop, the vector-as-map Unsqueeze and the channels-last
    region read as before; only what none of them takes is a generic shape op."""
    m = M((1, 4, 6, 6))
    f = m.op("Reshape", ["x", m.const([0, -1])])                                       # flatten
    c = m.op("Slice", ["x", m.const([1, 1]), m.const([5, 5]), m.const([2, 3])])          # centre crop
    v = m.op("Transpose", [m.op("Reshape", ["x", m.const([0, 2, 2, 6, 6])])], perm=[0, 2, 1, 3, 4])
    v = m.op("Reshape", [v, m.const([0, 4, 6, 6])])
    g = m.op("Flatten", [m.op("GlobalAveragePool", ["x"])])
    u = m.op("Mul", ["x", m.op("Unsqueeze", [g, m.const([2, 3])])])                      # vector as map
    t = m.op("Transpose", [m.op("Relu", [m.op("Transpose", ["x"], perm=[0, 2, 3, 1])])], perm=[0, 3, 1, 2])
    a = read(m.model([f, c, v, u, t]))
    assert [r.op for r in a.layers] == ["flatten", "crop", "channel_shuffle", "global_avgpool", "mul", "relu"]


def test_a_map_reader_given_another_tensor_is_e011_not_a_shape_error():
    """A Conv, a Pad, a pool or an LRN on a tensor that is no map (four axes after the
    channels: a map has one to three) is a node netc does not read, never a traceback nor
    an E004 shape error of the model."""
    for make in (lambda m, y: m.op("Conv", [y, m.w(3, 4, 1, 1)]),
                 lambda m, y: m.op("Pad", [y, m.const([0, 0, 1, 0, 0, 1])]),
                 lambda m, y: m.op("MaxPool", [y], kernel_shape=[2]),
                 lambda m, y: m.op("LRN", [y], size=3)):
        m = M((1, 4, 6, 8))
        y = make(m, m.op("Reshape", ["x", m.const([0, 4, 2, 2, 3, 4])]))
        with pytest.raises(NetcError) as e:
            read(m.model([y]), check_ort=False)
        assert e.value.diagnostics[0].code == "E011", e.value


def test_a_reader_written_for_maps_and_vectors_given_a_scalar_is_e011_not_a_traceback():
    """BatchNormalization, PRelu and Resize readers index a (C, ...) shape: on the () a
    Gather of one index gives (one number per sample) they used to raise IndexError."""
    for make in (lambda m, s: m.op("BatchNormalization", [s, m.w(1), m.w(1), m.w(1), m.w(1)]),
                 lambda m, s: m.op("PRelu", [s, m.w(1)]),
                 lambda m, s: m.op("Resize", [s, "", m.const([1.0, 2.0], np.float32)])):
        m = M((1, 4, 6, 8))
        v = m.op("Flatten", [m.op("GlobalAveragePool", ["x"])])
        y = make(m, m.op("Gather", [v, m.const([1], scalar=True)], axis=1))
        with pytest.raises(NetcError) as e:
            read(m.model([y]), check_ort=False)
        assert e.value.diagnostics[0].code == "E011" and "()" in str(e.value)


def test_hostile_shape_nodes_give_errors_never_tracebacks():
    rng = np.random.default_rng(18)
    values = [-5, -2, -1, 0, 1, 2, 3, 4, 7, 1 << 20, 1 << 40]
    ints = lambda k: [int(v) for v in rng.choice(values, k)]
    specs = [
        ("Reshape", lambda m: ["x", m.const(ints(int(rng.integers(0, 7))))], {}),
        ("Transpose", lambda m: ["x"], {"perm": lambda: ints(4)}),
        ("Squeeze", lambda m: ["x", m.const(ints(2))], {}),
        ("Unsqueeze", lambda m: ["x", m.const(ints(2))], {}),
        ("Expand", lambda m: ["x", m.const(ints(int(rng.integers(1, 6))))], {}),
        ("Gather", lambda m: ["x", m.const(ints(3))], {"axis": lambda: int(rng.choice(values))}),
        ("Slice", lambda m: ["x", *(m.const(ints(1)) for _ in range(4))], {}),
        ("Concat", lambda m: ["x", "x"], {"axis": lambda: int(rng.choice(values))}),
        ("Flatten", lambda m: ["x"], {"axis": lambda: int(rng.choice(values))}),
        ("Split", None, {}),
    ]
    outcomes = set()
    for _ in range(300):
        op_type, inputs, attrs = specs[rng.integers(len(specs))]
        m = M((1, 4, 3, 2), opset=18)
        if op_type == "Split":
            from onnx import helper
            m.nodes.append(helper.make_node("Split", ["x", m.const(ints(2))], ["a", "b"],
                                            axis=int(rng.choice(values))))
            y = ["a", "b"]
        else:
            y = [m.op(op_type, inputs(m), **{k: f() for k, f in attrs.items() if rng.random() < 0.8})]
        try:
            a = analyze(read_graph(m.model(y), "m.onnx"))
            outcomes.add("read")
            assert all(d > 0 for r in a.layers for d in r.output_shape)
        except NetcError as e:
            outcomes.add(e.diagnostics[0].code)
    assert {"read", "E011"} <= outcomes


# -- real structure: pure shape plumbing -----------------------------------------------------

def test_tresnet_space_to_depth_reads_whole():
    """timm's SpaceToDepth (tresnet_m's stem, block size 4): view(N, C, H/4, 4, W/4, 4),
    permute(0, 3, 5, 1, 2, 4), view(N, C*16, H/4, W/4); then its first conv."""
    m = M((1, 3, 32, 32))
    v = m.op("Reshape", ["x", m.const([0, 3, 8, 4, 8, 4])], name="s2d/view")
    t = m.op("Transpose", [v], perm=[0, 3, 5, 1, 2, 4], name="s2d/permute")
    s = m.op("Reshape", [t, m.const([0, 48, 8, 8])], name="s2d/view_1")
    y = m.op("Conv", [s, m.w(24, 48, 3, 3)], pads=[1, 1, 1, 1], name="conv1")
    a = read(m.model([y]))
    assert rows(a) == [("reshape", (3, 8, 4, 8, 4), 0, 0), ("permute", (4, 4, 3, 8, 8), 0, 0),
                       ("reshape", (48, 8, 8), 0, 0), ("conv", (24, 8, 8), 24 * 48 * 9, 24 * 48 * 9 * 64)]
    assert a.totals.params == 24 * 48 * 9 and a.totals.macs == 24 * 48 * 9 * 64


def test_yolo11_attention_reshape_to_heads_reads_whole():
    """YOLO11n's C2PSA Attention (dim 128, 2 heads, key_dim 32, head_dim 64) on 4x4:
    qkv conv, view(B, heads, 2*key_dim + head_dim, N), split [32, 32, 64] on axis 2,
    q.transpose(-2, -1); v's view back to (B, C, H, W) feeds the positional conv."""
    from onnx import helper

    m = M((1, 128, 4, 4))
    qkv = m.op("Conv", ["x", m.w(256, 128, 1, 1), m.w(256)], name="attn/qkv/conv/Conv")
    n = _shape_chain(m, qkv, 0)
    r = m.op("Reshape", [qkv, m.op("Concat", [n, m.const([2, 128, -1])], axis=0)], name="attn/Reshape")
    m.nodes.append(helper.make_node("Split", [r, m.const([32, 32, 64])], ["q", "k", "v"], name="attn/Split",
                                    axis=2))
    qt = m.op("Transpose", ["q"], perm=[0, 1, 3, 2], name="attn/Transpose")
    vm = m.op("Reshape", ["v", m.const([0, 128, 4, 4])], name="attn/Reshape_1")
    pe = m.op("Conv", [vm, m.w(128, 1, 3, 3), m.w(128)], pads=[1, 1, 1, 1], group=128, name="attn/pe/conv/Conv")
    a = read(m.model([qt, "k", pe]))
    assert [(r.name, r.op, r.output_shape) for r in a.layers] == [
        ("attn/qkv/conv/Conv", "conv", (256, 4, 4)), ("attn/Reshape", "reshape", (2, 128, 16)),
        ("attn/Split_0", "slice", (2, 32, 16)), ("attn/Split_1", "slice", (2, 32, 16)),
        ("attn/Split_2", "slice", (2, 64, 16)), ("attn/Transpose", "permute", (2, 16, 32)),
        ("attn/Reshape_1", "reshape", (128, 4, 4)), ("attn/pe/conv/Conv", "conv", (128, 4, 4))]
    assert a.totals.params == 256 * 128 + 256 + 128 * 9 + 128
    assert a.totals.macs == 256 * 128 * 16 + 128 * 9 * 16


def _eca(m, x, c, conv):
    """timm's EcaModule as TorchScript writes it: GlobalAveragePool, Squeeze(-1),
    Transpose(-1, -2), the 1-D conv (k 3, pad 1, no bias) over channels, Transpose back,
    Unsqueeze(-1), Sigmoid, Mul."""
    y = m.op("Squeeze", [m.op("GlobalAveragePool", [x], name="eca/pool"), m.const([-1])], name="eca/Squeeze")
    y = m.op("Transpose", [y], perm=[0, 2, 1], name="eca/Transpose")
    if conv:
        y = m.op("Conv", [y, m.w(1, 1, 3)], pads=[1, 1], name="eca/conv/Conv")
    y = m.op("Transpose", [y], perm=[0, 2, 1], name="eca/Transpose_1")
    y = m.op("Sigmoid", [m.op("Unsqueeze", [y, m.const([-1])], name="eca/Unsqueeze")], name="eca/Sigmoid")
    return m.op("Mul", [x, y], name="eca/Mul")


def test_eca_squeeze_and_unsqueeze_around_the_gate_read_whole():
    """ECA's shape plumbing reads with exact counts. Its 1-D conv (Conv on the rank-2
    tensor (1, C)) is the 1-D windows' work (another branch): without it the gate reads
    whole; with it, the read stops at that Conv alone, after the Squeeze and Transpose."""
    m = M((1, 16, 8, 8))
    x = m.op("Conv", ["x", m.w(16, 16, 3, 3)], pads=[1, 1, 1, 1], name="conv")
    a = read(m.model([_eca(m, x, 16, conv=False)]))
    assert [(r.op, r.output_shape) for r in a.layers] == [
        ("conv", (16, 8, 8)), ("global_avgpool", (16, 1, 1)), ("squeeze", (16, 1)),
        ("permute", (1, 16)), ("permute", (16, 1)), ("unsqueeze", (16, 1, 1)), ("sigmoid", (16, 1, 1)),
        ("mul", (16, 8, 8))]
    assert a.totals.params == 16 * 16 * 9 and a.totals.macs == 16 * 16 * 9 * 64
    assert a.layers[-1].field == a.layers[0].field          # the gate does not blur the map's field
    m = M((1, 16, 8, 8))
    x = m.op("Conv", ["x", m.w(16, 16, 3, 3)], pads=[1, 1, 1, 1], name="conv")
    graph = read_graph(m.model([_eca(m, x, 16, conv=True)]), "eca.onnx", partial=True)
    if "Conv" in graph.unread_ops:                         # this branch: no 1-D conv yet
        assert graph.unread_ops == {"Conv": ["eca/conv/Conv"]}
        assert [n.op for n in graph.nodes] == ["conv", "global_avgpool", "squeeze", "permute"]
    else:                                                  # once 1-D windows are merged
        assert graph.unread is None


# -- downstream: summaries, lint, drawings -----------------------------------------------------

PLUMBING = HEAD + """\
  - reshape: {shape: [2, 6, -1]}
  - permute: {dims: [0, 1, 3, 2]}
  - gather: {indices: 0, axis: 1}
  - gather: {indices: [0], axis: 1}
  - squeeze: {axes: [1]}
  - gather: {indices: 0, axis: 1}
  - unsqueeze: {axes: [1, 2]}
  - expand: {shape: [4, 1, 3]}
  - reshape: {shape: [3, 2, 2]}
  - conv: {filters: 8, kernel: 1}
"""


def test_every_output_copes_with_any_rank(write, tmp_path):
    """A scalar per sample (), rank 1 to 4, and a map again: summary in every format, lint
    with every rule, both drawings (valid SVG) and the HTML report; no traceback."""
    path = write(PLUMBING)
    net = netc.load(path)
    assert [r.output_shape for r in net.layers][3:8] == [(24, 6), (1, 6), (6,), (), (1, 1)]
    for fmt in ("text", "json", "markdown", "csv", "html"):
        r = run_netc("summary", str(path), "--format", fmt)
        assert r.returncode == 0 and "Traceback" not in r.stderr, (fmt, r.stderr)
    data = json.loads(run_netc("summary", str(path), "--format", "json").stdout)
    shapes = [layer["output_shape"] for layer in data["layers"]]
    assert [] in shapes and [4, 1, 3] in shapes and shapes[-1] == [8, 2, 2]
    r = run_netc("lint", str(path), "--select", "A,D,G,N,S")
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
    for view in ("volume", "graph"):
        out = tmp_path / f"{view}.svg"
        r = run_netc("draw", str(path), "--view", view, "-o", str(out))
        assert r.returncode == 0, r.stderr
        xml.dom.minidom.parse(str(out))


def test_hand_built_exports_import_and_round_trip():
    """netc import of models read whole (space-to-depth, a dynamic-batch reshape to heads with
    a split on axis 2 and a transpose, ECA's gate): the text loads back as the same layers,
    shapes and counts."""
    from onnx import helper

    models = []
    m = M((1, 3, 32, 32))
    v = m.op("Reshape", ["x", m.const([0, 3, 8, 4, 8, 4])], name="s2d/view")
    t = m.op("Transpose", [v], perm=[0, 3, 5, 1, 2, 4], name="s2d/permute")
    models.append(m.model([m.op("Conv", [m.op("Reshape", [t, m.const([0, 48, 8, 8])]), m.w(8, 48, 3, 3)])]))
    m = M((1, 16, 4, 4))
    r = m.op("Reshape", ["x", m.op("Concat", [_shape_chain(m, "x", 0), m.const([2, 8, -1])], axis=0)])
    m.nodes.append(helper.make_node("Split", [r, m.const([2, 6])], ["q", "v"], name="sp", axis=2))
    models.append(m.model([m.op("Transpose", ["q"], perm=[0, 1, 3, 2]), "v"]))
    m = M((1, 16, 8, 8))
    models.append(m.model([_eca(m, "x", 16, conv=False)]))
    for model in models:
        a = analyze(read_graph(model, "m.onnx"))
        again = netc.loads(import_graph(a.graph, "m.onnx"), "imported.yaml")
        assert [(r.op, r.output_shape) for r in again.layers] == [(r.op, r.output_shape) for r in a.layers]
        t, u = again.totals, a.totals
        assert (t.params, t.macs, t.flops, t.activations) == (u.params, u.macs, u.flops, u.activations)
