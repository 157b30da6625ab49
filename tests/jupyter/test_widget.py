"""The workbench widget's Python side: the graph feed (batched, numbered, throttled deltas), the
traitlet state, and the message protocol, driven as the front end would, against the local model server."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from trace_workbench.jupyter import show
from trace_workbench.jupyter.cell import CellOptions, TracedCells
from trace_workbench.jupyter.cell_sync import CellSync
from trace_workbench.jupyter.protocol import GraphFeed, describe_error, parse_edit
from trace_workbench.jupyter.widget import WorkbenchWidget
from trace_workbench.llm.errors import LLMConfigError, LLMRateLimitError
from trace_workbench.testing import ChatServer
from trace_workbench.testing.front_end import ScriptedFrontEnd
from trace_workbench.trace import GRAPH, node
from trace_workbench.workbench import Session

from .conftest import fallback_svg, reply, run

CELL = '''prompt = "Write a poem"
n = 2
request = f"{prompt} in {n} lines"
request
'''


class Sent(list):
    """The messages a widget sent to the front end."""

    def graph(self) -> list[dict[str, Any]]:
        return [m for m in self if m.get("type") == "graph"]


def wired(widget: WorkbenchWidget) -> Sent:
    sent = Sent()
    widget.send = lambda content, buffers=None: sent.append(json.loads(json.dumps(content)))  # JSON-safe
    return sent


def replay(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Apply graph messages as the front end's store does; fail on a gap in the numbering."""
    nodes: dict[str, dict[str, Any]] = {}
    seq = -1
    for m in messages:
        if m["reset"]:
            nodes = {}
        else:
            assert m["seq"] == seq + 1, "a delta was skipped"
        seq = m["seq"]
        for n in m["nodes"]:
            nodes[n["id"]] = n
        for n in m["updates"]:
            nodes[n["id"]].update(n)
        for e in m["edges"]:
            assert e["source"] in nodes and e["target"] in nodes
    return nodes


@pytest.fixture
def session(tmp_path) -> Session:
    s = Session(tmp_path / "history.sqlite", notebook=str(tmp_path / "nb.ipynb"))
    yield s
    s.close()


@pytest.fixture
def cells(session: Session) -> TracedCells:
    return TracedCells(session, {})


def run_cell(cells: TracedCells, label: str = "1", source: str = CELL) -> Any:
    return cells.run(source, CellOptions(train=("prompt", "n")), label)


def wait_idle(widget: WorkbenchWidget) -> None:
    assert widget._worker is not None
    widget._worker.join(timeout=30)
    assert not widget._worker.is_alive() and widget.status == "idle"


def test_feed_batches_and_numbers_deltas_with_external_parents() -> None:
    sent: list[dict[str, Any]] = []
    feed = GraphFeed(sent.append, interval=60)
    outside = node(1, name="outside")
    with GRAPH.scope("c", feed.listener) as scope:
        total = outside
        for _ in range(500):
            total = total + 1
    feed.set_output(total)
    assert len(sent) == 2  # the first event at once, the other 499 in one batch
    nodes = replay(sent)
    assert len(nodes) == len(scope.nodes) + 1
    assert nodes[f"n{outside._serial}"]["external"] and not nodes[f"n{total._serial}"]["external"]
    assert nodes[f"n{total._serial}"]["output"] and nodes[f"n{total._serial}"]["op"] == "add"
    assert sum(len(m["edges"]) for m in sent) == 1000  # each add has two parents: the sum and the 1


def test_feed_throttles_by_time_and_timer_sends_the_rest() -> None:
    sent: list[dict[str, Any]] = []
    feed = GraphFeed(sent.append, interval=0.05)
    with GRAPH.scope("c", feed.listener):
        x = node(0)
        for _ in range(2000):
            x = x + 1
    deadline = time.monotonic() + 5
    while sum(len(m["nodes"]) for m in sent) < 4001 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(replay(sent)) == 4001  # 2000 adds and their 2000 constants, and the start
    assert len(sent) < 200  # far fewer messages than nodes


