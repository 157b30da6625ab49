"""Writing accepted values back into a cell's source, by syntax-tree positions.

Only the literal assigned to a trained variable, or the definition of a trained function, is
replaced; comments, blank lines, other statements and the magic line stay exactly as they were.
"""

from __future__ import annotations

import ast
import textwrap
import warnings
from collections.abc import Callable, Mapping
from typing import Any


class WritebackError(ValueError):
    """The new value cannot be written into the cell (say why, so the person can edit it by hand)."""


def literal(value: Any, like: str | None = None) -> str:
    """Python source for `value` that evaluates back to it; strings keep the quote style of `like`
    (the literal being replaced) where they can, and multi-line strings become triple-quoted."""
    candidates = []
    if isinstance(value, str) and "\\" not in value and all(c.isprintable() or c == "\n" for c in value):
        quote = '"' if like is None or not like.lstrip("rbuRBU").startswith("'") else "'"
        if "\n" in value:
            candidates.append(quote * 3 + value + quote * 3)
        candidates.append(quote + value + quote)
    candidates.append(repr(value))
    for text in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an invalid escape would only warn today
                evaluated = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, Warning):
            continue
        if evaluated == value and type(evaluated) is type(value):
            return text
    raise WritebackError(f"{type(value).__name__} value {value!r:.80} has no Python literal to write into the cell")


def _offsets(lines: list[bytes]) -> list[int]:
    """Byte offset of the start of each line (ast's col_offset counts UTF-8 bytes)."""
    starts, total = [], 0
    for line in lines:
        starts.append(total)
        total += len(line)
    return starts


def write_back(source: str, values: Mapping[str, Any] | None = None,
               functions: Mapping[str, str] | None = None, to_python: Callable[[str], str] | None = None) -> str:
    """`source` with the last literal assigned to each name in `values` replaced by its new value,
    and each function named in `functions` redefined by the new code (its decorators kept).

    The cell magic's line (`%%...`, blank lines before it allowed) is kept as is. `to_python` makes the
    body Python on the same lines (IPython's `!cmd` and `%magic` lines become calls) before it is parsed;
    only the person's own text is edited. WritebackError when a name is not assigned a literal at the top
    level of the cell, or a function is not defined there.
    """
    values, functions = dict(values or {}), dict(functions or {})
    magic, body = "", source
    stripped = source.lstrip()
    if stripped.startswith("%%"):
        first, _, body = stripped.partition("\n")
        magic = source[:len(source) - len(stripped)] + first + "\n"
    try:
        tree = ast.parse(to_python(body) if to_python is not None else body)
    except SyntaxError as e:
        raise WritebackError(f"the cell does not parse ({e.msg}, line {e.lineno}): edit it by hand") from None
    encoded = body.encode("utf-8")
    lines = encoded.splitlines(keepends=True)
    starts = _offsets(lines)
    edits: list[tuple[int, int, bytes]] = []
    for name, value in values.items():
        target = None
        for statement in tree.body:
            if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
                names = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in names):
                    target = statement.value
        if target is None:
            raise WritebackError(f"{name} is not assigned at the top level of the cell")
        try:
            ast.literal_eval(target)
        except ValueError:
            raise WritebackError(f"{name} is computed in the cell, not written as a literal: edit it by hand") from None
        begin = starts[target.lineno - 1] + target.col_offset
        end = starts[target.end_lineno - 1] + target.end_col_offset
        old = encoded[begin:end].decode("utf-8")
        if to_python is not None and _literal_or_none(old) != ast.literal_eval(target):
            raise WritebackError(f"{name} is written on a line IPython rewrites: edit it by hand")
        edits.append((begin, end, literal(value, old).encode("utf-8")))
    for name, code in functions.items():
        definition = next((s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                           and s.name == name), None)
        if definition is None:
            raise WritebackError(f"function {name} is not defined at the top level of the cell")
        new = _definition_only(code, name)
        begin = starts[definition.lineno - 1]
        end = starts[definition.end_lineno - 1] + len(lines[definition.end_lineno - 1].rstrip(b"\r\n"))
        edits.append((begin, end, new.encode("utf-8")))
    for begin, end, text in sorted(edits, reverse=True):
        encoded = encoded[:begin] + text + encoded[end:]
    return magic + encoded.decode("utf-8")


def _literal_or_none(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _definition_only(code: str, name: str) -> str:
    """The `def` of `name` in `code`, from its `def` line on (decorators in the new code dropped)."""
    code = textwrap.dedent(code).strip("\n")
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise WritebackError(f"the new code of {name} does not parse ({e.msg})") from None
    definition = next((s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                       and s.name == name), None)
    if definition is None:
        raise WritebackError(f"the new code does not define {name}")
    return "\n".join(code.split("\n")[definition.lineno - 1:definition.end_lineno])
