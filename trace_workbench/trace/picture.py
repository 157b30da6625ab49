"""GraphPicture: a layered drawing of part of the trace as SVG (parameters on top, output at the
bottom), which notebooks render; what backward(visualize=True) returns."""

from __future__ import annotations

import html
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trace_workbench.trace.nodes import IDENTITY_OPERATORS, Node
from trace_workbench.trace.serialize import node_dict, node_id

COLORS = {  # kind: (fill, border)
    "parameter": ("#FFE5E5", "#FF7E79"),
    "operation": ("#DEEBF6", "#5C9BD5"),
    "exception": ("#FF6B6B", "#8B0000"),
    "value": ("#F4F4F4", "#9E9E9E"),
}
BOX_W, GAP_X, GAP_Y, PAD, LINE, FONT = 210, 24, 44, 8, 15, 11
# (field, lines at most, monospace, bold): what a box shows, each field wrapped to the box's width.
FIELDS = (("title", 1, False, True), ("description", 2, False, False), ("data", 3, True, False))
NARROW, WIDE = set("ijlft.,:;'!|()[]{} "), set("mwMW@%")


def text_width(text: str, mono: bool = False, bold: bool = False) -> float:
    """A generous estimate of `text`'s drawn width in pixels at FONT px (DejaVu-like fonts), so a wrapped
    label stays inside its box in any usual sans-serif or monospace font."""
    if mono:
        return len(text) * 0.62 * FONT
    ems = sum(0.42 if c in NARROW else 1.0 if c in WIDE else 0.8 if c.isupper() else 0.66 for c in text)
    return ems * FONT * (1.1 if bold else 1.0)


def wrap(text: str, max_lines: int, mono: bool = False, bold: bool = False) -> list[str]:
    """`text` in at most `max_lines` lines that each fit BOX_W - 2 PAD (words kept whole where they fit,
    long words cut), the last line ending in "…" when text was left out."""
    room = BOX_W - 2 * PAD
    lines: list[str] = []
    rest = " ".join(text.split())
    while rest and len(lines) < max_lines:
        end = len(rest)
        while text_width(rest[:end], mono, bold) > room:
            end -= 1
        if end < len(rest):
            space = rest.rfind(" ", 0, end + 1)
            end = space if space > 0 else end
        lines.append(rest[:end].rstrip())
        rest = rest[end:].lstrip()
    if rest and lines:
        last = lines[-1]
        while last and text_width(last + "…", mono, bold) > room:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


