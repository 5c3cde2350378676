"""A network as PyTorch source: one ``nn.Module`` class per block, written through
each op's ``torch`` rule (netc/torch/context.py), with no netc import needed to run it.

    gen = generate(network)        # gen.text: the source; gen.top: the network's class
    gen.entries                    # every state_dict tensor: key, shape, init, ONNX name

Modules are named after the layers: a block instance is a module of its own class
(``layer1[0]``: the instances of a ``repeat`` in an ``nn.ModuleList``), and each layer
that holds weights or slides a window is a module inside it (``layer1[0].branch.conv1``),
so that a state_dict key is the layer name with its tensor's suffix, as the ONNX
initializer of ``netc build`` is named. ``forward`` follows the graph: each block
instance's forward takes the values it reads from outside, in the order it first reads
them, and returns those it gives to the layers after it (a tuple when several); the
network's returns its outputs (a tuple when several). Identical instances share one
class; instances that differ (another width) get one class each (``Basic``, ``Basic2``).

Nothing here imports torch (``netc torch`` and ``netc build --weights`` run without it).
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from dataclasses import dataclass, field

from ..diagnostics import BuildError
from ..expand import _local_names
from ..expr import ExprError, evaluate
from ..graph import activation_after
from ..ops import OPS
from .condition import to_python
from .context import Entry, TorchContext, code

# attributes of torch.nn.Module (2.x): a module of that name would replace them
MODULE_ATTRIBUTES = frozenset("""
T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda double
dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule
half ipu load_state_dict modules mtia named_buffers named_children named_modules named_parameters
parameters register_backward_hook register_buffer register_forward_hook register_forward_pre_hook
register_full_backward_hook register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter register_state_dict_post_hook
register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory state_dict
to to_empty train training type xpu zero_grad dump_patches
""".split())
# names the forward's code uses: a local variable never takes them
RESERVED = frozenset({"self", "torch", "nn", "F", "x", "math"})

HELPERS = {
    "LayerNorm2d": '''
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an (N, C, H, W) map at each position (ConvNeXt's);
    of an (N, C, L) or (N, C, D, H, W) map alike."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
''',
    "Scale": '''
class Scale(nn.Module):
    """A learned multiplier per channel, from ``value``, and a shift from 0 with ``bias``."""

    def __init__(self, shape, value=1.0, bias=False):
        super().__init__()
        self.weight = nn.Parameter(torch.full(shape, float(value)))
        self.bias = nn.Parameter(torch.zeros(shape)) if bias else None

    def forward(self, x):
        x = x * self.weight
        return x if self.bias is None else x + self.bias
''',
    "LinearPReLU": '''
class LinearPReLU(nn.Linear):
    """nn.Linear, then PReLU with one learned slope per unit (``slope``)."""

    def __init__(self, *args, slope=0.25, **kwargs):
        super().__init__(*args, **kwargs)
        self.slope = nn.Parameter(torch.full((self.out_features,), float(slope)))

    def forward(self, x):
        return F.prelu(super().forward(x), self.slope)
''',
    **{f"{base}{n}dPReLU": f'''
class {base}{n}dPReLU(nn.{base}{n}d):
    """nn.{base}{n}d, then PReLU with one learned slope per filter (``slope``)."""

    def __init__(self, *args, slope=0.25, **kwargs):
        super().__init__(*args, **kwargs)
        self.slope = nn.Parameter(torch.full((self.out_channels,), float(slope)))

    def forward(self, x):
        return F.prelu(super().forward(x), self.slope)
''' for base in ("Conv", "ConvTranspose") for n in (1, 2, 3)},
    "avg_pool_padded": '''
def avg_pool_padded(x, kernel, stride, pads, counted):
    """Average pooling of ``x`` zero-padded by ``pads`` (F.pad's: (left, right, top, bottom)
    of a 2-D map), each mean divided by the pixels of its window that are real or in the
    ``counted`` padding (the rest of ``pads`` is not counted): padding that differs between
    sides, which nn.AvgPool1d/2d/3d cannot take."""
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[x.dim() - 3]
    ones = F.pad(x.new_ones(1, 1, *x.shape[2:]), counted, value=1.0)
    rest = [p - c for p, c in zip(pads, counted)]
    total = pool(F.pad(x, pads), kernel, stride)
    return total / pool(F.pad(ones, rest), kernel, stride)
''',
    "channel_shuffle": '''
def channel_shuffle(x, groups):
    """ShuffleNet's channel shuffle: channel g * (C / groups) + i moves to i * groups + g."""
    n, c = x.shape[:2]
    return x.reshape(n, groups, c // groups, *x.shape[2:]).transpose(1, 2).reshape(x.shape)
''',
}


@dataclass
class Generated:
    """The source of a network's module: ``text`` defines class ``top`` (no arguments);
    ``entries`` are its state_dict tensors in order."""

    text: str
    top: str
    entries: list[Entry] = field(default_factory=list)

    def spec(self) -> dict[str, Entry]:
        return {e.key: e for e in self.entries}


@dataclass
class _Scope:
    """A block instance (or the network, ``name`` ''): what it holds, in graph order."""

    name: str
    block: str
    items: list = field(default_factory=list)      # Node or _Scope
    nodes: list = field(default_factory=list)      # every node inside, nested ones too
    parts: tuple = ()                              # what its class holds (_Writer.scope_parts)
    call: str = ""                                 # the constructor call that builds it
    meta: tuple = ()                               # owners of init_after and forward lines, values' names


@dataclass
class _Run:
    """Instances of a repeat that each read the one before: a loop in forward."""

    path: tuple
    target: str
    var: str
    arg: str
    output: str
    count: int = 1
    lines: list = field(default_factory=list)


def _scope_io(scope: _Scope, graph, consumers) -> tuple[list[str], list[str]]:
    """The values a block instance reads from outside (in the order first read) and those
    it gives to layers after it (or the network's outputs)."""
    inside = {n.name for n in scope.nodes}
    inputs: list[str] = []
    for n in scope.nodes:
        for i in n.inputs:
            if i not in inside and i not in inputs:
                inputs.append(i)
    outputs = [n.name for n in scope.nodes
               if n.name in graph.outputs or any(c not in inside for c in consumers[n.name])]
    return inputs, outputs


_CONV_LINE = re.compile(r"^( +self\.\S+ = nn\.Conv(?:Transpose)?[123]d(?:PReLU)?\()(.*)(\))$")
_CONV_DEFAULTS = {"stride": "1", "padding": "0", "dilation": "1", "groups": "1"}
_CONV_ORDER = ("kernel_size", "stride", "padding", "output_padding", "dilation", "groups", "bias")


def _conv_defaults(texts: list[str]) -> list[str]:
    """The texts of one block's instances with the conv arguments that some instance writes
    on a line and another leaves at PyTorch's default (``stride=1``, ``padding=0``,
    ``dilation=1``, ``groups=1``) written out on every instance's line, so that instances
    that differ only there share a class (a stride as a constructor argument)."""
    split = [t.split("\n") for t in texts]
    if len({len(lines) for lines in split}) != 1:
        return texts
    for i in range(len(split[0])):
        found = [_CONV_LINE.match(lines[i]) for lines in split]
        if not all(found) or len({m[1] for m in found}) != 1:
            continue
        args = [_top_level(m[2]) for m in found]
        keys = {a.split("=", 1)[0] for parts in args for a in parts if "=" in a}
        missing = keys & set(_CONV_DEFAULTS)
        for lines, m, parts in zip(split, found, args):
            have = {a.split("=", 1)[0] for a in parts if "=" in a}
            add = [f"{k}={_CONV_DEFAULTS[k]}" for k in missing - have]
            if not add:
                continue
            positional = [a for a in parts if "=" not in a]
            named = sorted([a for a in parts if "=" in a] + add,
                           key=lambda a: _CONV_ORDER.index(a.split("=", 1)[0]) if a.split("=", 1)[0] in _CONV_ORDER
                           else len(_CONV_ORDER))
            lines[i] = m[1] + ", ".join(positional + named) + m[3]
    return ["\n".join(lines) for lines in split]


def _conv_defaults_row(lines: list) -> list:
    """One line of several instances (None where an instance lacks it) with the conv
    defaults that some instance writes written on every instance's line."""
    known = [i for i, line in enumerate(lines) if line is not None]
    out = list(lines)
    for i, text in zip(known, _conv_defaults(["        " + lines[i] for i in known])):
        out[i] = text[8:]
    return out


def _rename(line: str, names: dict[str, str]) -> str | None:
    """``line`` (one Python statement) with each variable of ``names`` renamed (not an
    attribute, a keyword argument or a string); None where it does not tokenize."""
    if not names:
        return line
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    out, at = [], 0
    for k, tok in enumerate(toks):
        if tok.type != tokenize.NAME or tok.string not in names or tok.start[0] != 1:
            continue
        prev = toks[k - 1].string if k else ""
        nxt = toks[k + 1].string if k + 1 < len(toks) else ""
        if prev == "." or nxt == "=":
            continue
        out.append(line[at:tok.start[1]] + names[tok.string])
        at = tok.end[1]
    return "".join(out) + line[at:]


def _top_level(args: str) -> list[str]:
    """``a, (b, c), d=e`` -> ['a', '(b, c)', 'd=e']."""
    out, depth, at = [], 0, 0
    for i, ch in enumerate(args):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            out.append(args[at:i].strip())
            at = i + 1
    out.append(args[at:].strip())
    return [a for a in out if a]


def _numbers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of each number literal of ``text`` (Python source)."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NUMBER:
            (r0, c0), (r1, c1) = tok.start, tok.end
            out.append((starts[r0 - 1] + c0, starts[r1 - 1] + c1, tok.string))
    return out


def _skeleton(text: str, numbers) -> str:
    """``text`` with every number literal blanked: instances of one skeleton differ in numbers only."""
    parts, at = [], 0
    for start, end, _ in numbers:
        parts.append(text[at:start])
        parts.append("#")
        at = end
    parts.append(text[at:])
    return "".join(parts)


def _literal(text: str):
    return float(text) if any(c in text for c in ".eE") and not text.lower().startswith("0x") else int(text, 0)


def _expression(vec: list, candidates: dict[str, list], products_first: bool = False) -> tuple[str, bool] | None:
    """An expression of one candidate argument (or two multiplied) giving ``vec``, one
    value per instance, and whether it is compound; None when none is found. With
    ``products_first`` (a layer that only some instances build, whose arguments may be
    constant over them) a product of two arguments is preferred to one times a number."""
    for k, vals in candidates.items():
        if vals == vec:
            return k, False
    ints = all(isinstance(v, int) for v in vec)
    if products_first and ints:
        items = [(k, v) for k, v in candidates.items() if all(isinstance(a, int) and a > 0 for a in v)]
        for i, (k, a) in enumerate(items):
            for q, b in items[i:]:
                if [x * y for x, y in zip(a, b)] == vec:
                    return f"{k} * {q}", True
    for k, vals in candidates.items():
        if not ints or not all(isinstance(v, int) and v > 0 for v in vals):
            continue
        if vec[0] % vals[0] == 0 and vec[0] // vals[0] > 1 and all(v == a * (vec[0] // vals[0]) for v, a in zip(vec, vals)):
            return f"{k} * {vec[0] // vals[0]}", True
        for d in range(2, 65):
            if all(a // d == v for v, a in zip(vec, vals)):
                return f"{k} // {d}", True
        off = vec[0] - vals[0]
        if all(v - a == off for v, a in zip(vec, vals)):
            return (f"{k} + {off}" if off > 0 else f"{k} - {-off}"), True
    if ints:
        items = [(k, v) for k, v in candidates.items() if all(isinstance(a, int) and a > 0 for a in v)]
        pairs = [(k, a, q, b) for i, (k, a) in enumerate(items) for q, b in items[i:]]
        for k, a, q, b in pairs:            # a product of two arguments before a scaled one
            if [x * y for x, y in zip(a, b)] == vec:
                return f"{k} * {q}", True
        for k, a, q, b in pairs:            # a difference (a slice's start: in_channels - c)
            if [x - y for x, y in zip(a, b)] == vec:
                return f"{k} - {q}", True
            if [y - x for x, y in zip(a, b)] == vec:
                return f"{q} - {k}", True
        for k, a, q, b in pairs:
            prods = [x * y for x, y in zip(a, b)]
            if vec[0] % prods[0] == 0 and all(v == p * (vec[0] // prods[0]) for v, p in zip(vec, prods)):
                return f"{k} * {q} * {vec[0] // prods[0]}", True
    return None


def class_name(text: str) -> str:
    """``basic_projected`` -> ``BasicProjected``; ``murphy-fig7`` -> ``MurphyFig7``."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+|_", text) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Net"
    return name if name[0].isalpha() else "Net" + name


def generate(network) -> Generated:
    """Write ``network`` (a ``netc.Network`` of a netc file) as PyTorch source; raise
    ``BuildError`` naming the layer for an op with no torch rule or a name PyTorch
    cannot take."""
    return _Writer(network).write()


class _Writer:
    def __init__(self, network):
        self.net = network
        self.graph = network.graph
        self.reports = {r.name: r for r in network.analysis.layers}
        self.shapes = network.analysis.shapes()
        self.consumers = self.graph.consumers()
        self.helpers: set[str] = set()
        self.entries: list[Entry] = []
        self.classes: dict[str, str] = {}           # class text (name placeholder) -> name
        self.class_order: list[tuple[str, str]] = []
        self.taken_classes: set[str] = set()

    # -- the scope tree ------------------------------------------------------
    def tree(self) -> _Scope:
        root = _Scope("", "")
        scopes = {"": root}
        lines = self.net.source.text.splitlines() if self.net.source is not None else []
        for node in self.graph.nodes:
            parent = root
            for inst, span in node.trace:
                scope = scopes.get(inst)
                if scope is None:
                    scope = scopes[inst] = _Scope(inst, _use_name(lines, span))
                    parent.items.append(scope)
                parent = scope
            parent.items.append(node)
            for inst, _ in node.trace:
                scopes[inst].nodes.append(node)
            root.nodes.append(node)
        return root

    def write(self) -> Generated:
        for node in self.graph.nodes:
            for part in node.name.split("."):
                self._check_name(node, part)
        root = self.tree()
        self.scope_parts(root)
        top = self.write_classes(root)
        classes = "\n\n".join(text.replace("CLASSNAME", name) for text, name in self.class_order)
        helpers = "\n".join(HELPERS[h].strip("\n") + "\n\n" for h in HELPERS if h in self.helpers)
        source = self.net.source.path if self.net.source is not None else "<string>"
        head = (f'"""{self.graph.name}, written by netc from {_doc(str(source))}: a PyTorch module with '
                f'no netc import.\n\n    model = {top}()\n    y = model(torch.randn(1, '
                f'{", ".join(map(str, self.graph.input_shape))}))\n"""\n\n')
        body = helpers + ("\n" if helpers else "") + classes + "\n"
        # the imports the body uses, in isort's order (the file passes ruff's default rules)
        imports = ["import torch"] * bool(re.search(r"\btorch\.", body)) + \
            ["import torch.nn.functional as F"] * bool(re.search(r"\bF\.", body)) + ["from torch import nn"]
        if re.search(r"\bmath\.", body):         # a condition's ceil or floor
            imports = ["import math", ""] + imports
        return Generated(head + "\n".join(imports) + "\n\n\n" + body, top, self.entries)

    def _check_name(self, node, part: str) -> None:
        if part.isdigit():
            return
        why = ("a Python keyword" if keyword.iskeyword(part) else
               "an attribute of torch.nn.Module" if part in MODULE_ATTRIBUTES else
               "a private name in PyTorch" if part.startswith("_") else None)
        if why:
            raise BuildError(f"{node.name}: the name {part!r} is {why}, which a PyTorch module cannot "
                             "be called; rename the layer or block use", node.span, node.name)

    # -- one class per block ----------------------------------------------------
    def scope_parts(self, scope: _Scope) -> None:
        """Work out what the class of ``scope`` holds (its inner scopes first, so that the
        state_dict's entries come in the modules' order): ``scope.parts`` = (forward's
        parameters, constructors by path (a string, or an inner _Scope whose call is
        written once its block's classes are chosen), nn.init lines, forward's lines,
        returned values)."""
        if scope.name:
            inputs, outputs = _scope_io(scope, self.graph, self.consumers)
        else:
            inputs, outputs = [self.graph.input_name], list(self.graph.outputs)
        params = ["x"] if len(inputs) == 1 else [f"x{i}" for i in range(len(inputs))]
        var = dict(zip(inputs, params))
        used = set(RESERVED) | set(params)
        init: list[tuple[list[str], object]] = []   # (path relative to the scope, constructor)
        init_after: list[str] = []
        body: list = []                              # lines, and _Run loops over repeats
        body_owner: list[str] = []                   # the item (its first name part) of each
        after_owner: list[str] = []
        prefix = scope.name + "." if scope.name else ""
        lists: dict[tuple, int] = {}                 # a numbered list of instances -> its length
        for item in scope.items:
            rel = item.name[len(prefix):].split(".")
            if isinstance(item, _Scope) and rel[-1].isdigit():
                lists[tuple(rel[:-1])] = lists.get(tuple(rel[:-1]), 0) + 1
        run = None
        for item in scope.items:
            rel = item.name[len(prefix):].split(".")
            target = "self" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in rel)
            if isinstance(item, _Scope):
                self.scope_parts(item)
                init.append((rel, item))
                sub_inputs, sub_outputs = _scope_io(item, self.graph, self.consumers)
                args = [self._var(var, i, item) for i in sub_inputs]
                # the next instance of a repeat, reading only the one before it: one loop
                if (run is not None and rel[-1].isdigit() and tuple(rel[:-1]) == run.path
                        and int(rel[-1]) == run.count and sub_inputs == [run.output] and len(sub_outputs) == 1
                        and run.output not in self.graph.outputs
                        and all(c in {n.name for n in item.nodes} for c in self.consumers[run.output])):
                    run.count += 1
                    run.lines.append(f"{run.var} = {target}({run.var})")
                    run.output = sub_outputs[0]
                    var[run.output] = run.var
                    continue
                chain = rel[-1] == "0" and len(args) == 1 and len(sub_outputs) == 1
                local = _fresh("_".join(rel[:-1] if chain and rel[:-1] else rel), used)
                if len(sub_outputs) == 1:
                    var[sub_outputs[0]] = local
                    line = f"{local} = {target}({', '.join(args)})"
                    if chain:
                        run = _Run(tuple(rel[:-1]), "self" + "".join(
                            f"[{p}]" if p.isdigit() else f".{p}" for p in rel[:-1]), local, args[0], sub_outputs[0])
                        run.lines.append(line)
                        body.append(run)
                        body_owner.append(rel[0])
                        continue
                    body.append(line)
                    body_owner.append(rel[0])
                else:
                    names = []
                    for o in sub_outputs:
                        v = _fresh(local + "_" + o[len(item.name) + 1:].replace(".", "_"), used)
                        var[o] = v
                        names.append(v)
                    body.append(f"{', '.join(names)} = {target}({', '.join(args)})")
                    body_owner.append(rel[0])
                run = None
                continue
            run = None
            local = _fresh("_".join(rel), used)
            node, report = item, self.reports[item.name]
            op = OPS[node.op]
            ctx = TorchContext(report, [self._var(var, i, node) for i in node.inputs],
                               [self.shapes[i] for i in node.inputs], target,
                               activation_after(node, self.consumers, self.graph.node), self.helpers)
            rule = getattr(op, "torch", None)
            try:
                if rule is None:
                    raise NotImplementedError
                expr = rule(node.params, ctx)
            except NotImplementedError:
                raise BuildError(f"{node.name}: op '{node.op}' has no PyTorch rule yet (netc.to_torch and "
                                 "netc torch cannot write it)", node.span, node.name) from None
            if ctx.constructor is not None:
                init.append((rel, ctx.constructor))
                init_after.extend(ctx.init_lines)
                after_owner.extend(rel[0] for _ in ctx.init_lines)
            self.entries.extend(ctx.entries)
            if expr in var.values() and expr not in params:   # a pass-through layer
                var[node.name] = expr
            elif expr in params:
                var[node.name] = expr
            else:
                var[node.name] = local
                body.append(f"{local} = {expr}")
                body_owner.append(rel[0])
        lines: list[str] = []
        line_owner: list[str] = []
        for b, owner in zip(body, body_owner):
            if not isinstance(b, _Run):
                lines.append(b)
            elif b.count == lists[b.path]:     # every instance of the list, in a chain (one or more)
                loop = _fresh("block", used)
                lines += [f"{b.var} = {b.arg}", f"for {loop} in {b.target}:", f"    {b.var} = {loop}({b.var})"]
            else:
                lines += b.lines
            line_owner += [owner] * (len(lines) - len(line_owner))
        returns = [self._var(var, o, None) for o in outputs]
        scope.parts = (params, init, init_after, lines, returns)
        scope.meta = (after_owner, line_owner, var)

    def scope_text(self, scope: _Scope) -> str:
        """The class text of ``scope`` (name CLASSNAME, no constructor arguments), its inner
        scopes' calls written."""
        params, init, init_after, body, returns = scope.parts
        init = [(rel, c.call if isinstance(c, _Scope) else c) for rel, c in init]
        return self._class_text(scope, params, init, init_after, body, returns)

    def write_classes(self, root: _Scope) -> str:
        """Choose the classes: the instances of each block (a block's once every block inside
        it is done) share one class, its constructor taking the values that differ between
        them, where each is a block parameter (or the input's channels) or a simple function
        of one; instances whose forward or layers differ otherwise get a class each."""
        by_block: dict[str, list[_Scope]] = {}

        def walk(scope):
            for item in scope.items:
                if isinstance(item, _Scope):
                    by_block.setdefault(item.block, []).append(item)
                    walk(item)
        walk(root)
        done: set[int] = set()
        pending = list(by_block)
        while pending:
            for block in pending:
                ready = all(id(c) in done for inst in by_block[block] for c in inst.items if isinstance(c, _Scope))
                if ready:
                    break
            else:  # pragma: no cover - blocks do not nest in themselves
                raise BuildError("internal error: the blocks' classes nest in a circle")
            pending.remove(block)
            self.block_classes(block, by_block[block])
            done.update(id(inst) for inst in by_block[block])
        return self.add_class(self.scope_text(root), class_name(self.graph.name))

    def block_classes(self, block: str, instances: list[_Scope]) -> None:
        texts = [self.scope_text(inst) for inst in instances]
        if len({_skeleton(t, _numbers(t)) for t in texts}) > 1:
            if self.merge_ifs(block, instances):
                return
            texts = _conv_defaults(texts)
        groups: dict[str, list[int]] = {}
        tokens = []
        for i, text in enumerate(texts):
            toks = _numbers(text)
            tokens.append(toks)
            skeleton = _skeleton(text, toks)
            groups.setdefault(skeleton, []).append(i)
        base = class_name(block or "block")
        for members in groups.values():
            written = self.parametrized([instances[i] for i in members], [texts[i] for i in members],
                                        [tokens[i] for i in members], base)
            if written:
                continue
            for i in members:                       # no arguments: one class per distinct text
                instances[i].call = self.add_class(texts[i], base) + "()"

    # -- instances that differ by `if:` layers: one class, the conditions as arguments --
    def if_layers(self, block: str) -> dict[str, tuple[str, dict]]:
        """The layers of ``block`` written with an ``if:`` expression: local name ->
        (condition text, settings)."""
        data = getattr(self.net.source, "data", None) if self.net.source is not None else None
        definition = (data or {}).get("blocks", {}).get(block) if isinstance(data, dict) else None
        if not isinstance(definition, dict) or not isinstance(definition.get("layers"), list):
            return {}
        entries = []
        for item in definition["layers"]:
            if isinstance(item, str):
                entries.append((item, {}, item.startswith("$")))
            elif isinstance(item, dict) and len(item) == 1:
                (key, args), = item.items()
                entries.append((str(key), dict(args or {}) if isinstance(args, dict) else {}, str(key).startswith("$")))
            else:
                return {}
        _, locals_ = _local_names(entries)
        return {local: (args["if"], args) for (_, args, _), local in zip(entries, locals_)
                if isinstance(args.get("if"), str)}

    def _records(self, scope: _Scope) -> tuple[list, list]:
        """The lines of the class of ``scope`` as (owner, text): its constructors and init
        lines, its forward lines; the owner is the item's first name part."""
        _, init, init_after, body, _ = scope.parts
        after_owner, body_owner, _ = scope.meta
        ctors = _constructors([(rel, c.call if isinstance(c, _Scope) else c) for rel, c in init])
        init_recs = [(re.match(r"self\.(\w+)", line)[1], line) for line in ctors]
        return init_recs + list(zip(after_owner, init_after)), list(zip(body_owner, body))

    def merge_ifs(self, block: str, instances: list[_Scope]) -> bool:
        """One class for instances that differ by layers written with ``if:`` (present in
        some, left out in others): the constructor decides each condition as the file
        states it (``self.use_expand = t != 1``) and builds the layer where it holds; the
        forward runs it where it was built and passes its input on where not (as the
        netc layer left out does). False (a class per structure) where a condition is no
        Python expression of the constructor's arguments, gives another answer than the
        file's on an instance, or the instances differ otherwise."""
        spec = self.if_layers(block)
        if not spec:
            return False
        prefix = [inst.name + "." for inst in instances]
        present = [{layer for layer in spec if any(n.name.startswith(p + layer + ".") or n.name == p + layer
                                                   for n in inst.nodes)} for inst, p in zip(instances, prefix)]
        varying = [layer for layer in spec if len({layer in p for p in present}) > 1]
        if not varying:
            return False
        full = next((i for i, p in enumerate(present) if all(q <= p for q in present)), None)
        if full is None:
            return False
        top = instances[full]
        _, _, var = top.meta
        items: dict[tuple, object] = {tuple(it.name[len(top.name) + 1:].split(".")): it for it in top.items}
        inputs_of = [_scope_io(inst, self.graph, self.consumers)[0] for inst in instances]
        if any(len(i) != len(inputs_of[0]) for i in inputs_of):
            return False
        f_init, f_body = self._records(top)
        f_params, f_returns = top.parts[0], top.parts[4]
        owners = {o for o, _ in f_init} | {o for o, _ in f_body}
        layer_var, pass_var = {}, {}
        for layer in varying:
            item = items.get((layer,))
            if item is None or any(k[0] == layer and len(k) > 1 for k in items) or f"use_{layer}" in owners \
                    or f"use_{layer}" in MODULE_ATTRIBUTES:
                return False
            if isinstance(item, _Scope):
                ins, outs = _scope_io(item, self.graph, self.consumers)
                if len(ins) != 1 or len(outs) != 1:
                    return False
                source, out = ins[0], outs[0]
            else:
                if len(item.inputs) != 1 and "from" not in spec[layer][1]:
                    return False
                source, out = item.inputs[0], item.name
            if sum(o == layer for o, _ in f_body) > 1 or source not in var or out not in var:
                return False
            layer_var[layer], pass_var[layer] = var[out], var[source]
        # the conditions, over the block's parameters and its input's channels
        values: list[dict] = []
        for inst, ins in zip(instances, inputs_of):
            v = dict(self.graph.instance_params.get(inst.name, {}))
            if "in_channels" not in v and ins and self.shapes.get(ins[0]):
                v["in_channels"] = self.shapes[ins[0]][0]
            values.append(v)
        keys = [k for k in values[0] if all(k in v for v in values)]
        usable = [k for k in keys if k.isidentifier() and not keyword.iskeyword(k) and k not in RESERVED
                  and k != "block" and all(isinstance(v[k], (int, float)) for v in values)]
        names = {k: k for k in usable}
        block_inputs = (self.net.source.data.get("blocks", {}).get(block, {}).get("inputs") or ["input"])
        if "in_channels" in usable and len(inputs_of[0]) == 1 and "in_channels" not in \
                self.graph.instance_params.get(top.name, {}):
            names[f"{block_inputs[0]}.channels"] = "in_channels"
        bools = frozenset(k for k in usable if isinstance(values[0][k], bool))
        conditions = {}
        for layer in varying:
            text = spec[layer][0]
            local_names = dict(names)
            item = items[(layer,)]
            first = _scope_io(item, self.graph, self.consumers)[0] if isinstance(item, _Scope) else item.inputs
            if f"{block_inputs[0]}.channels" in names and first == inputs_of[full][:1]:
                local_names["in.channels"] = "in_channels"
            py = to_python(text, local_names, bools)
            if py is None:
                return False
            for v, p in zip(values, present):
                scope = {k: v[k] for k in usable}
                scope.update({k: v["in_channels"] for k, t in local_names.items() if t == "in_channels"})
                try:
                    if evaluate(text, scope) is not (layer in p):
                        return False
                except ExprError:
                    return False
            conditions[layer] = py
        # each instance's lines: the full instance's, less its missing layers, their values
        # read as what those layers stand for
        merged = [text for _, text in f_init] + [text for _, text in f_body]
        owner = [o for o, _ in f_init] + [o for o, _ in f_body]
        forward_from = len(f_init)
        aligned: list[list] = [[None] * len(instances) for _ in merged]
        for i, inst in enumerate(instances):
            missing = [layer for layer in varying if layer not in present[i]]
            rename: dict[str, str] = {}
            for layer in varying:
                if layer in missing:
                    rename[layer_var[layer]] = rename.get(pass_var[layer], pass_var[layer])
            init_i, body_i = self._records(inst)
            mine = init_i + body_i
            keep = [j for j in range(len(merged)) if owner[j] not in missing]
            if len(keep) != len(mine) or inst.parts[0] != f_params or \
                    [rename.get(r, r) for r in f_returns] != inst.parts[4]:
                return False
            for j, (o, text) in zip(keep, mine):
                want = _rename(merged[j], rename) if j >= forward_from else merged[j]
                if o != owner[j] or want is None:
                    return False
                aligned[j][i] = (text, want)
        lines_out: list[str] = []
        args_used: set[str] = set()
        candidates = {k: [v[k] for v in values] for k in usable if k not in bools}
        for j, row in enumerate(aligned):
            both = _conv_defaults_row([r[0] if r else None for r in row] + [r[1] if r else None for r in row])
            texts, wants = both[:len(row)], both[len(row):]
            known = [i for i, t in enumerate(texts) if t is not None]
            toks = {i: _numbers(texts[i]) for i in known}
            if any(_skeleton(texts[i], toks[i]) != _skeleton(wants[i], _numbers(wants[i])) for i in known):
                return False
            line = wants[full]
            base = toks[full]
            varying_at = [t for t in range(len(base)) if len({toks[i][t][2] for i in known}) > 1]
            if varying_at and j >= forward_from:
                return False
            sub = [instances[i] for i in known]
            cands = {k: [vals[i] for i in known] for k, vals in candidates.items()}
            for t in sorted(varying_at, reverse=True):
                vec = [_literal(toks[i][t][2]) for i in known]
                e = _expression(vec, cands, len(known) < len(instances)) or \
                    self._fan(line + "\n", base[t][0], vec, sub)
                if e is None:
                    return False
                expr, compound = e
                start, end, _ = base[t]
                before, after = line[:start].rstrip()[-2:], line[end:].lstrip()[:2]
                if compound and (before[-1:] in "*/%-" or after == "**"):
                    expr = f"({expr})"
                line = line[:start] + expr + line[end:]
                args_used.update(k for k in cands if re.search(rf"\b{k}\b", expr))
            lines_out.append(line)
        for py in conditions.values():
            args_used.update(k for k in usable if re.search(rf"\b{re.escape(names.get(k, k))}\b", py))
            if "in_channels" in py:
                args_used.add("in_channels")
        used_args = [k for k in usable if k in args_used]
        # the class text
        doc = f"block '{block}'"
        text = ["class CLASSNAME(nn.Module):", f'    """{_doc(doc)}."""', "",
                f"    def __init__(self, {', '.join(used_args)}):", "        super().__init__()"]
        text += [f"        self.use_{layer} = {conditions[layer]}" for layer in varying]
        at = None
        for j in range(forward_from):
            o = owner[j]
            if o in varying:
                if at != o:
                    text.append(f"        if self.use_{o}:")
                text.append("            " + lines_out[j])
            else:
                text.append("        " + lines_out[j])
            at = o if o in varying else None
        text += ["", f"    def forward(self, {', '.join(f_params)}):"]
        for j in range(forward_from, len(merged)):
            o, line = owner[j], lines_out[j]
            if o in varying:
                m = re.fullmatch(r"(\w+) = (.+)", line)
                if m is None or m[1] != layer_var[o]:
                    return False
                expr = f"({m[2]})" if re.search(r"\b(if|lambda)\b", m[2]) else m[2]
                line = f"{m[1]} = {expr} if self.use_{o} else {pass_var[o]}"
            text.append("        " + line)
        text.append(f"        return {f_returns[0] if len(f_returns) == 1 else ', '.join(f_returns)}")
        cls = self.add_class("\n".join(text) + "\n", class_name(block or "block"))
        for i, inst in enumerate(instances):
            inst.call = f"{cls}({', '.join(f'{k}={code(values[i][k])}' for k in used_args)})"
        return True

    def parametrized(self, instances, texts, tokens, base) -> bool:
        """One class with constructor arguments for ``instances`` (same skeleton); False
        where a value that differs is no function of their parameters, or is read by forward."""
        varying = [j for j in range(len(tokens[0])) if len({t[j][2] for t in tokens}) > 1]
        if not varying:
            call = self.add_class(texts[0], base) + "()"
            for inst in instances:
                inst.call = call
            return True
        forward_at = texts[0].index("    def forward(")
        names: dict[str, list] = {}
        for inst in instances:
            values = dict(self.graph.instance_params.get(inst.name, {}))
            inputs, _ = _scope_io(inst, self.graph, self.consumers)
            if "in_channels" not in values and inputs and self.shapes.get(inputs[0]):
                values["in_channels"] = self.shapes[inputs[0]][0]
            for k, v in values.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not k.isidentifier() \
                        or keyword.iskeyword(k) or k in RESERVED or k in ("self", "block"):
                    names[k] = None
                else:
                    names.setdefault(k, []).append(v)
        candidates = {k: v for k, v in names.items() if v is not None and len(v) == len(instances)}
        exprs = {}
        for j in varying:
            vec = [_literal(t[j][2]) for t in tokens]
            e = _expression(vec, candidates) or self._fan(texts[0], tokens[0][j][0], vec, instances)
            if e is None:
                return False
            exprs[j] = e
        used_args = [k for k in candidates if any(re.search(rf"\b{k}\b", e[0]) for e in exprs.values())]
        # a number forward reads (a slice's start) is the argument kept as an attribute
        kept = sorted({k for j in varying if tokens[0][j][0] > forward_at for k in used_args
                       if re.search(rf"\b{k}\b", exprs[j][0])})
        if any(re.search(rf"self\.{k}\b", texts[0]) for k in kept):
            return False                    # the name is a submodule's
        text = texts[0]
        for j in sorted(varying, reverse=True):
            start, end, _ = tokens[0][j]
            expr, compound = exprs[j]
            if start > forward_at:
                expr = re.sub(rf"\b({'|'.join(kept)})\b", r"self.\1", expr)
            before, after = text[:start].rstrip()[-2:], text[end:].lstrip()[:2]
            if compound and (before[-1:] in "*/%-" or after == "**"):
                expr = f"({expr})"
            text = text[:start] + expr + text[end:]
        text = text.replace("    def __init__(self):", f"    def __init__(self, {', '.join(used_args)}):", 1)
        if kept:
            text = text.replace("        super().__init__()\n", "        super().__init__()\n"
                                + "".join(f"        self.{k} = {k}\n" for k in kept), 1)
        cls = self.add_class(text, base)
        for i, inst in enumerate(instances):
            inst.call = f"{cls}({', '.join(f'{k}={code(candidates[k][i])}' for k in used_args)})"
        return True

    def _fan(self, text: str, at: int, vec: list, instances) -> tuple[str, bool] | None:
        """A fan of an nn.init line (``std=(2 / 576) ** 0.5``) read from the weight's shape
        where no argument gives it: ``self.conv.weight[0].numel()`` (fan in: the weight's
        elements per filter), ``self.conv.weight[:, 0].numel()`` (fan out)."""
        line = text[text.rfind("\n", 0, at) + 1:text.find("\n", at)]
        m = re.match(r"\s*nn\.init\.\w+\((self\.[\w.\[\]]+), ", line)
        if not m or not m[1].endswith(".weight"):
            return None
        rel = re.sub(r"\[(\d+)\]", r".\1", m[1][len("self."):])
        if not hasattr(self, "_entries_by_key"):
            self._entries_by_key = {e.key: e for e in self.entries}
        forms = {"in", "out"}          # what every instance's value can be (both where fans agree)
        for v, inst in zip(vec, instances):
            e = self._entries_by_key.get(f"{inst.name}.{rel}")
            if e is None or len(e.shape) < 2:
                return None
            taps = 1
            for d in e.shape[2:]:
                taps *= d
            fan_in, fan_out = e.shape[1] * taps, e.shape[0] * taps
            forms &= {form for form, fan, given in (("in", fan_in, e.fan_in), ("out", fan_out, e.fan_out))
                      if v == fan == given}
        if "in" in forms:
            return f"{m[1]}[0].numel()", False
        if "out" in forms:
            return f"{m[1]}[:, 0].numel()", False
        return None

    def add_class(self, text: str, base: str) -> str:
        """Register class ``text`` (CLASSNAME for its name) once; return its name."""
        if text in self.classes:
            return self.classes[text]
        cls, i = base, 1
        while cls in self.taken_classes:
            i += 1
            cls = f"{base}{i}"
        self.taken_classes.add(cls)
        self.classes[text] = cls
        self.class_order.append((text, cls))
        return cls

    def _var(self, var: dict, name: str, where) -> str:
        if name not in var:  # pragma: no cover - a layer reads a value written after it
            raise BuildError(f"internal error: {name} is not computed before "
                             f"{getattr(where, 'name', 'the output')} in its block's forward")
        return var[name]

    def _class_text(self, scope, params, init, init_after, body, returns) -> str:
        doc = (f"block '{scope.block}'" if scope.name else f"the network {self.graph.name!r}")
        lines = [f"class CLASSNAME(nn.Module):", f'    """{_doc(doc)}."""', "",
                 "    def __init__(self):", "        super().__init__()"]
        lines += ["        " + line for line in _constructors(init)]
        lines += ["        " + line for line in init_after]
        lines += ["", f"    def forward(self, {', '.join(params)}):"]
        lines += ["        " + line for line in body]
        ret = returns[0] if len(returns) == 1 else ", ".join(returns)
        lines.append(f"        return {ret}")
        return "\n".join(lines) + "\n"


def _constructors(init: list[tuple[list[str], str]]) -> list[str]:
    """Assignments that build the modules at their paths: ``self.conv1 = nn.Conv2d(...)``;
    a name with numbered parts (``layer1.0``, ``layer1.1``) an ``nn.ModuleList``, other
    containers a plain ``nn.Module``."""
    tree: dict = {}
    for rel, ctor in init:
        node = tree
        for part in rel[:-1]:
            node = node.setdefault(part, {})
        node[rel[-1]] = ctor
    lines: list[str] = []

    def emit(target: str, node) -> None:
        for key, sub in node.items():
            if isinstance(sub, str):
                lines.append(f"{target}.{key} = {sub}")
            elif _numbered(sub) and all(isinstance(v, str) for v in sub.values()):
                ctors = list(sub.values())
                if len(set(ctors)) == 1:
                    lines.append(f"{target}.{key} = nn.ModuleList({ctors[0]} for _ in range({len(ctors)}))")
                else:
                    lines.append(f"{target}.{key} = nn.ModuleList([{', '.join(ctors)}])")
            elif _numbered(sub):
                lines.append(f"{target}.{key} = nn.ModuleList(nn.Module() for _ in range({len(sub)}))")
                for i, child in sub.items():
                    if isinstance(child, str):  # pragma: no cover - mixed lists do not occur
                        lines.append(f"{target}.{key}[{i}] = {child}")
                    else:
                        emit(f"{target}.{key}[{i}]", child)
            else:
                lines.append(f"{target}.{key} = nn.Module()")
                emit(f"{target}.{key}", sub)

    emit("self", tree)
    return lines


def _numbered(node: dict) -> bool:
    return all(k.isdigit() for k in node) and sorted(map(int, node)) == list(range(len(node)))


def _fresh(name: str, used: set[str]) -> str:
    if keyword.iskeyword(name) or not name.isidentifier():
        name = "v_" + name
    out, i = name, 1
    while out in used:
        i += 1
        out = f"{name}_{i}"
    used.add(out)
    return out


def _use_name(lines: list[str], span) -> str:
    """The block name written at a block use (``- stage: {...}``), from the file's text."""
    if span is None or not span.line or span.line > len(lines):
        return "block"
    line = lines[span.line - 1]
    text = line[span.col - 1:(span.end_col - 1) if span.end_line == span.line and span.end_col else None]
    m = re.match(r"\$?([A-Za-z_][A-Za-z0-9_]*)", text)
    return m.group(1) if m else "block"


def _doc(text: str) -> str:
    """Text safe inside a triple-quoted docstring: printable ASCII, no quotes or backslashes."""
    return "".join(c if c.isprintable() and c.isascii() and c not in '"\\' else "?" for c in text)
