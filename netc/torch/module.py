"""``netc.to_torch``: the network as a live ``torch.nn.Module``.

The module is the class ``netc torch`` writes (netc/torch/source.py), compiled in
memory, with every tensor of its state_dict then drawn from the file's init scheme by
netc's seeded draw, the draw ``netc build`` makes for the ONNX initializer of the same
name: at the same seed, the module's weights are the built model's."""

from __future__ import annotations

import hashlib
import linecache
import types

import torch

from ..initializers import seeded_draw
from .source import generate


def to_torch(network, seed: int = 0) -> torch.nn.Module:
    """The ``torch.nn.Module`` of ``network`` (a loaded ``netc.Network`` of a netc file),
    weights drawn with ``seed``; raises ``BuildError`` for an op with no torch rule."""
    gen = generate(network)
    digest = hashlib.sha256(gen.text.encode()).hexdigest()[:12]
    filename = f"<netc.to_torch {network.name} {digest}>"
    module = types.ModuleType(f"netc_torch_{digest}")
    module.__file__ = filename
    lines = gen.text.splitlines(keepends=True)
    linecache.cache[filename] = (len(gen.text), None, lines, filename)   # tracebacks show the source
    exec(compile(gen.text, filename, "exec"), module.__dict__)
    model = getattr(module, gen.top)()
    model.netc_source = gen.text
    state = model.state_dict()
    with torch.no_grad():
        for e in gen.entries:
            t = state[e.key]
            if e.init is None:
                continue
            values = seeded_draw(seed, e.onnx_name, e.init, e.shape, e.fan_in, e.fan_out)
            t.copy_(torch.from_numpy(values).reshape(t.shape))
    return model