class GraphPicture:
    """Nodes and edges with a layered SVG rendering (`svg`, `save(path)`, shown inline in Jupyter)."""

    def __init__(self, nodes: list[dict[str, Any]], edges: list[tuple[str, str]], print_limit: int = 100) -> None:
        self.nodes = nodes
        self.edges = edges
        self.print_limit = print_limit

    @classmethod
    def of_nodes(cls, nodes: Iterable[Node], output: Node | None = None, simple: bool = True,
                 reverse: bool = False, print_limit: int = 100) -> GraphPicture:
        """Picture the given nodes; with `simple`, identity/clone steps are drawn as plain edges."""
        nodes = list(nodes)
        members = {id(n) for n in nodes}

        def skip(n: Node) -> bool:
            return simple and n is not output and len(n.parents) == 1 and (
                n.op_name in IDENTITY_OPERATORS)

        def source(p: Node) -> Node:
            while skip(p) and id(p.parents[0]) in members:
                p = p.parents[0]
            return p

        kept = [n for n in nodes if not skip(n)]
        edges = []
        for n in kept:
            for p in n.parents:
                if id(p) in members:
                    edge = (node_id(source(p)), node_id(n))
                    edges.append(edge[::-1] if reverse else edge)
        dicts = []
        for n in kept:
            d = node_dict(n, print_limit)
            d["output"] = n is output
            dicts.append(d)
        return cls(dicts, list(dict.fromkeys(edges)), print_limit)

    def _labels(self, d: dict[str, Any]) -> list[tuple[str, bool, bool]]:
        """The lines drawn in node `d`'s box: (text, monospace, bold)."""
        fields = {"title": f"{d['name']} · {d['kind']}", "description": d["description"] or "", "data": d["data"]}
        return [(line, mono, bold) for field, most, mono, bold in FIELDS
                for line in wrap(fields[field], most, mono, bold)]

    @property
    def svg(self) -> str:
        """The picture as a standalone SVG document; each label is wrapped to its box, boxes grow in height
        to hold their lines, and a white background keeps the grey edges readable in dark themes."""
        layers: dict[int, list[dict[str, Any]]] = {}
        for d in self.nodes:
            layers.setdefault(d["level"], []).append(d)
        ranks = sorted(layers)
        labels = {d["id"]: self._labels(d) for d in self.nodes}
        heights = {d["id"]: 2 * PAD + LINE * len(labels[d["id"]]) for d in self.nodes}
        widest = max((len(v) for v in layers.values()), default=1)
        width = widest * (BOX_W + GAP_X) + GAP_X
        where: dict[str, tuple[float, float]] = {}
        top = GAP_Y
        for rank in ranks:
            layer = layers[rank]
            offset = (width - len(layer) * (BOX_W + GAP_X) + GAP_X) / 2
            for col, d in enumerate(layer):
                where[d["id"]] = (offset + col * (BOX_W + GAP_X), top)
            top += max(heights[d["id"]] for d in layer) + GAP_Y
        height = max(top, 2 * GAP_Y)
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
                 f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="{FONT}">',
                 '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
                 'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>',
                 f'<rect class="background" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>']
        for a, b in self.edges:
            if a in where and b in where:
                (x1, y1), (x2, y2) = where[a], where[b]
                down = y1 <= y2
                parts.append(f'<line x1="{x1 + BOX_W / 2:.0f}" y1="{y1 + (heights[a] if down else 0):.0f}" '
                             f'x2="{x2 + BOX_W / 2:.0f}" y2="{y2 + (0 if down else heights[b]):.0f}" stroke="#666" '
                             'marker-end="url(#arrow)"/>')
        for d in self.nodes:
            x, y = where[d["id"]]
            fill, border = COLORS[d["kind"]]
            title = html.escape(f"{d['name']}\n{d['description']}\n{d['data']}")
            texts = []
            for i, (line, mono, bold) in enumerate(labels[d["id"]]):
                style = ' font-family="monospace"' if mono else ' font-weight="bold"' if bold else ' fill="#444"'
                texts.append(f'<text x="{x + PAD:.0f}" y="{y + PAD + LINE * i + FONT:.0f}"{style}>'
                             f'{html.escape(line)}</text>')
            parts.append(
                f'<g><title>{title}</title><rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{heights[d["id"]]}" '
                f'rx="6" fill="{fill}" stroke="{border}" stroke-width="{3 if d.get("output") else 1.2}"/>'
                + "".join(texts) + "</g>")
        parts.append("</svg>")
        return "".join(parts)

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the SVG to `path`."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.svg)

    def render(self, filename: str | os.PathLike[str] = "Digraph.gv", directory: str | os.PathLike[str] | None = None,
               view: bool = False, format: str = "svg") -> str:
        """graphviz's ``Digraph.render`` as Trace's pictures have it: write ``<filename>.svg`` (in `directory`),
        open it in a browser with `view`, and return its path. Only the SVG format is drawn."""
        if format != "svg":
            raise ValueError(f"GraphPicture renders SVG only, not {format!r}; use render(format='svg') or save()")
        path = os.path.join(os.fspath(directory or "."), f"{os.fspath(filename)}.svg")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.save(path)
        if view:
            import webbrowser

            webbrowser.open(Path(path).resolve().as_uri())
        return path

    def __repr__(self) -> str:
        return f"GraphPicture({len(self.nodes)} nodes, {len(self.edges)} edges)"
