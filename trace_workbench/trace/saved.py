"""The file Module.save writes: a readable JSON document, values as JSON, code as text.

Trace saved a pickle, and loading a pickle runs whatever code the file names (a crafted file runs
``os.system`` on load). This format holds data only: JSON values, tuples/sets/bytes/complex as
their Python literal (read back with ``ast.literal_eval``), a bundle's code as its source text.
A pickle is read only when the caller opts in, with a warning.
"""

from __future__ import annotations

import ast
import json
import math
import pickle
import warnings
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "UnsafeFileError", "dumps", "read"]

FORMAT = "trace_workbench.parameters"
VERSION = 1


class UnsafeFileError(ValueError):
    """The file is a pickle: reading it could run code, so it is read only with allow_pickle=True."""


def _plain(value: Any) -> bool:
    """Whether JSON holds `value` exactly (the same types back): None, bool, int, finite float, str, and
    lists and str-keyed dicts of those."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if type(value) is list:
        return all(_plain(v) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _literal(value: Any) -> bool:
    """Whether repr(value) is a Python literal that reads back as an equal value of the same type."""
    try:
        text = repr(value)
        back = ast.literal_eval(text)
    except Exception:
        return False
    return type(back) is type(value) and back == value


def _entry(name: str, value: Any, code: bool) -> dict[str, Any]:
    if code:
        return {"kind": "code", "code": value}
    if _plain(value):
        return {"kind": type(value).__name__, "value": value}
    if _literal(value):
        return {"kind": type(value).__name__, "literal": repr(value)}
    raise ValueError(f"the value of {name!r} ({type(value).__name__}) is not JSON or a Python literal, so it "
                     "cannot be saved safely; save(path, allow_pickle=True) writes a pickle instead (only for files "
                     "you trust)")


def dumps(values: dict[str, Any], code: set[str]) -> str:
    """The document for {name: value}; names in `code` are a bundle's source. ValueError for a value it cannot hold."""
    document = {"format": FORMAT, "version": VERSION,
                "parameters": {name: _entry(name, value, name in code) for name, value in values.items()}}
    text = json.dumps(document, indent=1, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: written as a \uXXXX escape, which reads back exactly
        text = json.dumps(document, indent=1)
    return text


def _value(name: str, entry: Any, path: Path) -> Any:
    if not isinstance(entry, dict):
        raise ValueError(f"{path}: the entry for {name!r} is not an object")
    if entry.get("kind") == "code":
        if not isinstance(entry.get("code"), str):
            raise ValueError(f"{path}: the code of {name!r} is not text")
        return entry["code"]
    if "literal" in entry:
        try:
            return ast.literal_eval(entry["literal"])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise ValueError(f"{path}: the value of {name!r} is not a Python literal") from None
    if "value" in entry:
        return entry["value"]
    raise ValueError(f"{path}: the entry for {name!r} has no value")


def read(path: Path, allow_pickle: bool = False) -> tuple[dict[str, Any], set[str]]:
    """The saved {name: value} and the names saved as code. A pickle (Trace's format) only with allow_pickle."""
    data = path.read_bytes()
    if data[:1] == b"\x80":
        if not allow_pickle:
            raise UnsafeFileError(
                f"{path} is a pickle (the format Trace saves): loading it can run any code it names. Load it only "
                "if you trust where it came from, with load(path, allow_pickle=True); save() then writes the safe "
                "JSON format.")
        warnings.warn(f"loading the pickle {path}: it can run code; trust only files you made", stacklevel=3)
        saved = pickle.loads(data)
        if not isinstance(saved, dict):
            raise ValueError(f"{path} does not hold saved parameter values")
        return saved, set()
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"{path} is not a file of saved parameters (neither its JSON format nor a pickle)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a file of saved parameters (no \"format\": {FORMAT!r})")
    if not isinstance(document.get("version"), int) or document["version"] > VERSION:
        raise ValueError(f"{path} was saved by a newer trace_workbench (format version {document.get('version')}); "
                         "upgrade trace_workbench to load it")
    entries = document.get("parameters")
    if not isinstance(entries, dict):
        raise ValueError(f"{path} holds no parameters")
    values = {name: _value(name, entry, path) for name, entry in entries.items()}
    return values, {name for name, entry in entries.items() if entry.get("kind") == "code"}
