"""The %%trace transform alone: nested blocks in source order, and one rewrite per cell text and options."""

from __future__ import annotations

import pytest

from trace_workbench.jupyter.rewrite import RUNTIME_NAME, RewriteError, rewrite_cell

TRY_CELL = """try:
    x = 1
except ValueError:
    x = 2
else:
    x = 3
finally:
    y = len("ab")
"""


def test_the_first_assignment_in_source_order_becomes_the_parameter() -> None:
    class Runtime:
        def __init__(self) -> None:
            self.params: list[tuple[str, object, str]] = []

        def param(self, name: str, value: object, source: str) -> object:
            self.params.append((name, value, source))
            return value

        def call(self, func, *args):  # noqa: ANN001, ANN202 -- the runtime's signature
            return func(*args)

    runtime = Runtime()
    namespace = {RUNTIME_NAME: runtime}
    exec(rewrite_cell(TRY_CELL, "<cell>", train=["x"]).code, namespace)
    assert runtime.params == [("x", 1, "1")]  # the try body's, not the except clause's or the else's
    assert namespace["y"] == 2  # the finally block is rewritten too (len went through rt.call)


def test_a_cell_is_rewritten_once_per_text_and_options() -> None:
    first = rewrite_cell("a = 1\na + 1", "<cell-a>", train=["a"])
    assert rewrite_cell("a = 1\na + 1", "<cell-a>", train=("a", "a")) is first
    assert rewrite_cell("a = 1\na + 1", "<cell-a>") is not first
    assert rewrite_cell("a = 2\na + 1", "<cell-a>", train=["a"]) is not first


def test_a_failed_rewrite_is_raised_each_time() -> None:
    for _ in range(2):
        with pytest.raises(RewriteError, match="never assigns"):
            rewrite_cell("b = 1", "<cell-b>", train=["c"])


def test_except_clauses_are_rewritten_but_their_exception_types_are_not() -> None:
    calls: list[object] = []

    class Runtime:
        def call(self, func, *args):  # noqa: ANN001, ANN202
            calls.append(func)
            return func(*args)

    code = rewrite_cell("try:\n    int('x')\nexcept ValueError:\n    z = str(1)\n", "<cell-d>").code
    namespace = {RUNTIME_NAME: Runtime()}
    exec(code, namespace)
    assert calls == [int, str] and namespace["z"] == "1"
