import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def write(tmp_path):
    """Write a netc file into a temporary folder and return its path."""
    def _write(text: str, name: str = "net.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return _write


def run_netc(*args: str, cwd: Path = ROOT, input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m netc`` as a real subprocess from the repository root."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "netc", *args], cwd=cwd, env=env, input=input,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def _no_forced_colour(monkeypatch):
    """Outputs as a pipe gets them: no colour forced by the environment the tests run in
    (tests/test_diagnostics_output.py sets NO_COLOR and FORCE_COLOR itself)."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
