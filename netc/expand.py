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

Every independent error of a file is reported in one run, as ruff and rustc do:
the schema's, the unknown ops and references found without expanding, and each
layer's own (a bad value, an argument its block does not declare, a missing block
parameter, an unknown ``from``). A layer that fails stands for its input, as one
left out by ``if:`` does, and expansion goes on; a setting the schema refused is
left out, and its layer is not made. An error that may follow from another (a
shape read past a layer that failed) waits until that one is fixed, and shapes
are analyzed only once the file expands.

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

from .diagnostics import LIMIT, REFERENCE, SCHEMA, SHAPE, Diagnostic, NetcError, Span
from .expr import NAME, ExprError, check_syntax, evaluate
from .expr import show as _shown
from .graph import Graph, Node
from .ops import OPS, ShapeError
from .ops.aliases import suggest, unknown_op_message
from .ops.registry import fmt_shape
from .ops.window import axis_names
from .overrides import OverrideError, check_input
from .schema import MAX_REPEAT, META_KEYS, PARAM_OP_PATTERN, problems
from .source import Source

MAX_NODES = 20_000
MAX_BLOCK_DEPTH = 16
MAX_STEPS = 5 * MAX_NODES   # layer items expanded (ops, block uses, repeat: 0): the repeat
                            # limit multiplied through nested blocks is a budget, not a cap per level
