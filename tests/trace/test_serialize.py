"""to_dict: JSON-safe nodes and edges of a node's graph, a scope, or a collection of nodes."""

from __future__ import annotations

import json
import math

import pytest

from trace_workbench.trace import GRAPH, ExecutionError, bundle, node, to_dict
from trace_workbench.trace.serialize import node_kind, short


class HugeRepr:
    def __repr__(self) -> str:
        return "<" + "x" * 100_000 + ">"


class BrokenJson:
    """Neither JSON-serializable nor sensibly printable in one line."""

    def __init__(self) -> None:
        self.cycle = self

    def __repr__(self) -> str:
        return "BrokenJson(\n  cycle=...\n)"


def by_name(d: dict) -> dict[str, dict]:
    return {n["name"]: n for n in d["nodes"]}


def test_a_node_graph_is_json_safe_with_kinds_and_edges() -> None:
    p = node("prompt", trainable=True, name="p")
    x = node(2, name="x")
    y = p + "!"
    z = x * 3
    try:
        node(1) / node(0, name="zero")
    except ExecutionError as e:
        failed = e.exception_node
    for output in (y, z, failed):
        d = to_dict(output)
        json.loads(json.dumps(d))
    d = to_dict(y)
    nodes = by_name(d)
    assert nodes[p.name]["kind"] == "parameter" and nodes[p.name]["trainable"] is True
    assert nodes[y.name]["kind"] == "operation" and nodes[y.name]["output"] is True
    assert nodes[y.parents[1].name]["kind"] == "value"
    assert nodes[y.name]["data"] == "prompt!" and nodes[y.name]["type"] == "str"
    assert nodes[y.name]["description"] == y.description and nodes[y.name]["level"] == 1
    assert all(n["external"] is False for n in d["nodes"])
    ids = {n["name"]: n["id"] for n in d["nodes"]}
    assert {(e["source"], e["target"]) for e in d["edges"]} == {
        (ids[p.name], ids[y.name]), (ids[y.parents[1].name], ids[y.name])}
    assert by_name(to_dict(failed))[failed.name]["kind"] == "exception"
    assert node_kind(failed) == "exception"


@pytest.mark.parametrize("data", [HugeRepr(), BrokenJson(), {1, 2}, b"\x00\xff", math.nan, math.inf, 1 + 2j,
                                  {"nested": [object(), None, (1, 2)]}, lambda: 1, type, "é€😀"])
def test_arbitrary_data_is_json_safe(data) -> None:
    n = node(data)
    d = to_dict(n)
    text = json.dumps(d, allow_nan=False)
    assert len(text) < 2_000
    assert isinstance(d["nodes"][0]["data"], str)


def test_a_huge_repr_is_cut_with_a_visible_mark() -> None:
    d = to_dict(node(HugeRepr()), max_chars=50)
    data = d["nodes"][0]["data"]
    assert data.startswith("<xxxx") and len(data) < 100
    assert data.endswith("[99952 more characters]")
    assert short("abc", 10) == "abc" and short("a" * 20, 10) == "aaaaaaaaaa… [10 more characters]"
    assert short(12345, 3) == "123… [2 more characters]"


def test_feedback_is_serialized_as_text() -> None:
    p = node(1, trainable=True)
    y = p + 1
    y.backward("needs to be larger")
    d = to_dict(y)
    assert by_name(d)[p.name]["feedback"] == ["needs to be larger"]
    json.dumps(d)


def test_a_scope_marks_the_nodes_feeding_it_as_external() -> None:
    p = node("outside", trainable=True, name="outside")
    with GRAPH.scope("cell") as sg:
        a = node("inside", name="inside")
        b = p + a
        c = b + "!"
    d = sg.to_dict()
    assert d["label"] == "cell"
    nodes = by_name(d)
    assert nodes[p.name]["external"] is True
    assert all(nodes[n.name]["external"] is False for n in sg.nodes)
    assert set(nodes) == {p.name} | {n.name for n in sg.nodes}
    assert nodes[c.name]["output"] is True and nodes[b.name]["output"] is False
    ids = {n["name"]: n["id"] for n in d["nodes"]}
    assert {"source": ids[p.name], "target": ids[b.name]} in d["edges"]
    json.dumps(d)
    sg.output = b
    assert by_name(to_dict(sg))[b.name]["output"] is True
    assert by_name(to_dict(sg))[c.name]["output"] is False


def test_a_scope_with_a_bundle() -> None:
    @bundle(trainable=True)
    def f(v):
        return v * 2

    x = node(1)
    with GRAPH.scope("cell") as sg:
        out = f(x)
    nodes = by_name(to_dict(sg))
    assert nodes[f.parameter.name]["external"] is True and nodes[f.parameter.name]["kind"] == "parameter"
    assert nodes[x.name]["external"] is True and nodes[out.name]["kind"] == "operation"


def test_a_collection_of_nodes() -> None:
    a, b = node(1), node(2)
    c = a + b
    d = to_dict([a, c])
    assert [n["name"] for n in d["nodes"]] == [a.name, c.name]
    assert len(d["edges"]) == 1 and d["edges"][0]["target"] == d["nodes"][1]["id"]
    assert all(n["output"] is False and n["external"] is False for n in d["nodes"])


def test_ids_are_unique_even_after_clear() -> None:
    a = node(1, name="same")
    GRAPH.clear()
    b = node(1, name="same")
    d = to_dict([a, b])
    assert d["nodes"][0]["id"] != d["nodes"][1]["id"]
