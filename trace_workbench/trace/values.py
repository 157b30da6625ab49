"""Turning a model's suggested value into a parameter's value, or a clear reason why it cannot be.

Trace converted with ``type(old)(new)``, so ``bool("False")`` became True and ``list("[3, 4]")`` a
list of characters. Here literals are parsed (JSON, then Python literals), numbers must be numbers,
and a code parameter (the ParameterNode a trainable bundle owns) must receive code that parses and
defines the function under its name (imports, helpers and constants may stand around it).
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import re
import textwrap
from typing import Any

from trace_workbench.trace.nodes import Node
from trace_workbench.trace.text import shorten

__all__ = [
    "CODE_KIND",
    "ValueConversionError",
    "check_code",
    "clean_text",
    "convert_value",
    "function_name",
    "is_code_parameter",
    "same_value",
    "parse_literal",
    "to_jsonable",
    "unified_diff",
    "value_kind",
]

CODE_KIND = "code"
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)\n?[ \t]*```", re.DOTALL)
_LONGEST_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*)\n?[ \t]*```", re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone surrogate: a str may hold one (a JSON escape "\\ud800"), but it cannot be encoded as UTF-8,
so a prompt, a history row or a saved file holding one fails later, far from where it came in."""


class ValueConversionError(ValueError):
    """A suggested value cannot become the parameter's value; the message says why."""


def is_code_parameter(node: Node) -> bool:
    """Whether `node` holds the code of a trainable bundle (the engine marks those parameters; the
    text of a value never decides it)."""
    return isinstance(node.info, dict) and node.info.get("trainable_code") is True


def same_value(a: Any, b: Any) -> bool:
    """Whether two parameter values are the same value (type included), without trusting odd __eq__."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def value_kind(node: Node) -> str:
    """"code" for a bundle's code parameter, else the name of the value's type ("int", "str", ...)."""
    return CODE_KIND if is_code_parameter(node) else type(node._data).__name__


def function_name(code: str) -> str | None:
    """The name of the function `code` defines first, or None if it defines none (or does not parse)."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError):
        return None
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return statement.name
    return None


def parse_literal(text: str) -> Any:
    """The value a JSON or Python literal spells ("[3, 4]", "{'a': 1}", "1e-3"); ValueError if none."""
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as e:
        raise ValueError(f"{_preview(text)} is not a literal value ({type(e).__name__})") from None


def _preview(value: Any, limit: int = 60) -> str:
    return shorten(repr(value) if isinstance(value, str) else json.dumps(to_jsonable(value)), limit - 1)


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "an array",
             dict: "an object", type(None): "null"}
    return names.get(type(value), f"a {type(value).__name__}")


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    return len(json.dumps(to_jsonable(value)))


def clean_text(text: str) -> tuple[str, int]:
    """`text` with each lone surrogate (invalid Unicode) replaced by U+FFFD, and how many there were."""
    return _SURROGATE.subn("\ufffd", text)


