"""ExceptionNode and ExecutionError: a failing traced operation is recorded in the graph, and the
error raised is both Trace's ExecutionError and an instance of the plain exception's type."""

from __future__ import annotations

import builtins
import copy
import errno
import pickle
from typing import Any

import pytest

from trace_workbench.trace import ExceptionNode, ExecutionError, MessageNode, TraceMissingInputsError, bundle, node
from trace_workbench.trace.errors import execution_error


@bundle()
def read(path):
    """Reads the file at path."""
    with open(path) as f:
        return f.read()


def test_except_the_plain_type_catches_a_failing_operation() -> None:
    x, y = node(1), node(0)
    try:
        x / y
    except ZeroDivisionError as e:
        error = e
    else:
        pytest.fail("node(1) / node(0) did not raise")
    assert isinstance(error, ExecutionError)
    assert isinstance(error, ArithmeticError)
    assert type(error.original) is ZeroDivisionError
    assert str(error) == "division by zero"
    assert error.args == ("division by zero",)


def test_except_execution_error_catches_it_too() -> None:
    with pytest.raises(ExecutionError) as info:
        node(1) / 0
    assert isinstance(info.value, ZeroDivisionError)


def test_the_exception_node_records_the_failed_operation() -> None:
    x, y = node(1), node(0)
    with pytest.raises(ExecutionError) as info:
        x / y
    exception_node = info.value.exception_node
    assert isinstance(exception_node, ExceptionNode) and isinstance(exception_node, MessageNode)
    assert exception_node.parents == (x, y)
    assert exception_node.data == "(ZeroDivisionError) division by zero"
    assert exception_node.op_name == "exception"
    assert exception_node.name.startswith("exception_divide:")
    assert "ZeroDivisionError" in exception_node.info["traceback"]
    assert exception_node.create_feedback() == exception_node.data
    with pytest.raises(ValueError):
        exception_node.create_feedback("fancy")


@pytest.mark.parametrize("operation, error_type", [
    (lambda: node({"a": 1})["b"], KeyError),
    (lambda: node([1])[5], IndexError),
    (lambda: node("a") + 1, TypeError),
    (lambda: node(1) + "a", TypeError),
    (lambda: node("abc").index("z"), ValueError),
    (lambda: node(object()).getattr("nothing"), AttributeError),
    (lambda: node(10.0) ** 1000, OverflowError),
    (lambda: node(lambda: 1 / 0)(), ZeroDivisionError),
    (lambda: list(node(3)), TypeError),
])
def test_each_failing_operation_is_of_its_plain_type(operation: Any, error_type: type[Exception]) -> None:
    with pytest.raises(error_type) as info:
        operation()
    assert isinstance(info.value, ExecutionError)
    assert type(info.value.original) is error_type
    assert info.value.exception_node.data.startswith(f"({error_type.__name__})")


def test_fields_of_the_plain_error_are_kept() -> None:
    """Code that reads OSError.errno or KeyError.args works on the ExecutionError as on the plain error."""
    with pytest.raises(FileNotFoundError) as info:
        read(node("/nonexistent/trace-workbench-file"))
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == "/nonexistent/trace-workbench-file"
    with pytest.raises(KeyError) as key_info:
        node({})["missing"]
    assert key_info.value.args == ("missing",) and str(key_info.value) == "'missing'"

    def stop() -> None:
        raise StopIteration(7)

    with pytest.raises(StopIteration) as stop_info:
        node(stop)()
    assert stop_info.value.value == 7

    class Custom(Exception):
        def __init__(self, message: str, code: int) -> None:
            super().__init__(message)
            self.code = code

    def fail() -> None:
        raise Custom("bad", 42)

    with pytest.raises(Custom) as custom_info:
        node(fail)()
    assert custom_info.value.code == 42 and str(custom_info.value) == "bad"


