"""``netc summary --format html``: one self-contained page (no server, no network:
a Content-Security-Policy forbids every fetch) with the drawing, the per-layer
table collapsible by block and sortable, bar charts of params, MACs and
activation memory per layer or block, the memory breakdown and the lint findings.
"""

from __future__ import annotations

from html import escape as _escape

from ..analysis import Analysis
from ..memory import DTYPE_BYTES, Memory
from ..render import FORMATS, field_text, human_bytes, human_count
from ..render.summary import incomplete, incomplete_text
from ..rollup import block_name, rollup
from ..safe_text import safe_text
from . import draw, lint_findings
from .model import Footnote, also_text, finding_layers, shape_text, size_text

CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")

STYLE = """
body{font:14px/1.45 "DejaVu Sans",Helvetica,Arial,sans-serif;color:#222;margin:24px auto;max-width:1500px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
.sub{color:#555}.drawing svg{max-width:100%;height:auto;display:block}.drawing{overflow-x:auto;border:1px solid #e3e6ea;border-radius:6px;padding:4px;background:#fff}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 10px;border-bottom:1px solid #eef0f3;white-space:nowrap}
th{background:#f4f6f8;text-align:left;position:sticky;top:0}th.sort{cursor:pointer}th.sort:after{content:" \\2195";color:#999}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.block td:first-child{font-weight:bold}
tr.finding td{background:#fff4e5}button.tog{border:0;background:none;cursor:pointer;width:1.4em;padding:0;color:#2c7a7b}
.charts{display:flex;gap:28px;flex-wrap:wrap}.chart{flex:1;min-width:320px}
.bar{display:flex;align-items:center;gap:6px;font-size:12px;margin:2px 0}.bar .l{flex:none;width:150px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.bar .t{flex:1;min-width:60px}.bar .b{display:block;height:12px;border-radius:2px;min-width:1px}
.bar .v{flex:none;width:140px;color:#555;white-space:nowrap}
.stack{display:flex;height:22px;border-radius:3px;overflow:hidden;margin:8px 0;max-width:900px}
.key{display:inline-block;width:11px;height:11px;margin-right:4px;border-radius:2px;vertical-align:-1px}
.error{color:#d62728}.warning{color:#b35f00}.info{color:#1f77b4}code{font-size:13px}
.tools button{margin-right:6px}
"""

SCRIPT = """
(function(){
  var table = document.getElementById('layers');
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var closed = {};
  function show(){
    rows.forEach(function(r){
      var anc = r.getAttribute('data-anc'), hidden = false;
      if (anc) anc.split(' ').forEach(function(a){ if (closed[a]) hidden = true; });
      r.style.display = hidden ? 'none' : '';
      var b = r.querySelector('button.tog');
      if (b) b.textContent = closed[r.getAttribute('data-id')] ? '\\u25B8' : '\\u25BE';
    });
  }
  function collapseTo(depth){
    closed = {};
    rows.forEach(function(r){
      if (r.classList.contains('block') && +r.getAttribute('data-depth') >= depth) closed[r.getAttribute('data-id')] = true;
    });
    show();
  }
  table.addEventListener('click', function(e){
    var b = e.target.closest('button.tog');
    if (!b) return;
    var id = b.closest('tr').getAttribute('data-id');
    closed[id] = !closed[id];
    show();
  });
  var dir = {};
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function(th, col){
    if (!th.classList.contains('sort')) return;
    th.addEventListener('click', function(){
      dir[col] = -(dir[col] || -1);
      var body = table.tBodies[0];
      rows.slice().sort(function(a, b){
        var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
        var d = (+x) - (+y);
        return d !== 0 ? d * dir[col] : (+a.getAttribute('data-order')) - (+b.getAttribute('data-order'));
      }).forEach(function(r){ body.appendChild(r); });
    });
  });
  document.getElementById('expand-all').addEventListener('click', function(){ closed = {}; show(); });
  document.getElementById('collapse-all').addEventListener('click', function(){ collapseTo(1); });
  collapseTo(+table.getAttribute('data-depth'));
})();
"""

MEMORY_COLOURS = {"parameters": "#5b8fd0", "gradients": "#9b7fc6", "optimizer state": "#e8a33d",
                  "saved activations": "#4fa3a5", "backward working": "#c9cdd3"}


def escape(text) -> str:
    """``text`` (a name, a path, a message) as HTML: ``safe_text``, then entities."""
    return _escape(safe_text(text))


