"""Whole-process time of ``netc lint`` next to ``python -c "import yaml, jsonschema"``,
measured in one run (best of N), and the cost of many files against one.

    python benchmarks/lint_speed.py [repeats]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def best(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    py = sys.executable
    examples = sorted(str(p) for p in (ROOT / "examples").rglob("*.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        many = []
        for i in range(100):
            for e in examples:
                dst = Path(tmp) / f"{i}-{Path(e).name}"
                shutil.copy(e, dst)
                many.append(str(dst))
        rows = [
            ("python -c 'pass'", [py, "-c", "pass"]),
            ("python -c 'import yaml, jsonschema'", [py, "-c", "import yaml, jsonschema"]),
            ("netc --version", [py, "-m", "netc", "--version"]),
            (f"netc lint examples/ ({len(examples)} files)", [py, "-m", "netc", "lint", "examples"]),
            ("netc lint examples/murphy-fig7.yaml (1 file)",
             [py, "-m", "netc", "lint", str(ROOT / "examples" / "murphy-fig7.yaml")]),
            (f"netc lint {len(many)} files", [py, "-m", "netc", "lint", *many]),
        ]
        base = None
        print(f"best of {repeats}, whole process, {sys.version.split()[0]}")
        for label, cmd in rows:
            t = best(cmd, repeats)
            base = base or t
            print(f"{label:<50} {t * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
