"""Expansion: a validated netc file -> a Graph of op nodes.

Top to bottom, per scope (the file's ``layers:``, or one use of a block):
  1. each layer item is an op or a block use, with ``name``, ``from``, ``repeat``;
  2. op parameters = op defaults < file ``defaults:`` < the layer's own values,
     strings evaluated as expressions (expr.py) over the names below;
  3. block uses expand recursively into dotted names (``layer1.0.conv1``);
  4. ``from`` names resolve within the scope once it is complete, so forward
     references work and cycles are reported, never followed.
Every node keeps the span of the layer that produced it and the chain of block
uses around it, so an error inside a block names both places.

Names an expression sees: the network's ``params:`` (after ``--set``), then the
block's parameters; ``NAME.channels|height|width`` reads the shape of a layer
written above (``in`` is the layer's own input). Shapes are computed on demand
as nodes are created, each once (``shape_of``), so expansion stays linear.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .diagnostics import LIMIT, REFERENCE, SCHEMA, Diagnostic, NetcError, Span
from .expr import NAME, ExprError, evaluate
from .graph import Graph, Node
from .ops import OPS, ShapeError
from .ops.aliases import suggest, unknown_op_message
from .overrides import OverrideError, check_input
from .schema import MAX_REPEAT, META_KEYS, PARAM_OP_PATTERN
from .source import Source

MAX_NODES = 20_000
MAX_BLOCK_DEPTH = 16
MAX_STEPS = 5 * MAX_NODES   # layer items expanded (ops, block uses, repeat: 0): the repeat
                            # limit multiplied through nested blocks is a budget, not a cap per level
SHAPE_ATTRS = {"channels": 0, "height": 1, "width": 2}
_PARAM_OP = re.compile(PARAM_OP_PATTERN)
ROUNDING_HINT = ("; an expression with a float gives a float, not an integer: round it with "
                 "round(), floor(), ceil() or make_divisible()")


@dataclass
class _Ref:
    """A ``from`` name, resolved against its scope's table once the scope is complete."""

    table: dict
    name: str
    span: Span
    trace: tuple
    target: str | None = None   # the layer it resolves to, once known


class _Names(Mapping):
    """What an expression at one layer sees: parameters by name, and shape reads
    ``NAME.attr`` of the layers above it in its scope (``in``: the layer's input)."""

    def __init__(self, ex: "_Expander", params: dict, table: dict, sources: list, taken=(),
                 owners: dict | None = None):
        self.ex, self.params, self.table, self.sources, self.taken = ex, params, table, sources, taken
        self.owners = owners if owners is not None else ex.owners   # name -> where it is declared

    def __getitem__(self, key: str):
        if "." in key:
            return self.ex.shape_read(key, self)
        value = self.params[key]
        self.ex.read.add(self.owners.get(key))
        return value

    def __contains__(self, key) -> bool:
        return (isinstance(key, str) and "." in key) or key in self.params

    def __iter__(self):
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def chosen(self, key: str, span: Span, trace: tuple) -> str:
        return self.ex.chosen(key, self, span, trace)


