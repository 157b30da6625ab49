"""Rewriting a %%trace cell's AST so plain Python records a trace, and the helpers the rewritten code calls.

The person writes plain Python. The rewrite (ast.NodeTransformer, line numbers kept so tracebacks
point at the person's lines) routes the cell's top-level code through `CellRuntime`:

- calls `f(x)` become `rt.call(f, x)`: a call with traced values among its arguments is recorded
  as one operation named after the function, its docstring as the description;
- method calls `obj.m(x)` become `rt.method(obj, "m", x)`, attribute loads `obj.a` become
  `rt.attr(obj, "a")`, f-strings become `rt.fstring(...)`;
- `name = value` for a `--train` name becomes `name = rt.param("name", value, "<its source>")`;
- after `def f` for a `--train-code` name comes `f = rt.code("f", f, "<its source>")`;
- the last expression (without `--output`) becomes `rt.result(expr)`;
- `await x` becomes `await rt.awaited(x)` (a cell that awaits at its top level compiles to a coroutine,
  as IPython compiles such cells).

The cell arrives here as IPython would run it (`!cmd`, `%magic` and `x?` already calls of
`get_ipython()`, which are left as they are).

Operators, comparisons, subscripts and control flow need no rewriting: nodes trace operators
themselves, and `if`/`for` use a node's plain truth value. Bodies of functions and classes
defined in the cell stay plain: they run on plain values, and a call of them is one operation.
No IPython here.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import CodeType
from typing import TYPE_CHECKING, Any

from trace_workbench.trace import operators as ops
from trace_workbench.trace.bundle import FunModule, to_data
from trace_workbench.trace.containers import NodeContainer
from trace_workbench.trace.nodes import Node, node

if TYPE_CHECKING:
    from trace_workbench.workbench.session import Session

__all__ = ["RUNTIME_NAME", "CellRuntime", "RewriteError", "RewrittenCell", "collect_nodes", "rewrite_cell",
           "traced_call"]

RUNTIME_NAME = "_trace_workbench_cell_"
"""The name under which the running cell finds its CellRuntime (present only while a traced cell runs)."""

_UNTOUCHED_CALLS = frozenset({"locals", "globals", "vars", "eval", "exec", "dir", "super", "breakpoint",
                              "__import__", "get_ipython"})
"""Functions that look at their caller's frame (or IPython itself): called as written, never wrapped."""

PLAIN_CALLS: frozenset[Any] = frozenset({print, isinstance, issubclass, type, id, callable, hasattr, repr, range,
                                         enumerate, zip, iter, next, reversed, map, filter, hash})
"""Builtins called on the plain values and not recorded: they inspect, print or iterate."""

_STORAGE = (list, dict, set, bytearray)
_STORING = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "remove", "discard"})
"""Methods of plain containers that store (or compare) their arguments, e.g. `items.append(x)`: a node
is passed as it is, so the container holds the node and later cells' graphs reach it."""


_COMPILED: dict[tuple[Any, ...], RewrittenCell] = {}
_COMPILED_MAX = 256
"""Rewritten cells by (source, filename, options): re-running a cell (the automatic loop does) skips the rewrite."""
_CALLABLES: dict[Any, tuple[str, inspect.Signature | None]] = {}
_CALLABLES_MAX = 1024
"""Description and signature of the functions called with traced values, looked up once per function."""


class RewriteError(SyntaxError):
    """The cell cannot be traced as asked (e.g. `--train x` but the cell never assigns x)."""


@dataclass(frozen=True)
class RewrittenCell:
    """The compiled cell, and the compiled `--output` expression if there is one."""

    code: CodeType
    output: CodeType | None
    awaits: bool = False
    """The cell awaits at its top level: `eval(code)` gives a coroutine to run (see TracedCells)."""


_POSITION = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def _location(new: ast.AST, old: ast.AST) -> ast.AST:
    """`new` and its new sub-nodes placed at `old`'s position; sub-nodes that have one keep it, and are
    not walked (so the rewrite stays linear in the size of the cell)."""
    where = [getattr(old, name, None) for name in _POSITION]
    stack = [new]
    while stack:
        item = stack.pop()
        if "lineno" in item._attributes:
            if getattr(item, "lineno", None) is not None:
                continue
            for name, value in zip(_POSITION, where, strict=True):
                setattr(item, name, value)
        for child in ast.iter_child_nodes(item):
            stack.append(child)
    return new


