"""netc bench: statistics from known timings, work from netc's counts, provider fallback,
sweeps and bad input, on the CPU provider with tiny models and few runs."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import netc
from netc import bench
from conftest import ROOT, run_netc


# --------------------------------------------------------------------------- tiny models

def tiny_model(batch="N"):
    """conv3x3(3->8) relu conv3x3/2(8->16) relu global-avgpool flatten, input (batch, 3, 16, 16)."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)

    def init(name, shape):
        return helper.make_tensor(name, TensorProto.FLOAT, shape,
                                  rng.standard_normal(shape).astype(np.float32).ravel().tolist())

    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["y"])]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 16])],
        [init("w1", [8, 3, 3, 3]), init("b1", [8]), init("w2", [16, 8, 3, 3]), init("b2", [16])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model


@pytest.fixture
def tiny(tmp_path):
    import onnx

    path = tmp_path / "tiny.onnx"
    onnx.save(tiny_model(), path)
    return path


def bench_json(*args):
    r = run_netc("bench", *args, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout), r


# --------------------------------------------------------------------------- statistics

def test_statistics_of_known_timings():
    times = [0.010, 0.001, 0.007, 0.003, 0.005, 0.002, 0.009, 0.004, 0.008, 0.006]   # 1..10 ms, shuffled
    s = bench.summarize(times)
    # sorted x = 1..10 ms; rank r = (n - 1) q / 100 = 9 q / 100
    assert s.count == 10
    assert s.min == pytest.approx(0.001) and s.max == pytest.approx(0.010)
    assert s.mean == pytest.approx(0.0055)
    assert s.median == pytest.approx(0.0055)          # r = 4.5: 5 + 0.5 * (6 - 5)
    assert s.p90 == pytest.approx(0.0091)             # r = 8.1: 9 + 0.1 * (10 - 9)
    assert s.p95 == pytest.approx(0.00955)            # r = 8.55
    assert s.p99 == pytest.approx(0.00991)            # r = 8.91
    assert s.stddev == pytest.approx(math.sqrt(8.25) / 1000)   # population variance of 1..10 is 8.25


def test_percentiles_agree_with_numpy_default():
    rng = np.random.default_rng(7)
    times = rng.lognormal(-6, 0.5, size=257).tolist()
    s = bench.summarize(times)
    for q, value in ((50, s.median), (90, s.p90), (95, s.p95), (99, s.p99)):
        assert value == pytest.approx(float(np.percentile(times, q)), rel=1e-12)
    assert s.stddev == pytest.approx(float(np.std(times)), rel=1e-9)
    assert s.mean == pytest.approx(float(np.mean(times)), rel=1e-12)


def test_statistics_of_one_run_and_errors():
    s = bench.summarize([0.25])
    assert (s.min, s.median, s.p99, s.max, s.stddev) == (0.25, 0.25, 0.25, 0.25, 0.0)
    with pytest.raises(ValueError):
        bench.summarize([])
    with pytest.raises(ValueError):
        bench.percentile([1.0, 2.0], 101)


def test_throughput_is_batch_times_runs_over_wall():
    assert bench.throughput(8, 100, 2.0) == 400.0
    assert bench.throughput(1, 3, 0.5) == 6.0
    with pytest.raises(ValueError):
        bench.throughput(1, 1, 0.0)


def test_time_loop_counts_runs_and_honours_duration():
    calls = []
    times, wall = bench.time_loop(lambda: calls.append(1), 37, None)
    assert len(times) == len(calls) == 37
    assert wall >= sum(times) > 0
    times, wall = bench.time_loop(lambda: None, None, 0.02)
    assert wall >= 0.02 and len(times) >= 1


# --------------------------------------------------------------------------- work

TINY_YAML = """\
netc: 1
name: tiny
input: {shape: [3, 8, 8]}
layers:
  - conv: {filters: 4, kernel: 3, padding: same, activation: none}
"""


def test_work_from_netc_counts():
    net = netc.loads(TINY_YAML)
    work = bench.work_from_analysis(net.analysis, "float32")
    macs = 4 * 8 * 8 * (3 * 3 * 3)                   # outputs x (k_h k_w c_in)
    assert work.flops_per_sample == 2 * macs + 4 * 8 * 8   # plus one bias add per output
    assert work.param_bytes == (4 * 27 + 4) * 4
    assert work.activation_bytes_per_sample == (3 * 8 * 8 + 4 * 8 * 8) * 4
    assert work.bytes(2) == 448 + 2 * 1792
    assert work.intensity(2) == pytest.approx(2 * 14080 / (448 + 2 * 1792))
    row = bench.achieved(work, 2, 1000.0, peak_tflops=1e-6)   # a 1 MFLOP/s device
    assert row["achieved_flops_per_s"] == pytest.approx(14080 * 1000)
    assert row["fraction_of_peak"] == pytest.approx(14.08)
    assert bench.achieved(work, 2, 1000.0, None)["fraction_of_peak"] is None
    assert bench.work_from_analysis(net.analysis, "float16").param_bytes == 112 * 2


# --------------------------------------------------------------------------- providers

def test_provider_chain():
    full = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert bench.provider_chain("auto", full) == full
    assert bench.provider_chain("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert bench.provider_chain("cuda", ["CPUExecutionProvider"]) == ["CUDAExecutionProvider",
                                                                      "CPUExecutionProvider"]
    assert bench.provider_chain("tensorrt", full) == full
    assert bench.provider_chain("cpu", full) == ["CPUExecutionProvider"]
    # no GPU visible: auto tries the CPU alone (and so says nothing of GPU libraries);
    # a provider asked by name is still tried, and its failure explained
    assert bench.provider_chain("auto", full, gpu=False) == ["CPUExecutionProvider"]
    assert bench.provider_chain("cuda", full, gpu=False)[0] == "CUDAExecutionProvider"


ORT_LOG = (
    "\x1b[1;31m2026-11-26 07:15:57.094797681 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 operator()] "
    "/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 onnxruntime::Provider& "
    "onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library "
    "/site-packages/onnxruntime/capi/libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: "
    "cannot open shared object file: No such file or directory\n\x1b[m\n"
    "\x1b[0;93m2026-11-26 07:15:57.094868366 [W:onnxruntime:Default, onnxruntime_pybind_state.cc:1295 "
    "CreateExecutionProviderFactoryInstance] Failed to create CUDAExecutionProvider. Require cuDNN 9.* and "
    "CUDA 13.*. Please install all dependencies as mentioned in the GPU requirements page\x1b[m\n")


def test_failure_reason_is_one_line_from_the_log():
    reason = bench.explain_failure("CUDAExecutionProvider", ORT_LOG,
                                   ["CUDAExecutionProvider", "CPUExecutionProvider"], "1.31.1")
    assert "\n" not in reason and "\x1b" not in reason
    assert "libcublasLt.so.13: cannot open shared object file" in reason
    assert "requires cuDNN 9.* and CUDA 13.*" in reason
    missing = bench.explain_failure("CUDAExecutionProvider", "", ["CPUExecutionProvider"], "1.31.1")
    assert "has no CUDAExecutionProvider" in missing


def cuda_loads() -> bool:
    """Whether a CUDA session really runs here (then the fallback path cannot be exercised)."""
    code = ("import onnxruntime as o\n"
            "o.set_default_logger_severity(4)\n"
            "from test_bench import tiny_model\n"
            "s = o.InferenceSession(tiny_model().SerializeToString(), providers=['CUDAExecutionProvider'])\n"
            "print(s.get_providers()[0])")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "tests", capture_output=True, text=True,
                       timeout=120, env={"PYTHONPATH": str(ROOT)})
    return r.stdout.strip() == "CUDAExecutionProvider"


