"""Iterating nodes: each element is a traced getitem that remembers the container."""

from __future__ import annotations

from trace_workbench.trace import MessageNode, node
from trace_workbench.trace.iterators import DictIterable, SeqIterable, iterate


def test_sequences_are_iterated_by_index() -> None:
    x = node(["a", "b", "c"])
    iterator = iterate(x)
    assert isinstance(iterator, SeqIterable)
    elements = list(iterator)
    assert [e.data for e in elements] == ["a", "b", "c"]
    assert all(e.op_name == "getitem" and e.parents[0] is x for e in elements)
    assert [e.parents[1].data for e in elements] == [0, 1, 2]
    assert [e.data for e in iterator] == ["a", "b", "c"]  # iterating again starts over


def test_dicts_are_iterated_by_key() -> None:
    d = node({"k1": 1, "k2": 2})
    keys = list(d)
    assert [k.data for k in keys] == ["k1", "k2"]
    assert all(k.parents[0].op_name == "keys" and k.parents[0].parents[0] is d for k in keys)
    pairs = d.items()
    assert isinstance(pairs, DictIterable)
    first = [(k.data, v.data) for k, v in pairs]
    assert first == [("k1", 1), ("k2", 2)] and [(k.data, v.data) for k, v in pairs] == first
    for k, v in d.items():
        assert v.parents == (d, k)


def test_other_iterables_become_a_traced_list() -> None:
    generator = node(c for c in "xy")
    elements = list(generator)
    assert [e.data for e in elements] == ["x", "y"]
    listed = elements[0].parents[0]
    assert isinstance(listed, MessageNode) and listed.op_name == "to_list" and listed.parents[0] is generator
    assert sorted(e.data for e in node({3, 1, 2})) == [1, 2, 3]


def test_unpacking_and_loops_work_like_plain_python() -> None:
    a, b = node((1, 2))
    assert (a.data, b.data) == (1, 2)
    total = node(0)
    for v in node([1, 2, 3]):
        total = total + v
    assert total.data == 6 and total.level > 1
