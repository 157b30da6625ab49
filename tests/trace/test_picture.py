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


def _fonts(size: float) -> dict[tuple[bool, bool], object]:
    """DejaVu Sans, Sans Bold and Sans Mono at `size` px (matplotlib ships them; browsers here draw SVG's
    sans-serif and monospace with them), keyed by (monospace, bold)."""
    import matplotlib
    from PIL import ImageFont

    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    return {(mono, bold): ImageFont.truetype(os.path.join(folder, name), size)
            for (mono, bold), name in {(False, False): "DejaVuSans.ttf", (False, True): "DejaVuSans-Bold.ttf",
                                       (True, False): "DejaVuSansMono.ttf"}.items()}


def test_every_label_fits_inside_its_box_as_the_font_draws_it() -> None:
    code = node("def strange_sort_list(lst):\n    lst = sorted(lst)\n    return [lst.pop(0) for _ in lst]",
                trainable=True, name="strange_sort_list_code_parameter_with_a_long_name",
                description="[ParameterNode] This is the code of the function strange_sort_list, which the "
                            "optimizer may rewrite WHOLLY OR IN PART when the tests fail.")
    wide = node("W" * 80 + "@%" * 20, name="MMMMMMMMMMMMMMMMMMMMMMMMMMMMMM")
    out = code + wide
    root = parse(out.backward("shorter", visualize=True))
    fonts = _fonts(float(root.get("font-size")))
    background = root.find(f"{SVG}rect")  # dark text on light boxes, grey edges: on white in any theme
    assert (background.get("fill"), background.get("width"), background.get("height")) == (
        "#ffffff", root.get("width"), root.get("height"))
    boxes = root.findall(f"{SVG}g")
    assert len(boxes) == 3
    for box in boxes:
        rect = box.find(f"{SVG}rect")
        left, top = float(rect.get("x")), float(rect.get("y"))
        right, bottom = left + float(rect.get("width")), top + float(rect.get("height"))
        texts = box.findall(f"{SVG}text")
        assert len(texts) >= 2
        for text in texts:
            font = fonts[(text.get("font-family") == "monospace", text.get("font-weight") == "bold")]
            x, baseline = float(text.get("x")), float(text.get("y"))
            ascent, descent = font.getmetrics()
            assert left < x and x + font.getlength(text.text) < right, text.text
            assert top < baseline - ascent and baseline + descent < bottom, text.text


def test_long_labels_wrap_to_several_lines_and_say_when_cut() -> None:
    described = node("a b c " * 200, trainable=True, name="p",
                     description="words on two lines")
    picture = (described + "!").backward("", visualize=True)
    root = parse(picture)
    box = next(g for g in root.findall(f"{SVG}g") if g.find(f"{SVG}title").text.startswith(f"{described.name}\n"))
    lines = [t.text for t in box.findall(f"{SVG}text")]
    assert lines[0] == f"{described.name} · parameter"
    assert len(lines) == 6  # the title, two lines of description, three of data
    shown = next(d for d in picture.nodes if d["name"] == described.name)
    assert " ".join(lines[1:3]) == shown["description"]  # whole words, nothing left out
    assert lines[-1].endswith("…") and lines[3].startswith("a b c")