SHAPE_ATTRS = {"channels": 0, "height": 1, "width": 2, "length": 1, "depth": 1}   # by the map's rank
_PARAM_OP = re.compile(PARAM_OP_PATTERN)
_INDEXED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\[")      # acts[0]: an item of a list parameter
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


@dataclass
class _Outs:
    """What a block use with several outputs stands for in its scope's table: its
    outputs by name, in order, each a full node name or a ``_Ref``."""

    use: str                    # the use's name in its scope, for messages
    block: str
    refs: dict

    def describe(self) -> str:
        return f"{self.use!r} (block {self.block!r}) gives {len(self.refs)} outputs ({', '.join(self.refs)})"


class _Missing(Exception):
    """A name not in its table (the caller says why, with the place it has)."""


def _lookup(table: dict, name: str):
    """The table entry a reference names: ``NAME``, or ``USE.OUT`` (an output of a
    block use with several); ExprError for a misuse, _Missing for an unknown NAME."""
    base, _, out = name.partition(".")
    if base not in table:
        raise _Missing(base)
    value = table[base]
    if not out:
        if isinstance(value, _Outs) and len(value.refs) > 1:
            first = next(iter(value.refs))
            raise ExprError(f"{value.describe()}: name one, e.g. {base}.{first}")
        return next(iter(value.refs.values())) if isinstance(value, _Outs) else value
    if not isinstance(value, _Outs):
        raise ExprError(f"{base!r} has one output, so write {base!r}: {name!r} would name an output of a "
                        f"block use with several (a block declares them: outputs: [...])")
    if out not in value.refs:
        close = difflib.get_close_matches(out, list(value.refs), n=1)
        raise ExprError(f"{value.describe()}; it has no output {out!r}"
                        + (f"; did you mean {base}.{close[0]}?" if close else ""))
    return value.refs[out]


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
        self.instance_params: dict[str, dict] = {}   # block instance -> its parameters' values
        self.steps = 0
        self.params: dict = {}
        self.owners: dict[str, tuple] = {}     # network parameter -> ("params", name)
        self.read: set = set()                 # declarations an expression read
        self.parsed_lists: dict[tuple, tuple] = {}   # path of a list of layers -> parsed()
        self.sides_read: set[str] = set()      # 'height', 'width': the graph depends on the input's sides
        self.errors: list[Diagnostic] = []     # independent errors so far, reported together
        self.refused: set[tuple] = set()        # paths of layers with a setting the schema refused

    # -- errors --------------------------------------------------------------
    def fail(self, message: str, span: Span, code: str, trace: tuple, layer: str | None = None):
        notes = [(use, f"in block instance '{inst}'") for inst, use in reversed(trace)]
        raise NetcError(Diagnostic(message, span, code, layer=layer, notes=notes))

    def note_error(self, e: NetcError) -> None:
        """Keep a layer's error to report with the others; a limit stops expansion at once,
        and a shape error after another error may follow from it (a layer that failed
        stands for its input, with that input's shape): it waits until that one is fixed."""
        if any(d.code == LIMIT for d in e.diagnostics):
            raise NetcError(self.errors + e.diagnostics) from None
        if self.errors and all(d.code == SHAPE for d in e.diagnostics):
            return
        self.errors.extend(e.diagnostics)

    def stand_in(self, key: str, by_param: bool, args: dict, sources: list | None, prev, local: str):
        """What a layer that failed stands for, so that the layers after it are still checked:
        its input, as a layer left out by ``if:``; a block use with several outputs, its
        input in place of each of them."""
        first = sources[0] if sources else prev
        outputs = self._outputs_of(key) if not by_param and key in self.blocks else None
        if outputs and len(outputs) > 1:
            return _Outs(local, key, dict.fromkeys(outputs, first))
        return prev if "from" not in args or not sources else first

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

    def _outputs_of(self, block: str | None) -> list[str] | None:
        """The names of a block's declared outputs (the last part of each entry), or None."""
        declared = self.blocks[block].get("outputs") if block in self.blocks else None
        return [o.rpartition(".")[2] for o in declared] if declared else None

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
        if literal_names:       # a word, a parameter's value, or an item of a list parameter
            if NAME.match(raw):
                return scope.get(raw, raw)
            if not _INDEXED.match(raw) or raw.partition("[")[0] not in scope:
                return raw
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
            try:
                ref = _lookup(ref.table, ref.name)
            except _Missing as e:
                why = self.not_visible(ref.table, str(e))
                raise ExprError(why or f"the shape of {ref.name!r} is not known here: a shape read "
                                "needs the layers it depends on written above it") from None
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
        base, _, attr = key.rpartition(".")
        head = base.partition(".")[0]
        if attr not in SHAPE_ATTRS and isinstance(names.table.get(base), _Outs) and attr in names.table[base].refs:
            raise ExprError(f"{key!r} is an output of {base!r}: read one of its sides, e.g. {key}.channels")
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
        elif head in names.table:
            try:
                ref = _lookup(names.table, base)
            except ExprError as e:
                raise ExprError(f"in {key!r}: {e}") from None
        elif head in names.taken:
            raise ExprError(f"{head!r} is written below this layer; a shape read needs its layer above it")
        else:
            why = self.not_visible(names.table, head)
            if why:
                raise ExprError(why)
            close = difflib.get_close_matches(head, ["in", *names.table], n=1)
            raise ExprError(f"unknown layer {head!r} in {key!r}" +
                            (f"; did you mean {close[0]!r}?" if close else ""))
        shape = self.shape_of(self.now(ref))
        if attr == "channels":
            return shape[0]
        names = ("channels", *axis_names(len(shape) - 1)) if 2 <= len(shape) <= 4 else ("channels",)
        if attr not in names:
            if len(shape) == 1:
                raise ExprError(f"{base!r} is the vector ({shape[0]},): it has channels, no {attr}")
            raise ExprError(f"{base!r} is the map {fmt_shape(shape)}: it has {', '.join(names)}, no {attr}")
        self.sides_read.add(attr)
        return shape[names.index(attr)]

    # -- scopes --------------------------------------------------------------
    def scope(self, items: list, path: tuple, params: dict, prefix: str, inputs: dict,
              trace: tuple, block: str | None, stack: tuple[str, ...], parent: dict | None = None,
              owners: dict | None = None):
        """Expand one list of layers; return what its last layer gives (a full name, a
        ref, or the _Outs of a block use with several outputs) and its table."""
        table: dict[str, object] = dict(inputs)
        if parent is not None:
            self.parents[id(table)] = (parent, block)
        parsed, taken, locals_ = self.parsed(items, path)
        prev = next(iter(inputs.values()))
        for (key, item_path, args, key_span, by_param), local in zip(parsed, locals_):
            sources = None
            try:
                if local in table:
                    self.fail(f"layer name {local!r} is already used in this scope",
                              self.src.span(item_path + (key, "name")), REFERENCE, trace)
                if item_path in self.refused:   # its error is the schema's: this layer is not made
                    raise NetcError([])
                sources = self.sources(args, item_path + (key,), table, prev, trace)
                names = _Names(self, params, table, sources, taken, owners)
                if "if" in args and not self.condition(args["if"], item_path + (key, "if"), names, trace):
                    if not by_param and key in self.blocks:     # misspelt arguments, whatever the condition
                        self.block_args(key, args, item_path + (key,), trace, prefix + local)
                    self.steps += 1
                    out = table[local] = self.passed(key if not by_param else None, args, sources, prev,
                                                     item_path + (key, "if"), trace, "if", local)
                    prev = out
                    continue
                op = names.chosen(key, key_span, trace) if by_param else key
                repeat = self.repeat(args, item_path + (key,), names, trace)
                self.steps += max(repeat, 1)
                if self.steps > MAX_STEPS:
                    self.fail(f"the network expands to more than {MAX_STEPS:,} layers and block uses "
                              f"(repeat counts multiply through nested blocks)", key_span, LIMIT, trace)
                if repeat == 0 or op == "none":   # no layer: the name stands for the layer's input
                    where = item_path + ((key, "repeat") if repeat == 0 else (key,))
                    out = self.passed(op if op in self.blocks else None, args, sources, prev, where, trace,
                                      "repeat: 0" if repeat == 0 else "no op (none)", local)
                    repeat = 0
                elif "from" not in args and isinstance(prev, _Outs):
                    self.check_implicit(op, prev, key_span, trace)
                for r in range(repeat):
                    full = prefix + (f"{local}.{r}" if "repeat" in args else local)
                    if r:       # each copy after the first reads the one before it as 'in'
                        names = _Names(self, params, table, sources, taken, owners)
                    if op in OPS:
                        out = self.op_node(op, args, item_path + (key,), key_span, names, full,
                                           sources, trace, block)
                    elif op in self.blocks:
                        out = self.block_use(op, args, item_path + (key,), key_span, names, full,
                                             sources, trace, stack, table, local)
                    else:
                        self.fail(unknown_op_message(op, OPS, self.blocks), key_span, REFERENCE, trace)
                    sources = list(out.refs.values()) if isinstance(out, _Outs) else [out]
                    if r + 1 < repeat and op in self.blocks and len(sources) != len(self._inputs_of(op)):
                        n_in, n_out = len(self._inputs_of(op)), len(sources)
                        self.fail(f"block {op!r} takes {n_in} input{'s' if n_in > 1 else ''} and gives {n_out} "
                                  f"output{'s' if n_out > 1 else ''}, so it cannot be repeated (each copy after the "
                                  f"first takes the outputs of the one before it: a repeated block gives as many "
                                  f"outputs as it takes inputs)",
                                  self.src.span(item_path + (key, "repeat")), REFERENCE, trace)
                table[local] = out
                prev = out
            except NetcError as e:
                self.note_error(e)
                out = table[local] = self.stand_in(key, by_param, args, sources, prev, local)
                prev = out
        return prev, table

    def condition(self, raw, path: tuple, names: _Names, trace: tuple) -> bool:
        """The value of a layer's ``if:``: true or false, nothing else."""
        span = self.src.span(path)
        value = self.resolve(raw, names, span, trace, False)
        if not isinstance(value, bool):
            hint = " (compare it, e.g. stride == 1)" if not isinstance(raw, bool) else ""
            self.fail(f"if: the condition is {_shown(value)}, not true or false{hint}", span, SCHEMA, trace)
        return value

    def passed(self, block: str | None, args: dict, sources: list, prev, path: tuple, trace: tuple,
               why: str, local: str):
        """What a layer that is not made stands for: its input. A block use with several
        outputs passes its inputs through as its outputs, in order; a layer left out by
        its condition stands for its first input (without 'from', all that the layer
        before it gave); repeat: 0 and none need exactly one input."""
        outputs = self._outputs_of(block) or ()
        if len(outputs) > 1:
            if len(sources) != len(outputs):
                self.fail(f"block {block!r} gives {len(outputs)} outputs ({', '.join(outputs)}) and takes "
                          f"{len(self._inputs_of(block))} input(s), so with {why} it has no outputs to pass "
                          f"on: a use with no layers passes its inputs through as its outputs, as many as it gives",
                          self.src.span(path), REFERENCE, trace)
            return _Outs(local, block, dict(zip(outputs, sources)))
        if why == "if":
            return prev if "from" not in args else sources[0]
        if len(sources) != 1:
            self.fail(f"a layer with {why} passes one input through; it has {len(sources)}",
                      self.src.span(path), REFERENCE, trace)
        return sources[0]

    def check_implicit(self, op: str, prev: "_Outs", span: Span, trace: tuple) -> None:
        """A layer without 'from' after a block use with several outputs takes them all, in
        order: it must take that many."""
        n = len(prev.refs)
        if op in OPS:
            lo, hi = OPS[op].arity
            fits = lo <= n and (hi is None or n <= hi)
            takes = "one input" if hi == 1 else f"{lo} to {hi} inputs" if hi else f"{lo} or more inputs"
        else:
            k = len(self._inputs_of(op))
            fits, takes = k == n, f"{k} input{'s' if k > 1 else ''}"
        if not fits:
            first = next(iter(prev.refs))
            self.fail(f"{op} takes {takes}, and without 'from' a layer takes everything the layer before it "
                      f"gives: {prev.describe()}; name one, e.g. from: {prev.use}.{first}", span, REFERENCE, trace)

    def chosen(self, key: str, names: _Names, span: Span, trace: tuple) -> str:
        """The op or block a ``$param`` layer names (``none``: no layer)."""
        pname = key[1:]
        if pname not in names.params:
            self.fail(f"layer '{key}' names parameter {pname!r}, which is not in scope"
                      + (f" (parameters here: {', '.join(names.params)})" if names.params else ""),
                      span, REFERENCE, trace)
        value = names[pname]
        if not isinstance(value, str) or not (value in OPS or value in self.blocks or value == "none"):
            why = unknown_op_message(value, OPS, self.blocks) if isinstance(value, str) else \
                f"{_shown(value)} is not the name of an op or block"
            self.fail(f"layer '{key}': parameter {pname!r} is {_shown(value)}; {why}", span, REFERENCE, trace)
        return value

    def parsed(self, items: list, path: tuple) -> tuple[list, set, list]:
        """A list of layers as (key, path, settings, key span, whether the key names a
        parameter) per item, the names its items give, and each item's name in its
        scope: worked out once per list (a block used 16 times is read once)."""
        hit = self.parsed_lists.get(path)
        if hit is None:
            parsed = []
            for i, it in enumerate(items):
                key, item_path, args = self.item(it, path + (i,))
                key_span = self.src.span(item_path + (key,), key=True) if isinstance(it, dict) \
                    else self.src.span(item_path)
                parsed.append((key, item_path, args, key_span, isinstance(key, str) and _PARAM_OP.match(key)))
            taken, locals_ = _local_names([(p[0], p[2], p[4]) for p in parsed])
            hit = self.parsed_lists[path] = (parsed, taken, locals_)
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
        if "from" not in args:      # all that the layer before gave
            return list(prev.refs.values()) if isinstance(prev, _Outs) else [prev]
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
                  full: str, sources: list, trace: tuple, stack: tuple[str, ...], table: dict,
                  local: str):
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
        declared = self.block_args(name, args, path, trace, full)
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
        self.instance_params[full] = {p: scope[p] for p in declared}
        inner_trace = trace + ((full, key_span),)
        out, inner_table = self.scope(definition["layers"], ("blocks", name, "layers"), scope, full + ".",
                                      inner_inputs, inner_trace, name, stack + (name,), table, owners)
        if "outputs" not in definition:
            return out
        refs = {}
        for i, entry in enumerate(definition["outputs"]):
            span = self.src.span(("blocks", name, "outputs", i))
            try:
                refs[entry.rpartition(".")[2]] = _lookup(inner_table, entry)
            except _Missing as e:
                self.fail(self.unknown_output(name, str(e), inner_table), span, REFERENCE, inner_trace)
            except ExprError as e:
                self.fail(f"outputs of block {name!r}: {e}", span, REFERENCE, inner_trace)
        return _Outs(local, name, refs)

    def unknown_output(self, block: str, base: str, table: dict) -> str:
        names = [k for k in table if k != "input" or "input" in self._inputs_of(block)]
        close = difflib.get_close_matches(base, names, n=1)
        return (f"outputs of block {block!r}: it has no layer or input {base!r}"
                + (f"; did you mean {close[0]!r}?" if close else ""))

    def block_args(self, name: str, args: dict, path: tuple, trace: tuple, full: str) -> dict:
        """The block's declared parameters; an argument it does not declare is an error,
        kept with the others while the block expands without it."""
        declared = self.blocks[name].get("params") or {}
        for key in args:
            if key not in declared and key not in META_KEYS:
                close = difflib.get_close_matches(str(key), list(declared), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else \
                    f" (it declares: {', '.join(declared) or 'none'})"
                try:
                    self.fail(f"block {name!r} has no parameter {key!r}{hint}",
                              self.src.span(path + (key,), key=True), REFERENCE, trace, full)
                except NetcError as e:
                    self.note_error(e)
        return declared

    # -- network parameters ------------------------------------------------------
    def network_params(self, overrides: dict) -> dict:
        """The file's ``params:`` in order, each written or overridden value evaluated
        over the ones before it (and the input's shape: ``input.channels``)."""
        written = self.data.get("params") or {}
        unknown = [k for k in overrides if k not in written]
        if unknown:
            have = f"it declares: {', '.join(written)}" if written else "it has no 'params:'"
            close = suggest(unknown[0], list(written))
            raise OverrideError(f"{self.src.path} declares no parameter {unknown[0]!r}"
                                + (f"; did you mean {close!r}?" if close else f" ({have})"), unknown[0])
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
                    raise OverrideError(e.diagnostics[0].message, key) from None
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


def _local_names(entries: list) -> tuple[set, list]:
    """The names a list of layers gives, from (key, settings, whether the key names a
    parameter) per item: the written names, and each item's name (unnamed: ``{op}{n}``
    counted per op, skipping names taken)."""
    taken = {a["name"] for _, a, _ in entries if isinstance(a.get("name"), str)}
    counts: dict[str, int] = {}
    names = []
    for key, args, by_param in entries:
        local = args.get("name")
        if local is None:
            base = key[1:] if by_param else key
            while True:
                counts[base] = counts.get(base, 0) + 1
                # relu6 -> relu6_1, not relu61
                local = f"{base}{'_' if base[-1:].isdigit() else ''}{counts[base]}"
                if local not in taken:
                    break
        names.append(local)
    return taken, names


def check_ops(src: Source) -> None:
    """What can be told without expanding, every instance of it reported at once (layers
    and every block): unknown ops; references to outputs a block does not declare, or
    to a block use with several outputs without naming one; a block's ``outputs:``
    naming no layer of it; an ``if:`` that is not an expression."""
    diags = static_problems(src)
    if diags:
        raise NetcError(diags)


def static_problems(src: Source) -> list[Diagnostic]:
    """The errors ``check_ops`` raises, in file order."""
    data = src.data
    blocks = data.get("blocks") or {}
    lists = [(("layers",), data["layers"], None)]
    lists += [(("blocks", b, "layers"), d["layers"], b) for b, d in blocks.items()]
    outputs_of = {b: [o.rpartition(".")[2] for o in d["outputs"]] for b, d in blocks.items() if d.get("outputs")}
    diags = []
    top: dict = {}
    for path, items, block in lists:
        entries = []
        for i, item in enumerate(items):
            key = item if isinstance(item, str) else next(iter(item))
            args = item[key] if isinstance(item, dict) and isinstance(item[key], dict) else {}
            entries.append((key, args, bool(_PARAM_OP.match(key))))
            if key in OPS or key in blocks or _PARAM_OP.match(key):
                continue
            span = src.span(path + (i, key), key=True) if isinstance(item, dict) else src.span(path + (i,))
            diags.append(Diagnostic(unknown_op_message(key, OPS, blocks), span, REFERENCE))
        _, names = _local_names(entries)
        table = {}              # what each name is, as far as is known without expanding
        for (key, _, by_param), local in zip(entries, names):
            if key in blocks and key in outputs_of:
                table[local] = _Outs(local, key, dict.fromkeys(outputs_of[key], local))
            elif key in OPS:
                table[local] = local
        if block is None:
            top = table
        for i, (key, args, _) in enumerate(entries):
            where = path + (i, key)
            refs = args.get("from")
            for j, ref in enumerate(refs if isinstance(refs, list) else [refs] if refs else []):
                d = _static_ref(src, table, ref, where + (("from", j) if isinstance(refs, list) else ("from",)))
                if d:
                    diags.append(d)
            if isinstance(args.get("if"), str):
                try:
                    check_syntax(args["if"])
                except ExprError as e:
                    diags.append(Diagnostic(f"if: {e}", src.span(where + ("if",)), SCHEMA))
        declared = blocks[block].get("outputs") if block else None
        for i, entry in enumerate(declared or []):
            base = entry.partition(".")[0]
            inputs = blocks[block].get("inputs") or ["input"]
            span = src.span(("blocks", block, "outputs", i))
            if base not in names and base not in inputs:
                close = difflib.get_close_matches(base, names + list(inputs), n=1)
                diags.append(Diagnostic(f"outputs of block {block!r}: it has no layer or input {base!r}"
                                        + (f"; did you mean {close[0]!r}?" if close else ""), span, REFERENCE))
            else:
                d = _static_ref(src, table, entry, ("blocks", block, "outputs", i), f"outputs of block {block!r}")
                if d:
                    diags.append(d)
    for i, entry in enumerate(data.get("outputs") or []):
        if "." in entry:
            d = _static_ref(src, top, entry, ("outputs", i), "outputs")
            if d:
                diags.append(d)
    return sorted(diags, key=lambda d: (d.span.line, d.span.col))


def _static_ref(src: Source, table: dict, ref, path: tuple, what: str = "from") -> Diagnostic | None:
    """A reference's misuse that shows without expanding: an output that the named block
    does not declare, one of an op, or a block use with several outputs unnamed."""
    if not isinstance(ref, str) or ref.partition(".")[0] not in table:
        return None          # an input, a layer chosen by a parameter, or unknown: expansion says
    try:
        _lookup(table, ref)
    except ExprError as e:
        return Diagnostic(f"{what}: {e}", src.span(path), REFERENCE)
    return None


def expand(src: Source, params: dict | None = None, input_shape=None) -> Graph:
    """Check a source against the schema and expand it into a Graph in topological order;
    raise NetcError with every independent error of the file (the module's docstring).

    ``params`` overrides values of the file's ``params:`` (``--set``), and
    ``input_shape`` its input shape (``--input``); a name the file does not
    declare raises OverrideError."""
    schema_errors, refused = problems(src)
    if refused is None:         # the file's structure: nothing to expand
        raise NetcError(schema_errors)
    if refused:
        src = dataclasses.replace(src, data=_without(src.data, refused))
    data = src.data
    inp = data["input"]
    shape = check_input(input_shape) if input_shape is not None else tuple(inp["shape"])
    ex = _Expander(src, shape)
    ex.errors = schema_errors + static_problems(src)
    ex.refused = {p[:p.index("layers", len(p) - 4) + 2] for p in refused}
    input_name = ex.input_name
    net_params = ex.network_params(dict(params or {}))
    inputs = {"input": input_name, input_name: input_name}
    out, table = ex.scope(data["layers"], ("layers",), net_params, "", inputs, (), None, ())
    known = {n.name for n in ex.nodes} | {input_name}

    def resolve(ref, key: str = "from") -> str:
        chain = []            # refs through pass-through layers (repeat: 0, if), each resolved once
        while isinstance(ref, _Ref) and ref.target is None:
            chain.append(ref)
            try:
                ref = _lookup(ref.table, ref.name)
            except _Missing as e:
                base = str(e)
                why = ex.not_visible(ref.table, base)
                if why:
                    ex.fail(why, ref.span, REFERENCE, ref.trace)
                names = [k for k in ref.table if k != "input"]
                close = difflib.get_close_matches(base, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                ex.fail(f"unknown layer {base!r} in {key!r}{hint}", ref.span, REFERENCE, ref.trace)
            except ExprError as e:
                ex.fail(f"{key}: {e}", ref.span, REFERENCE, ref.trace)
            if len(chain) > MAX_STEPS:  # pragma: no cover - tables never point in circles
                raise AssertionError("reference loop")
        if isinstance(ref, _Ref):
            ref = ref.target
        for r in chain:
            r.target = ref
        assert ref in known
        return ref

    def resolved(ref, key: str = "from") -> str:
        """``resolve``, an error kept with the others (the graph's input in its place)."""
        try:
            return resolve(ref, key)
        except NetcError as e:
            ex.note_error(e)
            return input_name

    for node in ex.nodes:
        node.inputs = [resolved(r) for r in node.inputs]
    outputs = []
    if "outputs" in data:
        for i, name in enumerate(data["outputs"]):
            span = src.span(("outputs", i))
            value = table.get(name)
            if isinstance(value, _Outs):       # a block use with several outputs: all of them
                outputs += [resolved(_Ref(value.refs, o, span, ())) for o in value.refs]
            else:
                outputs.append(resolved(_Ref(table, name, span, ()), "outputs"))
    elif isinstance(out, _Outs):
        outputs += [resolved(r) for r in out.refs.values()]
    else:
        outputs.append(resolved(out))
    if ex.errors:
        raise NetcError(_in_file_order(ex.errors))
    outputs = list(dict.fromkeys(outputs))
    if input_name in outputs:
        where = ("outputs",) if "outputs" in data else ("layers", len(data["layers"]) - 1)
        ex.fail("the network input cannot also be an output" + ("" if "outputs" in data else
                " (the last layer passes it through)"), src.span(where), REFERENCE, ())
    nodes = _topological(ex, input_name)
    blocks_defined = {k: src.span(("blocks", k), key=True) for k in ex.blocks}
    declared = [("params", k) for k in data.get("params") or {}]
    declared += [("blocks", b, "params", k) for b in ex.blocks_used for k in ex.blocks[b].get("params") or {}]
    graph = Graph(data.get("name") or _stem(src.path), input_name, shape,
                  src.span(("input",)), nodes, outputs, src, blocks_defined, ex.blocks_used,
                  {d: src.span(d, key=True) for d in declared}, ex.read - {None})
    graph.sides_read, graph.params_given = frozenset(ex.sides_read), dict(params or {})
    graph.instance_params = ex.instance_params
    return graph


SHAPE_PARAMS = frozenset({"kernel", "stride", "padding", "dilation", "output_padding", "ceil_mode", "scale",
                          "size", "filters", "units", "groups", "start", "end", "keepdims"})
NOTED_LAYERS = 3         # layers named in one note about a default they share


def note_defaults(e: NetcError, graph: Graph) -> None:
    """Add to each shape error (E004) of ``e`` a note at every ``defaults:`` entry it may come
    from: a setting that sizes a layer (kernel, stride, padding, ...) taken from
    ``defaults:`` by the failing layer, or by a layer on only some of its inputs' paths
    that changes the shape it is given (a 1x1 conv that inherits ``padding: 1`` grows
    what it reads by 2, and the add after it fails). Where the error points at the
    ``defaults:`` line itself, the note points at the layer."""
    src = graph.source
    if src is None or not src.text or not isinstance(src.data, dict) or not src.data.get("defaults"):
        return
    for d in e.diagnostics:
        if d.code != SHAPE or not d.layer:
            continue
        try:
            node = graph.node(d.layer)
        except KeyError:
            continue
        by_name = {n.name: n for n in graph.nodes}
        suspects = [node] + _branch_only(node, by_name)
        shapes = _shapes_before(graph, node)
        taken: dict = {}                # defaults path -> names of the layers that take it
        for n in suspects:
            if n is not node and shapes.get(n.name) == shapes.get(n.inputs[0] if n.inputs else ""):
                continue                # keeps the shape it is given: not a cause
            for param, span in n.param_spans.items():
                where = ("defaults", n.op, param)
                if param in SHAPE_PARAMS and span == src.spans.get(where):
                    taken.setdefault(where, []).append(n.name)
        for where, names in taken.items():
            span = src.spans[where]
            value = _shown(src.data["defaults"][where[1]][where[2]])
            shown = ", ".join(repr(x) for x in names[:NOTED_LAYERS]) + \
                (f" and {len(names) - NOTED_LAYERS} more" if len(names) > NOTED_LAYERS else "")
            layer = "layer" if len(names) == 1 else "layers"
            if span == d.span:
                d.notes.insert(0, (node.span, f"{where[2]}: {value} comes from 'defaults:'; layer "
                                              f"'{node.name}' is here"))
            else:
                d.notes.append((span, f"{layer} {shown} take{'s' if len(names) == 1 else ''} "
                                      f"{where[2]}: {value} from 'defaults:' ({where[1]})"))


def _branch_only(node: Node, by_name: dict, limit: int = 10 * MAX_NODES) -> list[Node]:
    """The layers above ``node`` on the paths to some of its inputs but not all: the
    branches that meet there (nothing for a layer with one input)."""
    if len(node.inputs) < 2:
        return []
    seen: list[set] = []
    steps = 0
    for start in node.inputs:
        found, stack = set(), [start]
        while stack and steps < limit:
            name = stack.pop()
            steps += 1
            if name in found or name not in by_name:
                continue
            found.add(name)
            stack.extend(by_name[name].inputs)
        seen.append(found)
    common = set.intersection(*seen)
    return [by_name[n] for n in sorted(set.union(*seen) - common, key=list(by_name).index)]


def _shapes_before(graph: Graph, stop: Node) -> dict:
    """The output shape of each layer before ``stop``, in the graph's order."""
    shapes = {graph.input_name: graph.input_shape}
    for n in graph.nodes:
        if n is stop:
            break
        try:
            shapes[n.name] = OPS[n.op].infer(n.params, [shapes[i] for i in n.inputs]).shape
        except (ShapeError, KeyError):
            break
    return shapes


def _without(data: dict, paths: list[tuple]) -> dict:
    """``data`` with the settings at ``paths`` left out: each mapping and list on the way to
    one copied, the rest shared."""
    data = dict(data)
    for path in paths:
        node = data
        for key in path[:-1]:
            child = node[key]
            child = list(child) if isinstance(child, list) else dict(child or {})
            node[key] = child
            node = child
        node.pop(path[-1], None)
    return data


def _in_file_order(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Errors sorted by place, one per place (the first found: a block's error is reported
    once, at its first instance; one found without expanding, not again by expansion)."""
    seen: dict = {}
    for d in diags:
        s = d.span
        seen.setdefault((s.file, s.line, s.col, s.where) if s else (d.code, d.message), d)
    return sorted(seen.values(), key=lambda d: (d.span.line, d.span.col) if d.span else (0, 0))


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
