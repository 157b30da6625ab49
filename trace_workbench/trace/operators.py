"""Traced operators: each runs a plain Python operation on its inputs' values and returns a
MessageNode whose parents are those inputs. A failing operation raises an ExecutionError that is
also an instance of the plain error's type, carrying the ExceptionNode that records it.
"""

from __future__ import annotations

import builtins
import copy as _copy
import inspect
import math
import traceback
from collections.abc import Callable
from typing import Any

from trace_workbench.trace.errors import execution_error
from trace_workbench.trace.graph import _READS
from trace_workbench.trace.nodes import ExceptionNode, MessageNode, Node


def apply(name: str, description: str, inputs: dict[str, Node], fn: Callable[..., Any], args: list[Node],
          kwargs: dict[str, Node], pass_nodes: bool = False, info: dict[str, Any] | None = None) -> MessageNode:
    """Run `fn` on the inputs (their values, or the nodes themselves) and record the result."""
    try:
        if pass_nodes:
            token = _READS.set(None)  # reads inside belong to the called function, not to an outer bundle
            try:
                output = fn(*args, **kwargs)
            finally:
                _READS.reset(token)
        else:
            output = fn(*[a._data for a in args], **{k: v._data for k, v in kwargs.items()})
    except Exception as e:
        raise_execution_error(name, inputs, e, info)
    return MessageNode(output, inputs=inputs, description=description, name=name, info=info)


def raise_execution_error(name: str, inputs: dict[str, Node], error: Exception,
                          info: dict[str, Any] | None = None) -> None:
    """Record `error` as an ExceptionNode of the operation and raise it as an ExecutionError."""
    info = dict(info or {})
    info.setdefault("traceback", "".join(traceback.format_exception(error)))
    exception_node = ExceptionNode(error, inputs=inputs, name=f"exception_{name}", info=info,
                                   description=f"[exception] The operator {name} raises an exception.")
    raise execution_error(exception_node, error).with_traceback(error.__traceback__) from None


class Operator:
    """A traced operation defined by a plain function; inputs are named after its parameters."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None, params: list[str] | None = None,
                 doc: str | None = None) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.__doc__ = doc or fn.__doc__
        self.description = f"[{self.name}] {inspect.cleandoc(self.__doc__ or '')}"
        self.params: list[str] = []
        self.defaults: dict[str, Any] = {}
        self.varargs = self.varkw = False
        for p in inspect.signature(fn).parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                self.varargs = True
            elif p.kind is p.VAR_KEYWORD:
                self.varkw = True
            else:
                self.params.append(p.name)
                if p.default is not p.empty:
                    self.defaults[p.name] = p.default
        if params is not None:
            self.params, self.varargs = params, False

    def __call__(self, *args: Any, **kwargs: Any) -> MessageNode:
        params = self.params
        if len(args) > len(params) and not self.varargs:
            raise TypeError(f"{self.name}() takes {len(params)} positional arguments but {len(args)} were given")
        inputs: dict[str, Node] = {}
        for i, value in enumerate(args):
            key = params[i] if i < len(params) else f"args_{i - len(params)}"
            inputs[key] = value if isinstance(value, Node) else Node(value, name=key)
        keywords: dict[str, Node] = {}
        for key, value in kwargs.items():
            if key in inputs:
                raise TypeError(f"{self.name}() got multiple values for argument {key!r}")
            value = value if isinstance(value, Node) else Node(value, name=key)
            if key in params:
                inputs[key] = value
            elif self.varkw:
                inputs[key] = keywords[key] = value
            else:
                raise TypeError(f"{self.name}() got an unexpected keyword argument {key!r}")
        for key in params:
            if key not in inputs:
                if key not in self.defaults:
                    raise TypeError(f"{self.name}() missing required argument {key!r}")
                inputs[key] = Node(self.defaults[key], name=key)
        positional = [inputs[key] for key in params] + [inputs[f"args_{i}"] for i in range(len(args) - len(params))]
        return apply(self.name, self.description, inputs, self.fn, positional, keywords)

    def __repr__(self) -> str:
        return f"<traced operator {self.name}>"


def operator(fn: Callable[..., Any]) -> Operator:
    """Decorator: make a plain function of values a traced operator."""
    return Operator(fn)


# -- copies -------------------------------------------------------------------------------------
@operator
def clone(x: Any) -> Any:
    """This is a clone operator of x: a deep copy."""
    return _copy.deepcopy(x)


def identity(x: Node) -> MessageNode:
    """A traced copy of x."""
    return x.clone()


# -- unary ----------------------------------------------------------------------------------------
@operator
def pos(x: Any) -> Any:
    """This is a pos operator of x: +x."""
    return +x


@operator
def neg(x: Any) -> Any:
    """This is a neg operator of x: -x."""
    return -x


@operator
def abs(x: Any) -> Any:  # noqa: A001 -- Trace's operator name
    """This is an abs operator of x."""
    return builtins.abs(x)


@operator
def invert(x: Any) -> Any:
    """This is an invert operator of x: ~x."""
    return ~x


@operator
def round(x: Any, n: Any = None) -> Any:  # noqa: A001
    """This is a round operator of x: round(x, n)."""
    return builtins.round(x, n)


@operator
def floor(x: Any) -> Any:
    """This is a floor operator of x: math.floor(x)."""
    return math.floor(x)


@operator
def ceil(x: Any) -> Any:
    """This is a ceil operator of x: math.ceil(x)."""
    return math.ceil(x)


@operator
def trunc(x: Any) -> Any:
    """This is a trunc operator of x: math.trunc(x)."""
    return math.trunc(x)


@operator
def not_(x: Any) -> Any:
    """This is a not operator of x: not x."""
    return not x


# -- binary ---------------------------------------------------------------------------------------
@operator
def add(x: Any, y: Any) -> Any:
    """This is an add operator of x and y: x + y."""
    return x + y


@operator
def concat(x: Any, y: Any) -> Any:
    """This is a concatenation operator of x and y: x + y."""
    return x + y


@operator
def subtract(x: Any, y: Any) -> Any:
    """This is a subtract operator of x and y: x - y."""
    return x - y


@operator
def multiply(x: Any, y: Any) -> Any:
    """This is a multiply operator of x and y: x * y."""
    return x * y


@operator
def matmul(x: Any, y: Any) -> Any:
    """This is a matrix multiply operator of x and y: x @ y."""
    return x @ y


@operator
def floor_divide(x: Any, y: Any) -> Any:
    """This is a floor divide operator of x and y: x // y."""
    return x // y


