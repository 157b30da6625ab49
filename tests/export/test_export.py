"""export_html writes one offline HTML page with the workbench's colours; to_networkx mirrors to_dict."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from trace_workbench.export import export_html, remote_resources, to_networkx
from trace_workbench.trace import GRAPH, bundle, node
from trace_workbench.trace.picture import COLORS
from trace_workbench.trace.serialize import to_dict


def _graph() -> tuple:
    """A parameter, a value, an operation, a failing operation; the output is `out`."""
    x = node(3, name="x", trainable=True)
    out = x * 2 + node(1, name="one")
    try:
        node("<script>alert(1)</script>", name="evil") + 1
    except TypeError as e:
        failure = e.exception_node
    return x, out, failure


def _vis_nodes(page: str) -> list[dict]:
    """The node list pyvis embedded in the page (its `new vis.DataSet([...])` literal)."""
    match = re.search(r"nodes = new vis\.DataSet\((\[.*?\])\);", page, re.DOTALL)
    assert match, "the page holds no vis.DataSet of nodes"
    return json.loads(match.group(1))


def test_html_is_self_contained_and_coloured_by_kind(tmp_path: Path) -> None:
    x, out, _ = _graph()
    out.backward("should be larger")
    path = export_html(out, tmp_path / "graph.html")

    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "graph.html"
    assert remote_resources(page) == []
    assert "vis.Network" in page and "<script src" not in page and "<link" not in page
    nodes = {n["id"]: n for n in _vis_nodes(page)}
    expected = {d["id"]: d for d in to_dict(out)["nodes"]}
    assert nodes.keys() == expected.keys()
    for node_id, fields in expected.items():
        fill, border = COLORS[fields["kind"]]
        assert nodes[node_id]["color"]["background"] == fill
        assert nodes[node_id]["color"]["border"] == border
        assert nodes[node_id]["level"] == fields["level"]
    output = next(n for n in expected.values() if n["output"])
    assert nodes[output["id"]]["borderWidth"] == 3
    param = next(n for n in expected.values() if n["kind"] == "parameter")
    tooltip = nodes[param["id"]]["title"]
    assert tooltip.startswith(f"{param['name']} (parameter, trainable)")
    assert "data: 3" in tooltip and "feedback: should be larger" in tooltip


def test_exception_nodes_and_markup_in_data_stay_text(tmp_path: Path) -> None:
    _, _, failure = _graph()
    page = export_html(failure, tmp_path / "error.html").read_text(encoding="utf-8")
    kinds = {n["kind"] for n in _vis_nodes(page)}
    assert "exception" in kinds
    exception = next(n for n in _vis_nodes(page) if n["kind"] == "exception")
    assert exception["color"]["background"] == COLORS["exception"][0]
    assert "<script>alert(1)</script>" not in page  # the data is embedded escaped, not as markup
    assert any("<script>alert(1)</script>" in n["title"] for n in _vis_nodes(page))


def test_scope_export_marks_outside_inputs_and_uses_the_label(tmp_path: Path) -> None:
    outside = node("Hello", name="greeting", trainable=True)
    with GRAPH.scope("cell 7") as scope:
        shout = outside + "!"
        shout.upper()
    page = export_html(scope, tmp_path / "scope.html").read_text(encoding="utf-8")

    assert "<title>cell 7</title>" in page
    nodes = {n["title"].split()[0]: n for n in _vis_nodes(page)}
    assert nodes[outside.name]["shapeProperties"]["borderDashes"]
    assert nodes[shout.name]["shapeProperties"]["borderDashes"] is False


def test_remote_resources_finds_what_a_page_would_fetch() -> None:
    page = ('<link href="https://cdn.example/x.css" rel="stylesheet"><script src="//cdn.example/y.js"></script>'
            '<a href="https://example.org">a link is not fetched</a><script>var u = "http://x";</script>')
    assert remote_resources(page) == ["https://cdn.example/x.css", "//cdn.example/y.js"]


def test_networkx_graph_carries_to_dict_fields() -> None:
    @bundle()
    def double(v):
        """Twice v."""
        return v * 2

    x = node(4, name="x", trainable=True)
    out = double(x) + 1
    graph = to_networkx(out)
    data = to_dict(out)

    assert set(graph.nodes) == {d["id"] for d in data["nodes"]}
    assert set(graph.edges) == {(e["source"], e["target"]) for e in data["edges"]}
    for fields in data["nodes"]:
        assert graph.nodes[fields["id"]] == {k: v for k, v in fields.items() if k != "id"}
    import networkx

    assert networkx.is_directed_acyclic_graph(graph)
    sink = [n for n in graph if graph.out_degree(n) == 0]
    assert [graph.nodes[n]["output"] for n in sink] == [True]
    assert graph.nodes[next(n for n in graph if graph.nodes[n]["name"].startswith("x"))]["kind"] == "parameter"


def test_networkx_graph_of_a_scope_keeps_its_label() -> None:
    with GRAPH.scope("cell 3") as scope:
        node(2, trainable=True) * 5
    graph = to_networkx(scope)
    assert graph.graph["label"] == "cell 3"
    assert sorted(graph.nodes[n]["kind"] for n in graph) == ["operation", "parameter", "value"]


def test_importing_the_export_layer_imports_neither_pyvis_nor_networkx() -> None:
    import subprocess

    code = ("import sys, trace_workbench.export; "
            "print(any(m.split('.')[0] in ('pyvis', 'networkx') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
