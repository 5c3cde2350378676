"""Expansion: a validated netc file -> a Graph of op nodes.

Top to bottom, per scope (the file's ``layers:``, or one use of a block):
  1. each layer item is an op or a block use, with ``name``, ``from``, ``repeat``;
  2. op parameters = op defaults < file ``defaults:`` < the layer's own values,
     strings evaluated as expressions over the block's parameters (expr.py);
  3. block uses expand recursively into dotted names (``layer1.0.conv1``);
  4. ``from`` names resolve within the scope once it is complete, so forward
     references work and cycles are reported, never followed.
Every node keeps the span of the layer that produced it and the chain of block
uses around it, so an error inside a block names both places.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .diagnostics import LIMIT, REFERENCE, SCHEMA, Diagnostic, NetcError, Span
from .expr import NAME, ExprError, evaluate
from .graph import Graph, Node
from .ops import OPS
from .schema import MAX_REPEAT, META_KEYS
from .source import Source

MAX_NODES = 20_000
MAX_BLOCK_DEPTH = 16
MAX_STEPS = 5 * MAX_NODES   # layer items expanded (ops, block uses, repeat: 0): the repeat
                            # limit multiplied through nested blocks is a budget, not a cap per level


@dataclass
class _Ref:
    """A ``from`` name, resolved against its scope's table once the scope is complete."""

    table: dict
    name: str
    span: Span
    trace: tuple
    target: str | None = None   # the layer it resolves to, once known


