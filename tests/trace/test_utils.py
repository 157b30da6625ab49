"""Small helpers: identity membership, feedback sums, decorating every method of a class, and Trace's
render_opt_step."""

from __future__ import annotations

import json

import pytest

from trace_workbench.trace import GRAPH, bundle, node
from trace_workbench.trace.utils import contain, for_all_methods, sum_feedback


def test_contain_uses_identity() -> None:
    a, b = node(1), node(1)
    assert a == b and contain([a], a) and not contain([a], b)
    assert not contain([], a)


def test_sum_feedback() -> None:
    assert sum_feedback([node(1)]) == 0
    x, y = node(1, trainable=True), node(2, trainable=True)
    x._add_feedback("one", 2)
    x._add_feedback("two", 3)
    y._add_feedback("three", 5)
    assert sum_feedback([x, y]) == 10
    t = node("t", trainable=True)
    t._add_feedback("a", "first ")
    t._add_feedback("b", "second")
    assert sum_feedback([t]) == "first second"


def test_for_all_methods_decorates_public_methods() -> None:
    @for_all_methods(bundle())
    class Tools:
        def double(self, v):
            return v * 2

        def __repr__(self) -> str:
            return "Tools()"

    tools = Tools()
    out = tools.double(node(3))
    assert out.data == 6 and out.op_name.endswith("double")
    assert repr(tools) == "Tools()"


def stepped_optimizer(reply_text: str):
    """An OptoPrime that took one step against a scripted server answering `reply_text`."""
    from trace_workbench.llm import LLM
    from trace_workbench.optimizers import OptoPrime
    from trace_workbench.testing import ChatServer

    GRAPH.clear()
    x = node(1, trainable=True, name="x")  # x0 in the prompt
    with ChatServer([reply_text]) as server:
        optimizer = OptoPrime([x], llm=LLM("m", base_url=server.base_url, max_retries=0))
        optimizer.zero_feedback()
        optimizer.backward(x + node(1, name="one"), "The result must be <10> or more.")
        optimizer.step()
    return optimizer


def test_opt_step_shows_what_the_model_saw_said_and_suggested() -> None:
    from trace_workbench.trace.utils import opt_step

    optimizer = stepped_optimizer(json.dumps({"reasoning": "x & one add up", "suggestion": {"x0": 9}}))
    step = opt_step(0, optimizer)
    assert list(step.blocks) == ["graph", "feedback", "reasoning", "improvement"]
    assert "#Variables" in step.blocks["graph"] and "(int) x0=1" in step.blocks["graph"]
    assert "#Feedback" not in step.blocks["graph"] and "#Instruction" not in step.blocks["graph"]
    assert step.blocks["feedback"] == "The result must be <10> or more."
    assert step.blocks["reasoning"] == "x & one add up" and step.blocks["improvement"] == "x0:\n\n9"
    html = step._repr_html_()
    assert "&lt;10&gt;" in html and "x &amp; one" in html and "<10>" not in html  # values are escaped
    assert "g<sub>0</sub>" in html and "a<sub>0</sub>" in html
    assert list(opt_step(0, optimizer, no_trace_graph=True, no_improvement=True).blocks) == ["feedback", "reasoning"]


def test_opt_step_of_a_reply_without_json_or_suggestion() -> None:
    from trace_workbench.optimizers import UnusableReplyWarning
    from trace_workbench.trace.utils import opt_step

    with pytest.warns(UnusableReplyWarning):
        unusable = stepped_optimizer("not json")
    assert opt_step(0, unusable).blocks["improvement"] == "(the reply was not JSON) not json"
    quiet = stepped_optimizer(json.dumps({"reasoning": "fine", "answer": "", "suggestion": {}}))
    assert opt_step(-1, quiet).blocks["improvement"] == "(no change suggested)"
    with pytest.raises(IndexError, match="logged 1 step"):
        opt_step(1, quiet)


def test_render_opt_step_prints_outside_ipython_and_displays_html_inside(capsys) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from trace_workbench.trace.utils import render_opt_step

    optimizer = stepped_optimizer(json.dumps({"reasoning": "r", "suggestion": {"x0": 2}}))
    assert render_opt_step(0, optimizer) is None
    printed = capsys.readouterr().out
    assert "== Feedback (f0)" in printed and "== Improvement (a0)\nx0:\n\n2" in printed
    shell = InteractiveShell.instance()
    try:
        with capture_output() as captured:
            render_opt_step(0, optimizer, no_trace_graph=True)
    finally:
        InteractiveShell.clear_instance()
    [shown] = captured.outputs
    assert "Improvement" in shown.data["text/html"] and "Trace Graph" not in shown.data["text/html"]
    assert shown.data["text/plain"].startswith("== Feedback (f0)")
    assert shell is not None
