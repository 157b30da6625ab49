"""The layers import downward only (DESIGN.md): each subpackage imports only those listed before it.

The one arrow up by design: Trace's `call_llm` operator reaches the LLM layer inside the call.
`extras` (naming a missing extra) sits under everything; the package's own __init__ is not a layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import trace_workbench

LAYERS = ["extras", "trace", "llm", "utils", "optimizers", "workbench", "train", "trainer", "export", "jupyter",
          "testing"]
ALLOWED_UP = {("trace/operators.py", "llm")}
PACKAGE = Path(trace_workbench.__file__).parent


def _imports(path: Path) -> set[str]:
    """The trace_workbench subpackages `path` imports, at the top or inside a function."""
    found: set[str] = set()
    for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [n.module] if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module else (
            [a.name for a in n.names] if isinstance(n, ast.Import) else [])
        found |= {name.split(".")[1] for name in names if name.startswith("trace_workbench.")}
    return found


def test_every_subpackage_is_a_listed_layer() -> None:
    subpackages = {p.stem for p in PACKAGE.iterdir()
                   if (p / "__init__.py").exists() or (p.suffix == ".py" and p.name != "__init__.py")}
    assert subpackages == set(LAYERS)


def test_imports_point_down_only() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if len(relative.parts) == 1 and relative.name == "__init__.py":
            continue
        layer = relative.parts[0].removesuffix(".py")
        for target in _imports(path):
            if target in LAYERS and LAYERS.index(target) > LAYERS.index(layer) \
                    and (relative.as_posix(), target) not in ALLOWED_UP:
                upward.append(f"{relative.as_posix()} imports {target}")
    assert upward == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from trace_workbench.jupyter import widget\n")
    assert _imports(module) == {"jupyter"}
