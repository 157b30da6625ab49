"""Containers of nodes: NodeContainer (for apply_op), and ParameterContainer, which finds the
trainable parameters held in its attributes (Seq and Map do the same for list and dict items)."""

from __future__ import annotations

from collections import UserDict, UserList
from typing import Any

from trace_workbench.trace.nodes import Node, ParameterNode


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
    """A list that is also a ParameterContainer (its items may be parameters).

    Seq(a, b, c) and Seq([a, b, c]) are the same; a single node is an item: Seq(node(1)) has one.
    """

    def __init__(self, *args: Any) -> None:
        if len(args) == 1 and hasattr(args[0], "__len__") and hasattr(args[0], "__getitem__") and (
                not isinstance(args[0], Node)):
            args = args[0]
        super().__init__(args)

    def parameters_dict(self) -> dict[str, ParameterNode | ParameterContainer]:
        """The parameters and containers among the items, by position ("0", "1" ...), so that the
        names are the same in every instance (as save/load need)."""
        return {str(i): item for i, item in enumerate(self.data)
                if isinstance(item, (ParameterNode, ParameterContainer))}


class Map(UserDict, ParameterContainer):
    """A dict that is also a ParameterContainer (its keys and values may be parameters)."""

    def __init__(self, mapping: Any) -> None:
        super().__init__(mapping)

    def parameters_dict(self) -> dict[str, ParameterNode | ParameterContainer]:
        """Parameters and containers among the values, by their key; parameters used as keys."""
        parameters: dict[str, Any] = {}
        for k, v in self.data.items():
            if isinstance(v, (ParameterNode, ParameterContainer)):
                parameters[k.name if isinstance(k, Node) else str(k)] = v
            if isinstance(k, ParameterNode):
                parameters[str(k)] = k
            elif isinstance(k, ParameterContainer):
                raise TypeError("The key of a Map cannot be a container.")
        return parameters
