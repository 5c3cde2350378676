"""Read an ONNX model into netc's graph, through each op's own ``read``.

    graph = read_onnx("model.onnx")     # a netc Graph; netc.load("model.onnx") analyzes it

The model is loaded without its weights' bytes (external data unread, inline
weights skipped by netc/onnx/skeleton.py): only shapes matter, and an
initializer's ``dims`` give a weight's shape. Nodes
are walked in their (topological) order:

- a node none of whose inputs is computed from the network input (Constant,
  Shape of a weight, ...) is a *value*, evaluated only when a reader asks;
  Shape of a feature map is a value too (``[N, C, H, W]``);
- Identity passes its input through, and so do a Concat of one input (densenet121's
  TorchScript export), a Cast to bool read only as Where's condition, and an Unsqueeze or Reshape of a
  vector to (N, C, 1, 1) read only by ops with ``vector_as_map`` (add, mul);
- a stack and a sum on the batch axis (Unsqueeze 0 of each map -> Concat 0 -> ReduceSum 0
  without keepdims: smp's FPN merge) is one add of the maps; a Reshape to [-1] read only
  by a Gather of every flat index in order (torch dynamo's as_strided of a map's own
  sizes and strides) passes the map through;
- any other node goes to the ops whose ``onnx_types`` name its type (``READERS``;
  those with ``onnx_pattern`` first, and the first whose ``read`` accepts the node
  wins); ``Op.read`` gives its parameters, then ``Op.absorb`` may fold the first
  reader of the layer's result into the same layer (Conv -> Relu: conv with
  ``activation: relu``; GlobalAveragePool -> Flatten; MatMul -> Add of a bias:
  dense). Either may ``ctx.take`` later nodes of its pattern; the layer's result
  is its last node's output, and no other result of its nodes may be used outside
  it. An op with ``per_output`` reads a node of several outputs (Split) as one
  layer per used output;
- a Reshape to a target holding the batch times k (computed from Shape: MobileViT's
  (B·C·n_h, ...) patches), or a Transpose that moves the batch, *folds* the batch into
  an axis (``ctx.folded``): each sample is a tensor of its own, k at that axis; the ops
  in ``FOLD_OPS`` read it with their axes shifted (``_folded_node``) until a Reshape puts
  the batch first again; anything else on it is a blocker, saying so;
- a Transpose (0, 2, 3, 1) of a map that no op reads opens a *channels-last
  region* (torchvision's ConvNeXt: LayerNorm and Linear on (N, H, W, C)): its
  output is the same map, held channels-last (``ctx.channels_last``), until a
  Transpose (0, 3, 1, 2) closes it. Inside, only ops with ``channels_last`` read
  nodes, told the layout by ``ctx.layout`` (layernorm over the last axis, conv
  kernel 1 from MatMul, scale, activations); their results stay channels-last.

Every node that no op reads with its inputs known, or whose op type no reader takes
(``KNOWN_TYPES``), is a blocker; if there is any, one error at the first blocker lists
the blocking op types (the first ``UNREAD_TYPES_SHOWN``) with their counts and first
nodes, and counts the nodes after them of types netc reads as not reached; those nodes
are left out of every count (never counted as zero), and a partial read's totals are
lower bounds.
Each layer's span names the file and its first node: ``model.onnx: node 'conv1'
(Conv #3)``, #3 being its index in ``graph.node``; a ``FILE:LINE`` doc string
(netc's own builds), or the stack trace a torch dynamo export writes in the node's
metadata, becomes the node's ``origin`` (netc/onnx/provenance.py).
"""

from __future__ import annotations

import os

from ..diagnostics import (IO, LIMIT, NOT_ONNX, SHAPE, TEXT, UNSUPPORTED, Diagnostic, MissingExtra, NetcError,
                           Severity, Span, error)
from ..graph import UNREAD_TYPES_SHOWN, Graph, Node
from ..ops import OPS
from ..ops.axes import MAX_RANK
from ..ops.registry import MAX_CHANNELS, MAX_SPATIAL, NotAMap, Op, fmt_shape, numel
from ..ops.window import ShapeError
from . import provenance
from .reading import (BATCH, CHANNELS_FIRST, CHANNELS_LAST, ELEMENTWISE, MAX_CHAIN, READERS, ReadingContext,
                      Scaled, Unsupported, ValueLimit, batch_coef, batch_times)


