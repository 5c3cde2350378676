"""The CPU-side parts of netc bench's GPU support and of benchmarks/gpu_check.sh: nvidia-smi
parsing, --provider-option, the report of a run, the scripts' argument handling, and the
kernel classification, checked against output captured on an H200 (2026-11-26)."""

import json
import shutil
import subprocess
import sys

import pytest

from netc import bench
from netc.bench import report as render
from netc.bench.sessions import _provider_options, parse_nvidia_smi
from conftest import ROOT, run_netc

sys.path.insert(0, str(ROOT / "benchmarks"))
import gpu_kernels  # noqa: E402
import gpu_report  # noqa: E402

# nvidia-smi on the H200 of the GPU run: the banner's first lines, and the query netc makes
H200_BANNER = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 580.159.04             Driver Version: 580.159.04     CUDA Version: 13.0     |
+-----------------------------------------+------------------------+----------------------+
"""
H200_QUERY = "NVIDIA H200, 580.159.04, 143771, 9.0\n"
TINY = """\
netc: 1
name: tiny
input: {shape: [3, 16, 16]}
layers:
  - conv: {filters: 8, kernel: 3, padding: 1, activation: relu}
  - global_avgpool
  - flatten
"""


def test_nvidia_smi_query_and_banner_are_parsed():
    gpu = parse_nvidia_smi(H200_QUERY, H200_BANNER)
    assert gpu == {"name": "NVIDIA H200", "driver": "580.159.04", "memory_mib": 143771,
                   "compute_capability": "9.0", "driver_cuda": "13.0", "count": 1}


def test_nvidia_smi_unknown_fields_and_no_gpu():
    gpu = parse_nvidia_smi("Tesla T4, [N/A], [N/A], [Not Supported]\nTesla T4, 1, 2, 3\n")
    assert gpu["name"] == "Tesla T4" and gpu["count"] == 2
    assert gpu["driver"] is None and gpu["memory_mib"] is None and gpu["compute_capability"] is None
    assert gpu["driver_cuda"] is None                       # no banner
    assert parse_nvidia_smi("") is None and parse_nvidia_smi("\n \n") is None
    old_driver = parse_nvidia_smi("GeForce GTX 1080, 470.1, 8192")  # no compute_cap column
    assert old_driver["memory_mib"] == 8192 and old_driver["compute_capability"] is None


def test_text_report_names_the_gpu_driver_and_cuda_versions():
    settings = bench.Settings(provider="cuda")
    info = bench.SessionInfo("cuda", ["CUDAExecutionProvider"], ["CUDAExecutionProvider"], 0.5,
                             options={"prefer_nhwc": "1", "use_tf32": "1", "device_id": "0"})
    report = bench.Report("m.onnx", None, info, settings, [],
                          {"cpu": "x", "cpu_count": 1, "gpu": parse_nvidia_smi(H200_QUERY, H200_BANNER)},
                          {"netc": "0", "onnxruntime": "1.31.1", "onnxruntime_cuda": "13.0"})
    lines = render.text(report).splitlines()
    assert lines[2] == ("device      NVIDIA H200 (sm 9.0, 143771 MiB), driver 580.159.04 (CUDA 13.0); "
                        "onnxruntime built for CUDA 13.0")
    assert lines[4] == "options     use_tf32=1, prefer_nhwc=1"       # device_id is not shown


def test_provider_options_go_to_the_named_provider_only():
    s = bench.Settings(provider="cuda", cuda_graph=True, provider_options=(("prefer_nhwc", "1"),))
    assert _provider_options("CUDAExecutionProvider", s) == {"enable_cuda_graph": "1", "prefer_nhwc": "1"}
    assert _provider_options("CPUExecutionProvider", s) == {}
    t = bench.Settings(provider="tensorrt", trt_fp16=True, provider_options=(("trt_max_workspace_size", "1"),))
    assert _provider_options("TensorrtExecutionProvider", t) == {"trt_fp16_enable": "1",
                                                                 "trt_max_workspace_size": "1"}
    assert _provider_options("CUDAExecutionProvider", t) == {}
    with pytest.raises(ValueError, match="--provider cuda or tensorrt"):
        bench.Settings(provider="cpu", provider_options=(("a", "b"),))


@pytest.mark.parametrize("args, message", [
    (["--provider", "cpu", "--provider-option", "prefer_nhwc=1"], "needs --provider cuda or tensorrt"),
    (["--provider", "cuda", "--provider-option", "prefer_nhwc"], "is not KEY=VALUE"),
    (["--provider", "cuda", "--provider-option", "=1"], "is not KEY=VALUE"),
])
def test_bad_provider_options_are_usage_errors(write, args, message):
    r = run_netc("bench", str(write(TINY)), *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr


def test_json_report_carries_the_provider_options(write):
    r = run_netc("bench", str(write(TINY)), "--provider", "cpu", "--runs", "2", "--warmup", "0",
                 "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["schema_version"] == 2
    assert isinstance(data["provider"]["options"], dict)
    assert data["settings"]["provider_options"] == {}
    assert data["device"]["gpu"] is None


# --------------------------------------------------------------------------- benchmarks/gpu_report.py

@pytest.mark.slow
def test_report_of_a_run_shows_each_rows_figures(write, tmp_path):
    """A raw folder as gpu_check.sh leaves it, from real CPU runs of netc bench."""
    raw = tmp_path / "raw"
    raw.mkdir()
    net = write(TINY)
    r = run_netc("bench", str(net), "--provider", "cpu", "--batch", "1,4", "--runs", "5", "--warmup", "1",
                 "--format", "json", "--peak-tflops", "0.5", "--profile", str(raw / "ort-profile-fp16-b256.json"))
    assert r.returncode == 0, r.stderr
    (raw / "fp16.out").write_text(r.stdout)
    (raw / "fp16.rc").write_text("0\n")
    (raw / "profile.out").write_text(r.stdout)
    (raw / "trt.rc").write_text("1\n")
    (raw / "trt.err").write_text("netc: error: TensorrtExecutionProvider did not load: libnvinfer.so.10: x\n")
    (raw / "nhwc.skipped").write_text("skipped\n")
    data = json.loads(r.stdout)
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_report.py"), str(raw),
                          "--json", str(tmp_path / "all.json")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for row in data["results"]:
        median_ms = f"{row['latency']['median'] * 1e3:.2f}"
        percent = f"{100 * row['work']['fraction_of_peak']:.1f}"
        assert f"| float16 | IOBinding | {row['batch']} | {median_ms} |" in text
        assert f"| {percent} |" in text
    assert "- no GPU: the runs used CPUExecutionProvider" in text
    assert "| trt | 1 | netc: error: TensorrtExecutionProvider did not load: libnvinfer.so.10: x |" in text
    assert "| nhwc | skipped |" in text
    # the profile table counts the 5 timed runs of batch 4, the last ones in the file
    collected = json.loads((tmp_path / "all.json").read_text())
    assert collected["profile"]["runs"] == 5
    assert {o["op"] for o in collected["profile"]["ops"]} >= {"Conv", "GlobalAveragePool"}


def test_profile_summary_keeps_the_last_runs_only():
    events = [{"name": "model_run", "cat": "Session", "ts": t, "dur": 10} for t in (0, 100, 200)]
    events += [{"name": "c_kernel_time", "cat": "Node", "ts": t + 1, "dur": d,
                "args": {"op_name": "Conv", "provider": "CUDAExecutionProvider"}}
               for t, d in ((0, 900), (100, 4), (200, 6))]
    s = gpu_report.profile_summary(events, timed_runs=2)
    assert s["runs"] == 2
    assert s["ops"] == [{"op": "Conv", "provider": "CUDAExecutionProvider", "nodes": 1, "ms_per_run": 0.005}]
    assert s["model_run_ms"] == 0.01


# --------------------------------------------------------------------------- benchmarks/gpu_kernels.py

@pytest.mark.parametrize("name, kind", [   # kernel names from the H200 run
    ("void op_generic_tensor_kernel<4, __half, float, __half, 256, (cudnnGenericOp_t)0>", "bias"),
    ("void onnxruntime::cuda::_UnaryElementWise<__half, __half, onnxruntime::cuda::OP_Relu<__half>>", "elementwise"),
    ("void cudnn::engines_precompiled::nchwToNhwcKernel<__half, __half, float, false, true>", "layout"),
    ("void onnxruntime::cuda::Transpose3DKernel<short, 32u>(long, long, long, short const*, short*)", "layout"),
    ("void cutlass::Kernel2<cutlass_80_tensorop_f16_s16816gemm_f16_256x128_64x3_nn_align2>", "gemm"),
    ("nvjet_sm90_hsh_256x128_64x4_1x2_h_ssched_bz_coopA_TNT", "gemm"),
    ("sm90_xmma_fprop_implicit_gemm_f16f16_f16f32_f32_nhwckrsc_nhwc_tilesize128x128x64", "conv"),
    ("cudnn_generated_fort_native_sm90_convFwd_pointwise_knob_23_128x128x32_10_0", "conv"),
    ("void cudnn::pooling_fw_4d_kernel<__half, float, cudnn::maxpooling_func<float, __half>>", "pool"),
    ("some_unknown_kernel", "other"),
])
def test_kernels_are_sorted_into_kinds(name, kind):
    assert gpu_kernels.kind_of(name) == kind


def test_kernel_summary_sums_per_run():
    events = [{"cat": "kernel", "name": "sm90_xmma_fprop_x", "dur": 300.0},
              {"cat": "kernel", "name": "sm90_xmma_fprop_x", "dur": 100.0},
              {"cat": "kernel", "name": "OP_Relu", "dur": 100.0},
              {"cat": "cpu_op", "name": "aten::conv", "dur": 5000.0}]
    s = gpu_kernels.summarize_kernels(events, runs=2)
    assert s["kernel_ms_per_run"] == 0.25
    assert s["kinds"]["conv"] == {"ms_per_run": 0.2, "share": 0.8}
    assert s["top"][0] == {"name": "sm90_xmma_fprop_x", "kind": "conv", "ms_per_run": 0.2, "calls_per_run": 1.0}


# --------------------------------------------------------------------------- scripts' arguments

def test_gpu_peak_counts_its_flops_on_the_cpu(tmp_path):
    out = tmp_path / "peak.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_peak.py"), "--provider", "cpu",
                        "--dtype", "float32", "--size", "64", "--chain", "3", "--runs", "2", "--repeats", "2",
                        "--json", str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    [fig] = json.loads(out.read_text())
    assert fig["flops_per_run"] == 3 * 2 * 64 ** 3
    assert fig["provider"] == "CPUExecutionProvider" and len(fig["tflops_blocks"]) == 2
    assert fig["peak_tflops"] == max(fig["tflops_blocks"]) >= fig["median_tflops"] > 0


@pytest.mark.skipif(shutil.which("bash") is None, reason="gpu_check.sh is a bash script")
@pytest.mark.parametrize("args, code, message", [
    (["--help"], 0, "usage: benchmarks/gpu_check.sh"),
    (["--dry-run"], 0, "steps: env peak fp16 fp32"),
    (["--batches", "1,x"], 2, "--batches: expected sizes"),
    (["--budget", "0"], 2, "--budget: expected whole seconds"),
    (["--parts", "/nonexistent-netc-parts"], 2, "--parts: no such folder"),
    (["--only", "fp64"], 2, "--only: unknown step 'fp64'"),
    (["--frobnicate"], 2, "unknown argument: --frobnicate"),
    (["--out"], 2, "--out needs a value"),
])
def test_gpu_check_arguments(args, code, message):
    r = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), *args], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == code, r.stderr
    assert message in r.stdout + r.stderr
