"""Build an ONNX model from a loaded network, and write it atomically.

    model = build_model(network, opset=17, seed=0, dtype="float32", fold_batchnorm=False)
    write_model(model, "net.onnx", external_data=None)

What the model holds (docs/onnx.md):
- one node per ONNX op each layer's ``Op.lower`` emits; tensor names are the
  layer names, initializers ``LAYER.weight``/``LAYER.bias``/...; every node's
  ``doc_string`` is the layer's ``FILE:LINE``;
- every weight an initializer drawn from its layer's init scheme by a numpy
  Generator seeded from (seed, tensor name), so a build is reproducible byte
  for byte and independent of layer order;
- a symbolic batch dimension ``batch`` on the input and outputs, every other
  dimension static; ``value_info`` for every intermediate tensor from ONNX
  shape inference, checked against netc's analysis;
- the lowest IR version the opset needs; metadata ``io.netc.*`` (version,
  source sha256, seed, init schemes), nothing that varies between hosts or runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..diagnostics import BuildError
from ..initializers import sample
from ..ops import OPS
from .lowering import LoweringContext

from . import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET, OPSET_RANGE   # noqa: F401 - the one statement of the range
BATCH = "batch"                     # the symbolic batch dimension
DTYPES = {"float32": (TensorProto.FLOAT, np.float32), "float16": (TensorProto.FLOAT16, np.float16)}
EXTERNAL_THRESHOLD = 1 << 30        # weights past 1 GiB go to an external data file by default
PROTOBUF_LIMIT = (1 << 31) - 1      # one protobuf message cannot exceed 2 GiB
BUILD_BASE_BYTES = 64 << 20         # the interpreter, onnx and numpy, about 50 MB measured
EXTERNAL_MIN_BYTES = 1024           # smaller tensors stay inside the model file

# A weight source: (layer, suffix, shape, init, fan_in, fan_out) -> float array of that shape.
WeightSource = Callable[[str, str, tuple, object, int, int], np.ndarray]


class RuntimeUnsupported(BuildError):
    """The installed onnxruntime cannot load a model of the asked opset / IR version."""


def max_opset() -> int:
    """The newest opset netc builds (``MAX_OPSET``), or the installed onnx package's newest
    where that is older."""
    return min(MAX_OPSET, onnx.defs.onnx_opset_version())


def seeded_weights(seed: int) -> WeightSource:
    """The default weight source: each tensor from its own Generator seeded by
    (seed, sha256 of the tensor name), through ``netc.initializers.sample``."""
    def draw(layer, suffix, shape, init, fan_in, fan_out, out=None):
        digest = hashlib.sha256(f"{layer}.{suffix}".encode()).digest()
        rng = np.random.default_rng([seed, int.from_bytes(digest[:16], "little")])
        return sample(init, shape, fan_in, fan_out, rng, out)
    return draw


class Deferred:
    """A weight drawn only when it is written, straight into the writer's buffer
    (``build_model(weights_apart=True)`` with the seeded weights and no folding)."""

    def __init__(self, draw: Callable, shape: tuple, dtype=np.float32):
        self.draw, self.shape, self.dtype = draw, shape, dtype

    def array(self, scratch: "_Scratch") -> np.ndarray:
        """The weight, little-endian, of ``dtype``, in ``scratch``'s buffer (valid until the next)."""
        out = scratch.take(self.shape)
        self.draw(out=out)
        if self.dtype != np.float32:
            out = out.astype(self.dtype)
        return out.astype(out.dtype.newbyteorder("<"), copy=False)


class _Scratch:
    """One float32 buffer, grown to the largest weight: every deferred weight is drawn into it."""

    def __init__(self):
        self.buf = np.empty(0, dtype=np.float32)

    def take(self, shape: tuple) -> np.ndarray:
        n = _numel(shape)
        if n > self.buf.size:
            self.buf = np.empty(n, dtype=np.float32)
        return self.buf[:n].reshape(shape)


