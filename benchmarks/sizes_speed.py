"""Time of ``netc sizes``' derivation (in process, best of N) for the networks of
issue 21, without a range and listing the whole range 1 to 2^20, next to what the
reference sweep of ``netc lint --input`` (netc.load at each size, then A001's test)
costs per size, extrapolated to 1,000 sizes per axis.

    python benchmarks/sizes_speed.py [repeats]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import netc  # noqa: E402
from netc.sizes import sizes  # noqa: E402

NETS = ["tests/data/unet2015.yaml", "examples/yolov8.yaml", "examples/resnet50.yaml",
        "examples/efficientnet_b0.yaml", "examples/vgg16.yaml", "examples/lenet5.yaml"]


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def load_at(path, shape) -> None:
    try:
        netc.load(path, input_shape=shape)
    except netc.NetcError:
        pass


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"{'network':<32} {'no range':>10} {'1:2^20':>10} {'sweep/size':>11} {'sweep 2x1000':>13}  rule (height)")
    for name in NETS:
        path = ROOT / name
        graph = netc.load(path).graph
        plain = best(lambda: sizes(graph), repeats)
        full = best(lambda: sizes(graph, (1, 1 << 20)), repeats)
        c, h, w = graph.input_shape
        per = best(lambda: [load_at(path, (c, n, w)) for n in range(h, h + 5)], 1) / 5
        rule = sizes(graph).axes[0].rule.text()
        print(f"{name:<32} {plain * 1e3:>8.1f}ms {full * 1e3:>8.1f}ms {per * 1e3:>9.1f}ms {2000 * per:>11.1f}s  {rule}")


if __name__ == "__main__":
    main()
