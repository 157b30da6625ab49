"""bundle: turn a Python function into one traced operation (a FunModule).

Each call returns one MessageNode whose parents are the node inputs (and, for trainable
functions, the ParameterNode holding the function's source code). With trainable=True an
optimizer may rewrite that source; the next call compiles the new version once and runs it.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import itertools
import linecache
import sys
import textwrap
import traceback
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from trace_workbench.trace.broadcast import recursive_conversion
from trace_workbench.trace.errors import ExecutionError, TraceMissingInputsError, execution_error
from trace_workbench.trace.graph import _READS, _TRACING, Reads
from trace_workbench.trace.modules import Module
from trace_workbench.trace.nodes import ExceptionNode, MessageNode, Node, ParameterNode, get_op_name, node
from trace_workbench.trace.utils import contain

__all__ = ["bundle", "FunModule", "ExecutionError", "TraceMissingInputsError", "to_data", "wrap_node",
           "detach_inputs", "disable_external_dependencies_check", "ALLOW_EXTERNAL_DEPENDENCIES"]

_RUNNING: ContextVar[frozenset[int]] = ContextVar("trace_workbench_running_bundles", default=frozenset())
_CODE_VERSIONS = itertools.count()
EVAL_DESCRIPTION = ("[eval] This operator eval(__code, *args, **kwargs) evaluates the code block, where __code is "
                    "the code (str) and *args and **kwargs are the arguments of the function. The output is the "
                    "result of the evaluation, i.e., __code(*args, **kwargs).")

ALLOW_EXTERNAL_DEPENDENCIES: bool | None = None
"""Trace's process-wide override of every bundle's allow_external_dependencies (None: each bundle decides)."""


def disable_external_dependencies_check(allow_external_dependencies: bool) -> None:
    """Trace's switch: True lets every bundled function read nodes that are not its inputs; False makes
    all of them refuse to; either way it overrides each bundle's own setting, for the whole process."""
    global ALLOW_EXTERNAL_DEPENDENCIES
    ALLOW_EXTERNAL_DEPENDENCIES = allow_external_dependencies


def bundle(description: str | None = None, traceable_code: bool = False, _process_inputs: bool = True,
           trainable: bool = False, catch_execution_error: bool = True, allow_external_dependencies: bool = False,
           overwrite_python_recursion: bool = False) -> Callable[[Callable[..., Any]], FunModule]:
    """Decorator: calls of the function become single traced operations.

    description: "[name] what it does" (default: the function's name and docstring).
    traceable_code: the function receives nodes and its inner operations are traced too.
    trainable: the function's source code is a ParameterNode an optimizer can change.
    catch_execution_error: an exception becomes an ExceptionNode raised as ExecutionError.
    allow_external_dependencies: reading nodes that are not inputs is allowed (else an error).
    overwrite_python_recursion: recursive calls inside run the plain function, untraced.
    """
    frame = sys._getframe(1)
    caller_locals = {} if frame.f_locals is frame.f_globals else dict(frame.f_locals)

    def decorator(fun: Callable[..., Any]) -> FunModule:
        return FunModule(fun, description=description, traceable_code=traceable_code,
                         _process_inputs=_process_inputs, trainable=trainable,
                         catch_execution_error=catch_execution_error,
                         allow_external_dependencies=allow_external_dependencies,
                         overwrite_python_recursion=overwrite_python_recursion, _ldict=caller_locals)

    return decorator


def _is_bundle_decorator(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Name) and target.id == "bundle") or (
        isinstance(target, ast.Attribute) and target.attr == "bundle")


