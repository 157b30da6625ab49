"""The prompts OptoPrime sends for known graphs, as the local server received them."""

from __future__ import annotations

import json

from tests.optimizers.conftest import reply
from tests.optimizers.graphs import STRANGE_SORT_FIXED, foobar, make_strange_sort_list, total
from trace_workbench.optimizers import OptoPrime
from trace_workbench.trace import bundle, node

SECTIONS = ["#Instruction", "#Code", "#Documentation", "#Variables", "#Constraints", "#Inputs", "#Others",
            "#Outputs", "#Feedback"]

FOOBAR_PROMPT = """
Now solve this problem:

================================
#Instruction
Change the values of the variables in #Variables to improve the outputs according to #Feedback.

#Code
bar0 = bar(x=float0)
add0 = add(x=bar0, y=int0)
multiply0 = multiply(x=bar0, y=add0)

#Documentation
[bar] This is a test function, which does negative scaling.
[add] This is an add operator of x and y: x + y.
[multiply] This is a multiply operator of x and y: x * y.

#Variables
(float) float0=-1.0

#Constraints


#Inputs
(int) int0=1

#Others
(float) bar0=2.0
(float) add0=3.0

#Outputs
(float) multiply0=6.0

#Feedback
The number needs to be larger.

================================

Your response:
"""


def sections(prompt: str) -> dict[str, str]:
    """The text under each #Section header of a problem instance."""
    body = prompt.split("================================\n")[1]
    found: dict[str, str] = {}
    current = None
    for line in body.split("\n"):
        if line in SECTIONS:
            current = line
            found[current] = ""
        elif current is not None:
            found[current] += line + "\n"
    return {k: v.strip("\n") for k, v in found.items()}


def test_foobar_prompt_is_exact(server, llm):
    server.add_replies(reply({"float0": -5.0}))
    x = node(-1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm)
    output = foobar(x)
    optimizer.zero_feedback()
    optimizer.backward(output, "The number needs to be larger.")
    optimizer.step()

    (request,) = server.completion_requests
    system, user = request.messages
    assert system == {"role": "system", "content": OptoPrime.representation_prompt + OptoPrime.output_format_prompt}
    assert user == {"role": "user", "content": FOOBAR_PROMPT}
    shape = request.body["response_format"]
    assert shape["type"] == "json_schema" and shape["json_schema"]["strict"] is True
    suggestion = shape["json_schema"]["schema"]["properties"]["suggestion"]
    assert suggestion["properties"] == {"float0": {"type": ["number", "null"]}}
    assert request.body["max_tokens"] == 4096
    assert request.body["model"] == "test-model"
    for section in SECTIONS:
        assert f"- {section}:" in system["content"]
    for key in ('"reasoning"', '"answer"', '"suggestion"'):
        assert key in system["content"]
    assert x.data == -5.0


def test_code_parameter_shown_as_code_with_its_constraint(server, llm):
    server.add_replies(reply({"__code0": STRANGE_SORT_FIXED}))
    strange_sort_list = make_strange_sort_list()
    code = strange_sort_list.parameter
    old_code = code.data
    optimizer = OptoPrime(strange_sort_list.parameters(), llm=llm)
    correctness = strange_sort_list([1, 2, 3, 4]).eq([1, 4, 2, 3])
    optimizer.zero_feedback()
    optimizer.backward(correctness, "test case failed!")
    optimizer.step()

    found = sections(server.completion_requests[0].last_user_message)
    assert found["#Code"] == "eval0 = eval(lst=lst0, __code=__code0)\neq0 = eq(x=eval0, y=list0)"
    assert found["#Variables"] == f"(code) __code0:{old_code}"
    assert found["#Constraints"] == f"(code) __code0: {code.constraint}"
    assert found["#Constraints"].startswith("(code) __code0: The code should start with:\ndef strange_sort_list(lst):")
    assert found["#Inputs"] == "(list) lst0=[1, 2, 3, 4]\n(list) list0=[1, 4, 2, 3]"
    assert found["#Others"] == "(list) eval0=[1, 2, 3, 4]"
    assert found["#Outputs"] == "(bool) eq0=False"
    assert found["#Documentation"].startswith("[eval] This operator eval(__code, *args, **kwargs) evaluates")
    assert "[eq] This is an equality operator" in found["#Documentation"]
    assert found["#Feedback"] == "test case failed!"


