"""propose / apply(only=...) / revert: proposing changes nothing, applying is all or nothing,
every apply can be undone."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from tests.optimizers.conftest import reply
from tests.optimizers.graphs import make_scale
from trace_workbench.optimizers import ApplyError, OptimizerError, OptoPrime, Proposal
from trace_workbench.trace import GRAPH, node

NEW_SCALE = 'def scale(x):\n    """Scale x."""\n    return x * 10'


@pytest.fixture
def setup(server, llm):
    """Three parameters (a number, a prompt, a function's code) with feedback, and a reply changing all."""
    scale = make_scale()
    x = node(1.0, trainable=True)
    prompt = node("Be brief.", trainable=True, name="prompt")
    output = scale(x) + prompt.len()
    optimizer = OptoPrime([x, prompt, scale.parameter], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(output, "Bigger, please.")
    server.add_replies(reply({"float0": 5.0, "prompt0": "Be thorough.\nUse examples.", "__code0": NEW_SCALE},
                             reasoning="Everything should grow."))
    return optimizer, x, prompt, scale


def values(*nodes):
    return [n.data for n in nodes]


def test_propose_changes_nothing_and_describes_each_change(setup):
    optimizer, x, prompt, scale = setup
    old_code = scale.parameter.data

    proposal = optimizer.propose()

    assert values(x, prompt) == [1.0, "Be brief."] and scale.parameter.data == old_code
    assert proposal.names == ["float0", "prompt0", "__code0"]
    assert proposal.reasoning == "Everything should grow."
    assert proposal.reasoning_for("prompt0") == "Everything should grow."
    code = proposal.changes["__code0"]
    assert (code.kind, code.old, code.new) == ("code", old_code, NEW_SCALE)
    assert code.diff == ('--- __code0 (old)\n+++ __code0 (new)\n@@ -1,3 +1,3 @@\n def scale(x):\n'
                         '     """Scale x."""\n-    return x * 2\n+    return x * 10\n')
    text = proposal.changes["prompt0"]
    assert (text.kind, text.old, text.new) == ("str", "Be brief.", "Be thorough.\nUse examples.")
    assert "-Be brief.\n+Be thorough.\n+Use examples.\n" in text.diff
    assert proposal.changes["float0"].diff.endswith("@@ -1 +1 @@\n-1.0\n+5.0\n")
    assert optimizer.parameter("__code0") is scale.parameter


def test_apply_all_then_revert(setup):
    optimizer, x, prompt, scale = setup
    old_code = scale.parameter.data
    proposal = optimizer.propose()

    applied = optimizer.apply(proposal)

    assert applied == {"float0": 5.0, "prompt0": "Be thorough.\nUse examples.", "__code0": NEW_SCALE}
    assert values(x, prompt, scale.parameter) == [5.0, "Be thorough.\nUse examples.", NEW_SCALE]
    assert scale(3).data == 30
    assert optimizer.revert() == {"float0": 1.0, "prompt0": "Be brief.", "__code0": old_code}
    assert values(x, prompt, scale.parameter) == [1.0, "Be brief.", old_code]
    assert scale(3).data == 6


def test_apply_only_some_then_revert_each_apply_in_turn(setup):
    optimizer, x, prompt, scale = setup
    old_code = scale.parameter.data
    proposal = optimizer.propose()

    assert optimizer.apply(proposal, only=["prompt0"]) == {"prompt0": "Be thorough.\nUse examples."}
    assert values(x, prompt, scale.parameter) == [1.0, "Be thorough.\nUse examples.", old_code]
    assert optimizer.apply(proposal, only="float0") == {"float0": 5.0}
    assert values(x, prompt) == [5.0, "Be thorough.\nUse examples."]

    assert optimizer.revert() == {"float0": 1.0}
    assert values(x, prompt) == [1.0, "Be thorough.\nUse examples."]
    assert optimizer.revert() == {"prompt0": "Be brief."}
    assert values(x, prompt) == [1.0, "Be brief."]
    with pytest.raises(OptimizerError, match="Nothing to revert"):
        optimizer.revert()


def test_one_bad_value_aborts_the_whole_apply(setup):
    optimizer, x, prompt, scale = setup
    old_code = scale.parameter.data
    edited = optimizer.propose().edit("__code0", "def scale(x):\n    return x *").edit("float0", "a lot")

    with pytest.raises(ApplyError) as raised:
        optimizer.apply(edited)

    assert set(raised.value.errors) == {"__code0", "float0"}
    assert "the suggested code does not parse: invalid syntax at line 2" in raised.value.errors["__code0"]
    assert "expected a number, got text 'a lot'" in raised.value.errors["float0"]
    assert str(raised.value).startswith("Nothing was applied, because 2 value(s) cannot be set.")
    assert values(x, prompt, scale.parameter) == [1.0, "Be brief.", old_code]
    with pytest.raises(OptimizerError, match="Nothing to revert"):
        optimizer.revert()


def test_an_edited_value_is_converted_and_applied(setup):
    optimizer, x, prompt, _ = setup
    edited = optimizer.propose().edit("float0", "7")

    assert edited.changes["float0"].diff.endswith("-1.0\n+7\n")
    optimizer.apply(edited, only=["float0"])

    assert x.data == 7.0 and type(x.data) is float


def test_apply_refuses_stale_or_unknown_names(setup):
    optimizer, x, prompt, _ = setup
    proposal = optimizer.propose()
    optimizer.apply(proposal, only=["float0"])

    with pytest.raises(ApplyError, match="float0: the parameter changed since the proposal was made"):
        optimizer.apply(proposal)
    with pytest.raises(ApplyError, match=r"x9: not in this proposal \(it proposes \['float0', 'prompt0', '__code0'\]"):
        optimizer.apply(proposal, only=["prompt0", "x9"])
    assert values(x, prompt) == [5.0, "Be brief."]


def test_apply_of_a_proposal_for_other_parameters_is_refused(setup, llm):
    optimizer, x, _, _ = setup
    proposal = optimizer.propose()
    other = OptoPrime([node(0.0, trainable=True, name="y")], llm=llm)

    with pytest.raises(ApplyError, match=r"float0: not a parameter of this optimizer \(its parameters are \['y0'\]\)"):
        other.apply(proposal, only=["float0"])
    assert x.data == 1.0


def test_listeners_see_apply_and_revert(setup):
    optimizer, x, _, _ = setup
    events = []

    def listener(event, changed, payload):
        if event == "data":
            events.append((changed.py_name, payload))

    GRAPH.add_listener(listener)
    try:
        optimizer.apply(optimizer.propose(), only=["float0"])
        optimizer.revert()
    finally:
        GRAPH.remove_listener(listener)

    assert events == [("float0", 5.0), ("float0", 1.0)]


def test_proposal_to_dict_is_json(setup):
    optimizer, *_ = setup
    proposal = optimizer.propose()

    data = json.loads(json.dumps(proposal.to_dict()))

    assert data["optimizer"] == "OptoPrime" and data["step"] == 1 and data["error"] is None
    assert data["changes"]["float0"] == {"name": "float0", "kind": "float", "old": 1.0, "new": 5.0,
                                         "diff": proposal.changes["float0"].diff, "reasoning": None}
    assert data["usage"]["calls"] == 1 and data["usage"]["total_tokens"] > 0
    assert data["raw"] == proposal.raw


def test_values_that_are_not_json_are_serialised_readably():
    proposal = Proposal(optimizer="OptoPrime", answer=({"b", "a"}, float("nan"), object))
    assert json.loads(json.dumps(proposal.to_dict()))["answer"] == [["a", "b"], "nan", "<class 'object'>"]


def test_update_converts_and_applies_all_or_nothing(llm):
    count = node(3, trainable=True, name="count")
    flag = node(True, trainable=True, name="flag")
    optimizer = OptoPrime([count, flag], llm=llm)

    with pytest.raises(ApplyError, match="flag0: expected a boolean"):
        optimizer.update({count: "5", flag: "perhaps"})
    assert (count.data, flag.data) == (3, True)

    optimizer.update({count: "5", flag: "false"})
    assert (count.data, flag.data) == (5, False)
    optimizer.revert()
    assert (count.data, flag.data) == (3, True)


def test_code_given_by_hand_must_parse_too(llm):
    scale = make_scale()
    optimizer = OptoPrime([scale.parameter], llm=llm)

    with pytest.raises(ApplyError, match="renames the function 'scale' to 'grow'"):
        optimizer.update({scale.parameter: "def grow(x):\n    return x"})
    optimizer.update({scale.parameter: "@bundle(trainable=True)\ndef scale(x):\n    return x + 1"})

    assert scale.parameter.data == "def scale(x):\n    return x + 1"
    assert scale(1).data == 2


def test_parameters_are_found_by_name():
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x, x])

    assert optimizer.parameters == [x]
    assert optimizer.parameters_by_name == {"float0": x}
    with pytest.raises(KeyError, match=r"OptoPrime has no parameter named 'x0'; its parameters are \['float0'\]"):
        optimizer.parameter("x0")