@pytest.fixture(scope="module")
def no_cuda():
    if cuda_loads():
        pytest.skip("CUDA loads on this machine, so there is no fallback to exercise")


@pytest.mark.slow
def test_cuda_asked_without_cuda_fails_in_one_line(tiny, no_cuda):
    r = run_netc("bench", str(tiny), "--provider", "cuda", "--runs", "2", "--warmup", "0")
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr                 # no onnxruntime log wall
    assert lines[0].startswith("netc: error: CUDAExecutionProvider did not load: ")
    assert "--allow-fallback" in lines[0]


@pytest.mark.slow
def test_cuda_with_allow_fallback_runs_on_cpu_and_says_so(tiny, no_cuda):
    data, r = bench_json(str(tiny), "--provider", "cuda", "--allow-fallback", "--runs", "3", "--warmup", "0")
    assert data["provider"]["asked"] == "cuda"
    assert data["provider"]["used"] == "CPUExecutionProvider"
    assert data["provider"]["fallback"].startswith("CUDAExecutionProvider did not load")
    assert r.stderr.strip().splitlines()[-1] == f"netc: warning: {data['provider']['fallback']}"
    assert [row["runs"] for row in data["results"]] == [3]


# --------------------------------------------------------------------------- sweeps

@pytest.mark.slow
def test_sweep_gives_one_row_per_batch(tiny):
    data, _ = bench_json(str(tiny), "--provider", "cpu", "--batch", "1,3,5", "--runs", "4", "--warmup", "1")
    assert [row["batch"] for row in data["results"]] == [1, 3, 5]
    assert data["versions"]["netc"] == netc.__version__
    import onnxruntime
    assert data["versions"]["onnxruntime"] == onnxruntime.__version__
    assert data["provider"]["used"] == "CPUExecutionProvider" and data["device"]["cpu"]
    assert data["settings"]["batches"] == [1, 3, 5] and data["settings"]["warmup"] == 1
    assert data["session_create_s"] > 0
    for row in data["results"]:
        lat = row["latency"]
        assert row["runs"] == lat["count"] == 4 and row["warmup_runs"] == 1
        assert row["first_inference_s"] > 0 and row["warmup_s"] > 0
        assert lat["min"] <= lat["median"] <= lat["p90"] <= lat["p95"] <= lat["p99"] <= lat["max"]
        assert row["wall_s"] >= 4 * lat["min"]
        assert row["throughput"] == pytest.approx(row["batch"] * 4 / row["wall_s"])
        assert row["transfers"] is None
        # netc reads the .onnx for its counts: conv1 3->8 3x3 on 16x16 (55,296 MACs), conv2 8->16 3x3/2
        # to 8x8 (73,728 MACs); FLOPs 2 x MACs + biases (2,048 + 1,024) + relus (2,048 + 1,024) + the
        # global average's adds (1,024)
        assert row["work"]["flops_per_batch"] == row["batch"] * (2 * (55_296 + 73_728) + 7_168)