class _Expander:
    def __init__(self, src: Source, input_shape: tuple):
        self.src = src
        self.data = src.data
        self.blocks = self.data.get("blocks") or {}
        self.defaults = self.data.get("defaults") or {}
        self.nodes: list[Node] = []
        self.by_name: dict[str, Node] = {}
        self.input_name = self.data["input"].get("name", "input")
        self.shapes: dict[str, tuple] = {self.input_name: input_shape}
        self.parents: dict[int, tuple[dict, str]] = {}   # id(block table) -> (enclosing table, block)
        self.blocks_used: set[str] = set()
        self.steps = 0
        self.params: dict = {}
        self.owners: dict[str, tuple] = {}     # network parameter -> ("params", name)
        self.read: set = set()                 # declarations an expression read
        self.parsed_lists: dict[tuple, tuple] = {}   # path of a list of layers -> parsed()

    # -- errors --------------------------------------------------------------
    def fail(self, message: str, span: Span, code: str, trace: tuple, layer: str | None = None):
        notes = [(use, f"in block instance '{inst}'") for inst, use in reversed(trace)]
        raise NetcError(Diagnostic(message, span, code, layer=layer, notes=notes))

    def not_visible(self, table: dict, name: str) -> str | None:
        """Why ``name`` is missing from a block's table when an enclosing scope has it."""
        inner = self.parents.get(id(table))
        block = inner[1] if inner else None
        while inner is not None:
            outer, _ = inner
            if name in outer:
                inputs = ", ".join(self._inputs_of(block))
                return (f"layer {name!r} is not visible inside block {block!r}: a block sees its own "
                        f"layers and its inputs ({inputs}); pass it as an input (declare "
                        f"'inputs: [...]' in the block and give it in 'from: [...]' where the block is used)")
            inner = self.parents.get(id(outer))
        return None

    def _inputs_of(self, block: str | None) -> list[str]:
        return list(self.blocks[block].get("inputs") or ["input"]) if block in self.blocks else ["input"]

    # -- values --------------------------------------------------------------
    def resolve(self, raw, scope, span: Span, trace: tuple, literal_names: bool | None,
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
        if literal_names:
            return scope.get(raw, raw) if NAME.match(raw) else raw
        if literal_names is None and NAME.match(raw) and raw not in scope:
            return raw
        try:
            return evaluate(raw, scope)
        except ExprError as e:
            if expect:      # 'stride: two', 'kernel: 3x3': say what was expected first
                self.fail(f"{expect}, got {_cut(raw)!r}: {e}", span, SCHEMA, trace)
            self.fail(str(e), span, REFERENCE, trace)

    # -- shapes during expansion ---------------------------------------------
    def now(self, ref) -> str:
        """The node or input a reference names, for a shape read: it must be written above."""
        while isinstance(ref, _Ref):
            if ref.name not in ref.table:
                why = self.not_visible(ref.table, ref.name)
                raise ExprError(why or f"the shape of {ref.name!r} is not known here: a shape read "
                                "needs the layers it depends on written above it")
            ref = ref.table[ref.name]
        return ref

    def shape_of(self, name: str) -> tuple:
        """The output shape of a node (or the input), inferring what it depends on, each once."""
        stack, visiting = [name], set()
        while stack:
            n = stack[-1]
            if n in self.shapes:
                stack.pop()
                continue
            node = self.by_name[n]
            ins = [self.now(r) for r in node.inputs]
            missing = [i for i in ins if i not in self.shapes]
            if missing:
                if n in visiting:
                    raise ExprError(f"the shape of {n!r} depends on itself (a cycle)")
                visiting.add(n)
                stack.extend(missing)
                continue
            shapes = [self.shapes[i] for i in ins]
            try:
                self.shapes[n] = OPS[node.op].infer(node.params, shapes).shape
            except ShapeError as e:
                from .analysis import _shape_error

                raise _shape_error(dataclasses.replace(node, inputs=ins), e, shapes) from None
            stack.pop()
        return self.shapes[name]

    def shape_read(self, key: str, names: _Names) -> int:
        """``in.channels``, ``skip.height``, ``conv1.width``: one side of a layer's output."""
        base, attr = key.split(".", 1)
        if attr not in SHAPE_ATTRS:
            close = difflib.get_close_matches(attr, list(SHAPE_ATTRS), n=1)
            raise ExprError(f"unknown shape attribute {attr!r} in {key!r}"
                            + (f"; did you mean {close[0]!r}?" if close else
                               f" (expected {', '.join(SHAPE_ATTRS)})"))
        if base == "in":
            if len(names.sources) != 1:
                raise ExprError(f"'in' is the layer's input, and this layer has {len(names.sources)}; "
                                f"read one by name, e.g. {'name'}.{attr}")
            ref = names.sources[0]
        elif base in names.table:
            ref = names.table[base]
        elif base in names.taken:
            raise ExprError(f"{base!r} is written below this layer; a shape read needs its layer above it")
        else:
            why = self.not_visible(names.table, base)
            if why:
                raise ExprError(why)
            close = difflib.get_close_matches(base, ["in", *names.table], n=1)
            raise ExprError(f"unknown layer {base!r} in {key!r}" +
                            (f"; did you mean {close[0]!r}?" if close else ""))
        shape = self.shape_of(self.now(ref))
        i = SHAPE_ATTRS[attr]
        if i >= len(shape):
            raise ExprError(f"{base!r} is the vector ({shape[0]},): it has channels, no {attr}")
        return shape[i]

    # -- scopes --------------------------------------------------------------
    def scope(self, items: list, path: tuple, params: dict, prefix: str, inputs: dict,
              trace: tuple, block: str | None, stack: tuple[str, ...], parent: dict | None = None,
              owners: dict | None = None):
        """Expand one list of layers; return the full name (or ref) of its output and its table."""
        table: dict[str, object] = dict(inputs)
        if parent is not None:
            self.parents[id(table)] = (parent, block)
        parsed, taken = self.parsed(items, path)
        counts: dict[str, int] = {}
        prev = next(iter(inputs.values()))
        for key, item_path, args, key_span, by_param in parsed:
            local = args.get("name")
            if local is None:
                base = key[1:] if by_param else key
                while True:
                    counts[base] = counts.get(base, 0) + 1
                    # relu6 -> relu6_1, not relu61
                    local = f"{base}{'_' if base[-1:].isdigit() else ''}{counts[base]}"
                    if local not in taken:
                        break
            if local in table:
                self.fail(f"layer name {local!r} is already used in this scope",
                          self.src.span(item_path + (key, "name")), REFERENCE, trace)
            sources = self.sources(args, item_path + (key,), table, prev, trace)
            names = _Names(self, params, table, sources, taken, owners)
            op = names.chosen(key, key_span, trace) if by_param else key
            repeat = self.repeat(args, item_path + (key,), names, trace)
            self.steps += max(repeat, 1)
            if self.steps > MAX_STEPS:
                self.fail(f"the network expands to more than {MAX_STEPS:,} layers and block uses "
                          f"(repeat counts multiply through nested blocks)", key_span, LIMIT, trace)
            if op in self.blocks and repeat > 1 and len(self._inputs_of(op)) > 1:
                self.fail(f"block {op!r} takes {len(self._inputs_of(op))} inputs, so it cannot be "
                          "repeated (each copy after the first would get one input)",
                          self.src.span(item_path + (key, "repeat")), REFERENCE, trace)
            if repeat == 0 or op == "none":   # no layer: the name stands for the layer's input
                if len(sources) != 1:
                    what = "repeat: 0" if repeat == 0 else "no op (none)"
                    where = item_path + ((key, "repeat") if repeat == 0 else (key,))
                    self.fail(f"a layer with {what} passes one input through; it has {len(sources)}",
                              self.src.span(where), REFERENCE, trace)
                repeat, out = 0, sources[0]
            for r in range(repeat):
                full = prefix + (f"{local}.{r}" if "repeat" in args else local)
                if r:       # each copy after the first reads the one before it as 'in'
                    names = _Names(self, params, table, sources, taken, owners)
                if op in OPS:
                    out = self.op_node(op, args, item_path + (key,), key_span, names, full,
                                       sources, trace, block)
                elif op in self.blocks:
                    out = self.block_use(op, args, item_path + (key,), key_span, names, full,
                                         sources, trace, stack, table)
                else:
                    self.fail(unknown_op_message(op, OPS, self.blocks), key_span, REFERENCE, trace)
                sources = [out]
            table[local] = out
            prev = out
        return prev, table

    def chosen(self, key: str, names: _Names, span: Span, trace: tuple) -> str:
        """The op or block a ``$param`` layer names (``none``: no layer)."""
        pname = key[1:]
        if pname not in names.params:
            self.fail(f"layer '{key}' names parameter {pname!r}, which is not in scope"
                      + (f" (parameters here: {', '.join(names.params)})" if names.params else ""),
                      span, REFERENCE, trace)
        value = names[pname]
        if not isinstance(value, str) or not (value in OPS or value in self.blocks or value == "none"):
            shown = value if isinstance(value, str) else repr(value)
            why = unknown_op_message(shown, OPS, self.blocks) if isinstance(value, str) else \
                f"{shown} is not the name of an op or block"
            self.fail(f"layer '{key}': parameter {pname!r} is {shown!r}; {why}", span, REFERENCE, trace)
        return value

    def parsed(self, items: list, path: tuple) -> tuple[list, set]:
        """A list of layers as (key, path, settings, key span, whether the key names a
        parameter) per item, and the names its items give: worked out once per list
        (a block used 16 times is read once)."""
        hit = self.parsed_lists.get(path)
        if hit is None:
            parsed = []
            for i, it in enumerate(items):
                key, item_path, args = self.item(it, path + (i,))
                key_span = self.src.span(item_path + (key,), key=True) if isinstance(it, dict) \
                    else self.src.span(item_path)
                parsed.append((key, item_path, args, key_span, isinstance(key, str) and _PARAM_OP.match(key)))
            taken = {p[2]["name"] for p in parsed if isinstance(p[2].get("name"), str)}
            hit = self.parsed_lists[path] = (parsed, taken)
        return hit

    def item(self, item, path: tuple):
        """A layer item as (op or block name, its path, its settings)."""
        if isinstance(item, str):
            return item, path, {}
        (key, args), = item.items()
        return key, path, dict(args or {})

    def repeat(self, args: dict, path: tuple, scope, trace: tuple) -> int:
        if "repeat" not in args:
            return 1
        span = self.src.span(path + ("repeat",))
        n = self.resolve(args["repeat"], scope, span, trace, False, "repeat: expected an integer")
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_REPEAT:
            hint = ROUNDING_HINT if isinstance(n, float) and isinstance(args["repeat"], str) else ""
            self.fail(f"repeat must be an integer from 0 to {MAX_REPEAT:,}, got {n!r}{hint}",
                      span, SCHEMA, trace)
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
    def op_node(self, op_name: str, args: dict, path: tuple, key_span: Span, scope,
                full: str, sources: list, trace: tuple, block: str | None) -> str:
        op = OPS[op_name]
        lo, hi = op.arity
        given = {**(self.defaults.get(op_name) or {}), **args}
        constant = op.constant_operand and any(given.get(k) is not None for k in ("by", "by_shape"))
        count = len(sources) + constant        # a constant operand (netc/ops/arith.py) is one input
        if not (lo <= count and (hi is None or count <= hi)):
            want = f"at least {lo}" if hi is None else str(lo) if lo == hi else f"{lo} to {hi}"
            got = f"{len(sources)} and the constant 'by'" if constant else str(len(sources))
            self.fail(f"{op_name} takes {want} input{'s' if (hi or lo) > 1 else ''}, got {got}",
                      self.src.span(path + ("from",)) if "from" in args else key_span, REFERENCE, trace, full)
        values, spans = {}, {}
        defaults = self.defaults.get(op_name) or {}
        for key, param, own_default, named, expect in _op_plan(op):
            if key in args:
                raw, span = args[key], self.src.span(path + (key,))
            elif key in defaults:
                raw, span = defaults[key], self.src.span(("defaults", op_name, key))
            elif own_default is not _REQUIRED:
                values[key] = own_default
                continue
            else:
                self.fail(f"{op_name} needs {key!r} ({param.doc})", key_span, SCHEMA, trace, full)
            literal = named or raw in ("same", "valid")
            value = self.resolve(raw, scope, span, trace, literal, expect)
            try:
                values[key] = param.check(value)
            except ValueError as e:
                hint = ROUNDING_HINT if _computed_float(raw, value) and param.kind in ("int", "pair", "padding") \
                    else ""
                self.fail(f"{op_name} {key}: {e}{hint}", span, SCHEMA, trace, full)
            spans[key] = span
        for key in args:
            if key not in op.params and key not in META_KEYS:  # the schema already said so
                self.fail(f"unknown key {key!r} for {op_name}", self.src.span(path + (key,), key=True),
                          SCHEMA, trace, full)
        if len(self.nodes) >= MAX_NODES:
            self.fail(f"the network expands to more than {MAX_NODES:,} layers", key_span, LIMIT, trace, full)
        node = Node(full, op_name, values, list(sources), key_span, spans, trace, block)
        self.nodes.append(node)
        self.by_name[full] = node
        return full

    # -- block uses ------------------------------------------------------------
    def block_use(self, name: str, args: dict, path: tuple, key_span: Span, caller,
                  full: str, sources: list, trace: tuple, stack: tuple[str, ...], table: dict):
        if name in stack:
            chain = " -> ".join(stack[stack.index(name):] + (name,))
            self.fail(f"block {name!r} uses itself ({chain})", key_span, REFERENCE, trace, full)
        if len(stack) >= MAX_BLOCK_DEPTH:
            self.fail(f"blocks nest deeper than {MAX_BLOCK_DEPTH} levels", key_span, LIMIT, trace, full)
        definition = self.blocks[name]
        inputs = self._inputs_of(name)
        if len(sources) != len(inputs):
            if len(inputs) == 1:
                msg = (f"block {name!r} takes one input, got {len(sources)} (a block that takes "
                       f"several names them: inputs: [x, y])")
            else:
                msg = (f"block {name!r} takes {len(inputs)} inputs ({', '.join(inputs)}), got "
                       f"{len(sources)}; pass them in order: from: [{', '.join(inputs)}]")
            self.fail(msg, self.src.span(path + ("from",)) if "from" in args else key_span,
                      REFERENCE, trace, full)
        self.blocks_used.add(name)
        declared = definition.get("params") or {}
        for key in args:
            if key not in declared and key not in META_KEYS:
                close = difflib.get_close_matches(str(key), list(declared), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else \
                    f" (it declares: {', '.join(declared) or 'none'})"
                self.fail(f"block {name!r} has no parameter {key!r}{hint}",
                          self.src.span(path + (key,), key=True), REFERENCE, trace, full)
        inner_inputs = dict(zip(inputs, sources))
        scope: dict = dict(self.params)       # the network's params, shadowed by the block's
        owners = {**self.owners, **{p: ("blocks", name, "params", p) for p in declared}}
        inner = _Names(self, scope, inner_inputs, sources, owners=owners)
        for pname, default in declared.items():
            if pname in args:
                scope[pname] = self.resolve(args[pname], caller, self.src.span(path + (pname,)), trace, None)
            elif default is None:
                self.fail(f"block {name!r} needs parameter {pname!r}", key_span, REFERENCE, trace, full)
            else:
                dspan = self.src.span(("blocks", name, "params", pname))
                scope[pname] = self.resolve(default, inner, dspan, trace, None)
        inner_trace = trace + ((full, key_span),)
        out, _ = self.scope(definition["layers"], ("blocks", name, "layers"), scope, full + ".",
                            inner_inputs, inner_trace, name, stack + (name,), table, owners)
        return out

    # -- network parameters ------------------------------------------------------
    def network_params(self, overrides: dict) -> dict:
        """The file's ``params:`` in order, each written or overridden value evaluated
        over the ones before it (and the input's shape: ``input.channels``)."""
        written = self.data.get("params") or {}
        unknown = [k for k in overrides if k not in written]
        if unknown:
            have = f"it declares: {', '.join(written)}" if written else "it has no 'params:'"
            close = suggest(unknown[0], list(written))
            raise OverrideError(f"--set {unknown[0]}: {self.src.path} declares no parameter "
                                f"{unknown[0]!r}" + (f"; did you mean {close!r}?" if close else f" ({have})"))
        table = {"input": self.input_name, self.input_name: self.input_name}
        params: dict = {}
        self.owners = {k: ("params", k) for k in written}
        names = _Names(self, params, table, [self.input_name])
        for key, raw in written.items():
            span = self.src.span(("params", key))
            if key in overrides:
                try:
                    params[key] = self.resolve(overrides[key], names, span, (), None)
                except NetcError as e:
                    raise OverrideError(f"--set {key}: {e.diagnostics[0].message}") from None
            else:
                params[key] = self.resolve(raw, names, span, (), None)
        self.params = params
        return params


_OP_PLANS: dict = {}     # id(op) -> (op, its plan)
_REQUIRED = object()


def _op_plan(op) -> list[tuple]:
    """Per parameter of the op, worked out once per op: (key, param, its default in normal
    form or _REQUIRED, whether a string value is a literal name, the 'expected' message
    of a malformed value). A default is a constant of the op's definition, and its normal
    form (None, int, str, tuple) immutable."""
    hit = _OP_PLANS.get(id(op))
    if hit is None or hit[0] is not op:
        plan = []
        for key, param in op.params.items():
            default = _REQUIRED if param.required else \
                None if param.default is None else param.check(param.default)
            if isinstance(default, (dict, list)):   # pragma: no cover - an op definition's bug
                raise AssertionError(f"op {op.name!r}: mutable default for {key!r}")
            expect = f"{op.name} {key}: {_EXPECT[param.kind]}" if param.kind in _EXPECT else None
            plan.append((key, param, default, param.kind in ("choice", "init"), expect))
        hit = _OP_PLANS[id(op)] = (op, plan)
    return hit[1]


def _computed_float(raw, value) -> bool:
    """True when an expression (not a written number) gave a float."""
    if isinstance(raw, list) and isinstance(value, list):
        return any(_computed_float(r, v) for r, v in zip(raw, value))
    return isinstance(raw, str) and isinstance(value, float)


def check_ops(src: Source) -> None:
    """Every unknown op of the file, reported at once (layers and every block)."""
    data = src.data
    blocks = data.get("blocks") or {}
    lists = [(("layers",), data["layers"])]
    lists += [(("blocks", b, "layers"), d["layers"]) for b, d in blocks.items()]
    diags = []
    for path, items in lists:
        for i, item in enumerate(items):
            key = item if isinstance(item, str) else next(iter(item))
            if not isinstance(key, str) or key in OPS or key in blocks or _PARAM_OP.match(key):
                continue
            span = src.span(path + (i, key), key=True) if isinstance(item, dict) else src.span(path + (i,))
            diags.append(Diagnostic(unknown_op_message(key, OPS, blocks), span, REFERENCE))
    if diags:
        raise NetcError(sorted(diags, key=lambda d: (d.span.line, d.span.col)))


def expand(src: Source, params: dict | None = None, input_shape=None) -> Graph:
    """Expand a schema-valid source into a Graph in topological order.

    ``params`` overrides values of the file's ``params:`` (``--set``), and
    ``input_shape`` its input shape (``--input``); a name the file does not
    declare raises OverrideError."""
    data = src.data
    inp = data["input"]
    shape = check_input(input_shape) if input_shape is not None else tuple(inp["shape"])
    ex = _Expander(src, shape)
    input_name = ex.input_name
    check_ops(src)
    net_params = ex.network_params(dict(params or {}))
    inputs = {"input": input_name, input_name: input_name}
    out, table = ex.scope(data["layers"], ("layers",), net_params, "", inputs, (), None, ())
    known = {n.name for n in ex.nodes} | {input_name}

    def resolve(ref, key: str = "from") -> str:
        chain = []            # refs through pass-through layers (repeat: 0), each resolved once
        while isinstance(ref, _Ref) and ref.target is None:
            if ref.name not in ref.table:
                why = ex.not_visible(ref.table, ref.name)
                if why:
                    ex.fail(why, ref.span, REFERENCE, ref.trace)
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
    declared = [("params", k) for k in data.get("params") or {}]
    declared += [("blocks", b, "params", k) for b in ex.blocks_used for k in ex.blocks[b].get("params") or {}]
    return Graph(data.get("name") or _stem(src.path), input_name, shape,
                 src.span(("input",)), nodes, outputs, src, blocks_defined, ex.blocks_used,
                 {d: src.span(d, key=True) for d in declared}, ex.read - {None})


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