def build_model(network, *, opset: int = DEFAULT_OPSET, seed: int = 0, dtype: str = "float32",
                fold_batchnorm: bool = False, weights: WeightSource | None = None,
                check: bool = True, progress: Callable[[int, int], None] | None = None,
                weights_apart: bool = False):
    """Lower every layer of ``network`` (a ``netc.Network``) to one ONNX model.

    ``weights`` replaces the seeded init schemes (tests, trained weights);
    ``check`` runs ``onnx.checker.check_model(full_check=True)`` in memory
    (models past the 2 GiB protobuf limit are checked by ``write_model``, on
    the file); ``progress(done, total)`` is called as layers are lowered.
    ``weights_apart`` returns ``(model, arrays)`` instead: initializers without
    their data, and the arrays by initializer name, for ``write_model(model, path,
    weights=arrays)``, which writes them straight from the arrays (``netc build``;
    nothing checked here). With the seeded weights and no folding, the arrays are
    ``Deferred``: each is drawn when it is written, into one reused buffer.
    Raises ``BuildError`` (a ``NetcError``) when the build is refused."""
    if not MIN_OPSET <= opset <= max_opset():
        raise BuildError(f"opset {opset} is not supported: netc builds opsets {MIN_OPSET} to {max_opset()}"
                         + ("" if max_opset() == MAX_OPSET else f" (onnx {onnx.__version__})"))
    if dtype not in DTYPES:
        raise BuildError(f"dtype {dtype!r} is not supported: expected one of {', '.join(DTYPES)}")
    if not 0 <= seed < 1 << 64:
        raise BuildError(f"seed {seed} is out of range: expected 0 to 2**64 - 1")
    opsets = [helper.make_opsetid("", opset)]
    ir_version = helper.find_min_ir_version_for(opsets)
    check_runtime_support(opset, ir_version)
    deferred = weights_apart and weights is None and not fold_batchnorm
    check_memory(network, dtype, True, streamed=deferred)

    b = _Builder(network, DTYPES[dtype], weights or seeded_weights(seed), opset, deferred=deferred)
    b.lower_all(progress)
    if fold_batchnorm:
        b.fold_batchnorm()
    # make_model copies the graph it is given: give it the graph without weights,
    # then move the weights into the model's own graph, one tensor at a time
    model = helper.make_model(b.finish(opsets), opset_imports=opsets, ir_version=ir_version,
                              producer_name="netc", producer_version=_version(),
                              doc_string=f"{network.name}, built by netc from {Path(network.source.path).name}")
    b.add_initializers(model.graph, weights_apart)
    meta = {
        "io.netc.version": _version(),
        "io.netc.source": Path(network.source.path).name,
        "io.netc.source_sha256": hashlib.sha256(network.source.text.encode("utf-8")).hexdigest(),
        "io.netc.seed": str(seed),
        "io.netc.dtype": dtype,
        "io.netc.fold_batchnorm": str(bool(fold_batchnorm)).lower(),
        "io.netc.init": json.dumps(b.schemes if weights is None else {"custom": sorted(b.schemes_used)},
                                   sort_keys=True, separators=(",", ":")),
    }
    helper.set_model_props(model, meta)
    if weights_apart:
        return model, b.arrays
    if check and sum(map(_tensor_nbytes, model.graph.initializer)) < PROTOBUF_LIMIT - (64 << 20):
        try:
            onnx.checker.check_model(model, full_check=True)
        except onnx.checker.ValidationError as e:  # pragma: no cover - a netc bug
            raise BuildError(f"internal error: the ONNX checker rejects the model: {e}") from None
    return model


def check_runtime_support(opset: int, ir_version: int) -> None:
    """Refuse, with onnxruntime's own reason, a model the installed onnxruntime cannot load:
    load a one-node model with the same opset and IR version. Without onnxruntime
    (the ``build`` extra alone) there is nothing to refuse; onnxruntime 1.13 and
    later run opset 17 and IR version 8 (its compatibility table), so these are
    taken without importing it."""
    version = _runtime_version()
    if version is None:
        return
    if opset <= 17 and ir_version <= 8 and version >= (1, 13):
        return
    import onnxruntime as ort

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    probe = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe", [x], [y]),
                              opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version)
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    try:
        ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        reason = re.sub(r"^\[ONNXRuntimeError\].*?onnxruntime_src/\S+:\d+ [^(]*\(.*?\) (?=[A-Z])", "",
                        " ".join(str(e).split()))
        raise RuntimeUnsupported(f"onnxruntime {ort.__version__} cannot run opset {opset} (IR version "
                         f"{ir_version}): {reason}; choose a lower --opset") from None


# -- memory ----------------------------------------------------------------------

