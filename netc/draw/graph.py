"""The graph view: a layered top-down layout of layers or blocks, for networks that
branch (inception modules, U-Nets, detector necks).

Each top-level block use is laid out on its own, as a unit, and framed: within it,
layering is the longest path from its entry; within a row, items sit midway
between their leftmost and rightmost inputs, pushed apart where they would
overlap. The units are then layered the same way, those of one rank side by side
(a detector's heads, the neck's next step), so that no frame ever holds an item of
another. A picture taller than ``MAX_COLUMN`` wraps into columns, as a newspaper
does; an edge between columns is drawn as a pair of named ends: ``→ cat1`` at its
producer, ``↓ p4`` over its consumer. Every label is inside its box (name, op or
block size, output shape channels first), so none lies on an edge or a frame; an
edge is coloured and dashed by the join it leads to (model.JOINS). Linear in
items + edges.
"""

from __future__ import annotations

import math

from .model import JOINS, SEVERITY_COLOURS, Footnote, Item, footnote_text, shape_text, short_name
from .svg import Svg, num, text_width
from .volume import LEGEND_INDENT, _shade, _tooltip, join_mark, legend, legend_kinds

SIZE = 11
SHAPE_SIZE = 10
TAG_SIZE = 9.5
TAG_LINE = 13               # the room of a tag over a box
LINE = 14
HGAP = 22                   # between items of one row
VGAP = 40                   # between rows inside a unit
UNIT_GAP = 26               # between units of one row
UNIT_VGAP = 44              # between rows of units
MARGIN = 24
PAD = 8
FRAME_X, FRAME_TOP, FRAME_BOTTOM = 12, 24, 12    # a frame's padding around its items
MAX_COLUMN = 1800           # a taller picture wraps into columns of about this height
COLUMN_GAP = 60
LANE = 9                    # between the lanes of long edges, right of a column
TOP = 58.0
EDGE = "#8792a2"


