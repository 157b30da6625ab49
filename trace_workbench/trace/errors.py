"""Errors raised by traced code: ExecutionError carries the ExceptionNode of a failed operation."""

from __future__ import annotations

from types import GetSetDescriptorType, MemberDescriptorType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trace_workbench.trace.nodes import ExceptionNode

_COMBINED: dict[type, type] = {}


class ExecutionError(Exception):
    """A traced operation raised; `exception_node` is the ExceptionNode recording it in the graph.

    Errors made by `execution_error()` are also instances of the original exception's type, so
    `except ZeroDivisionError` catches `node(1) / 0` just as `except ExecutionError` does.
    """

    def __init__(self, exception_node: ExceptionNode, original: BaseException | None = None) -> None:
        BaseException.__init__(self, *(original.args if original is not None else (exception_node.data,)))
        self.exception_node = exception_node
        self.original = original

    def __str__(self) -> str:
        if self.original is not None:
            return str(self.original)
        return str(self.exception_node.data)

    def __reduce__(self) -> tuple[Any, ...]:
        original_type = type(self.original) if self.original is not None else None
        return _rebuild, (original_type, self.exception_node, self.original)


class TraceMissingInputsError(Exception):
    """A bundled function read a node that is not one of its inputs (see allow_external_dependencies)."""


def _combined_type(original_type: type[BaseException]) -> type[ExecutionError]:
    """The ExecutionError subclass that is also `original_type` (plain ExecutionError if Python forbids it)."""
    if issubclass(original_type, ExecutionError):
        return original_type
    combined = _COMBINED.get(original_type)
    if combined is None:
        try:
            combined = type(
                "ExecutionError",
                (ExecutionError, original_type),
                {"__module__": __name__, "__qualname__": f"ExecutionError[{original_type.__qualname__}]"},
            )
        except TypeError:  # a type that cannot be subclassed, or an incompatible instance layout
            combined = ExecutionError
        _COMBINED[original_type] = combined
    return combined


def execution_error(exception_node: ExceptionNode, original: BaseException) -> ExecutionError:
    """Build the ExecutionError for `original`, an instance of both ExecutionError and type(original)."""
    if isinstance(original, ExecutionError):
        original = original.original or original
    cls = _combined_type(type(original))
    try:
        error = cls.__new__(cls, *original.args)
    except TypeError:  # MemoryError.__new__ refuses subclasses; BaseException's builds the same object
        error = BaseException.__new__(cls, *original.args)
    ExecutionError.__init__(error, exception_node, original)
    error.__dict__.update({k: v for k, v in vars(original).items() if k not in error.__dict__})
    _copy_fields(original, error)
    return error


def _copy_fields(original: BaseException, error: BaseException) -> None:
    """Copy the fields kept outside `__dict__` (OSError.errno, StopIteration.value, slots ...)."""
    for cls in type(original).__mro__:
        if cls in (BaseException, object):
            continue
        for name, attribute in vars(cls).items():
            if isinstance(attribute, (MemberDescriptorType, GetSetDescriptorType)) and not name.startswith("__"):
                try:
                    setattr(error, name, getattr(original, name))
                except (AttributeError, TypeError):  # unset (OSError.characters_written) or read-only
                    continue


def _rebuild(original_type: type | None, exception_node: ExceptionNode, original: BaseException | None):
    if original_type is None or original is None:
        return ExecutionError(exception_node)
    return execution_error(exception_node, original)
