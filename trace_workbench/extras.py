"""Optional parts come with the package's extras; importing one that is missing says which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """`import module`, or an ImportError that names the extra providing it, e.g. `pip install
    "trace-workbench[widget]"`."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"{module} is not installed; it comes with the {extra!r} extra: "
                          f'pip install "trace-workbench[{extra}]"', name=e.name) from e