def memory_needed(network, dtype: str = "float32", external_data: bool | None = None,
                  streamed: bool = False) -> int:
    """Bytes a build holds at its peak, from the weight count P (every initializer), the
    largest layer's L and the element size d.

    streamed (``netc build``: seeded weights drawn as they are written, into one reused
    float32 buffer, then cast): 4L, plus dL for the cast when d is not 4, plus
    ``BUILD_BASE_BYTES`` for the interpreter, onnx and numpy. Measured: three 8192x8192
    dense layers (P = 201M, L = 67M) peak at 319 MB as float32 and 451 MB as float16.
    Otherwise every weight is in memory: 4P while lowering (drawn as float32 arrays),
    then the model's copy of them with, without external data, the serialized file and
    the checker's parse of it: max(4P, 3dP); with external data, written one tensor at
    a time: 4P."""
    size = np.dtype(DTYPES[dtype][1]).itemsize
    if streamed:
        largest = max((r.params for r in network.layers), default=0)
        return (4 + (size if size != 4 else 0)) * largest + BUILD_BASE_BYTES
    n = network.totals.params
    if external_data is None:
        external_data = n * size > EXTERNAL_THRESHOLD
    return 4 * n if external_data else max(4 * n, 3 * size * n)


def available_memory() -> int | None:
    """MemAvailable of /proc/meminfo, else the free physical pages; None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(network, dtype: str = "float32", external_data: bool | None = None,
                 available: int | None = None, streamed: bool = False) -> None:
    """Refuse, before drawing any weight, a build that cannot fit in ``available``
    bytes (default: ``available_memory()``), with the sizes and what would fit;
    ``streamed``: the weights are drawn as they are written (``memory_needed``)."""
    available = available_memory() if available is None else available
    needed = memory_needed(network, dtype, external_data, streamed)
    if available is None or needed <= available:
        return
    n = network.totals.params
    msg = (f"not building: the {n:,} weights ({_gb(n * np.dtype(DTYPES[dtype][1]).itemsize)} as {dtype}) "
           f"need about {_gb(needed)} of memory to build, and {_gb(available)} is available")
    external = memory_needed(network, dtype, True)
    lean = memory_needed(network, dtype, streamed=True)
    if streamed:
        msg += ("; the weights are drawn one layer at a time as they are written, so the largest layer "
                "sets this: make it smaller or build on a machine with more memory")
    elif lean <= available:
        msg += (f"; drawing the seeded weights as they are written (netc build without "
                f"--fold-batchnorm) needs about {_gb(lean)}")
    elif external < needed and external <= available:
        msg += (f"; with --external-data the weights are written to OUT.data one tensor at a time "
                f"and the build needs about {_gb(external)}: build with --external-data")
    else:
        msg += ("; the weights are drawn in memory even with --external-data, so make the network "
                "smaller or build on a machine with more memory")
    largest = max(network.layers, key=lambda r: r.params)
    msg += f" (the largest layer, {largest.name}, holds {largest.params:,} weights)"
    raise BuildError(msg, largest.node.span, largest.name)


def _gb(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


def _runtime_version() -> tuple[int, ...] | None:
    """The installed onnxruntime's (major, minor), from its metadata; None without one."""
    from importlib import metadata

    for dist in ("onnxruntime", "onnxruntime-gpu"):
        try:
            text = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        return tuple(int(p) for p in re.findall(r"\d+", text)[:2])
    return None


def describe(model: onnx.ModelProto, path, seconds: float) -> str:
    """A short summary of a written model, for the command line."""
    g = model.graph
    meta = {p.key: p.value for p in model.metadata_props}
    elements = sum(_numel(t.dims) for t in g.initializer)
    nbytes = sum(map(_tensor_nbytes, g.initializer))
    data = Path(path).with_name(Path(path).name + ".data")

    def shape(v):
        return "[" + ", ".join(d.dim_param or str(d.dim_value) for d in v.type.tensor_type.shape.dim) + "]"

    lines = [f"built {g.name} -> {path} (opset {model.opset_import[0].version}, IR {model.ir_version}, "
             f"{meta.get('io.netc.dtype')}, seed {meta.get('io.netc.seed')}) in {seconds:.2f} s",
             f"  {len(g.node)} nodes, {len(g.initializer)} initializers, {elements:,} parameters "
             f"({nbytes / 1e6:,.1f} MB)",
             "  input " + ", ".join(f"{v.name} {shape(v)}" for v in g.input)
             + "; output " + ", ".join(f"{v.name} {shape(v)}" for v in g.output)]
    if data.exists():
        lines.append(f"  weights in {data} ({data.stat().st_size / 1e6:,.1f} MB)")
    return "\n".join(lines)


