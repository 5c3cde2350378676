"""``netc lint`` of the hostile models of issue 19 whose cost is their size, next to
``python -c "import onnx; onnx.load(F)"`` on the same file: whole processes,
interleaved, best of N, with each one's peak resident memory.

    python benchmarks/hostile_onnx_speed.py [repeats] [nodes]

The models (``nodes`` defaults to 200,000):

* ``types``: ``nodes`` nodes of as many distinct unknown op types, each reading the input
  (the fuzzer's 200,000-type model: one E011 naming the first types and a count);
* ``relus``: a chain of ``nodes`` Relu nodes, every one read: the per-node cost of a
  model netc reads whole, for scale.

The reader's work is linear in the nodes; the ratio to ``onnx.load`` is what it adds
per node to protobuf's own parse.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from onnx_lint_speed import run     # (seconds, peak RSS) of one child process, beside this file


def build(kind: str, nodes: int, path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    if kind == "types":
        body = [helper.make_node(f"Mystery{i}", ["x"], [f"y{i}"], name=f"n{i}") for i in range(nodes)]
        outs = [helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, None) for i in range(nodes)]
    else:
        body = [helper.make_node("Relu", ["x" if i == 0 else f"y{i - 1}"], [f"y{i}"], name=f"relu{i}")
                for i in range(nodes)]
        outs = [helper.make_tensor_value_info(f"y{nodes - 1}", TensorProto.FLOAT, None)]
    graph = helper.make_graph(body, "g", [x], outs)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def main() -> None:
    if sys.argv[1:2] == ["--build"]:
        return build(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    nodes = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    py = sys.executable
    print(f"best of {repeats}, whole processes, interleaved, {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("types", "relus"):
            path = Path(tmp) / f"{kind}.onnx"
            # built by a child: a child forked from a parent holding the model would
            # report the parent's pages in its peak RSS
            subprocess.run([py, __file__, "--build", kind, str(nodes), str(path)], check=True)
            rows = {
                "python -c 'import onnx; onnx.load(F)'": [py, "-c", f"import onnx; onnx.load({str(path)!r})"],
                "netc lint F": [py, "-m", "netc", "lint", "--exit-zero", str(path)],
            }
            results: dict[str, list[tuple[float, int]]] = {k: [] for k in rows}
            for _ in range(repeats):
                for label, cmd in rows.items():
                    results[label].append(run(cmd))
            print(f"\n{kind}: {nodes:,} nodes, {path.stat().st_size / 1e6:.1f} MB")
            base = min(t for t, _ in results[next(iter(rows))])
            for label, res in results.items():
                t = min(s for s, _ in res)
                rss = max(m for _, m in res)
                print(f"  {label:<42} {t:6.2f} s  {t / base:5.2f}x   peak RSS {rss / 1e6:7.1f} MB")


if __name__ == "__main__":
    main()
