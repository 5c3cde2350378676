"""How long the netc-lint pre-commit hook takes to install, and how much it weighs.

Each round makes a throwaway repository whose .pre-commit-config.yaml names the
``netc-lint`` hook of a netc checkout, and times ``pre-commit install-hooks`` with a
fresh PRE_COMMIT_HOME: the virtualenv, the build of netc from source (pip's isolated
build environment, the build backend) and the install of netc's light dependencies,
from pip's cache when it is warm. Several checkouts (``--tree``) are measured in
interleaved rounds, so that before and after meet the same machine load; the figures
are the median and the range over rounds, and the environment's size on disk.

    python benchmarks/hook_install.py [--rounds 5] [--tree OTHER_CHECKOUT ...]

A checkout with uncommitted changes is measured as ``git stash create`` records it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rev_of(tree: Path) -> str:
    def git(*args):
        return subprocess.run(["git", *args], cwd=tree, capture_output=True, text=True, check=True).stdout.strip()

    return git("stash", "create") or git("rev-parse", "HEAD")


def install_once(tree: Path, rev: str, work: Path) -> tuple[float, int]:
    """Seconds of ``pre-commit install-hooks`` and the hook environment's bytes."""
    repo, home = work / "repo", work / "home"
    for p in (repo, home):
        shutil.rmtree(p, ignore_errors=True)
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {tree}\n    rev: {rev}\n    hooks:\n      - id: netc-lint\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PRE_COMMIT_HOME": str(home)}
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pre_commit", "install-hooks"], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"pre-commit install-hooks failed for {tree}:\n{r.stdout}{r.stderr}")
    size = sum(os.lstat(os.path.join(d, f)).st_size for env_dir in home.glob("*/py_env-*")
               for d, _, files in os.walk(env_dir) for f in files)
    return seconds, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tree", type=Path, action="append", default=[], help="another netc checkout")
    args = parser.parse_args()
    trees = [ROOT, *(t.resolve() for t in args.tree)]
    revs = [rev_of(t) for t in trees]
    times: dict[Path, list[float]] = {t: [] for t in trees}
    sizes: dict[Path, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for t, rev in zip(trees, revs):           # warm pip's cache with each tree's downloads
            install_once(t, rev, Path(tmp))
        for i in range(args.rounds):
            order = list(zip(trees, revs))
            if i % 2:
                order.reverse()
            for t, rev in order:
                seconds, sizes[t] = install_once(t, rev, Path(tmp))
                times[t].append(seconds)
                print(f"round {i + 1}: {t}: {seconds:.2f} s", flush=True)
    print(f"{args.rounds} rounds, interleaved; pip cache warm")
    for t in trees:
        v = times[t]
        print(f"{str(t):40s} median {statistics.median(v):6.2f} s  range {min(v):.2f} .. {max(v):.2f} s  "
              f"environment {sizes[t] / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
