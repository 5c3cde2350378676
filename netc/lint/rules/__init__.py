"""Rule families, one module each; importing them registers their rules."""

from . import arithmetic, design, graph, noqa, size  # noqa: F401
