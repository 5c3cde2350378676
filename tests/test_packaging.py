"""The packaging promises: a light plain install, extras that add up, and a README
whose two Quick start commands install what its examples and the tests need, run
the way CI runs them."""

import re
import sys

from conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PROJECT["optional-dependencies"]
README = (ROOT / "README.md").read_text()


def names(requirements) -> set[str]:
    return {re.split(r"[<>=!;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def quick_start() -> list[str]:
    block = README.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def extras_installed(command: str) -> set[str]:
    m = re.search(r"pip install '\.\[([a-z,]+)\]'", command)
    assert m, command
    chosen = set(m.group(1).split(","))
    return set().union(*(names(EXTRAS[e]) for e in chosen)) | names(PROJECT["dependencies"])


def test_the_plain_install_is_the_light_set():
    assert names(PROJECT["dependencies"]) == {"pyyaml", "jsonschema", "typer", "rich", "tomli"}


def test_the_extras_add_up():
    assert names(EXTRAS["onnx"]) == {"onnx", "numpy", "ml_dtypes"}
    assert names(EXTRAS["bench"]) == {"onnx", "numpy", "ml_dtypes", "onnxruntime", "onnxruntime-gpu"}
    assert names(EXTRAS["all"]) == names(EXTRAS["onnx"]) | names(EXTRAS["bench"])
    assert names(EXTRAS["test"]) >= names(EXTRAS["all"]) | {"pytest", "pre-commit", "openvino", "hypothesis"}


def test_quick_start_installs_what_the_readme_examples_and_the_tests_need():
    first, second = quick_start()
    assert "netc summary examples/murphy-fig7.yaml" in first
    # the README shows netc build and netc bench: the first command must install their extras
    assert "netc build" in README and "netc bench" in README
    assert extras_installed(first) >= names(EXTRAS["onnx"]) | names(EXTRAS["bench"])
    assert extras_installed(second) >= names(EXTRAS["test"])
    test_command = second.split("&&", 1)[1].strip()
    assert test_command == "python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv" in ci and "'.[test]'" in ci
    assert '"$venv/bin/python" -m pytest' in ci


def test_the_pre_commit_hook_installs_the_plain_set():
    """netc-lint (YAML) installs the plain set; only netc-lint-onnx adds onnx and numpy."""
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"netc-lint", "netc-lint-onnx"}
    assert all(h["language"] == "python" for h in hooks.values())
    assert "additional_dependencies" not in hooks["netc-lint"]
    assert hooks["netc-lint"]["types"] == ["yaml"]
    assert hooks["netc-lint-onnx"]["files"] == r"\.onnx$"
    assert names(hooks["netc-lint-onnx"]["additional_dependencies"]) == {"onnx", "numpy", "ml_dtypes"}


def test_every_install_of_onnx_caps_ml_dtypes():
    """ml_dtypes 0.7.0 takes 0.8 s to import, and 'import onnx' imports it: every extra and the
    ONNX hook that install onnx cap it (pyproject.toml says why and when to lift the cap)."""
    with_onnx = [name for name, reqs in EXTRAS.items() if "onnx" in names(reqs)]
    assert sorted(with_onnx) == ["all", "bench", "onnx", "test"]
    for name in with_onnx:
        assert "ml_dtypes<0.7" in EXTRAS[name], name
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert '"onnx>=1.16", "numpy>=1.24", "ml_dtypes<0.7"' in hooks
    assert "0.7.0 takes 0.8 to 1.2 s" in (ROOT / "pyproject.toml").read_text()


def test_the_torch_extras_and_ci_install_torch():
    """netc[weights] reads .safetensors without torch; netc[torch] adds torch; the test
    extra has safetensors, and CI installs torch 2.13.0 (the local CPU wheel) beside it,
    so that tests/test_torch.py runs there rather than being skipped."""
    assert names(EXTRAS["weights"]) == {"safetensors", "numpy"}
    assert names(EXTRAS["torch"]) == {"torch", "safetensors", "numpy"}
    assert "safetensors" in names(EXTRAS["test"])
    ci = (ROOT / ".ci" / "run").read_text()
    assert '"$venv/bin/python" -m pip install --quiet --disable-pip-version-check torch==2.13.0' in ci
