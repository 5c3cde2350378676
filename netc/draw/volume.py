"""The volume view, after the paper's Figures 2 and 7: each feature map a box,
left to right, with height from H, depth (drawn obliquely) from W and thickness
from C; the kernel drawn on the map it slides over; skip connections as arcs.

Sizes are logarithmic so that a 224×224×3 input and a 7×7×2048 map are both
visible: side(n) = 6 + 16·log2(n) pixels, thickness(c) = 3 + 5·log2(c), and a
vector of n elements is a bar 8 + 11·log2(n) high. A network wider than
``ROW_WIDTH`` wraps into rows, as text does: the flow and the skip arcs that
cross a row's end leave at its right edge and come back at the next row's left.
Cost: one pass over the items and one over the edges, linear in the size of the
network.
"""

from __future__ import annotations

import math

from .model import JOINS, SEVERITY_COLOURS, Footnote, Item, footnote_text, label, shape_text, short_name
from .svg import Svg, num, text_width

OBLIQUE = 0.5               # depth drawn at 45°, halved (cabinet projection)
GAP = 26                    # between one box's slot and the next
MARGIN = 24
LABEL_SIZE = 11
LINE = 14                   # label line height
ROW_WIDTH = 2400            # a longer network wraps into rows of at most this width


def side(n: int) -> float:
    return 6 + 16 * math.log2(max(n, 1))


def thickness(c: int) -> float:
    return 3 + 5 * math.log2(max(c, 1))


def bar(n: int) -> float:
    return 8 + 11 * math.log2(max(n, 1))


class _Box:
    """Where one item is drawn: front face (x, y, w, h) and oblique offset (dx, dy)."""

    def __init__(self, item: Item):
        shape = item.shape
        if len(shape) == 3:
            c, h, w = shape
            self.w, self.h, d = thickness(c), side(h), side(w) * OBLIQUE
        else:
            self.w, self.h, d = 7.0, bar(math.prod(shape)), 4.0
        self.dx = self.dy = d / math.sqrt(2)
        self.x = self.y = 0.0
        self.lines = [short_name(item), item.detail(), shape_text(item.shape)]
        self.label_w = max(text_width(t, LABEL_SIZE) for t in self.lines)
        self.extent = self.w + self.dx

    @property
    def slot(self) -> float:
        return max(self.extent, self.label_w)

    @property
    def top(self) -> float:                  # the highest point of the box, oblique face included
        return self.y - self.dy

    def face_point(self, u: float, v: float) -> tuple[float, float]:
        """A point of the right face (the H×W plane): u along W (0 front, 1 back), v along H."""
        return self.x + self.w + u * self.dx, self.y + v * self.h - u * self.dy


def _shade(colour: str, factor: float) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{min(255, max(0, round(v * factor))):02x}" for v in (r, g, b))


