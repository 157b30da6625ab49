"""Reading a JSON object out of a model's reply, the way models really write it.

Replies come in code fences, with prose around them, with single quotes, trailing commas,
Python's True/False/None, raw newlines inside strings, or several objects (an example, then the
answer). `find_json_object` scans the text once per candidate opening brace, respecting strings,
and returns the first object that decodes (preferring one with the expected keys).
"""

from __future__ import annotations

import json
from typing import Any

from trace_workbench.trace.text import shorten

__all__ = ["AmbiguousReplyError", "ReplyFormatError", "empty_reply_reason", "find_json_object", "is_terminate",
           "loads_relaxed"]

MAX_CANDIDATES = 64
"""How many opening braces are tried before giving up (keeps hostile replies linear in time)."""


class ReplyFormatError(ValueError):
    """The reply holds no usable JSON object; the message says what was found instead."""


class AmbiguousReplyError(ReplyFormatError):
    """The reply's JSON gives one key two different values (JSON keeps the last silently): refused whole."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's pairs as a dict, refusing a key given twice with different values."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result and result[key] != value:
            raise AmbiguousReplyError(
                f"the reply is ambiguous: its JSON gives {key!r} twice, as {_short_json(result[key])} "
                f"and {_short_json(value)}; ask again for one value per key")
        result[key] = value
    return result


def _short_json(value: Any, limit: int = 40) -> str:
    return shorten(json.dumps(value), limit - 1)


_DECODER = json.JSONDecoder(strict=False, object_pairs_hook=_unique_keys)
_PY_WORDS = {"True": "true", "False": "false", "None": "null"}


def empty_reply_reason(message: Any) -> str:
    """Why a chat message has no text: tool calls, a refusal, or nothing at all (read from the SDK's message)."""
    refusal = getattr(message, "refusal", None)
    if refusal:
        return f"the model refused instead of replying: {_preview(str(refusal))}"
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        names = [getattr(getattr(c, "function", None), "name", None) or "?" for c in calls]
        return (f"the reply is {len(calls)} tool call{'s' if len(calls) != 1 else ''} ({', '.join(names)}), "
                "not text; the optimizer needs a text reply (ask without tools)")
    if getattr(message, "function_call", None):
        return "the reply is a function call, not text; the optimizer needs a text reply"
    return "the reply is empty"


def is_terminate(text: str) -> bool:
    """Whether the whole reply is just TERMINATE (Trace's "no change" answer), fences and quotes aside."""
    word = text.strip().strip("`").strip()
    if word.lower().startswith("json"):
        word = word[4:].strip()
    return word.strip("\"'.").strip() == "TERMINATE"


def _string_end(text: str, start: int) -> int | None:
    """Index just past the string literal opening at `start` (', ", or a triple quote), or None."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        end = start + 3
        while True:
            end = text.find(quote * 3, end)
            if end == -1:
                return None
            if text[end - 1] != "\\":
                return end + 3
            end += 1
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i + 1
        i += 1
    return None


def _matching_brace(text: str, start: int) -> int | None:
    """Index of the brace closing the object that opens at `start`, skipping strings; None if unbalanced."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            end = _string_end(text, i)
            if end is None:
                return None
            i = end
            continue
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i if c == "}" else None
        i += 1
    return None


def _unescape(body: str) -> str:
    """The value of a quoted string's body, with JSON/Python escapes (unknown ones kept as written)."""
    if "\\" not in body:
        return body
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", "'": "'", '"': '"',
              "\n": ""}
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "u" and i + 6 <= n:
            try:
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
            except ValueError:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _to_strict_json(text: str) -> str:
    """Rewrite relaxed JSON (either quotes, trailing commas, Python words, bare keys, // comments) as JSON."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            end = _string_end(text, i)
            if end is None:
                raise ValueError("a string is not closed")
            width = 3 if text.startswith(c * 3, i) else 1
            out.append(json.dumps(_unescape(text[i + width:end - width])))
            i = end
        elif c == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j >= n or text[j] not in "}]":
                out.append(c)
            i += 1
        elif c == "/" and text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline == -1 else newline
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            k = j
            while k < n and text[k] in " \t":
                k += 1
            if k < n and text[k] == ":" and word not in _PY_WORDS:  # an unquoted key
                out.append(json.dumps(word))
            else:
                out.append(_PY_WORDS.get(word, word))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def loads_relaxed(text: str) -> Any:
    """Decode JSON, accepting what models commonly get wrong; ValueError when it still is not JSON."""
    try:
        return _DECODER.decode(text)
    except AmbiguousReplyError:
        raise
    except (ValueError, RecursionError):
        pass
    try:
        return _DECODER.decode(_to_strict_json(text))
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def find_json_object(text: str, expected_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The first JSON object in `text` that has one of `expected_keys` (else the first object at all).

    Raises ReplyFormatError, saying what went wrong, when no object can be decoded.
    """
    first: dict[str, Any] | None = None
    last_error = ""
    candidates = 0
    budget = 4 * len(text) + 100_000  # characters scanned over all candidates: hostile replies stay linear
    start = text.find("{")
    while start != -1 and candidates < MAX_CANDIDATES and budget > 0:
        candidates += 1
        end = _matching_brace(text, start)
        budget -= (len(text) if end is None else end) - start
        if end is None:
            last_error = last_error or "its braces or quotes are not balanced"
        else:
            try:
                value = loads_relaxed(text[start:end + 1])
            except AmbiguousReplyError:
                raise
            except ValueError as e:
                last_error = last_error or str(e)
            else:
                if isinstance(value, dict):
                    if not expected_keys or any(k in value for k in expected_keys):
                        return value
                    if first is None:
                        first = value
        start = text.find("{", start + 1)
    if first is not None:
        return first
    if not text.strip():
        raise ReplyFormatError("the reply is empty")
    if candidates == 0:
        raise ReplyFormatError(f"the reply has no JSON object: {_preview(text)}")
    raise ReplyFormatError(f"the reply's JSON could not be read ({last_error}): {_preview(text)}")


def _preview(text: str, limit: int = 120) -> str:
    return repr(shorten(" ".join(text.split()), limit - 1))