def _numel(dims) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def _version() -> str:
    from .. import __version__
    return __version__


class _Builder:
    """Collects nodes and weights layer by layer; knows nothing of any op."""

    def __init__(self, network, dtype, weights: WeightSource, opset: int = DEFAULT_OPSET,
                 deferred: bool = False):
        self.deferred = deferred        # draw each weight when it is written (Deferred)
        self.net = network
        self.opset = opset
        self.graph = network.graph
        self.elem_type, self.np_dtype = dtype
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.schemes: dict[str, list[str]] = {}     # init scheme -> initializer names
        self.schemes_used: set[str] = set()
        self.taken = {self.graph.input_name, *(n.name for n in self.graph.nodes)}
        self.node_names: set[str] = set()
        self.tensor_of: dict[str, str] = {self.graph.input_name: self.graph.input_name}
        self.layer_nodes: list[onnx.NodeProto] = []
        self.layer_doc = ""

    # -- what LoweringContext calls ------------------------------------------
    def activation_after(self, node) -> str:
        from ..graph import activation_after

        if not hasattr(self, "_consumers"):
            self._consumers = self.graph.consumers()
        return activation_after(node, self._consumers, self.graph.node)

    def _unique(self, name: str, taken: set[str]) -> str:
        out, i = name, 1
        while out in taken:
            i += 1
            out = f"{name}_{i}"
        taken.add(out)
        return out

    def add_node(self, layer: str, op_type: str, inputs: list[str], attrs: dict) -> str:
        out = self._unique(f"{layer}/{op_type}", self.taken)
        node = helper.make_node(op_type, inputs, [out], name=out, doc_string=self.layer_doc, **attrs)
        self.layer_nodes.append(node)
        return out

    def add_weight(self, layer, suffix, shape, init, fan_in, fan_out) -> str:
        name = self._unique(f"{layer}.{suffix}", self.taken)
        if self.deferred:
            self.arrays[name] = Deferred(functools.partial(self.weights, layer, suffix, shape, init,
                                                           fan_in, fan_out), shape)
        else:
            arr = np.asarray(self.weights(layer, suffix, shape, init, fan_in, fan_out))
            if arr.shape != shape:  # pragma: no cover - a broken weight source
                raise BuildError(f"weight {name}: expected shape {shape}, got {arr.shape}")
            self.arrays[name] = arr
        key = init if isinstance(init, str) else json.dumps(init, sort_keys=True)
        self.schemes.setdefault(key, []).append(name)
        self.schemes_used.add(key)
        return name

    def add_constant(self, layer: str, suffix: str, value, dtype: str | None = None) -> str:
        out = self._unique(f"{layer}/{suffix}", self.taken)
        tensor = numpy_helper.from_array(np.array(value, dtype=np.dtype(dtype) if dtype else self.np_dtype), out)
        self.layer_nodes.append(helper.make_node("Constant", [], [out], name=out,
                                                 doc_string=self.layer_doc, value=tensor))
        return out

    def add_int_constant(self, layer: str, suffix: str, values: list[int]) -> str:
        out = self._unique(f"{layer}/{suffix}", self.taken)
        tensor = numpy_helper.from_array(np.array(values, dtype=np.int64), out)
        self.layer_nodes.append(helper.make_node("Constant", [], [out], name=out,
                                                 doc_string=self.layer_doc, value=tensor))
        return out

    # -- lowering ------------------------------------------------------------
    def lower_all(self, progress) -> None:
        shapes = self.net.analysis.shapes()
        outputs = set(self.graph.outputs)
        total = len(self.net.analysis.layers)
        for i, report in enumerate(self.net.analysis.layers):
            node = report.node
            self.layer_nodes = []
            self.layer_doc = f"{Path(node.span.file).name}:{node.span.line}"
            ctx = LoweringContext(self, report, [self.tensor_of[n] for n in node.inputs],
                                  [shapes[n] for n in node.inputs])
            try:
                result = OPS[node.op].lower(node.params, ctx)
            except NotImplementedError:
                raise BuildError(f"{node.name}: op '{node.op}' has no ONNX lowering yet",
                                 node.span, node.name) from None
            except BuildError as e:     # a lowering's refusal: give it the layer's place
                if e.diagnostics[0].span is not None:
                    raise
                raise BuildError(f"{node.name}: {e.diagnostics[0].message}", node.span, node.name) from None
            self._name_layer(node.name, result, node.name in outputs)
            self.nodes.extend(self.layer_nodes)
            if progress:
                progress(i + 1, total)

    def _name_layer(self, layer: str, result: str, is_output: bool) -> None:
        """Give the layer's result tensor the layer's name and its first node too."""
        produced = {o for n in self.layer_nodes for o in n.output}
        if result not in produced:          # a pass-through layer (dropout)
            if not is_output:
                self.tensor_of[layer] = result
                return
            self.layer_nodes.append(helper.make_node("Identity", [result], [layer],
                                                     doc_string=self.layer_doc))
            result = layer
        for n in self.layer_nodes:
            n.output[:] = [layer if o == result else o for o in n.output]
            n.input[:] = [layer if i == result else i for i in n.input]
        self.tensor_of[layer] = layer
        first = next(n for n in self.layer_nodes if n.op_type != "Constant")
        for n in self.layer_nodes:
            n.name = self._unique(layer if n is first else n.name, self.node_names)

    # -- batchnorm folding ----------------------------------------------------
    def fold_batchnorm(self) -> None:
        """Fold each BatchNormalization whose input is a Conv's output used nowhere else:
        s = scale / sqrt(var + eps); W' = W * s (per filter); b' = (b - mean) * s + shift."""
        producer = {o: n for n in self.nodes for o in n.output}
        uses: dict[str, int] = {}
        for n in self.nodes:
            for i in n.input:
                uses[i] = uses.get(i, 0) + 1
        outputs = set(self.graph.outputs)
        kept = []
        folded: set[int] = set()
        for bn in self.nodes:
            conv = producer.get(bn.input[0]) if bn.op_type == "BatchNormalization" else None
            if conv is None or conv.op_type != "Conv" or uses[bn.input[0]] != 1 or bn.input[0] in outputs:
                continue
            eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
            scale, shift, mean, var = (self.arrays.pop(t).astype(np.float64) for t in bn.input[1:5])
            s = scale / np.sqrt(var + eps)
            w = self.arrays[conv.input[1]].astype(np.float64)
            self.arrays[conv.input[1]] = (w * s.reshape(-1, *(1,) * (w.ndim - 1))).astype(np.float32)
            if len(conv.input) > 2:
                b = self.arrays[conv.input[2]].astype(np.float64)
            else:
                b = np.zeros(len(s))
                conv.input.append(self._unique(f"{conv.name}.bias", self.taken))
            self.arrays[conv.input[2]] = ((b - mean) * s + shift).astype(np.float32)
            conv.output[:] = list(bn.output)
            conv.doc_string = f"{conv.doc_string}; {bn.doc_string} (batchnorm {bn.name} folded in)"
            folded.add(id(bn))
        for n in self.nodes:
            if id(n) not in folded:
                kept.append(n)
        self.nodes = kept
        live = {i for n in self.nodes for i in n.input}
        for s_names in self.schemes.values():
            s_names[:] = [t for t in s_names if t in live]

    # -- the graph -----------------------------------------------------------
    def finish(self, opsets) -> onnx.GraphProto:
        g = self.graph
        inp = helper.make_tensor_value_info(g.input_name, self.elem_type, [BATCH, *g.input_shape])
        expected = {self.tensor_of[r.name]: r for r in self.net.analysis.layers}
        shapes = {r.name: r.output_shape for r in self.net.analysis.layers}
        outs = [helper.make_tensor_value_info(self.tensor_of[o], self.elem_type, [BATCH, *shapes[o]])
                for o in g.outputs]
        value_info = self._infer(inp, opsets, expected)
        return helper.make_graph(self.nodes, g.name, [inp], outs, value_info=value_info,
                                 doc_string=f"netc network {g.name}")

    def add_initializers(self, graph: onnx.GraphProto, apart: bool = False) -> None:
        """Move the weights into ``graph``, one array at a time: never two copies of them.
        ``apart``: add the initializers without data and keep the arrays (little-endian,
        of the graph's element type) in ``self.arrays`` for ``write_model``."""
        for name in list(self.arrays):
            arr = self.arrays.pop(name)
            if isinstance(arr, Deferred):
                arr.dtype = self.np_dtype
            else:
                arr = arr.astype(self.np_dtype, copy=False)
                arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
            t = graph.initializer.add()
            t.name, t.data_type = name, self.elem_type
            t.dims.extend(arr.shape)
            if apart:
                self.arrays[name] = arr
            else:
                t.raw_data = arr.tobytes()
            del arr

    def _infer(self, inp, opsets, expected) -> list[onnx.ValueInfoProto]:
        """ONNX shape inference on the graph without its weights (initializers become
        typed inputs), then every layer's inferred shape against netc's analysis."""
        weights = [helper.make_tensor_value_info(n, self.elem_type, a.shape) for n, a in self.arrays.items()]
        outs = [helper.make_tensor_value_info(self.tensor_of[o], self.elem_type, None) for o in self.graph.outputs]
        skeleton = helper.make_model(helper.make_graph(self.nodes, "skeleton", [inp, *weights], outs),
                                     opset_imports=opsets, ir_version=helper.find_min_ir_version_for(opsets))
        try:
            inferred = onnx.shape_inference.infer_shapes(skeleton, check_type=True, strict_mode=True,
                                                         data_prop=True)
        except onnx.shape_inference.InferenceError as e:  # pragma: no cover - a netc bug
            raise BuildError(f"internal error: ONNX shape inference fails: {e}") from None
        types = {v.name: v.type for v in (*inferred.graph.value_info, *inferred.graph.output)}
        graph_outputs = {o.name for o in outs}
        value_info = []
        for node in self.nodes:
            for t in node.output:
                if t not in types or not types[t].tensor_type.HasField("shape"):
                    raise BuildError(f"internal error: ONNX shape inference gives no shape for "
                                     f"tensor {t!r} ({node.doc_string})")
                tensor_type = types[t].tensor_type
                dims = [d.dim_param or d.dim_value for d in tensor_type.shape.dim]
                if tensor_type.elem_type != self.elem_type:     # int64 shapes and indices
                    value_info.append(helper.make_value_info(t, types[t]))
                    continue
                lost_batch = dims and dims[0] != BATCH and not (isinstance(dims[0], int) and dims[0] > 0)
                if lost_batch and node.op_type != "Constant":
                    # Resize's shape inference forgets the batch symbol; netc's dim 0 is the batch
                    tensor_type.shape.dim[0].dim_param = BATCH
                    dims[0] = BATCH
                if t in expected:
                    r = expected[t]
                    want = [BATCH, *r.output_shape]
                    if dims != want:
                        raise BuildError(f"internal error: ONNX shape inference gives "
                                         f"({', '.join(map(str, dims))}) for layer {r.name}, netc's "
                                         f"analysis ({', '.join(map(str, want))})", r.node.span, r.name)
                elif node.op_type != "Constant" and (not dims or dims[0] != BATCH or not all(
                        isinstance(d, int) and d > 0 for d in dims[1:])):
                    raise BuildError(f"internal error: tensor {t!r} has shape {dims}, expected "
                                     f"(batch, static dims) ({node.doc_string})")
                if t not in graph_outputs:
                    value_info.append(helper.make_value_info(t, types[t]))
        return value_info


