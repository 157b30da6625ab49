"""Module and @model: classes whose parameters (nodes, trainable bundled methods, nested modules)
can be listed, saved and loaded."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from trace_workbench.trace.broadcast import apply_op
from trace_workbench.trace.containers import NodeContainer, ParameterContainer
from trace_workbench.trace.nodes import ParameterNode
from trace_workbench.trace.values import CODE_KIND, ValueConversionError, convert_value, value_kind

__all__ = ["Module", "NodeContainer", "apply_op", "model"]


def model(cls: type) -> type:
    """Class decorator: make `cls` a Module (parameters(), save(), load()) under its own name."""
    wrapper = type(cls.__name__, (cls, Module), {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                                                 "__doc__": cls.__doc__})
    return wrapper


class Module(ParameterContainer):
    """A container of parameters with a forward(); calling the module calls forward."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def parameter_values(self) -> dict[str, Any]:
        """The value of every parameter by dotted path (e.g. "agent.prompt"), nested modules flattened."""
        return {name: n._data for name, n in _nodes(self).items()}

    def save(self, file_name: str | os.PathLike[str], *, allow_pickle: bool = False) -> None:
        """Write the parameters' values to `file_name` as readable JSON (code as text), atomically: a crash
        mid-save leaves the previous file intact. A value that is neither JSON nor a Python literal is
        refused, unless allow_pickle=True writes a pickle (Trace's format) instead."""
        from trace_workbench.trace import saved

        values = self.parameter_values()
        code = {name for name, n in _nodes(self).items() if _is_code(n)}
        try:
            data = saved.dumps(values, code).encode("utf-8")
        except ValueError:
            if not allow_pickle:
                raise
            data = pickle.dumps(values)
        path = os.fspath(file_name)
        directory = os.path.dirname(path) or "."
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def load(self, file_name: str | os.PathLike[str], *, allow_pickle: bool = False) -> None:
        """Set the parameters to the values saved in `file_name`, each checked as an applied proposal is
        (the parameter's type; code that parses, one function of the same name): any failure changes
        nothing. New top-level names become new parameters; a parameter missing from the file, or a saved
        name that is already an attribute but not a parameter, is an error. A pickle (Trace's format) is
        read only with allow_pickle=True, since loading one can run code."""
        from trace_workbench.trace import saved

        values, _ = saved.read(Path(file_name), allow_pickle=allow_pickle)
        self._set(values, checked=True)

    def _set(self, new_values: dict[str, Any], checked: bool = False) -> None:
        current = _nodes(self)
        missing = sorted(set(current) - set(new_values))
        if missing:
            raise KeyError(f"these parameters are missing from the saved values: {missing}")
        unknown = sorted(k for k in new_values if k not in current and ("." in k or hasattr(self, k)))
        if unknown:
            raise KeyError(f"the saved values name parameters this module does not have: {unknown}")
        if checked:
            new_values = _checked(current, new_values)
        for name, value in new_values.items():
            if name in current:
                current[name]._set(value)
            else:
                setattr(self, name, ParameterNode(value, name=name))


def _is_code(n: ParameterNode) -> bool:
    return isinstance(n.info, dict) and n.info.get("trainable_code") is True


def _checked(current: dict[str, ParameterNode], new_values: dict[str, Any]) -> dict[str, Any]:
    """The loaded values, each checked like an applied proposal; ValueError naming every one that fails."""
    checked: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in new_values.items():
        node = current.get(name)
        if node is None:
            checked[name] = value
            continue
        kind = value_kind(node)
        try:
            converted = convert_value(value, node._data, kind=kind)
        except ValueConversionError as e:
            errors[name] = str(e)
            continue
        checked[name] = value if kind == CODE_KIND else converted
    if errors:
        raise ValueError("the saved values cannot be loaded (nothing was changed): "
                         + "; ".join(f"{name}: {why}" for name, why in errors.items()))
    return checked


def _nodes(container: ParameterContainer) -> dict[str, ParameterNode]:
    nodes: dict[str, ParameterNode] = {}
    for name, value in container.parameters_dict().items():
        if isinstance(value, ParameterNode):
            nodes[name] = value
        else:
            nodes.update({f"{name}.{k}": v for k, v in _nodes(value).items()})
    return nodes