@operator
def divide(x: Any, y: Any) -> Any:
    """This is a divide operator of x and y: x / y."""
    return x / y


@operator
def mod(x: Any, y: Any) -> Any:
    """This is a mod operator of x and y: x % y."""
    return x % y


@operator
def node_divmod(x: Any, y: Any) -> Any:
    """This is a divmod operator of x and y: divmod(x, y)."""
    return divmod(x, y)


@operator
def power(x: Any, y: Any) -> Any:
    """This is a power operator of x and y: x ** y."""
    return x**y


@operator
def power_mod(x: Any, y: Any, z: Any) -> Any:
    """This is a modular power operator of x, y and z: pow(x, y, z)."""
    return builtins.pow(x, y, z)


@operator
def lshift(x: Any, y: Any) -> Any:
    """This is a left shift operator of x and y: x << y."""
    return x << y


@operator
def rshift(x: Any, y: Any) -> Any:
    """This is a right shift operator of x and y: x >> y."""
    return x >> y


@operator
def and_(x: Any, y: Any) -> Any:
    """This is a bitwise and operator of x and y: x & y."""
    return x & y


@operator
def or_(x: Any, y: Any) -> Any:
    """This is a bitwise or operator of x and y: x | y."""
    return x | y


@operator
def xor(x: Any, y: Any) -> Any:
    """This is a bitwise xor operator of x and y: x ^ y."""
    return x ^ y


# -- comparisons and membership -------------------------------------------------------------------
@operator
def lt(x: Any, y: Any) -> Any:
    """This is a less-than operator of x and y: x < y."""
    return x < y


@operator
def le(x: Any, y: Any) -> Any:
    """This is a less-than-or-equal operator of x and y: x <= y."""
    return x <= y


@operator
def gt(x: Any, y: Any) -> Any:
    """This is a greater-than operator of x and y: x > y."""
    return x > y


@operator
def ge(x: Any, y: Any) -> Any:
    """This is a greater-than-or-equal operator of x and y: x >= y."""
    return x >= y


@operator
def eq(x: Any, y: Any) -> Any:
    """This is an equality operator of x and y: x == y."""
    return x == y


@operator
def neq(x: Any, y: Any) -> Any:
    """This is a not-equal operator of x and y: x != y."""
    return x != y


ne = neq


@operator
def is_(x: Any, y: Any) -> Any:
    """This is an identity operator of x and y: x is y."""
    return x is y


@operator
def is_not(x: Any, y: Any) -> Any:
    """This is a non-identity operator of x and y: x is not y."""
    return x is not y


@operator
def in_(x: Any, y: Any) -> Any:
    """This is a membership operator of x in y: x in y."""
    return x in y


@operator
def not_in(x: Any, y: Any) -> Any:
    """This is a non-membership operator of x in y: x not in y."""
    return x not in y


@operator
def cond(condition: Any, x: Any, y: Any) -> Any:
    """This selects x if condition is True, otherwise y."""
    return x if condition else y


