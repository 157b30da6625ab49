"""GraphPicture: the SVG drawing backward(visualize=True) returns and notebooks render."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest

from trace_workbench.trace import node
from trace_workbench.trace.picture import GraphPicture
from trace_workbench.trace.propagators import TraceGraph

SVG = "{http://www.w3.org/2000/svg}"


def parse(picture: GraphPicture) -> ET.Element:
    root = ET.fromstring(picture.svg)
    assert root.tag == f"{SVG}svg"
    return root


def test_backward_visualize_draws_every_node_and_edge() -> None:
    p = node("hello", trainable=True, name="greeting")
    x = node(" world", name="rest")
    y = p + x
    z = y.upper()
    picture = z.backward("shorter", visualize=True)
    assert isinstance(picture, GraphPicture)
    root = parse(picture)
    boxes = root.findall(f"{SVG}g")
    assert len(boxes) == len(picture.nodes) == 4
    titles = [g.find(f"{SVG}title").text for g in boxes]
    for n in (p, x, y, z):
        assert any(t.startswith(n.name) for t in titles)
    lines = root.findall(f"{SVG}line")
    assert len(lines) == len(picture.edges) == 3
    assert picture._repr_svg_() == picture.svg
    kinds = {d["name"]: d["kind"] for d in picture.nodes}
    assert kinds[p.name] == "parameter" and kinds[z.name] == "operation"
    assert [d["name"] for d in picture.nodes if d["output"]] == [z.name]
    assert "4 nodes" in repr(picture)


def test_text_is_escaped() -> None:
    hostile = node("<script>alert('x')</script> & more", name="hostile")
    picture = (hostile + "!").backward("", visualize=True)
    assert "<script>" not in picture.svg
    root = parse(picture)  # still well-formed XML
    assert any("<script>" in (t.text or "") for t in root.iter(f"{SVG}title"))


def test_simple_visualization_skips_clones() -> None:
    p = node(1, trainable=True)
    c = p.clone()
    out = c + 1
    simple = out.backward("", visualize=True)
    full = out.backward("", visualize=True, simple_visualization=False)
    assert c.name not in [d["name"] for d in simple.nodes]
    assert c.name in [d["name"] for d in full.nodes]
    ids = {d["name"]: d["id"] for d in full.nodes}
    assert (ids[p.name], ids[out.name]) in simple.edges  # the clone is drawn as a plain edge


def test_reverse_plot_flips_the_edges() -> None:
    p = node(1, trainable=True)
    out = p + 1
    forward = out.backward("", visualize=True)
    reverse = out.backward("", visualize=True, reverse_plot=True)
    assert sorted(reverse.edges) == sorted((b, a) for a, b in forward.edges)
    parse(reverse)


def test_print_limit_cuts_long_values() -> None:
    long = node("x" * 1000, trainable=True)
    picture = (long + "y").backward("", visualize=True, print_limit=20)
    assert all(len(d["data"]) < 60 for d in picture.nodes)
    assert "more characters" in picture.nodes[0]["data"]


def test_save_and_trace_graph_visualize(tmp_path) -> None:
    p = node(2, trainable=True)
    out = p * 3
    out.backward("bigger")
    graph = p.feedback[out][0]
    assert isinstance(graph, TraceGraph)
    picture = graph.visualize()
    assert len(picture.nodes) == len(graph.graph) == 3
    path = tmp_path / "graph.svg"
    picture.save(path)
    assert path.read_text(encoding="utf-8") == picture.svg
    assert TraceGraph().visualize().svg.startswith("<svg")


def test_render_writes_the_svg_where_graphviz_would_and_returns_its_path(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    picture = (node(1, name="a") + 1).backward("more", visualize=True)
    assert picture.render() == os.path.join(".", "Digraph.gv.svg")
    assert (tmp_path / "Digraph.gv.svg").read_text() == picture.svg
    path = picture.render("step", directory=tmp_path / "pictures")
    assert path == os.path.join(str(tmp_path / "pictures"), "step.svg") and ET.parse(path).getroot() is not None
    with pytest.raises(ValueError, match="SVG only, not 'pdf'"):
        picture.render(format="pdf")
