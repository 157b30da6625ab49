"""Converting suggested values to a parameter's type, and checking suggested code."""

from __future__ import annotations

import re

import pytest

from tests.optimizers.graphs import make_scale
from trace_workbench.trace import node
from trace_workbench.trace.values import ValueConversionError, check_code, convert_value, is_code_parameter

OLD = "def f(x):\n    return x"


@pytest.mark.parametrize("new, old, expected", [
    ("True", False, True), ("no", True, False), (1, False, True), ("0", True, False),
    ("1e3", 5, 1000), (4.0, 5, 4), ("-3", 5, -3),
    ("2.5", 1.0, 2.5), (3, 1.0, 3.0), (" 7 ", 1.0, 7.0),
    (42, "text", "42"), ("[1, 'a']", ["x"], [1, "a"]), ([1, 2], (0,), (1, 2)), ("(3, 4)", (0,), (3, 4)),
    ([2, 1, 2], {0}, {1, 2}), ("{1, 2}", frozenset(), frozenset({1, 2})), ('{"a": [1]}', {}, {"a": [1]}),
    ({"any": "thing"}, None, {"any": "thing"}),
])
def test_values_are_parsed_not_cast(new, old, expected):
    value = convert_value(new, old)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("new, old, message", [
    ("yes please", True, "expected a boolean"), (2, True, "expected a boolean"),
    ("many", 1, "expected an integer, got text 'many'"), (float("inf"), 1, "expected an integer"),
    (False, 1.0, "expected a number, got a boolean"), ("inf", 1.0, "expected a finite number"),
    ([1], "text", "expected text (a string), got an array"), ("[3, 4", [1], "expected a list, got text '[3, 4'"),
    ("3, 4", {}, "expected a dict (an object), got a tuple '3, 4'"), ([[1]], {0}, "unhashable"),
    ("x", object(), "a value of type object cannot be read from a reply"),
])
def test_values_that_do_not_convert_say_why(new, old, message):
    with pytest.raises(ValueConversionError, match=re.escape(message)):
        convert_value(new, old)


def test_code_is_cleaned_and_checked():
    assert check_code("```py\n    def f(x):\n        return 2 * x\n```", OLD) == "def f(x):\n    return 2 * x"
    assert check_code("@trace.bundle(trainable=True)\ndef f(x):\n    return 1", OLD) == "def f(x):\n    return 1"
    assert check_code("async def f(x):\n    return 1", OLD) == "async def f(x):\n    return 1"
    documented = 'def f(x):\n    """Use it like this:\n    ```python\n    f(1)\n    ```\n    """\n    return x'
    assert check_code(documented, OLD) == documented
    assert check_code(f"Here you go:\n```python\n{documented}\n```\nDone.", OLD) == documented
    with pytest.raises(ValueConversionError, match="changes the function's decorators to"):
        check_code("@functools.cache\ndef f(x):\n    return 1", OLD)
    with pytest.raises(ValueConversionError, match="the suggested code is empty"):
        check_code("```python\n```", OLD)
    with pytest.raises(ValueConversionError, match=r"must define the function \(def \.\.\.\), not only 'class f"):
        check_code("class f:\n    pass", OLD)
    with pytest.raises(ValueConversionError, match="does not parse: source code string cannot contain null bytes"):
        check_code("def f(x):\n    return '\0'", OLD)


def test_code_parameters_are_known_by_the_parameter_not_the_text():
    scale = make_scale()
    text_with_def = node("def greet(): pass  # a prompt that happens to look like code", trainable=True)
    assert is_code_parameter(scale.parameter)
    assert not is_code_parameter(text_with_def)
    assert convert_value("def other(): return 1", text_with_def.data) == "def other(): return 1"
    renamed = node(scale.parameter.data, trainable=True, name="__code")
    assert not is_code_parameter(renamed)
    scale(1)
    assert is_code_parameter(scale.parameter)


def test_to_jsonable_shows_a_container_that_holds_itself_and_a_repr_that_raises():
    from trace_workbench.trace.values import to_jsonable

    looped: dict = {"a": [1]}
    looped["self"] = looped
    looped["a"].append(looped["a"])

    class Unshowable:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert to_jsonable(looped) == {"a": [1, "[...]"], "self": "{...}"}
    assert to_jsonable([Unshowable()]) == ["<Unshowable object (its repr raised RuntimeError)>"]
    shared = [1]
    assert to_jsonable([shared, shared]) == [[1], [1]]  # the same list twice is not a loop


def test_code_may_carry_imports_helpers_and_constants_around_the_function():
    with_context = ("import math\n\nLIMIT = 3\n\ndef helper(x):\n    return math.floor(x)\n\n"
                    "def f(x):\n    return helper(x)")
    assert check_code(with_context, OLD) == with_context
    assert check_code("@trace.bundle(trainable=True)\ndef f(x):\n    return h(x)\n\ndef h(x):\n    return x",
                      OLD) == "def f(x):\n    return h(x)\n\ndef h(x):\n    return x"
    assert check_code("def h(x):\n    return x\n\ndef f(x):\n    return h(x)", with_context.replace("helper", "h"))
    with pytest.raises(ValueConversionError, match="drops the function 'helper'"):
        check_code("def f(x):\n    return x", with_context)
    with pytest.raises(ValueConversionError, match="renames the function 'f' to 'g'"):
        check_code("import math\n\ndef g(x):\n    return x", OLD)
    with pytest.raises(ValueConversionError, match=r"runs 'for i in range\(3\):.*' at line 3 when it is loaded"):
        check_code("def f(x):\n    return x\nfor i in range(3):\n    print(i)", OLD)