# -- containers -----------------------------------------------------------------------------------
@operator
def getitem(x: Any, index: Any) -> Any:
    """This is a getitem operator of x based on index: x[index]."""
    return x[index]


@operator
def pop(x: Any, index: Any = -1) -> Any:
    """This is a pop operator of x based on index: x.pop(index)."""
    return x.pop(index)


@operator
def len_(x: Any) -> Any:
    """This is a len operator of x: len(x)."""
    return len(x)


@operator
def ord_(x: Any) -> Any:
    """This is an ord operator of x: ord(x)."""
    return ord(x)


@operator
def chr_(x: Any) -> Any:
    """This is a chr operator of x: chr(x)."""
    return chr(x)


@operator
def to_list(x: Any) -> Any:
    """This converts x to a list: list(x)."""
    return list(x)


@operator
def make_list(*args: Any) -> Any:
    """This makes a list of the arguments."""
    return list(args)


@operator
def to_dict(x: Any) -> Any:
    """This converts x to a dict: dict(x)."""
    return dict(x)


@operator
def make_dict(**kwargs: Any) -> Any:
    """This makes a dict of the keyword arguments."""
    return kwargs


@operator
def to_set(x: Any) -> Any:
    """This converts x to a set: set(x)."""
    return set(x)


@operator
def make_set(*args: Any) -> Any:
    """This makes a set of the arguments."""
    return set(args)


@operator
def to_tuple(x: Any) -> Any:
    """This converts x to a tuple: tuple(x)."""
    return tuple(x)


@operator
def make_tuple(*args: Any) -> Any:
    """This makes a tuple of the arguments."""
    return tuple(args)


@operator
def keys(x: Any) -> Any:
    """This returns the keys of the dict x as a list."""
    if not isinstance(x, dict):
        raise AttributeError(f"{type(x).__name__!r} object has no attribute 'keys'")
    return list(x.keys())


@operator
def values(x: Any) -> Any:
    """This returns the values of the dict x as a list."""
    if not isinstance(x, dict):
        raise AttributeError(f"{type(x).__name__!r} object has no attribute 'values'")
    return list(x.values())


def _copy_then(name: str, method: str, params: str, doc: str) -> Operator:
    """An operator returning a copy of x with x.`method`(...) applied, leaving x itself unchanged."""

    def fn(x: Any, *args: Any) -> Any:
        x = _copy.copy(x)
        getattr(x, method)(*args)
        return x

    return Operator(fn, name=name, params=params.split(", "), doc=doc)


dict_update = _copy_then("dict_update", "update", "x, y", "A copy of the dict x updated with y.")
dict_pop = _copy_then("dict_pop", "pop", "x, key", "A copy of the dict x without key.")
dict_popitem = _copy_then("dict_popitem", "popitem", "x", "A copy of the dict x without its last item.")
list_append = _copy_then("list_append", "append", "x, y", "A copy of the list x with y appended.")
list_clear = _copy_then("list_clear", "clear", "x", "An empty copy of the list x.")
list_extend = _copy_then("list_extend", "extend", "x, y", "A copy of the list x extended by y.")
list_insert = _copy_then("list_insert", "insert", "x, index, y", "A copy of the list x with y inserted at index.")
list_pop = _copy_then("list_pop", "pop", "x, index", "A copy of the list x without the item at index.")
list_remove = _copy_then("list_remove", "remove", "x, y", "A copy of the list x without the first y.")
list_reverse = _copy_then("list_reverse", "reverse", "x", "A reversed copy of the list x.")
set_add = _copy_then("set_add", "add", "x, y", "A copy of the set x with y added.")
set_clear = _copy_then("set_clear", "clear", "x", "An empty copy of the set x.")
set_discard = _copy_then("set_discard", "discard", "x, y", "A copy of the set x without y.")
set_intersection_update = _copy_then("set_intersection_update", "intersection_update", "x, y",
                                     "A copy of the set x intersected with y.")
set_pop = _copy_then("set_pop", "pop", "x", "A copy of the set x without an arbitrary element.")
set_remove = _copy_then("set_remove", "remove", "x, y", "A copy of the set x without y (y must be in x).")
set_symmetric_difference_update = _copy_then(
    "set_symmetric_difference_update", "symmetric_difference_update", "x, y",
    "A copy of the set x with the elements in exactly one of x and y.")
set_update = _copy_then("set_update", "update", "x, y", "A copy of the set x with the elements of y added.")


@operator
def list_sort(x: Any, key: Any = None, reverse: Any = False) -> Any:
    """A sorted copy of the list x."""
    x = _copy.copy(x)
    x.sort(key=key, reverse=reverse)
    return x


