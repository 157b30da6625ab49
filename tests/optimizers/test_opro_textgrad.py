"""OPRO and TextGrad steps on the same optimizer API; switching optimizers is one line."""

from __future__ import annotations

import json

import pytest

from tests.optimizers.conftest import reply
from tests.optimizers.graphs import STRANGE_SORT_FIXED, foobar, make_strange_sort_list, number_feedback
from trace_workbench.optimizers import OPRO, OptoPrime, TextGrad, UnusableReplyWarning
from trace_workbench.optimizers.textgrad import BACKWARD_SYSTEM_PROMPT, REDUCE_MEAN_SYSTEM_PROMPT
from trace_workbench.trace import node


def examples_in(prompt: str) -> list[dict]:
    """The JSON examples OPRO lists before its instruction."""
    block = prompt.split("each with the feedback it received.\n\n")[1].split("\n\n================================")[0]
    decoder = json.JSONDecoder()
    found, index = [], 0
    while index < len(block):
        value, index = decoder.raw_decode(block, index)
        found.append(value)
        while index < len(block) and block[index] in "\n ":
            index += 1
    return found


def test_opro_lists_every_earlier_value_with_its_feedback(server, llm):
    server.add_replies(json.dumps({"suggestion": {"float0": -2.0}}), json.dumps({"suggestion": {"float0": -5.0}}))
    x = node(-1.0, trainable=True)
    optimizer = OPRO([x], llm=llm)
    for _ in range(2):
        output = foobar(x)
        optimizer.zero_feedback()
        optimizer.backward(output, f"{number_feedback(output.data)} The output was {output.data}.")
        optimizer.step()

    first, second = server.completion_requests
    assert first.messages[0]["content"] == OPRO.output_format_prompt
    assert examples_in(first.last_user_message) == [
        {"variables": {"float0": -1.0}, "feedback": "The number needs to be larger. The output was 6.0."}]
    assert examples_in(second.last_user_message) == [
        {"variables": {"float0": -1.0}, "feedback": "The number needs to be larger. The output was 6.0."},
        {"variables": {"float0": -2.0}, "feedback": "The number needs to be larger. The output was 20.0."}]
    assert second.last_user_message.rstrip().endswith(OPRO.default_objective)
    assert x.data == -5.0 and foobar(x).data == 110.0


def test_opro_keeps_only_the_last_examples_when_asked(server, llm):
    server.add_replies(*[json.dumps({"suggestion": {"float0": float(-i)}}) for i in range(2, 5)])
    x = node(-1.0, trainable=True)
    optimizer = OPRO([x], llm=llm, max_examples=2)
    for _ in range(3):
        optimizer.zero_feedback()
        optimizer.backward(foobar(x), "The number needs to be larger.")
        optimizer.step()

    assert [e["variables"] for e in examples_in(server.completion_requests[2].last_user_message)] == [
        {"float0": -2.0}, {"float0": -3.0}]


