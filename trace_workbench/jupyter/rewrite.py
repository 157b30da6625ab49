"""Rewriting a %%trace cell's AST so plain Python records a trace (cell_runtime.py runs what it makes).

The person writes plain Python. The rewrite (ast.NodeTransformer, line numbers kept so tracebacks
point at the person's lines) routes the cell's top-level code through `CellRuntime`:

- calls `f(x)` become `rt.call(f, x)`: a call with traced values among its arguments is recorded
  as one operation named after the function, its docstring as the description;
- method calls `obj.m(x)` become `rt.method(obj, "m", x)`, attribute loads `obj.a` become
  `rt.attr(obj, "a")`, f-strings become `rt.fstring(...)`;
- `name = value` for a `--train` name becomes `name = rt.param("name", value, "<its source>")`;
- after `def f` for a `--train-code` name comes `f = rt.code("f", f, "<its source>")`;
- the last expression (without `--output`) becomes `rt.result(expr)`;
- subscripts `obj[k]` become `rt.item(obj, k)`, `x in y` becomes `rt.contains(y, x)`;
- `await x` becomes `await rt.awaited(x)` (a cell that awaits at its top level compiles to a coroutine,
  as IPython compiles such cells).

The cell arrives here as IPython would run it (`!cmd`, `%magic` and `x?` already calls of
`get_ipython()`, which are left as they are).

Operators, comparisons other than `in`, and control flow need no rewriting: nodes trace operators
themselves, and `if`/`for` use a node's plain truth value. Bodies of functions and classes
defined in the cell stay plain: they run on plain values, and a call of them is one operation.
No IPython here.
"""

from __future__ import annotations

import ast
import functools
import inspect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import CodeType

__all__ = ["RUNTIME_NAME", "RewriteError", "RewrittenCell", "rewrite_cell"]

RUNTIME_NAME = "_trace_workbench_cell_"
"""The name under which the running cell finds its CellRuntime (present only while a traced cell runs)."""

_UNTOUCHED_CALLS = frozenset({"locals", "globals", "vars", "eval", "exec", "dir", "super", "breakpoint",
                              "__import__", "get_ipython"})
"""Functions that look at their caller's frame (or IPython itself): called as written, never wrapped."""

_BLOCKS = ("body", "handlers", "orelse", "finalbody")
"""The fields of a statement that hold nested blocks (`handlers`: a try's except clauses, each with a body)."""


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


def _blocks(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists nested in `statement` (if/for/while/with/try blocks, except clauses), in source
    order; none for a def or class, whose bodies stay plain."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    for name in _BLOCKS:
        block = getattr(statement, name, None) or []
        if name == "handlers":
            yield from (handler.body for handler in block)
        elif block:
            yield block


def _statements(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """The cell's statements in source order, into if/for/while/with/try blocks but not into defs."""
    for statement in body:
        yield statement
        for block in _blocks(statement):
            yield from _statements(block)


def rewrite_cell(source: str, filename: str, *, train: Iterable[str] = (), train_code: Iterable[str] = (),
                 output: str | None = None, first_line: int = 1) -> RewrittenCell:
    """Parse, rewrite and compile a traced cell (`source` starts at line `first_line` of `filename`).

    Raises SyntaxError (with the person's line numbers) for invalid Python, and RewriteError when a
    `--train`/`--train-code` name is not assigned/defined by the cell or `--output` is not an expression.
    """
    return _rewrite(source, filename, tuple(dict.fromkeys(train)), tuple(dict.fromkeys(train_code)), output,
                    first_line)


@functools.lru_cache(maxsize=256)
def _rewrite(source: str, filename: str, train: tuple[str, ...], train_code: tuple[str, ...], output: str | None,
             first_line: int) -> RewrittenCell:
    """rewrite_cell, once per (source, filename, options): re-running a cell (the automatic loop does) skips it."""
    source = "\n" * (first_line - 1) + source  # parse at the person's line numbers in the whole cell
    tree = ast.parse(source, filename, "exec")
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
    return RewrittenCell(code, output_code, bool(code.co_flags & inspect.CO_COROUTINE))


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
        for block in _blocks(statement):
            block[:] = _rewrite_body(block, source, train_code)
        if getattr(statement, "_traced", False):  # `name = rt.param(...)`: its value is rewritten already
            result.append(statement)
            continue
        result.append(_shallow_visit(statement))
    return result


def _shallow_visit(statement: ast.stmt) -> ast.stmt:
    """Trace the expressions of one statement but not its nested blocks (already rewritten)."""
    tracer = _Tracer()
    for name, value in ast.iter_fields(statement):
        if name in _BLOCKS:
            continue
        if isinstance(value, ast.AST):
            setattr(statement, name, tracer.visit(value))
        elif isinstance(value, list):
            setattr(statement, name, [tracer.visit(v) if isinstance(v, ast.AST) else v for v in value])
    return statement