def render(name: str, subtitle: str, its: list[Item], notes: list[Footnote]) -> str:
    boxes = {it.name: _Box(it) for it in its}
    index = {it.name: i for i, it in enumerate(its)}
    tallest = max(b.h + b.dy for b in boxes.values())
    skips = [(index[s], i) for i, it in enumerate(its) for s in it.inputs
             if s in index and index[s] != i - 1]
    arc_band = 0 if not skips else 22 + 9 * math.log2(1 + max(j - i for i, j in skips))
    has_groups = any(it.kind != "block" and it.group for it in its)
    title_h = 46
    # one row's bands, top to bottom: arcs, boxes, three label lines, group brackets
    marks_band = 16 if any(k != "residual" for it in its if it.kind == "block" for k in it.joins) else 0
    to_axis = arc_band + marks_band + tallest / 2 + max(b.dy for b in boxes.values()) + 16
    row_h = to_axis + tallest / 2 + 18 + 3 * LINE + 6 + (34 if has_groups else 8)
    row_of, x, row = [], MARGIN, 0
    rows_w = [0.0]
    for it in its:
        b = boxes[it.name]
        if x > MARGIN and x + b.slot > ROW_WIDTH - MARGIN:
            row, x = row + 1, MARGIN
            rows_w.append(0.0)
        b.x = x + (b.slot - b.extent) / 2
        b.y = title_h + row * row_h + to_axis - b.h / 2
        row_of.append(row)
        rows_w[row] = x + b.slot + MARGIN
        x += b.slot + GAP
    width = max(max(rows_w), 2 * MARGIN + text_width(subtitle, LABEL_SIZE),
                2 * MARGIN + max((text_width(footnote_text(n), LABEL_SIZE) for n in notes), default=0))
    kinds = legend_kinds(its)
    width = max(width, 2 * MARGIN + max((LEGEND_INDENT + text_width(JOINS[k][2], LABEL_SIZE) for k in kinds),
                                        default=0))
    legend_y = title_h + (row + 1) * row_h
    notes_y = legend_y + LINE * len(kinds) + (6 if kinds else 0)
    height = notes_y + LINE * len(notes) + MARGIN
    layout = _Layout(title_h, row_h, to_axis, tallest, arc_band, width, row_of)

    svg = Svg()
    svg.text(MARGIN, 26, name, 16, font_weight="bold")
    svg.text(MARGIN, 42, subtitle, LABEL_SIZE, fill="#555555")
    _brackets(svg, its, boxes, layout)
    _arcs(svg, skips, its, boxes, layout)
    for i, it in enumerate(its):
        b = boxes[it.name]
        if i > 0 and its[i - 1].name in it.inputs:
            _link(svg, boxes[its[i - 1].name], b, it, layout, i)
        _box(svg, it, b)
        label_y = layout.axis(row_of[i]) + tallest / 2 + 18
        for k, text in enumerate(b.lines):
            svg.text(b.x + b.extent / 2, label_y + k * LINE, text, LABEL_SIZE, text_anchor="middle",
                     fill="#222222" if k == 0 else "#555555", font_weight="bold" if k == 0 else None)
    legend(svg, kinds, MARGIN, legend_y)
    for k, note in enumerate(notes):
        colour = SEVERITY_COLOURS[note.diagnostic.severity]
        svg.text(MARGIN, notes_y + k * LINE, footnote_text(note), LABEL_SIZE, fill=colour, class_="finding")
    return svg.document(width, height, name, "volume")


LEGEND_INDENT = 40          # the legend's sample mark and line, before its words


def legend_kinds(its: list[Item]) -> list[str]:
    """The kinds of join the drawing shows, as marks over blocks or as styled edges."""
    used = {k for it in its for k in it.joins if it.kind == "block"}
    used.update(k for it in its for k in it.edge_kinds.values())
    return [k for k in JOINS if k in used]


def legend(svg: Svg, kinds: list[str], x: float, y: float) -> None:
    """One line per kind of join shown: its mark, a sample of its edge, its meaning."""
    for n, k in enumerate(kinds):
        colour, dash, words = JOINS[k]
        cy = y + n * LINE - 4
        svg.open("g", class_=f"legend join-{k}")
        join_mark(svg, k, x + 7, cy)
        svg.line(x + 18, cy, x + LEGEND_INDENT - 6, cy, stroke=colour, stroke_width=1.4, stroke_dasharray=dash)
        svg.text(x + LEGEND_INDENT, y + n * LINE, words, LABEL_SIZE, fill="#444444")
        svg.close("g")


def join_mark(svg: Svg, kind: str, cx: float, cy: float) -> None:
    """A join's mark, about 12 px wide, centred on (cx, cy): a residual's arc, a gate's ⊗,
    a sum's ⊕, a concat's two bars."""
    colour = JOINS[kind][0]
    if kind == "residual":
        svg.path(f"M {num(cx - 7)} {num(cy + 4)} Q {num(cx)} {num(cy - 8)} {num(cx + 7)} {num(cy + 4)}",
                 fill="none", stroke=colour, stroke_width=1.4, class_="mark residual")
        return
    svg.open("g", class_=f"mark {kind}")
    if kind == "concat":
        svg.rect(cx - 6, cy - 5, 12, 10, rx=2, fill="#ffffff", stroke=colour, stroke_width=1.2)
        svg.line(cx - 1.5, cy - 3, cx - 1.5, cy + 3, stroke=colour, stroke_width=1.4)
        svg.line(cx + 1.5, cy - 3, cx + 1.5, cy + 3, stroke=colour, stroke_width=1.4)
    else:
        svg.add("circle", cx=cx, cy=cy, r=5, fill="#ffffff", stroke=colour, stroke_width=1.2)
        if kind == "gate":
            svg.line(cx - 3.2, cy - 3.2, cx + 3.2, cy + 3.2, stroke=colour, stroke_width=1.2)
            svg.line(cx - 3.2, cy + 3.2, cx + 3.2, cy - 3.2, stroke=colour, stroke_width=1.2)
        else:
            svg.line(cx - 3.5, cy, cx + 3.5, cy, stroke=colour, stroke_width=1.2)
            svg.line(cx, cy - 3.5, cx, cy + 3.5, stroke=colour, stroke_width=1.2)
    svg.close("g")


