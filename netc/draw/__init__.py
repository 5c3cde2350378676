"""``netc draw``: a network as a deterministic, self-contained SVG, in pure Python.

Two views (``volume.py``, after the paper's Figures 2 and 7; ``graph.py``, a
layered graph for branching networks) drawn from one model (``model.py``). Lint
findings are marked on the item holding their layer, with numbered footnotes.
Imports no onnx, onnxruntime or numpy.
"""

from __future__ import annotations

from ..analysis import Analysis
from ..diagnostics import Diagnostic
from ..render import human_count
from . import graph, volume
from .model import attach, branches_widely, items, shape_text

VIEWS = ("auto", "volume", "graph")


def resolve_view(a: Analysis, view: str = "auto") -> str:
    """``auto``: the graph view for a network that branches widely, else the volume view."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}: expected one of {', '.join(VIEWS)}")
    if view == "auto":
        return "graph" if branches_widely(a) else "volume"
    return view


def default_depth(view: str) -> int:
    """Blocks collapse to depth 1 in the volume view (stages), 2 in the graph view
    (inside an inception module, its branches)."""
    return 1 if view == "volume" else 2


def draw(a: Analysis, view: str = "auto", depth: int | None = None, expand: bool = False,
         findings: list[Diagnostic] | None = None) -> str:
    """The SVG text of ``a``: blocks rolled up to ``depth`` (default by view) unless ``expand``."""
    view = resolve_view(a, view)
    its = items(a, None if expand else (depth or default_depth(view)))
    notes = attach(its, findings or [])
    t = a.totals
    subtitle = (f"input {shape_text(a.input_shape)} · {len(a.layers)} layers · "
                f"{human_count(t.params)} params · {human_count(t.macs)} MACs")
    module = volume if view == "volume" else graph
    return module.render(a.graph.name, subtitle, its, notes)


def lint_findings(path) -> list[Diagnostic]:
    """The lint findings for the file at ``path``, with the configuration netc lint would use."""
    from pathlib import Path

    from ..lint import ConfigCache, lint_paths

    results, _, _ = lint_paths([Path(path)], ConfigCache())
    return results[0].findings if results else []


def write_text(path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # mkstemp makes 0600; a drawing is for sharing
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
