"""Where an ONNX node came from: the source line that built it, read from the node.

Two writers are understood:

- ``netc build`` stamps every node's ``doc_string`` with ``FILE:LINE`` of the netc file;
- ``torch.onnx.export(dynamo=True)`` writes, in each node's ``metadata_props``,
  ``pkg.torch.onnx.stack_trace`` (Python's traceback text, outermost frame first:
  ``File "/src/model.py", line 42, in forward`` then the line's code) and
  ``pkg.torch.onnx.name_scopes`` (the module path as a Python list literal,
  ``['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d']``: the root module, each
  enclosing module, the FX node last).

The source of a torch node is the innermost frame outside torch's own code (a path
with a ``torch`` folder, or a ``<...>`` pseudo file), so the user lands on the line of
their model, not on ``torch/nn/modules/conv.py``. Each text is scanned once with
bounded patterns: linear in its size.
"""

from __future__ import annotations

import re

STACK_TRACE = "pkg.torch.onnx.stack_trace"
NAME_SCOPES = "pkg.torch.onnx.name_scopes"
MAX_SCOPES_CHARS = 1 << 16          # longer name_scopes texts are ignored, never parsed

_DOC_ORIGIN = re.compile(r"([^\s:;]+):(\d{1,9})\b")
_FRAME = re.compile(r'^[ \t]*File "([^"\n]{1,4096})", line (\d{1,9})', re.MULTILINE)
# one item of the list literal, matched only where the scan stands: an unclosed quote ends
# the scan, so no character is read twice (linear, whatever the quotes and escapes)
_SCOPE_ITEM = re.compile(r"""[^'"]*(?:'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)")""")


def doc_origin(doc_string: str) -> tuple[str, int] | None:
    """``(file, line)`` from a netc build's ``FILE:LINE`` doc string, else None."""
    m = _DOC_ORIGIN.match(doc_string)
    return (m.group(1), int(m.group(2))) if m else None


def user_frame(stack_trace: str) -> tuple[str, int] | None:
    """``(file, line)`` of the innermost frame of ``stack_trace`` outside torch, else None."""
    found = None
    for m in _FRAME.finditer(stack_trace):
        file = m.group(1)
        if not _is_torch(file):
            found = (file, int(m.group(2)))
    return found


def _is_torch(file: str) -> bool:
    return file.startswith("<") or "torch" in re.split(r"[\\/]", file)[:-1]


def module_path(name_scopes: str) -> str:
    """The PyTorch module that holds the node, dotted (``layer1.0.conv1``), from the
    ``name_scopes`` list literal; '' for the root module or an unreadable text.

    Scopes are the path of each enclosing module, the FX node's own name last; scopes
    that do not extend the previous one (relative names) are joined with dots."""
    return torch_scope(name_scopes)[0]


def torch_scope(name_scopes: str) -> tuple[str, str]:
    """(module path, FX node name) from the ``name_scopes`` list literal: ``['', 'layer1',
    'layer1.0', 'add']`` -> ``('layer1.0', 'add')``; ('', '') for an unreadable text."""
    if len(name_scopes) > MAX_SCOPES_CHARS:
        return "", ""
    scopes, i = [], 0
    while (m := _SCOPE_ITEM.match(name_scopes, i)) is not None:
        scopes.append(m.group(1) or m.group(2) or "")
        i = m.end()
    if not scopes:
        return "", ""
    return _join(scopes[:-1]), scopes[-1]


def _join(scopes: list[str]) -> str:
    path = ""
    for s in scopes:
        if not s:
            continue
        path = s if not path or s.startswith(path + ".") else f"{path}.{s}"
    return path