def test_feed_snapshot_and_feedback_updates() -> None:
    sent: list[dict[str, Any]] = []
    feed = GraphFeed(sent.append, interval=0)
    p = node("hi", trainable=True, name="p")
    with GRAPH.scope("c", feed.listener):
        out = p + "!"
    feed.set_output(out)
    snap = feed.snapshot()
    assert snap["reset"] and snap["seq"] == sent[-1]["seq"] + 1
    assert len(snap["nodes"]) == 3  # p (external), "!" and the concat
    out.backward("too short")
    updates = [n for m in sent for n in m["updates"]]
    assert any("too short" in " ".join(n["feedback"]) for n in updates)
    assert replay([snap])[f"n{p._serial}"]["trainable"]


def test_widget_follows_a_cell_live_and_marks_the_output(session: Session, cells: TracedCells) -> None:
    widget = WorkbenchWidget(session, "1")
    sent = wired(widget)
    run_cell(cells)
    nodes = replay(sent.graph())
    kinds = {n["name"].split(":")[0]: n["kind"] for n in nodes.values()}
    assert kinds["prompt"] == "parameter" and kinds["n"] == "parameter"
    assert [n for n in nodes.values() if n["output"]][0]["data"] == "Write a poem in 2 lines"
    assert widget.output_value == "Write a poem in 2 lines" and widget.status == "idle"
    assert widget.graph_seq == sent.graph()[-1]["seq"]
    widget._on_msg(widget, {"type": "snapshot"}, [])
    assert sent[-1]["reset"] and replay([sent[-1]]).keys() == nodes.keys()
    widget.close()