def test_long_values_are_cut_with_a_visible_mark_but_variables_are_whole(server, llm):
    server.add_replies(reply())
    document = node("word " * 1000, name="document")
    prompt = node("Summarize: " + "x" * 3000, trainable=True, name="prompt")
    output = prompt + document
    optimizer = OptoPrime([prompt], llm=llm, max_value_chars=300)
    optimizer.zero_feedback()
    optimizer.backward(output, "Too long.")
    optimizer.propose()

    found = sections(server.completion_requests[0].last_user_message)
    assert found["#Variables"] == f"(str) prompt0={prompt.data}"
    (input_line,) = found["#Inputs"].split("\n")
    assert input_line.startswith("(str) document0=word word")
    assert "…[4,700 characters omitted]…" in input_line
    assert len(input_line) < 400
    assert "characters omitted" in found["#Outputs"]


def test_one_parameter_fanned_out_1600_times_builds_a_small_prompt(llm):
    """The prompt stays small (the #Code lines and values are capped); the time it takes is measured by
    benchmarks/bench_optimizers.py."""
    x = node(1.0, trainable=True)
    output = total(*[x + i for i in range(1600)])
    optimizer = OptoPrime([x], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(output, "Too small.")

    summary = optimizer.summarize()
    system_prompt, user_prompt = optimizer.construct_prompt(summary)

    assert len(summary.graph) == 1601
    found = sections(user_prompt)
    code_lines = found["#Code"].split("\n")
    assert len(code_lines) == 201
    assert code_lines[100] == "…[1,401 more lines omitted]…"
    assert code_lines[0] == "add0 = add(x=float0, y=int0)"
    assert "characters omitted" in code_lines[-1] and code_lines[-1].startswith("total0 = total(args_0=add0")
    others = found["#Others"].split("\n")
    assert len(others) == 201 and others[100] == "…[1,400 more values omitted]…"
    assert others[0] == "(float) add0=1.0" and others[-1] == "(float) add1599=1600.0"
    assert found["#Variables"] == "(float) float0=1.0"
    assert len(system_prompt) + len(user_prompt) < 30_000


def test_memory_shows_earlier_variables_and_feedback(server, llm):
    server.add_replies(reply({"float0": 2.0}), reply({"float0": 3.0}))
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm, memory_size=1)
    for feedback in ("Too small, first.", "Too small, second."):
        output = x * 10
        optimizer.zero_feedback()
        optimizer.backward(output, feedback)
        optimizer.step()

    first, second = (r.last_user_message for r in server.completion_requests)
    assert "Earlier values" not in first
    memory = second.split("Earlier values of the variables and the feedback they received:\n\n")[1]
    example = json.loads(memory.split("\nYour response:")[0])
    assert example == {"variables": {"float0": 1.0}, "feedback": "Too small, first."}
    assert second.endswith("\nYour response:\n")
    assert x.data == 3.0


def test_prompt_symbols_rename_the_sections(server, llm):
    server.add_replies(reply())
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm, prompt_symbols={"variables": "#Parameters", "feedback": "#Critique"})
    optimizer.zero_feedback()
    optimizer.backward(x * 2, "Too small.")
    optimizer.propose()

    system, user = (m["content"] for m in server.completion_requests[0].messages)
    assert "#Variables" not in system and "#Feedback" not in system
    assert "- #Parameters: the variables you may change." in system
    assert "\n#Parameters\n(float) float0=1.0\n" in user
    assert "\n#Critique\nToo small.\n" in user
    assert "#Variables" not in user and "#Feedback" not in user


def test_mask_leaves_sections_empty(server, llm):
    server.add_replies(reply())
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(x * 2, "Too small.")
    optimizer.propose(mask=["#Others", "#Documentation"])

    found = sections(server.completion_requests[0].last_user_message)
    assert found["#Documentation"] == "" and found["#Others"] == ""
    assert found["#Code"] == "multiply0 = multiply(x=float0, y=int0)"