def _runtime(attribute: str) -> ast.Attribute:
    """`_trace_workbench_cell_.<attribute>`: a helper of the running cell's CellRuntime."""
    return ast.Attribute(value=ast.Name(id=RUNTIME_NAME, ctx=ast.Load()), attr=attribute, ctx=ast.Load())


def _calls_ipython(func: ast.expr) -> bool:
    """`get_ipython().m`: what IPython's input transformations make of `!cmd`, `%magic` and `x?` (called as is)."""
    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython")


class _Tracer(ast.NodeTransformer):
    """Routes calls, attribute loads and f-strings of the cell's own code through the runtime."""

    def visit_FunctionDef(self, tree: ast.FunctionDef) -> ast.AST:  # noqa: N802 -- ast's visitor names
        return tree

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815
    visit_ClassDef = visit_FunctionDef  # noqa: N815
    visit_Lambda = visit_FunctionDef  # noqa: N815

    def visit_Call(self, tree: ast.Call) -> ast.AST:  # noqa: N802
        func = tree.func
        if isinstance(func, ast.Name) and func.id in _UNTOUCHED_CALLS or _calls_ipython(func):
            return self.generic_visit(tree)
        args = [self.visit(a) for a in tree.args]
        keywords = [self.visit(k) for k in tree.keywords]
        if isinstance(func, ast.Attribute):
            target = [self.visit(func.value), ast.Constant(func.attr)]
            helper = "method"
        else:
            target = [self.visit(func)]
            helper = "call"
        return _location(ast.Call(func=_runtime(helper), args=[*target, *args], keywords=keywords), tree)

    def visit_Await(self, tree: ast.Await) -> ast.AST:  # noqa: N802
        awaited = ast.Call(func=_runtime("awaited"), args=[self.visit(tree.value)], keywords=[])
        return _location(ast.Await(value=awaited), tree)

    def visit_Attribute(self, tree: ast.Attribute) -> ast.AST:  # noqa: N802
        if not isinstance(tree.ctx, ast.Load):
            return self.generic_visit(tree)
        return _location(ast.Call(func=_runtime("attr"), args=[self.visit(tree.value), ast.Constant(tree.attr)],
                                  keywords=[]), tree)

    def visit_Subscript(self, tree: ast.Subscript) -> ast.AST:  # noqa: N802
        if not isinstance(tree.ctx, ast.Load):
            return self.generic_visit(tree)
        return _location(ast.Call(func=_runtime("item"), args=[self.visit(tree.value), self.visit(tree.slice)],
                                  keywords=[]), tree)

    def visit_Compare(self, tree: ast.Compare) -> ast.AST:  # noqa: N802
        if len(tree.ops) != 1 or not isinstance(tree.ops[0], (ast.In, ast.NotIn)):
            return self.generic_visit(tree)
        test = ast.Call(func=_runtime("contains"), args=[self.visit(tree.comparators[0]), self.visit(tree.left)],
                        keywords=[])
        if isinstance(tree.ops[0], ast.NotIn):
            test = ast.UnaryOp(op=ast.Not(), operand=test)
        return _location(test, tree)

    def visit_JoinedStr(self, tree: ast.JoinedStr) -> ast.AST:  # noqa: N802
        parts: list[ast.expr] = []
        for value in tree.values:
            if isinstance(value, ast.FormattedValue):
                spec = self.visit(value.format_spec) if value.format_spec is not None else ast.Constant(None)
                parts.append(ast.Tuple(elts=[self.visit(value.value), ast.Constant(value.conversion), spec],
                                       ctx=ast.Load()))
            else:
                parts.append(value)
        return _location(ast.Call(func=_runtime("fstring"), args=parts, keywords=[]), tree)