def test_parameters_with_the_same_name_are_refused():
    first = node(1.0, trainable=True)
    GRAPH.clear()
    second = node(2.0, trainable=True)

    with pytest.raises(ValueError, match="two different parameters are both named 'float0'"):
        OptoPrime([first, second])


def test_only_parameter_nodes_are_accepted():
    with pytest.raises(TypeError, match="must be ParameterNodes"):
        OptoPrime([node(1.0)])
    with pytest.raises(TypeError, match="needs a list of ParameterNodes"):
        OptoPrime(node(1.0, trainable=True))


def test_unknown_arguments_are_warned_about():
    with pytest.warns(UserWarning, match="OptoPrime ignores these arguments: stepsize"):
        OptoPrime([node(1.0, trainable=True)], stepsize=2)


def test_an_optimizer_copies_and_pickles_with_its_history(setup):
    optimizer, x, _, _ = setup
    optimizer.apply(optimizer.propose(), only=["float0"])

    for twin in (copy.deepcopy(optimizer), pickle.loads(pickle.dumps(optimizer))):
        (twin_x,) = [p for p in twin.parameters if p.py_name.startswith("float")]
        assert twin_x is not x and twin_x.data == 5.0
        twin.revert()
        assert twin_x.data == 1.0
    assert x.data == 5.0