def render(name: str, subtitle: str, its: list[Item], notes: list[Footnote]) -> str:
    n = len(its)
    index = {it.name: i for i, it in enumerate(its)}
    ins = [[index[s] for s in it.inputs if s in index] for it in its]
    lines = [[short_name(it), it.detail(), shape_text(it.shape)] for it in its]
    badges = [_badges(it) for it in its]
    w = [max(text_width(ls[1], SIZE), text_width(ls[2], SHAPE_SIZE) * 1.1,
             text_width(ls[0], SIZE) * 1.1 + _badges_width(b)) + 2 * PAD for ls, b in zip(lines, badges)]
    h = [len(ls) * LINE + PAD for ls in lines]

    # units: a top-level block use (framed), or one item alone
    unit_of, units, framed = [0] * n, [], []
    for i, it in enumerate(its):
        g = it.group if it.kind != "block" or it.report.node.trace else None
        if g is not None and units and framed[-1] == g:
            units[-1].append(i)
        else:
            units.append([i])
            framed.append(g)
        unit_of[i] = len(units) - 1

    # inner layering of each unit (independent of x), then the units' ranks
    rank = [0] * n
    for members in units:
        for i in members:
            rank[i] = 1 + max((rank[s] for s in ins[i] if unit_of[s] == unit_of[i]), default=-1)
    inner_rows = []
    for u, members in enumerate(units):
        rows: list[list[int]] = [[] for _ in range(1 + max(rank[i] for i in members))]
        for i in members:
            rows[rank[i]].append(i)
        inner_rows.append(rows)
    inner_h = [[max(h[i] for i in row) for row in rows] for rows in inner_rows]
    pad_top = [FRAME_TOP if framed[u] else 0 for u in range(len(units))]
    pad_bottom = [FRAME_BOTTOM if framed[u] else 0 for u in range(len(units))]
    unit_h = [pad_top[u] + sum(hs) + VGAP * (len(hs) - 1) + pad_bottom[u] for u, hs in enumerate(inner_h)]
    urank = [0] * len(units)
    for u, members in enumerate(units):
        urank[u] = 1 + max((urank[unit_of[s]] for i in members for s in ins[i] if unit_of[s] != u), default=-1)
    top_rows: list[list[int]] = [[] for _ in range(1 + max(urank))]
    for u in range(len(units)):
        top_rows[urank[u]].append(u)
    row_h = [max(unit_h[u] for u in row) for row in top_rows]

    # columns: consecutive rows of units, each column at most about MAX_COLUMN tall
    crossing = [0] * (len(row_h) + 1)        # edges that cross the cut after each row
    for t in range(n):
        for s in ins[t]:
            a, b = urank[unit_of[s]], urank[unit_of[t]]
            if a < b:
                crossing[a] += 1
                crossing[b] -= 1
    for r in range(1, len(crossing)):
        crossing[r] += crossing[r - 1]
    column_of_row, row_y = _columns(row_h, crossing)
    columns = column_of_row[-1] + 1
    column = [column_of_row[urank[unit_of[i]]] for i in range(n)]

    # edges between columns: a named end at each side, its width kept free beside the box
    out_tag: list[list[int]] = [[] for _ in range(n)]
    in_tag: list[list[int]] = [[] for _ in range(n)]
    tag_room = [0.0] * n
    for t in range(n):
        for s in ins[t]:
            if column[s] != column[t]:
                out_tag[s].append(t)
                in_tag[t].append(s)
    def far_name(i: int, other: int) -> str:      # a unit's name for an item in another framed unit
        g = framed[unit_of[i]]
        return g if g and unit_of[i] != unit_of[other] else its[i].name

    out_text = ["→ " + ", ".join(dict.fromkeys(far_name(t, s) for t in out_tag[s])) if out_tag[s] else ""
                for s in range(n)]
    in_text = ["↓ " + ", ".join(dict.fromkeys(far_name(s, t) for s in in_tag[t])) if in_tag[t] else ""
               for t in range(n)]
    # room right of a box: for the tag beside it, or the part of the tag over it that passes its right edge
    right = [max(text_width(out_text[i], TAG_SIZE) + 12 if out_text[i] else 0,
                 text_width(in_text[i], TAG_SIZE) + 4 - w[i]) for i in range(n)]
    left = [0.0] * n
    # above its consumer: a tag line more before the inner row that holds one (the columns stay)
    for u, rows in enumerate(inner_rows):
        for k, row in enumerate(rows):
            if any(in_text[i] for i in row):
                inner_h[u][k] += TAG_LINE
                for i in row:
                    tag_room[i] = TAG_LINE
    unit_h = [pad_top[u] + sum(hs) + VGAP * (len(hs) - 1) + pad_bottom[u] for u, hs in enumerate(inner_h)]
    row_h = [max(unit_h[u] for u in row) for row in top_rows]
    for r in range(1, len(row_h)):
        if column_of_row[r] == column_of_row[r - 1]:
            row_y[r] = row_y[r - 1] + row_h[r - 1] + UNIT_VGAP

    # x: each unit's rows, then the rows of units; all relative to the unit's or the column's left
    cx = [0.0] * n
    yy = [0.0] * n
    unit_w = [0.0] * len(units)
    for u, rows in enumerate(inner_rows):
        y = pad_top[u]
        for row, rh in zip(rows, inner_h[u]):
            want = {i: _middle([cx[s] for s in ins[i] if unit_of[s] == u]) for i in row}
            _place(row, want, cx, lambda i: left[i] + w[i] + right[i], lambda i: left[i] + w[i] / 2, HGAP)
            for i in row:
                yy[i] = y + tag_room[i] + (rh - tag_room[i] - h[i]) / 2
            y += rh + VGAP
        lo = min(cx[i] - w[i] / 2 - left[i] for i in units[u])
        hi = max(cx[i] + w[i] / 2 + right[i] for i in units[u])
        pad = FRAME_X if framed[u] else 0
        for i in units[u]:
            cx[i] += pad - lo
        unit_w[u] = hi - lo + 2 * pad
    ux = [0.0] * len(units)
    col_right = [0.0] * columns
    for r, row in enumerate(top_rows):
        c = column_of_row[r]
        want = {u: _middle([ux[unit_of[s]] + cx[s] for i in units[u] for s in ins[i]
                            if unit_of[s] != u and column[s] == c]) for u in row}     # centred under its inputs
        starts = {}
        _place(row, want, starts, lambda u: unit_w[u], lambda u: unit_w[u] / 2, UNIT_GAP)
        for u in row:
            ux[u] = starts[u] - unit_w[u] / 2
    col_left = [math.inf] * columns
    for u in range(len(units)):
        c = column_of_row[urank[u]]
        col_left[c] = min(col_left[c], ux[u])
        col_right[c] = max(col_right[c], ux[u] + unit_w[u])

    # long edges inside a column (skipping a row of units) run in lanes right of it
    lanes = [0] * columns
    lane_of: dict[tuple[int, int], int] = {}
    for t in range(n):
        for s in ins[t]:
            if unit_of[s] != unit_of[t] and column[s] == column[t] and urank[unit_of[t]] - urank[unit_of[s]] > 1:
                lane_of[s, t] = lanes[column[t]]
                lanes[column[t]] += 1
    offset, x0 = [0.0] * columns, MARGIN
    for c in range(columns):
        offset[c] = x0 - (col_left[c] if col_left[c] < math.inf else 0)
        x0 += col_right[c] - (col_left[c] if col_left[c] < math.inf else 0) + LANE * (lanes[c] + 1) + COLUMN_GAP
    for i in range(n):
        u = unit_of[i]
        cx[i] += ux[u] + offset[column[i]]
        yy[i] += row_y[urank[u]]
    lane_x = [offset[c] + col_right[c] + LANE for c in range(columns)]
    unit_right = [max(cx[i] + w[i] / 2 + right[i] for i in members) for members in units]

    kinds = legend_kinds(its)
    height_used = max(row_y[r] + row_h[r] for r in range(len(top_rows)))
    width = max(x0 - COLUMN_GAP + MARGIN, MARGIN * 2 + text_width(subtitle, SIZE),
                MARGIN * 2 + max((LEGEND_INDENT + text_width(JOINS[k][2], SIZE) for k in kinds), default=0),
                MARGIN * 2 + max((text_width(footnote_text(f), SIZE) for f in notes), default=0))
    legend_y = height_used + 30
    notes_y = legend_y + LINE * len(kinds) + (6 if kinds else 0)
    height = notes_y + LINE * len(notes) + MARGIN

    svg = Svg()
    svg.text(MARGIN, 26, name, 16, font_weight="bold")
    svg.text(MARGIN, 42, subtitle, SIZE, fill="#555555")
    for u, members in enumerate(units):
        if framed[u]:
            c = column[members[0]]
            x, y = ux[u] + offset[c], row_y[urank[u]]
            svg.rect(x, y, unit_w[u], unit_h[u], rx=8, fill="#eef6f6", stroke="#4fa3a5", stroke_width=1,
                     stroke_dasharray="4 3", class_="frame", data_unit=framed[u])
            svg.text(x + 6, y + 15, framed[u], SIZE, fill="#2c7a7b", font_weight="bold", class_="frame-label")
    geo = _Geo(cx, yy, w, h)
    for t, it in enumerate(its):
        for s in ins[t]:
            kind = it.edge_kinds.get(its[s].name)
            if column[s] != column[t]:
                continue
            if (s, t) in lane_of:
                _lane_edge(svg, s, t, geo, lane_x[column[t]] + LANE * lane_of[s, t], kind, its)
            elif unit_of[s] == unit_of[t] and rank[t] - rank[s] > 1 and abs(cx[s] - cx[t]) < (w[s] + w[t]) / 4:
                _lane_edge(svg, s, t, geo, unit_right[unit_of[t]] + 5, kind, its)    # inside the frame
            else:
                _edge(svg, s, t, geo, kind, its)
    for i, it in enumerate(its):
        x, y = cx[i] - w[i] / 2, yy[i]
        if out_tag[i]:
            _tag(svg, x + w[i], y + LINE, x + w[i] + 10, out_text[i], "out", its[i].name,
                 [its[t].name for t in out_tag[i]])
        if in_tag[i]:
            _tag(svg, x + 2, y, x + 2, in_text[i], "in", its[i].name, [its[s].name for s in in_tag[i]])
        _node(svg, it, x, y, w[i], h[i], lines[i], badges[i])
    legend(svg, kinds, MARGIN, legend_y)
    for k, note in enumerate(notes):
        svg.text(MARGIN, notes_y + k * LINE, footnote_text(note), SIZE,
                 fill=SEVERITY_COLOURS[note.diagnostic.severity], class_="finding")
    return svg.document(width, height, name, "graph")