def _statements(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """The cell's statements in source order, into if/for/while/with/try blocks but not into defs."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            yield from _statements(getattr(statement, name, None) or [])
        for handler in getattr(statement, "handlers", None) or []:
            yield from _statements(handler.body)


def rewrite_cell(source: str, filename: str, *, train: Iterable[str] = (), train_code: Iterable[str] = (),
                 output: str | None = None, first_line: int = 1) -> RewrittenCell:
    """Parse, rewrite and compile a traced cell (`source` starts at line `first_line` of `filename`).

    Raises SyntaxError (with the person's line numbers) for invalid Python, and RewriteError when a
    `--train`/`--train-code` name is not assigned/defined by the cell or `--output` is not an expression.
    """
    key = (source, filename, tuple(train), tuple(train_code), output, first_line)
    cached = _COMPILED.get(key)
    if cached is not None:
        return cached
    source = "\n" * (first_line - 1) + source  # parse at the person's line numbers in the whole cell
    tree = ast.parse(source, filename, "exec")
    train = list(dict.fromkeys(train))
    train_code = list(dict.fromkeys(train_code))
    wrapped: set[str] = set()
    defined: set[str] = set()
    for statement in _statements(tree.body):
        target = None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target = statement.target
        if isinstance(target, ast.Name) and target.id in train and target.id not in wrapped:
            assert isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None
            segment = ast.unparse(statement.value)  # what the person wrote, to notice an edit
            statement.value = _location(ast.Call(
                func=_runtime("param"),
                args=[ast.Constant(target.id), _Tracer().visit(statement.value), ast.Constant(segment)],
                keywords=[]), statement.value)
            statement._traced = True  # type: ignore[attr-defined]
            wrapped.add(target.id)
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name in train_code:
            defined.add(statement.name)
    missing = [n for n in train if n not in wrapped]
    if missing:
        raise RewriteError(f"--train {', '.join(missing)}: the cell never assigns "
                           f"{'this name' if len(missing) == 1 else 'these names'} (write e.g. `{missing[0]} = ...`)")
    missing = [n for n in train_code if n not in defined]
    if missing:
        raise RewriteError(f"--train-code {', '.join(missing)}: the cell defines no function of that name "
                           f"(write `def {missing[0]}(...):` in this cell)")
    body = _rewrite_body(tree.body, source, set(train_code))
    if output is None and body and isinstance(body[-1], ast.Expr):
        last = body[-1]
        last.value = _location(ast.Call(func=_runtime("result"), args=[last.value], keywords=[]),
                               last.value)
    tree.body = body
    code = compile(tree, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    output_code = None
    if output is not None:
        try:
            expression = ast.parse(output.strip(), f"--output {output}", "eval")
        except SyntaxError as e:
            raise RewriteError(f"--output {output!r} is not a Python expression: {e.msg}") from None
        expression.body = _Tracer().visit(expression.body)
        output_code = compile(ast.fix_missing_locations(expression), filename, "eval")
    rewritten = RewrittenCell(code, output_code, bool(code.co_flags & inspect.CO_COROUTINE))
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()
    _COMPILED[key] = rewritten
    return rewritten


def _rewrite_body(body: list[ast.stmt], source: str, train_code: set[str]) -> list[ast.stmt]:
    """Trace the statements, and register each `--train-code` function right after its `def`."""
    result: list[ast.stmt] = []
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            result.append(statement)
            if statement.name in train_code:
                first = statement.decorator_list[0] if statement.decorator_list else statement
                lines = source.split("\n")[first.lineno - 1:statement.end_lineno]
                register = ast.Assign(
                    targets=[ast.Name(id=statement.name, ctx=ast.Store())],
                    value=ast.Call(func=_runtime("code"),
                                   args=[ast.Constant(statement.name), ast.Name(id=statement.name, ctx=ast.Load()),
                                         ast.Constant("\n".join(lines))], keywords=[]))
                result.append(_location(register, statement))  # type: ignore[arg-type]
            continue
        if isinstance(statement, ast.ClassDef):
            result.append(statement)
            continue
        for name in ("body", "orelse", "finalbody"):
            block = getattr(statement, name, None)
            if block:
                setattr(statement, name, _rewrite_body(block, source, train_code))
        for handler in getattr(statement, "handlers", None) or []:
            handler.body = _rewrite_body(handler.body, source, train_code)
        if getattr(statement, "_traced", False):  # `name = rt.param(...)`: its value is rewritten already
            result.append(statement)
            continue
        result.append(_shallow_visit(statement))
    return result


def _shallow_visit(statement: ast.stmt) -> ast.stmt:
    """Trace the expressions of one statement but not its nested blocks (already rewritten)."""
    tracer = _Tracer()
    for name, value in ast.iter_fields(statement):
        if name in ("body", "orelse", "finalbody", "handlers"):
            continue
        if isinstance(value, ast.AST):
            setattr(statement, name, tracer.visit(value))
        elif isinstance(value, list):
            setattr(statement, name, [tracer.visit(v) if isinstance(v, ast.AST) else v for v in value])
    return statement


# -- the runtime ----------------------------------------------------------------------------------------
def _has_node(value: Any, depth: int = 0) -> bool:
    if isinstance(value, Node):
        return True
    if depth > 3:
        return False
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_has_node(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_has_node(v, depth + 1) for v in value.values())
    return False


def collect_nodes(value: Any, key: str, inputs: dict[str, Node], depth: int = 0) -> None:
    """Record the nodes in `value` (and in containers inside it) as inputs named after `key`."""
    if isinstance(value, Node):
        name = key
        if name in inputs and inputs[name] is not value:
            name = f"{key}_{len(inputs)}"
        inputs[name] = value
    elif depth <= 3 and isinstance(value, (list, tuple, set, frozenset)):
        for i, v in enumerate(value):
            collect_nodes(v, f"{key}_{i}", inputs, depth + 1)
    elif depth <= 3 and isinstance(value, dict):
        for k, v in value.items():
            collect_nodes(v, f"{key}_{k}" if isinstance(k, str) and k.isidentifier() else f"{key}_{len(inputs)}",
                     inputs, depth + 1)


def _description(func: Any, name: str) -> str:
    doc = inspect.getdoc(func) if not isinstance(func, type) or func.__doc__ else None
    summary = " ".join((doc or "").split("\n\n")[0].split())
    return f"[{name}] {summary}" if summary else f"[{name}] This calls {name}(...)."


def _about(func: Any, name: str) -> tuple[str, inspect.Signature | None]:
    """(description, signature or None) of `func`, computed once per function."""
    try:
        known = _CALLABLES.get(func)
    except TypeError:  # an unhashable callable
        known = None
    if known is not None:
        return known
    try:
        signature: inspect.Signature | None = inspect.signature(func)
    except (TypeError, ValueError):
        signature = None
    known = (_description(func, name), signature)
    try:
        if len(_CALLABLES) >= _CALLABLES_MAX:
            _CALLABLES.clear()
        _CALLABLES[func] = known
    except TypeError:
        pass
    return known


def _argument_names(signature: inspect.Signature | None, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, argument) pairs: the function's parameter names when its signature can be bound."""
    try:
        if signature is None:
            raise TypeError("no signature")
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return [*((f"args_{i}", a) for i, a in enumerate(args)), *kwargs.items()]
    pairs: list[tuple[str, Any]] = []
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            pairs.extend((f"{name}_{i}", v) for i, v in enumerate(value))
        elif kind is inspect.Parameter.VAR_KEYWORD:
            pairs.extend(value.items())
        else:
            pairs.append((name, value))
    return pairs


def traced_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call `func`; when nodes are among the arguments, run it on their values and record one operation."""
    if isinstance(func, (FunModule, Node)):
        return func(*args, **kwargs)
    if not (_has_node(args) or _has_node(kwargs)):
        return func(*args, **kwargs)
    try:
        plain = func in PLAIN_CALLS or (getattr(func, "__module__", None) or "").startswith("IPython.")
    except TypeError:  # an unhashable callable
        plain = False
    if plain:
        return func(*to_data(args), **to_data(kwargs))
    name = getattr(func, "__name__", None) or type(func).__name__
    description, signature = _about(func, name)
    inputs: dict[str, Node] = {}
    for key, value in _argument_names(signature, args, kwargs):
        collect_nodes(value, key, inputs)
    plain_args, plain_kwargs = to_data(args), to_data(kwargs)
    return ops.apply(name, description, inputs, lambda: func(*plain_args, **plain_kwargs), [], {})


class CellRuntime:
    """What the rewritten cell calls: traced calls, attributes and f-strings, parameters and the result."""

    def __init__(self, session: Session, label: str) -> None:
        self.session = session
        self.label = label
        self.result_value: Any = None
        self.has_result = False
        self.parameters: list[Node] = []

    def call(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        """`func(*args, **kwargs)`, recorded as an operation when traced values are among the arguments."""
        __tracebackhide__ = True  # noqa: F841 -- IPython hides this frame in tracebacks
        return traced_call(func, args, kwargs)

    def method(self, obj: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
        """`obj.name(*args, **kwargs)`: traced on a node's value, or as a call with traced arguments."""
        __tracebackhide__ = True  # noqa: F841
        if isinstance(obj, Node):
            own = getattr(type(obj), name, None)
            if own is not None and not hasattr(obj._data, name):
                return getattr(obj, name)(*args, **kwargs)  # the Node API itself (backward, clone ...)
            if hasattr(obj._data, name) and own is not None and getattr(own, "own", None) is not None:
                return getattr(obj, name)(*args, **kwargs)  # Node's own traced version (join, items ...)
            return ops.method_call(obj, node(name), *args, **kwargs)
        bound = getattr(obj, name)
        if (isinstance(obj, _STORAGE) and name in _STORING) or isinstance(obj, NodeContainer):
            return bound(*args, **kwargs)
        return traced_call(bound, args, kwargs)

    def item(self, obj: Any, key: Any) -> Any:
        """`obj[key]`: traced on a node; with a node as the key of a plain container, looked up by its value."""
        __tracebackhide__ = True  # noqa: F841
        if isinstance(obj, Node) or not isinstance(key, Node):
            return obj[key]
        return ops.getitem(obj, key)

    def contains(self, container: Any, item: Any) -> bool:
        """`item in container`, by value when either is a node (a plain bool, as `in` is in Trace)."""
        __tracebackhide__ = True  # noqa: F841
        if isinstance(container, Node):
            return item in container
        return (item._data if isinstance(item, Node) else item) in container

    def attr(self, obj: Any, name: str) -> Any:
        """`obj.name`: a traced attribute access when obj is a node whose value has that attribute."""
        __tracebackhide__ = True  # noqa: F841
        if isinstance(obj, Node) and hasattr(obj._data, name):
            return ops.node_getattr(obj, node(name))
        return getattr(obj, name)

    def fstring(self, *parts: Any) -> Any:
        """An f-string: plain text, or a traced `format` operation when a formatted value is a node."""
        __tracebackhide__ = True  # noqa: F841
        values = [p[0] for p in parts if isinstance(p, tuple)]
        if not any(isinstance(v, Node) for v in values):
            return "".join(p if isinstance(p, str) else _format_one(*p) for p in parts)
        template: list[str] = []
        for part in parts:
            if isinstance(part, str):
                template.append(part.replace("{", "{{").replace("}", "}}"))
                continue
            _, conversion, spec = part
            field_text = "{" + (f"!{chr(conversion)}" if conversion != -1 else "")
            spec = to_data(spec)
            field_text += (f":{spec}" if spec else "") + "}"
            template.append(field_text)
        return ops.format(node("".join(template), name="template"), *values)

    def param(self, name: str, value: Any, source: str | None) -> Node:
        """The trainable parameter `name` (its accepted value, unless the person edited `source`)."""
        parameter = self.session.parameter(name, value, source=source, cell=self.label)
        self.parameters.append(parameter)
        return parameter

    def code(self, name: str, fun: Callable[..., Any], source: str | None) -> FunModule:
        """The trainable function `name` (its accepted code, unless the person edited its `def`)."""
        module = self.session.function(name, fun, source=source, cell=self.label)
        assert module.parameter is not None
        self.parameters.append(module.parameter)
        return module

    async def awaited(self, value: Any) -> Any:
        """`await value` at the cell's top level: a node holding an awaitable (a traced call of an async
        function) gives a node of the result, computed from it, so the trace goes on through the await."""
        if not (isinstance(value, Node) and inspect.isawaitable(value._data)):
            return await value
        result = await value._data
        return ops.apply("await", "[await] The result of awaiting its input.", {"awaitable": value},
                         lambda: result, [], {})

    def result(self, value: Any) -> Any:
        """Keep the cell's last expression: the output that receives feedback."""
        self.result_value = value
        self.has_result = True
        return value


def _format_one(value: Any, conversion: int, spec: Any) -> str:
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    return format(value, to_data(spec) or "")
