"""The reply schemas built from parameters: OpenAI's strict subset, typed from the values, nullable."""

from __future__ import annotations

from typing import Any

import pytest

from trace_workbench.optimizers.schema import (
    improved_variable_schema,
    optoprime_schema,
    reply_shapes,
    suggestion_schema,
    value_schema,
    without_bounds,
)
from trace_workbench.trace import bundle, node


def strict_violations(schema: Any, path: str = "$") -> list[str]:
    """Where `schema` leaves OpenAI's strict subset: objects must list every property as required and
    forbid others; every schema must say its type (or be an anyOf of such schemas)."""
    problems = []
    if "anyOf" in schema:
        for i, option in enumerate(schema["anyOf"]):
            problems += strict_violations(option, f"{path}.anyOf[{i}]")
        return problems
    if "type" not in schema:
        return [f"{path}: no type"]
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if "object" in kinds:
        if schema.get("additionalProperties") is not False:
            problems.append(f"{path}: additionalProperties is not false")
        if sorted(schema.get("required", [])) != sorted(schema.get("properties", {})):
            problems.append(f"{path}: not every property is required")
        for name, sub in schema.get("properties", {}).items():
            problems += strict_violations(sub, f"{path}.{name}")
    if "array" in kinds:
        problems += strict_violations(schema.get("items", {}), f"{path}[]")
    return problems


@pytest.mark.parametrize(("value", "kind"), [
    (3, "integer"), (2.5, "number"), (True, "boolean"), ("text", "string"), ([1, 2], "array"), ({"a": 1}, "object"),
])
def test_values_are_typed_and_nullable(value, kind):
    schema = value_schema(value)
    assert schema["type"] == [kind, "null"]
    assert strict_violations(schema) == []


def test_containers_keep_their_shape():
    assert value_schema([1, 2], nullable=False)["items"] == {"type": "integer"}
    assert value_schema([1, 2.5], nullable=False)["items"] == {"type": "number"}
    assert "anyOf" in value_schema([1, "a"], nullable=False)["items"]
    nested = value_schema({"name": "x", "sizes": [1]}, nullable=False)
    assert nested["properties"]["sizes"] == {"type": "array", "items": {"type": "integer"}}
    assert value_schema({1: "a"}, nullable=False)["type"] == "string"  # non-string keys: the literal as text
    assert value_schema(object(), nullable=False)["type"] == "string"


def test_suggestion_has_one_key_per_parameter_and_code_is_a_string():
    @bundle(trainable=True)
    def double(x):
        """Double x."""
        return x * 2

    count = node(3, trainable=True)
    schema = suggestion_schema({"int0": count, "__code0": double.parameter})
    assert schema["required"] == ["int0", "__code0"]
    assert schema["properties"]["__code0"]["type"] == ["string", "null"]
    assert schema["properties"]["int0"] == {"type": ["integer", "null"]}
    assert strict_violations(optoprime_schema({"int0": count, "__code0": double.parameter})) == []
    assert improved_variable_schema(count)["properties"]["improved_variable"] == {"type": "integer"}


def test_bounds_can_be_dropped_and_shapes_go_from_best_to_plainest():
    schema = optoprime_schema({"str0": node("hello", trainable=True)}, reasoning_chars=50)
    assert schema["properties"]["reasoning"] == {"type": "string", "maxLength": 50}
    assert "maxLength" not in str(without_bounds(schema))
    assert [s.name for s in reply_shapes("r", schema)] == ["json_schema", "json_schema without bounds", "json_object",
                                                          "text"]
    assert reply_shapes("r", schema)[0].response_format["json_schema"]["strict"] is True
