"""Containers of nodes: NodeContainer (for apply_op), and ParameterContainer, which finds the
trainable parameters held in its attributes (Seq and Map do the same for list and dict items)."""

from __future__ import annotations

from collections import UserDict, UserList
from typing import Any

from trace_workbench.trace.nodes import ParameterNode


class NodeContainer:
    """Marks a class whose attributes hold nodes, so apply_op can broadcast over it."""


def _trainable_code(attr: Any) -> ParameterNode | None:
    from trace_workbench.trace.bundle import FunModule

    return attr.parameter if isinstance(attr, FunModule) and attr.parameter is not None else None


class ParameterContainer(NodeContainer):
    """Something that holds parameters: nodes, trainable bundled functions, nested containers."""

    def parameters(self) -> list[ParameterNode]:
        """Every trainable parameter inside, nested containers included."""
        parameters: list[ParameterNode] = []
        for value in self.parameters_dict().values():
            if isinstance(value, ParameterNode):
                parameters.append(value)
            else:
                parameters.extend(value.parameters())
        return parameters

    def parameters_dict(self) -> dict[str, ParameterNode | ParameterContainer]:
        """The direct parameters and sub-containers by attribute name (bundled methods included)."""
        from trace_workbench.trace.bundle import FunModule

        names = {name for cls in type(self).__mro__ for name, attr in vars(cls).items()
                 if isinstance(attr, FunModule)}
        found: dict[str, Any] = {name: getattr(self, name) for name in names}
        found.update({k: v for k, v in vars(self).items() if not k.startswith("__TRACE_RESERVED_")})
        parameters: dict[str, ParameterNode | ParameterContainer] = {}
        for name in sorted(found):
            value = found[name]
            code = _trainable_code(value)
            if code is not None:
                parameters[name] = code
            elif isinstance(value, ParameterNode) or (isinstance(value, ParameterContainer)
                                                       and not isinstance(value, FunModule)):
                parameters[name] = value
        return parameters


class Seq(UserList, ParameterContainer):
    """A list that is also a ParameterContainer (its items may be parameters)."""

    def __init__(self, *args: Any) -> None:
        if len(args) == 1 and hasattr(args[0], "__len__") and hasattr(args[0], "__getitem__"):
            args = args[0]
        super().__init__(args)

    def parameters_dict(self) -> dict[str, ParameterNode | ParameterContainer]:
        parameters: dict[str, Any] = {}
        for item in self.data:
            if isinstance(item, ParameterNode):
                parameters[item.name] = item
            elif isinstance(item, ParameterContainer):
                parameters[str(item)] = item
        return parameters


class Map(UserDict, ParameterContainer):
    """A dict that is also a ParameterContainer (its keys and values may be parameters)."""

    def __init__(self, mapping: Any) -> None:
        super().__init__(mapping)

    def parameters_dict(self) -> dict[str, ParameterNode | ParameterContainer]:
        parameters: dict[str, Any] = {}
        for k, v in self.data.items():
            if isinstance(v, (ParameterNode, ParameterContainer)):
                parameters[str(k) if isinstance(v, ParameterNode) else str(v)] = v
            if isinstance(k, ParameterNode):
                parameters[str(k)] = k
            elif isinstance(k, ParameterContainer):
                raise TypeError("The key of a Map cannot be a container.")
        return parameters