class _Layout:
    """Where the rows are: row r starts at top(r); its boxes are centred on axis(r)."""

    def __init__(self, title_h, row_h, to_axis, tallest, arc_band, width, row_of):
        self.title_h, self.row_h, self.to_axis, self.tallest = title_h, row_h, to_axis, tallest
        self.arc_band, self.width, self.row_of = arc_band, width, row_of

    def top(self, row: int) -> float:
        return self.title_h + row * self.row_h

    def axis(self, row: int) -> float:
        return self.top(row) + self.to_axis

    def groups_y(self, row: int) -> float:
        return self.axis(row) + self.tallest / 2 + 18 + 3 * LINE + 6


def _box(svg: Svg, it: Item, b: _Box) -> None:
    colour = it.colour
    stroke = SEVERITY_COLOURS[it.severity] if it.marks else "#33415c"
    sw = 2.5 if it.marks else 0.8
    x, y, w, h, dx, dy = b.x, b.y, b.w, b.h, b.dx, b.dy
    svg.open("g", id=f"item-{it.name}", class_=f"item {it.kind}")
    svg.title(_tooltip(it))
    if it.kind == "block":                    # a stack of slabs: the layers behind the block's output
        for k in (2, 1):
            _faces(svg, x - 6 * k, y, w, h, dx, dy, _shade(colour, 1.3 - 0.1 * k), "#33415c", 0.6)
    _faces(svg, x, y, w, h, dx, dy, colour, stroke, sw)
    above = y - dy - 6                        # the bottom of what is drawn over the box
    if it.has_residual:                       # a residual block: a small arc over it
        svg.path(f"M {num(x + 2)} {num(y - dy - 4)} Q {num(x + b.extent / 2)} {num(y - dy - 20)} "
                 f"{num(x + b.extent - 2)} {num(y - dy - 4)}", fill="none", stroke=JOINS["residual"][0],
                 stroke_width=1.4, class_="mark residual")
        above -= 14
    others = [k for k in it.joins if k != "residual"] if it.kind == "block" else []
    for n, k in enumerate(others):            # a gate, a concat, a plain sum: its mark, side by side
        join_mark(svg, k, x + b.extent / 2 + (n - (len(others) - 1) / 2) * 15, above - 6)
    if others:
        above -= 16
    if it.marks:
        marks = ",".join(str(m.number) for m in it.marks)
        svg.text(x + b.extent / 2, above, f"[{marks}]", 10,
                 text_anchor="middle", fill=SEVERITY_COLOURS[it.severity], font_weight="bold")
    svg.close("g")


def _faces(svg: Svg, x, y, w, h, dx, dy, colour: str, stroke: str, sw: float) -> None:
    """A box in cabinet projection: the front face, the top lit, the side in shade."""
    svg.rect(x, y, w, h, fill=colour, stroke=stroke, stroke_width=sw)
    svg.polygon([(x, y), (x + w, y), (x + w + dx, y - dy), (x + dx, y - dy)],
                fill=_shade(colour, 1.18), stroke=stroke, stroke_width=sw)
    svg.polygon([(x + w, y), (x + w + dx, y - dy), (x + w + dx, y + h - dy), (x + w, y + h)],
                fill=_shade(colour, 0.82), stroke=stroke, stroke_width=sw)


def _tooltip(it: Item) -> list[str]:
    """The tooltip's lines (each shown through ``safe_text`` by ``Svg.title``)."""
    r = it.report
    if r is None:
        return [f"{it.name}: input {shape_text(it.shape)}"]
    return [label(it), f"params {r.params:,} · MACs {r.macs:,}", *(footnote_text(m) for m in it.marks)]


