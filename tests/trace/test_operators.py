"""Traced operators against plain Python: the same result, or an error of the same type.

Every operation on nodes must give a MessageNode holding exactly what plain Python computes from
the values (types included, NaN-aware), with the operands as parents; where plain Python raises,
the traced operation raises an ExecutionError that is also of the plain exception's type.
"""

from __future__ import annotations

import cmath
import copy
import math
import operator
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trace_workbench.trace import ExceptionNode, ExecutionError, MessageNode, Node, node, operators
from trace_workbench.trace.nodes import ancestors

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies ---------------------------------------------------------------------------------
SPECIAL_FLOATS = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 0.5, -2.5, 1.0]
INTS = st.one_of(st.integers(-1000, 1000), st.sampled_from([0, 1, -1, 2, 2**63, -(2**64), 10**30]))
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(SPECIAL_FLOATS))
TEXTS = st.text(max_size=8)
SCALARS = st.one_of(st.integers(-5, 5), st.text(max_size=3))
LISTS = st.lists(SCALARS, max_size=5)
DICTS = st.dictionaries(st.text(max_size=3), st.integers(-5, 5), max_size=4)
VALUES = st.one_of(INTS, FLOATS, TEXTS, LISTS, DICTS, st.booleans())
SMALL_INTS = st.integers(-64, 64)


def pairs() -> st.SearchStrategy[tuple[Any, Any]]:
    """Operands of the same kind (mostly meaningful results) and of any kinds (mostly errors)."""
    same_kind = st.one_of(*(st.tuples(s, s) for s in (INTS, FLOATS, TEXTS, LISTS, DICTS)))
    mixed = st.one_of(st.tuples(INTS, FLOATS), st.tuples(FLOATS, INTS), st.tuples(TEXTS, st.integers(-50, 50)),
                      st.tuples(LISTS, st.integers(-50, 50)), st.tuples(st.integers(-50, 50), LISTS))
    return st.one_of(same_kind, mixed, st.tuples(VALUES, VALUES))


# Exponents and shift counts stay small so that no example builds a gigantic integer.
POWER_PAIRS = st.one_of(st.tuples(st.one_of(INTS, FLOATS), st.one_of(SMALL_INTS, FLOATS)),
                        st.tuples(st.one_of(TEXTS, LISTS), SMALL_INTS))
SHIFT_PAIRS = st.one_of(st.tuples(INTS, SMALL_INTS), st.tuples(VALUES, VALUES).filter(
    lambda p: not (isinstance(p[0], int) and isinstance(p[1], int))))


