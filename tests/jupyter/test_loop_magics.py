"""The line magics against the local model server: feedback, propose, accept, reject, undo, history, restore,
config and the automatic loop, through a real IPython shell and the real openai client."""

from __future__ import annotations

import os
import re
import signal
import threading

from trace_workbench.llm.local import LOCAL_NOTE
from trace_workbench.testing import ChatServer
from trace_workbench.testing.front_end import ScriptedFrontEnd
from trace_workbench.trace import GRAPH
from trace_workbench.workbench import Session, get_session

from .conftest import reply, run

CELL = '''%%trace --train prompt,n
prompt = "Write a poem"
n = 2
request = f"{prompt} in {n} lines"
request
'''


def output_of(capsys) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_feedback_propose_accept_rerun_undo(shell, server: ChatServer, capsys) -> None:
    server.add_replies(reply({"prompt0": "Write a haiku", "n0": 3}, reasoning="A haiku has three lines."))
    assert run(shell, CELL).result == "Write a poem in 2 lines"
    assert run(shell, "%trace_feedback --score 0.4 I wanted a haiku").success
    assert "Feedback given" in output_of(capsys)
    assert run(shell, "%trace_propose").success
    shown = output_of(capsys)
    assert "--- prompt (str)" in shown and "-Write a poem" in shown and "+Write a haiku" in shown
    assert "--- n (int)" in shown and "A haiku has three lines." in shown
    assert "--- prompt (old)" in shown and not re.search(r"\b(prompt0|n0)\b", shown)  # the person's names only
    assert "I wanted a haiku" in server.completion_requests[0].last_user_message
    assert shell.user_ns["prompt"] == "Write a poem"  # nothing changes before accepting
    assert run(shell, "%trace_accept").success
    assert "Accepted" in output_of(capsys)
    assert shell.user_ns["prompt"] == "Write a haiku" and shell.user_ns["n"] == 3
    assert run(shell, CELL).result == "Write a haiku in 3 lines"  # the accepted values survive a re-run
    step = get_session().history.steps()[-1]
    assert step.decision == "accepted" and set(step.names) == {"prompt", "n"} and step.score == 0.4
    assert {c.name: (c.before, c.after) for c in step.changes} == {"prompt": ("Write a poem", "Write a haiku"),
                                                                   "n": (2, 3)}
    assert step.proposal["reasoning"] == "A haiku has three lines." and step.tokens > 0
    assert run(shell, "%trace_undo").success
    assert shell.user_ns["prompt"] == "Write a poem" and shell.user_ns["n"] == 2
    assert run(shell, CELL).result == "Write a poem in 2 lines"
    assert run(shell, "%trace_history --diff").success
    shown = output_of(capsys)
    assert "accepted" in shown and "undone" in shown and "+Write a haiku" in shown
    assert "    Reasoning:\n      A haiku has three lines." in shown and "    --- n (int)" in shown  # each step's body


def test_accept_only_named_parameters_and_reject(shell, server: ChatServer, capsys) -> None:
    server.add_replies(reply({"prompt0": "Write a limerick", "n0": 5}), reply({"prompt0": "Write prose"}))
    run(shell, CELL)
    run(shell, "%trace_feedback make it funny")
    run(shell, "%trace_propose")
    assert run(shell, "%trace_accept n").success
    assert shell.user_ns["n"] == 5 and shell.user_ns["prompt"] == "Write a poem"
    run(shell, CELL)
    run(shell, "%trace_feedback still not funny")
    run(shell, "%trace_propose")
    assert run(shell, "%trace_reject prose is not funny").success
    assert shell.user_ns["prompt"] == "Write a poem"
    steps = get_session().history.steps()
    assert [(s.decision, s.names) for s in steps] == [("accepted", ["n"]), ("rejected", ["prompt"])]
    assert steps[-1].note == "prose is not funny"


def test_magics_without_a_pending_step_give_usage_errors(shell, capsys) -> None:
    for line in ("%trace_accept", "%trace_reject", "%trace_undo", "%trace_propose", "%trace_feedback x",
                 "%trace_restore 99", "%trace_optimize --feedback nothing"):
        result = run(shell, line)
        assert not result.success, line
        assert "UsageError" in output_of(capsys), line


def test_feedback_on_an_error_cell_reaches_the_code(shell, server: ChatServer, capsys) -> None:
    server.add_replies(reply({"__code0": "def safe_ratio(a, b):\n    return a / b if b else 0.0"}))
    cell = "%%trace --train-code safe_ratio\ndef safe_ratio(a, b):\n    return a / b\nsafe_ratio(1, 0)"
    assert isinstance(run(shell, cell).error_in_exec, ZeroDivisionError)
    assert run(shell, "%trace_feedback the function must not fail when b is 0").success
    assert run(shell, "%trace_propose").success
    assert "ZeroDivisionError" in server.completion_requests[0].last_user_message
    capsys.readouterr()
    assert run(shell, "%trace_accept safe_ratio").success
    assert "Accepted: safe_ratio = def safe_ratio(a, b): … (2 lines)" in output_of(capsys)  # not a repr with \\n
    assert shell.user_ns["safe_ratio"](1, 0) == 0.0  # the accepted code redefines the function
    assert run(shell, cell).result == 0.0


