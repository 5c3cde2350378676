"""The pre-commit hook, for real: a throwaway git repository whose
``.pre-commit-config.yaml`` points at this checkout, and ``pre-commit run``.

pre-commit builds the hook's virtualenv by pip-installing this checkout: the plain
install, without the onnx, numpy and onnxruntime of the extras. The test measures
that environment and prints its size and the first run's time (an install
included); it must stay under 60 MB.
Both runs share one PRE_COMMIT_HOME, so the environment is built once (two
``pre-commit try-repo`` calls would build it twice: each uses a fresh store).
The rev is ``git stash create`` (a commit of the working tree's tracked changes,
as try-repo makes) or HEAD when the tree is clean, so local edits are what runs;
outside a git checkout (a source tarball) the tree is copied into a throwaway
repository first.
Deselect with ``-m "not precommit"``."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT

pytestmark = [pytest.mark.precommit, pytest.mark.slow]

BAD = "netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n  - conv: {filters: 32, kernel: 3, stride: 3}\n"
GOOD = "netc: 1\ninput: {shape: [3, 33, 33]}\nlayers:\n  - conv: {filters: 32, kernel: 3, stride: 3}\n"


def git(*args, cwd):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _out(*args, cwd) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def in_git_checkout(root) -> bool:
    r = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True)
    return r.returncode == 0 and os.path.samefile(r.stdout.strip(), root)


def hook_repo(root, tmp_path) -> tuple[str, str]:
    """(repository, rev) for pre-commit: in a git checkout, the checkout and a commit
    holding the working tree's tracked changes (else HEAD); outside one (a source
    tarball), a throwaway repository holding a copy of the source tree."""
    if in_git_checkout(root):
        return str(root), _out("stash", "create", cwd=root) or _out("rev-parse", "HEAD", cwd=root)
    copy = tmp_path / "netc-source"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.egg-info", ".pytest_cache", ".venv", "build", "dist"))
    git("init", "-q", cwd=copy)
    git("add", ".", cwd=copy)
    git("commit", "-qm", "source", cwd=copy)
    return str(copy), _out("rev-parse", "HEAD", cwd=copy)


def pre_commit_run(repo, home, *files):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GITHUB_ACTIONS")}
    env["PRE_COMMIT_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--files", *files],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=900)


HOOK_ENV_LIMIT = 60 * 10**6


def tree_bytes(folder) -> int:
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _, files in os.walk(folder) for f in files)


def test_hook_fails_on_a_bad_network_and_passes_on_a_good_one(tmp_path, capsys):
    assert shutil.which("git")
    repo = tmp_path / "models"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / "good.yaml").write_text(GOOD)
    (repo / "bad.yaml").write_text(BAD)
    (repo / "ci.yaml").write_text("on: push\njobs: {}\n")          # not a netc file: skipped
    import netc
    from netc.onnx.build import build_model

    (repo / "bad.onnx").write_bytes(build_model(netc.load(repo / "bad.yaml"), check=False).SerializeToString())
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: netc-lint\n      - id: netc-lint-onnx\n"
        .format(*hook_repo(ROOT, tmp_path)))
    git("add", ".", cwd=repo)
    git("commit", "-qm", "networks", cwd=repo)

    home = tmp_path / "pre-commit-home"
    start = time.perf_counter()
    bad = pre_commit_run(repo, home, "bad.yaml", "bad.onnx", "ci.yaml", ".pre-commit-config.yaml")
    first_run = time.perf_counter() - start
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "netc lint" in bad.stdout and "Failed" in bad.stdout
    assert "bad.yaml:4:33: error[A001]" in bad.stdout
    assert "bad.onnx: node 'conv1' (Conv #0): error[A001]" in bad.stdout
    assert "ci.yaml" not in bad.stdout.split("Failed", 1)[1]

    good = pre_commit_run(repo, home, "good.yaml", "ci.yaml", ".pre-commit-config.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout

    # two environments: the YAML hook's light one, and the ONNX hook's with onnx and numpy added
    envs = [p for p in home.glob("*/py_env-*") if p.is_dir()]
    assert len(envs) == 2, envs

    def packages(env):
        return {p.name.split("-")[0].split(".")[0].lower() for p in env.glob("lib/python*/site-packages/*")}

    light = [e for e in envs if "onnx" not in packages(e)]
    assert len(light) == 1, envs
    size = tree_bytes(light[0])
    heavy = sorted(packages(light[0]) & {"onnx", "onnxruntime", "numpy", "onnxruntime_gpu"})
    with capsys.disabled():
        print(f"\npre-commit hook environment: {size / 1e6:.1f} MB; first run (install included) "
              f"{first_run:.1f} s")
    assert heavy == []
    assert size < HOOK_ENV_LIMIT, f"hook environment {size / 1e6:.1f} MB"
