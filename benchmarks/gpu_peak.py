"""The dense matrix-multiply peak of a device, measured through onnxruntime's MatMul.

`netc bench --peak-tflops P` reports achieved FLOP/s as a fraction of P; this script
measures P in the same run instead of quoting a datasheet. The graph is a chain of
``--chain`` MatMuls Y_{i+1} = Y_i W (square, ``--size`` n), so one inference is
chain * 2 n^3 FLOPs and onnxruntime's per-run overhead is amortised over the chain;
W is drawn from N(0, 1/n) so that the activations keep unit variance through it (no
infinities: zeros and infinities run faster than real data on tensor cores).

    achieved = chain * 2 * n**3 * runs / (sum of run times)
    peak     = the best of ``--repeats`` timed blocks (a peak, not a typical value)

On the CUDA provider the input, the weight and the output are bound on the device
(IOBinding) and onnxruntime's default CUDA options apply: ``use_tf32`` decides whether
float32 runs on TF32 tensor cores, so the float32 peak is that of the precision a
float32 ``netc bench`` gets. The provider options are printed with the figures.

    python benchmarks/gpu_peak.py [--provider cuda] [--dtype float16 float32] [--size 8192]
                                  [--chain 8] [--runs 5] [--repeats 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

PROVIDERS = {"cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}


def matmul_chain(n: int, chain: int, dtype: str) -> bytes:
    """ONNX bytes of X -> X W -> (X W) W -> ... (chain MatMuls sharing one n x n weight)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    elem = {"float16": TensorProto.FLOAT16, "float32": TensorProto.FLOAT}[dtype]
    w = (np.random.default_rng(0).standard_normal((n, n)) / n ** 0.5).astype(dtype)
    names = ["x"] + [f"y{i}" for i in range(1, chain + 1)]
    nodes = [helper.make_node("MatMul", [names[i], "w"], [names[i + 1]]) for i in range(chain)]
    graph = helper.make_graph(nodes, "matmul_chain", [helper.make_tensor_value_info("x", elem, [n, n])],
                              [helper.make_tensor_value_info(names[-1], elem, [n, n])],
                              [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return model.SerializeToString()


def measure(provider: str, dtype: str, n: int, chain: int, runs: int, repeats: int) -> dict:
    """Time ``repeats`` blocks of ``runs`` inferences; return the figures as a dict."""
    import numpy as np
    import onnxruntime as ort

    if provider == "cuda" and hasattr(ort, "preload_dlls"):
        ort.preload_dlls()
    session = ort.InferenceSession(matmul_chain(n, chain, dtype), providers=[PROVIDERS[provider]])
    used = session.get_providers()[0]
    if used != PROVIDERS[provider]:
        raise SystemExit(f"gpu_peak: {PROVIDERS[provider]} did not load (running on {used})")
    x = np.random.default_rng(1).standard_normal((n, n)).astype(dtype)
    if provider == "cuda":
        binding = session.io_binding()
        binding.bind_ortvalue_input("x", ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0))
        out = ort.OrtValue.ortvalue_from_shape_and_type((n, n), np.dtype(dtype).type, "cuda", 0)
        binding.bind_ortvalue_output(session.get_outputs()[0].name, out)
        call = lambda: session.run_with_iobinding(binding)   # noqa: E731 - synchronises on return
    else:
        call = lambda: session.run(None, {"x": x})           # noqa: E731
    for _ in range(2):
        call()                                                # cuBLAS picks its kernels here
    flops = chain * 2 * n ** 3
    blocks = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(runs):
            call()
        blocks.append(flops * runs / (time.perf_counter() - t0) / 1e12)
    options = session.get_provider_options().get(used, {})
    return {"provider": used, "dtype": dtype, "size": n, "chain": chain, "runs": runs, "repeats": repeats,
            "flops_per_run": flops, "tflops_blocks": blocks, "peak_tflops": max(blocks),
            "median_tflops": statistics.median(blocks),
            "options": {k: options[k] for k in ("use_tf32", "cudnn_conv_algo_search") if k in options},
            "onnxruntime": ort.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--provider", choices=sorted(PROVIDERS), default="cuda")
    parser.add_argument("--dtype", nargs="+", choices=["float16", "float32"], default=["float16", "float32"])
    parser.add_argument("--size", type=int, default=8192, help="n of the n x n matrices (default 8192)")
    parser.add_argument("--chain", type=int, default=8, help="MatMuls per inference (default 8)")
    parser.add_argument("--runs", type=int, default=5, help="inferences per timed block (default 5)")
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks (default 5)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    for name in ("size", "chain", "runs", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    results = []
    for dtype in args.dtype:
        r = measure(args.provider, dtype, args.size, args.chain, args.runs, args.repeats)
        results.append(r)
        print(f"{dtype}: peak {r['peak_tflops']:.1f} TFLOP/s, median {r['median_tflops']:.1f} "
              f"({r['provider']}, {args.chain} x {args.size}^3 MatMul, options {r['options']})", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