def test_cells_sharing_a_parameter_both_send_feedback(shell, server: ChatServer) -> None:
    server.add_replies(reply({"tone0": "warm"}))
    run(shell, "%%trace --name setup --train tone\ntone = 'cold'\ngreeting = 'Hello, ' + tone + ' world'\ngreeting")
    run(shell, "%%trace --name second\nfarewell = 'Bye, ' + tone + ' world'\nfarewell")
    run(shell, "%trace_feedback setup too distant")
    run(shell, "%trace_feedback second also too distant")
    run(shell, "%trace_propose")
    prompt = server.completion_requests[0].last_user_message
    assert "too distant" in prompt and "also too distant" in prompt
    run(shell, "%trace_accept")
    assert run(shell, "%%trace --name second\nfarewell = 'Bye, ' + tone + ' world'\nfarewell").result \
        == "Bye, warm world"


def test_restore_after_a_fresh_shell_reopens_the_history(make_shell, server: ChatServer, capsys) -> None:
    server.add_replies(reply({"prompt0": "Write a sonnet"}))
    first = make_shell()
    run(first, CELL)
    run(first, "%trace_feedback longer form")
    run(first, "%trace_propose")
    run(first, "%trace_accept")
    number = get_session().history.steps()[-1].id
    run(first, "%unload_ext trace_workbench")
    GRAPH.clear()
    second = make_shell()  # as after a kernel restart: a new session on the same history file
    assert second.user_ns.get("prompt") is None
    capsys.readouterr()
    assert run(second, "%trace_history").success
    assert f"#{number}" in output_of(capsys)
    assert run(second, CELL).result == "Write a poem in 2 lines"
    assert run(second, f"%trace_restore {number}").success
    assert second.user_ns["prompt"] == "Write a sonnet"
    assert run(second, CELL).result == "Write a sonnet in 2 lines"
    assert run(second, "%trace_undo").success
    assert second.user_ns["prompt"] == "Write a poem"


def test_config_never_takes_or_shows_a_key(shell, server: ChatServer, capsys, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    assert not run(shell, "%trace_config api_key=sk-typed").success
    assert "never typed" in output_of(capsys)
    assert run(shell, "%trace_config model=other-model optimizer=opro timeout=3").success
    shown = output_of(capsys)
    assert "model = other-model" in shown and "optimizer = opro" in shown and "sk-very-secret" not in shown
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "sk-from-getpass")
    assert run(shell, "%trace_config --ask-key").success
    assert os.environ["OPENAI_API_KEY"] == "sk-from-getpass" and "sk-from-getpass" not in output_of(capsys)


def test_config_shows_a_base_url_without_its_credentials(shell, server: ChatServer, capsys) -> None:
    """%trace_config's output is saved in the notebook: a key in the URL's user-info or query never shows."""
    url = f"http://user:sk-url-secret-42@127.0.0.1:{server.port}/v1?api-key=sk-url-secret-42"
    assert run(shell, f"%trace_config base_url={url}").success
    shown = output_of(capsys)
    assert f"base_url = http://***@127.0.0.1:{server.port}/v1?api-key=***" in shown
    assert "sk-url-secret-42" not in shown


def test_optimize_loop_applies_reruns_and_stops_on_success(shell, server: ChatServer, capsys) -> None:
    server.add_replies(reply({"n0": 3}), reply({"n0": 4}), reply({"n0": 9}))
    run(shell, CELL)
    run(shell, "def judge(text):\n    return 'correct' if '4 lines' in text else ('wrong count', 0.0)")
    assert run(shell, "%trace_optimize --steps 5 --feedback judge").success
    shown = output_of(capsys)
    assert "[0/5]" in shown and "changed n" in shown and "success" in shown
    assert shell.user_ns["n"] == 4 and len(server.completion_requests) == 2
    steps = get_session().history.steps()
    assert [s.decision for s in steps] == ["optimized", "optimized"]
    assert [(c.before, c.after) for s in steps for c in s.changes] == [(2, 3), (3, 4)]
    assert all(s.changes[0].diff for s in steps)