@pytest.mark.slow
def test_text_table_has_one_row_per_batch(tiny):
    r = run_netc("bench", str(tiny), "--provider", "cpu", "--batch", "2,4", "--runs", "2", "--warmup", "0")
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines() if line.split() and line.split()[0].isdigit()]
    assert [row[0] for row in rows] == ["2", "4"]
    assert all(row[3] == "2" for row in rows)        # the runs column
    assert "CPUExecutionProvider" in r.stdout and "p99" in r.stdout


def test_a_piped_run_prints_one_line_per_finished_batch_to_stderr(tiny):
    """stderr is not a terminal here (no progress bar): each batch size says when it is done."""
    data, r = bench_json(str(tiny), "--provider", "cpu", "--batch", "2,4,1", "--runs", "3", "--warmup", "0")
    lines = r.stderr.strip().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["batch 2 done", "batch 4 done", "batch 1 done"]
    for line, row in zip(lines, data["results"]):
        assert f"median {row['latency']['median'] * 1e3:.3f} ms" in line and "(3 runs)" in line


@pytest.mark.slow
def test_duration_mode_runs_until_time_is_up(tiny):
    data, _ = bench_json(str(tiny), "--provider", "cpu", "--duration", "0.2", "--warmup", "0")
    row = data["results"][0]
    assert row["wall_s"] >= 0.2 and row["runs"] >= 1


