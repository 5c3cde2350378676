"""`netc build --onnx`: whole networks, the model's properties, reproducibility,
external data, atomic writes and the command line."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import netc
from conftest import EXAMPLES, ROOT, run_netc
from netc.onnx import build as onnx_build
from netc.onnx.build import BuildError, Deferred, RuntimeUnsupported, build_model, write_model
from onnx_reference import network, random_weights, reference, run

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
FIG7 = EXAMPLES / "murphy-fig7.yaml"
SMALL = ["conv: {filters: 8, kernel: 3, padding: 1, activation: relu}", "batchnorm",
         "maxpool: {kernel: 2}", "conv: {filters: 8, kernel: 3, stride: 2, padding: same, activation: relu6}",
         "global_avgpool", "dense: {units: 10}", "softmax"]


def small_net():
    return network(SMALL, (3, 16, 16))


def session(path_or_model):
    data = path_or_model if isinstance(path_or_model, str) else path_or_model.SerializeToString()
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


# -- whole networks ---------------------------------------------------------------

@pytest.mark.slow
def test_fig7_end_to_end_against_the_reference():
    """The paper's Figure 7 network, with its own seeded he_normal weights, batch 2,
    every conv output and the logits checked, not only the saturated softmax."""
    text = FIG7.read_text() + "outputs: [conv4, fc2, output, softmax1]\n"
    net = netc.loads(text, "murphy-fig7.yaml")
    model = build_model(net, check=False)      # the examples test checks it
    x = np.random.default_rng(0).standard_normal((2, 3, 125, 125)).astype(np.float32)
    got, want = run(model, x), reference(net, model, x)
    for g, w in zip(got, want):
        scale = np.abs(w).max()
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_every_example_builds_checks_and_runs(path, tmp_path):
    net = netc.load(path)
    model = build_model(net)                   # checks with full_check=True
    out = tmp_path / "model.onnx"
    write_model(model, out)                    # checks the written file too
    onnx.checker.check_model(str(out), full_check=True)
    assert sum(int(np.prod(t.dims)) for t in model.graph.initializer) == net.totals.params
    sess = session(str(out))
    x = np.random.default_rng(1).standard_normal((3, *net.graph.input_shape)).astype(np.float32)
    three = sess.run(None, {net.graph.input_name: x})
    one = sess.run(None, {net.graph.input_name: x[:1]})
    shapes = net.analysis.shapes()
    for name, y3, y1 in zip(net.graph.outputs, three, one):
        assert y3.shape == (3, *shapes[name]) and y1.shape == (1, *shapes[name])
        assert np.isfinite(y3).all()
        np.testing.assert_allclose(y1[0], y3[0], rtol=1e-4, atol=1e-5 * max(1.0, np.abs(y3).max()))


# -- what the model holds ---------------------------------------------------------

@pytest.mark.slow
def test_model_is_portable_and_named_after_the_yaml():
    net = netc.load(FIG7)
    model = build_model(net)
    assert model.ir_version == 8 and model.opset_import[0].version == 17      # opset 17 needs IR 8
    g = model.graph
    for v in (*g.input, *g.output):
        dims = v.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and all(d.dim_value > 0 for d in dims[1:])
    assert [d.dim_value for d in g.output[0].type.tensor_type.shape.dim[1:]] == [1000]
    # value_info for every intermediate tensor, static but for the batch
    produced = {o for n in g.node for o in n.output} - {o.name for o in g.output}
    assert {v.name for v in g.value_info} == produced
    shapes = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in g.value_info}
    assert shapes["conv1"] == ["batch", 96, 61, 61] and shapes["fc1"] == ["batch", 4096]
    assert shapes["flatten1"] == ["batch", 9600]
    ops = [n.op_type for n in g.node]
    assert ops == ["Conv", "Relu"] * 4 + ["Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax"]
    assert not any(a.name == "auto_pad" for n in g.node for a in n.attribute)
    # names and provenance
    assert [n.name for n in g.node][:3] == ["conv1", "conv1/Relu", "conv2"]
    lines = {n.name: n.doc_string for n in g.node}
    assert lines["conv1"] == "murphy-fig7.yaml:12" and lines["fc1"] == "murphy-fig7.yaml:17"
    assert {t.name for t in g.initializer} >= {"conv1.weight", "conv1.bias", "fc1.weight", "output.bias"}
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["io.netc.version"] == netc.__version__
    assert meta["io.netc.source_sha256"] == hashlib.sha256(FIG7.read_bytes()).hexdigest()
    assert meta["io.netc.seed"] == "0"
    init = json.loads(meta["io.netc.init"])
    assert init["he_normal"] == ["conv1.weight", "conv2.weight", "conv3.weight", "conv4.weight",
                                 "fc1.weight", "fc2.weight"]
    assert "output.weight" in init["xavier_uniform"] and "conv1.bias" in init["zeros"]


@pytest.mark.slow
def test_weights_follow_the_init_schemes():
    """he_normal: std sqrt(2 / fan_in); xavier_uniform: bound sqrt(6 / (fan_in + fan_out))."""
    w = {t.name: numpy_helper.to_array(t) for t in build_model(netc.load(FIG7), check=False).graph.initializer}
    assert w["conv3.weight"].std() == pytest.approx(np.sqrt(2 / (256 * 25)), rel=0.01)
    assert w["fc1.weight"].std() == pytest.approx(np.sqrt(2 / 9600), rel=0.01)
    bound = np.sqrt(6 / (4096 + 1000))
    assert np.abs(w["output.weight"]).max() <= bound
    assert np.abs(w["output.weight"]).max() > 0.99 * bound
    assert not w["conv1.bias"].any()
    # seeded per tensor: another seed, other weights
    other = build_model(netc.load(FIG7), seed=1, check=False).graph.initializer
    assert not np.array_equal(numpy_helper.to_array(other[0]), w[other[0].name])


@pytest.mark.slow
@pytest.mark.parametrize("opset", [13, 15, 17, 19, 21])
def test_opsets_pin_the_lowest_ir_version_and_run(opset):
    model = build_model(small_net(), opset=opset)
    assert model.ir_version == helper.find_min_ir_version_for([helper.make_opsetid("", opset)])
    assert model.ir_version < onnx.IR_VERSION
    session(model).run(None, {"input": np.zeros((2, 3, 16, 16), np.float32)})


def test_runtime_refusal_and_bad_options():
    with pytest.raises(RuntimeUnsupported, match="onnxruntime .* cannot run opset 17 .*IR version 99"):
        onnx_build.check_runtime_support(17, 99)
    with pytest.raises(BuildError, match="opset 12 is not supported"):
        build_model(small_net(), opset=12)
    with pytest.raises(BuildError, match="dtype 'int8'"):
        build_model(small_net(), dtype="int8")


def test_float16_graph():
    net = small_net()
    half, full = build_model(net, dtype="float16"), build_model(net)
    assert {t.data_type for t in half.graph.initializer} == {TensorProto.FLOAT16}
    assert half.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT16
    x = np.random.default_rng(2).standard_normal((2, 3, 16, 16)).astype(np.float32)
    y16 = session(half).run(None, {"input": x.astype(np.float16)})[0]
    y32 = session(full).run(None, {"input": x})[0]
    assert y16.dtype == np.float16
    np.testing.assert_allclose(y16.astype(np.float32), y32, atol=2e-3)


def test_shape_disagreement_fails_the_build(monkeypatch):
    """If netc's analysis and ONNX shape inference ever disagree, the build stops."""
    net = small_net()
    report = net.analysis.layers[2]                       # maxpool1, (8, 8, 8)
    monkeypatch.setattr(report, "output_shape", (8, 7, 8))
    with pytest.raises(BuildError, match=r"gives \(batch, 8, 8, 8\) for layer maxpool1, netc's analysis "
                                         r"\(batch, 8, 7, 8\)"):
        build_model(net)