def test_a_rejected_proposal_is_remembered_with_memory(server, llm):
    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm, memory_size=2)
    server.add_replies(reply({"float0": 100.0}), reply({"float0": 2.0}))
    optimizer.zero_feedback()
    optimizer.backward(x * 2, "Too small.")
    optimizer.reject(optimizer.propose(), reason="far too big a jump")
    optimizer.step()

    second = server.completion_requests[1].last_user_message
    assert '"float0": 100.0' in second
    assert "These values were proposed and rejected by a person: far too big a jump" in second



def test_revert_undoes_up_to_max_reverts_steps(setup, monkeypatch):
    optimizer, x, _, _ = setup
    monkeypatch.setattr(type(optimizer), "max_reverts", 3)
    for i in range(2, 7):
        optimizer.update({x: float(i)})
    assert [optimizer.revert()["float0"] for _ in range(3)] == [5.0, 4.0, 3.0]
    with pytest.raises(OptimizerError, match="Nothing to revert"):
        optimizer.revert()


def test_the_log_keeps_the_last_steps_and_no_graph(server, llm):
    """OptoPrime(log=True), Trace's default: the log is bounded and a step's graph dies with its output."""
    import gc
    import weakref

    x = node(1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm)
    assert optimizer.log == []
    outputs = []
    for i in range(OptoPrime.log_size + 5):
        big = node("d" * 50_000, name="document")
        output = (x + 1) * big.len()
        optimizer.zero_feedback()
        optimizer.backward(output, "Bigger.")
        server.add_replies(reply({"float0": float(i + 2)}))
        optimizer.step()
        outputs.append(weakref.ref(output))
        del big, output
    optimizer.zero_feedback()
    gc.collect()
    assert len(optimizer.log) == len(optimizer.summary_log) == OptoPrime.log_size
    assert "(float) float0=6.0" in optimizer.log[0]["user_prompt"] and json.dumps(optimizer.log)
    assert all(ref() is None for ref in outputs)  # no graph stays alive through the log
    summary = optimizer.summary_log[-1]["summary"]
    assert summary.nodes == {} and all(len(str(v)) <= 1100 for v, _ in summary.others.values())
