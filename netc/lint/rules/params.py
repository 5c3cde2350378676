"""D012: parameters nothing reads (network ``params:`` and block parameters)."""

from __future__ import annotations

from ...diagnostics import Diagnostic, Severity
from ..rule import rule


@rule("D012", "unused-parameter", Severity.WARNING,
      summary="A network or block parameter that no value reads: setting it changes nothing.",
      what="""
      Reports each entry of the top-level `params:` that no layer, block or
      other parameter reads, and each parameter of a used block that none of
      its layers reads. Reads count wherever they happen: an expression
      (`filters: round(64 * width)`, `repeat: ceil(2 * depth)`), a word value
      (`activation: act`), an op chosen by the parameter (`- $act`), a block
      argument or another parameter's default.
      """,
      why="""
      A parameter is a promise that changing it changes the network:
      `--set depth=1.2` on a file whose `repeat:` values never read `depth`
      prints the B0 network again under a B3 name, with no error, and every
      count that follows is wrong. An unread block parameter is usually a
      forgotten `stride: stride` or `groups: c`.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      params: {width: 1.0, depth: 1.0}
      layers:
        - conv: {filters: round(32 * width), kernel: 3, padding: 1, repeat: 2}
      """,
      example_at=(3, 22),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      params: {width: 1.0, depth: 1.0}
      layers:
        - conv: {filters: round(32 * width), kernel: 3, padding: 1, repeat: ceil(2 * depth)}
      """,
      fix="""
      Use the parameter where it belongs, or delete it.
      """)
def unused_parameter(ctx):
    graph = ctx.graph
    for where, span in graph.params_declared.items():
        if where in graph.params_read:
            continue
        if where[0] == "params":
            yield Diagnostic(f"network parameter '{where[1]}' is never read: --set {where[1]}=... "
                             "would change nothing", span)
        else:
            yield Diagnostic(f"parameter '{where[3]}' of block '{where[1]}' is never read", span)
