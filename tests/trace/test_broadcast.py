"""apply_op: an operation broadcast over lists, tuples, dicts and NodeContainers of nodes;
and the conversions bundle uses (to_data, wrap_node, detach_inputs)."""

from __future__ import annotations

import pytest

from trace_workbench.trace import MessageNode, Node, NodeContainer, apply_op, bundle, node, operators
from trace_workbench.trace.bundle import detach_inputs, to_data, wrap_node


def test_nodes_only_is_a_single_call() -> None:
    x, y = node(1), node(2)
    result = apply_op(operators.add, None, x, y)
    assert isinstance(result, MessageNode) and result.data == 3 and result.parents == (x, y)


def test_lists_elementwise_with_a_broadcast_node() -> None:
    a = [node(1), node(2), node(3)]
    b = [node(10), node(20), node(30)]
    out = [None, None, None]
    result = apply_op(operators.add, out, a, b)
    assert result is out and [n.data for n in out] == [11, 22, 33]
    assert all(n.parents == (x, y) for n, x, y in zip(out, a, b, strict=True))
    offset = node(100)
    shifted = apply_op(operators.add, [None] * 3, a, offset)
    assert [n.data for n in shifted] == [101, 102, 103] and all(n.parents[1] is offset for n in shifted)


def test_tuples_and_dicts() -> None:
    pair = apply_op(operators.multiply, (None, None), (node(2), node(3)), node(10))
    assert isinstance(pair, tuple) and [n.data for n in pair] == [20, 30]
    out = {"a": None, "b": None}
    result = apply_op(operators.subtract, out, {"a": node(5), "b": node(7)}, node(1))
    assert result is out and {k: v.data for k, v in out.items()} == {"a": 4, "b": 6}


def test_nested_structures() -> None:
    out = {"xs": [None, None]}
    apply_op(operators.add, out, {"xs": [node(1), node(2)]}, node(1))
    assert [n.data for n in out["xs"]] == [2, 3]


def test_node_containers() -> None:
    class Pair(NodeContainer):
        def __init__(self, left: Node, right: Node) -> None:
            self.left = left
            self.right = right

    out = Pair(node(0), node(0))
    result = apply_op(operators.add, out, Pair(node(1), node(2)), Pair(node(10), node(20)))
    assert result is out and out.left.data == 11 and out.right.data == 22


def test_mismatched_inputs_raise() -> None:
    with pytest.raises(TypeError):
        apply_op(operators.add, [None], (node(1),), node(2))
    with pytest.raises(ValueError):
        apply_op(operators.add, [None, None], [node(1)], node(2))


def test_to_data_wrap_node_and_detach() -> None:
    x = node(1)
    structure = {"a": [x, (node(2), 3)], "b": 5}
    assert to_data(structure) == {"a": [1, (2, 3)], "b": 5}
    wrapped = wrap_node([1, {"k": "v"}])
    assert isinstance(wrapped[0], Node) and isinstance(wrapped[1]["k"], Node) and wrapped[1]["k"].data == "v"
    y = x + 1
    detached = detach_inputs([y])
    assert detached[0].data == 2 and detached[0].parents == () and detached[0] is not y


def test_to_data_of_a_container_converts_a_copy() -> None:
    class Holder(NodeContainer):
        def __init__(self) -> None:
            self.value = node(3)

    holder = Holder()
    plain = to_data(holder)
    assert plain is not holder and plain.value == 3 and isinstance(holder.value, Node)


def test_bundled_functions_pass_through_conversions() -> None:
    @bundle(trainable=True)
    def f(v):
        return v + 1

    assert to_data([f])[0] is f and detach_inputs((f,))[0] is f
    assert isinstance(f.parameter.data, str)
