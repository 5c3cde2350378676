"""The graph view: a layered top-down layout of layers or blocks with shapes on
the edges, for networks that branch (inception modules, U-Nets, detector necks).

Layering is the longest path from the input; within a row, items sit midway
between their leftmost and rightmost inputs, pushed apart where they would overlap.
Items of one top-level block use are framed together. Linear in items + edges.
"""

from __future__ import annotations

from .model import SEVERITY_COLOURS, Footnote, Item, footnote_text, shape_text, short_name
from .svg import Svg, num, text_width
from .volume import _shade, _tooltip

SIZE = 11
LINE = 14
HGAP = 22
VGAP = 46
MARGIN = 24
PAD = 8


def render(name: str, subtitle: str, its: list[Item], notes: list[Footnote]) -> str:
    index = {it.name: i for i, it in enumerate(its)}
    rank = [0] * len(its)
    for i, it in enumerate(its):
        rank[i] = 1 + max((rank[index[s]] for s in it.inputs if s in index), default=-1)
    lines = [[short_name(it), it.detail()] for it in its]
    w = [max(text_width(t, SIZE) for t in ls) + 2 * PAD for ls in lines]
    h = [len(ls) * LINE + PAD for ls in lines]
    rows: list[list[int]] = [[] for _ in range(max(rank) + 1)]
    for i in range(len(its)):
        rows[rank[i]].append(i)
    cx = [0.0] * len(its)
    y = [0.0] * len(its)
    top = 58.0
    for row in rows:
        want = {i: _middle([cx[index[s]] for s in its[i].inputs if s in index]) for i in row}
        order = sorted(row, key=lambda i: (want[i], i))
        right = None
        for i in order:
            left = want[i] - w[i] / 2
            if right is not None:
                left = max(left, right + HGAP)
            cx[i], right = left + w[i] / 2, left + w[i]
        shift = _mean([want[i] for i in row], 0.0) - (cx[order[0]] - w[order[0]] / 2 + right) / 2
        tallest = max(h[i] for i in row)
        for i in row:
            cx[i] += shift
            y[i] = top + (tallest - h[i]) / 2
        top += tallest + VGAP
    left_edge = min(cx[i] - w[i] / 2 for i in range(len(its))) - MARGIN - 70
    for i in range(len(its)):
        cx[i] -= left_edge
    width = max(max(cx[i] + w[i] / 2 for i in range(len(its))) + MARGIN + 70,
                max(cx) + max(w) / 2 + 24 + MARGIN,
                MARGIN * 2 + text_width(subtitle, SIZE),
                MARGIN * 2 + max((text_width(footnote_text(n), SIZE) for n in notes), default=0))
    notes_y = top - VGAP + 30
    height = notes_y + LINE * len(notes) + MARGIN

    svg = Svg()
    svg.text(MARGIN, 26, name, 16, font_weight="bold")
    svg.text(MARGIN, 42, subtitle, SIZE, fill="#555555")
    _frames(svg, its, cx, y, w, h)
    half_width = max(w) / 2
    for i, it in enumerate(its):
        for s in it.inputs:
            if s in index:
                _edge(svg, index[s], i, cx, y, w, h, rank, half_width)
    for i, it in enumerate(its):             # each tensor's shape once, under its producer
        if i + 1 < len(its) or not it.inputs:
            svg.text(cx[i] + 5, y[i] + h[i] + 14, shape_text(it.shape), 9.5, fill="#6b7280")
    for i, it in enumerate(its):
        _node(svg, it, cx[i] - w[i] / 2, y[i], w[i], h[i], lines[i])
    for k, note in enumerate(notes):
        svg.text(MARGIN, notes_y + k * LINE, footnote_text(note), SIZE,
                 fill=SEVERITY_COLOURS[note.diagnostic.severity], class_="finding")
    return svg.document(width, height, name, "graph")


