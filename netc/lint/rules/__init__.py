"""Rule families, one module each; importing them registers their rules."""

from . import arithmetic, declared, design, graph, noqa, params, size, spatial  # noqa: F401