def test_textgrad_sends_gradients_backward_then_rewrites_the_parameter(server, llm):
    server.add_replies("Make bar0 larger.", "Make add0 larger.", "bar0 feeds add0: larger.",
                       "Increase bar0 a lot.", "Make float0 much more negative.",
                       "Here it is: <IMPROVED_VARIABLE>-5.0</IMPROVED_VARIABLE>")
    x = node(-1.0, trainable=True)
    optimizer = TextGrad([x], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(foobar(x), "The number needs to be larger.")

    proposal = optimizer.step()

    requests = server.completion_requests
    systems = [r.messages[0]["content"] for r in requests]
    assert systems == [BACKWARD_SYSTEM_PROMPT] * 3 + [REDUCE_MEAN_SYSTEM_PROMPT, BACKWARD_SYSTEM_PROMPT,
                                                      optimizer.optimizer_system_prompt]
    users = [r.last_user_message for r in requests]
    assert "<OBJECTIVE_FUNCTION>Give feedback to the variable that addresses this feedback on the output: " \
           "The number needs to be larger. </OBJECTIVE_FUNCTION>" in users[0]
    assert "<VARIABLE> 2.0 </VARIABLE>" in users[0] and "<LM_OUTPUT> 6.0 </LM_OUTPUT>" in users[0]
    assert "<VARIABLE> 3.0 </VARIABLE>" in users[1]
    assert "Make add0 larger." in users[2]
    assert users[3] == "<FEEDBACK>Make bar0 larger.</FEEDBACK>\n<FEEDBACK>bar0 feeds add0: larger.</FEEDBACK>"
    assert "feedback on the output: Increase bar0 a lot. </OBJECTIVE_FUNCTION>" in users[4]
    assert "<VARIABLE> -1.0 </VARIABLE>" in users[4]
    assert "The variable (float) is the text within this span: <VARIABLE> -1.0 </VARIABLE>" in users[5]
    assert "<FEEDBACK>Make float0 much more negative.</FEEDBACK>" in users[5]
    assert "The variable is a number: send only the number." in users[5]
    assert not any("int0" in u or "<VARIABLE> 1 </VARIABLE>" in u for u in users)
    assert x.data == -5.0
    assert proposal.changes["float0"].reasoning == "Make float0 much more negative."
    assert proposal.raw == "[float0]\nHere it is: <IMPROVED_VARIABLE>-5.0</IMPROVED_VARIABLE>"
    assert proposal.usage.calls == 6


def test_textgrad_rewrites_code(server, llm):
    server.add_replies("It only sorts; alternate min and max.",
                       f"<IMPROVED_VARIABLE>\n```python\n{STRANGE_SORT_FIXED}\n```\n</IMPROVED_VARIABLE>")
    strange_sort_list = make_strange_sort_list()
    optimizer = TextGrad(strange_sort_list.parameters(), llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(strange_sort_list([1, 2, 3, 4]), "The output should be [1, 4, 2, 3].")

    optimizer.step()

    update = server.completion_requests[-1].last_user_message
    assert "The variable (code) is the text within this span" in update
    assert "send the complete function definition, with the same name and signature" in update
    assert "<CONSTRAINTS>The code should start with:\ndef strange_sort_list(lst):" in update
    assert strange_sort_list.parameter.data == STRANGE_SORT_FIXED
    assert strange_sort_list([1, 2, 3, 4]).data == [1, 4, 2, 3]


def test_textgrad_with_feedback_given_to_the_parameter_itself(server, llm):
    server.add_replies("<IMPROVED_VARIABLE>Be concise and polite.</IMPROVED_VARIABLE>")
    prompt = node("Be brief.", trainable=True, name="prompt")
    optimizer = TextGrad([prompt], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(prompt, "Too curt; add politeness.")

    proposal = optimizer.step()

    (request,) = server.completion_requests
    assert "<FEEDBACK>Too curt; add politeness.</FEEDBACK>" in request.last_user_message
    assert prompt.data == "Be concise and polite."
    assert proposal.reasoning_for("prompt0") == "Too curt; add politeness."


def test_textgrad_reply_without_tags_changes_nothing(server, llm):
    server.add_replies("Make it bigger.", "-5.0")
    x = node(-1.0, trainable=True)
    optimizer = TextGrad([x], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(x * 3, "The number needs to be larger.")

    with pytest.warns(UnusableReplyWarning, match="no usable new value: float0: the reply has no new value between "
                                                  "<IMPROVED_VARIABLE> and </IMPROVED_VARIABLE>"):
        proposal = optimizer.step()

    assert x.data == -1.0 and proposal.changes == {}


def test_textgrad_converts_like_the_others(server, llm):
    server.add_replies("Turn it off.", "<IMPROVED_VARIABLE>False</IMPROVED_VARIABLE>")
    flag = node(True, trainable=True, name="flag")
    optimizer = TextGrad([flag], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(flag.eq(False), "It should be off.")

    optimizer.step()

    assert flag.data is False


def answer_as(request: dict) -> str:
    """A model that answers each optimizer in its own format, always suggesting -5."""
    system = request["messages"][0]["content"]
    if "<IMPROVED_VARIABLE>" in system:
        return "<IMPROVED_VARIABLE>-5.0</IMPROVED_VARIABLE>"
    if system in (BACKWARD_SYSTEM_PROMPT, REDUCE_MEAN_SYSTEM_PROMPT):
        return "The input should be much more negative."
    return reply({"float0": -5.0})


@pytest.mark.parametrize("optimizer_class", [OptoPrime, OPRO, TextGrad])
def test_switching_optimizers_is_one_line(optimizer_class, server, llm):
    server.responder = answer_as
    x = node(-1.0, trainable=True)
    optimizer = optimizer_class([x], llm=llm)
    for _ in range(3):
        output = foobar(x)
        feedback = number_feedback(output.data)
        if feedback == "Success.":
            break
        optimizer.zero_feedback()
        optimizer.backward(output, feedback)
        optimizer.step()

    assert feedback == "Success." and x.data == -5.0