@pytest.mark.slow
def test_profile_is_saved_with_per_node_events(tiny, tmp_path):
    out = tmp_path / "profile.json"
    data, _ = bench_json(str(tiny), "--provider", "cpu", "--runs", "2", "--warmup", "0", "--profile", str(out))
    events = json.loads(out.read_text())
    assert any(e.get("cat") == "Node" for e in events)
    assert data["profile"] == [str(out)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile.json", "tiny.onnx"]   # no temp left


@pytest.mark.slow
def test_gpu_flags_are_ignored_with_a_note_on_cpu(tiny):
    data, _ = bench_json(str(tiny), "--provider", "cpu", "--runs", "2", "--include-transfers", "--cuda-graph")
    assert data["results"][0]["transfers"] is None
    assert any("ignored on CPUExecutionProvider" in n for n in data["notes"])


@pytest.mark.slow
def test_yaml_is_built_with_netc_build_or_refused_clearly(write):
    path = write(TINY_YAML)
    try:
        import netc.onnx.build  # noqa: F401
    except ImportError:
        r = run_netc("bench", str(path), "--provider", "cpu", "--runs", "2")
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert "needs netc's ONNX builder" in r.stderr
        return
    data, _ = bench_json(str(path), "--provider", "cpu", "--runs", "2", "--warmup", "0", "--peak-tflops", "1")
    work = data["results"][0]["work"]
    assert data["network"] == "tiny"
    assert work["flops_per_batch"] == 2 * 4 * 8 * 8 * 27 + 4 * 8 * 8
    assert work["fraction_of_peak"] == pytest.approx(work["achieved_flops_per_s"] / 1e12)


def test_library_reports_progress_and_every_row():
    calls = []
    settings = bench.Settings(provider="cpu", batches=(2, 1), warmup=2, runs=5)
    report = bench.bench(tiny_model().SerializeToString(), settings, name="tiny",
                         progress=lambda *a: calls.append(a))
    assert [r.batch for r in report.results] == [2, 1]
    assert [r.latency.count for r in report.results] == [5, 5]
    assert (2, "warm-up", 0, 2) in calls and (1, "warm-up", 0, 2) in calls
    assert calls[-1] == (1, "timed", 5, 5)            # the loop always reports its final count
    assert report.session.provider == "CPUExecutionProvider" and report.session.fallback is None
    d = report.as_dict()
    assert d["settings"]["timed_runs"] == 5 and len(d["results"]) == 2


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("args, code, message", [
    (["missing.onnx"], 2, "no such file"),
    (["{tiny}", "--provider", "gpu"], 2, "--provider"),
    (["{tiny}", "--batch", "0"], 2, "'0' is not a positive integer"),
    (["{tiny}", "--batch", "1,x"], 2, "'x' is not a positive integer"),
    (["{tiny}", "--runs", "3", "--duration", "1"], 2, "not both"),
    (["{tiny}", "--peak-tflops", "0"], 2, "--peak-tflops must be positive"),
    (["{tiny}", "--profile", "/no/such/dir/p.json"], 2, "no such folder"),
    (["{corrupt}"], 1, "not a valid ONNX model"),
    (["{text}"], 2, "expected a .yaml or .onnx file"),
    (["{fixed}", "--batch", "2"], 1, "fixed batch of 1; it cannot run batch 2"),
    (["{future}"], 1, "onnxruntime cannot load the model"),
])
@pytest.mark.slow
def test_bad_input_is_one_clear_message(tmp_path, tiny, args, code, message):
    import onnx

    (tmp_path / "corrupt.onnx").write_bytes(b"\x08\x07this is not a protobuf\xff\xff")
    (tmp_path / "model.txt").write_text("hello")
    onnx.save(tiny_model(batch=1), tmp_path / "fixed.onnx")
    future = tiny_model()
    future.ir_version = 99                              # newer than any onnxruntime reads
    onnx.save(future, tmp_path / "future.onnx")
    paths = {"tiny": tiny, "corrupt": tmp_path / "corrupt.onnx", "text": tmp_path / "model.txt",
             "fixed": tmp_path / "fixed.onnx", "future": tmp_path / "future.onnx"}
    r = run_netc("bench", *[a.format(**paths) for a in args], "--runs", "1")
    assert r.returncode == code, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_summary_path_does_not_import_the_runtime():
    code = "import sys, netc.cli; print(sorted(m for m in ('onnx', 'onnxruntime', 'numpy') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT)}, timeout=60)
    assert r.stdout.strip() == "[]", r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_an_onnx_file_gets_the_counts_of_its_yaml(dtype, tmp_path):
    """netc reads the built .onnx back: the same FLOPs and bytes as benching the .yaml, at
    the element size of the model's input type."""
    model = tmp_path / "r18.onnx"
    r = run_netc("build", "examples/resnet18.yaml", "--onnx", str(model), "--dtype", dtype)
    assert r.returncode == 0, r.stderr
    run = ("--provider", "cpu", "--runs", "1", "--warmup", "0", "--batch", "2")
    from_onnx, _ = bench_json(str(model), *run)
    from_yaml, _ = bench_json("examples/resnet18.yaml", *run, "--dtype", dtype)
    w_onnx, w_yaml = from_onnx["results"][0]["work"], from_yaml["results"][0]["work"]
    assert (w_onnx["flops_per_batch"], w_onnx["bytes_per_batch"]) == \
        (w_yaml["flops_per_batch"], w_yaml["bytes_per_batch"])
    assert from_onnx["notes"] == []


@pytest.mark.slow
def test_an_onnx_file_netc_reads_in_part_runs_without_counts(tmp_path):
    """Selu runs in onnxruntime but netc does not read it: the bench runs and says why
    achieved FLOP/s is left out, instead of reporting lower bounds as rates."""
    import onnx
    from onnx import TensorProto, helper

    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], [0.1] * 108)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv1"),
         helper.make_node("Selu", ["c"], ["y"], name="selu1")],
        "partial", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 8, 8])], [w])
    path = tmp_path / "partial.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    data, r = bench_json(str(path), "--provider", "cpu", "--runs", "2", "--warmup", "0")
    assert data["results"][0]["work"] is None
    assert data["notes"] == ["achieved FLOP/s left out: netc does not read every op of this model (Selu; "
                             "netc summary shows what it reads), so its counts would be lower bounds"]


