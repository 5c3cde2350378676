"""A plain install (pyyaml, jsonschema, typer, rich) runs lint, summary, schema and rule;
``netc build`` and ``netc bench`` without their extra say in one line what to install
and exit 2. The missing packages are simulated: a sitecustomize on PYTHONPATH puts a
finder first on sys.meta_path that refuses to import the listed modules."""

import os
import subprocess
import sys

import pytest

from conftest import EXAMPLES, ROOT

BLOCKER = '''
import os, sys

BLOCKED = set(os.environ.get("NETC_TEST_BLOCK", "").split(","))


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Blocker())
'''


def run_without(tmp_path, blocked: str, *args):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]), NETC_TEST_BLOCK=blocked)
    return subprocess.run([sys.executable, "-m", "netc", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_blocker_blocks(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), NETC_TEST_BLOCK="onnx,numpy")
    r = subprocess.run([sys.executable, "-c", "import numpy"], env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "No module named 'numpy'" in r.stderr


@pytest.mark.parametrize("blocked", ["onnx", "numpy", "onnx,numpy,onnxruntime"])
def test_build_without_the_onnx_extra_says_what_to_install(tmp_path, blocked):
    out = tmp_path / "m.onnx"
    r = run_without(tmp_path, blocked, "build", str(EXAMPLES / "lenet5.yaml"), "--onnx", str(out))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "needs the 'onnx' extra" in lines[0] and "pip install 'netc[onnx]'" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("blocked", ["onnxruntime", "onnx", "numpy"])
def test_bench_without_the_bench_extra_says_what_to_install(tmp_path, blocked):
    r = run_without(tmp_path, blocked, "bench", str(EXAMPLES / "lenet5.yaml"), "--runs", "1")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "needs the 'bench' extra" in lines[0] and "pip install 'netc[bench]'" in lines[0]


@pytest.mark.parametrize("args", [["lint", "--exit-zero", "examples/"], ["summary", "examples/murphy-fig7.yaml"],
                                  ["schema"], ["rule", "A001"], ["--version"]])
def test_the_light_commands_need_no_extra(tmp_path, args):
    r = run_without(tmp_path, "onnx,numpy,onnxruntime,google", *args)
    assert r.returncode == 0, r.stderr
    assert r.stdout


@pytest.mark.parametrize("command", ["summary", "lint"])
def test_reading_onnx_without_the_onnx_extra_says_what_to_install(tmp_path, command):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"\x08\x07\x12\x04netc")       # binary: read as ONNX, whatever it holds
    r = run_without(tmp_path, "onnx,numpy", command, str(model))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "needs the 'onnx' extra" in lines[0] and "pip install 'netc[onnx]'" in lines[0]


def test_a_plain_install_lints_a_folder_s_netc_files_and_names_the_models_it_skips(tmp_path):
    """An .onnx model in a folder does not stop the lint of the folder's netc files: they are
    linted, each model is named as skipped with the install hint, and the findings decide
    the exit code. A model named on the command line still needs the extra (exit 2)."""
    nets = tmp_path / "nets"
    nets.mkdir()
    (nets / "bad.yaml").write_text("netc: 1\ninput: {shape: [3, 32, 32]}\nlayers:\n"
                                   "  - conv: {filters: 32, kernel: 3, stride: 3}\n")
    (nets / "model.onnx").write_bytes(b"\x08\x07")
    r = run_without(tmp_path, "onnx,numpy", "lint", str(nets))
    assert r.returncode == 1 and "error[A001]" in r.stdout, r.stderr
    assert r.stderr.splitlines() == [f"netc: warning: skipped {nets / 'model.onnx'}: reading ONNX models needs "
                                     "the 'onnx' extra (numpy is not installed): pip install 'netc[onnx]'"]
    (nets / "bad.yaml").unlink()
    r = run_without(tmp_path, "onnx,numpy", "lint", str(nets))
    assert r.returncode == 0 and r.stdout == "" and "skipped" in r.stderr
    r = run_without(tmp_path, "onnx,numpy", "lint", str(nets / "model.onnx"))
    assert r.returncode == 2 and "needs the 'onnx' extra" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("blocked, suffix, extra", [("torch", ".pt", "torch"),
                                                     ("safetensors", ".safetensors", "weights")])
def test_build_weights_without_its_extra_says_what_to_install(tmp_path, blocked, suffix, extra):
    weights = tmp_path / f"w{suffix}"
    weights.write_bytes(b"\0")
    out = tmp_path / "m.onnx"
    r = run_without(tmp_path, blocked, "build", str(EXAMPLES / "lenet5.yaml"), "--weights", str(weights),
                    "--onnx", str(out))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert f"needs the '{extra}' extra ({blocked} is not installed)" in lines[0]
    assert f"pip install 'netc[{extra}]'" in lines[0]
    assert not out.exists()


def test_to_torch_without_torch_says_what_to_install(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]), NETC_TEST_BLOCK="torch")
    code = ("import netc\ntry:\n    netc.to_torch('examples/lenet5.yaml')\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == ("MissingExtra netc.to_torch needs the 'torch' extra (torch is not installed): "
                                "pip install 'netc[torch]'")


def test_netc_torch_writes_source_without_torch(tmp_path):
    r = run_without(tmp_path, "torch,numpy,onnx", "torch", str(EXAMPLES / "lenet5.yaml"))
    assert r.returncode == 0, r.stderr
    assert "class Lenet5(nn.Module)" in r.stdout
