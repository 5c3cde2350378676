"""Rule families, one module each; importing them registers their rules."""

from . import arithmetic, design, graph, noqa, params, size, spatial  # noqa: F401