FIRST_NAMES = 3          # node names shown per unsupported op type
MAX_STRIDED = 1 << 20    # elements of an as_strided's index tensor netc checks (per sample)
MAX_REPARSE = 1 << 30    # bytes of a file parsed whole again for an as_strided's indices
# Op types some reader takes when it knows the node's inputs: those an op reads, the
# elementwise ones activation patterns take (GELU's Erf), those an op's absorb takes
# (``Op.onnx_takes``), and those the reader passes through or evaluates itself. A node
# of one of these types after an unread node is "not reached", not a blocker.
# op types read on a tensor whose batch is folded into one axis (``_folded_node``), besides Reshape
FOLD_OPS = frozenset({*ELEMENTWISE, "Transpose", "Squeeze", "Unsqueeze", "MatMul", "Softmax", "LogSoftmax",
                      "LayerNormalization", "Split", "Slice", "Concat", "Gather", "Where", "Max", "Min", "Abs",
                      "Gelu", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2"})
KNOWN_TYPES = frozenset({*READERS, *ELEMENTWISE, *(t for op in OPS.values() for t in op.onnx_takes),
                         "Identity", "Shape", "Constant", "Unsqueeze", "Reshape", "Transpose", "Concat"})


def load_model(path: str):
    """Parse ``path`` as an ``onnx.ModelProto`` without its weights' bytes (external data
    unread, inline weights skipped: netc/onnx/skeleton.py); E010 when it is not one."""
    try:
        import numpy  # noqa: F401  (onnx.numpy_helper reads constants)
        import onnx
        from google.protobuf.message import DecodeError
    except ImportError as e:
        raise MissingExtra(f"{path}: reading ONNX models needs the 'onnx' extra ({e.name} is not "
                           "installed): pip install 'netc[onnx]'") from None

    from .skeleton import DIRECT_BYTES, TooManyFields, skeleton, trim

    try:
        if os.path.getsize(path) <= DIRECT_BYTES:     # parsed whole in C, then trimmed alike
            with open(path, "rb") as f:
                model = onnx.ModelProto.FromString(f.read())
            trim(model)
        else:
            model = onnx.ModelProto.FromString(skeleton(path))
    except (DecodeError, ValueError, RuntimeError) as e:
        raise error("not a netc file nor an ONNX model: binary content that does not parse as an "
                    "ONNX ModelProto", Span(path, 0, 0), NOT_ONNX) from None
    except TooManyFields as e:
        raise error(f"too large to read: {e}", Span(path, 0, 0), LIMIT) from None
    except OSError as e:
        raise error(f"cannot read file: {e.strerror or e}", Span(path, 0, 0), IO) from None
    if not model.ir_version or not model.HasField("graph") or not (model.graph.node or model.graph.input):
        raise error("not a netc file nor an ONNX model: binary content with no IR version or graph",
                    Span(path, 0, 0), NOT_ONNX)
    return model


def read_onnx(path, partial: bool = False) -> Graph:
    """Read an ONNX model file into a netc Graph (``graph.source`` names the file); raise
    NetcError on failure. ``netc.load`` analyzes it into a Network.

    ``partial``: a model with nodes no op reads gives the graph of the layers that
    can be read (those before them, and on other branches), with the E011 diagnostic
    in ``graph.unread``, instead of raising it."""
    from ..source import Source

    path = os.fspath(path)
    graph = read_graph(load_model(path), path, partial)
    graph.source = Source(path, "", None)
    return graph


def read_graph(model, path: str, partial: bool = False) -> Graph:
    """Map ``model`` (an ``onnx.ModelProto``) to a netc Graph; ``path`` names it in messages."""
    return _Reader(model, path).read(partial)


def _text(msg, fields: tuple[str, ...], found: list) -> None:
    """Decode the ``fields`` of protobuf message ``msg`` that hold invalid UTF-8 (protobuf
    hands them as ``bytes``), with ``\\x`` escapes for the bad bytes; each decoded field's
    text goes in ``found``."""
    for name in fields:
        v = getattr(msg, name)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "backslashreplace")
            setattr(msg, name, v)
            found.append(v)


def _texts(msgs, found: list) -> None:
    """Decode the items of repeated string fields (``node.input``) holding invalid UTF-8."""
    for i, v in enumerate(msgs):
        if isinstance(v, bytes):
            msgs[i] = v = v.decode("utf-8", "backslashreplace")
            found.append(v)


def decode_texts(model, path: str) -> Diagnostic | None:
    """Make every name, type and doc string of ``model`` that the reader reads a str: the
    one place where text that is not valid UTF-8 is decoded, its bad bytes as ``\\xff``
    (distinct bytes stay distinct names). A warning (E012) naming the first such place,
    or None when every text was valid."""
    g, places, first = model.graph, 0, None

    def note(where: Span, found: list) -> None:
        nonlocal places, first
        if found:
            places += len(found)
            first = first or (where, found[0])

    found: list = []
    _text(model, ("producer_name", "producer_version", "domain", "doc_string"), found)
    _text(g, ("name", "doc_string"), found)
    for p in (*model.metadata_props, *model.opset_import):
        _text(p, ("key", "value") if hasattr(p, "key") else ("domain",), found)
    note(Span(path, 0, 0, where=f"graph '{g.name}'"), found)
    for i, n in enumerate(g.node):
        if n.SerializeToString().isascii():
            continue                  # the common case, checked at C speed: ASCII is UTF-8
        found = []
        _text(n, ("name", "op_type", "domain", "doc_string"), found)
        _texts(n.input, found)
        _texts(n.output, found)
        for a in n.attribute:
            _text(a, ("name", "doc_string", "ref_attr_name"), found)
        for p in n.metadata_props:
            _text(p, ("key", "value"), found)
        if found:
            note(Span(path, 0, i + 1, where=f"node '{_node_name(n)}' ({n.op_type} #{i})"), found)
    for kind, items in (("initializer", g.initializer), ("input", g.input), ("output", g.output),
                        ("value_info", g.value_info)):
        for v in items:
            if v.SerializeToString().isascii():
                continue
            found = []
            _text(v, ("name", "doc_string"), found)
            if kind != "initializer":
                for d in v.type.tensor_type.shape.dim:
                    _text(d, ("dim_param", "denotation"), found)
            note(Span(path, 0, 0, where=f"{kind} '{v.name}'"), found)
    if not places:
        return None
    where, _ = first
    return Diagnostic(f"{places} name{'s' if places > 1 else ''} or doc string{'s' if places > 1 else ''} "
                      f"in the model {'are' if places > 1 else 'is'} not valid UTF-8, the first here; "
                      "netc shows their bad bytes as \\xNN escapes", where, TEXT, Severity.WARNING)


class _Reader:
    def __init__(self, model, path: str):
        self.model, self.path = model, path
        self.text_warning = decode_texts(model, path)
        self.g = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.graph_nodes = list(self.g.node)   # one Python object per node, so ids are stable
        self.index = {id(n): i for i, n in enumerate(self.graph_nodes)}
        self.nodes: list[Node] = []
        self.tensor_of: dict[str, str] = {}     # feature tensor -> netc layer (or input) name
        self.names: set[str] = set()
        self.suffix: dict[str, int] = {}
        self.unsupported: dict[str, list[tuple[str, str, int]]] = {}   # op type -> [(node, reason, index)]
        self.unknown: set[str] = set()          # tensors downstream of an unsupported node
        self.absorbed: set[int] = set()
        self.skipped = 0                        # nodes after an unsupported one, of types netc reads
        self._kinds = None                      # _unread_kinds, once the reading is done
        self.stacked: set[str] = set()          # maps Unsqueezed on the batch axis for a stack-and-sum
        self.flat: set[str] = set()             # maps flattened whole for an as_strided that is the map

    def span(self, node) -> Span:
        i = self.index[id(node)]
        return Span(self.path, 0, i + 1, where=f"node '{_node_name(node)}' ({node.op_type} #{i})")

    def read(self, partial: bool = False) -> Graph:
        if not self.g.output:
            raise error("the model has no graph outputs: nothing it computes is a result (netc reads "
                        "networks with at least one output)", Span(self.path, 0, 0, where="graph outputs"),
                        UNSUPPORTED)
        inp, shape, batch = self._input()
        ctx = self.ctx = ReadingContext(self.g, self.graph_nodes, self.opset, batch)
        ctx.shapes[inp.name] = shape
        self.tensor_of[inp.name] = inp.name
        self.names.add(inp.name)
        for node in self.graph_nodes:
            if id(node) not in self.absorbed:
                try:
                    self._node(node)
                except ValueLimit as e:
                    raise error(str(e), self.span(e.node), LIMIT) from None
        unread = self._unsupported_error()
        if unread is not None and not partial:
            raise unread
        outputs = []
        for o in self.g.output:
            if unread is not None and o.name in self.unknown:
                continue
            if o.name in ctx.channels_last:
                raise error(f"graph output {o.name!r} is channels-last (N, H, W, C): netc reads "
                            "channels-last regions closed by a Transpose (0, 3, 1, 2)",
                            Span(self.path, 0, 0, where=f"output '{o.name}'"), UNSUPPORTED)
            if o.name in ctx.folded:
                raise error(f"graph output {o.name!r} has the batch folded into axis {ctx.folded[o.name]} "
                            "(a Transpose or Reshape moves the batch there): netc reads networks whose "
                            "outputs keep the batch first", Span(self.path, 0, 0, where=f"output '{o.name}'"),
                            UNSUPPORTED)
            if self.tensor_of.get(o.name, inp.name) == inp.name:
                raise error(f"graph output {o.name!r} is not computed from the input by layers netc "
                            "reads", Span(self.path, 0, 0, where=f"output '{o.name}'"), UNSUPPORTED)
            outputs.append(self.tensor_of[o.name])
        name = self.g.name or os.path.splitext(os.path.basename(self.path))[0]
        graph = Graph(name, inp.name, shape, Span(self.path, 0, 0, where=f"input '{inp.name}'"),
                      self.nodes, outputs)
        graph.unread = unread.diagnostics[0] if unread is not None else None
        graph.warnings = [self.text_warning] if self.text_warning else []
        if unread is not None:
            graph.unread_ops = {t: [n for n, _, _ in found] for t, found in self._unread_kinds()}
            graph.unread_after = self.skipped
        return graph

    # -- the input ---------------------------------------------------------------
    def _input(self):
        init = {t.name for t in self.g.initializer}
        inputs = [v for v in self.g.input if v.name not in init]
        where = Span(self.path, 0, 0, where="graph inputs")
        if len(inputs) != 1:
            raise error(f"the model has {len(inputs)} inputs ({', '.join(v.name for v in inputs)}); "
                        "netc reads networks with one input", where, UNSUPPORTED)
        v = inputs[0]
        where = Span(self.path, 0, 0, where=f"input '{v.name}'")
        tt = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in tt.shape.dim]
        if not tt.HasField("shape") or not 2 <= len(dims) <= 5:
            raise error(f"input '{v.name}' has shape [{', '.join(map(str, dims))}]: netc reads "
                        "(N, C) vectors and (N, C, L), (N, C, H, W) or (N, C, D, H, W) maps",
                        where, UNSUPPORTED)
        if not all(isinstance(d, int) and d > 0 for d in dims[1:]):
            raise error(f"input '{v.name}' has shape [{', '.join(map(str, dims))}]: every dimension "
                        "but the batch must be a fixed size", where, UNSUPPORTED)
        limits = [MAX_CHANNELS] + [MAX_SPATIAL] * (len(dims) - 2)
        for d, most in zip(dims[1:], limits):
            if d > most:
                raise error(f"input '{v.name}': dimension {d:,} is beyond netc's limit {most:,}",
                            where, LIMIT)
        batch = dims[0] if isinstance(dims[0], int) and dims[0] > 0 else BATCH
        self.elem_type = tt.elem_type
        return v, tuple(dims[1:]), batch

    # -- one node -------------------------------------------------------------------
    def _node(self, node) -> None:
        ctx = self.ctx
        ctx.current = self.index[id(node)]
        ins = [t for t in node.input if t]
        op_type = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        ops = READERS.get(op_type, [])
        if op_type == "Shape":
            return                                      # a value, evaluated on demand
        if not self.unknown.isdisjoint(ins):            # after an unsupported node
            self.unknown.update(node.output)
            if op_type in KNOWN_TYPES:
                self.skipped += 1                       # not reached: read with its inputs known
            else:
                self._unread(node, op_type, "")         # a blocker wherever it stood
            return
        shapes = ctx.shapes
        features = [t for t in ins if t in shapes]      # ctx.is_feature, inline: once a node
        if not features:
            return                                      # a value, evaluated on demand
        if op_type == "Concat" and len(ins) > 1 and all(t in self.stacked for t in ins):
            return self._stack_sum(node, ins)
        if ctx.folded and not ctx.folded.keys().isdisjoint(features):
            return self._folded_node(node, op_type, ops, features)
        if op_type == "Identity" or (op_type == "Concat" and len(ins) == 1) \
                or (op_type in ("Unsqueeze", "Reshape") and self._vector_as_map(node)) \
                or (op_type == "Unsqueeze" and self._stacks(node)) \
                or (op_type == "Reshape" and self._strided_identity(node)) \
                or (op_type == "Gather" and ins[0] in self.flat) \
                or (op_type == "Cast" and (self._condition(node) or self._same_type(node))):
            self.tensor_of[node.output[0]] = self.tensor_of[features[0]]
            ctx.shapes[node.output[0]] = ctx.shapes[features[0]]
            if features[0] in ctx.channels_last:
                ctx.channels_last.add(node.output[0])
            return
        if not ops and op_type not in KNOWN_TYPES:      # no reader takes it: a blocker, at once
            self._unread(node, op_type, "")
            self.unknown.update(node.output)
            return
        try:
            ctx.check_inputs(node)
            if len([o for o in node.output if o]) > 1 and any(op.per_output for op in ops):
                return self._per_output([op for op in ops if op.per_output], node, features)
            op, params, out, features = self._layer(ops, node, features)
        except (Unsupported, NotAMap) as e:         # NotAMap: an op for maps, given another tensor
            if op_type == "Transpose" and (self._relayout(node, features[0]) or
                                           self._batch_transpose(node, features[0])):
                return
            reason = str(e)
            if op_type == "Reshape" and ctx.batch == BATCH:
                try:                          # a target with the batch times k (MobileViT's patches)
                    if self._fold_reshape(node, features[0]):
                        return
                except Unsupported as folded:
                    reason = str(folded)
            self._unread(node, op_type, reason)
            self.unknown.update(node.output)
            return
        except ShapeError as e:
            raise self._shape_error(node, e, [ctx.shapes[t] for t in features]) from None
        self._add(node, op, params, out, features)

    def _add(self, node, op: Op, params: dict, out: str, features: list[str]) -> None:
        """The layer of ``op`` read from ``node`` (and the nodes it absorbed), its result ``out``."""
        name = _node_name(node)
        if name.startswith(out + "/"):       # netc's builds: node 'up/Resize' gives tensor 'up'
            name = out
        name = self._unique(name)
        self.nodes.append(Node(name, op.name, params, [self.tensor_of[t] for t in features],
                               self.span(node), **self._provenance(node)))
        self.tensor_of[out] = name

    # -- the batch folded into an axis (netc/onnx/reading.py ``folded``) -----------------
    def _fold_reshape(self, node, x: str) -> bool:
        """Reshape ``node`` of ``x`` to a target holding the batch times k at axis q, with
        only 1s before it (or, with no multiple of the batch, a -1 there): each sample's
        elements stay together, so the layer is a reshape of the sample to the target with k
        at q, its batch folded into axis q (``ctx.folded``); k = 1 at q = 0 is a tensor as any
        other (MobileViT's fold back to (N, C, H, W)). False when ``x`` is not folded and the
        target holds no multiple of the batch (the reshape read's reason stands); Unsupported
        when the target mixes the batch with other sizes."""
        ctx = self.ctx
        target = ctx.reshape_target(node)
        shape, p = ctx.shapes[x], ctx.folded.get(x)
        if target is None or (p is None and not any(isinstance(d, Scaled) for d in target)):
            return False
        if x in ctx.channels_last:
            raise Unsupported("a Reshape of a channels-last tensor that folds the batch")
        if p is None:
            dims = [BATCH, *shape]
        else:
            dims = list(shape)
            dims[p] = batch_times(shape[p])
        shown = "[" + ", ".join(map(str, target)) + "]"
        if any(d != 1 for d in dims[:p or 0]):
            raise Unsupported(f"Reshape of a tensor with the batch folded into axis {p} after sizes other "
                              f"than 1 ({fmt_shape(shape)}): its samples are not contiguous")
        copy = not ctx.attr(node, "allowzero", 0)
        out = [dims[i] if d == 0 and copy and i < len(dims) else d for i, d in enumerate(target)]
        syms = [i for i, d in enumerate(out) if isinstance(d, str)]
        if len(syms) > 1 or any(not isinstance(d, (int, str)) or isinstance(d, bool) or
                                (isinstance(d, int) and d < -1) for d in out) or out.count(-1) > 1 \
                or not out or len(out) > MAX_RANK + 1:
            raise Unsupported(f"Reshape to {shown} of {fmt_shape(shape)} with the batch folded: netc reads "
                              "targets with one multiple of the batch (or -1), only 1s before it")
        per = numel(shape)
        if syms:
            q = syms[0]
            k = batch_coef(out[q])
            if k is None or k < 1:
                raise Unsupported(f"Reshape to {shown}: {out[q]} is no positive multiple of the batch")
            out[q] = k
        elif -1 in out:
            q = out.index(-1)
        else:
            raise Unsupported(f"Reshape to {shown} of a tensor with the batch folded: a fixed size for "
                              "the batch")
        if -1 in out:
            known = numel([d for d in out if d != -1])
            if known < 1 or per % known:
                raise Unsupported(f"Reshape to {shown} of {fmt_shape(shape)} per sample: -1 is no whole size")
            out[out.index(-1)] = per // known
        if any(d != 1 for d in out[:q]) or 0 in out:
            raise Unsupported(f"Reshape to {shown}: the batch after sizes other than 1 (its samples are "
                              "not contiguous)")
        if numel(out) != per:
            raise Unsupported(f"Reshape to {shown} of {fmt_shape(shape)}: {numel(out):,} elements per sample "
                              f"against {per:,}")
        unfolded = q == 0 and out[0] == 1
        new = tuple(out[1:]) if unfolded else tuple(out)
        if not new:
            raise Unsupported(f"Reshape to {shown}: a scalar per sample")
        op = OPS["reshape"]
        params = self._complete(op, {"shape": new})
        res = node.output[0]
        ctx.shapes[res] = op.infer(params, [shape]).shape
        self._add(node, op, params, res, [x])
        if not unfolded:
            ctx.folded[res] = q
        return True

    def _batch_transpose(self, node, x: str) -> bool:
        """Transpose ``node`` that moves the batch of ``x`` (a timm attention's qkv permute
        (2, 0, 3, 1, 4)): each sample is ``x`` with a leading 1, the batch folded into it
        (k = 1), permuted; two layers, an unsqueeze and the permute, and the result has the
        batch folded into the axis it moved to (``ctx.folded``)."""
        ctx = self.ctx
        if ctx.batch != BATCH or x in ctx.channels_last or x in ctx.folded:
            return False
        shape = ctx.shapes[x]
        try:
            perm = ctx.attr(node, "perm")
        except Unsupported:
            return False
        if not isinstance(perm, list) or sorted(perm) != list(range(len(shape) + 1)) or perm[0] == 0 \
                or len(shape) + 1 > MAX_RANK:
            return False
        span, prov, name = self.span(node), self._provenance(node), _node_name(node)
        first = self._unique(f"{name}_sample")
        self.nodes.append(Node(first, "unsqueeze", self._complete(OPS["unsqueeze"], {"axes": (1,)}),
                               [self.tensor_of[x]], span, **prov))
        second = self._unique(name)
        self.nodes.append(Node(second, "permute", self._complete(OPS["permute"], {"dims": (0, *(q + 1 for q in perm))}),
                               [first], span, **prov))
        sample = (1, *shape)
        out = node.output[0]
        ctx.shapes[out] = tuple(sample[q] for q in perm)
        ctx.folded[out] = perm.index(0)
        self.tensor_of[out] = second
        return True

    def _folded_node(self, node, op_type: str, ops: list[Op], features: list[str]) -> None:
        """``node`` reading a tensor whose batch is folded into axis p (``ctx.folded``): a
        Reshape (``_fold_reshape``), or an op in ``FOLD_OPS`` that leaves axis p to the batch
        (its axes shifted by ``ctx.fold_axes``), its result folded at the axis p lands on;
        anything else is unread, saying why."""
        ctx = self.ctx
        try:
            p = ctx.fold_position(node)
            rank = len(ctx.shapes[features[0]])
            if any(t not in ctx.folded or len(ctx.shapes[t]) != rank for t in features):
                raise Unsupported(f"{op_type} of a tensor with the batch folded into axis {p} and a "
                                  "tensor without, or of another rank")
            if op_type in ("Identity", "Dropout") or (op_type == "Cast" and self._same_type(node)):
                self.tensor_of[node.output[0]] = self.tensor_of[features[0]]
                ctx.shapes[node.output[0]] = ctx.shapes[features[0]]
                ctx.folded[node.output[0]] = p
                return
            if op_type == "Reshape":
                if not self._fold_reshape(node, features[0]):
                    raise Unsupported("the target shape is not a constant")
                return
            if op_type not in FOLD_OPS:
                raise Unsupported(f"{op_type} of a tensor with the batch folded into axis {p} "
                                  f"({fmt_shape(ctx.shapes[features[0]])}, axis {p} {ctx.shapes[features[0]][p]}·N): "
                                  "netc reads Reshape, Transpose, Squeeze/Unsqueeze, MatMul, Softmax, "
                                  "LayerNormalization, reductions, Split, Slice, Concat and elementwise ops "
                                  "on the other axes of such a tensor")
            for t in dict.fromkeys(node.input):
                if t and not ctx.is_feature(t) and op_type not in ("Reshape", "Squeeze", "Unsqueeze", "Split",
                                                                    "Slice", "Gather", "Transpose") \
                        and not op_type.startswith("Reduce"):
                    c = ctx.static_shape(t)
                    if c is None and len(ctx.value(t) or ()) == 1:
                        c = ()                         # a scalar computed from a Shape (attention's scale)
                    at = None if c is None else p - (rank - len(c))
                    if c is None or (at is not None and at >= 0 and c[at] != 1):
                        raise Unsupported(f"a constant operand {t!r} of shape {list(c) if c else '?'} "
                                          f"against axis {p}, into which the batch is folded")
            ctx.check_inputs(node)
            q, want = self._fold_out(node, op_type, p, rank)
            if len([o for o in node.output if o]) > 1 and any(op.per_output for op in ops):
                self._per_output([op for op in ops if op.per_output], node, features)
                for o in node.output:
                    if o in ctx.shapes:
                        ctx.folded[o] = q
                return
            ctx.fold_result = q
            try:
                op, params, out, features = self._layer(ops, node, features)
            finally:
                ctx.fold_result = None
            if len(ctx.shapes[out]) != want:
                self.unknown.add(out)
                raise Unsupported(f"{op_type} of a tensor with the batch folded into axis {p}: a result "
                                  f"{fmt_shape(ctx.shapes[out])} of an unexpected rank")
        except (Unsupported, NotAMap) as e:
            self._unread(node, op_type, str(e))
            self.unknown.update(node.output)
            return
        except ShapeError as e:
            raise self._shape_error(node, e, [ctx.shapes[t] for t in features]) from None
        self._add(node, op, params, out, features)
        ctx.folded[out] = q
        if q == 0 and ctx.shapes[out][0] == 1:
            self._unfold_one(node, out)

    def _unfold_one(self, node, out: str) -> None:
        """``out``, folded into axis 0 with k = 1 (q of a qkv split, past its Squeeze), is a
        tensor as any other with a leading 1: a squeeze of it makes it one (free), so that it
        meets the tensors that never were folded (CoaT's convolutional position encoding)."""
        ctx = self.ctx
        name = self._unique(f"{_node_name(node)}_sample")
        self.nodes.append(Node(name, "squeeze", self._complete(OPS["squeeze"], {"axes": (1,)}),
                               [self.tensor_of[out]], self.span(node), **self._provenance(node)))
        self.tensor_of[out] = name
        ctx.shapes[out] = ctx.shapes[out][1:]
        del ctx.folded[out]

    def _fold_out(self, node, op_type: str, p: int, rank: int) -> tuple[int, int]:
        """The axis the folded batch lands on in ``node``'s result, and the result's rank."""
        ctx = self.ctx
        if op_type == "Transpose":
            perm = ctx.attr(node, "perm")
            if perm is None:
                return rank - 1 - p, rank
            raw = [d - 1 for d in perm[1:]]
            if sorted(raw) != list(range(rank)):
                raise Unsupported(f"Transpose perm {raw} of a tensor of {rank} axes")
            return raw.index(p), rank
        if op_type == "MatMul":
            if p >= rank - 2:
                raise Unsupported(f"MatMul of a tensor with the batch folded into one of its matrix axes ({p})")
            return p, rank
        if op_type in ("Squeeze", "Unsqueeze", "Gather") or (
                op_type.startswith("Reduce") and not ctx.attr(node, "keepdims", 1)):
            if op_type == "Gather":
                idx = ctx.static_shape(node.input[1]) if ctx.has_input(node, 1) else None
                if idx != ():
                    return p, rank - 1 + len(idx or (0,))
                axes = [ctx.attr(node, "axis", 0)]
            else:
                axes = ctx.axes(node)
            if axes is None or not all(type(a) is int for a in axes):
                raise Unsupported(f"{op_type} of a tensor with the batch folded: axes that are not constants")
            if op_type == "Unsqueeze":
                out_rank = rank + len(axes)
                new = {a - 1 if a > 0 else out_rank + a for a in axes}
                kept = [i for i in range(out_rank) if i not in new]
                if len(kept) != rank:
                    raise Unsupported(f"Unsqueeze axes {axes}")
                return kept[p], out_rank
            dropped = {a - 1 if a > 0 else rank + a for a in axes}
            return p - len([d for d in dropped if d < p]), rank - len(dropped)
        return p, rank

    def _per_output(self, ops: list[Op], node, features: list[str]) -> None:
        """A node of several outputs (Split) read as one layer per used output, named
        NODE_i; ``ctx.output_index`` tells ``read`` which."""
        ctx, layers = self.ctx, []
        try:
            for i, out in enumerate(node.output):
                if not out or not (ctx.users(out) or out in ctx.graph_outputs):
                    continue
                ctx.output_index = i
                reason = ""
                for op in ops:
                    try:
                        params = self._read(op, node, features)
                        break
                    except Unsupported as e:
                        reason = str(e) or reason
                else:
                    raise Unsupported(reason)
                layers.append((i, out, op, params, op.infer(params, [ctx.shapes[t] for t in features]).shape))
        finally:
            ctx.output_index = 0      # the index is this node's only: no later read sees it
        for i, out, op, params, shape in layers:
            ctx.shapes[out] = shape
            name = self._unique(f"{_node_name(node)}_{i}")
            self.nodes.append(Node(name, op.name, params, [self.tensor_of[t] for t in features],
                                   self.span(node), **self._provenance(node)))
            self.tensor_of[out] = name

    def _layer(self, ops: list[Op], node, features: list[str]):
        """The first of ``ops`` that reads ``node``, its parameters once it has absorbed
        the consumers it folds in, and the layer's result tensor.

        A read or absorb may also take later nodes of its pattern (``ctx.take``); the
        layer's result is the output of its last node, and every other result of its
        nodes must be used by its nodes only (else the pattern is not one layer)."""
        ctx = self.ctx
        extra = [t for t in node.output[1:] if t and (ctx.consumers.get(t) or t in ctx.graph_outputs)]
        if extra:
            raise Unsupported(f"its extra output {extra[0]!r} is used")
        reason = ""
        given = features
        for op in ops:
            ctx.taken = []
            # x * x is one input to a one-input op (the start of GELU's tanh form)
            features = list(dict.fromkeys(given)) if op.arity[1] == 1 else given
            try:
                params = self._read(op, node, features)
                members, out = self._grown([node], ctx.taken)
                break
            except Unsupported as e:
                reason = str(e) or reason
        else:
            raise Unsupported(reason)
        in_shapes = [ctx.shapes[t] for t in features]
        ctx.shapes[out] = op.infer(params, in_shapes).shape
        if ctx.fold_result is not None:     # the batch folded (_folded_node): known to Shape at once
            ctx.folded[out] = ctx.fold_result
        while True:
            nxt = ctx.first_consumer(out)
            if nxt is None or id(nxt) in self.absorbed:
                break
            ctx.taken = []
            try:
                new = op.absorb(params, nxt, ctx)
                if new is None:
                    break
                members, out = self._grown(members, [nxt, *ctx.taken])
            except (Unsupported, NotAMap):
                break
            params = self._complete(op, new)
            ctx.shapes[out] = op.infer(params, in_shapes).shape
            if ctx.fold_result is not None:
                ctx.folded[out] = ctx.fold_result
        self.absorbed.update(id(n) for n in members[1:])
        if ctx.layout == CHANNELS_LAST:
            ctx.channels_last.add(out)
        return op, params, out, features

    def _relayout(self, node, x: str) -> bool:
        """True when Transpose ``node`` opens a channels-last region (perm (0, 2, 3, 1) of a
        channels-first map) or closes one (perm (0, 3, 1, 2) of a channels-last tensor):
        its output is the same map, no layer, with the other layout."""
        ctx = self.ctx
        try:
            perm, last = ctx.attr(node, "perm"), x in ctx.channels_last
        except Unsupported:                  # a perm of the wrong type: the node's reason stands
            return False
        if len(ctx.shapes[x]) != 3 or perm != ([0, 3, 1, 2] if last else [0, 2, 3, 1]):
            return False
        out = node.output[0]
        self.tensor_of[out] = self.tensor_of[x]
        ctx.shapes[out] = ctx.shapes[x]
        if not last:
            ctx.channels_last.add(out)
        return True

    def _grown(self, members: list, more: list) -> tuple[list, str]:
        """The layer's nodes with ``more`` added, and its result (the last node's output);
        Unsupported when a node is already read, or a result other than the last is used
        outside the layer."""
        first = self.index[id(members[0])]
        for n in more:
            if id(n) in self.absorbed or self.index[id(n)] <= first or any(n is m for m in members):
                raise Unsupported(f"node '{_node_name(n)}' of the pattern is read already")
        members = [*members, *more]
        last = max(members, key=lambda n: self.index[id(n)])
        if not last.output or not last.output[0]:
            raise Unsupported(f"node '{_node_name(last)}' of the pattern has no output")
        out = last.output[0]
        ids = {id(n) for n in members}
        for n in members:
            for t in n.output:
                if not t or t == out:
                    continue
                if t in self.ctx.graph_outputs or any(
                        id(c) not in ids for c in self.ctx.consumers.get(t, ()) if c.op_type != "Shape"):
                    raise Unsupported(f"the intermediate result {t!r} is used outside the pattern")
        return members, out

    def _vector_as_map(self, node) -> bool:
        """True when ``node`` turns a vector (N, C) into (N, C, 1, 1) (Unsqueeze on axes 2
        and 3, or a Reshape) for ops that read a vector beside a map as (C, 1, 1) anyway
        (``Op.vector_as_map``: add, mul): netc's graph keeps the vector."""
        ctx = self.ctx
        shape = ctx.shapes.get(node.input[0])
        if shape is None or len(shape) != 1:
            return False
        if node.op_type == "Unsqueeze":
            axes = ctx.attr(node, "axes") if self.opset < 13 else ctx.value(node.input[1]) \
                if ctx.has_input(node, 1) else None
            if axes is None or sorted(a % 4 for a in axes) != [2, 3]:
                return False
        else:
            try:
                target = ctx.reshape_target(node)
            except Unsupported:
                return False                            # a 0 under allowzero=1: the readers say why
            if target is None or len(target) != 4 or list(target[1:]) not in ([shape[0], 1, 1], [-1, 1, 1]) \
                    or target[0] not in (BATCH, ctx.batch, 0, -1) or (target[0] == -1) == (target[1] == -1):
                return False
        users = [c for c in ctx.consumers.get(node.output[0], ()) if c.op_type != "Shape"]
        return bool(users) and node.output[0] not in ctx.graph_outputs and all(
            any(op.vector_as_map for op in READERS.get(c.op_type, ())) for c in users)

    def _stacks(self, node) -> bool:
        """True when Unsqueeze ``node`` puts a map on a new batch axis only for a stack and a
        sum: its one reader a Concat on axis 0 of two or more such Unsqueezes, whose one
        reader is a ReduceSum over axis 0 without keepdims (segmentation_models_pytorch's FPN
        merge, ``torch.stack(maps).sum(0)``). The map passes through; the Concat reads the
        whole as an add of the maps (``_stack_sum``)."""
        try:
            return self._stack_member(node)
        except Unsupported:                  # an attribute of the wrong type: not the pattern
            return False

    def _stack_member(self, node) -> bool:
        ctx = self.ctx
        x = node.input[0]
        if not ctx.is_feature(x) or x in ctx.channels_last or not self._axes_are(node, [0]):
            return False                      # the map is the data input (not a fuzzer's axes)
        cat = self._only_reader(node.output[0])
        if cat is None or cat.op_type != "Concat" or len(cat.input) < 2 or ctx.attr(cat, "axis") not in (
                0, -(len(ctx.shapes[x]) + 2)):
            return False
        if not all((p := ctx.producer.get(t)) is not None and p.op_type == "Unsqueeze" for t in cat.input):
            return False
        red = self._only_reader(cat.output[0])
        if red is None or red.op_type != "ReduceSum" or red.input[0] != cat.output[0] \
                or ctx.attr(red, "keepdims", 1) != 0 or not self._axes_are(red, [0]):
            return False
        self.stacked.add(node.output[0])
        return True

    def _only_reader(self, t: str):
        """The one node reading ``t`` (a Shape of it too counts: a stacked map's shape is not
        the map's), or None; none for a graph output."""
        readers = self.ctx.consumers.get(t, ())
        return readers[0] if len(readers) == 1 and t not in self.ctx.graph_outputs else None

    def _axes_are(self, node, want: list[int]) -> bool:
        """Whether ``node``'s constant axes (attribute, or input 1 from opset 13) are ``want``."""
        try:
            axes = self.ctx.axes(node)
        except Unsupported:
            return False
        return axes is not None and list(axes) == want

    def _stack_sum(self, node, ins: list[str]) -> None:
        """The Concat of a stack-and-sum (``_stacks``) and its ReduceSum: one add layer of
        the stacked maps, named after the ReduceSum; maps of different shapes are E011."""
        ctx = self.ctx
        red = self._only_reader(node.output[0])
        shapes = [ctx.shapes[t] for t in ins]
        if any(s != shapes[0] for s in shapes):
            self._unread(node, "Concat", "a stack of maps of different shapes: "
                         + ", ".join(map(fmt_shape, shapes)))
            self.unknown.update(node.output)
            return
        op = OPS["add"]
        name = self._unique(_node_name(red))
        self.nodes.append(Node(name, op.name, self._complete(op, {}), [self.tensor_of[t] for t in ins],
                               self.span(node), **self._provenance(red)))
        self.absorbed.add(id(red))
        ctx.shapes[red.output[0]] = shapes[0]
        self.tensor_of[red.output[0]] = name

    def _strided_identity(self, node) -> bool:
        """True when Reshape ``node`` flattens a map whole (target [-1]) only for a Gather on
        axis 0 whose indices are the flat position of every element, in order: an
        ``as_strided`` of the map's own sizes and strides, which torch dynamo writes for the
        view after a global average pool (torchvision's ConvNeXt). The map passes through
        both nodes; the indices are checked element by element (``_strided``)."""
        ctx = self.ctx
        x = node.input[0]
        try:
            if x in ctx.channels_last or ctx.reshape_target(node) != [-1]:
                return False
        except Unsupported:
            return False
        gather = self._only_reader(node.output[0])
        if gather is None or gather.op_type != "Gather" or list(gather.input[:1]) != [node.output[0]] \
                or len(gather.input) != 2 or ctx.is_feature(gather.input[1]) or ctx.attr(gather, "axis", 0) != 0:
            return False
        shape = ctx.shapes[x]
        if numel(shape) > MAX_STRIDED:
            return False
        got = self._strided(gather.input[1], 0)
        if got is None:
            return False
        import numpy as np

        step, rest = got
        n = numel(shape)
        if step != n or rest.shape != (1, *shape) or not np.array_equal(rest.reshape(-1), np.arange(n)):
            return False
        self.flat.add(node.output[0])
        return True

    def _strided(self, t: str, depth: int):
        """Index tensor ``t`` as ``b * step + rest``, b the batch index: (step, rest), ``rest`` a
        numpy int array whose first axis (the batch) is 1; None when ``t`` is not of that form
        or not known. Range(0, N, 1) is the batch index; initializers and Constants of at most
        ``MAX_STRIDED`` elements, Mul by a constant, Add and Unsqueeze combine; at most
        ``MAX_CHAIN`` nodes deep."""
        import numpy as np

        ctx = self.ctx
        if depth > MAX_CHAIN or not t or ctx.is_feature(t):
            return None
        node = ctx.producer.get(t)
        try:
            if t in ctx.initializers or (node is not None and node.op_type == "Constant"):
                shape = ctx.static_shape(t)
                if shape is None or numel(shape) > MAX_STRIDED:
                    return None
                if t in ctx.initializers:
                    from onnx import numpy_helper

                    arr = numpy_helper.to_array(self._with_data(ctx.initializers[t]))
                else:
                    v = ctx.value(t)
                    arr = None if v is None else np.array(v).reshape(shape)
                if arr is None or arr.dtype.kind not in "iu":
                    return None
                arr = arr.astype(np.int64)
                return 0, arr.reshape(1, *arr.shape) if arr.ndim == 0 else arr
            if node is None or node.domain not in ("", "ai.onnx"):
                return None
            op, ins = node.op_type, list(node.input)
            if op == "Range":
                start, limit, delta = (ctx.value(i) for i in ins[:3])
                if start == [0] and delta == [1] and limit in ([BATCH], [ctx.batch]):
                    return 1, np.zeros((1,), np.int64)
                return None
            if op in ("Add", "Mul") and len(ins) == 2:
                a, b = self._strided(ins[0], depth + 1), self._strided(ins[1], depth + 1)
                if a is None or b is None:
                    return None
                if op == "Add":
                    out = a[1] + b[1]
                    step = a[0] + b[0]
                else:                      # one factor a constant of one element
                    const = [f for f in (a, b) if f[0] == 0 and f[1].size == 1]
                    if not const:
                        return None
                    c = int(const[0][1].reshape(-1)[0])
                    other = b if const[0] is a else a
                    step, out = other[0] * c, other[1] * c
                if out.size > MAX_STRIDED or abs(step) > MAX_STRIDED * MAX_STRIDED or out.shape[:1] != (1,):
                    return None
                return step, out
            if op == "Unsqueeze":
                got, axes = self._strided(ins[0], depth + 1), ctx.axes(node)
                if got is None or axes is None:
                    return None
                rank = got[1].ndim + len(axes)
                if not all(type(a) is int and 1 <= a % rank for a in axes) or len({a % rank for a in axes}) != len(axes):
                    return None
                return got[0], np.expand_dims(got[1], tuple(sorted(a % rank for a in axes)))
        except (Unsupported, ValueError, TypeError, OverflowError):
            return None
        return None

    def _with_data(self, tensor):
        """``tensor`` (an initializer) with its data: as read, or, when the skeleton skipped
        its bytes (more than 1 KiB: netc/onnx/skeleton.py), from the file parsed whole once,
        for the few integer tensors of an as_strided's indices (files up to
        ``MAX_REPARSE`` bytes; else as read, which gives no values)."""
        if tensor.raw_data or tensor.int64_data or tensor.int32_data or not tensor.dims:
            return tensor
        if getattr(self, "_whole", None) is None:
            self._whole = {}
            try:
                if os.path.isfile(self.path) and os.path.getsize(self.path) <= MAX_REPARSE:
                    import onnx

                    with open(self.path, "rb") as f:
                        whole = onnx.ModelProto.FromString(f.read())
                    self._whole = {t.name: t for t in whole.graph.initializer
                                   if t.data_type in (6, 7) and numel(tuple(t.dims)) <= MAX_STRIDED}
            except Exception:  # noqa: BLE001 - a file that does not parse again: no values
                self._whole = {}
        return self._whole.get(tensor.name, tensor)

    def _same_type(self, node) -> bool:
        """True when Cast ``node`` casts a feature to the element type it has already (every
        feature has the input's): efficientvit's attention, ``.float()`` under autocast."""
        return self.ctx.attr(node, "to", 0) == getattr(self, "elem_type", None)

    def _condition(self, node) -> bool:
        """True when Cast ``node`` gives a boolean read only as the condition of Where nodes
        (netc's where picks where its condition is nonzero): netc's graph keeps its input."""
        users = self.ctx.users(node.output[0])
        return self.ctx.attr(node, "to") == 9 and bool(users) and all(
            u.op_type == "Where" and list(u.input).index(node.output[0]) == 0 and
            list(u.input).count(node.output[0]) == 1 for u in users)

    def _read(self, op: Op, node, features: list[str]) -> dict:
        """``op.read`` of ``node`` after checking its inputs, with defaults filled in;
        ``ctx.layout`` tells it whether they are channels-last."""
        last = [t in self.ctx.channels_last for t in features]
        self.ctx.layout = CHANNELS_LAST if any(last) else CHANNELS_FIRST
        if any(last) and not (op.channels_last and all(last)):
            raise Unsupported(f"{op.name} on a channels-last tensor (netc reads LayerNormalization, "
                              "MatMul, per-channel Mul and activations between Transpose (0, 2, 3, 1) "
                              "and Transpose (0, 3, 1, 2))")
        lo, hi = op.arity
        constants = len({t for t in node.input if t}) - len(set(features))
        if constants and hi is None and not op.constant_operand:
            raise Unsupported(f"a constant operand (netc's {op.name} joins layers)")
        count = len(features) + (constants if op.constant_operand else 0)
        if not lo <= count <= (hi or count):
            raise Unsupported(f"{len(features)} input{'s' if len(features) > 1 else ''} computed from "
                              f"the network input ({op.name} takes {lo}{'' if hi == lo else ' or more'})")
        try:
            params = op.read(node, self.ctx)
        except NotAMap as e:
            raise Unsupported(str(e)) from None
        except (IndexError, ValueError) as e:
            # readers written for maps and vectors, given a tensor of another rank (issue 18)
            shapes = [self.ctx.shapes[t] for t in features]
            if isinstance(e, ShapeError) or all(len(s) in (1, 3) for s in shapes):
                raise
            raise Unsupported(f"{op.name} does not read the tensor "
                              f"{', '.join(map(fmt_shape, shapes))}") from None
        return self._complete(op, params)

    @staticmethod
    def _complete(op: Op, params: dict) -> dict:
        """Defaults for missing parameters; every value checked against the op's bounds."""
        out = {}
        for key, param in op.params.items():
            if key not in params:
                out[key] = None if param.default is None else param.check(param.default)
                continue
            value = params[key]
            try:
                if param.kind == "padding" and isinstance(value, tuple):
                    for pair in value:
                        for v in pair:
                            param.check(v)
                elif param.kind in ("pair", "scale") and isinstance(value, (tuple, list)):
                    value = param.check(list(value))
                elif value is not None:
                    value = param.check(value)
            except ValueError as e:
                raise Unsupported(f"{op.name} {key}: {e}") from None
            out[key] = value
        return out

    def _unique(self, name: str) -> str:
        i = self.suffix.get(name, 1)          # the last suffix tried: linear in names alike
        out = name if i == 1 else f"{name}_{i}"
        while out in self.names:
            i += 1
            out = f"{name}_{i}"
        self.suffix[name] = i
        self.names.add(out)
        return out

    def _provenance(self, node) -> dict:
        """The ``Node`` fields saying where ``node`` came from (netc/onnx/provenance.py):
        ``origin``, the source line that built it (a netc build's ``FILE:LINE`` doc
        string, or the innermost user frame of a torch dynamo export's stack trace);
        ``origin_note``, naming the PyTorch module when known; ``aliases``, the node's
        ONNX name and module path, which ``per-node-ignores`` patterns match."""
        meta = {p.key: p.value for p in node.metadata_props} if node.metadata_props else {}
        scope = provenance.torch_scope(meta[provenance.NAME_SCOPES]) if provenance.NAME_SCOPES in meta else ()
        module = scope[0] if scope else ""
        where = provenance.doc_origin(node.doc_string) or provenance.user_frame(
            meta.get(provenance.STACK_TRACE, ""))
        origin = None
        if where is not None:
            file, line = where
            beside = os.path.join(os.path.dirname(self.path), file)
            origin = Span(beside if not os.path.isabs(file) and os.path.isfile(beside) else file, line, 1)
        note = ""
        if module:
            note = (f"the node was built from this line, in PyTorch module '{module}'" if origin
                    else f"the node was built by PyTorch module '{module}'")
        return {"origin": origin, "origin_note": note,
                "aliases": tuple(dict.fromkeys(a for a in (_node_name(node), module) if a)),
                "torch_scope": scope if scope and scope[1] else ()}

    def _shape_error(self, node, e: ShapeError, ins) -> NetcError:
        msg = f"{_node_name(node)}: {e}"
        if ins:
            msg += " (input" + ("s " if len(ins) > 1 else " ") + ", ".join(map(fmt_shape, ins)) + ")"
        return NetcError(Diagnostic(msg, self.span(node), SHAPE, layer=_node_name(node),
                                    notes=self._origin_notes(node)))

    def _origin_notes(self, node) -> list:
        """The note at the source line that built ``node``, as lint findings give it."""
        where = self._provenance(node)
        if where["origin"] is None and not where["origin_note"]:
            return []
        return [(where["origin"], where["origin_note"] or "the node was built from this line")]

    def _unread(self, node, op_type: str, reason: str) -> None:
        self.unsupported.setdefault(op_type, []).append((_node_name(node), reason, self.ctx.current))

    def _unread_kinds(self) -> list:
        """The unread op types with their nodes, the most nodes first, then in graph order
        (sorted once: the error and the graph's ``unread_ops`` both take it)."""
        if self._kinds is None:
            self._kinds = sorted(self.unsupported.items(), key=lambda kv: (-len(kv[1]), kv[1][0][2]))
        return self._kinds

    def _unsupported_error(self) -> NetcError | None:
        """The one E011 error, at the first unread node in graph order: the blockers' op
        types (the first ``UNREAD_TYPES_SHOWN``, and how many more), each with its count
        and first nodes; the nodes after them of types netc reads are "not reached"."""
        if not self.unsupported:
            return None
        total = sum(len(v) for v in self.unsupported.values())
        kinds = self._unread_kinds()
        shown, hidden = kinds[:UNREAD_TYPES_SHOWN], len(kinds) - UNREAD_TYPES_SHOWN
        notes = []
        for op_type, found in shown:
            names = ", ".join(f"'{n}'" + (f" ({why})" if why else "") for n, why, _ in found[:FIRST_NAMES])
            more = f" and {len(found) - FIRST_NAMES} more" if len(found) > FIRST_NAMES else ""
            notes.append((None, f"{op_type}: {len(found)} node{'s' if len(found) > 1 else ''}: "
                                f"{names}{more}"))
        summary = ", ".join(f"{t} x{len(found)}" for t, found in shown)
        if hidden > 0:
            summary += f" and {hidden:,} more op type{'s' if hidden > 1 else ''}"
        msg = (f"{total:,} node{'s' if total > 1 else ''} of {len(kinds):,} op type"
               f"{'s' if len(kinds) > 1 else ''} netc cannot read ({summary}); they are left out of "
               "every count, never counted as zero")
        if self.skipped:
            notes.append((None, f"{self.skipped:,} node{'s' if self.skipped > 1 else ''} after them "
                                f"{'were' if self.skipped > 1 else 'was'} not reached: netc reads "
                                "their op types, but not without their input shapes"))
        first = min(i for found in self.unsupported.values() for _, _, i in found)
        node = self.graph_nodes[first]
        return NetcError(Diagnostic(msg, self.span(node), UNSUPPORTED, notes=self._origin_notes(node) + notes))


def _node_name(node) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)
