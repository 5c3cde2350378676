"""N: suppressions. The engine (``engine._unused``) does the check, since only it
knows which findings each ``# netc: noqa`` comment suppressed."""

from __future__ import annotations

from ...diagnostics import Severity
from ..rule import rule


@rule("N001", "unused-suppression", Severity.WARNING,
      summary="A '# netc: noqa' comment that suppresses nothing, or names an unknown code.",
      what="""
      Reports a suppression comment with no finding of its codes on its line
      (a bare `# netc: noqa` with no finding at all), and codes that are not
      rules. Codes that are not enabled are not reported as unused.
      """,
      why="""
      Stale suppressions hide the next real finding on that line; a misspelled
      code suppresses nothing while looking as if it did.
      """,
      example="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 1}  # netc: noqa: A001
      """,
      example_at=(4, 49),
      fixed="""
      netc: 1
      input: {shape: [3, 32, 32]}
      layers:
        - conv: {filters: 32, kernel: 3, padding: 1}
      """,
      fix="""
      Delete the comment, or correct its codes.
      """)
def unused_suppression(ctx):
    return ()
