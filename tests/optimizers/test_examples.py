"""Trace's README and test_optimizer examples, ported by changing `opto.` to `trace_workbench.`,
against scripted replies."""

from __future__ import annotations

import json

from tests.optimizers.conftest import reply
from tests.optimizers.graphs import STRANGE_SORT_FIXED, foobar, make_strange_sort_list, number_feedback
from trace_workbench import trace
from trace_workbench.optimizers import OptoPrime
from trace_workbench.trace import bundle, node


def get_feedback(predict, target):
    if predict == target:
        return "test case passed!"
    else:
        return "test case failed!"


def test_readme_strange_sort_list_is_fixed_by_a_step(server, llm):
    server.add_replies(reply({"__code0": STRANGE_SORT_FIXED}, reasoning="The function only sorts."))
    strange_sort_list = make_strange_sort_list()
    test_ground_truth = [1, 4, 2, 3]
    test_input = [1, 2, 3, 4]
    epoch = 2

    optimizer = OptoPrime(strange_sort_list.parameters(), llm=llm)

    for _ in range(epoch):
        try:
            test_output = strange_sort_list(test_input)
            correctness = test_output.eq(test_ground_truth)
            feedback = get_feedback(test_output, test_ground_truth)
        except trace.ExecutionError as e:
            correctness = e.exception_node
            feedback = correctness.data

        if correctness:
            break

        optimizer.zero_feedback()
        optimizer.backward(correctness, feedback)
        optimizer.step()

    assert correctness and feedback == "test case passed!"
    assert len(server.completion_requests) == 1
    assert strange_sort_list([5, 5, 5, 5]).data == [5, 5, 5, 5]
    assert strange_sort_list([-5, 2, 9, 0]).data == [-5, 9, 0, 2]


def test_code_that_raises_is_fixed_from_the_error_as_feedback(server, llm):
    server.add_replies(reply({"__code0": STRANGE_SORT_FIXED}))
    strange_sort_list = make_strange_sort_list()
    broken = strange_sort_list.parameter.data.replace("lst = sorted(lst)", "lst = sorted(lst) + None")
    strange_sort_list.parameter._set(broken)
    optimizer = OptoPrime(strange_sort_list.parameters(), llm=llm)

    try:
        strange_sort_list([1, 2, 3, 4])
    except trace.ExecutionError as e:
        output, feedback = e.exception_node, e.exception_node.data
    optimizer.zero_feedback()
    optimizer.backward(output, feedback)
    optimizer.step()

    prompt = server.completion_requests[0].last_user_message
    assert "#Feedback\n(TypeError) can only concatenate list (not \"NoneType\") to list" in prompt
    assert strange_sort_list([1, 2, 3, 4]).data == [1, 4, 2, 3]


def test_numeric_parameter_driven_by_feedback(server, llm, capsys):
    server.add_replies(reply({"float0": -2.0}), reply({"float0": -5.0}))
    x = node(-1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm)
    feedback = ""
    for _ in range(5):
        output = foobar(x)
        feedback = number_feedback(output.data)
        if feedback == "Success.":
            break
        optimizer.zero_feedback()
        picture = optimizer.backward(output, feedback, visualize=True)
        optimizer.step(verbose=True)

    assert feedback == "Success." and x.data == -5.0 and foobar(x).data == 110.0
    assert picture is not None
    second = server.completion_requests[1].last_user_message
    assert "#Variables\n(float) float0=-2.0\n" in second and "#Outputs\n(float) multiply1=20.0\n" in second
    printed = capsys.readouterr().out
    assert "#Feedback\nThe number needs to be larger." in printed and "LLM response:" in printed
    json.dumps(optimizer.log)


def test_feedback_given_directly_to_a_parameter(server, llm):
    server.add_replies(reply({"int0": 1}))
    x = node(-1, trainable=True)
    optimizer = OptoPrime([x], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(x, "test")
    optimizer.step()

    prompt = server.completion_requests[0].last_user_message
    assert "#Code\n\n" in prompt and "#Variables\n(int) int0=-1\n" in prompt and "#Feedback\ntest\n" in prompt
    assert x.data == 1


def test_text_parameter_through_a_bundle(server, llm):
    @bundle()
    def convert_english_to_numbers(x):
        """This is a function that converts English to numbers. This function has limited ability."""
        words = {"negative ten": -10, "zero": 0, "ten": 10}
        return words.get(x.replace('"', ""), "FAIL")

    server.add_replies(reply({"str0": "ten"}))
    x = node("negative point one", trainable=True)
    optimizer = OptoPrime([x], llm=llm)
    output = convert_english_to_numbers(x)
    optimizer.zero_feedback()
    optimizer.backward(output, "The text cannot be converted to a number.")
    optimizer.step()

    assert "(str) str0=negative point one" in server.completion_requests[0].last_user_message
    assert convert_english_to_numbers(x).data == 10
