"""The README's figures are the project's: the speed table as benchmarks/ratios.py writes it,
counts that match the files, a pre-commit rev that exists."""

import re
import subprocess
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import ratios  # noqa: E402

README = (ROOT / "README.md").read_text()


def speed_block() -> str:
    return README.split(ratios.BEGIN, 1)[1].split(ratios.END, 1)[0]


def test_the_speed_table_is_the_one_ratios_py_writes():
    block = speed_block().strip()
    table, caption = block.split("\n\n")
    lines = table.splitlines()
    assert lines[0].startswith("| work | yardstick |") and lines[0].endswith("| now |")
    assert [line.split(" | ")[0][2:] for line in lines[2:]] == [
        w.format(n=ratios.example_count()) for w in ratios.WORK.values()]
    assert caption.startswith("(Written by `python benchmarks/ratios.py --pairs ")
    assert "--write-readme` on 20" in caption and "-core machine" in caption


def test_the_file_counts_are_the_folders():
    n = ratios.example_count()
    assert n == len(list((ROOT / "examples").glob("*.yaml"))) > 10
    assert f"`netc lint examples/` (all {n} files)" in speed_block()
    assert len(ratios.LINT_FILES) == 10 and all((ROOT / f).is_file() for f in ratios.LINT_FILES)


def test_write_readme_replaces_the_block_and_nothing_else(tmp_path):
    rows = {(w, t): ([1.0, 2.0, 3.0], [0.1, 0.2], [10.0, 20.0, 30.0]) for w in ratios.WORK for t in ("this", "old")}
    block = ratios.readme_block(rows, {"this": ROOT, "old": ROOT}, {"this": "now", "old": "before (abc)"}, 3,
                                False, "2026-01-02", "a 2-core machine")
    assert "| before (abc) | now |" in block and "| 2.00 s, 20.00× | 2.00 s, 20.00× |" in block
    assert "not measured in this run (no torch" in block
    assert "| the same |  | 2.00 s, 20.00× |" in block       # another tree's examples/ holds other files
    readme = tmp_path / "README.md"
    readme.write_text(f"head\n{ratios.BEGIN}\nold table\n{ratios.END}\ntail\n")
    ratios.write_readme(block, readme)
    assert readme.read_text() == f"head\n{ratios.BEGIN}\n{block}\n{ratios.END}\ntail\n"


def test_the_pre_commit_rev_is_a_commit_with_the_hooks():
    rev, = re.findall(r"rev: (\S+)", README)
    assert re.fullmatch("[0-9a-f]{40}", rev), rev
    r = subprocess.run(["git", "cat-file", "-e", f"{rev}:.pre-commit-hooks.yaml"], cwd=ROOT, capture_output=True)
    assert r.returncode == 0, r.stderr