def report(a: Analysis, mem: Memory, device_bytes: int | None = None) -> str:
    """The HTML page for ``a`` (a rolled-up analysis sets the table's initial depth)."""
    full = getattr(a, "full", None) or a
    depth = getattr(a, "depth", 0) or 1
    g = full.graph
    path = g.source.path if g.source else None
    from ..lint import ConfigError, RuleCrash

    try:
        findings, lint_error = (lint_findings(path) if path else []), None
    except (ConfigError, RuleCrash) as e:       # the report still shows everything else
        findings, lint_error = [], str(e)
    notes = [Footnote(n, d, d.layer) for n, d in enumerate(findings, 1)]
    t = full.totals
    inc = incomplete(full)
    ge = "≥ " if inc else ""
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{escape(g.name)} · netc summary</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(g.name)}</h1>",
        f'<div class="sub">{escape(path or "")} · input {shape_text(g.input_shape)} · {len(full.layers)} layers · '
        f"{ge}{t.params:,} params ({ge}{t.trainable_params:,} trainable) · {ge}{t.macs:,} MACs "
        f"({human_count(t.macs)}) · {ge}{t.flops:,} FLOPs per sample</div>",
        *([f'<p class="error" id="incomplete">{escape(incomplete_text(inc))}</p>'] if inc else []),
        "<h2>Drawing</h2>", f'<div class="drawing" id="drawing">{_inline(draw(full, findings=findings))}</div>',
        "<h2>Where the parameters, MACs and activations are</h2>", _charts(rollup(full, depth), mem),
        "<h2>Memory</h2>", _memory(mem, device_bytes),
        f"<h2>Lint findings ({len(findings)})</h2>",
        f'<p class="error">Not linted: {escape(lint_error)}</p>' if lint_error else _findings(notes),
        "<h2>Layers</h2>",
        '<p class="tools"><button id="expand-all" type="button">Expand all</button>'
        '<button id="collapse-all" type="button">Collapse to stages</button> '
        '<span class="sub">Click ▸ to open a block; click a column head to sort.</span></p>',
        _table(full, mem, depth, {layer for d in findings for layer in finding_layers(d)}),
        f"<script>{SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _inline(svg: str) -> str:
    return svg[svg.index("<svg"):]


def _table(a: Analysis, mem: Memory, depth: int, flagged: set[str]) -> str:
    """One row per block use (with sums) and per layer; rows carry their enclosing
    block uses so the script can fold them."""
    size = DTYPE_BYTES[mem.dtype] * mem.batch
    heads = [("Layer", False), ("Op", False), ("Output shape", False), ("Params", True), ("MACs", True),
             ("FLOPs", True), ("Activations", True), ("Receptive field", False)]
    out = [f'<table id="layers" data-depth="{depth}"><thead><tr>']
    for i, (h, numeric) in enumerate(heads):
        sortable = " sort" if numeric or i == 0 else ""
        out.append(f'<th class="{"n" if numeric else ""}{sortable}">{h}</th>')
    out.append("</tr></thead><tbody>")
    order = 0
    sums = _block_sums(a)
    flagged_blocks = {name for r in a.layers if r.name in flagged for name, _ in r.node.trace}
    opened: list[str] = []
    for r in a.layers:
        trace = [name for name, _ in r.node.trace]
        k = 0
        while k < len(opened) and k < len(trace) and opened[k] == trace[k]:
            k += 1
        del opened[k:]
        for level in range(k, len(trace)):        # a block use starts: its summary row
            bid = trace[level]
            s = sums[bid]
            op = f"{s['block']} · {size_text(len(s['children']), s['count'])}"
            out.append(_row(order, bid, op, shape_text(s["shape"]), s["params"],
                            s["macs"], s["flops"], s["activations"] * size, s["field"], trace[:level],
                            level + 1, bid, bid in flagged_blocks))
            opened.append(bid)
            order += 1
        out.append(_row(order, r.name, r.op, shape_text(r.output_shape), r.params, r.macs, r.flops,
                        r.activations * size, field_text(r), trace, 0, None, r.name in flagged))
        order += 1
    out.append("</tbody></table>")
    return "".join(out)


def _block_sums(a: Analysis) -> dict[str, dict]:
    """Per block use: its block's name, the block uses directly inside it, its layer count,
    sums, and its last layer's output shape and receptive field."""
    text = getattr(a.graph.source, "text", None)
    lines = None if text is None else text.splitlines()
    sums: dict[str, dict] = {}
    for r in a.layers:
        for level, (name, span) in enumerate(r.node.trace):
            s = sums.get(name)
            if s is None:
                s = sums[name] = {"block": block_name(span, lines), "count": 0, "params": 0, "macs": 0,
                                  "flops": 0, "activations": 0, "shape": r.output_shape, "children": set()}
            if level + 1 < len(r.node.trace):
                s["children"].add(r.node.trace[level + 1][0])
            s["count"] += 1
            s["params"] += r.params
            s["macs"] += r.macs
            s["flops"] += r.flops
            s["activations"] += r.activations
            s["shape"], s["field"] = r.output_shape, field_text(r)
    return sums