class _Expander:
    def __init__(self, src: Source):
        self.src = src
        self.data = src.data
        self.blocks = self.data.get("blocks") or {}
        self.defaults = self.data.get("defaults") or {}
        self.nodes: list[Node] = []
        self.blocks_used: set[str] = set()
        self.steps = 0

    # -- errors --------------------------------------------------------------
    def fail(self, message: str, span: Span, code: str, trace: tuple, layer: str | None = None):
        notes = [(use, f"in block instance '{inst}'") for inst, use in reversed(trace)]
        raise NetcError(Diagnostic(message, span, code, layer=layer, notes=notes))

    # -- values --------------------------------------------------------------
    def resolve(self, raw, scope: dict, span: Span, trace: tuple, literal_names: bool | None,
                expect: str | None = None):
        """Evaluate a written value in ``scope``.

        literal_names True: a string is a literal unless it names a parameter (op
        choices such as ``relu``); False: a string is an expression; None (block
        arguments): a lone unknown name is a literal, anything else an expression.
        """
        if isinstance(raw, list):
            return [self.resolve(v, scope, span, trace, literal_names, expect) for v in raw]
        if not isinstance(raw, str):
            return raw
        if literal_names or (literal_names is None and NAME.match(raw) and raw not in scope):
            return scope.get(raw, raw)
        try:
            return evaluate(raw, scope)
        except ExprError as e:
            if expect:      # 'stride: two', 'kernel: 3x3': say what was expected first
                self.fail(f"{expect}, got {_cut(raw)!r}: {e}", span, SCHEMA, trace)
            self.fail(str(e), span, REFERENCE, trace)

    # -- scopes --------------------------------------------------------------
    def scope(self, items: list, path: tuple, params: dict, prefix: str, input_ref,
              trace: tuple, block: str | None, stack: tuple[str, ...]):
        """Expand one list of layers; return the full name (or ref) of its output."""
        table: dict[str, object] = {"input": input_ref}
        if not prefix:
            table[self.data["input"].get("name", "input")] = input_ref
        parsed = [self.item(it, path + (i,)) for i, it in enumerate(items)]
        taken = {p[2]["name"] for p in parsed if isinstance(p[2].get("name"), str)}
        counts: dict[str, int] = {}
        prev = input_ref
        for key, item_path, args in parsed:
            key_span = self.src.span(item_path + (key,), key=True) if isinstance(items[item_path[-1]], dict) \
                else self.src.span(item_path)
            local = args.get("name")
            if local is None:
                while True:
                    counts[key] = counts.get(key, 0) + 1
                    # relu6 -> relu6_1, not relu61
                    local = f"{key}{'_' if key[-1:].isdigit() else ''}{counts[key]}"
                    if local not in taken:
                        break
            if local in table:
                self.fail(f"layer name {local!r} is already used in this scope",
                          self.src.span(item_path + (key, "name")), REFERENCE, trace)
            repeat = self.repeat(args, item_path + (key,), params, trace)
            self.steps += max(repeat, 1)
            if self.steps > MAX_STEPS:
                self.fail(f"the network expands to more than {MAX_STEPS:,} layers and block uses "
                          f"(repeat counts multiply through nested blocks)", key_span, LIMIT, trace)
            sources = self.sources(args, item_path + (key,), table, prev, trace)
            if repeat == 0:          # zero copies: the name stands for the layer's input
                if len(sources) != 1:
                    self.fail("a layer with repeat: 0 passes one input through; it has "
                              f"{len(sources)}", self.src.span(item_path + (key, "repeat")), REFERENCE, trace)
                out = sources[0]
            for r in range(repeat):
                full = prefix + (f"{local}.{r}" if "repeat" in args else local)
                if key in OPS:
                    out = self.op_node(key, args, item_path + (key,), key_span, params, full,
                                       sources, trace, block)
                elif key in self.blocks:
                    out = self.block_use(key, args, item_path + (key,), key_span, params, full,
                                         sources, trace, stack)
                else:
                    choices = list(OPS) + list(self.blocks)
                    close = difflib.get_close_matches(key, choices, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else \
                        " (define it under 'blocks:' or use one of: " + ", ".join(OPS) + ")"
                    self.fail(f"unknown op or block {key!r}{hint}", key_span, REFERENCE, trace)
                sources = [out]
            table[local] = out
            prev = out
        return prev, table

    def item(self, item, path: tuple):
        """A layer item as (op or block name, its path, its settings)."""
        if isinstance(item, str):
            return item, path, {}
        (key, args), = item.items()
        return key, path, dict(args or {})

    def repeat(self, args: dict, path: tuple, params: dict, trace: tuple) -> int:
        if "repeat" not in args:
            return 1
        span = self.src.span(path + ("repeat",))
        n = self.resolve(args["repeat"], params, span, trace, False, "repeat: expected an integer")
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_REPEAT:
            self.fail(f"repeat must be an integer from 0 to {MAX_REPEAT:,}, got {n!r}", span, SCHEMA, trace)
        return n

    def sources(self, args: dict, path: tuple, table: dict, prev, trace: tuple) -> list:
        if "from" not in args:
            return [prev]
        names = args["from"] if isinstance(args["from"], list) else [args["from"]]
        refs = []
        for i, name in enumerate(names):
            p = path + ("from", i) if isinstance(args["from"], list) else path + ("from",)
            refs.append(_Ref(table, name, self.src.span(p), trace))
        return refs

    # -- op layers -----------------------------------------------------------
    def op_node(self, op_name: str, args: dict, path: tuple, key_span: Span, scope: dict,
                full: str, sources: list, trace: tuple, block: str | None) -> str:
        op = OPS[op_name]
        lo, hi = op.arity
        if not (lo <= len(sources) and (hi is None or len(sources) <= hi)):
            want = f"at least {lo}" if hi is None else str(lo) if lo == hi else f"{lo} to {hi}"
            self.fail(f"{op_name} takes {want} input{'s' if (hi or lo) > 1 else ''}, got {len(sources)}",
                      self.src.span(path + ("from",)) if "from" in args else key_span, REFERENCE, trace, full)
        values, spans = {}, {}
        defaults = self.defaults.get(op_name) or {}
        for key, param in op.params.items():
            if key in args:
                raw, span = args[key], self.src.span(path + (key,))
            elif key in defaults:
                raw, span = defaults[key], self.src.span(("defaults", op_name, key))
            elif not param.required:
                values[key] = None if param.default is None else param.check(param.default)
                continue
            else:
                self.fail(f"{op_name} needs {key!r} ({param.doc})", key_span, SCHEMA, trace, full)
            literal = param.kind in ("choice", "init") or raw in ("same", "valid")
            value = self.resolve(raw, scope, span, trace, literal, f"{op_name} {key}: {_EXPECT[param.kind]}"
                                 if param.kind in _EXPECT else None)
            try:
                values[key] = param.check(value)
            except ValueError as e:
                self.fail(f"{op_name} {key}: {e}", span, SCHEMA, trace, full)
            spans[key] = span
        for key in args:
            if key not in op.params and key not in META_KEYS:  # the schema already said so
                self.fail(f"unknown key {key!r} for {op_name}", self.src.span(path + (key,), key=True),
                          SCHEMA, trace, full)
        if len(self.nodes) >= MAX_NODES:
            self.fail(f"the network expands to more than {MAX_NODES:,} layers", key_span, LIMIT, trace, full)
        node = Node(full, op_name, values, list(sources), key_span, spans, trace, block)
        self.nodes.append(node)
        return full

    # -- block uses ------------------------------------------------------------
    def block_use(self, name: str, args: dict, path: tuple, key_span: Span, caller: dict,
                  full: str, sources: list, trace: tuple, stack: tuple[str, ...]):
        if name in stack:
            chain = " -> ".join(stack[stack.index(name):] + (name,))
            self.fail(f"block {name!r} uses itself ({chain})", key_span, REFERENCE, trace, full)
        if len(stack) >= MAX_BLOCK_DEPTH:
            self.fail(f"blocks nest deeper than {MAX_BLOCK_DEPTH} levels", key_span, LIMIT, trace, full)
        if len(sources) != 1:
            self.fail(f"block {name!r} takes one input, got {len(sources)}",
                      self.src.span(path + ("from",)), REFERENCE, trace, full)
        self.blocks_used.add(name)
        definition = self.blocks[name]
        declared = definition.get("params") or {}
        for key in args:
            if key not in declared and key not in META_KEYS:
                close = difflib.get_close_matches(str(key), list(declared), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else \
                    f" (it declares: {', '.join(declared) or 'none'})"
                self.fail(f"block {name!r} has no parameter {key!r}{hint}",
                          self.src.span(path + (key,), key=True), REFERENCE, trace, full)
        scope: dict = {}
        for pname, default in declared.items():
            if pname in args:
                scope[pname] = self.resolve(args[pname], caller, self.src.span(path + (pname,)), trace, None)
            elif default is None:
                self.fail(f"block {name!r} needs parameter {pname!r}", key_span, REFERENCE, trace, full)
            else:
                dspan = self.src.span(("blocks", name, "params", pname))
                scope[pname] = self.resolve(default, scope, dspan, trace, None)
        inner_trace = trace + ((full, key_span),)
        out, _ = self.scope(definition["layers"], ("blocks", name, "layers"), scope, full + ".",
                            sources[0], inner_trace, name, stack + (name,))
        return out


def expand(src: Source) -> Graph:
    """Expand a schema-valid source into a Graph in topological order."""
    ex = _Expander(src)
    data = src.data
    inp = data["input"]
    input_name = inp.get("name", "input")
    out, table = ex.scope(data["layers"], ("layers",), {}, "", input_name, (), None, ())
    known = {n.name for n in ex.nodes} | {input_name}

    def resolve(ref, key: str = "from") -> str:
        chain = []            # refs through pass-through layers (repeat: 0), each resolved once
        while isinstance(ref, _Ref) and ref.target is None:
            if ref.name not in ref.table:
                names = [k for k in ref.table if k != "input"]
                close = difflib.get_close_matches(ref.name, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                ex.fail(f"unknown layer {ref.name!r} in {key!r}{hint}", ref.span, REFERENCE, ref.trace)
            chain.append(ref)
            ref = ref.table[ref.name]
            if len(chain) > MAX_STEPS:  # pragma: no cover - tables never point in circles
                raise AssertionError("reference loop")
        if isinstance(ref, _Ref):
            ref = ref.target
        for r in chain:
            r.target = ref
        assert ref in known
        return ref

    for node in ex.nodes:
        node.inputs = [resolve(r) for r in node.inputs]
    outputs = []
    if "outputs" in data:
        for i, name in enumerate(data["outputs"]):
            outputs.append(resolve(_Ref(table, name, src.span(("outputs", i)), ()), "outputs"))
    else:
        outputs.append(resolve(out))
    if input_name in outputs:
        ex.fail("the network input cannot also be an output", src.span(("outputs",)), REFERENCE, ())
    nodes = _topological(ex, input_name)
    blocks_defined = {k: src.span(("blocks", k), key=True) for k in ex.blocks}
    return Graph(data.get("name") or _stem(src.path), input_name, tuple(inp["shape"]),
                 src.span(("input",)), nodes, outputs, src, blocks_defined, ex.blocks_used)


def _topological(ex: _Expander, input_name: str) -> list[Node]:
    """Depth-first order that keeps file order when inputs come first; cycles are errors."""
    by_name = {n.name: n for n in ex.nodes}
    order, state = [], {}
    for start in ex.nodes:
        if start.name in state:
            continue
        stack = [(start, iter(start.inputs))]
        state[start.name] = 1
        while stack:
            node, deps = stack[-1]
            for dep in deps:
                if dep == input_name:
                    continue
                s = state.get(dep)
                if s == 1:
                    names = [n.name for n, _ in stack]
                    cycle = names[names.index(dep):] + [dep]
                    ex.fail("cycle in the graph: " + " -> ".join(cycle), by_name[dep].span,
                            REFERENCE, by_name[dep].trace, dep)
                if s is None:
                    state[dep] = 1
                    stack.append((by_name[dep], iter(by_name[dep].inputs)))
                    break
            else:
                stack.pop()
                state[node.name] = 2
                order.append(node)
    return order


_EXPECT = {"int": "expected an integer", "pair": "expected an integer or [height, width]",
           "padding": "expected an integer, [height, width], same or valid",
           "number": "expected a number", "bool": "expected true or false"}


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _stem(path: str) -> str:
    import os

    return os.path.splitext(os.path.basename(path))[0]