class _Geo:
    def __init__(self, cx, y, w, h):
        self.cx, self.y, self.w, self.h = cx, y, w, h


def _place(row: list, want: dict, centre: list | dict, width, anchor, gap: float) -> None:
    """Place the row's members left to right in the order of where they want to be (their
    anchor at ``want``), pushed apart by ``gap``; the row then centred on its wishes.
    ``centre`` receives each member's anchor x."""
    order = sorted(row, key=lambda k: (want[k], k))
    right = None
    starts = {}
    for k in order:
        start = want[k] - anchor(k)
        if right is not None:
            start = max(start, right + gap)
        starts[k], right = start, start + width(k)
    shift = sum(want[k] for k in row) / len(row) - (starts[order[0]] + right) / 2
    for k in row:
        centre[k] = starts[k] + anchor(k) + shift


def _columns(row_h: list[float], crossing: list[int]) -> tuple[list[int], list[float]]:
    """The column of each row of units and its top: columns of about equal height, none
    much above MAX_COLUMN, each cut where the fewest edges cross between the column's
    60% and 110% of that height. Each row is visited at most twice."""
    total = sum(row_h) + UNIT_VGAP * (len(row_h) - 1)
    target = total / max(1, math.ceil(total / MAX_COLUMN))
    column_of_row, row_y = [0] * len(row_h), [TOP] * len(row_h)
    start, col = 0, 0
    while start < len(row_h):
        y, best, r = 0.0, None, start
        while r < len(row_h):
            if r > start and y + row_h[r] > target * 1.1:
                break
            y += row_h[r] + UNIT_VGAP
            if y >= target * 0.6 and (best is None or crossing[r] <= crossing[best]):
                best = r
            r += 1
        end = len(row_h) - 1 if r == len(row_h) else best if best is not None else r - 1
        y = TOP
        for k in range(start, end + 1):
            column_of_row[k], row_y[k] = col, y
            y += row_h[k] + UNIT_VGAP
        start, col = end + 1, col + 1
    return column_of_row, row_y


