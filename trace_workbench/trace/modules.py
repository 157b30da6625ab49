"""Module and @model: classes whose parameters (nodes, trainable bundled methods, nested modules)
can be listed, saved and loaded."""

from __future__ import annotations

import os
import pickle
import tempfile
from typing import Any

from trace_workbench.trace.broadcast import apply_op
from trace_workbench.trace.containers import NodeContainer, ParameterContainer
from trace_workbench.trace.nodes import ParameterNode

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

    def save(self, file_name: str | os.PathLike[str]) -> None:
        """Write the parameters' values to `file_name` (pickle), atomically: a crash mid-save
        leaves the previous file intact."""
        path = os.fspath(file_name)
        directory = os.path.dirname(path) or "."
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(self.parameter_values(), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def load(self, file_name: str | os.PathLike[str]) -> None:
        """Set the parameters to the values saved in `file_name`; new top-level names become new
        parameters, and a parameter missing from the file, or a saved name that is already an
        attribute but not a parameter, is an error (nothing is changed then)."""
        with open(file_name, "rb") as f:
            saved = pickle.load(f)
        if not isinstance(saved, dict):
            raise ValueError(f"{file_name} does not hold saved parameter values")
        self._set(saved)

    def _set(self, new_values: dict[str, Any]) -> None:
        current = _nodes(self)
        missing = sorted(set(current) - set(new_values))
        if missing:
            raise KeyError(f"these parameters are missing from the saved values: {missing}")
        unknown = sorted(k for k in new_values if k not in current and ("." in k or hasattr(self, k)))
        if unknown:
            raise KeyError(f"the saved values name parameters this module does not have: {unknown}")
        for name, value in new_values.items():
            if name in current:
                current[name]._set(value)
            else:
                setattr(self, name, ParameterNode(value, name=name))


def _nodes(container: ParameterContainer) -> dict[str, ParameterNode]:
    nodes: dict[str, ParameterNode] = {}
    for name, value in container.parameters_dict().items():
        if isinstance(value, ParameterNode):
            nodes[name] = value
        else:
            nodes.update({f"{name}.{k}": v for k, v in _nodes(value).items()})
    return nodes

