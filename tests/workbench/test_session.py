"""The Session from a script (no Jupyter): feedback, propose, accept, reject, undo, restore, optimize, cancel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from trace_workbench.optimizers import OPRO, ApplyError
from trace_workbench.testing import ChatServer
from trace_workbench.trace import GRAPH
from trace_workbench.workbench import Cancelled, Session, SessionError, default_success

from .conftest import reply


def make(session: Session, label: str = "1"):
    """A tiny traced program: greeting = prompt + " " + name, repeated n times."""
    with GRAPH.scope(label) as scope:
        prompt = session.parameter("prompt", "Hello", source='"Hello"', cell=label)
        n = session.parameter("n", 1, source="1", cell=label)
        output = (prompt + " world") * n
    session.add_output(label, output, scope)
    return output


def test_the_session_package_does_not_import_ipython() -> None:
    code = "import sys, trace_workbench.workbench; assert 'IPython' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_feedback_propose_accept_undo_with_the_history(server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Hi", "n0": 2}, reasoning="Shorter greeting, said twice."))
    session = Session()
    events: list[str] = []
    session.subscribe(lambda event, payload: events.append(event))
    make(session)
    with pytest.raises(SessionError, match="feedback first"):
        session.propose()
    session.feedback("1", "Use a shorter greeting and say it twice", score=0.2)
    proposal = session.propose()
    assert session.parameters["prompt"].data == "Hello"  # proposing changes nothing
    assert set(proposal.changes) == {"prompt0", "n0"} and "Shorter" in proposal.reasoning
    assert "Use a shorter greeting" in server.completion_requests[0].last_user_message
    assert session.accept(["prompt"]) == {"prompt": "Hi"}
    assert session.parameters["n"].data == 1
    step = session.history.steps()[-1]
    assert step.decision == "accepted" and step.names == ["prompt"] and step.score == 0.2
    assert step.changes[0].before == "Hello" and step.changes[0].after == "Hi"
    assert "Use a shorter greeting" in step.feedback and step.proposal["reasoning"] == "Shorter greeting, said twice."
    assert step.tokens > 0
    assert session.undo() == {"prompt": "Hello"}
    assert session.parameters["prompt"].data == "Hello"
    assert session.history.steps()[-1].decision == "undone" and session.history.steps()[-1].ref == step.id
    with pytest.raises(SessionError, match="nothing to undo"):
        session.undo()
    assert events[:4] == ["parameter", "parameter", "cell", "feedback"] and "accepted" in events and "undone" in events


def test_reject_is_remembered_and_changes_nothing(server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Yo"}))
    session = Session(optimizer="opro")
    make(session)
    session.feedback(None, "more formal")
    session.propose()
    assert isinstance(session.optimizer, OPRO)
    session.reject("too casual")
    assert session.parameters["prompt"].data == "Hello"
    step = session.history.steps()[-1]
    assert (step.decision, step.names, step.note) == ("rejected", ["prompt"], "too casual")
    with pytest.raises(SessionError, match="nothing to accept"):
        session.accept()


def test_accepting_a_value_of_the_wrong_type_changes_nothing(server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Hi", "n0": 3}))
    session = Session()
    make(session)
    session.feedback(None, "x")
    session.propose()
    with pytest.raises(ApplyError):
        session.accept(edits={"n": "not a number"})
    assert (session.parameters["prompt"].data, session.parameters["n"].data) == ("Hello", 1)
    assert session.history.steps() == []


def test_a_new_session_restores_a_version_from_the_file(server: ChatServer, tmp_path) -> None:
    server.add_replies(reply({"prompt0": "Hi"}))
    first = Session(tmp_path / "h.sqlite", notebook="/nb/a.ipynb")
    make(first)
    first.feedback(None, "shorter")
    first.propose()
    first.accept()
    number = first.history.steps()[-1].id
    first.close()
    GRAPH.clear()
    second = Session(tmp_path / "h.sqlite", notebook="/nb/a.ipynb")
    assert [s.decision for s in second.steps()] == ["accepted"]
    assert second.restore(number) == {"prompt": "Hi"}  # before any cell defined it: applied when one does
    make(second)
    assert second.parameters["prompt"].data == "Hi"
    restored = second.history.steps()[-1]
    assert restored.decision == "restored" and restored.ref == number and "when a cell defines" in restored.note


def test_restore_before_puts_back_the_values_from_before_the_first_step(server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Hi", "n0": 2}), reply({"prompt0": "Hey"}))
    session = Session()
    make(session)
    steps = []
    for text in ("shorter, twice", "shorter still"):
        session.feedback(None, text)
        session.propose()
        session.accept()
        steps.append(session.history.steps()[-1].id)
    assert (session.parameters["prompt"].data, session.parameters["n"].data) == ("Hey", 2)
    events: list[tuple[str, dict]] = []
    session.subscribe(lambda event, payload: events.append((event, payload)))
    assert session.restore(steps[0], before=True) == {"prompt": "Hello", "n": 1}
    assert (session.parameters["prompt"].data, session.parameters["n"].data) == ("Hello", 1)
    restored = session.history.steps()[-1]
    assert restored.decision == "restored" and restored.ref == steps[0]
    assert f"before step #{steps[0]}" in restored.note
    assert {c.name: (c.before, c.after) for c in restored.changes} == {"prompt": ("Hey", "Hello"), "n": (2, 1)}
    assert events[-1][0] == "restored" and events[-1][1]["before"] is True
    assert session.restore(steps[1], ["prompt"]) == {"prompt": "Hey"}  # the default: the values after
    assert session.restore(steps[1], ["prompt"], before=True) == {"prompt": "Hi"}
    assert session.undo() == {"prompt": "Hey"}
    assert session.undo() == {"prompt": "Hello"}
    assert session.undo() == {"prompt": "Hey", "n": 2}  # the restore before the first step, undone
    assert (session.parameters["prompt"].data, session.parameters["n"].data) == ("Hey", 2)


def test_an_edited_literal_wins_and_the_history_says_so(server: ChatServer) -> None:
    session = Session()
    node = session.parameter("prompt", "Hello", source='"Hello"')
    node._set("Accepted")
    assert session.parameter("prompt", "Hello", source='"Hello"').data == "Accepted"
    assert session.parameter("prompt", "Bonjour", source='"Bonjour"') is node
    assert node.data == "Bonjour"
    step = session.history.steps()[-1]
    assert step.decision == "edited" and step.changes[0].before == "Accepted" and step.changes[0].after == "Bonjour"


def test_optimize_applies_each_step_and_stops_on_success(server: ChatServer) -> None:
    server.add_replies(reply({"n0": 2}), reply({"n0": 3}))
    session = Session()
    make(session)
    seen: list[int] = []

    def feedback(value: str) -> str:
        count = value.count("world")
        return "correct" if count == 3 else f"say it {3 - count} more time(s)"

    rounds = session.optimize(feedback, steps=5, rerun=lambda: make(session), progress=lambda r: seen.append(r.index))
    assert [r.success for r in rounds] == [False, False, True] and seen == [0, 1, 2]
    assert session.parameters["n"].data == 3
    assert [s.decision for s in session.history.steps()] == ["optimized", "optimized"]
    assert [s.changes[0].after for s in session.history.steps()] == [2, 3]


def test_the_default_stop_rule() -> None:
    assert default_success("That is correct!", None)
    assert default_success("Success", None)
    assert not default_success("incorrect", None)
    assert not default_success("not correct yet", None)
    assert default_success("", 0.9, target=0.8)
    assert not default_success("", 0.5, target=0.8)


def test_an_interrupt_while_proposing_cancels_cleanly(server: ChatServer) -> None:
    server.slow(10.0)
    session = Session()
    make(session)
    session.feedback(None, "shorter")
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(Cancelled):
        session.propose()
    timer.join()
    assert session.pending is None and session.parameters["prompt"].data == "Hello"
    step = session.history.steps()[-1]
    assert step.decision == "cancelled" and "nothing changed" in step.note


def test_configure_never_takes_a_key(tmp_path) -> None:
    session = Session()
    with pytest.raises(SessionError, match="never a setting"):
        session.configure(api_key="sk-secret")
    settings = session.configure(model="m1", base_url="http://127.0.0.1:1/v1", optimizer="textgrad",
                                 history=tmp_path / "other.sqlite")
    assert settings["model"] == "m1" and settings["optimizer"] == "textgrad"
    assert settings["history"] == str(tmp_path / "other.sqlite")
    assert "key" not in " ".join(settings)


def test_an_interrupt_inside_the_optimize_loop_keeps_only_whole_steps(server: ChatServer) -> None:
    server.add_replies(reply({"n0": 2}), reply({"n0": 3}))
    session = Session()
    make(session)
    calls = []

    def feedback(value: str) -> str:
        calls.append(value)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return "say it more times"

    with pytest.raises(Cancelled, match="after 1 round"):
        session.optimize(feedback, steps=5, rerun=lambda: make(session))
    assert session.parameters["n"].data == 2 and session.pending is None
    assert [s.decision for s in session.history.steps()] == ["optimized", "cancelled"]


def test_candidates_are_proposed_together_and_none_is_applied_until_one_is_accepted(server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Hi"}, reasoning="Short."), reply({"n0": 2}, reasoning="Twice."),
                       reply({"prompt0": "Hey", "n0": 3}, reasoning="Both."))
    session = Session()
    make(session)
    session.feedback("1", "better greeting", score=0.1)
    proposal = session.propose(candidates=3)
    assert len(server.completion_requests) == 1 and server.completion_requests[0].body["n"] == 3
    assert [c.index for c in session.candidates] == [0, 1, 2] and proposal is session.candidates[-1]
    assert [c.reasoning for c in session.candidates] == ["Short.", "Twice.", "Both."]
    assert session.candidates[0].changes["prompt0"].diff.count("Hello") == 1  # a diff against the current value
    assert (session.parameters["prompt"].data, session.parameters["n"].data) == ("Hello", 1)
    with pytest.raises(SessionError, match="no candidate 3: choose one of 0 to 2"):
        session.accept(candidate=3)
    assert session.accept(candidate=1) == {"n": 2}
    assert (session.parameters["prompt"].data, session.parameters["n"].data) == ("Hello", 2)
    step = session.history.steps()[-1]
    assert step.decision == "accepted" and step.note == "candidate 1 of 3" and step.score == 0.1
    assert step.proposal["index"] == 1 and step.proposal["reasoning"] == "Twice."
    assert [c["reasoning"] for c in step.proposal["candidates"]] == ["Short.", "Twice.", "Both."]
    assert session.candidates == [] and session.pending is None


def test_part_of_a_candidate_with_an_edit_and_the_evaluators_scores(server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Hi", "n0": 2}), reply({"prompt0": "Hey", "n0": 3}))
    session = Session()
    output = make(session)
    session.feedback(None, "shorter greeting")
    tried: list[str] = []

    def evaluator() -> float:
        tried.append(session.parameters["prompt"].data)
        return -len(session.parameters["prompt"].data) - session.parameters["n"].data

    proposal = session.propose(candidates=2, evaluator=evaluator)
    assert tried == ["Hi", "Hey"] and [c.score for c in session.candidates] == [-4.0, -6.0]
    assert proposal.index == 0 and session.parameters["prompt"].data == "Hello"  # tried, then put back
    assert session.accept(["prompt"], edits={"prompt": "Yo"}, candidate=1) == {"prompt": "Yo"}
    assert (session.parameters["prompt"].data, session.parameters["n"].data) == ("Yo", 1)
    assert output.data == "Hello world"  # the output is only recomputed when its cell runs again
    step = session.history.steps()[-1]
    assert step.names == ["prompt"] and step.proposal["index"] == 1
    assert [c["score"] for c in step.proposal["candidates"]] == [-4.0, -6.0]


def test_candidate_requests_that_cannot_be_met(server: ChatServer) -> None:
    server.add_replies(reply({"n0": 2}))
    session = Session()
    make(session)
    session.feedback(None, "twice")
    with pytest.raises(SessionError, match="at least 1"):
        session.propose(candidates=0)
    with pytest.raises(SessionError, match="ask for two or more"):
        session.propose(evaluator=lambda: 1.0)
    session.propose(candidates=1)  # one candidate is a plain proposal
    assert session.candidates == [] and "n" not in server.completion_requests[0].body
    with pytest.raises(SessionError, match="no candidates: ask for several"):
        session.accept(candidate=0)
    assert session.accept() == {"n": 2}
    assert session.history.steps()[-1].note is None


def test_rejecting_candidates_refuses_them_all_and_the_optimizers_remember(server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Hi"}), reply({"n0": 2}))
    session = Session(memory_size=5)
    make(session)
    session.feedback(None, "better")
    session.propose(candidates=2)
    step = session.history.step(session.reject("neither"))
    assert step.decision == "rejected" and step.names == ["prompt", "n"] and step.note == "neither"
    assert len(step.proposal["candidates"]) == 2
    for optimizer in (session.optimizer, session.candidate_optimizer):
        refused = [variables for variables, said in optimizer.memory if "rejected by a person: neither" in said]
        assert [{name: value for name, (value, _) in v.items()} for v in refused] == [{"prompt0": "Hi"}, {"n0": 2}]
    assert (session.parameters["prompt"].data, session.parameters["n"].data) == ("Hello", 1)


def test_the_settings_shown_hide_credentials_in_the_base_url(server) -> None:
    """%trace_config prints these settings, so they land in the saved notebook: no key in them."""
    session = Session()
    shown = session.configure(base_url="http://user:sk-URL-SECRET-77@127.0.0.1:9/v1?api-key=sk-URL-SECRET-77")
    assert shown["base_url"] == "http://***@127.0.0.1:9/v1?api-key=***"
    assert "sk-URL-SECRET-77" not in repr(session.settings) and "sk-URL-SECRET-77" not in repr(session.llm)


def test_invalid_unicode_in_a_reply_or_feedback_never_reaches_a_parameter_or_the_history(server) -> None:
    """A lone surrogate ("\\ud800") cannot be encoded: applied, it made every later step raise UnicodeEncodeError."""
    session = Session()
    make(session)
    server.add_replies('{"reasoning": "r", "suggestion": {"prompt0": "ok \\ud800"}}', reply({"prompt0": "Hi"}))
    session.feedback("1", "shorter")
    refused = session.propose()
    assert not refused.changes and "invalid Unicode (a lone surrogate" in refused.rejected["prompt0"]
    session.reject()
    with pytest.warns(UnicodeWarning, match="1 invalid Unicode character"):
        session.feedback("1", "bad \ud800 feedback")
    assert "bad \ufffd feedback" in session.given_feedback[-1].text
    session.propose()
    assert session.accept() == {"prompt": "Hi"}
    assert "bad \ufffd feedback" in server.completion_requests[-1].last_user_message
    steps = Session(history=session.history.path).steps()
    assert [s.decision for s in steps] == ["rejected", "accepted"] and "\ufffd" in steps[-1].feedback


def test_a_parameter_set_to_invalid_unicode_by_hand_is_refused_by_name_before_sending(server) -> None:
    from trace_workbench.llm import LLMRequestError

    session = Session()
    session.parameter("prompt", "Hello \udcff", source='"Hello"', cell="1")
    output = session.parameters["prompt"] + " world"
    session.add_output("1", output)
    session.feedback("1", "shorter")
    with pytest.raises(LLMRequestError, match=r"holds invalid Unicode \(a lone surrogate '\\udcff'"):
        session.propose()
    assert server.completion_requests == []


def test_a_damaged_history_accepts_nothing_and_a_bad_one_is_refused_when_chosen(server, tmp_path) -> None:
    from trace_workbench.workbench import HistoryError

    path = tmp_path / "h.sqlite"
    session = Session(history=path)
    make(session)
    for i in range(20):
        server.add_replies(reply({"prompt0": f"Hi {i} " + "x" * 3000}))
        session.feedback("1", "shorter")
        session.propose()
        session.accept()
    session.history._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as f:  # the disk loses half the file while the session has it open
        f.truncate(os.path.getsize(path) // 2)
    server.add_replies(reply({"prompt0": "Hey"}))
    session.feedback("1", "shorter")
    session.propose()
    with pytest.raises(HistoryError, match="h.sqlite could not be opened: it is damaged"):
        session.accept()
    assert session.parameters["prompt"].data == "Hi 19 " + "x" * 3000  # not accepted: the step was not saved

    (tmp_path / "a folder").mkdir()
    with pytest.raises(HistoryError, match="is a directory"):
        session.configure(history=tmp_path / "a folder")
    assert session.settings["history"] == str(path)