def test_include_example_shows_a_valid_example_response(server, llm):
    server.add_replies(reply())
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm, include_example=True)
    optimizer.zero_feedback()
    optimizer.backward(x * 2, "Too small.")
    optimizer.propose()

    user = server.completion_requests[0].last_user_message
    example = user.split("Response:\n")[1].split("\n\nNow solve this problem:")[0]
    assert json.loads(example)["suggestion"] == {"a": 14}
    assert user.index("#Instruction") < user.index("Now solve this problem:")


def test_minibatch_feedback_of_several_outputs_is_combined_in_one_step(server, llm):
    server.add_replies(reply({"float0": 4.0}))
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm)
    outputs = [x * 2, x + 5]
    optimizer.zero_feedback()
    optimizer.backward(outputs[0], "First output: too small.")
    optimizer.backward(outputs[1], "Second output: fine.")
    optimizer.step()

    (request,) = server.completion_requests
    found = sections(request.last_user_message)
    assert found["#Feedback"] == "First output: too small.\nSecond output: fine."
    assert found["#Outputs"] == "(float) multiply0=2.0\n(float) add0=6.0"
    assert found["#Code"] == "multiply0 = multiply(x=float0, y=int0)\nadd0 = add(x=float0, y=int1)"
    assert x.data == 4.0


def test_server_refusing_response_format_is_asked_again_without_it(server, llm):
    server.refuse_response_format("json_schema", "json_object")
    server.add_replies(reply({"float0": 2.0}))
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(x * 2, "Too small.")
    optimizer.step()

    *refused, last = server.completion_requests
    assert [r.body["response_format"]["type"] for r in refused] == ["json_schema", "json_schema", "json_object"]
    assert "response_format" not in last.body
    assert all(r.messages == last.messages for r in refused)
    assert x.data == 2.0


def test_structured_replies_can_be_turned_off(server, llm, monkeypatch):
    server.add_replies(reply({"float0": 2.0}), reply({"float0": 3.0}))
    x = node(1.0, trainable=True)
    by_argument = OptoPrime([x], llm=llm, structured=False)
    monkeypatch.setenv("TRACE_WORKBENCH_STRUCTURED", "off")
    by_environment = OptoPrime([x], llm=llm)
    for optimizer in (by_argument, by_environment):
        optimizer.zero_feedback()
        optimizer.backward(x * 2, "Too small.")
        optimizer.step()

    assert ["response_format" in r.body for r in server.completion_requests] == [False, False]
    assert x.data == 3.0


def test_log_keeps_prompts_and_reply_as_json(server, llm):
    answer = reply({"float0": 2.0})
    server.add_replies(answer)
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(x * 2, "Too small.")
    optimizer.step()

    (entry,) = optimizer.log
    assert json.loads(json.dumps(entry)) == {"system_prompt": server.completion_requests[0].messages[0]["content"],
                                             "user_prompt": server.completion_requests[0].last_user_message,
                                             "response": answer}
    assert "#Feedback\nToo small." in str(optimizer.summary_log[0]["problem_instance"])


@bundle()
def size(items):
    """The number of items."""
    return len(items)


def test_a_parameter_that_holds_itself_is_shown_and_replaced(server, llm):
    """A self-referencing list in a parameter (and in the memory of earlier steps) is shown as repr shows it."""
    looped: list = [1]
    looped.append(looped)
    items = node(looped, trainable=True, name="items")
    optimizer = OptoPrime([items], llm=llm, memory_size=2)
    for suggestion in ([1, 2], [3]):
        optimizer.zero_feedback()
        optimizer.backward(size(items), "Make it longer.")
        server.add_replies(reply({"items0": suggestion}))
        proposal = optimizer.step()
        assert proposal.error is None and items.data == suggestion
    assert "(list) items0=[1, [...]]" in server.completion_requests[0].last_user_message
    remembered = '"items0": [\n            1,\n            "[...]"\n        ]'
    assert remembered in server.completion_requests[1].last_user_message