# -- strings --------------------------------------------------------------------------------------
@operator
def split(x: Any, y: Any = None, maxsplit: Any = -1) -> Any:
    """This splits the string x by the separator y: x.split(y, maxsplit)."""
    return x.split(y, maxsplit)


@operator
def strip(x: Any, chars: Any = None) -> Any:
    """This strips the characters chars from both ends of x: x.strip(chars)."""
    return x.strip(chars)


@operator
def replace(x: Any, old: Any, new: Any, count: Any = -1) -> Any:
    """This replaces old by new in x: x.replace(old, new, count)."""
    return x.replace(old, new, count)


@operator
def format(x: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A001
    """This formats the string x with the arguments: x.format(*args, **kwargs)."""
    return x.format(*args, **kwargs)


@operator
def join(x: Any, *y: Any) -> Any:
    """This joins the strings y with the separator x: x.join(y)."""
    return x.join(y)


def _string_method(method: str) -> Operator:
    return Operator(lambda x: getattr(x, method)(), name=method, params=["x"],
                    doc=f"This is the str.{method} operator of x: x.{method}().")


lower = _string_method("lower")
upper = _string_method("upper")
title = _string_method("title")
swapcase = _string_method("swapcase")
capitalize = _string_method("capitalize")


# -- objects and calls ----------------------------------------------------------------------------
@operator
def node_getattr(obj: Any, attr: Any) -> Any:
    """This gets the attribute attr of obj: getattr(obj, attr)."""
    return getattr(obj, attr)


def _call_inputs(key: str, target: Node, positional: list[Node], keywords: dict[str, Node]) -> dict[str, Node]:
    """Inputs of a call: the called node, args_0, args_1 ..., then the keywords (renamed kwargs_<name>
    if a name is taken, so a keyword argument called "x" does not replace the node called)."""
    inputs = {key: target, **{f"args_{i}": a for i, a in enumerate(positional)}}
    for k, v in keywords.items():
        inputs[f"kwargs_{k}" if k in inputs else k] = v
    return inputs


def call(fun: Node, /, *args: Any, **kwargs: Any) -> MessageNode:
    """Traced call of the callable in `fun`; the arguments (as nodes) are its other inputs."""
    from trace_workbench.trace.nodes import node

    positional = [node(a) for a in args]
    keywords = {k: node(v) for k, v in kwargs.items()}
    inputs = _call_inputs("fun", fun, positional, keywords)
    return apply("call", "[call] This calls fun with the arguments: fun(*args, **kwargs).", inputs,
                 fun._data, positional, keywords, pass_nodes=True)


def method_call(x: Node, method: Node, /, *args: Any, **kwargs: Any) -> MessageNode:
    """Traced call of the method named `method` of x's value, e.g. "lower" or "index"."""
    from trace_workbench.trace.nodes import node

    name = method._data
    positional = [node(a) for a in args]
    keywords = {k: node(v) for k, v in kwargs.items()}
    inputs = _call_inputs("x", x, positional, keywords)
    description = f"[{name}] This calls the {name} method of x: x.{name}(*args, **kwargs)."
    return apply(name, description, inputs, getattr(x._data, name), positional, keywords)


# -- programs that call a model --------------------------------------------------------------------
CALL_LLM_DESCRIPTION = "[call_llm] Query the language model of system_prompt with user_prompts."


def call_llm(system_prompt: Any, *user_prompts: Any, llm: Any = None, **kwargs: Any) -> MessageNode:
    """Traced chat call: the prompts are the inputs (so trainable prompts get feedback), the reply text the output.

    Messages are one system message then one user message per user prompt, as in Trace. ``llm`` is
    the model to ask (a ``trace_workbench.llm.LLM`` or anything called the same way); by default the
    program LLM of ``trace_workbench.llm.program_llm()``, metered apart from the optimizer's. Other
    keyword arguments (temperature, max_tokens, ...) go to the request. The llm layer is imported
    here, at the call: the one place the engine reaches up to it.
    """
    inputs: dict[str, Node] = {"system_prompt": system_prompt if isinstance(system_prompt, Node)
                               else Node(system_prompt, name="system_prompt")}
    for i, prompt in enumerate(user_prompts):
        key = f"args_{i}"
        inputs[key] = prompt if isinstance(prompt, Node) else Node(prompt, name=key)
    settings = {k: v._data if isinstance(v, Node) else v for k, v in kwargs.items()}

    def ask(system: Any, *users: Any) -> str:
        from trace_workbench.llm.program import complete

        messages = [{"role": "system", "content": system}] + [{"role": "user", "content": u} for u in users]
        return complete(messages, llm=llm, **settings)

    return apply("call_llm", CALL_LLM_DESCRIPTION, inputs, ask, list(inputs.values()), {})