def test_an_interrupt_during_propose_cancels_cleanly(shell, server: ChatServer, capsys) -> None:
    server.slow(10.0)
    run(shell, CELL)
    run(shell, "%trace_feedback shorter")
    finished = threading.Event()

    def interrupt_once_asked() -> None:
        """SIGINT while the propose waits on the slow server (not on a timer, which a busy machine outruns)."""
        while not server.completion_requests:
            if finished.wait(0.01):  # the propose ended without asking: no interrupt to send
                return
        os.kill(os.getpid(), signal.SIGINT)

    interrupter = threading.Thread(target=interrupt_once_asked)
    interrupter.start()
    result = run(shell, "%trace_propose")
    finished.set()
    interrupter.join()
    assert "Cancelled" in output_of(capsys)
    assert get_session().pending is None and shell.user_ns["prompt"] == "Write a poem"
    assert get_session().history.steps()[-1].decision == "cancelled"
    assert result is not None


def test_propose_candidates_and_accept_one(shell, server: ChatServer, capsys) -> None:
    server.add_replies(reply({"prompt0": "Write a haiku"}, reasoning="Haiku."),
                       reply({"prompt0": "Write a limerick", "n0": 5}, reasoning="Limerick."))
    run(shell, CELL)
    run(shell, "%trace_feedback make it funny")
    assert run(shell, "%trace_propose --candidates 2").success
    shown = output_of(capsys)
    assert server.completion_requests[0].body["n"] == 2
    assert "2 candidates" in shown and "=== Candidate 0\n" in shown
    assert "=== Candidate 1 (the default choice)" in shown
    first, second = shown.split("=== Candidate 0")[1].split("=== Candidate 1")
    assert "Haiku." in first and "+Write a haiku" in first and "--- n" not in first
    assert "Limerick." in second and "+Write a limerick" in second and "+5" in second
    assert "%trace_accept --candidate K" in shown
    assert shell.user_ns["prompt"] == "Write a poem"  # nothing changes before accepting
    for line, message in (("%trace_accept --candidate 2", "no candidate 2: choose one of 0 to 1"),
                          ("%trace_accept --candidate -1", "no candidate -1")):
        assert not run(shell, line).success
        assert message in output_of(capsys)
    assert run(shell, "%trace_accept --candidate 1 n").success
    assert "Accepted (candidate 1): n = 5" in output_of(capsys)
    assert shell.user_ns["n"] == 5 and shell.user_ns["prompt"] == "Write a poem"
    step = get_session().history.steps()[-1]
    assert step.names == ["n"] and step.note == "candidate 1 of 2" and len(step.proposal["candidates"]) == 2


def test_candidate_options_that_cannot_be_met(shell, server: ChatServer, capsys) -> None:
    server.add_replies(reply({"n0": 3}))
    run(shell, CELL)
    run(shell, "%trace_feedback three lines")
    assert not run(shell, "%trace_propose --candidates 0").success
    assert "candidates must be at least 1" in output_of(capsys)
    assert run(shell, "%trace_propose").success
    output_of(capsys)
    assert not run(shell, "%trace_accept --candidate 0").success
    shown = output_of(capsys)
    assert "UsageError" in shown and "%trace_propose --candidates N" in shown
    assert shell.user_ns["n"] == 2


def test_writeback_puts_the_cell_with_accepted_values_in_a_new_cell(shell, server: ChatServer) -> None:
    cell = ("%%trace --train prompt,n --name poem\n"
            "prompt = 'Write a poem'  # the instruction\n"
            "n = 2\n"
            "f'{prompt} in {n} lines'")
    server.add_replies(reply({"prompt0": "Write a haiku\nabout the sea", "n0": 3}))
    run(shell, cell)
    assert run(shell, "%trace_feedback I wanted a haiku").success
    assert run(shell, "%trace_propose").success and run(shell, "%trace_accept").success
    assert run(shell, "%trace_writeback poem").success
    written = shell.rl_next_input
    assert written.rstrip("\n") == ("%%trace --train prompt,n --name poem\n"
                       "prompt = '''Write a haiku\nabout the sea'''  # the instruction\n"
                       "n = 3\n"
                       "f'{prompt} in {n} lines'")
    shell.rl_next_input = None
    assert run(shell, written).result == "Write a haiku\nabout the sea in 3 lines"


def test_writeback_refuses_what_it_cannot_write(shell, capsys) -> None:
    assert not run(shell, "%trace_writeback").success
    assert "no traced cell ran yet" in capsys.readouterr().err
    run(shell, "%%trace --train x --name computed\nx = 1 + 1\nx * 2")
    assert not run(shell, "%trace_writeback computed").success
    assert "computed in the cell" in capsys.readouterr().err


