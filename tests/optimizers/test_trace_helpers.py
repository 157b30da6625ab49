"""Trace's helpers kept for programs that call them: extract_llm_suggestion and construct_update_dict read a
reply as propose() does, and optimizers.utils.print_color prints in a terminal colour."""

from __future__ import annotations

import json

import pytest

from trace_workbench.llm import LLM
from trace_workbench.optimizers import OptoPrime
from trace_workbench.optimizers.utils import print_color
from trace_workbench.trace import node
from trace_workbench.trace.values import ValueConversionError


def test_a_reply_read_by_trace_s_helpers_gives_the_values_propose_would(llm: LLM) -> None:
    n = node(2, name="n", trainable=True)
    text = node("hi", name="text", trainable=True)
    optimizer = OptoPrime([n, text], llm=llm)
    raw = json.dumps({"reasoning": "r", "suggestion": {"n0": "3", "text": "hello", "nope": 1}})
    suggestion = optimizer.extract_llm_suggestion(raw)
    assert suggestion == {"n0": "3", "text": "hello", "nope": 1}
    with pytest.warns(UserWarning, match="nope"):
        update = optimizer.construct_update_dict(suggestion)
    assert update == {n: 3, text: "hello"}
    changes = optimizer.proposal_from_reply(raw).changes
    assert {key: change.new for key, change in changes.items()} == {"n0": 3, "text0": "hello"}


def test_an_unusable_value_is_raised_when_extraction_errors_are_not_ignored(llm: LLM) -> None:
    n = node(2, name="n", trainable=True)
    optimizer = OptoPrime([n], llm=llm, ignore_extraction_error=False)
    with pytest.raises(ValueConversionError, match=r"expected an integer.*\(parameter n0 is an int\)"):
        optimizer.construct_update_dict({"n0": "three"})
    assert optimizer.extract_llm_suggestion("no JSON here") == {}


def test_print_color_colours_the_message_and_logs_it(capsys) -> None:
    logged: list[str] = []
    print_color("careful", "red", logger=type("Log", (), {"log": lambda self, m: logged.append(m)})())
    print_color("plain", "no such colour")
    assert capsys.readouterr().out == "\033[91mcareful\033[0m\nplain\033[0m\n" and logged == ["careful"]