def _middle(values: list[float]) -> float:
    """Where an item wants to sit: midway between its leftmost and rightmost input."""
    return (min(values) + max(values)) / 2 if values else 0.0


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def _frames(svg: Svg, its, cx, y, w, h) -> None:
    """A frame around the items of each top-level block use, labelled with its name."""
    boxes: dict[str, list[float]] = {}
    for i, it in enumerate(its):
        g = it.group if it.kind != "block" or it.report.node.trace else None
        if not g:
            continue
        x1, y1, x2, y2 = cx[i] - w[i] / 2, y[i], cx[i] + w[i] / 2, y[i] + h[i]
        b = boxes.setdefault(g, [x1, y1, x2, y2])
        b[:] = [min(b[0], x1), min(b[1], y1), max(b[2], x2), max(b[3], y2)]
    for g, (x1, y1, x2, y2) in boxes.items():
        svg.rect(x1 - 12, y1 - 20, x2 - x1 + 24, y2 - y1 + 40, rx=8, fill="#eef6f6", stroke="#4fa3a5",
                 stroke_width=1, stroke_dasharray="4 3")
        svg.text(x1 - 6, y1 - 7, g, SIZE, fill="#2c7a7b", font_weight="bold")


def _edge(svg: Svg, s: int, t: int, cx, y, w, h, rank, half_width: float) -> None:
    """An S-curve from the producer's bottom to the consumer's top; an edge that skips
    rows in the same column (an identity shortcut) runs in a lane to the right of it."""
    style = {"fill": "none", "stroke": "#8792a2", "stroke_width": 1.2}
    if rank[t] - rank[s] > 1 and abs(cx[s] - cx[t]) < half_width:
        lane = max(cx[s], cx[t]) + half_width + 18
        x1, y1 = cx[s] + w[s] / 2, y[s] + h[s] / 2
        x2, y2 = cx[t] + w[t] / 2, y[t] + h[t] / 2
        svg.path(f"M {num(x1)} {num(y1)} C {num(lane)} {num(y1)} {num(lane)} {num(y1)} {num(lane)} {num(y1 + 24)} "
                 f"L {num(lane)} {num(y2 - 24)} C {num(lane)} {num(y2)} {num(lane)} {num(y2)} {num(x2 + 6)} {num(y2)}",
                 class_="skip", **style)
        svg.polygon([(x2 + 1, y2), (x2 + 7, y2 - 3.5), (x2 + 7, y2 + 3.5)], fill="#8792a2")
        return
    x1, y1 = cx[s], y[s] + h[s]
    x2, y2 = cx[t], y[t]
    mid = (y1 + y2) / 2
    svg.path(f"M {num(x1)} {num(y1)} C {num(x1)} {num(mid)} {num(x2)} {num(mid)} {num(x2)} {num(y2 - 5)}", **style)
    svg.polygon([(x2, y2 - 1), (x2 - 3.5, y2 - 7), (x2 + 3.5, y2 - 7)], fill="#8792a2")


def _node(svg: Svg, it: Item, x, y, w, h, lines) -> None:
    stroke = SEVERITY_COLOURS[it.severity] if it.marks else "#33415c"
    svg.open("g", id=f"item-{it.name}", class_=f"item {it.kind}")
    svg.title(_tooltip(it))
    if it.kind == "block":
        svg.rect(x + 4, y + 4, w, h, rx=5, fill=_shade(it.colour, 1.3), stroke="#33415c", stroke_width=0.6)
    svg.rect(x, y, w, h, rx=5, fill=_shade(it.colour, 1.45), stroke=stroke,
             stroke_width=2.5 if it.marks else 1)
    svg.rect(x, y, 6, h, fill=it.colour, stroke="none")
    for k, t in enumerate(lines):
        svg.text(x + PAD + 2, y + PAD / 2 + LINE * (k + 1) - 3, t, SIZE, fill="#222222" if k == 0 else "#555555",
                 font_weight="bold" if k == 0 else None)
    if it.marks:
        svg.text(x + w + 4, y + 12, "[" + ",".join(str(m.number) for m in it.marks) + "]", 10,
                 fill=SEVERITY_COLOURS[it.severity], font_weight="bold")
    svg.close("g")