def _row(order, name, op, shape, params, macs, flops, act_bytes, rf, ancestors, block_depth, bid, flagged):
    cls = (["block"] if bid else []) + (["finding"] if flagged else [])
    attrs = f' data-order="{order}" data-anc="{escape(" ".join(ancestors))}"'
    if bid:
        attrs += f' data-id="{escape(bid)}" data-depth="{block_depth}"'
    indent = 1.4 * len(ancestors)
    toggle = '<button class="tog" type="button">▾</button>' if bid else '<span class="tog" style="display:inline-block;width:1.4em"></span>'
    return (f'<tr class="{" ".join(cls)}"{attrs}>'
            f'<td data-v="{order}" style="padding-left:{indent + 0.6:.1f}em">{toggle}{escape(name)}</td>'
            f"<td>{escape(op)}</td><td>{escape(shape)}</td>"
            f'<td class="n" data-v="{params}">{params:,}</td><td class="n" data-v="{macs}">{macs:,}</td>'
            f'<td class="n" data-v="{flops}">{flops:,}</td>'
            f'<td class="n" data-v="{act_bytes}">{human_bytes(act_bytes)}</td><td>{escape(rf)}</td></tr>')


def _charts(rolled: Analysis, mem: Memory) -> str:
    size = DTYPE_BYTES[mem.dtype] * mem.batch
    rows = rolled.layers
    charts = [("Parameters", "#5b8fd0", [r.params for r in rows], lambda v: f"{v:,}"),
              ("MACs", "#e8a33d", [r.macs for r in rows], lambda v: human_count(v)),
              ("Activation memory", "#4fa3a5", [r.activations * size for r in rows], human_bytes)]
    out = ['<div class="charts">']
    for title, colour, values, fmt in charts:
        top = max(values, default=0) or 1     # a model of which nothing was read: no rows
        total = sum(values) or 1
        out.append(f'<div class="chart"><h3>{title}</h3>')
        for r, v in zip(rows, values):
            pct = 100 * v / total
            bar = f'<span class="b" style="width:{100 * v / top:.2f}%;background:{colour}"></span>' if v else ""
            out.append(f'<div class="bar"><span class="l" title="{escape(r.name)}">{escape(r.name)}</span>'
                       f'<span class="t">{bar}</span><span class="v">{fmt(v)} ({pct:.1f}%)</span></div>')
        out.append("</div>")
    out.append("</div>")
    return "".join(out)


def _memory(mem: Memory, device_bytes: int | None) -> str:
    parts = {"parameters": mem.parameters, "gradients": mem.gradients, "optimizer state": mem.optimizer_state,
             "saved activations": mem.saved_activations, "backward working": mem.backward_working}
    total = mem.training or 1
    out = [f"<p>Batch {mem.batch}, {mem.dtype}, {mem.optimizer}: training needs <b>{human_bytes(mem.training)}</b>, "
           f"inference <b>{human_bytes(mem.inference)}</b> (parameters plus the peak of live activations).</p>",
           '<div class="stack">']
    for k, v in parts.items():
        out.append(f'<span title="{k}: {human_bytes(v)}" style="width:{100 * v / total:.2f}%;'
                   f'background:{MEMORY_COLOURS[k]}"></span>')
    out.append("</div><table><tbody>")
    for k, v in parts.items():
        out.append(f'<tr><td><span class="key" style="background:{MEMORY_COLOURS[k]}"></span>{k}</td>'
                   f'<td class="n">{human_bytes(v)}</td><td class="n">{v:,} B</td></tr>')
    out.append(f'<tr><td><b>training total</b></td><td class="n"><b>{human_bytes(mem.training)}</b></td>'
               f'<td class="n">{mem.training:,} B</td></tr>')
    out.append(f'<tr><td><b>inference peak</b></td><td class="n"><b>{human_bytes(mem.inference)}</b></td>'
               f'<td class="n">{mem.inference:,} B</td></tr></tbody></table>')
    if device_bytes is not None:
        train, infer = mem.max_batch(device_bytes)
        out.append(f"<p>Largest batch in {human_bytes(device_bytes)}: training {train:,}, inference {infer:,}.</p>")
    return "".join(out)


def _findings(notes: list[Footnote]) -> str:
    if not notes:
        return "<p>No findings.</p>"
    out = ["<ul>"]
    for f in notes:
        d = f.diagnostic
        where = f"{d.span}: " if d.span else ""
        layer = f" ({d.layer})" if d.layer and not d.message.startswith(d.layer) else ""
        out.append(f'<li class="{d.severity}">[{f.number}] <code>{escape(where)}{d.severity}[{d.code}]</code>'
                   f"{escape(layer)} {escape(d.message)}{escape(also_text(d))}</li>")
    out.append("</ul>")
    return "".join(out)


# every format of ``netc summary``: the renderers of netc/render, and this report
SUMMARY_FORMATS = {**FORMATS, "html": report}
