"""Rule families, one module each; importing them registers their rules."""

from . import arithmetic, design, graph, noqa, size, spatial  # noqa: F401