def test_propose_accept_with_an_edit_and_history(session: Session, cells: TracedCells, server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Write a haiku\nabout the sea", "n0": 3}, reasoning="Haiku: 3 lines."))
    run_cell(cells)
    widget = WorkbenchWidget(session, "1", rerun=lambda: cells.rerun("1"))
    sent = wired(widget)
    widget.follow(session.scopes["1"])
    widget._on_msg(widget, {"type": "propose", "text": "I wanted a haiku", "score": 0.25}, [])
    assert widget.status == "proposing"
    wait_idle(widget)
    assert widget.error == ""
    changes = {c["name"]: c for c in widget.proposal["changes"]}
    assert changes["prompt"]["old_text"] == "Write a poem"
    assert changes["prompt"]["new_text"] == "Write a haiku\nabout the sea"
    assert changes["n"] == {"key": "n0", "name": "n", "kind": "int", "old_text": "2", "new_text": "3",
                            "reasoning": None}
    assert widget.proposal["reasoning"] == "Haiku: 3 lines." and widget.usage["total_tokens"] > 0
    assert session.parameters["prompt"]._data == "Write a poem"  # proposing changes nothing
    widget.feed.flush()  # the feedback events may still wait for the throttle's timer
    feedback = [n for m in sent.graph() for n in m["updates"] if n["feedback"]]
    assert any("I wanted a haiku" in f for n in feedback for f in n["feedback"])
    widget._on_msg(widget, {"type": "accept", "names": ["n0", "prompt0"], "edits": {"n0": "4"}}, [])
    assert widget.error == "" and widget.proposal == {}
    assert session.parameters["n"]._data == 4 and session.parameters["prompt"]._data.startswith("Write a haiku")
    assert widget.accepted["decision"] == "accepted" and widget.accepted["values"]["n"] == "4"
    step = widget.history[-1]
    assert step["decision"] == "accepted" and step["score"] == 0.25 and step["revertible"]
    widget._on_msg(widget, {"type": "rerun"}, [])
    assert widget.output_value == "Write a haiku\nabout the sea in 4 lines"
    assert replay(sent.graph())  # the re-run came as a new snapshot and deltas
    widget._on_msg(widget, {"type": "restore", "step": step["id"]}, [])
    assert widget.history[-1]["decision"] == "restored" and widget.error == ""
    widget.close()


def test_undo_and_restore_before_or_after_a_step(session: Session, cells: TracedCells, server: ChatServer) -> None:
    server.add_replies(reply({"n0": 3}), reply({"n0": 4}))
    run_cell(cells)
    widget = WorkbenchWidget(session, "1")
    wired(widget)
    widget.follow(session.scopes["1"])
    for text in ("more lines", "even more"):
        widget._on_msg(widget, {"type": "propose", "text": text, "score": None}, [])
        wait_idle(widget)
        widget._on_msg(widget, {"type": "accept", "names": None, "edits": {}}, [])
    first, second = widget.history[-2], widget.history[-1]
    assert first["values"] == [{"name": "n", "before": "2", "after": "3"}]
    assert second["values"] == [{"name": "n", "before": "3", "after": "4"}]
    widget._on_msg(widget, {"type": "undo"}, [])
    assert widget.error == "" and session.parameters["n"]._data == 3
    assert widget.history[-1]["decision"] == "undone"
    widget._on_msg(widget, {"type": "restore", "step": first["id"], "before": True}, [])
    assert session.parameters["n"]._data == 2  # the value from before the first step
    assert widget.history[-1]["decision"] == "restored" and widget.history[-1]["values"][0]["after"] == "2"
    widget._on_msg(widget, {"type": "restore", "step": second["id"]}, [])
    assert session.parameters["n"]._data == 4 and widget.accepted["values"] == {"n": "4"}
    widget._on_msg(widget, {"type": "undo"}, [])
    assert session.parameters["n"]._data == 2  # the restore is undone like any step
    widget.close()


def test_reject_and_a_bad_edit_are_reported_inline(session: Session, cells: TracedCells, server: ChatServer) -> None:
    server.add_replies(reply({"n0": 5}), reply({"n0": 6}))
    run_cell(cells)
    widget = WorkbenchWidget(session, "1")
    wired(widget)
    widget._on_msg(widget, {"type": "propose", "text": "more lines", "score": None}, [])
    wait_idle(widget)
    widget._on_msg(widget, {"type": "accept", "names": ["n0"], "edits": {"n0": "five"}}, [])
    assert "not a Python literal" in widget.error and session.parameters["n"]._data == 2
    widget._on_msg(widget, {"type": "reject", "reason": None}, [])
    assert widget.proposal == {} and widget.history[-1]["decision"] == "rejected"
    widget.close()


def test_no_model_configured_is_an_actionable_inline_error(session: Session, cells: TracedCells) -> None:
    run_cell(cells)
    widget = WorkbenchWidget(session, "1")
    wired(widget)
    widget._on_msg(widget, {"type": "propose", "text": "shorter", "score": None}, [])
    wait_idle(widget)
    assert widget.error.startswith("No model is configured") and "OPENAI_API_KEY" in widget.error
    widget.close()


def test_server_down_rate_limit_and_unusable_reply(session: Session, cells: TracedCells,
                                                    server: ChatServer) -> None:
    session.configure(max_retries=0, timeout=5)
    run_cell(cells)
    widget = WorkbenchWidget(session, "1")
    wired(widget)
    server.rate_limit(times=1)
    widget._on_msg(widget, {"type": "propose", "text": "shorter", "score": None}, [])
    wait_idle(widget)
    assert "rate limiting" in widget.error and "Wait a minute" in widget.error
    server.add_replies("this is not JSON at all")
    widget._on_msg(widget, {"type": "propose", "text": "", "score": None}, [])
    wait_idle(widget)
    assert widget.error.startswith("The model's reply could not be used") and widget.proposal == {}
    server.stop()
    widget._on_msg(widget, {"type": "propose", "text": "", "score": None}, [])
    wait_idle(widget)
    assert widget.error.startswith("Could not reach the model at http://127.0.0.1:")
    widget.close()


def test_propose_keeps_the_comm_responsive(session: Session, cells: TracedCells, server: ChatServer) -> None:
    released = threading.Event()
    server.responder = lambda body: reply({"n0": 3}) if released.wait(60) else "never released"
    run_cell(cells)
    widget = WorkbenchWidget(session, "1")
    sent = wired(widget)
    widget._on_msg(widget, {"type": "propose", "text": "x", "score": None}, [])  # returns: the model is held
    widget._on_msg(widget, {"type": "snapshot"}, [])  # answered while the model works
    assert sent[-1]["reset"] and widget.status == "proposing" and not widget.proposal
    released.set()
    wait_idle(widget)
    assert [c["name"] for c in widget.proposal["changes"]] == ["n"]
    widget.close()


def test_stop_cancels_a_running_propose_and_drops_the_late_reply(session: Session, cells: TracedCells,
                                                                  server: ChatServer) -> None:
    server.slow(1.0, content=reply({"n0": 3}))
    run_cell(cells)
    widget = WorkbenchWidget(session, "1")
    wired(widget)
    widget._on_msg(widget, {"type": "propose", "text": "x", "score": None}, [])
    assert widget.status == "proposing"
    widget._on_msg(widget, {"type": "stop"}, [])
    assert widget.status == "idle" and widget.error.startswith("Stopped")
    wait_idle(widget)  # the slow reply arrives after the stop...
    assert session.pending is None and widget.proposal == {}  # ...and is dropped
    assert session.steps()[-1].decision == "cancelled"
    assert session.parameters["n"].data == 2
    widget.close()


def test_static_fallback_has_the_graph_and_the_diff_and_no_secret(session: Session, cells: TracedCells,
                                                                   server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Write a haiku"}))
    run_cell(cells)
    widget = WorkbenchWidget(session, "1")
    wired(widget)
    widget.follow(session.scopes["1"])
    widget.feed.set_output(session.outputs["1"])
    widget._on_msg(widget, {"type": "propose", "text": "haiku", "score": None}, [])
    wait_idle(widget)
    data, _ = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    fallback = data["text/html"]
    assert "<svg" in fallback_svg(fallback) and "prompt:0" in fallback_svg(fallback)
    assert "-Write a poem" in fallback and "+Write a haiku" in fallback
    state = json.dumps(widget.get_state())
    assert "test-key" not in fallback and "test-key" not in state
    widget.close()


def test_show_an_output_node_and_a_cell(session: Session, cells: TracedCells) -> None:
    x = node(2, trainable=True, name="x")
    y = x * 3
    widget = show(y, session=session)
    assert widget.label == y.name and widget.output_value == "6" and len(widget.feed) == 3  # x, 3, x*3
    sent = wired(widget)
    y.backward("bigger")
    widget.feed.flush()
    updated = {n["name"]: n for m in sent.graph() for n in m["updates"]}
    assert "bigger" in " ".join(updated[x.name]["feedback"])
    widget.close()
    assert widget._on_trace_event not in GRAPH._listeners
    run_cell(cells)
    widget = show(session=session)
    assert widget.label == "1" and widget.feed.output is session.outputs["1"]
    widget.close()


def test_trace_cell_in_a_kernel_shows_one_widget_per_cell(shell, monkeypatch) -> None:
    from trace_workbench.jupyter import widget as widget_module

    shown: list[WorkbenchWidget] = []
    monkeypatch.setattr(widget_module, "WorkbenchWidget", type("Recorded", (WorkbenchWidget,), {
        "__init__": lambda self, *a, **k: (WorkbenchWidget.__init__(self, *a, **k), shown.append(self))[0]}))
    assert run(shell, "%%trace --train n\nn = 2\nn + 1").result == 3
    assert shown == []  # a terminal shell has no kernel: no widget
    monkeypatch.setattr(shell, "kernel", object(), raising=False)
    assert run(shell, "%%trace --train n\nn = 2\nn + 1").result == 3
    assert run(shell, "%%trace --no-widget --train n\nn = 2\nn + 1").result == 3
    assert len(shown) == 1
    widget = shown[0]
    assert widget.output_value == "3" and any(n.name.startswith("n:") for n in widget.feed.nodes)
    widget.close()


def test_parse_edit_and_error_words() -> None:
    assert parse_edit("int", " 4 ", 3) == 4 and parse_edit("str", "a'b", "x") == "a'b"
    assert parse_edit("code", "def f():\n    return 1", "def f(): ...") == "def f():\n    return 1"
    with pytest.raises(ValueError, match="not a Python literal"):
        parse_edit("list", "[1, 2", [1])
    assert describe_error(LLMConfigError("no model configured")).startswith("No model is configured")
    assert "Wait a minute" in describe_error(LLMRateLimitError("429"), "http://h/v1")


def test_propose_candidates_then_accept_part_of_one(session: Session, cells: TracedCells, server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Write a haiku"}, reasoning="Haiku."),
                       reply({"prompt0": "Write a limerick", "n0": 5}, reasoning="Limerick."),
                       "not JSON")
    run_cell(cells)
    widget = WorkbenchWidget(session, "1")
    wired(widget)
    widget._on_msg(widget, {"type": "propose", "text": "funnier", "score": 0.5, "candidates": 3}, [])
    wait_idle(widget)
    assert widget.error == "" and server.completion_requests[0].body["n"] == 3
    state = widget.proposal
    assert [c["index"] for c in state["candidates"]] == [0, 1, 2] and state["chosen"] == 2
    first, second, third = state["candidates"]
    assert [(c["name"], c["new_text"]) for c in first["changes"]] == [("prompt", "Write a haiku")]
    assert first["reasoning"] == "Haiku." and first["score"] is None
    assert {c["name"]: c["new_text"] for c in second["changes"]} == {"prompt": "Write a limerick", "n": "5"}
    assert third["changes"] == [] and third["error"]
    assert session.parameters["prompt"]._data == "Write a poem"  # proposing changes nothing
    fallback = widget.fallback_html()  # a saved notebook shows every candidate's diff
    assert "3 candidates" in fallback and "Candidate 2 (the default choice)" in fallback
    assert "+Write a haiku" in fallback and "+Write a limerick" in fallback and "-2" in fallback and "+5" in fallback
    widget._on_msg(widget, {"type": "accept", "names": ["n0"], "edits": {"n0": "7"}, "candidate": 0}, [])
    assert "not in this proposal" in widget.error and session.parameters["n"]._data == 2
    widget._on_msg(widget, {"type": "accept", "names": ["n0", "prompt0"], "edits": {"n0": "6"}, "candidate": 1}, [])
    assert widget.error == "" and widget.proposal == {}
    assert (session.parameters["prompt"]._data, session.parameters["n"]._data) == ("Write a limerick", 6)
    step = session.steps()[-1]
    assert step.note == "candidate 1 of 3" and step.proposal["index"] == 1 and len(step.proposal["candidates"]) == 3
    assert widget.history[-1]["note"] == "candidate 1 of 3"
    widget.close()


def test_a_plain_propose_has_no_candidates_and_a_bad_candidate_is_reported(session: Session, cells: TracedCells,
                                                                           server: ChatServer) -> None:
    server.add_replies(reply({"n0": 3}))
    run_cell(cells)
    widget = WorkbenchWidget(session, "1")
    wired(widget)
    widget._on_msg(widget, {"type": "propose", "text": "three", "score": None, "candidates": 1}, [])
    wait_idle(widget)
    assert widget.proposal["candidates"] == [] and widget.proposal["chosen"] is None
    assert "n" not in server.completion_requests[0].body
    widget._on_msg(widget, {"type": "accept", "names": None, "edits": {}, "candidate": 1}, [])
    assert "has no candidates" in widget.error and session.parameters["n"]._data == 2
    widget._on_msg(widget, {"type": "accept", "names": None, "edits": {}}, [])
    assert widget.error == "" and session.parameters["n"]._data == 3
    widget.close()


def test_the_widget_shows_what_became_of_the_cell_text_and_asks_about_an_edited_cell(
        session: Session, cells: TracedCells, server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Write a haiku"}), reply({"prompt0": "Write a limerick"}))
    run_cell(cells)
    sync = CellSync(session)
    text = "%%trace --train prompt,n\n" + CELL
    sync.ran("1", "cell-a", text, ("prompt", "n"))
    sync._on_msg({"content": {"data": {"type": "hello", "version": 1}}})  # the front end's extension is here
    widget = WorkbenchWidget(session, "1", sync=sync)
    wired(widget)
    widget._on_msg(widget, {"type": "propose", "text": "a haiku"}, [])
    wait_idle(widget)
    widget._on_msg(widget, {"type": "accept"}, [])
    assert widget.writeback["state"] == "writing"
    sync._on_msg({"content": {"data": {"type": "written", "id": 1, "cell": "cell-a", "status": "written"}}})
    assert widget.writeback == {"label": "1", "state": "written",
                                "message": "Cell 1's text now holds the new values."}

    sync._on_msg({"content": {"data": {"type": "edited", "cell": "cell-a", "source": text + "# mine\n"}}})
    widget._on_msg(widget, {"type": "propose", "text": "a limerick"}, [])
    wait_idle(widget)
    widget._on_msg(widget, {"type": "accept"}, [])
    assert widget.writeback["state"] == "edited" and "edited since it ran" in widget.writeback["message"]
    widget._on_msg(widget, {"type": "writeback", "answer": "later"}, [])
    assert "answer must be one of overwrite, below, keep" in widget.error
    widget._on_msg(widget, {"type": "writeback", "answer": "keep"}, [])
    assert widget.writeback["state"] == "kept" and widget.error == ""
    assert session.parameters["prompt"]._data == "Write a limerick"  # accepted in the kernel all the same
    widget.close()
    sync.close()


def test_a_kernel_interrupt_stops_a_running_propose(kernel) -> None:
    client, server = kernel
    front = ScriptedFrontEnd(client)
    front.execute("load", "%load_ext trace_workbench")
    front.execute("traced", '%%trace --train tone --name mood\ntone = "calm"\ntone.upper()')
    front.python("import time\ntime.sleep(0.5)\nprint('idle interrupts are ignored')")
    front.interrupt()  # nothing proposes: the kernel ignores it, as it does without the extension
    assert "ignored" in front.python("print('idle interrupts are ignored')")
    released = threading.Event()  # the model answers only at the end: the interrupt, not a reply, stops it
    server.responder = lambda body: reply({"tone0": "warm"}) if released.wait(120) else "never released"
    widget = "__import__('trace_workbench.jupyter.widget', fromlist=['_CELL_WIDGETS'])._CELL_WIDGETS['cell', 'traced']"
    front.python(f"w = {widget}\nw._on_msg(w, {{'type': 'propose', 'text': 'warmer'}}, [])")  # the Propose button
    assert front.python("print(w.status)").strip() == "proposing"
    front.interrupt()
    deadline = time.monotonic() + 60
    while front.python("print(w.status)").strip() != "idle" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Stopped" in front.python("print(w.error)")  # the model never answered: the interrupt stopped it
    steps = "[(s.decision, s.note) for s in w.session.steps()]"
    assert "('cancelled', 'stopped by a kernel interrupt while proposing; nothing changed')" in front.python(
        f"print({steps})")
    assert front.python("print(tone)").strip() == "calm"  # nothing applied
    released.set()


def test_the_saved_widget_state_holds_a_loader_and_the_front_end_comes_in_a_message(
        session: Session, cells: TracedCells) -> None:
    run_cell(cells)
    widget = WorkbenchWidget(session, "1")
    sent = wired(widget)
    state = json.dumps(widget.get_state())  # what a notebook saved with widget state keeps of this widget
    assert len(state) < 20_000
    widget._on_msg(widget, {"type": "bundle"}, [])  # the loader, in a front end without the JupyterLab extension
    (message,) = [m for m in sent if m.get("type") == "bundle"]
    assert message["file"].startswith("widget.") and message["file"] in widget._esm
    assert len(message["code"]) > 100_000 and "cytoscape" in message["code"]
    widget.close()



WIDGETS = "__import__('trace_workbench.jupyter.widget', fromlist=['_CELL_WIDGETS'])._CELL_WIDGETS"
SAME = '%%trace --train tone --name same\ntone = "calm"\ntone + " sea"'
RERUN = "w = {widgets}['cell', '{cell}']\nw._on_msg(w, {{'type': 'rerun'}}, [])"  # the Re-run button


def true(front: ScriptedFrontEnd, *checks: str) -> bool:
    """Whether every Python expression in `checks` is true in the kernel."""
    return front.python(f"print(all([{', '.join(checks)}]))").strip() == "True"


def test_cells_with_the_same_label_each_keep_their_widget(kernel) -> None:
    front = ScriptedFrontEnd(kernel[0])
    front.execute("load", "%load_ext trace_workbench")
    front.cells.update(a=SAME, b=SAME)
    front.run_all(["a", "b"])  # Run All: the second cell's widget must not close the first's
    front.python(f"a, b = {WIDGETS}['cell', 'a'], {WIDGETS}['cell', 'b']")
    assert true(front, "a.comm is not None", "b.comm is not None", "a is not b")
    assert front.python("print(a.output_value, '|', b.output_value)").strip() == "calm sea | calm sea"
    front.execute("a")  # the first cell runs again: its own earlier widget goes, the other cell's stays
    assert true(front, "a.comm is None", "b.comm is not None", f"{WIDGETS}['cell', 'a'] is not a")


def test_rerun_asks_the_front_end_to_run_the_cell(kernel) -> None:
    front = ScriptedFrontEnd(kernel[0])
    front.execute("load", "%load_ext trace_workbench")
    front.execute("traced", SAME)
    first = front.numbers["traced"]
    front.python(RERUN.format(widgets=WIDGETS, cell="traced"))
    assert front.runs == ["traced"]
    front.execute("traced")  # what the extension does: the notebook runs the cell
    assert front.numbers["traced"] > first
    assert true(front, "w.comm is None", "w.error == ''", f"{WIDGETS}['cell', 'traced'].comm is not None")


def test_rerun_without_a_front_end_that_runs_cells_says_the_out_did_not_update(kernel) -> None:
    front = ScriptedFrontEnd(kernel[0], extension=False)
    front.execute("load", "%load_ext trace_workbench")
    front.execute("traced", SAME)
    front.python(f"scope = {WIDGETS}['cell', 'traced']._scope")
    front.python(RERUN.format(widgets=WIDGETS, cell="traced"))
    assert front.runs == [] and true(front, "w._scope is not scope")  # it ran again, in the kernel
    error = front.python("print(w.error)")
    assert "in the kernel only (this front end cannot run cells)" in error
    assert "the cell's Out and its number did not update" in error


def test_rerun_of_a_cell_gone_from_the_notebook_runs_it_in_the_kernel(kernel) -> None:
    front = ScriptedFrontEnd(kernel[0])
    front.execute("load", "%load_ext trace_workbench")
    front.execute("traced", SAME)
    del front.cells["traced"]
    front.python(RERUN.format(widgets=WIDGETS, cell="traced"))  # the extension answers: missing
    assert front.runs == []
    assert "in the kernel only (the cell is no longer in the notebook)" in front.python("print(w.error)")
