"""export_html: a trace graph as one self-contained HTML page (pyvis / vis-network), readable offline.

The page carries its scripts and styles inline; the node colours are those of the static picture
`backward(visualize=True)` draws (trace_workbench.trace.picture.COLORS; the widget has its own,
themed ones), and hovering a node shows its details.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from trace_workbench.extras import require
from trace_workbench.trace.graph import Scope
from trace_workbench.trace.nodes import Node
from trace_workbench.trace.picture import COLORS
from trace_workbench.trace.serialize import short, to_dict

__all__ = ["export_html", "remote_resources"]

_REMOTE = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""",
    re.IGNORECASE)
# pyvis 0.3's template loads Bootstrap from a CDN in every mode; it only styles the select and
# filter menus, which this export does not use, so those two tags are removed. The template also
# keeps a commented-out reference to ../node_modules, removed for a clean file.
_BOOTSTRAP = re.compile(r"<(link|script)\b[^>]*?https://cdn\.jsdelivr\.net/npm/bootstrap@[^>]*>(\s*</script>)?",
                        re.IGNORECASE | re.DOTALL)
_COMMENTED_NODE_MODULES = re.compile(r"<!--(?:(?!-->).)*?node_modules.*?-->", re.DOTALL)
_PAGE_STYLE = ("<style>body{margin:0;font-family:sans-serif}"
               "#mynetwork{border:none!important}"
               "div.vis-tooltip{white-space:pre-wrap;max-width:480px;font-family:monospace}</style>")

_OPTIONS = {
    "layout": {"hierarchical": {"enabled": True, "direction": "UD", "sortMethod": "directed",
                                "levelSeparation": 110, "nodeSpacing": 220}},
    "physics": {"enabled": False},
    "interaction": {"hover": True, "tooltipDelay": 120, "navigationButtons": False},
    "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.6}}, "color": {"color": "#666666"},
              "smooth": False},
    "nodes": {"shape": "box", "font": {"face": "sans-serif", "size": 13, "multi": False},
              "margin": 8, "widthConstraint": {"maximum": 220}},
}


def remote_resources(html: str) -> list[str]:
    """URLs of scripts, stylesheets, images or frames that `html` would fetch from the network."""
    return _REMOTE.findall(html)


def _tooltip(fields: dict[str, Any]) -> str:
    """Plain text shown on hover (vis-network shows a string title as text, never as markup)."""
    flags = [fields["kind"]] + [flag for flag in ("trainable", "output", "external") if fields.get(flag)]
    lines = [f"{fields['name']} ({', '.join(flags)})", f"type: {fields['type']}"]
    if fields["description"]:
        lines.append(f"description: {fields['description']}")
    lines.append(f"data: {fields['data']}")
    lines.extend(f"feedback: {text}" for text in fields["feedback"])
    return "\n".join(lines)


def export_html(obj: Node | Scope | Iterable[Node], path: str | os.PathLike[str], *, title: str | None = None,
                height: str = "750px", max_chars: int = 500) -> Path:
    """Write the graph of a node (it and all it was computed from), of a scope or of some nodes to
    `path` as one HTML file that opens offline in any browser, and return the path.

    Parameters are red, operations blue, exceptions dark red and plain values grey, as in the
    workbench; an output has a thick border and a scope's outside inputs a dashed one. Hovering a
    node shows its name, kind, type, description, data (cut to `max_chars`) and feedback. Needs the
    `export` extra (pyvis).
    """
    Network = require("pyvis.network", "export").Network

    graph = to_dict(obj, max_chars)
    net = Network(height=height, width="100%", directed=True, cdn_resources="in_line", heading="")
    for fields in graph["nodes"]:
        fill, border = COLORS[fields["kind"]]
        label = f"{fields['name']}\n{short(fields['data'].replace(chr(10), ' '), 40)}"
        net.add_node(
            fields["id"], label=label, title=_tooltip(fields), level=fields["level"], shape="box",
            color={"background": fill, "border": border,
                   "highlight": {"background": fill, "border": "#222222"},
                   "hover": {"background": fill, "border": "#222222"}},
            borderWidth=3 if fields["output"] else 1,
            shapeProperties={"borderDashes": [5, 4] if fields["external"] else False},
            kind=fields["kind"],
        )
    for edge in graph["edges"]:
        net.add_edge(edge["source"], edge["target"])
    net.set_options(json.dumps(_OPTIONS))
    page = net.generate_html(notebook=False)
    page = _COMMENTED_NODE_MODULES.sub("", _BOOTSTRAP.sub("", page))
    heading = title if title is not None else graph.get("label") or "trace graph"
    page = page.replace("<head>", f"<head>\n<title>{_escape(str(heading))}</title>\n{_PAGE_STYLE}", 1)
    remote = remote_resources(page)
    if remote:  # a pyvis version whose template fetches more than the Bootstrap tags removed above
        raise RuntimeError(f"pyvis produced a page that loads {remote} from the network; this pyvis version's "
                           "template is not supported for offline export")
    target = Path(path)
    target.write_text(page, encoding="utf-8")
    return target


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
