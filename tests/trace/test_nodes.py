"""Nodes: wrapping, names, descriptions, equality and hashing, parents and children, copies."""

from __future__ import annotations

import copy
import pickle

import pytest

from trace_workbench.trace import GRAPH, MessageNode, Node, ParameterNode, node, stop_tracing
from trace_workbench.trace.nodes import ancestors, get_op_name
from trace_workbench.trace.utils import contain


def ids(nodes) -> list[int]:
    """Node identities: lists of nodes compared by identity, not by their values."""
    return [id(n) for n in nodes]


def test_node_of_a_node_is_that_node() -> None:
    x = node(1)
    assert node(x) is x
    assert node(node(x)) is x
    p = node("p", trainable=True)
    assert node(p) is p


def test_trainable_gives_a_parameter_node() -> None:
    p = node([1, 2], trainable=True)
    assert type(p) is ParameterNode and p.trainable
    assert p.data == [1, 2]
    x = node(3)
    assert type(x) is Node and not x.trainable
    from_node = node(x, trainable=True)  # a parameter made from a node holds its value
    assert isinstance(from_node, ParameterNode) and from_node is not x and from_node.data == 3
    assert from_node.name.split(":")[0] == x.name.split(":")[0]


def test_default_and_given_descriptions() -> None:
    assert node(1).description == "[Node] This is a node in a computational graph."
    assert node(1, trainable=True).description == "[ParameterNode] This is a ParameterNode in a computational graph."
    assert node(1, description="a count").description == "[Node] a count"
    assert node(1, trainable=True, description="the prompt").description == "[ParameterNode] the prompt"
    assert node(1, description="[custom] kept as is").description == "[custom] kept as is"
    assert node(1).op_name == "Node"
    with pytest.raises(TypeError):
        node(1, description=5)  # type: ignore[arg-type]


def test_message_node_description_names_the_operator() -> None:
    y = node(1) + node(2)
    assert isinstance(y, MessageNode)
    assert y.description == "[add] This is an add operator of x and y: x + y."
    assert y.op_name == "add" == get_op_name(y.description)
    with pytest.raises(ValueError):
        get_op_name("no brackets here")


def test_names_are_unique_and_follow_the_given_name() -> None:
    a, b = node(1, name="count"), node(2, name="count")
    assert a.name != b.name
    assert a.name.startswith("count:") and b.name.startswith("count:")
    assert int(b.id) == int(a.id) + 1
    assert a.py_name == a.name.replace(":", "")
    assert node("s").name.startswith("str:")
    assert node(1, name="a:b").name.startswith("a_b:")  # ":" separates the number


def test_equality_is_a_plain_bool_and_hash_is_identity() -> None:
    a, b = node(1), node(1)
    assert (a == b) is True and (a == 1) is True and (a != 2) is True
    assert type(a == b) is bool
    assert len({a, b}) == 2  # equal values, distinct nodes
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
    assert hash(a) != hash(b)
    assert a in [a] and b in [b]
    assert contain([a], a) and not contain([a], b)  # identity, where `in` would compare values
    assert node([1]) == [1] and node("x") != node("y")


def test_eq_is_traced() -> None:
    a, b = node(1), node(2)
    result = a.eq(b)
    assert isinstance(result, MessageNode) and result.data is False
    assert result.parents == (a, b) and result.op_name == "eq"
    assert a.eq(1).data is True and a.neq(1).data is False
    assert node([1, 2]).len().data == 2 and node([1, 2]).len().op_name == "len_"


def test_parents_children_level_and_inputs() -> None:
    x, y = node(1, name="x"), node(2, name="y")
    s = x + y
    t = s * x
    assert ids(s.parents) == ids([x, y]) and ids(t.parents) == ids([s, x])
    assert s.inputs == {"x": x, "y": y}
    assert x.level == 0 and s.level == 1 and t.level == 2
    assert ids(x.children) == ids([s, t]) and ids(s.children) == ids([t])
    assert x.is_root and not s.is_root and t.is_leaf and not x.is_leaf
    assert ids(ancestors([t])) == ids([x, y, s, t])
    doubled = s + s
    assert doubled.parents == (s,) and doubled.inputs == {"x": s, "y": s}  # used twice, one parent


def test_children_are_held_weakly() -> None:
    x = node(1)
    y = x + 1
    assert ids(x.children) == ids([y])
    del y
    import gc

    gc.collect()
    assert x.children == []


def test_message_node_inputs_must_be_nodes() -> None:
    with pytest.raises(TypeError):
        MessageNode(1, inputs={"x": 1}, description="[op] d")  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        MessageNode(1, inputs=("a",), description="[op] d")  # type: ignore[arg-type]
    a = node(1)
    listed = MessageNode(2, inputs=[a], description="[op] d")
    assert listed.parents == (a,) and listed.inputs == {a.name: a}


