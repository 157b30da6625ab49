"""Containers: ParameterContainer finds parameters in attributes; Seq and Map in items."""

from __future__ import annotations

import pytest

from trace_workbench.trace import Map, Module, NodeContainer, ParameterNode, Seq, bundle, node
from trace_workbench.trace.containers import ParameterContainer
from trace_workbench.trace.utils import contain


def ids(nodes) -> list[int]:
    """Node identities: lists of nodes compared by identity, not by their values."""
    return [id(n) for n in nodes]


def test_seq_is_a_list() -> None:
    assert Seq(1, 2, 3) == Seq([1, 2, 3]) == [1, 2, 3]
    assert Seq("ab") == ["a", "b"]  # like list("ab")
    single = node(5, trainable=True)
    assert len(Seq(single)) == 1 and Seq(single)[0] is single  # a single node is an item
    assert Seq(node([1, 2]))[0].data == [1, 2]
    s = Seq(1)
    s.append(2)
    assert s == [1, 2] and isinstance(s, ParameterContainer)


def test_seq_parameters_are_found_in_order_and_nested() -> None:
    a, b = node(1, trainable=True), node(2, trainable=True)
    seq = Seq([1, a, node(3), Seq(4, b)])
    assert ids(seq.parameters()) == ids([a, b]) and all(isinstance(p, ParameterNode) for p in seq.parameters())
    assert list(seq.parameters_dict()) == ["1", "3"]
    assert Seq([1, 2, Seq(3, 4)]).parameters() == []


def test_seq_names_are_the_same_in_every_instance() -> None:
    def make() -> Seq:
        return Seq(node("x", trainable=True), 3, node("y", trainable=True))

    assert list(make().parameters_dict()) == list(make().parameters_dict()) == ["0", "2"]


def test_map_parameters_in_values_and_keys() -> None:
    value, key = node(2, trainable=True), node("c", trainable=True)
    inner = node(4, trainable=True)
    mapping = Map({"a": 1, "b": value, key: 3, "d": Seq(5, inner)})
    assert len(mapping.parameters()) == 3
    for p in (value, key, inner):
        assert contain(mapping.parameters(), p)
    assert mapping["a"] == 1 and mapping[key] == 3
    assert "b" in mapping.parameters_dict() and "d" in mapping.parameters_dict()


def test_a_parameter_key_and_a_parameter_value_are_both_found() -> None:
    key, value = node("k", trainable=True), node("v", trainable=True)
    mapping = Map({key: value})
    assert len(mapping.parameters()) == 2
    assert contain(mapping.parameters(), key) and contain(mapping.parameters(), value)


def test_a_container_cannot_be_a_map_key() -> None:
    class Hashable(ParameterContainer):
        pass

    with pytest.raises(TypeError):
        Map({Hashable(): 1}).parameters()


def test_parameter_container_attributes() -> None:
    class Holder(ParameterContainer):
        def __init__(self) -> None:
            self.p = node(1, trainable=True)
            self.x = node(2)
            self.items = Seq(node(3, trainable=True))
            self.plain = "text"

        @bundle(trainable=True)
        def method(self, v):
            return v

        @bundle()
        def fixed(self, v):
            return v

    holder = Holder()
    assert set(holder.parameters_dict()) == {"p", "items", "method"}
    assert len(holder.parameters()) == 3
    assert contain(holder.parameters(), holder.method.parameter)


def test_module_and_node_container_are_containers() -> None:
    assert issubclass(Module, ParameterContainer) and issubclass(ParameterContainer, NodeContainer)
    assert Module().parameters() == []