def _link(svg: Svg, prev: _Box, b: _Box, it: Item, layout: _Layout, i: int) -> None:
    """The flow from one map to the next: an arrow, and for a windowed op the kernel
    on the map it slides over with lines to the output pixel. Across a row's end the
    arrow leaves at the right edge and comes back at the next row's left."""
    row_a, row_b = layout.row_of[i - 1], layout.row_of[i]
    a_axis, b_axis = layout.axis(row_a), layout.axis(row_b)
    if row_a == row_b:
        svg.line(prev.x + prev.extent, a_axis, b.x - 2, b_axis, stroke="#8792a2", stroke_width=1)
    else:
        edge = layout.width - MARGIN / 2
        svg.line(prev.x + prev.extent, a_axis, edge, a_axis, stroke="#8792a2", stroke_width=1)
        svg.line(MARGIN / 2, b_axis, b.x - 2, b_axis, stroke="#8792a2", stroke_width=1)
    svg.polygon([(b.x - 1, b_axis), (b.x - 6, b_axis - 3), (b.x - 6, b_axis + 3)], fill="#8792a2")
    ws = it.entry_windows
    if not ws or len(ws) != 2:
        return
    (wh, ww) = ws
    fv = min(0.6, max(0.1, wh.kernel / max(wh.size, 1)))
    fu = min(0.6, max(0.1, ww.kernel / max(ww.size, 1)))
    u0, v0 = 0.5 - fu / 2, 0.35 - fv / 2
    corners = [prev.face_point(u, v) for u, v in
               ((u0, v0), (u0 + fu, v0), (u0 + fu, v0 + fv), (u0, v0 + fv))]
    if row_a == row_b:                   # lines to the output pixel only within a row
        target = b.face_point(0.5, 0.35)
        target = (b.x + b.w * 0.5, target[1] + b.dy * 0.5)
        for cx, cy in (corners[0], corners[2]):
            svg.line(cx, cy, *target, stroke="#1d3557", stroke_width=0.7, stroke_opacity=0.7)
    svg.polygon(corners, fill="#f1c40f", fill_opacity=0.85, stroke="#1d3557", stroke_width=0.8)


def _arcs(svg: Svg, skips: list[tuple[int, int]], its: list[Item], boxes: dict, layout: _Layout) -> None:
    """Skip connections: an arc above the boxes from the producer to the consumer,
    higher for longer spans; one that crosses a row's end leaves at the right edge
    and comes back at the left edge of the consumer's row."""
    for i, j in skips:
        a, b = boxes[its[i].name], boxes[its[j].name]
        kind = its[j].edge_kinds.get(its[i].name)
        colour, dash = JOINS[kind][:2] if kind else ("#8792a2", None)
        x1, y1 = a.x + a.extent / 2, a.top
        x2, y2 = b.x + b.extent / 2, b.top
        lift = layout.arc_band - 9 * math.log2(1 + j - i) + 8
        row_a, row_b = layout.row_of[i], layout.row_of[j]
        peak_a, peak_b = layout.top(row_a) + lift, layout.top(row_b) + lift
        if row_a == row_b:
            d = f"M {num(x1)} {num(y1)} C {num(x1)} {num(peak_a)} {num(x2)} {num(peak_a)} {num(x2)} {num(y2 - 5)}"
        else:
            edge, start = layout.width - MARGIN / 2, MARGIN / 2
            d = (f"M {num(x1)} {num(y1)} Q {num(x1)} {num(peak_a)} {num(min(x1 + 20, edge))} {num(peak_a)} "
                 f"H {num(edge)} M {num(start)} {num(peak_b)} H {num(max(x2 - 20, start))} "
                 f"Q {num(x2)} {num(peak_b)} {num(x2)} {num(y2 - 5)}")
        svg.path(d, fill="none", stroke=colour, stroke_width=1.3, stroke_opacity=0.8, stroke_dasharray=dash,
                 class_=f"skip {kind or 'plain'}", data_from=its[i].name, data_to=its[j].name)
        svg.polygon([(x2, y2 - 1), (x2 - 3, y2 - 7), (x2 + 3, y2 - 7)], fill=colour)


def _brackets(svg: Svg, its: list[Item], boxes: dict, layout: _Layout) -> None:
    """Under expanded layers, a bracket naming each top-level block use they belong to
    (one bracket per row where a use wraps)."""
    runs: list[tuple[str, int, int]] = []
    for i, it in enumerate(its):
        g = it.group if it.kind != "block" else None
        if g and runs and runs[-1][0] == g and runs[-1][2] == i - 1 and layout.row_of[i] == layout.row_of[i - 1]:
            runs[-1] = (g, runs[-1][1], i)
        elif g:
            runs.append((g, i, i))
    for g, i, j in runs:
        a, b = boxes[its[i].name], boxes[its[j].name]
        x1, x2 = a.x, b.x + b.extent
        y = layout.groups_y(layout.row_of[i])
        svg.path(f"M {num(x1)} {num(y - 6)} V {num(y)} H {num(x2)} V {num(y - 6)}", fill="none",
                 stroke="#4fa3a5", stroke_width=1.2)
        svg.text((x1 + x2) / 2, y + 14, g, LABEL_SIZE, text_anchor="middle", fill="#2c7a7b",
                 font_weight="bold")