def test_a_propose_the_recording_lacks_is_answered_by_the_local_model(shell, monkeypatch, tmp_path, capsys) -> None:
    replay = tmp_path / "replies.jsonl"
    replay.write_text("")  # a recording holding none of these requests, as for feedback a person types
    monkeypatch.setenv("TRACE_WORKBENCH_REPLAY", str(replay))
    monkeypatch.setenv("TRACE_WORKBENCH_REPLAY_MISS", "local")
    assert run(shell, '%%trace --train greeting\ngreeting = "Hello"\ngreeting + ", world"').success
    assert run(shell, "%trace_feedback The greeting must be in French: use Bonjour instead of Hello.").success
    assert run(shell, "%trace_propose").success
    shown = output_of(capsys)
    assert LOCAL_NOTE in shown and "--- greeting (str)" in shown


def test_history_says_when_other_notebooks_share_the_file(shell, server: ChatServer, tmp_path, capsys) -> None:
    other = Session(tmp_path / ".trace_workbench" / "history.sqlite", notebook=str(tmp_path / "other.ipynb"))
    other.parameter("x", 1, source="1")
    other.parameter("x", 2, source="2")  # an edit: step #1, of the other notebook
    other.close()
    server.add_replies(reply({"n0": 3}))
    run(shell, CELL)
    run(shell, "%trace_feedback three lines")
    run(shell, "%trace_propose")
    run(shell, "%trace_accept")
    output_of(capsys)
    assert run(shell, "%trace_history").success
    shown = output_of(capsys)
    assert "1 step of this notebook (the file is shared with 1 other notebook" in shown and "#2 " in shown
    assert "#1 " not in shown and "step(s)" not in shown
    assert run(shell, "%trace_history --all").success
    shown = output_of(capsys)
    assert "2 steps of 2 notebooks" in shown and "#1 " in shown


def test_restore_before_or_after_a_step_undo_and_one_steps_values(shell, server: ChatServer, capsys) -> None:
    server.add_replies(reply({"prompt0": "Write a haiku", "n0": 3}), reply({"n0": 4}))
    run(shell, CELL)
    for text in ("a haiku", "four lines"):
        run(shell, f"%trace_feedback {text}")
        run(shell, "%trace_propose")
        run(shell, "%trace_accept")
    first, second = (s.id for s in get_session().history.steps())
    output_of(capsys)
    assert run(shell, f"%trace_history {first}").success
    shown = output_of(capsys)
    assert "before: prompt = 'Write a poem'" in shown and "after:  prompt = 'Write a haiku'" in shown
    assert "before: n = 2" in shown and "after:  n = 3" in shown and f"%trace_restore {first} --before" in shown
    assert run(shell, f"%trace_restore {first} --before").success  # the values before the first step
    assert f"Restored step #{first} (the values before it)" in output_of(capsys)
    assert (shell.user_ns["prompt"], shell.user_ns["n"]) == ("Write a poem", 2)
    assert run(shell, f"%trace_restore {second}").success  # the values after it: only n changed there
    assert (shell.user_ns["prompt"], shell.user_ns["n"]) == ("Write a poem", 4)
    restored = get_session().last_applied
    assert run(shell, "%trace_undo").success
    assert f"Undone step #{restored}: n = 2" in output_of(capsys)
    assert (shell.user_ns["prompt"], shell.user_ns["n"]) == ("Write a poem", 2)
    for line, says in ((f"%trace_history {second + 5}", f"no step #{second + 5}"),
                       ("%trace_history one", "invalid int value"),
                       (f"%trace_history {first} --all", "shows one step whole"),
                       ("%trace_restore", "required: step"),
                       (f"%trace_restore {first} --before nothing", "changed no parameter among nothing")):
        result = run(shell, line)
        assert not result.success, line
        shown = output_of(capsys)
        assert "UsageError" in shown and says in shown, (line, shown)


def test_restore_before_and_history_of_a_step_in_a_real_kernel(kernel) -> None:
    front = ScriptedFrontEnd(kernel[0])
    kernel[1].add_replies(reply({"prompt0": "Write a haiku"}))
    assert front.execute("load", "%load_ext trace_workbench") == ""
    assert "Error" not in front.execute("cell", CELL)
    for number, line in enumerate(("%trace_feedback a haiku", "%trace_propose", "%trace_accept")):
        assert "Error" not in front.execute(f"loop-{number}", line)
    shown = front.execute("one", "%trace_history 1")
    assert "before: prompt = 'Write a poem'" in shown and "after:  prompt = 'Write a haiku'" in shown
    assert "Restored step #1 (the values before it)" in front.execute("before", "%trace_restore 1 --before")
    assert front.python("print(prompt)").strip() == "Write a poem"
    assert "Undone step #2" in front.execute("undo", "%trace_undo")
    assert front.python("print(prompt)").strip() == "Write a haiku"
    assert "UsageError: the history" in front.execute("bad", "%trace_restore 7 --before")
    assert "UsageError" in front.execute("bad-number", "%trace_history seven")