def _invalid_unicode(value: Any, depth: int = 0) -> str | None:
    """Where `value` (text, or text inside containers) holds a lone surrogate, as words; None when it holds none."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return f"{found.group()!r} at character {found.start()}" if found else None
    if depth > 50:
        return None
    items: Any = ()
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    for item in items:
        where = _invalid_unicode(item, depth + 1)
        if where:
            return where
    return None


def convert_value(new: Any, old: Any, *, kind: str | None = None, max_chars: int | None = None) -> Any:
    """`new` (as a model wrote it) converted to the type of `old`; ValueConversionError otherwise.

    kind "code" means `old` is a bundle's source code: `new` must be a function definition (see
    `check_code`). Suggestions longer than `max_chars` characters are refused.
    """
    kind = kind or type(old).__name__
    invalid = _invalid_unicode(new)
    if invalid:
        raise ValueConversionError(f"the suggested value holds invalid Unicode (a lone surrogate {invalid}), which "
                                   "cannot be sent to a model or saved")
    if max_chars is not None and _size(new) > max_chars:
        raise ValueConversionError(
            f"the suggested value is {_size(new):,} characters long, over the limit of {max_chars:,}")
    if kind == CODE_KIND:
        if not isinstance(new, str):
            raise ValueConversionError(f"a code parameter needs the function's source as text, not {_json_type(new)}")
        return check_code(new, old if isinstance(old, str) else None)
    if isinstance(old, bool):
        return _to_bool(new)
    if isinstance(old, int):
        return _to_int(new)
    if isinstance(old, float):
        return _to_float(new)
    if isinstance(old, str):
        return _to_str(new)
    if isinstance(old, (list, tuple, set, frozenset, dict)):
        return _to_container(new, type(old))
    if old is None:
        return new
    if type(new) is type(old):
        return new
    raise ValueConversionError(
        f"a value of type {type(old).__name__} cannot be read from a reply (got {_json_type(new)} {_preview(new)}); "
        "set it by hand")


def _to_bool(new: Any) -> bool:
    if isinstance(new, bool):
        return new
    if isinstance(new, str):
        word = new.strip().strip("'\"").lower()
        if word in ("true", "yes", "1"):
            return True
        if word in ("false", "no", "0"):
            return False
    if isinstance(new, int) and new in (0, 1):
        return bool(new)
    raise ValueConversionError(f"expected a boolean (true or false), got {_json_type(new)} {_preview(new)}")


def _literal_of(new: Any, expected: str) -> Any:
    """`new` itself, or the literal its text spells (ValueConversionError saying what was `expected`)."""
    if not isinstance(new, str):
        return new
    try:
        return parse_literal(new)
    except ValueError:
        raise ValueConversionError(f"expected {expected}, got text {_preview(new)}") from None


def _to_int(new: Any) -> int:
    value = _literal_of(new, "an integer")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueConversionError(f"expected an integer, got {_json_type(value)} {_preview(new)}")
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise ValueConversionError(f"expected an integer, got {_preview(new)}")
        return int(value)
    return value


def _to_float(new: Any) -> float:
    if isinstance(new, bool):
        raise ValueConversionError(f"expected a number, got a boolean {_preview(new)}")
    if isinstance(new, (int, float)):
        value = float(new)
    elif isinstance(new, str):
        try:
            value = float(new.strip())
        except ValueError:
            raise ValueConversionError(f"expected a number, got text {_preview(new)}") from None
    else:
        raise ValueConversionError(f"expected a number, got {_json_type(new)} {_preview(new)}")
    if not math.isfinite(value):
        raise ValueConversionError(f"expected a finite number, got {value}")
    return value


def _to_str(new: Any) -> str:
    if isinstance(new, str):
        return new
    if isinstance(new, float) and not math.isfinite(new):
        raise ValueConversionError(f"expected text (a string), got the number {new!r} (NaN or infinity), "
                                   "which would become the text 'nan' or 'inf'")
    if isinstance(new, (int, float)) and not isinstance(new, bool):
        return str(new)
    raise ValueConversionError(f"expected text (a string), got {_json_type(new)} {_preview(new)}")


_CONTAINER_NAMES = {list: "a list", tuple: "a tuple (written as a list)", set: "a set (written as a list)",
                    frozenset: "a set (written as a list)", dict: "a dict (an object)"}


def _to_container(new: Any, target: type) -> Any:
    value = _literal_of(new, _CONTAINER_NAMES[target])
    if target is dict:
        if isinstance(value, dict):
            return value
    elif isinstance(value, (list, tuple, set, frozenset)):
        try:
            return target(value)
        except TypeError as e:  # unhashable items for a set
            raise ValueConversionError(f"expected {_CONTAINER_NAMES[target]}: {e}") from None
    raise ValueConversionError(f"expected {_CONTAINER_NAMES[target]}, got {_json_type(value)} {_preview(new)}")


def _strip_fences(text: str) -> str:
    """The code inside a Markdown fence when `text` is (or holds, amid prose) a fenced block; else `text`."""
    stripped = text.strip()
    if not stripped.startswith("```"):
        try:
            ast.parse(textwrap.dedent(text))
            return text  # plain code, perhaps with a fence inside a docstring
        except (SyntaxError, ValueError):
            pass
    shortest, longest = _FENCE.search(text), _LONGEST_FENCE.search(text)
    if shortest is None or longest is None:
        if stripped.startswith("```"):  # an unclosed fence
            return stripped.split("\n", 1)[1] if "\n" in stripped else ""
        return text
    for candidate in (shortest.group(2), longest.group(2)):  # the longest when the code itself holds a fence
        try:
            ast.parse(textwrap.dedent(candidate))
            return candidate
        except (SyntaxError, ValueError):
            continue
    return shortest.group(2)


def _is_bundle(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Name) and target.id == "bundle") or (
        isinstance(target, ast.Attribute) and target.attr == "bundle")


_CONTEXT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
"""Statements that may stand beside the function in a code parameter: imports, helpers, constants."""


def _top_defs(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {s.name: s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}


def check_code(code: str, old_code: str | None = None) -> str:
    """The suggested source, cleaned (fences removed, dedented), if it is usable as a bundle's code.

    It must parse and define the function(s) `old_code` defines at top level, with the same names and
    decorators (a ``@bundle(...)`` line above a function is dropped). Imports, helper functions,
    classes and constants may stand around the function (the engine runs them with it); any other
    statement at module level is refused. ValueConversionError says what is wrong.
    """
    text = textwrap.dedent(_strip_fences(code)).strip("\n").rstrip()
    if not text.strip():
        raise ValueConversionError("the suggested code is empty")
    tree = _parse(text)
    bundle_lines = sorted({line for d in _top_defs(tree).values() for b in d.decorator_list if _is_bundle(b)
                           for line in range(b.lineno, (b.end_lineno or b.lineno) + 1)}, reverse=True)
    if bundle_lines:
        lines = text.split("\n")
        for line in bundle_lines:
            del lines[line - 1]
        text = textwrap.dedent("\n".join(lines)).strip("\n")
        tree = _parse(text)
    defs = _top_defs(tree)
    if not defs:
        raise ValueConversionError(
            f"the suggested code must define the function (def ...), not only {_preview(text)}")
    for statement in tree.body:
        docstring = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        if not isinstance(statement, _CONTEXT) and not docstring:
            raise ValueConversionError(
                f"the suggested code runs {_preview(ast.get_source_segment(text, statement) or '')} at line "
                f"{statement.lineno} when it is loaded; only imports, helper functions, classes and constants "
                "may stand beside the function")
    old_defs = _top_defs(_parse_or_empty(old_code)) if old_code else {}
    missing = [name for name in old_defs if name not in defs]
    if missing:
        what = "renames the function" if len(old_defs) == 1 and len(defs) == 1 else "drops the function"
        found = f" to {next(iter(defs))!r}" if what.startswith("renames") else ""
        raise ValueConversionError(
            f"the suggested code {what} {missing[0]!r}{found}; keep the name and signature")
    for name, old in old_defs.items():
        old_decorators = [ast.unparse(d) for d in old.decorator_list if not _is_bundle(d)]
        new_decorators = [ast.unparse(d) for d in defs[name].decorator_list]
        if new_decorators != old_decorators:
            raise ValueConversionError(
                f"the suggested code changes the function's decorators to {new_decorators}; keep {old_decorators}")
    return text


def _parse_or_empty(code: str) -> ast.Module:
    try:
        return ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError):
        return ast.Module(body=[], type_ignores=[])


def _parse(text: str) -> ast.Module:
    try:
        return ast.parse(text)
    except SyntaxError as e:
        line = f" at line {e.lineno}" if e.lineno else ""
        raise ValueConversionError(f"the suggested code does not parse: {e.msg}{line}") from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise ValueConversionError(f"the suggested code does not parse: {e}") from None


def to_jsonable(value: Any, _path: frozenset[int] = frozenset()) -> Any:
    """`value` as plain JSON data: tuples and sets become lists, other objects their repr; a container
    that holds itself shows the repeat as "[...]" or "{...}", as repr does."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        if id(value) in _path:
            return "{...}" if isinstance(value, dict) else "[...]"
        inner = _path | {id(value)}
        if isinstance(value, dict):
            return {k if isinstance(k, str) else _repr(k): to_jsonable(v, inner) for k, v in value.items()}
        items = [to_jsonable(v, inner) for v in value]
        if isinstance(value, (set, frozenset)):
            try:
                return sorted(items)
            except TypeError:
                return items
        return items
    return _repr(value)


def _repr(value: Any) -> str:
    """repr(value), or a description when its __repr__ raises (a value from a program may be any object)."""
    try:
        return repr(value)
    except Exception as e:
        return f"<{type(value).__name__} object (its repr raised {type(e).__name__})>"


def _lines(value: Any) -> list[str]:
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(to_jsonable(value), indent=2, sort_keys=isinstance(value, dict))
    return [line + "\n" for line in text.split("\n")]


def unified_diff(name: str, old: Any, new: Any) -> str:
    """A unified diff of the old and new value (text as is, other values as indented JSON)."""
    return "".join(difflib.unified_diff(_lines(old), _lines(new), fromfile=f"{name} (old)", tofile=f"{name} (new)"))