def test_a_message_node_of_a_node_holds_the_value() -> None:
    inner = node(5)
    outer = MessageNode(inner, inputs=[inner], description="[wrap] d")
    assert outer.data == 5 and not isinstance(outer.data, Node)


def test_parameter_dependencies() -> None:
    p, q, x = node(1, trainable=True), node(2, trainable=True), node(3)
    out = (p + x) * q
    assert out.parameter_dependencies == {p, q}
    assert p.parameter_dependencies == {p}
    assert x.parameter_dependencies == set()


def test_set_replaces_the_value() -> None:
    p = node("old", trainable=True)
    p._set("new")
    assert p.data == "new"
    p._set(node("from a node"))
    assert p.data == "from a node"


def test_stop_tracing_records_no_parents() -> None:
    x = node(1)
    with stop_tracing():
        assert GRAPH.TRACE is False
        y = x + 1
    assert GRAPH.TRACE is True
    assert y.data == 2 and y.parents == () and x.children == []


def test_clone_is_traced_and_detach_is_not() -> None:
    x = node([1, 2])
    c = x.clone()
    assert c.data == [1, 2] and c.data is not x.data and c.parents == (x,) and c.op_name == "clone"
    y = x + [3]
    d = y.detach()
    assert d.data == [1, 2, 3] and d.parents == () and d is not y and d.data is not y.data


@pytest.mark.parametrize("make", [lambda: node({"a": [1]}), lambda: node("p", trainable=True, constraint="short"),
                                  lambda: node(1) + node(2)])
def test_copies_and_pickles_start_a_new_graph(make) -> None:
    original = make()
    for copied in (copy.deepcopy(original), pickle.loads(pickle.dumps(original)), copy.copy(original)):
        assert type(copied) is type(original)
        assert copied is not original and copied.data == original.data
        assert copied.name != original.name and copied.name.split(":")[0] == original.name.split(":")[0]
        assert copied.trainable == original.trainable
        assert copied.description == original.description and copied.constraint == original.constraint
        assert copied.parents == () and copied.feedback == {}
    deep = copy.deepcopy(original)
    if isinstance(original.data, dict):
        assert deep.data["a"] is not original.data["a"]


def test_deepcopy_keeps_shared_values_shared() -> None:
    shared = [1]
    a, b = node(shared), node(shared)
    a2, b2 = copy.deepcopy([a, b])
    assert a2.data is b2.data and a2.data is not shared


def test_str_and_repr() -> None:
    x = node("hello", name="greeting")
    assert str(x) == f"Node: ({x.name}, dtype=<class 'str'>, data=hello)"
    assert repr(x) == f"Node({x.name}, data='hello')"
    long = node("x" * 500)
    assert len(repr(long)) < 120 and repr(long).endswith("...)")


def test_type_and_info() -> None:
    x = node(1.5)
    assert x.type is float
    assert x.info is None
    y = node(1) + 1
    assert y.info is None and y.feedback == {}


def test_index_int_float_conversions() -> None:
    i = node(2)
    assert [10, 20, 30][i] == 30
    assert int(node(2.7)) == 2 and float(node(2)) == 2.0 and complex(node(1)) == 1 + 0j
    assert round(node(2.5)).data == 2


class _Hostile:
    """Data whose comparison and display raise, as a program's objects may."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq boom")

    def __repr__(self) -> str:
        raise RuntimeError("repr boom")

    __str__ = __repr__
    __hash__ = object.__hash__


def test_data_whose_eq_or_repr_raises_does_not_break_the_node() -> None:
    data = _Hostile()
    n = node(data)
    assert (n == n) is True and (n == node(data)) is True and (n == 1) is False
    assert n in [node(1), n]
    assert repr(n) == f"Node({n.name}, data=<_Hostile object (repr raised RuntimeError: repr boom)>)"
    assert "str raised RuntimeError" in str(n)


def test_used_nodes_is_the_set_the_running_bundle_read() -> None:
    from trace_workbench.trace import bundle
    from trace_workbench.trace.nodes import USED_NODES

    seen = []
    read_before = node("outside", name="outside")

    @bundle(allow_external_dependencies=True)
    def reads(x):
        seen.append((read_before.data, USED_NODES.get()))
        return x

    assert USED_NODES.get() == []
    reads(node(1))
    [(_, [used])] = seen  # one bundle running: a list holding one set
    assert len(used) == 1 and contain(used, read_before)
    assert USED_NODES.get() == []
