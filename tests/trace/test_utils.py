"""Small helpers: identity membership, feedback sums, decorating every method of a class."""

from __future__ import annotations

from trace_workbench.trace import bundle, node
from trace_workbench.trace.utils import contain, for_all_methods, sum_feedback


def test_contain_uses_identity() -> None:
    a, b = node(1), node(1)
    assert a == b and contain([a], a) and not contain([a], b)
    assert not contain([], a)


def test_sum_feedback() -> None:
    assert sum_feedback([node(1)]) == 0
    x, y = node(1, trainable=True), node(2, trainable=True)
    x._add_feedback("one", 2)
    x._add_feedback("two", 3)
    y._add_feedback("three", 5)
    assert sum_feedback([x, y]) == 10
    t = node("t", trainable=True)
    t._add_feedback("a", "first ")
    t._add_feedback("b", "second")
    assert sum_feedback([t]) == "first second"


def test_for_all_methods_decorates_public_methods() -> None:
    @for_all_methods(bundle())
    class Tools:
        def double(self, v):
            return v * 2

        def __repr__(self) -> str:
            return "Tools()"

    tools = Tools()
    out = tools.double(node(3))
    assert out.data == 6 and out.op_name.endswith("double")
    assert repr(tools) == "Tools()"
