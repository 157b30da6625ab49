"""backward and the propagators: feedback on known graphs, combined feedback, linear cost."""

from __future__ import annotations

import sys

import pytest

from trace_workbench.trace import MessageNode, bundle, node
from trace_workbench.trace.nodes import FEEDBACK_ORACLE
from trace_workbench.trace.picture import GraphPicture
from trace_workbench.trace.propagators import GraphPropagator, Propagator, SumPropagator, TraceGraph
from trace_workbench.trace.utils import sum_feedback


def ids(nodes) -> list[int]:
    """Node identities: lists of nodes compared by identity, not by their values."""
    return [id(n) for n in nodes]


def names(graph: TraceGraph) -> list[str]:
    return [n.name for _, n in graph.graph]


# -- GraphPropagator ----------------------------------------------------------------------------
def test_chain_feedback_reaches_the_parameter_with_the_whole_path() -> None:
    x = node(1, trainable=True, name="x")
    one = node(1, name="one")
    y = x + one
    two = node(2, name="two")
    z = y * two
    z.backward("make it bigger")
    assert ids(x.feedback) == ids([y])
    (graph,) = x.feedback[y]
    assert isinstance(graph, TraceGraph)
    assert graph.user_feedback == "make it bigger"
    assert names(graph) == [x.name, one.name, two.name, y.name, z.name]  # by level, then creation
    assert names(two.feedback[z][0]) == [two.name, y.name, z.name]  # a side input sees only below it
    assert [level for level, _ in graph.graph] == [0, 0, 0, 1, 2]
    assert ids(one.feedback) == ids([y]) and ids(two.feedback) == ids([z])
    # nodes with parents pass their feedback on and keep none (so a second backward does not count it twice)
    assert y.feedback == {} and z.feedback == {}


def test_diamond_parameter_receives_from_both_children() -> None:
    x = node(3, trainable=True, name="x")
    a = x + 1
    b = x * 2
    out = a + b
    out.backward("wrong")
    assert set(x.feedback) == {a, b}
    combined = sum_feedback([x])
    assert isinstance(combined, TraceGraph)
    assert set(names(combined)) == {n.name for n in (x, a, b, out)} | {a.parents[1].name, b.parents[1].name}
    assert combined.user_feedback == "wrong"
    assert len(combined) == len(combined.graph) == 6


def test_two_outputs_with_different_feedback_are_combined() -> None:
    p = node(1, trainable=True, name="p")
    first, second = p + 1, p * 5
    first.backward("too small")
    second.backward("too big")
    combined = sum_feedback([p])  # no AssertionError, unlike Trace's single-feedback TraceGraph
    assert isinstance(combined, TraceGraph)
    assert combined.user_feedback == "too small\ntoo big"
    assert {first.name, second.name} <= set(names(combined))
    numbers = node(1, trainable=True)
    (numbers + 1).backward({"score": 1})
    (numbers + 2).backward({"score": 2})
    assert sum_feedback([numbers]).user_feedback == [{"score": 1}, {"score": 2}]


def test_same_feedback_twice_is_kept_once() -> None:
    p = node(1, trainable=True)
    (p + 1).backward("same")
    (p + 2).backward("same")
    assert sum_feedback([p]).user_feedback == "same"


def test_trace_graph_basics() -> None:
    x = node(1)
    graph = TraceGraph(graph=[(0, x)], user_feedback="f")
    assert not graph.empty() and len(graph) == 1 and list(graph) == [(0, x)]
    assert TraceGraph().empty() and TraceGraph().user_feedback is None
    assert sum([graph]) is graph  # 0 + graph is graph
    both = graph + TraceGraph(graph=[(0, x)])
    assert len(both) == 1 and both.user_feedback == "f"
    assert "1 nodes" in repr(graph)
    with pytest.raises(TypeError):
        graph + 1  # noqa: B018


def test_hidden_parameters_of_a_traceable_bundle_get_feedback() -> None:
    weight = node(3, trainable=True, name="weight")

    @bundle(traceable_code=True)
    def weighted(a):
        return a * weight

    x = node(2)
    out = weighted(x)
    assert id(weight) not in ids(out.parents)
    out.backward("too large")
    assert out in weight.feedback
    graph = weight.feedback[out][0]
    assert graph.user_feedback == "too large" and out.name in names(graph)
    expanded = TraceGraph.expand(out)
    assert weight.name in names(expanded)
    assert weight.feedback[out][0] is graph  # expanding leaves the feedback as it was


def test_trainable_bundle_code_receives_feedback() -> None:
    @bundle(trainable=True)
    def f(a):
        return a + 1

    out = f(node(1))
    out.backward("return a + 2 instead")
    (graph,) = f.parameter.feedback[out]
    assert graph.user_feedback == "return a + 2 instead"
    assert names(graph)[-1] == out.name