# -- writing -------------------------------------------------------------------

def write_model(model: onnx.ModelProto, path, *, external_data: bool | None = None,
                weights: dict | None = None) -> None:
    """Write ``model`` to ``path`` atomically, checked.

    external_data: True puts every tensor of 1 KiB or more in ``PATH.data``
    beside the model (named after it; replaced, never appended to); None does
    so past ``EXTERNAL_THRESHOLD`` bytes of initializers; False never does
    (refused past the 2 GiB protobuf limit). Without external data a stale
    ``PATH.data`` from an earlier build is removed. ``weights`` (name -> array)
    holds the data of initializers that have none in ``model``
    (``build_model(weights_apart=True)``).

    The model is serialized once, as it is written: the weights go from their
    arrays (or ``raw_data``) to the file, with the protobuf framing around them,
    byte for byte what ``SerializeToString`` gives. ``onnx.checker.check_model
    (full_check=True)`` runs on the graph with every tensor of 1 KiB or more as
    an external-data stub (its type and shape, no data), so that neither the
    weights nor the file are read again; each tensor's byte count is checked
    against its shape here. The files are written in a temporary folder beside
    ``path`` and renamed into place; on any failure nothing is left behind.
    ``model`` itself is not modified."""
    path = Path(path)
    weights = weights or {}
    scratch = _Scratch()
    weight_bytes = sum(_tensor_nbytes(t) for t in model.graph.initializer)
    if external_data is None:
        external_data = weight_bytes > EXTERNAL_THRESHOLD
    if not external_data and weight_bytes >= PROTOBUF_LIMIT - (64 << 20):
        raise BuildError(f"the model's {weight_bytes:,} bytes of weights exceed the 2 GiB limit of "
                         "one ONNX file: write them as external data")
    data_name = path.name + ".data"
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        tmp_model = tmp / path.name
        if external_data:
            skeleton = _externalize(model, weights, scratch, tmp / data_name, data_name)
            tmp_model.write_bytes(skeleton.SerializeToString())
            _check(tmp_model)
        else:
            (tmp / "stub.data").touch()
            stub_model = tmp / "stub.onnx"
            stub_model.write_bytes(_stub(model, weights, scratch, "stub.data").SerializeToString())
            _check(stub_model)
            _write_inline(model, weights, scratch, tmp_model)
        if external_data:
            os.replace(tmp / data_name, path.parent / data_name)
        os.replace(tmp_model, path)
        if not external_data:
            (path.parent / data_name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check(path: Path) -> None:
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as e:  # pragma: no cover - a netc bug
        raise BuildError(f"internal error: the ONNX checker rejects the written model: {e}") from None


def _has_data(t: onnx.TensorProto, weights: dict) -> bool:
    return t.name in weights or t.HasField("raw_data")


def _data(t: onnx.TensorProto, weights: dict, scratch: _Scratch):
    """The bytes of initializer ``t`` (a buffer), from ``weights`` (an array, or a Deferred
    drawn into ``scratch``: valid until the next call) or its raw_data; None when it holds
    its data in another field; checked against its type and shape."""
    if t.name in weights:
        w = weights[t.name]
        data = memoryview(w.array(scratch) if isinstance(w, Deferred) else w).cast("B")
    elif t.HasField("raw_data"):
        data = t.raw_data
    else:
        return None
    if len(data) != _tensor_nbytes(t):  # pragma: no cover - a netc bug
        raise BuildError(f"internal error: initializer {t.name} holds {len(data):,} bytes, its shape "
                         f"needs {_tensor_nbytes(t):,}")
    return data


def _bare(t: onnx.TensorProto) -> onnx.TensorProto:
    """``t`` without its raw_data."""
    out = onnx.TensorProto()
    _copy_fields(t, out, skip="raw_data")
    return out


def _stub(model: onnx.ModelProto, weights: dict, scratch: _Scratch, location: str) -> onnx.ModelProto:
    """A copy of ``model`` for the checker: tensors of 1 KiB or more become external-data
    stubs pointing at ``location`` (type and shape kept, no data); smaller ones keep
    their data (shape inference may read them)."""
    skeleton = onnx.ModelProto()
    _copy_fields(model, skeleton, skip="graph")
    _copy_fields(model.graph, skeleton.graph, skip="initializer")
    for t in model.graph.initializer:
        out = skeleton.graph.initializer.add()
        if not _has_data(t, weights) or _tensor_nbytes(t) < EXTERNAL_MIN_BYTES:
            out.CopyFrom(t)
            if t.name in weights:
                out.raw_data = bytes(_data(t, weights, scratch))
            continue
        out.name, out.data_type = t.name, t.data_type
        out.dims.extend(t.dims)
        out.data_location = TensorProto.EXTERNAL
        entry = out.external_data.add()
        entry.key, entry.value = "location", location
    return skeleton


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, length: int) -> bytes:
    """The tag and length of a length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(length)


def _split(message, number: int):
    """Two copies of ``message``: its fields numbered below ``number``, and above it."""
    head, tail = type(message)(), type(message)()
    for field, value in message.ListFields():
        if field.number == number:
            continue
        target = head if field.number < number else tail
        if hasattr(value, "extend"):
            getattr(target, field.name).extend(value)
        elif field.message_type is not None:
            getattr(target, field.name).CopyFrom(value)
        else:
            setattr(target, field.name, value)
    return head.SerializeToString(), tail.SerializeToString()


GRAPH_FIELD, INITIALIZER_FIELD, RAW_DATA_FIELD = 7, 5, 9   # ModelProto.graph, GraphProto.initializer, TensorProto.raw_data


def _write_inline(model: onnx.ModelProto, weights: dict, scratch: _Scratch, path: Path) -> None:
    """Serialize ``model`` into ``path`` with each tensor's data written from its buffer:
    protobuf writes fields in number order, so the model is its fields before ``graph``,
    the graph (its fields before ``initializer``, each initializer as its fields before
    ``raw_data`` then ``raw_data``, its later fields) and the model's later fields."""
    model_head, model_tail = _split(model, GRAPH_FIELD)
    graph_head, graph_tail = _split(model.graph, INITIALIZER_FIELD)
    pieces = []       # (tensor, its bytes without raw_data, raw_data's length or None)
    for t in model.graph.initializer:
        if not _has_data(t, weights):
            pieces.append((t, t.SerializeToString(), None))
            continue
        bare = _bare(t)
        if any(f.number > RAW_DATA_FIELD for f, _ in bare.ListFields()):  # pragma: no cover
            raise BuildError(f"internal error: initializer {t.name} has fields after raw_data")
        pieces.append((t, bare.SerializeToString(), _tensor_nbytes(t)))
    sizes = [len(b) + (len(_field(RAW_DATA_FIELD, n)) + n if n is not None else 0) for _, b, n in pieces]
    graph_size = len(graph_head) + len(graph_tail) + sum(len(_field(INITIALIZER_FIELD, n)) + n for n in sizes)
    with open(path, "wb") as f:
        f.write(model_head)
        f.write(_field(GRAPH_FIELD, graph_size))
        f.write(graph_head)
        for (t, bare, n), size in zip(pieces, sizes):
            f.write(_field(INITIALIZER_FIELD, size))
            f.write(bare)
            if n is not None:
                f.write(_field(RAW_DATA_FIELD, n))
                f.write(_data(t, weights, scratch))     # checked: exactly n bytes
        f.write(graph_tail)
        f.write(model_tail)


