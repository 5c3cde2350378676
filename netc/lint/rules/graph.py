"""G: the graph: layers and blocks that nothing uses."""

from __future__ import annotations

from ...diagnostics import Diagnostic, Severity
from ..rule import rule


@rule("G001", "unused-layer", Severity.WARNING,
      summary="A layer whose result reaches no output: a dangling branch.",
      what="""
      Reports each layer that nothing consumes and that is not a network
      output (the end of a dangling branch); the layers that only feed it are
      named in a note. With no `outputs:` list the output is the last layer, so
      a branch that is never merged back dangles.
      """,
      why="""
      A dangling branch costs parameters, memory and compute (§6) at training
      time and is dropped by exporters, so the network that runs is not the one
      written; it is usually a typo in a `from:`.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {name: stem, filters: 32, kernel: 3, padding: 1, activation: relu}
        - conv: {name: side, filters: 32, kernel: 1}
        - conv: {name: main, from: stem, filters: 32, kernel: 3, padding: 1}
      """,
      example_at=(5, 5),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {name: stem, filters: 32, kernel: 3, padding: 1, activation: relu}
        - conv: {name: side, filters: 32, kernel: 1}
        - conv: {name: main, from: stem, filters: 32, kernel: 3, padding: 1}
        - add: {from: [side, main]}
      """,
      fix="""
      Connect the branch (`from:`), list it under `outputs:` if it is an extra
      head, or delete it.
      """)
def unused_layer(ctx):
    g = ctx.graph
    live = set(g.outputs)
    for r in reversed(ctx.layers):
        if r.name in live:
            live.update(r.node.inputs)
    seen: set[str] = set()     # dead layers already named: each one under the first end it feeds
    for r in ctx.layers:
        if r.name in live or ctx.consumers.get(r.name):
            continue
        feeders, stack = [], list(r.node.inputs)
        while stack:
            n = stack.pop()
            if n in live or n == g.input_name or n in seen:
                continue
            seen.add(n)
            feeders.append(n)
            stack.extend(g.node(n).inputs)
        notes = [(g.node(n).span, f"'{n}' only feeds it") for n in feeders[:5]]
        yield ctx.finding(r.node, f"{r.name} is computed but reaches no output "
                          f"(outputs: {', '.join(g.outputs)})", notes=notes)


@rule("G002", "unused-block", Severity.WARNING,
      summary="A block is defined under 'blocks:' but never used.",
      what="""
      Reports each block under `blocks:` that no layer uses.
      """,
      why="""
      Dead definitions mislead readers about the architecture, and a block
      meant to be used but misspelled at its use site is a bug.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      blocks:
        unit:
          layers:
            - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
      """,
      example_at=(4, 3),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      blocks:
        unit:
          layers:
            - conv: {filters: 32, kernel: 3, padding: 1, activation: relu}
      layers:
        - unit
      """,
      fix="""
      Use the block or delete it.
      """)
def unused_block(ctx):
    for name, span in ctx.graph.blocks_defined.items():
        if name not in ctx.graph.blocks_used:
            yield Diagnostic(f"block '{name}' is defined but never used", span)