def _function_def(source: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    first = tree.body[0] if tree.body else None
    return first if isinstance(first, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def function_source(fun: Callable[..., Any]) -> tuple[str | None, int | None]:
    """The function's source without the @bundle(...) line(s) above it, and its first line number."""
    try:
        lines, start = inspect.getsourcelines(fun)
    except (OSError, TypeError):
        return None, None
    text = textwrap.dedent("".join(lines))
    definition = _function_def(text)
    if definition is None:
        return text.strip(), start
    bundles = [d for d in definition.decorator_list if _is_bundle_decorator(d)]
    if not bundles:
        return text.strip(), start
    cut = bundles[0].end_lineno or 0
    return "\n".join(text.split("\n")[cut:]).strip(), start + cut


def _signature_text(source: str) -> str:
    """The `def` line(s) of `source`, with the docstring if there is one."""
    definition = _function_def(source)
    if definition is None:
        return source.split("\n")[0]
    body = definition.body
    has_doc = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) and (
        isinstance(body[0].value.value, str))
    last = body[0].end_lineno if has_doc and len(body) > 0 else body[0].lineno - 1
    first = definition.lineno - 1
    return "\n".join(source.split("\n")[first:max(last, first + 1)])


class _Shape:
    """What calling a function needs to know about it: its signature, and whether it is async."""

    __slots__ = ("signature", "is_async")

    def __init__(self, fun: Callable[..., Any]) -> None:
        self.signature = inspect.signature(fun)
        self.is_async = inspect.iscoroutinefunction(fun)


_TO_DATA = recursive_conversion(lambda x: x._data, lambda x: x)


def to_data(obj: Any) -> Any:
    """Replace the nodes in (containers of) `obj` by their values."""
    return _TO_DATA(obj)


def wrap_node(obj: Any) -> Any:
    """Wrap every leaf of (containers of) `obj` in a node."""
    return recursive_conversion(lambda x: x, node)(obj)


def detach_inputs(obj: Any) -> Any:
    """Replace the nodes in (containers of) `obj` by detached copies."""
    return recursive_conversion(lambda x: x.detach(), lambda x: x)(obj)


class FunModule(Module):
    """A bundled function: calling it records one MessageNode (see `bundle`)."""

    def __init__(self, fun: Callable[..., Any], description: str | None = None, traceable_code: bool = False,
                 _process_inputs: bool = True, trainable: bool = False, catch_execution_error: bool = True,
                 allow_external_dependencies: bool = False, overwrite_python_recursion: bool = False,
                 _ldict: dict[str, Any] | None = None) -> None:
        if not callable(fun):
            raise TypeError(f"bundle needs a function, not {type(fun).__name__}")
        source, line_number = function_source(fun)
        doc = inspect.getdoc(fun) or ""
        self.info: dict[str, Any] = {
            "fun_name": fun.__qualname__, "doc": doc, "signature": inspect.signature(fun), "source": source,
            "line_number": line_number, "file": getattr(getattr(fun, "__code__", None), "co_filename", None),
            "error_comment": None, "traceback": None, "output": None, "inputs": {"args": [], "kwargs": {}},
            "external_dependencies": None,
        }
        self.description = description or f"[{fun.__qualname__}] {doc}".rstrip()
        get_op_name(self.description)
        self._fun = fun
        self._ldict = dict(_ldict or {})
        self.traceable_code = traceable_code
        self._process_inputs = _process_inputs
        self.catch_execution_error = catch_execution_error
        self.allow_external_dependencies = allow_external_dependencies
        self.overwrite_python_recursion = overwrite_python_recursion or trainable
        self._bound_self: Node | None = None
        self._compiled: tuple[str, Callable[..., Any], _Shape] | None = None
        self._shape = _Shape(fun)
        self.parameter: ParameterNode | None = None
        if trainable:
            if source is None or _function_def(source) is None:
                raise ValueError(f"bundle(trainable=True) needs the source of a `def`; none found for "
                                 f"{fun.__qualname__} (define it in a file or a notebook cell)")
            self.parameter = ParameterNode(
                source, name="__code", description=f"[ParameterNode] The code of the function {fun.__qualname__}.",
                constraint="The code should start with:\n" + _signature_text(source), info={"trainable_code": True})

    @property
    def trainable(self) -> bool:
        return self.parameter is not None

    @property
    def name(self) -> str:
        return get_op_name(self.description)

    @property
    def fun(self) -> Callable[..., Any]:
        """The function to run: the original, or the current version of the trainable code."""
        if self.parameter is None:
            return self._fun
        code = self.parameter._data
        if self._compiled is None or self._compiled[0] != code:
            compiled = self._compile(code)
            self._compiled = (code, compiled, _Shape(compiled))
        return self._compiled[1]

    def _shape_of(self, fun: Callable[..., Any]) -> _Shape:
        """`fun`'s signature and kind, computed once per version of the code (calls are a hot path)."""
        if self._compiled is not None and fun is self._compiled[1]:
            return self._compiled[2]
        return self._shape if fun is self._fun else _Shape(fun)

    def _namespace(self) -> dict[str, Any]:
        """Globals for trainable code: the function's own, plus the names it saw where it was defined."""
        fun = self._fun
        closure = getattr(fun, "__closure__", None) or ()
        if not closure and not self._ldict:
            return fun.__globals__
        namespace = dict(fun.__globals__)
        namespace.update(self._ldict)
        for name, cell in zip(fun.__code__.co_freevars, closure, strict=True):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:  # an empty cell
                continue
        return namespace

    def _compile(self, code: str) -> Callable[..., Any]:
        """Run `code` and return its function: the `def` named as the bundled function (or the only one).

        Code that is only that `def` runs in the function's own globals. Code with context around
        it (imports, helper functions, constants) runs in a namespace of its own that falls back to
        those globals, so its names reach the function without leaking into the module.
        """
        filename = f"<trainable code of {self.info['fun_name']}, version {next(_CODE_VERSIONS)}>"
        try:
            compiled = compile(code, filename, "exec")
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            namespace = self._namespace()
            if len(compiled.co_names) == 1:  # one name bound at module level: the `def` alone
                scope: dict[str, Any] = {}
                exec(compiled, namespace, scope)
            else:
                scope = _Context(namespace)
                exec(compiled, scope)
            return _main_function(scope, self._fun.__name__, filename)
        except Exception as e:
            line = getattr(e, "lineno", None) or _error_line(e, filename) or 1
            message = f"({type(e).__name__}) {e}"
            self.info["error_comment"] = f"{_comment(code, message, {line})}\n{message}"
            self.info["traceback"] = "".join(traceback.format_exception(e))
            assert self.parameter is not None
            info = dict(self.info)
            exception_node = ExceptionNode(
                e, inputs={"code": self.parameter}, name=f"exception_{self.parameter.py_name}", info=info,
                description=f"[exception] The code parameter {self.parameter.py_name} has an error.")
            raise execution_error(exception_node, e) from None

    # -- calling --------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self._bound_self is not None:
            args = (self._bound_self, *args)
        fun = self.fun
        running = _RUNNING.get()
        if self.overwrite_python_recursion and id(self) in running:
            return fun(*to_data(args), **to_data(kwargs))
        reads = Reads()  # before wrapping: nodes made for the call (constants, detached copies) are internal
        inputs, call_args, call_kwargs = self._wrap_inputs(fun, args, kwargs)
        if self._shape_of(fun).is_async:
            return self._async_forward(fun, running, reads, inputs, call_args, call_kwargs)
        with self._running(running, reads):
            try:
                output = fun(*call_args, **call_kwargs)
            except Exception as e:
                if not self.catch_execution_error:
                    raise
                output = e
        return self._wrap(output, inputs, reads, call_args, call_kwargs)

    async def _async_forward(self, fun: Callable[..., Any], running: frozenset[int], reads: Reads,
                             inputs: dict[str, Node], call_args: list[Any], call_kwargs: dict[str, Any]) -> Any:
        with self._running(running, reads):
            try:
                output = await fun(*call_args, **call_kwargs)
            except Exception as e:
                if not self.catch_execution_error:
                    raise
                output = e
        return self._wrap(output, inputs, reads, call_args, call_kwargs)

    @contextmanager
    def _running(self, running: frozenset[int], reads: Reads) -> Iterator[None]:
        """While the function runs: record the nodes it reads, and mark this bundle as running."""
        tokens = (_READS.set(reads), _RUNNING.set(running | {id(self)}))
        try:
            yield
        finally:
            _READS.reset(tokens[0])
            _RUNNING.reset(tokens[1])

    def _wrap_inputs(self, fun: Callable[..., Any], args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> tuple[dict[str, Node], list[Any], dict[str, Any]]:
        """Bind the arguments: the inputs (nodes, by parameter name) and what the function receives."""
        signature = self._shape_of(fun).signature
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        inputs: dict[str, Node] = {}
        wrapped: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            kind = signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                wrapped[name] = tuple(self._as_input(v, None, inputs, f"args_{i}") for i, v in enumerate(value))
            elif kind is inspect.Parameter.VAR_KEYWORD:
                wrapped[name] = {k: self._as_input(v, k, inputs, k) for k, v in value.items()}
            else:
                wrapped[name] = self._as_input(value, name, inputs, name)
        bound_nodes = inspect.BoundArguments(signature, wrapped)  # type: ignore[arg-type]
        if not self._process_inputs:
            return inputs, list(bound.args), dict(bound.kwargs)
        convert = detach_inputs if self.traceable_code else to_data
        return inputs, convert(list(bound_nodes.args)), convert(dict(bound_nodes.kwargs))

    @staticmethod
    def _as_input(value: Any, name: str | None, inputs: dict[str, Node], key: str) -> Any:
        """Wrap one argument as a node (bundled functions pass through) and record it as an input."""
        if isinstance(value, FunModule):
            if value.parameter is not None:
                inputs[key] = value.parameter
            return value
        wrapped = value if isinstance(value, Node) else node(value, name=name)
        inputs[key] = wrapped
        return wrapped

    def _wrap(self, output: Any, inputs: dict[str, Node], reads: Reads,
              call_args: list[Any], call_kwargs: dict[str, Any]) -> MessageNode:
        """Record the call as a MessageNode, or as an ExceptionNode raised in an ExecutionError."""
        external = [n for n in reads.nodes.values() if not contain(inputs.values(), n)]
        info = dict(self.info, output=output, inputs={"args": call_args, "kwargs": call_kwargs},
                    external_dependencies=external)
        allowed = self.allow_external_dependencies if ALLOW_EXTERNAL_DEPENDENCIES is None else (
            ALLOW_EXTERNAL_DEPENDENCIES)
        if external and not allowed:
            raise TraceMissingInputsError(
                f"{self.info['fun_name']} read nodes that are not among its inputs: "
                f"{[(n.name, n._data) for n in external]}. Pass them as arguments, or use "
                "bundle(allow_external_dependencies=True).")
        if not _TRACING.get():
            inputs = {}
        name, description = self.name, self.description
        if self.parameter is not None:
            inputs["__code"] = self.parameter
            name, description = "eval", EVAL_DESCRIPTION
            info["fun_name"] = "eval"
        if isinstance(output, Exception):
            info["traceback"] = "".join(traceback.format_exception(output))
            info["error_comment"] = self._error_comment(output)
            exception_node = ExceptionNode(
                output, inputs=inputs, name=f"exception_{name}", info=info,
                description=f"[exception] The operator {self.info['fun_name']} raises an exception.")
            raise execution_error(exception_node, output).with_traceback(output.__traceback__) from None
        return MessageNode(output, inputs=inputs, description=description, name=name, info=info)

    def _error_comment(self, error: Exception) -> str | None:
        """The function's code with the failing line marked "<--- (Error) message"."""
        message = f"({type(error).__name__}) {error}"
        if self.parameter is not None and self._compiled is not None:
            code, fun, _ = self._compiled
            first = 1
        else:
            code, fun, first = self.info["source"], self._fun, self.info["line_number"]
        if code is None or first is None:
            return None
        filename = fun.__code__.co_filename
        lines = {f.lineno - first + 1 for f in traceback.extract_tb(error.__traceback__)
                 if f.filename == filename and f.lineno is not None}
        return f"{_comment(code, message, lines)}\n{message}"

    # -- methods, copies, pickling --------------------------------------------------------------
    def __get__(self, obj: Any, objtype: type | None = None) -> FunModule:
        """Accessed on an instance: a copy bound to it (with its own code parameter), made once."""
        if obj is None:
            return self
        attributes = getattr(obj, "__dict__", None)
        key = f"__TRACE_RESERVED_bundle_{self.name}"
        if attributes is not None and key in attributes:
            return attributes[key]
        self_node = attributes.get("__TRACE_RESERVED_self_node") if attributes is not None else None
        if self_node is None:
            self_node = node(obj)
            if attributes is not None:
                attributes["__TRACE_RESERVED_self_node"] = self_node
        bound = copy.deepcopy(self)
        bound._bound_self = self_node
        if attributes is not None:
            attributes[key] = bound
        return bound

    def __copy__(self) -> FunModule:
        result = object.__new__(type(self))
        result.__dict__.update(self.__dict__)
        return result

    def __deepcopy__(self, memo: dict[int, Any]) -> FunModule:
        result = self.__copy__()
        memo[id(self)] = result
        result.parameter = copy.deepcopy(self.parameter, memo)
        result._bound_self = copy.deepcopy(self._bound_self, memo)
        result.info = dict(self.info)
        return result

    def __reduce__(self) -> tuple[Any, ...]:
        return _restore, (self._fun.__module__, self.info["fun_name"], self.parameter, self._bound_self)

    def detach(self) -> FunModule:
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        return f"<bundled {'trainable ' if self.trainable else ''}function {self.info['fun_name']}>"


class _Context(dict):
    """Globals of trainable code with context: its own names first, then the function's module (read live)."""

    def __init__(self, fallback: dict[str, Any]) -> None:
        super().__init__(__builtins__=fallback.get("__builtins__", __builtins__), __name__=fallback.get("__name__"))
        self.fallback = fallback

    def __missing__(self, key: str) -> Any:
        return self.fallback[key]


def _main_function(scope: dict[str, Any], name: str, filename: str) -> Callable[..., Any]:
    """The function the code in `filename` defined for the bundle: the one called `name`, else the only one;
    a SyntaxError says why there is none."""
    defined = {key: value for key, value in scope.items() if isinstance(value, types.FunctionType)
               and value.__code__.co_filename == filename}
    if name in defined:
        return defined[name]
    if len(defined) == 1:
        return next(iter(defined.values()))
    found = f"it defines {sorted(defined)}" if defined else "it defines none"
    raise SyntaxError(f"the code must define the function {name!r} with `def` ({found})")


def _restore(module: str, qualname: str, parameter: ParameterNode | None, bound_self: Node | None) -> FunModule:
    """Unpickle a FunModule: find the bundled original by name, then give it the pickled state."""
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = inspect.getattr_static(target, part)
    if not isinstance(target, FunModule):
        raise TypeError(f"{module}.{qualname} is not a bundled function")
    restored = copy.deepcopy(target)
    if parameter is not None:
        restored.parameter = parameter
    restored._bound_self = bound_self
    return restored


def _error_line(error: BaseException, filename: str) -> int | None:
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    return lines[-1] if lines else None


def _comment(code: str, message: str, line_numbers: set[int]) -> str:
    """`code` with " <--- message" after each of the given (1-based) lines."""
    return "\n".join(f"{line} <--- {message}" if i in line_numbers else line
                     for i, line in enumerate(code.split("\n"), start=1))