def _middle(values: list[float]) -> float:
    """Where an item wants to sit: midway between its leftmost and rightmost input."""
    return (min(values) + max(values)) / 2 if values else 0.0


def _style(kind: str | None) -> dict:
    colour, dash = (JOINS[kind][0], JOINS[kind][1]) if kind else (EDGE, None)
    return {"fill": "none", "stroke": colour, "stroke_width": 1.2, "stroke_dasharray": dash}


def _edge(svg: Svg, s: int, t: int, g: _Geo, kind: str | None, its) -> None:
    """An S-curve from the producer's bottom to the consumer's top."""
    style = _style(kind)
    x1, y1 = g.cx[s], g.y[s] + g.h[s]
    x2, y2 = g.cx[t], g.y[t]
    mid = (y1 + y2) / 2
    svg.path(f"M {num(x1)} {num(y1)} C {num(x1)} {num(mid)} {num(x2)} {num(mid)} {num(x2)} {num(y2 - 5)}",
             class_=f"edge {kind or 'plain'}", data_from=its[s].name, data_to=its[t].name, **style)
    svg.polygon([(x2, y2 - 1), (x2 - 3.5, y2 - 7), (x2 + 3.5, y2 - 7)], fill=style["stroke"])


def _lane_edge(svg: Svg, s: int, t: int, g: _Geo, lane: float, kind: str | None, its) -> None:
    """An edge that skips rows: from the producer's right side into a lane, down it, and
    into the consumer's right side."""
    style = _style(kind)
    x1, y1 = g.cx[s] + g.w[s] / 2, g.y[s] + g.h[s] / 2 + 6
    x2, y2 = g.cx[t] + g.w[t] / 2, g.y[t] + g.h[t] / 2 + 6
    svg.path(f"M {num(x1)} {num(y1)} C {num(lane)} {num(y1)} {num(lane)} {num(y1)} {num(lane)} {num(y1 + 20)} "
             f"L {num(lane)} {num(y2 - 20)} C {num(lane)} {num(y2)} {num(lane)} {num(y2)} {num(x2 + 6)} {num(y2)}",
             class_=f"edge skip {kind or 'plain'}", data_from=its[s].name, data_to=its[t].name, **style)
    svg.polygon([(x2 + 1, y2), (x2 + 7, y2 - 3.5), (x2 + 7, y2 + 3.5)], fill=style["stroke"])


