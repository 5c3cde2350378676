"""Time the README's Quick start and CI as a newcomer meets them: a fresh clone of this
checkout's HEAD, fresh virtual environments, the commands exactly as the README gives
them, and write the figures into README.md.

    python benchmarks/quickstart_timing.py [--write-readme] [--no-ci] [--no-fast]

Steps, each timed with the wall clock (pip's cache is whatever the machine has):

1. the Quick start's first line in a new venv: ``pip install '.[all]'``, then
   ``netc summary examples/murphy-fig7.yaml`` (its output must be Figure 7's table);
2. its second line in the same venv: ``pip install '.[test]'``, then ``python -m pytest``;
3. ``python -m pytest -m "not slow"`` in that venv (the developer loop), unless ``--no-fast``;
4. ``CI=true bash .ci/run`` in the clone (its own venv, '.[test]', torch 2.13.0 and
   onnxscript, the whole suite), unless ``--no-ci``.

A step that fails stops the run with its output's tail and exit 1. ``--write-readme``
replaces the paragraph between README.md's ``<!-- quickstart_timing.py -->`` markers
(it needs every step).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- quickstart_timing.py --write-readme: begin -->"
END = "<!-- quickstart_timing.py --write-readme: end -->"
SUMMARY = re.compile(r"^=*\s*(?P<counts>\d[^=]*?) in (?P<secs>[\d.]+)s", re.M)


def run(cmd: str, cwd: Path, env: dict | None = None) -> tuple[float, str]:
    """(seconds, stdout and stderr) of one shell command; exits on failure."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, shell=True, cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {cmd}\n{proc.stdout[-4000:]}")
    print(f"{seconds:8.1f} s  {cmd}", flush=True)
    return seconds, proc.stdout


def tests(output: str) -> tuple[str, float]:
    """pytest's closing counts ("2,628 passed, 1 skipped") and its own seconds."""
    found = SUMMARY.findall(output)
    if not found:
        sys.exit(f"no pytest summary in:\n{output[-2000:]}")
    counts, secs = found[-1]
    counts = re.sub(r"\d+", lambda m: f"{int(m.group()):,}", counts.strip())
    return counts, float(secs)


def duration(seconds: float) -> str:
    """8 min 02 s, or 41.3 s under a minute."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s"


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def paragraph(f: dict) -> str:
    return (
        "The second runs the whole suite, end-to-end tests included, as CI does. Measured by\n"
        "`python benchmarks/quickstart_timing.py --write-readme` on a fresh clone of "
        f"{f['commit']}, in\nfresh venvs, {f['date']}, on a {f['cores']}-core machine "
        f"(load average {f['load']} at the start, {f['load_end']} at the end; pip's cache warm):\n"
        f"- the first command: {duration(f['install_all'] + f['summary'])} "
        f"(the install {duration(f['install_all'])}, the summary {duration(f['summary'])});\n"
        f"- the second: {duration(f['install_test'] + f['pytest'])} (the install "
        f"{duration(f['install_test'])}; {f['pytest_counts']} in {duration(f['pytest'])}: without "
        "torch, `tests/test_torch.py` is skipped);\n"
        f"- `python -m pytest -m \"not slow\"`: {f['fast_counts']} in {duration(f['fast'])};\n"
        f"- `CI=true bash .ci/run` (its own venv, `.[test]`, torch 2.13.0 and onnxscript, then the whole "
        f"suite): {duration(f['ci'])}, of which the tests {duration(f['ci_tests'])} "
        f"({f['ci_counts']})."
    )


def write_readme(text: str) -> None:
    readme = ROOT / "README.md"
    old = readme.read_text(encoding="utf-8")
    start, end = old.find(BEGIN), old.find(END)
    if start < 0 or end < start:
        sys.exit(f"README.md has no {BEGIN} ... {END} markers")
    new = old[:start + len(BEGIN)] + "\n" + text + "\n" + old[end:]
    tmp = readme.with_suffix(".md.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(readme)
    print("README.md written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--no-ci", action="store_true", help="leave out .ci/run")
    parser.add_argument("--no-fast", action="store_true", help='leave out pytest -m "not slow"')
    args = parser.parse_args()
    if args.write_readme and (args.no_ci or args.no_fast):
        parser.error("--write-readme writes every figure: leave out --no-ci and --no-fast")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                            capture_output=True, check=True).stdout.strip()
    f = {"commit": commit, "date": datetime.date.today().isoformat(), "cores": os.cpu_count(),
         "load": load()}
    with tempfile.TemporaryDirectory(prefix="netc-quickstart-") as tmp:
        clone, venv = Path(tmp) / "netc", Path(tmp) / "venv"
        run(f"git clone -q {ROOT} {clone}", Path(tmp))
        run(f"{sys.executable} -m venv {venv}", Path(tmp))
        env = dict(os.environ, PATH=f"{venv}/bin:{os.environ['PATH']}", VIRTUAL_ENV=str(venv))
        env.pop("PYTHONPATH", None)
        pip = "pip install --quiet --disable-pip-version-check"
        run(f"{pip} --upgrade pip", clone, env)
        f["install_all"], _ = run(f"{pip} '.[all]'", clone, env)
        f["summary"], out = run("netc summary examples/murphy-fig7.yaml", clone, env)
        if "fc1" not in out or "39,325,696" not in out:
            sys.exit(f"the Quick start's summary is not Figure 7's table:\n{out}")
        f["install_test"], _ = run(f"{pip} '.[test]'", clone, env)
        f["pytest"], out = run("python -m pytest", clone, env)
        f["pytest_counts"], _ = tests(out)
        if not args.no_fast:
            f["fast"], out = run('python -m pytest -m "not slow"', clone, env)
            f["fast_counts"], _ = tests(out)
        if not args.no_ci:
            ci_env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
            f["ci"], out = run("CI=true bash .ci/run", clone, dict(ci_env, CI="true"))
            f["ci_counts"], f["ci_tests"] = tests(out)
    f["load_end"] = load()
    for key, value in f.items():
        print(f"{key}: {value}")
    if args.write_readme:
        write_readme(paragraph(f))


if __name__ == "__main__":
    main()
