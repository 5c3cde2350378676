"""A lint rule: a stable code, a default severity, its documentation and its check.

Each rule is one unit: the check function and the page ``netc rule CODE``
prints (what it does, why it matters, an example that triggers it, the fix)
are declared side by side. ``example`` and ``fixed`` are complete netc files:
the test suite lints them, so a page can never show an example that does not
trigger its rule, and ``docs/rules/CODE.md`` is generated from the same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..diagnostics import Diagnostic, Severity, Span


@dataclass(frozen=True)
class Rule:
    code: str                   # stable: a letter prefix and three digits
    name: str                   # kebab-case, for SARIF and humans
    severity: Severity          # default severity of its findings
    summary: str                # one line
    what: str                   # what it checks
    why: str                    # why it matters (with the paper's section)
    example: str                # a netc file that triggers it
    example_at: tuple[int, int]  # (line, column) of the finding in ``example``
    fixed: str                  # the same file, fixed: a near miss that does not trigger it
    fix: str                    # how to fix it
    check: Callable[["Context"], Iterable[Diagnostic]] | None = None
    options: tuple = ()         # (name, value) rule options the example needs


RULES: dict[str, Rule] = {}


def rule(code: str, name: str, severity: Severity, *, summary: str, what: str, why: str,
         example: str, example_at: tuple[int, int], fixed: str, fix: str, options: dict | None = None):
    """Decorator: register ``check(ctx)`` as rule ``code``."""
    def register(check):
        if code in RULES:
            raise AssertionError(f"rule {code} registered twice")
        RULES[code] = Rule(code, name, severity, summary, _dedent(what), _dedent(why),
                           _dedent(example), example_at, _dedent(fixed), _dedent(fix), check,
                           tuple((options or {}).items()))
        return check
    return register


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip("\n") + "\n"


@dataclass
class Options:
    """Rule settings, from ``[tool.netc.lint]`` (kebab-case there) or the command line."""

    max_param_share: float = 0.5          # S001: a layer's share of all parameters
    max_activation_share: float = 0.6     # S001: a layer's share of all activations
    max_layer_params: int | None = None   # S001: absolute budget per layer
    min_layers_for_share: int = 3         # S001: shares only mean something with enough layers
    max_plain_depth: int = 20             # D005: weighted layers on a path with no shortcut
    max_saturating_depth: int = 3         # D004: hidden sigmoid/tanh layers on one path
    device_memory: int | None = None      # S003: bytes; None disables the rule
    batch: int = 1                        # S003
    dtype: str = "float32"                # S003
    optimizer: str = "sgd"                # S003


class Context:
    """What a rule's check sees: the loaded network and the options."""

    def __init__(self, network, options: Options):
        self.network = network
        self.graph = network.graph
        self.analysis = network.analysis
        self.layers = network.analysis.layers
        self.options = options
        self._consumers = None

    @property
    def consumers(self) -> dict[str, list[str]]:
        if self._consumers is None:
            self._consumers = self.graph.consumers()
        return self._consumers

    @property
    def from_onnx(self) -> bool:
        """Whether the network was read from an ONNX model: each layer's parameters are
        then its node's attributes, or ONNX's defaults, all stated by the file."""
        src = self.graph.source
        return src is not None and not src.text

    def report(self, name: str) -> "object":
        return self.analysis.layer(name)

    def finding(self, node, message: str, param: str | None = None, span: Span | None = None,
                notes: list | None = None) -> Diagnostic:
        """A finding about ``node``, at its ``param`` value if written, else at the layer.

        Layers written inside a block get a note for each enclosing block use; a
        parameter that came from ``defaults:`` gets a note at the layer itself."""
        where = span or node.param_span(param)
        extra = list(notes or [])
        src = self.graph.source
        if param and src is not None and where == src.spans.get(("defaults", node.op, param)):
            extra.append((node.span, f"'{param}' comes from 'defaults:'; layer '{node.name}' is here"))
        extra += [(use, f"in block instance '{inst}'") for inst, use in reversed(node.trace)]
        if node.origin is not None or node.origin_note:
            extra.append((node.origin, node.origin_note or "the node was built from this line"))
        return Diagnostic(message, where, layer=node.name, notes=extra)
