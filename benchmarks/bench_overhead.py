"""Does `netc bench`'s harness add measurable overhead? ResNet-50, one onnxruntime
session, interleaved rounds of

    netc:  netc.bench.bench_batch (the code behind `netc bench`: per-run clock reads,
           progress callback, statistics), whose reported throughput is batch * runs / wall;
    bare:  the plainest loop: t0 = perf_counter(); for _ in range(runs): session.run(None, feeds)

over the same graph and the same input, alternating which goes first each round so that
drift (thermal, other tenants) hits both alike. Reported: the per-round ratio
netc time per run / bare time per run (1.00 = no overhead), its median and range, and
the harness's own cost per run measured on a no-op call.

With ``--provider cuda`` both sides run on the GPU with inputs and outputs bound on the
device: netc through its own IOBinding runner, the bare loop through one written here,

    binding.bind_ortvalue_input(name, OrtValue.ortvalue_from_numpy(x, "cuda", 0))
    binding.bind_output(output, "cuda", 0);  for _ in range(runs): session.run_with_iobinding(binding)

``--dtype float16`` builds the graph in half precision (netc's builder only).

The graph: netc's examples/resnet50.yaml built by netc.onnx.build when both are present;
otherwise a ResNet-50 of the same shape (bottlenecks 3-4-6-3, batchnorm folded into the
convolutions, 25.5M parameters) made here with onnx.helper.

    python benchmarks/bench_overhead.py [--rounds 30] [--runs 3] [--batch 1] [--threads 0]
                                        [--provider cpu|cuda] [--dtype float32|float16] [--json FILE]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def resnet50_helper():
    """A ResNet-50-shaped ONNX graph (random weights, batchnorm folded into conv biases)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits = [], []
    count = [0]

    def fresh(prefix):
        count[0] += 1
        return f"{prefix}{count[0]}"

    def conv(x, cin, cout, k, stride=1, relu=True):
        w, b, y = fresh("w"), fresh("b"), fresh("conv")
        std = (2.0 / (cin * k * k)) ** 0.5
        inits.append(numpy_helper.from_array((rng.standard_normal((cout, cin, k, k)) * std).astype(np.float32), w))
        inits.append(numpy_helper.from_array(np.zeros(cout, np.float32), b))
        nodes.append(helper.make_node("Conv", [x, w, b], [y], kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[k // 2] * 4))
        if not relu:
            return y
        r = fresh("relu")
        nodes.append(helper.make_node("Relu", [y], [r]))
        return r

    x = conv("input", 3, 64, 7, 2)
    pooled = fresh("pool")
    nodes.append(helper.make_node("MaxPool", [x], [pooled], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4))
    x, cin = pooled, 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            s = stride if i == 0 else 1
            y = conv(x, cin, width, 1)
            y = conv(y, width, width, 3, s)
            y = conv(y, width, width * 4, 1, relu=False)
            shortcut = conv(x, cin, width * 4, 1, s, relu=False) if i == 0 else x
            added, out = fresh("add"), fresh("relu")
            nodes += [helper.make_node("Add", [y, shortcut], [added]), helper.make_node("Relu", [added], [out])]
            x, cin = out, width * 4
    nodes += [helper.make_node("GlobalAveragePool", [x], ["gap"]), helper.make_node("Flatten", ["gap"], ["flat"])]
    inits += [numpy_helper.from_array((rng.standard_normal((1000, 2048)) * 0.01).astype(np.float32), "fc_w"),
              numpy_helper.from_array(np.zeros(1000, np.float32), "fc_b")]
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1))
    graph = helper.make_graph(nodes, "resnet50-helper",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString(), "onnx.helper ResNet-50 (benchmarks/bench_overhead.py)"


def resnet50(dtype: str = "float32"):
    yaml = ROOT / "examples" / "resnet50.yaml"
    try:
        from netc.bench import build_network
        import netc.onnx.build  # noqa: F401
    except ImportError:
        if dtype != "float32":
            raise SystemExit("bench_overhead: --dtype float16 needs netc's ONNX builder") from None
        return resnet50_helper()
    if not yaml.exists():
        return resnet50_helper()
    import netc

    return build_network(netc.load(yaml), dtype), f"examples/resnet50.yaml built by netc.onnx.build ({dtype})"


def bare_call(session, feeds: dict, gpu: bool):
    """The plainest inference call: session.run on the host, run_with_iobinding on the GPU."""
    if not gpu:
        run = session.run
        return lambda: run(None, feeds)
    import onnxruntime as ort

    binding = session.io_binding()
    inputs = [ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0) for x in feeds.values()]
    for name, value in zip(feeds, inputs):
        binding.bind_ortvalue_input(name, value)
    for out in session.get_outputs():
        binding.bind_output(out.name, "cuda", 0)
    run = session.run_with_iobinding
    return lambda: (run(binding), inputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3, help="runs per block")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--provider", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    import onnxruntime as ort

    from netc import bench

    model, origin = resnet50(args.dtype)
    settings = bench.Settings(provider=args.provider, batches=(args.batch,), warmup=1, runs=args.runs,
                              threads=args.threads, dtype=args.dtype)
    session, info = bench.open_session(model, settings)
    feeds = bench.make_inputs(session, args.batch, settings.seed)
    call = bare_call(session, feeds, info.on_gpu)
    for _ in range(3):                       # shared warm-up before the first round
        call()

    def bare() -> float:
        t0 = time.perf_counter()
        for _ in range(args.runs):
            call()
        return (time.perf_counter() - t0) / args.runs

    def harness() -> float:
        row = bench.bench_batch(session, info, args.batch, settings, progress=lambda *a: None)
        return row.wall_s / row.runs

    ratios, netc_total, bare_total = [], 0.0, 0.0
    print(f"graph: {origin}; provider {info.provider}; onnxruntime {ort.__version__}; "
          f"batch {args.batch}; {args.rounds} rounds x {args.runs} runs each")
    for r in range(args.rounds):
        if r % 2 == 0:
            t_netc, t_bare = harness(), bare()
        else:
            t_bare, t_netc = bare(), harness()
        ratios.append(t_netc / t_bare)
        netc_total, bare_total = netc_total + t_netc, bare_total + t_bare
        print(f"round {r + 1}: netc {t_netc * 1e3:8.2f} ms/run   bare {t_bare * 1e3:8.2f} ms/run   "
              f"ratio {ratios[-1]:.4f}", flush=True)

    noop_times, noop_wall = bench.time_loop(lambda: None, 100_000, None, lambda done: None)
    per_run_ns = noop_wall / len(noop_times) * 1e9
    q1, median, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    print(f"ratio netc/bare per round: median {median:.4f}, quartiles {q1:.4f} .. {q3:.4f}, "
          f"range {min(ratios):.4f} .. {max(ratios):.4f} over {len(ratios)} rounds")
    print(f"ratio of totals (netc time / bare time, all rounds): {netc_total / bare_total:.4f}")
    print(f"harness cost per run (no-op call, 100000 runs): {per_run_ns:.0f} ns, "
          f"{per_run_ns / (bare_total / args.rounds * 1e9):.2e} of a bare ResNet-50 run")
    if args.json:
        import json

        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"graph": origin, "provider": info.provider, "dtype": args.dtype, "batch": args.batch,
                       "rounds": args.rounds, "runs": args.runs, "ratios": ratios, "median": median,
                       "quartiles": [q1, q3], "ratio_of_totals": netc_total / bare_total,
                       "netc_ms_per_run": netc_total / args.rounds * 1e3,
                       "bare_ms_per_run": bare_total / args.rounds * 1e3,
                       "harness_ns_per_run": per_run_ns}, f, indent=2)


if __name__ == "__main__":
    main()