# -- comparing outcomes -------------------------------------------------------------------------
def same(a: Any, b: Any) -> bool:
    """Equal values of the same type; NaN equals NaN and 0.0 differs from -0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag) or (cmath.isnan(a) and cmath.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as e:  # KeyboardInterrupt and friends must not be swallowed here
        return "error", e


def check_same(plain: Callable[[], Any], traced: Callable[[], Any], parents: list[Node] | None = None,
               same_message: bool = True) -> Any:
    """Run both; the traced result is a MessageNode of the plain value, or the same error type."""
    expected_kind, expected = outcome(plain)
    kind, got = outcome(traced)
    if expected_kind == "error":
        assert kind == "error", f"plain Python raised {expected!r}, traced returned {got!r}"
        assert isinstance(got, ExecutionError), f"{got!r} is not an ExecutionError"
        assert isinstance(got, type(expected)), f"{type(got).__mro__} lacks {type(expected)}"
        assert type(got.original) is type(expected)
        assert isinstance(got.exception_node, ExceptionNode)
        assert got.exception_node.data.startswith(f"({type(expected).__qualname__})")
        if same_message:
            assert str(got) == str(expected)
        if parents is not None:
            assert all(any(p is q for q in got.exception_node.parents) for p in parents)
        return got
    assert kind == "ok", f"plain Python gave {expected!r}, traced raised {got!r}"
    assert isinstance(got, MessageNode)
    assert same(got.data, expected), f"{got.data!r} != {expected!r}"
    if parents is not None:
        assert all(any(p is q for q in got.parents) for p in parents)
    return got


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "&": operator.and_, "|": operator.or_, "^": operator.xor, "@": operator.matmul,
    "divmod": divmod, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


# -- binary operators ---------------------------------------------------------------------------
@pytest.mark.parametrize("symbol", list(BINARY))
@FAST
@given(operands=pairs())
def test_binary_operator_matches_python(symbol: str, operands: tuple[Any, Any]) -> None:
    op = BINARY[symbol]
    a, b = operands
    x, y = node(copy.deepcopy(a)), node(copy.deepcopy(b))
    check_same(lambda: op(a, b), lambda: op(x, y), parents=[x, y])
    # one plain operand: the node's own method, or the reflected one when the node is on the right
    check_same(lambda: op(a, b), lambda: op(x, copy.deepcopy(b)), parents=[x], same_message=False)
    if not (symbol == "%" and isinstance(a, str)):  # str % anything is str's own formatting, even of a node
        check_same(lambda: op(a, b), lambda: op(copy.deepcopy(a), y), parents=[y], same_message=False)


@pytest.mark.parametrize("symbol, op", [("**", operator.pow), ("<<", operator.lshift), (">>", operator.rshift)])
@FAST
@given(data=st.data())
def test_power_and_shift_match_python(symbol: str, op: Callable[[Any, Any], Any], data: st.DataObject) -> None:
    a, b = data.draw(POWER_PAIRS if symbol == "**" else SHIFT_PAIRS)
    x, y = node(a), node(b)
    check_same(lambda: op(a, b), lambda: op(x, y), parents=[x, y])
    check_same(lambda: op(a, b), lambda: op(a, y), parents=[y], same_message=False)
    check_same(lambda: op(a, b), lambda: op(x, b), parents=[x], same_message=False)


@FAST
@given(base=st.integers(-50, 50), exponent=st.integers(-3, 40), modulus=st.integers(-20, 20))
def test_three_argument_pow_matches_python(base: int, exponent: int, modulus: int) -> None:
    x, y, z = node(base), node(exponent), node(modulus)
    result = check_same(lambda: pow(base, exponent, modulus), lambda: pow(x, y, z), parents=[x, y, z])
    if isinstance(result, MessageNode):
        assert result.name.startswith("power_mod")
    check_same(lambda: pow(base, exponent, modulus), lambda: pow(x, exponent, modulus), parents=[x],
               same_message=False)


@FAST
@given(operands=pairs())
def test_equality_is_plain_and_eq_is_traced(operands: tuple[Any, Any]) -> None:
    a, b = operands
    x, y = node(a), node(b)
    assert (x == y) is (a == b)
    assert (x == b) is (a == b)
    assert (x != y) is (a != b)
    check_same(lambda: a == b, lambda: x.eq(y), parents=[x, y])
    check_same(lambda: a != b, lambda: x.neq(y), parents=[x, y])


# -- unary operators and conversions ------------------------------------------------------------
UNARY: dict[str, Callable[[Any], Any]] = {
    "neg": operator.neg, "pos": operator.pos, "abs": abs, "invert": operator.invert, "round": round,
    "round1": lambda v: round(v, 1), "floor": math.floor, "ceil": math.ceil, "trunc": math.trunc,
}


@pytest.mark.parametrize("name", list(UNARY))
@FAST
@given(value=VALUES)
def test_unary_operator_matches_python(name: str, value: Any) -> None:
    op = UNARY[name]
    x = node(value)
    result = check_same(lambda: op(value), lambda: op(x), parents=[x])
    if isinstance(result, MessageNode):
        assert result.parents[0] is x


@pytest.mark.parametrize("convert", [bool, len, int, float, str, list], ids=lambda f: f.__name__)
@FAST
@given(value=VALUES)
def test_conversions_return_plain_values(convert: Callable[[Any], Any], value: Any) -> None:
    """bool(), len(), int() ... of a node give what they give for its value (plain, untraced)."""
    expected_kind, expected = outcome(lambda: convert(value))
    kind, got = outcome(lambda: convert(node(value)))
    if convert in (str, list):  # str(node) describes the node; list(node) iterates traced elements
        assert kind == expected_kind
        return
    assert kind == expected_kind, (expected, got)
    if kind == "error":
        assert isinstance(got, type(expected))
    else:
        assert same(got, expected)


@FAST
@given(item=SCALARS, container=st.one_of(TEXTS, LISTS, DICTS, st.integers(), st.tuples(SCALARS, SCALARS)))
def test_in_matches_python(item: Any, container: Any) -> None:
    """`item in node` returns a plain bool (as Python requires) computed like plain Python."""
    expected_kind, expected = outcome(lambda: item in container)
    kind, got = outcome(lambda: item in node(container))
    assert kind == expected_kind
    if kind == "ok":
        assert got is expected
    else:
        assert isinstance(got, ExecutionError) and isinstance(got, type(expected))


# -- indexing, slicing, iteration ---------------------------------------------------------------
SLICES = st.builds(slice, st.none() | st.integers(-6, 6), st.none() | st.integers(-6, 6),
                   st.none() | st.integers(-3, 3))
CONTAINERS = st.one_of(TEXTS, LISTS, DICTS, st.tuples(SCALARS, SCALARS, SCALARS), st.integers())
KEYS = st.one_of(st.integers(-6, 6), SLICES, st.text(max_size=3), st.none(), st.floats(0, 2))


@FAST
@given(container=CONTAINERS, key=KEYS)
def test_getitem_matches_python(container: Any, key: Any) -> None:
    x = node(container)
    result = check_same(lambda: container[key], lambda: x[key], parents=[x])
    k = node(key)
    check_same(lambda: container[key], lambda: x[k], parents=[x, k])
    if isinstance(result, MessageNode):
        assert result.op_name == "getitem"


@FAST
@given(value=st.one_of(TEXTS, LISTS, DICTS, st.tuples(SCALARS, SCALARS), st.frozensets(st.integers(-5, 5))))
def test_iteration_yields_traced_elements(value: Any) -> None:
    """Iterating a node yields, in plain order, MessageNodes computed from the node."""
    x = node(value)
    elements = list(x)
    assert [e.data for e in elements] == list(value)
    for e in elements:
        assert isinstance(e, MessageNode)
        assert any(a is x for a in ancestors([e]))


@pytest.mark.parametrize("value", [5, 2.5, None, True])
def test_iterating_a_non_iterable_raises_like_python(value: Any) -> None:
    with pytest.raises(TypeError) as info:
        list(node(value))
    assert isinstance(info.value, ExecutionError)
    assert info.value.exception_node.parents[0].data == value


def test_items_of_a_dict_are_traced_pairs() -> None:
    d = node({"a": 1, "b": 2})
    pairs_ = list(d.items())
    assert [(k.data, v.data) for k, v in pairs_] == [("a", 1), ("b", 2)]
    for k, v in pairs_:
        assert any(a is d for a in ancestors([k])) and any(a is d for a in ancestors([v]))
    assert d.keys().data == ["a", "b"] and d.values().data == [1, 2]
    assert d.keys().parents == (d,)


# -- methods of the wrapped value ---------------------------------------------------------------
ARGUMENTS = st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=2), st.none(), st.just([1, "a"]),
                               st.just({"a": 1}), st.just(("a",))), max_size=2)
METHOD_CASES = [(kind, m) for kind, example in (("str", "ab"), ("list", [1]), ("dict", {"a": 1}), ("set", {1}))
                for m in sorted(n for n in dir(example) if not n.startswith("_"))
                if m not in ("keys", "values", "items")]  # these give traced lists / pairs, tested above
SIGNED = {"join", "split", "strip", "replace"}
STARTS = {"str": TEXTS, "list": LISTS, "dict": DICTS, "set": st.sets(st.integers(-3, 3), max_size=4)}


@pytest.mark.parametrize("kind, method", METHOD_CASES, ids=[f"{k}.{m}" for k, m in METHOD_CASES])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_value_methods_match_python(kind: str, method: str, data: st.DataObject) -> None:
    """node.method(*args) computes value.method(*args), changing the value exactly as Python does."""
    start = data.draw(STARTS[kind])
    args = data.draw(ARGUMENTS)
    wrap = data.draw(st.lists(st.booleans(), min_size=len(args), max_size=len(args)))
    plain_value = copy.deepcopy(start)
    x = node(copy.deepcopy(start))
    traced_args = [node(a) if w else a for a, w in zip(copy.deepcopy(args), wrap, strict=True)]
    if method in SIGNED:  # str methods, free of side effects: trying them first changes nothing
        # these four have Python signatures (their arguments become inputs): a wrong number of
        # arguments is a TypeError at the call, as for the plain method
        expected = outcome(lambda: getattr(plain_value, method)(*args))[1]
        got = outcome(lambda: getattr(x, method)(*traced_args))[1]
        if isinstance(expected, TypeError) and type(got) is TypeError:
            return
    result = check_same(lambda: getattr(plain_value, method)(*args), lambda: getattr(x, method)(*traced_args),
                        parents=[x], same_message=False)
    assert same(x.data, plain_value)
    if isinstance(result, MessageNode):
        assert result.op_name == method


@pytest.mark.parametrize("value", ["text", [1, 2], {"a": 1}, {1, 2}, (1, 2), 3, 2.5, None, b"xy", frozenset()],
                         ids=lambda v: type(v).__name__)
def test_method_lookup_fails_exactly_when_the_value_lacks_the_method(value: Any) -> None:
    names = {m for t in (str, list, dict, set, tuple, frozenset, bytes) for m in dir(t) if not m.startswith("_")}
    x = node(value)
    for name in sorted(names):
        assert hasattr(x, name) == hasattr(value, name), name
        if not hasattr(value, name):
            with pytest.raises(AttributeError, match=name):
                getattr(x, name)


def test_mutating_methods_change_the_value_like_python() -> None:
    items = node([3, 1])
    returned = items.append(2)
    assert items.data == [3, 1, 2] and returned.data is None and returned.parents[0] is items
    assert all(type(v) is int for v in items.data)  # the plain value, never a node, is appended
    items.sort()
    assert items.data == [1, 2, 3]
    assert items.pop().data == 3 and items.data == [1, 2]
    d = node({"a": 1})
    d.update(x=2)  # a keyword called like the traced operand must not replace it
    assert d.data == {"a": 1, "x": 2}
    assert d.pop("a").data == 1 and d.data == {"x": 2}
    s = node({1, 2})
    assert s.pop().data in (1, 2) and len(s.data) == 1
    assert node("{} {x}").format(1, x=2).data == "1 2"


def test_method_arguments_are_inputs() -> None:
    text, sep = node("a-b"), node("-")
    parts = text.split(sep)
    assert parts.data == ["a", "b"] and parts.parents[:2] == (text, sep)
    word = node("b")
    formatted = node("{}{w}").format(node("a"), w=word)
    assert formatted.data == "ab" and any(p is word for p in formatted.parents)
    a, b = node("x"), node("y")
    joined = node(",").join([a, b])
    assert joined.data == "x,y" and {id(a), id(b)} <= set(map(id, joined.parents))


# -- operator results and descriptions ----------------------------------------------------------
@pytest.mark.parametrize("expression, op_name, expected", [
    (lambda x, y: x + y, "add", 7), (lambda x, y: x - y, "subtract", 3), (lambda x, y: x * y, "multiply", 10),
    (lambda x, y: x / y, "divide", 2.5), (lambda x, y: x // y, "floor_divide", 2), (lambda x, y: x % y, "mod", 1),
    (lambda x, y: x ** y, "power", 25), (lambda x, y: x << y, "lshift", 20), (lambda x, y: x >> y, "rshift", 1),
    (lambda x, y: x & y, "and_", 0), (lambda x, y: x | y, "or_", 7), (lambda x, y: x ^ y, "xor", 7),
    (lambda x, y: x < y, "lt", False), (lambda x, y: x <= y, "le", False), (lambda x, y: x > y, "gt", True),
    (lambda x, y: x >= y, "ge", True), (lambda x, y: divmod(x, y), "node_divmod", (2, 1)),
    (lambda x, y: x.eq(y), "eq", False), (lambda x, y: x.neq(y), "neq", True), (lambda x, y: x[y], "getitem", None),
])
def test_binary_result_is_a_message_node_with_both_parents(expression: Callable[..., Any], op_name: str,
                                                           expected: Any) -> None:
    x, y = node(5 if op_name != "getitem" else [1, 2, 3]), node(2)
    result = expression(x, y)
    assert isinstance(result, MessageNode)
    assert result.parents == (x, y)
    assert result.inputs == ({"x": x, "index": y} if op_name == "getitem" else {"x": x, "y": y})
    assert result.op_name == op_name
    assert result.description.startswith(f"[{op_name}] ")
    assert result.level == 1
    assert result.data == (expected if expected is not None else 3)
    assert any(c is result for c in x.children) and any(c is result for c in y.children)


def test_reflected_operators_keep_the_plain_operand_first() -> None:
    x = node(4)
    for result, expected in [(10 - x, 6), (10 / x, 2.5), (2 ** x, 16), (9 // x, 2), (9 % x, 1), ("ab" * x, "abababab"),
                             (1 << x, 16), (3 & x, 0), (3 | x, 7), (3 ^ x, 7), (10 + x, 14), ([0] * x, [0] * 4)]:
        assert isinstance(result, MessageNode) and result.data == expected
        assert result.parents[1] is x and result.parents[0] is not x
    concatenated = "a" + node("b")
    assert concatenated.data == "ab" and concatenated.op_name == "concat"


def test_unary_results_have_the_operand_as_parent() -> None:
    x = node(-2.5)
    for result, op_name, expected in [(-x, "neg", 2.5), (+x, "pos", -2.5), (abs(x), "abs", 2.5),
                                      (math.floor(x), "floor", -3), (math.ceil(x), "ceil", -2),
                                      (math.trunc(x), "trunc", -2), (round(x), "round", -2)]:
        assert isinstance(result, MessageNode) and result.op_name == op_name and result.data == expected
        assert result.parents[0] is x
    assert (~node(5)).data == -6
    assert round(node(2.567), 2).data == 2.57


def test_bool_len_contains_are_plain() -> None:
    x = node([1, 2, 3])
    assert len(x) == 3 and type(len(x)) is int
    assert bool(x) is True and bool(node([])) is False and bool(node(0)) is False
    assert (2 in x) is True and (5 in x) is False
    assert ("a" in node({"a": 1})) is True and ("bc" in node("abc")) is True
    assert (node(2) in x) is True
    if node(0):
        pytest.fail("a node of 0 must be falsy")


# -- objects, getattr, call ---------------------------------------------------------------------
class Counter:
    step = 2

    def __init__(self) -> None:
        self.count = 0

    def bump(self, by: Any) -> int:
        self.count += by * self.step
        return self.count


def test_getattr_and_call_on_a_wrapped_object() -> None:
    obj = node(Counter())
    step = obj.getattr("step")
    assert isinstance(step, MessageNode) and step.data == 2 and step.parents[0] is obj
    result = obj.call("bump", 3)
    assert isinstance(result, MessageNode) and result.data == 6 and obj.data.count == 6
    method = result.parents[0]
    assert method.op_name == "node_getattr" and any(p is obj for p in method.parents)
    assert result.parents[1].data == 3
    with pytest.raises(AttributeError) as info:
        obj.getattr("missing")
    assert isinstance(info.value, ExecutionError) and info.value.exception_node.parents[0] is obj
    with pytest.raises(AttributeError):
        obj.bump  # noqa: B018 -- attributes of the wrapped object are reached with getattr()/call()


def test_calling_a_callable_node() -> None:
    fun, arg = node(lambda a, b=1: a * 10 + b), node(4)
    result = fun(arg, b=2)
    assert isinstance(result, MessageNode) and result.data == 42 and result.op_name == "call"
    assert result.parents[0] is fun and any(p is arg for p in result.parents)
    assert fun(arg).data == 41
    names = node(lambda **kw: sorted(kw))
    keywords = names(fun=1, x=2, self=3)  # names used by the call itself are free
    assert keywords.data == ["fun", "self", "x"] and keywords.parents[0] is names and len(keywords.parents) == 4
    assert node(Counter()).call("bump", by=1).data == 2


def test_calling_a_node_that_is_not_callable_raises_an_execution_error() -> None:
    x = node(5)
    with pytest.raises(TypeError) as info:
        x(1)
    assert isinstance(info.value, ExecutionError)
    assert info.value.exception_node.parents[0] is x


def test_a_failing_call_records_its_inputs() -> None:
    fun, arg = node(lambda a: 1 / a), node(0)
    with pytest.raises(ZeroDivisionError) as info:
        fun(arg)
    assert set(map(id, info.value.exception_node.parents)) == {id(fun), id(arg)}


# -- the operators module -----------------------------------------------------------------------
def test_operator_functions_wrap_plain_values_as_inputs() -> None:
    result = operators.add(1, node(2))
    assert result.data == 3 and [p.data for p in result.parents] == [1, 2]
    assert operators.cond(node(True), node("a"), node("b")).data == "a"
    assert operators.make_list(node(1), 2).data == [1, 2]
    assert operators.make_dict(a=node(1), b=2).data == {"a": 1, "b": 2}
    assert operators.to_tuple(node([1, 2])).data == (1, 2)
    assert operators.is_(node(None), node(None)).data is True
    assert operators.not_in(node(1), node([2])).data is True
    original = [1, 2]
    appended = operators.list_append(node(original), 3)
    assert appended.data == [1, 2, 3] and original == [1, 2]  # the copying operators leave x unchanged
    assert operators.dict_update(node({"a": 1}), {"b": 2}).data == {"a": 1, "b": 2}
    assert operators.list_sort(node([2, 1])).data == [1, 2]
    assert operators.clone(node([1])).data == [1]


def test_a_custom_operator() -> None:
    @operators.operator
    def hypot(a: Any, b: Any = 4) -> Any:
        """The hypotenuse of a and b."""
        return math.hypot(a, b)

    assert hypot.description == "[hypot] The hypotenuse of a and b."
    x = node(3)
    result = hypot(x)
    assert result.data == 5.0 and set(result.inputs) == {"a", "b"} and result.inputs["a"] is x
    with pytest.raises(TypeError):
        hypot(1, 2, 3)
    with pytest.raises(TypeError):
        hypot(1, c=2)
    with pytest.raises(TypeError):
        hypot(1, a=2)
    with pytest.raises(TypeError) as info:
        hypot("a")
    assert isinstance(info.value, ExecutionError)