# --------------------------------------------------------------------------- external data

EXTERNAL = "netc: 1\ninput: {shape: [3, 8, 8]}\nlayers:\n  - conv: {filters: 16, kernel: 3, bias: false}\n"


@pytest.fixture
def external(tmp_path):
    """A model built with --external-data into a/ (its 1,728-byte conv weight in
    a/m.onnx.data), and b/ holding a decoy m.onnx.data of the same size, all zeros."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "net.yaml").write_text(EXTERNAL)
    model = tmp_path / "a" / "m.onnx"
    r = run_netc("build", str(tmp_path / "net.yaml"), "--onnx", str(model), "--external-data")
    assert r.returncode == 0, r.stderr
    data = model.with_name("m.onnx.data")
    assert data.stat().st_size >= 16 * 27 * 4
    (tmp_path / "b" / "m.onnx.data").write_bytes(bytes(data.stat().st_size))
    return model


def test_an_external_data_model_benches_from_another_folder(external):
    """onnxruntime is given the model's path: its .data is read beside it, whatever the
    current directory (given the bytes, it read ./m.onnx.data: here a decoy too short)."""
    cwd = external.parent.parent / "b"
    (cwd / "m.onnx.data").write_bytes(b"decoy")
    r = run_netc("bench", str(external), "--provider", "cpu", "--runs", "1", "--warmup", "0",
                 "--format", "json", cwd=cwd)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert json.loads(r.stdout)["results"][0]["runs"] == 1


def test_an_external_data_model_reads_only_its_own_data(external, monkeypatch):
    """The session's weights are the model's own .data, not the decoy of the same name and
    size in the current directory (all zeros: the outputs would be zeros)."""
    import onnx
    import onnxruntime as ort

    monkeypatch.chdir(external.parent.parent / "b")
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    session, _ = bench.open_session(bench.read_onnx(external), bench.Settings(provider="cpu"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    inline = onnx.load(str(external)).SerializeToString()      # the weights read beside the model
    want = ort.InferenceSession(inline, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert np.abs(want).max() > 0 and np.array_equal(got, want)


@pytest.mark.skipif(bench.gpu_visible(), reason="a machine without a GPU is what this checks")
def test_auto_on_a_machine_without_a_gpu_says_nothing_of_gpu_libraries():
    """onnxruntime-gpu on a CPU-only machine: auto runs on the CPU without a word about
    libcublas or TensorRT (it used to end every run with those lines)."""
    r = run_netc("bench", "examples/lenet5.yaml", "--runs", "2", "--warmup", "0")
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert "did not load" not in out and "libcublas" not in out and "TensorRT" not in out