def _tag(svg: Svg, x_box: float, y: float, x_text: float, text: str, side: str, item: str,
         others: list[str]) -> None:
    """A named end of an edge between columns: ``→ cat1`` right of its producer, joined
    to it by a short line; ``↓ p4`` over its consumer."""
    svg.open("g", class_=f"continuation {side}", data_item=item, data_others=" ".join(others))
    if side == "out":
        svg.line(x_box, y, x_text - 2, y, stroke=EDGE, stroke_width=1.2)
        svg.text(x_text, y + 3.5, text, TAG_SIZE, fill="#4b5563")
    else:                                    # above the consumer's top-left corner
        svg.text(x_text, y - 5, text, TAG_SIZE, fill="#4b5563")
    svg.close("g")


def _badges(it: Item) -> list[str]:
    """What is marked on a box's first line, right-aligned: its joins (a block's), its findings."""
    out = list(it.joins) if it.kind == "block" else []
    if it.marks:
        out.append("[" + ",".join(str(m.number) for m in it.marks) + "]")
    return out


def _badges_width(badges: list[str]) -> float:
    return sum(16 if b in JOINS else text_width(b, 10) + 6 for b in badges) + (6 if badges else 0)


def _node(svg: Svg, it: Item, x, y, w, h, lines, badges) -> None:
    stroke = SEVERITY_COLOURS[it.severity] if it.marks else "#33415c"
    svg.open("g", id=f"item-{it.name}", class_=f"item {it.kind}")
    svg.title(_tooltip(it))
    if it.kind == "block":
        svg.rect(x + 4, y + 4, w, h, rx=5, fill=_shade(it.colour, 1.3), stroke="#33415c", stroke_width=0.6)
    svg.rect(x, y, w, h, rx=5, fill=_shade(it.colour, 1.45), stroke=stroke,
             stroke_width=2.5 if it.marks else 1, class_="box")
    svg.rect(x, y, 6, h, fill=it.colour, stroke="none")
    for k, t in enumerate(lines):
        svg.text(x + PAD + 2, y + PAD / 2 + LINE * (k + 1) - 3, t, SHAPE_SIZE if k == 2 else SIZE,
                 fill="#222222" if k == 0 else "#6b7280" if k == 2 else "#555555",
                 font_weight="bold" if k == 0 else None, class_="shape" if k == 2 else None)
    bx = x + w - PAD
    for b in reversed(badges):
        if b in JOINS:
            join_mark(svg, b, bx - 6, y + PAD / 2 + LINE - 7)
            bx -= 16
        else:
            svg.text(bx, y + PAD / 2 + LINE - 3, b, 10, fill=SEVERITY_COLOURS[it.severity], font_weight="bold",
                     text_anchor="end")
            bx -= text_width(b, 10) + 6
    svg.close("g")
