"""Collect the files of one ``benchmarks/gpu_check.sh`` run into a markdown report and one JSON.

    python benchmarks/gpu_report.py RAW_DIR [--markdown FILE] [--json FILE]

RAW_DIR holds, per step NAME, ``NAME.out`` (stdout: ``netc bench --format json`` for the
bench steps), ``NAME.err`` and ``NAME.rc``; besides them ``nvidia-smi.txt``,
``peak-figures.json`` (benchmarks/gpu_peak.py), ``overhead-figures.json``
(benchmarks/bench_overhead.py) and ``ort-profile-*.json`` (onnxruntime's profile).
Every figure in the report is read from those files; nothing is measured here.

The profile table sums onnxruntime's per-node ``*_kernel_time`` events over the timed
runs (the last ``runs`` ``model_run`` events) and divides by their number. On the CUDA
provider a node's time is the host's time to enqueue its kernels, not the GPU's time to
run them; when the nodes' sum is close to the ``model_run`` time the host keeps the GPU
waiting, when it is much smaller the GPU is the bottleneck.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
from collections import defaultdict
from pathlib import Path

BENCH_STEPS = {   # step name -> (dtype, how the runs were made)
    "fp32": ("float32", "IOBinding"),
    "fp16": ("float16", "IOBinding"),
    "fp32-graph": ("float32", "CUDA graph"),
    "fp16-graph": ("float16", "CUDA graph"),
    "nhwc": ("float16", "IOBinding, prefer_nhwc=1"),
    "nhwc-graph": ("float16", "CUDA graph, prefer_nhwc=1"),
    "fused": ("float16", "IOBinding, prefer_nhwc=1, fuse_conv_bias=1"),
    "fused-graph": ("float16", "CUDA graph, prefer_nhwc=1, fuse_conv_bias=1"),
    "trt": ("float16", "TensorRT, trt_fp16"),
    "profile": ("float16", "IOBinding, --profile"),
}


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def step_status(raw: Path) -> dict:
    """{step: {"rc": int | None, "skipped": bool, "error": for a failed step, the last stderr
    line that says error (else its last line)}}."""
    names = {p.stem for p in raw.glob("*.rc")} | {p.stem for p in raw.glob("*.skipped")}
    status = {}
    for name in sorted(names):
        rc_text = _text(raw / f"{name}.rc").strip()
        err = [line for line in _text(raw / f"{name}.err").splitlines() if line.strip()]
        errors = [line for line in err if "error" in line.lower()]
        rc = int(rc_text) if rc_text.lstrip("-").isdigit() else None
        status[name] = {"rc": rc, "skipped": (raw / f"{name}.skipped").exists(),
                        "error": (errors or err or [None])[-1] if rc else None}
    return status


def profile_summary(events: list, timed_runs: int) -> dict:
    """Per (op, provider): nodes, host ms per run over the last ``timed_runs`` model runs."""
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "model_run")
    if not runs:
        return {"runs": 0, "ops": [], "model_run_ms": None, "nodes_ms": None}
    kept = runs[-timed_runs:] if timed_runs else runs
    starts = [r[0] for r in kept]
    per_op: dict = defaultdict(lambda: {"time_us": 0, "nodes": set()})
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        i = bisect.bisect_right(starts, e["ts"]) - 1
        if i < 0 or e["ts"] > kept[i][1]:
            continue
        args = e.get("args", {})
        key = (args.get("op_name", "?"), args.get("provider", "?"))
        per_op[key]["time_us"] += e["dur"]
        per_op[key]["nodes"].add(e["name"])
    n = len(kept)
    ops = sorted(({"op": op, "provider": prov, "nodes": len(v["nodes"]), "ms_per_run": v["time_us"] / n / 1e3}
                  for (op, prov), v in per_op.items()), key=lambda r: -r["ms_per_run"])
    return {"runs": n, "ops": ops, "model_run_ms": sum(b - a for a, b in kept) / n / 1e3,
            "nodes_ms": sum(r["ms_per_run"] for r in ops)}


def collect(raw: Path) -> dict:
    """Everything of one run, parsed."""
    benches = {}
    for name in BENCH_STEPS:
        report = _read_json(raw / f"{name}.out")
        if isinstance(report, dict) and "results" in report:
            benches[name] = report
    profile = None
    profiles = sorted(raw.glob("ort-profile-*.json"))
    if profiles:
        events = _read_json(profiles[0]) or []
        timed = benches.get("profile", {}).get("results", [{}])[0].get("runs", 0)
        profile = profile_summary(events, timed) | {"file": profiles[0].name}
    env = None
    for line in reversed(_text(raw / "env.out").splitlines()):   # warnings may precede the JSON line
        try:
            env = json.loads(line)
            break
        except ValueError:
            continue
    return {"env": env, "nvidia_smi": _text(raw / "nvidia-smi.txt"),
            "peak": _read_json(raw / "peak-figures.json") or [], "bench": benches,
            "overhead": _read_json(raw / "overhead-figures.json"), "profile": profile,
            "kernels": {name: k for name in ("kernels", "kernels-tuned")
                        if (k := _read_json(raw / f"{name}-figures.json"))},
            "steps": step_status(raw)}


def _ms(seconds) -> str:
    return f"{seconds * 1e3:.2f}" if seconds is not None else "–"


def bench_rows(benches: dict) -> list[list[str]]:
    rows = []
    for name, (dtype, mode) in BENCH_STEPS.items():
        report = benches.get(name)
        if report is None or name == "profile":
            continue
        for r in report["results"]:
            t = r.get("transfers") or {}
            w = r.get("work") or {}
            frac = w.get("fraction_of_peak")
            rows.append([dtype, mode, str(r["batch"]), _ms(r["latency"]["median"]), _ms(r["latency"]["p99"]),
                         f"{r['throughput']:,.0f}",
                         f"{w['achieved_flops_per_s'] / 1e12:.1f}" if w else "–",
                         f"{100 * frac:.1f}" if frac is not None else "–",
                         _ms(t["h2d"]["median"]) if t else "–", _ms(t["d2h"]["median"]) if t else "–",
                         _ms(t["total"]["median"]) if t else "–"])
    return rows


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def markdown(data: dict) -> str:
    out = ["# netc bench on a GPU: benchmarks/gpu_check.sh", ""]
    any_bench = next(iter(data["bench"].values()), None)
    if any_bench:
        gpu, v = any_bench["device"].get("gpu"), any_bench["versions"]
        if gpu:
            out.append(f"- GPU: {gpu['name']} (compute capability {gpu.get('compute_capability')}, "
                       f"{gpu.get('memory_mib')} MiB), driver {gpu.get('driver')} (CUDA {gpu.get('driver_cuda')})")
        else:
            out.append(f"- no GPU: the runs used {any_bench['provider']['used']}")
        out.append(f"- onnxruntime {v.get('onnxruntime')} ({v.get('onnxruntime_package')}, built for CUDA "
                   f"{v.get('onnxruntime_cuda')}), netc {v.get('netc')}, Python {v.get('python')}")
        out.append(f"- CPU: {any_bench['device'].get('cpu')}, {any_bench['device'].get('cpu_count')} CPUs")
        options = any_bench["provider"].get("options") or {}
        shown = {k: options[k] for k in ("use_tf32", "cudnn_conv_algo_search", "prefer_nhwc") if k in options}
        out.append(f"- CUDA provider options: {shown or 'not reported'}")
    elif data["env"]:
        out.append(f"- onnxruntime: {data['env']}")
    out.append("")
    if data["peak"]:
        out += ["## Measured dense peak (onnxruntime MatMul on the device)", ""]
        out += _table(["dtype", "peak TFLOP/s", "median TFLOP/s", "graph", "options"],
                      [[p["dtype"], f"{p['peak_tflops']:.1f}", f"{p['median_tflops']:.1f}",
                        f"{p['chain']} × {p['size']}³ MatMul", str(p.get("options", {}))] for p in data["peak"]])
        out.append("")
    rows = bench_rows(data["bench"])
    if rows:
        out += ["## examples/resnet50.yaml, netc bench --provider cuda", "",
                "Latency in ms per batch; transfers from `--include-transfers`' second loop (inputs "
                "copied in, run, outputs copied out), medians. % of peak: netc's FLOPs per sample × "
                "samples/s against the peak measured above for the same dtype.", ""]
        out += _table(["dtype", "runs", "batch", "median ms", "p99 ms", "samples/s", "TFLOP/s", "% of peak",
                       "H2D ms", "D2H ms", "end to end ms"], rows)
        out.append("")
    prof = data["profile"]
    if prof and prof["ops"]:
        out += [f"## Profile: float16, batch 256, {prof['runs']} timed runs ({prof['file']})", "",
                f"model_run {prof['model_run_ms']:.2f} ms per run on the host clock; the nodes' times sum "
                f"to {prof['nodes_ms']:.2f} ms (host time to enqueue each node's kernels).", ""]
        out += _table(["op", "provider", "nodes", "ms per run", "share of nodes"],
                      [[o["op"], o["provider"], str(o["nodes"]), f"{o['ms_per_run']:.3f}",
                        f"{100 * o['ms_per_run'] / prof['nodes_ms']:.1f} %" if prof["nodes_ms"] else "–"]
                       for o in prof["ops"][:15]])
        out.append("")
    for name, k in data.get("kernels", {}).items():
        r = k["onnxruntime"]
        layout = ", ".join(f"{k}={v}" for k, v in r["provider_options"].items()) or "default options (NCHW)"
        out += [f"## GPU kernels: {r['dtype']}, batch {r['batch']}, {layout} (benchmarks/gpu_kernels.py)", "",
                f"{r['wall_ms_per_run']:.2f} ms per run, {r['samples_per_s']:,.0f} samples/s, "
                f"{r['tflops']:.1f} TFLOP/s; kernels {r['kernel_ms_per_run']:.2f} ms per run "
                f"(GPU busy {100 * r['gpu_busy']:.0f} %); the convolution and GEMM kernels alone run "
                f"netc's conv and dense FLOPs at {r.get('matrix_tflops') or 0:.1f} TFLOP/s.", ""]
        out += _table(["kind", "ms per run", "share"], [[kind, f"{v['ms_per_run']:.3f}", f"{100 * v['share']:.1f} %"]
                                                        for kind, v in r["kinds"].items()])
        out += ["", "Top kernels:", ""]
        out += _table(["ms per run", "calls per run", "kind", "kernel"],
                      [[f"{t['ms_per_run']:.3f}", f"{t['calls_per_run']:g}", t["kind"], f"`{t['name'][:100]}`"]
                       for t in r["top"][:8]])
        if "torch" in k:
            t = k["torch"]
            out += ["", f"Yardstick: {t['runtime']}, {t['dtype']}, batch {t['batch']}: {t['wall_ms_per_run']:.2f} ms "
                        f"per run, {t['samples_per_s']:,.0f} samples/s."]
        out.append("")
    ov = data["overhead"]
    if ov:
        out += ["## Harness overhead (benchmarks/bench_overhead.py --provider cuda)", "",
                f"{ov['graph']}, {ov['provider']}, batch {ov['batch']}, {ov['rounds']} rounds × {ov['runs']} runs: "
                f"netc/bare median {ov['median']:.4f} (quartiles {ov['quartiles'][0]:.4f} .. "
                f"{ov['quartiles'][1]:.4f}), ratio of totals {ov['ratio_of_totals']:.4f}; "
                f"netc {ov['netc_ms_per_run']:.3f} ms/run, bare {ov['bare_ms_per_run']:.3f} ms/run.", ""]
    out += ["## Steps", ""]
    out += _table(["step", "exit", "last error line"],
                  [[name, "skipped" if s["skipped"] else str(s["rc"]), (s["error"] or "").replace("|", "\\|")[:200]]
                   for name, s in data["steps"].items()])
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", type=Path, help="the raw folder of one gpu_check.sh run")
    parser.add_argument("--markdown", type=Path, help="write the report here (default: stdout)")
    parser.add_argument("--json", type=Path, help="write everything parsed here")
    args = parser.parse_args(argv)
    if not args.raw.is_dir():
        parser.error(f"no such folder: {args.raw}")
    data = collect(args.raw)
    text = markdown(data)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