def test_pickling_an_execution_error() -> None:
    with pytest.raises(ExecutionError) as info:
        node(1) / node(0)
    restored = pickle.loads(pickle.dumps(info.value))
    assert isinstance(restored, ExecutionError) and isinstance(restored, ZeroDivisionError)
    assert type(restored.original) is ZeroDivisionError
    assert isinstance(restored.exception_node, ExceptionNode)
    assert restored.exception_node.data == "(ZeroDivisionError) division by zero"
    assert str(restored) == "division by zero"
    with pytest.raises(FileNotFoundError) as os_info:
        read(node("/nonexistent/x"))
    restored_os = pickle.loads(pickle.dumps(os_info.value))
    assert isinstance(restored_os, FileNotFoundError) and restored_os.errno == errno.ENOENT
    copied = copy.deepcopy(info.value)
    assert isinstance(copied, ZeroDivisionError) and copied.exception_node.data == info.value.exception_node.data


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_interrupts_are_never_converted(interrupt: type[BaseException]) -> None:
    def stop(*args: Any) -> None:
        raise interrupt()

    class Stubborn:
        def __eq__(self, other: object) -> bool:
            raise interrupt()

        __hash__ = object.__hash__

    with pytest.raises(interrupt) as info:
        node(stop)(1)
    assert not isinstance(info.value, ExecutionError)
    with pytest.raises(interrupt) as info:
        node(Stubborn()).eq(node(1))
    assert not isinstance(info.value, ExecutionError)
    with pytest.raises(interrupt) as info:
        bundle()(stop)(node(1))
    assert not isinstance(info.value, ExecutionError)


def test_interrupt_in_trainable_code_is_not_converted() -> None:
    @bundle(trainable=True)
    def work(x):
        return x

    work.parameter._set("def work(x):\n    raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt) as info:
        work(node(1))
    assert not isinstance(info.value, ExecutionError)


def test_a_bundle_that_raises() -> None:
    @bundle()
    def fails(a, b):
        """Divides."""
        return a / b

    a, b = node(1), node(0)
    with pytest.raises(ZeroDivisionError) as info:
        fails(a, b)
    error = info.value
    assert isinstance(error, ExecutionError)
    assert error.exception_node.parents == (a, b)
    assert error.exception_node.data == "(ZeroDivisionError) division by zero"
    comment = error.exception_node.info["error_comment"]
    assert "return a / b <--- (ZeroDivisionError) division by zero" in comment
    assert error.exception_node.create_feedback("full") == comment


def test_nested_bundles_raise_the_outer_call_error_of_the_inner_type() -> None:
    @bundle()
    def inner(a):
        return 1 / a

    @bundle()
    def outer(a):
        return inner(a) + 1

    a = node(0)
    with pytest.raises(ZeroDivisionError) as info:
        outer(a)
    assert info.value.exception_node.parents == (a,)
    name = info.value.exception_node.name
    assert name.startswith("exception_") and name.split(":")[0].endswith("outer")
    assert type(info.value.original) is ZeroDivisionError


def test_catch_execution_error_false_raises_the_plain_error() -> None:
    @bundle(catch_execution_error=False)
    def fails(a):
        return 1 / a

    with pytest.raises(ZeroDivisionError) as info:
        fails(node(0))
    assert not isinstance(info.value, ExecutionError)


def test_missing_inputs_error_is_not_an_execution_error() -> None:
    hidden = node(5)

    @bundle()
    def reads(a):
        return a + hidden.data

    with pytest.raises(TraceMissingInputsError) as info:
        reads(node(1))
    assert not isinstance(info.value, ExecutionError)
    assert hidden.name in str(info.value)


def test_execution_error_of_an_execution_error_keeps_the_original() -> None:
    with pytest.raises(ExecutionError) as info:
        node(1) / 0
    again = execution_error(info.value.exception_node, info.value)
    assert type(again.original) is ZeroDivisionError and isinstance(again, ZeroDivisionError)
    assert type(again) is type(info.value)  # one combined class per plain type


def _builtin_errors() -> list[BaseException]:
    special: dict[type, tuple] = {
        UnicodeDecodeError: ("utf-8", b"\xff", 0, 1, "invalid start byte"),
        UnicodeEncodeError: ("ascii", "é", 0, 1, "ordinal not in range"),
        UnicodeTranslateError: ("é", 0, 1, "no mapping"),
    }
    if hasattr(builtins, "ExceptionGroup"):  # Python 3.11+
        special[builtins.ExceptionGroup] = ("several", [ValueError("one")])
    types = sorted({t for t in vars(builtins).values() if isinstance(t, type) and issubclass(t, Exception)},
                   key=lambda t: t.__name__)
    return [t(*special.get(t, ("message",))) for t in types]


@pytest.mark.parametrize("original", _builtin_errors(), ids=lambda e: type(e).__name__)
def test_every_builtin_error_type_is_kept(original: Exception) -> None:
    def fail() -> None:
        raise original

    with pytest.raises(type(original)) as info:
        node(fail)()
    error = info.value
    assert isinstance(error, ExecutionError) and type(error.original) is type(original)
    assert str(error) == str(original) and error.args == original.args
    restored = pickle.loads(pickle.dumps(error))
    assert isinstance(restored, type(original)) and str(restored) == str(original)