def _tensor_nbytes(t: onnx.TensorProto) -> int:
    return _numel(t.dims) * np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize


def _externalize(model: onnx.ModelProto, weights: dict, scratch: _Scratch, data_path: Path,
                 location: str) -> onnx.ModelProto:
    """A copy of ``model`` without its initializers' data, which goes to ``data_path``
    one tensor at a time (offsets aligned to 4 KiB, so runtimes can map them)."""
    skeleton = onnx.ModelProto()
    _copy_fields(model, skeleton, skip="graph")
    _copy_fields(model.graph, skeleton.graph, skip="initializer")
    with open(data_path, "wb") as f:
        for t in model.graph.initializer:
            out = skeleton.graph.initializer.add()
            data = _data(t, weights, scratch)
            if data is None or _tensor_nbytes(t) < EXTERNAL_MIN_BYTES:
                out.CopyFrom(t)
                if data is not None and t.name in weights:
                    out.raw_data = bytes(data)
                continue
            out.name, out.data_type = t.name, t.data_type
            out.dims.extend(t.dims)
            pad = -f.tell() % 4096
            f.write(b"\0" * pad)
            offset = f.tell()
            f.write(data)
            out.data_location = TensorProto.EXTERNAL
            for key, value in (("location", location), ("offset", str(offset)), ("length", str(len(data)))):
                entry = out.external_data.add()
                entry.key, entry.value = key, value
            del data
    return skeleton


def _copy_fields(src, dst, skip: str) -> None:
    """Copy every set field of message ``src`` but ``skip`` into ``dst`` (no deep copy of
    the skipped field, which may hold gigabytes)."""
    for field, value in src.ListFields():
        if field.name == skip:
            continue
        if hasattr(value, "extend"):          # a repeated field
            getattr(dst, field.name).extend(value)
        elif field.message_type is not None:
            getattr(dst, field.name).CopyFrom(value)
        else:
            setattr(dst, field.name, value)
