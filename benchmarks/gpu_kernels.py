"""Where the GPU's time goes when onnxruntime runs a netc network: kernel times from CUPTI.

onnxruntime's own profile (``netc bench --profile``) times each node on the host, which on
the CUDA provider is the time to enqueue its kernels, not to run them. This script reads
the GPU side: it runs the network on onnxruntime's CUDA provider under
``torch.profiler`` (whose CUPTI activity trace records every kernel of the process,
onnxruntime's included), and sums kernel durations by kind:

    layout      NCHW <-> NHWC conversions (cuDNN runs fp16 tensor-core convolutions in NHWC)
    conv        convolution kernels (implicit GEMM, winograd, cuDNN's own)
    gemm        matrix multiplies: the classifier, and 1x1 convolutions cuDNN runs as GEMMs
    bias        cuDNN's generic op-tensor kernel (cudnnAddTensor), which onnxruntime's Conv
                uses to add a bias it could not fuse into the convolution
    elementwise activations, additions, casts
    pool        pooling
    other       the rest (named in the top-kernel list)

    GPU busy        = sum of kernel durations per run / wall time per run
    matrix TFLOP/s  = netc's FLOPs of the conv and dense layers / (conv + gemm kernel time per run)

It needs PyTorch (the GPU machine's image has it) only to read CUPTI; nothing of netc
depends on it. With ``--torch`` it also times torchvision's ResNet-50 in PyTorch at the
same batch and dtype (channels-last, cuDNN autotuning), as a yardstick.

    python benchmarks/gpu_kernels.py [--model examples/resnet50.yaml] [--dtype float16]
                                     [--batch 256] [--runs 10] [--provider-option KEY=VALUE ...]
                                     [--torch] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = (   # first match wins; names as cuDNN, cuBLAS and onnxruntime's CUDA kernels spell them
    ("layout", re.compile(r"nchwToNhwc|nhwcToNchw|[Tt]ranspose|nchw2nhwc|nhwc2nchw|Reorder", re.I)),
    ("conv", re.compile(r"conv|fprop|implicit_gemm|winograd|implicit_convolve|precomputed", re.I)),
    ("gemm", re.compile(r"gemm|matmul|nvjet", re.I)),
    ("bias", re.compile(r"op_generic_tensor_kernel|add_tensor", re.I)),
    ("pool", re.compile(r"pool", re.I)),
    ("elementwise", re.compile(r"elementwise|_Impl|Relu|Add|Cast|vectorized|unrolled", re.I)),
)


def kind_of(name: str) -> str:
    return next((kind for kind, pattern in KINDS if pattern.search(name)), "other")


def summarize_kernels(events: list, runs: int) -> dict:
    """Kernel events of a chrome trace ({"cat": "kernel", "name", "dur" in us}) summed by kind."""
    by_kind: dict = defaultdict(float)
    by_name: dict = defaultdict(lambda: [0.0, 0])
    for e in events:
        if e.get("cat") != "kernel":
            continue
        by_kind[kind_of(e["name"])] += e["dur"]
        by_name[e["name"]][0] += e["dur"]
        by_name[e["name"]][1] += 1
    total = sum(by_kind.values())
    top = sorted(by_name.items(), key=lambda kv: -kv[1][0])[:12]
    return {"kernel_ms_per_run": total / runs / 1e3,
            "kinds": {k: {"ms_per_run": v / runs / 1e3, "share": v / total if total else 0.0}
                      for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])},
            "top": [{"name": n[:160], "kind": kind_of(n), "ms_per_run": t / runs / 1e3, "calls_per_run": c / runs}
                    for n, (t, c) in top]}


def ort_kernels(model_path: Path, dtype: str, batch: int, runs: int, options: dict) -> dict:
    import numpy as np
    import onnxruntime as ort
    import torch
    from torch.profiler import ProfilerActivity, profile

    import netc
    from netc.bench import build_network

    network = netc.load(model_path)
    ort.preload_dlls()
    session = ort.InferenceSession(build_network(network, dtype),
                                   providers=[("CUDAExecutionProvider", options), "CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    x = np.random.default_rng(0).standard_normal((batch, *inp.shape[1:])).astype(dtype)
    binding = session.io_binding()
    binding.bind_ortvalue_input(inp.name, ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0))
    for out in session.get_outputs():
        binding.bind_output(out.name, "cuda", 0)
    for _ in range(5):
        session.run_with_iobinding(binding)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        t0 = time.perf_counter()
        for _ in range(runs):
            session.run_with_iobinding(binding)     # synchronises with the device on return
        wall = (time.perf_counter() - t0) / runs
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(trace)
        events = json.load(open(trace, encoding="utf-8")).get("traceEvents", [])
    summary = summarize_kernels(events, runs)
    matrix_flops = batch * sum(layer.flops for layer in network.analysis.layers if layer.op in ("conv", "dense"))
    all_flops = batch * network.analysis.totals.flops
    matrix_ms = sum(summary["kinds"].get(k, {}).get("ms_per_run", 0.0) for k in ("conv", "gemm"))
    return {"runtime": "onnxruntime " + ort.__version__, "provider_options": options, "dtype": dtype,
            "batch": batch, "runs": runs, "wall_ms_per_run": wall * 1e3,
            "samples_per_s": batch / wall, "tflops": all_flops / wall / 1e12,
            "gpu_busy": summary["kernel_ms_per_run"] / (wall * 1e3),
            "matrix_tflops": matrix_flops / (matrix_ms / 1e3) / 1e12 if matrix_ms else None, **summary}


def torch_yardstick(dtype: str, batch: int, runs: int) -> dict:
    """torchvision's ResNet-50 in PyTorch eager, channels-last, cudnn.benchmark, inference mode."""
    import torch
    import torchvision

    torch.backends.cudnn.benchmark = True
    dt = {"float16": torch.float16, "float32": torch.float32}[dtype]
    model = torchvision.models.resnet50().eval().to("cuda", dt).to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=dt).to(memory_format=torch.channels_last)
    with torch.inference_mode():
        for _ in range(5):
            model(x)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(runs):
            model(x)
        torch.cuda.synchronize()
        wall = (time.perf_counter() - t0) / runs
    return {"runtime": f"PyTorch {torch.__version__} eager, channels_last, cudnn.benchmark, "
                       f"allow_tf32={torch.backends.cudnn.allow_tf32}",
            "dtype": dtype, "batch": batch, "runs": runs, "wall_ms_per_run": wall * 1e3,
            "samples_per_s": batch / wall}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "examples" / "resnet50.yaml")
    parser.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--provider-option", action="append", default=[], metavar="KEY=VALUE",
                        help="a CUDA provider option, e.g. prefer_nhwc=1 (repeatable)")
    parser.add_argument("--torch", action="store_true", help="also time torchvision's ResNet-50 in PyTorch")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.runs < 1:
        parser.error("--batch and --runs must be at least 1")
    try:
        import torch
    except ImportError:
        parser.error("this script reads CUPTI through torch.profiler: it needs PyTorch")
    if not torch.cuda.is_available():
        parser.error("no CUDA device visible to PyTorch")
    options = {}
    for item in args.provider_option:
        key, eq, value = item.partition("=")
        if not eq or not key:
            parser.error(f"--provider-option: {item!r} is not KEY=VALUE")
        options[key] = value
    results = {"onnxruntime": ort_kernels(args.model, args.dtype, args.batch, args.runs, options)}
    r = results["onnxruntime"]
    print(f"onnxruntime {args.dtype} batch {args.batch} {options or 'default options'}: "
          f"{r['wall_ms_per_run']:.2f} ms/run, {r['samples_per_s']:,.0f} samples/s, {r['tflops']:.1f} TFLOP/s; "
          f"kernels {r['kernel_ms_per_run']:.2f} ms/run (GPU busy {100 * r['gpu_busy']:.0f} %); "
          f"conv and gemm kernels at {r['matrix_tflops'] or 0:.1f} TFLOP/s")
    for kind, v in r["kinds"].items():
        print(f"  {kind:12s} {v['ms_per_run']:8.3f} ms/run  {100 * v['share']:5.1f} %")
    for k in r["top"]:
        print(f"  {k['ms_per_run']:8.3f} ms/run  x{k['calls_per_run']:<5g} {k['kind']:11s} {k['name'][:110]}")
    if args.torch:
        results["torch"] = t = torch_yardstick(args.dtype, args.batch, args.runs)
        print(f"{t['runtime']}: {t['wall_ms_per_run']:.2f} ms/run, {t['samples_per_s']:,.0f} samples/s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
