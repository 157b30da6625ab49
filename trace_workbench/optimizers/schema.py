"""JSON schemas of the replies the optimizers ask for, built from the parameters of a step.

A schema keeps to the part of JSON Schema that OpenAI's strict structured outputs accept (every
property required, ``additionalProperties: false``, null only through a type list), so the same
``response_format`` serves OpenAI, vLLM, Ollama and llama.cpp. Every suggested value may be null,
meaning "leave this parameter as it is". Strings carry a ``maxLength``: a server that refuses the
keyword is asked again without it (see ``reply_shapes``), and the request's max_tokens bounds the
reply then.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

from trace_workbench.llm.reply_format import ReplyShape
from trace_workbench.trace.nodes import ParameterNode
from trace_workbench.trace.values import CODE_KIND, value_kind

__all__ = [
    "ENV_STRUCTURED",
    "MAX_DEPTH",
    "REASONING_CHARS",
    "feedback_schema",
    "improved_variable_schema",
    "opro_schema",
    "optoprime_schema",
    "reply_shapes",
    "structured_default",
    "suggestion_schema",
    "value_schema",
    "without_bounds",
]

ENV_STRUCTURED = "TRACE_WORKBENCH_STRUCTURED"
"""Set to 0 (or off, false, no) to ask every optimizer for free-text replies instead of a JSON schema."""
REASONING_CHARS = 400
"""The longest reasoning a structured reply may hold (a small model rambles otherwise)."""
MAX_DEPTH = 3
"""Containers nested deeper than this are asked for as a string holding the literal."""
_BOUNDS = ("maxLength", "minLength", "maxItems", "minItems")
_SCALARS = {bool: "boolean", int: "integer", float: "number", str: "string"}


def structured_default() -> bool:
    """Whether optimizers ask for structured replies when not told: yes, unless TRACE_WORKBENCH_STRUCTURED is off."""
    return os.environ.get(ENV_STRUCTURED, "").strip().lower() not in ("0", "off", "false", "no")


def _string_bound(value: Any, code: bool = False) -> int:
    """A bound for the new value of a parameter that is now `value`: twice as long (code: three times), at
    least 300 characters (code: 1,000). It stops a small model that repeats itself long before max_tokens."""
    return max(1000, 3 * len(str(value))) if code else max(300, 2 * len(str(value)))


def _with_null(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    return {**schema, "type": [*kind, "null"] if isinstance(kind, list) else [kind, "null"]}


def value_schema(value: Any, kind: str | None = None, *, nullable: bool = True, depth: int = 0) -> dict[str, Any]:
    """The schema of a value shaped like `value` (code: a string holding the function's source).

    Lists are arrays of their elements' type (elements of several types: any scalar); dicts with
    string keys are objects with those same keys; anything else, or a container nested more than
    MAX_DEPTH deep, is a string (the literal, which the value conversion reads back).
    """
    schema = _schema(value, kind or type(value).__name__, depth)
    return _with_null(schema) if nullable else schema


def _schema(value: Any, kind: str, depth: int) -> dict[str, Any]:
    if kind == CODE_KIND or value is None:
        return {"type": "string", "maxLength": _string_bound(value or "", code=kind == CODE_KIND)}
    scalar = _SCALARS.get(type(value))
    if scalar == "string":
        return {"type": "string", "maxLength": _string_bound(value)}
    if scalar is not None:
        return {"type": scalar}
    if depth < MAX_DEPTH and isinstance(value, (list, tuple, set, frozenset)):
        return {"type": "array", "items": _items(list(value), depth + 1)}
    if depth < MAX_DEPTH and isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        return {"type": "object", "properties": {k: _schema(v, type(v).__name__, depth + 1) for k, v in value.items()},
                "required": list(value), "additionalProperties": False}
    return {"type": "string", "maxLength": _string_bound(value)}


def _items(values: list[Any], depth: int) -> dict[str, Any]:
    """The schema of an array's elements: their common shape, else any scalar."""
    shapes = [_schema(v, type(v).__name__, depth) for v in values]
    if shapes and all(s == shapes[0] for s in shapes):
        return shapes[0]
    kinds = {s["type"] for s in shapes if isinstance(s["type"], str)}
    if kinds and kinds <= {"integer", "number"}:
        return {"type": "number"}
    return {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]}


def suggestion_schema(parameters: Mapping[str, ParameterNode]) -> dict[str, Any]:
    """An object with one nullable key per parameter (by the name the prompt shows), typed from its value."""
    return {"type": "object",
            "properties": {name: value_schema(node._data, value_kind(node)) for name, node in parameters.items()},
            "required": list(parameters), "additionalProperties": False}


def optoprime_schema(parameters: Mapping[str, ParameterNode], reasoning_chars: int = REASONING_CHARS) -> dict[str, Any]:
    """OptoPrime's reply: reasoning first (a bounded string), then the suggestion (no "answer": it costs a
    small model tokens it fills with a copy of the reasoning)."""
    properties = {"reasoning": {"type": "string", "maxLength": reasoning_chars},
                  "suggestion": suggestion_schema(parameters)}
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def opro_schema(parameters: Mapping[str, ParameterNode]) -> dict[str, Any]:
    """OPRO's reply: only the suggestion."""
    return {"type": "object", "properties": {"suggestion": suggestion_schema(parameters)}, "required": ["suggestion"],
            "additionalProperties": False}


def improved_variable_schema(node: ParameterNode) -> dict[str, Any]:
    """TextGrad's update reply: the parameter's new value, typed from its value."""
    return {"type": "object", "properties": {"improved_variable": value_schema(node._data, value_kind(node),
                                                                            nullable=False)},
            "required": ["improved_variable"], "additionalProperties": False}


def feedback_schema(chars: int = 2 * REASONING_CHARS) -> dict[str, Any]:
    """TextGrad's gradient and summary replies: the feedback as one bounded string."""
    return {"type": "object", "properties": {"feedback": {"type": "string", "maxLength": chars}},
            "required": ["feedback"], "additionalProperties": False}


def without_bounds(schema: Any) -> Any:
    """A copy of `schema` without length and size keywords (for servers whose strict mode refuses them)."""
    if isinstance(schema, dict):
        return {k: without_bounds(v) for k, v in schema.items() if k not in _BOUNDS}
    if isinstance(schema, list):
        return [without_bounds(v) for v in schema]
    return copy.copy(schema)


def reply_shapes(name: str, schema: dict[str, Any]) -> list[ReplyShape]:
    """The shapes to ask for, best first: the schema, the schema without bounds, a JSON object, free text."""
    def json_schema(body: dict[str, Any]) -> dict[str, Any]:
        return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": body}}

    return [ReplyShape("json_schema", json_schema(schema)),
            ReplyShape("json_schema without bounds", json_schema(without_bounds(schema))),
            ReplyShape("json_object", {"type": "json_object"}),
            ReplyShape("text", None)]