# -- writing ----------------------------------------------------------------------

@pytest.mark.slow
def test_byte_identical_across_processes(tmp_path, write):
    src = write("netc: 1\nname: t\ninput: {shape: [3, 32, 32]}\nlayers:\n"
                + "".join(f"  - {layer}\n" for layer in SMALL[:4])
                + "  - flatten\n  - dense: {units: 100, activation: tanh}\n  - dropout\n"
                + "  - dense: {units: 10, init: lecun_uniform}\n")
    outs = []
    for i, hashseed in enumerate(["1", "2", "1"]):
        out = tmp_path / f"m{i}.onnx"
        seed = "5" if i < 2 else "6"
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED=hashseed)
        r = subprocess.run([sys.executable, "-m", "netc", "build", str(src),
                            "--onnx", str(out), "--seed", seed], env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]
    meta = {p.key: p.value for p in onnx.load_from_string(outs[2]).metadata_props}
    assert meta["io.netc.seed"] == "6"


@pytest.mark.parametrize("fold", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_weights_written_from_their_arrays_are_the_serialized_model_byte_for_byte(tmp_path, dtype, fold):
    """``netc build`` writes the weights straight from the arrays (build_model(weights_apart=True));
    the file is what onnx's own SerializeToString gives, inline and as external data."""
    net = network(SMALL + ["dense: {units: 40, init: lecun_uniform}", "dense: {units: 30, init: {constant: 0.5}}",
                           "dense: {units: 8, init: zeros}"], (3, 16, 16))
    model = build_model(net, dtype=dtype, fold_batchnorm=fold, check=False)
    bare, weights = build_model(net, dtype=dtype, fold_batchnorm=fold, weights_apart=True)
    assert all(not t.raw_data for t in bare.graph.initializer) and len(weights) == len(bare.graph.initializer)
    assert all(isinstance(w, Deferred) != fold for w in weights.values())   # drawn as written
    for external in (False, True):
        a, b = tmp_path / "a", tmp_path / "b"
        a.mkdir(exist_ok=True), b.mkdir(exist_ok=True)
        write_model(model, a / "m.onnx", external_data=external)
        write_model(bare, b / "m.onnx", external_data=external, weights=weights)
        assert (b / "m.onnx").read_bytes() == (a / "m.onnx").read_bytes()
        if not external:
            assert (a / "m.onnx").read_bytes() == model.SerializeToString()
        else:
            assert (b / "m.onnx.data").read_bytes() == (a / "m.onnx.data").read_bytes()


def test_external_data_is_replaced_not_appended(tmp_path):
    model = build_model(small_net())
    inline, ext = tmp_path / "inline.onnx", tmp_path / "ext.onnx"
    write_model(model, inline)
    assert not (tmp_path / "inline.onnx.data").exists()
    write_model(model, ext, external_data=True)
    data = tmp_path / "ext.onnx.data"
    size = data.stat().st_size
    assert ext.stat().st_size < 10_000 and size == 8 * 8 * 3 * 3 * 4    # conv2.weight; the rest < 1 KiB
    write_model(model, ext, external_data=True)
    assert data.stat().st_size == size                      # replaced, not appended
    on_disk = onnx.load(str(ext), load_external_data=False)
    assert any(t.data_location == TensorProto.EXTERNAL for t in on_disk.graph.initializer)
    assert all(e.value == "ext.onnx.data" for t in on_disk.graph.initializer
               for e in t.external_data if e.key == "location")
    x = np.random.default_rng(3).standard_normal((2, 3, 16, 16)).astype(np.float32)
    np.testing.assert_array_equal(session(str(ext)).run(None, {"input": x})[0],
                                  session(str(inline)).run(None, {"input": x})[0])
    write_model(model, ext, external_data=False)            # a stale data file goes away
    assert not data.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ext.onnx", "inline.onnx"]
    assert model.graph.initializer[0].HasField("raw_data")  # the caller's model is untouched


def test_external_data_past_the_threshold(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_build, "EXTERNAL_THRESHOLD", 1000)
    write_model(build_model(small_net()), tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx.data").exists()


def test_a_failing_write_leaves_the_old_file_and_no_temporaries(tmp_path, monkeypatch):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old model")

    def refuse(*a, **k):
        raise onnx.checker.ValidationError("refused for the test")

    monkeypatch.setattr(onnx_build.onnx.checker, "check_model", refuse)
    for external in (False, True):
        with pytest.raises(BuildError, match="refused for the test"):
            write_model(build_model(small_net(), check=False), out, external_data=external)
        assert out.read_bytes() == b"old model"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    with pytest.raises(BuildError):
        write_model(build_model(small_net(), check=False), tmp_path / "new.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


# -- the command line -------------------------------------------------------------

@pytest.mark.slow
def test_cli_build(tmp_path):
    out = tmp_path / "fig7.onnx"
    r = run_netc("build", "examples/murphy-fig7.yaml", "--onnx", str(out), "--fold-batchnorm",
                 "--opset", "19", "--external-data")
    assert r.returncode == 0, r.stderr
    assert "built murphy-fig7" in r.stdout and "66,970,728 parameters" in r.stdout
    assert "opset 19" in r.stdout and "fig7.onnx.data" in r.stdout
    onnx.checker.check_model(str(out), full_check=True)


@pytest.mark.slow
def test_cli_refusals(tmp_path, write):
    src = write("netc: 1\nname: t\ninput: {shape: [3, 8, 8]}\nlayers:\n  - conv: {filters: 4, kernel: 3}\n")
    before = src.read_bytes()
    cases = [(["build", str(src), "--onnx", str(src)], 2, "overwrite the input"),
             (["build", str(src), "--onnx", str(tmp_path / "no" / "m.onnx")], 2, "no such directory"),
             (["build", str(src), "--onnx", str(tmp_path)], 2, "is a directory"),
             (["build", str(src), "--onnx", str(tmp_path / "m.onnx"), "--opset", "12"], 2, "opsets 13 to"),
             (["build", str(src), "--onnx", str(tmp_path / "m.onnx"), "--dtype", "int8"], 2, "int8")]
    for args, code, message in cases:
        r = run_netc(*args)
        assert r.returncode == code, (args, r.stderr)
        assert message in r.stderr and "Traceback" not in r.stderr
    assert src.read_bytes() == before
    bad = write("netc: 1\nname: t\ninput: {shape: [3, 8, 8]}\nlayers:\n  - conv: {filters: 4, kernel: 9}\n",
                "bad.yaml")
    r = run_netc("build", str(bad), "--onnx", str(tmp_path / "m.onnx"))
    assert r.returncode == 1 and f"{bad}:5:" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "net.yaml"]


def test_build_without_an_output_writes_the_file_beside_its_source(tmp_path, write):
    """As draw writes FILE.svg, build writes FILE.onnx when no --onnx is given."""
    src = write("netc: 1\nname: t\ninput: {shape: [3, 8, 8]}\nlayers:\n  - conv: {filters: 4, kernel: 3}\n")
    r = run_netc("build", str(src))
    assert r.returncode == 0, r.stderr
    assert f"-> {tmp_path / 'net.onnx'}" in r.stdout + r.stderr
    assert onnx.load(str(tmp_path / "net.onnx")).graph.node[0].op_type == "Conv"
    r = run_netc("build", str(tmp_path / "net.onnx"))
    assert r.returncode == 2 and "is not a netc file" in r.stderr


EDGE_POOLS = [   # issue 9's reproducers: (input, layer, netc build's output shape or error)
    ([1, 5, 5], "maxpool: {kernel: 2, stride: 3, padding: 1, ceil_mode: true}", "[batch, 1, 2, 2]"),
    ([1, 8, 8], "maxpool: {kernel: 3, padding: 1, ceil_mode: true}", "[batch, 1, 3, 3]"),
    ([1, 1, 1], "maxpool: {kernel: 4, ceil_mode: true}", "[batch, 1, 1, 1]"),
    ([1, 4, 4], "maxpool: {kernel: 2, stride: 1, padding: 2}",
     ":4:46: error[E004]: maxpool1: padding 2 is more than half the kernel 2: PyTorch refuses"),
    ([1, 1, 1], "avgpool: {kernel: 3, stride: 1, padding: 3, ceil_mode: true}",
     ":4:46: error[E004]: avgpool1: padding 3 is more than half the kernel 3"),
]


@pytest.mark.parametrize("shape, layer, want", EDGE_POOLS)
def test_cli_builds_edge_pools_or_refuses_them(tmp_path, write, shape, layer, want):
    src = write(f"netc: 1\ninput: {{shape: {shape}}}\nlayers:\n  - {layer}\n")
    r = run_netc("build", str(src), "--onnx", str(tmp_path / "m.onnx"))
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    if want.startswith("["):
        assert r.returncode == 0, r.stderr
        assert f"output maxpool1 {want}" in r.stdout
    else:
        assert r.returncode == 1 and f"{src}{want}" in r.stderr, r.stderr


@pytest.mark.slow
def test_cli_lint_hook_refuses_errors_unless_forced(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from netc.cli import app
    from netc.cli import build as build_cli
    from netc.diagnostics import Diagnostic, Severity, Span

    finding = Diagnostic("a lint error", Span("x.yaml", 3, 5), "L999", Severity.ERROR)
    monkeypatch.setattr(build_cli, "lint_findings", lambda path, overrides=None: [finding])
    out = tmp_path / "m.onnx"
    r = CliRunner().invoke(app, ["build", str(FIG7), "--onnx", str(out)])
    assert r.exit_code == 1 and "x.yaml:3:5: error[L999]: a lint error" in r.output
    assert "not building" in r.output and not out.exists()
    r = CliRunner().invoke(app, ["build", str(FIG7), "--onnx", str(out), "--force"])
    assert r.exit_code == 0 and "a lint error" in r.output and out.exists()
    monkeypatch.setattr(build_cli, "lint_findings", lambda path, overrides=None: [])
    r = CliRunner().invoke(app, ["build", str(tmp_path / "missing.yaml"), "--onnx", str(out)])
    assert r.exit_code == 2


def test_lint_and_summary_paths_do_not_import_onnx():
    code = ("import sys, netc, netc.cli; netc.load('examples/murphy-fig7.yaml'); "
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'numpy') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


@pytest.mark.slow
def test_over_2gb_of_weights_builds_with_one_copy_in_memory(tmp_path):
    """539M float32 weights (2.16 GB, past protobuf's 2 GiB): ``netc build`` in a child
    process that reports its own peak memory, which stays under a quarter of the weights
    (each weight is drawn into one reused buffer as it is written), written as external
    data, checked, run."""
    layers = "".join("  - dense: {units: 7000, activation: relu, bias: false}\n" for _ in range(11))
    src = tmp_path / "big.yaml"
    src.write_text("netc: 1\nname: big\ninput: {shape: [7000]}\nlayers:\n" + layers)
    out = tmp_path / "big.onnx"
    # VmHWM: this process's peak resident memory since its exec (ru_maxrss would carry the
    # forking pytest's peak across the exec)
    probe = ("import sys\nfrom netc.cli import run\nsys.argv = ['netc', *sys.argv[1:]]\n"
             "try:\n    run()\nexcept SystemExit as e:\n    code = e.code\n"
             "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
             "print('PEAK', int(hwm.split()[1]) * 1024, file=sys.stderr)\n"
             "sys.exit(code)\n")
    r = subprocess.run([sys.executable, "-c", probe, "build", str(src), "--onnx", str(out)], cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    weight_bytes = 11 * 7000 * 7000 * 4
    assert weight_bytes > 2**31
    peak = int(r.stderr.split("PEAK ")[1].split()[0])
    assert 7000 * 7000 * 4 < peak < weight_bytes / 4            # more than one tensor, far less than all
    data = tmp_path / "big.onnx.data"
    assert out.stat().st_size < 100_000
    assert weight_bytes <= data.stat().st_size < weight_bytes + 11 * 4096
    onnx.checker.check_model(str(out), full_check=True)
    x = np.ones((1, 7000), np.float32)
    y = session(str(out)).run(None, {"input": x})[0]
    assert y.shape == (1, 7000) and np.isfinite(y).all() and (y >= 0).all()


def test_the_opset_range_is_stated_once():
    """README, --help and the error give the range of netc/onnx/__init__.py; its newest opset
    builds a model onnxruntime runs, and the next is refused."""
    from netc.onnx import MAX_OPSET, MIN_OPSET, OPSET_RANGE

    assert (MIN_OPSET, onnx_build.max_opset()) == (13, MAX_OPSET) and OPSET_RANGE == f"{MIN_OPSET} to {MAX_OPSET}"
    readme = (ROOT / "README.md").read_text()
    assert f"| `--opset N` | ONNX opset, {OPSET_RANGE} (default 17)" in readme
    assert f"`--opset` {OPSET_RANGE} (" in (ROOT / "docs" / "onnx.md").read_text()
    r = run_netc("build", "--help")
    assert f"ONNX opset, {OPSET_RANGE}." in " ".join(r.stdout.split())
    r = run_netc("build", str(FIG7), "--opset", str(MAX_OPSET + 1), "-o", os.devnull)
    assert r.returncode == 2 and r.stderr == f"netc: error: --opset {MAX_OPSET + 1}: netc builds opsets {OPSET_RANGE}\n"
    with pytest.raises(BuildError, match=f"netc builds opsets {OPSET_RANGE}$"):
        build_model(small_net(), opset=MAX_OPSET + 1)
    session(build_model(small_net(), opset=MAX_OPSET)).run(None, {"input": np.zeros((1, 3, 16, 16), np.float32)})