# -- SumPropagator ------------------------------------------------------------------------------
def test_sum_propagator_passes_numbers_and_sums_them() -> None:
    x = node(1, trainable=True)
    a, b = x + 1, x * 2
    out = a + b
    out.backward(3, propagator=SumPropagator())
    assert x.feedback == {a: [3], b: [3]}
    assert sum_feedback([x]) == 6


def test_sum_propagator_adds_what_a_node_received() -> None:
    x = node(1, trainable=True)
    y = x + 1
    propagator = SumPropagator()
    y._add_feedback("child one", 2)
    y._add_feedback("child two", 5)
    assert propagator(y) == {x: 7, y.parents[1]: 7}


def test_sum_propagator_combines_texts_line_by_line() -> None:
    x = node("a", trainable=True)
    y = x + "b"
    y._add_feedback("child one", "too long")
    y._add_feedback("child two", "not polite")
    y._add_feedback("child three", "too long")
    assert SumPropagator()(y)[x] == "too long\nnot polite"
    z = x + "c"
    z.backward("", propagator=SumPropagator())
    assert x.feedback[z] == [""]


def test_propagator_overrides_per_operator() -> None:
    propagator = SumPropagator()
    propagator.register("multiply", lambda child: {p: "from multiply" for p in child.parents})
    x = node(2, trainable=True)
    y = x * 3
    out = y + 1
    out.backward("start", propagator=propagator)
    assert x.feedback[y] == ["from multiply"]


def test_a_propagator_must_give_feedback_to_every_parent() -> None:
    class Forgetful(Propagator):
        def init_feedback(self, node, feedback):
            return feedback

        def _propagate(self, child):
            return {}

    y = node(1) + 1
    with pytest.raises(ValueError):
        y.backward("x", propagator=Forgetful())


# -- backward -----------------------------------------------------------------------------------
def test_backward_of_a_long_chain_is_iterative() -> None:
    """20,000 steps, far deeper than any recursion limit: backward and the flat graph need no recursion."""
    p = node(0, trainable=True, name="p")
    out = p
    for _ in range(20_000):
        out = out + 1
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        out.backward("done")
        graph = sum_feedback([p])
        flat = graph.graph
    finally:
        sys.setrecursionlimit(limit)
    assert out.data == 20_000
    assert len(flat) == 40_001 and flat[0][1] is p and flat[-1][1] is out
    assert graph.user_feedback == "done"


def test_retain_graph_false_forbids_a_second_backward() -> None:
    x = node(1, trainable=True)
    y = x + 1
    y.backward("once", retain_graph=False)
    with pytest.raises(AttributeError, match="backwarded"):
        y.backward("twice")
    z = x + 2
    z.backward("first", retain_graph=True)
    z.backward("second")
    assert len(x.feedback[z]) == 2


def test_retain_graph_false_marks_the_inner_nodes_too() -> None:
    x = node(1, trainable=True)
    shared = x + 1
    first = shared * 2
    first.backward("a", retain_graph=False)
    second = shared * 3
    with pytest.raises(AttributeError):
        second.backward("b")


def test_zero_feedback() -> None:
    x = node(1, trainable=True)
    (x + 1).backward("f")
    assert x.feedback
    x.zero_feedback()
    assert x.feedback == {} and sum_feedback([x]) == 0


def test_backward_on_a_root_node() -> None:
    x = node(1, trainable=True)
    assert x.backward("direct") is None
    assert x.feedback[FEEDBACK_ORACLE][0].user_feedback == "direct"


def test_visualize_returns_a_picture() -> None:
    x = node(1, trainable=True, name="x")
    y = x + 1
    picture = y.backward("look", visualize=True)
    assert isinstance(picture, GraphPicture)
    assert picture.svg.startswith("<svg") and x.name in picture.svg and y.name in picture.svg
    assert len(picture.nodes) == 3 and len(picture.edges) == 2


def test_feedback_on_an_exception_node() -> None:
    x = node(0, trainable=True, name="x")
    try:
        node(1) / x
    except ZeroDivisionError as e:
        exception_node = e.exception_node
    exception_node.backward(exception_node.create_feedback())
    (graph,) = x.feedback[exception_node]
    assert graph.user_feedback == "(ZeroDivisionError) division by zero"
    assert isinstance(exception_node, MessageNode)


def test_graph_propagator_is_the_default() -> None:
    x = node(1, trainable=True)
    y = x + 1
    y.backward("f", propagator=GraphPropagator())
    z = x + 2
    z.backward("g")
    assert type(x.feedback[y][0]) is type(x.feedback[z][0]) is TraceGraph
