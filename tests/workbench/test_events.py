"""The session's events: one Event per name, plain strings still compare equal, unknown names refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import trace_workbench
from trace_workbench.testing import ChatServer
from trace_workbench.workbench import STEP_EVENTS, VALUE_EVENTS, Event, Session, SessionError
from trace_workbench.workbench.events import Events

from .conftest import reply
from .test_session import make


def test_an_event_is_its_plain_name() -> None:
    assert Event.ACCEPTED == "accepted" and "accepted" in VALUE_EVENTS and Event("cell_started") is Event.CELL_STARTED
    assert str(Event.OPTIMIZED) == "optimized" and f"{Event.TRAINED}" == "trained"
    assert {"accepted": 1}[Event.ACCEPTED] == 1  # hashes as the string
    assert VALUE_EVENTS < STEP_EVENTS and "rejected" in STEP_EVENTS and "rejected" not in VALUE_EVENTS


def test_a_name_that_is_no_event_is_refused_and_a_broken_listener_only_warns() -> None:
    events = Events()
    heard: list[Event] = []
    events.subscribe(lambda event, payload: 1 / 0)
    events.subscribe(lambda event, payload: heard.append(event))
    with pytest.raises(ValueError, match="'progress' is not a valid Event"):
        events.emit("progress")
    with pytest.warns(UserWarning, match="failed on cell_started"):
        events.emit("cell_started", label="1")
    assert heard == [Event.CELL_STARTED] and type(heard[0]) is Event


def test_every_event_of_a_session_loop_is_an_event_with_its_payload(server: ChatServer) -> None:
    server.add_replies(reply({"prompt0": "Hi"}), reply({"n0": 2}))
    session = Session()
    heard: list[tuple[Event, dict]] = []
    session.subscribe(lambda event, payload: heard.append((event, payload)))
    make(session)
    session.feedback(None, "shorter")
    session.propose()
    accepted = session.accept()
    session.feedback(None, "twice")
    session.propose()
    session.reject("no")
    session.undo()
    session.emit(Event.CELL_STARTED, label="2")
    assert [e for e, _ in heard] == ["parameter", "parameter", "cell", "feedback", "proposal", "accepted", "feedback",
                                     "proposal", "rejected", "undone", "cell_started"]
    assert all(type(e) is Event for e, _ in heard)
    by_event = dict(heard)
    assert by_event[Event.ACCEPTED]["values"] == accepted == {"prompt": "Hi"}
    assert by_event[Event.UNDONE]["ref"] == by_event[Event.ACCEPTED]["step"]
    assert {e for e, p in heard if "step" in p} <= STEP_EVENTS
    session.feedback(None, "again")
    with pytest.raises(SessionError, match="accepted or optimized, not undone"):
        session.accept(decision=Event.UNDONE)


def test_every_event_is_emitted_somewhere_and_the_readme_lists_them_all() -> None:
    package = Path(trace_workbench.__file__).parent
    sources = "\n".join(p.read_text(encoding="utf-8") for p in package.rglob("*.py") if p.name != "events.py")
    assert [e.name for e in Event if f"Event.{e.name}" not in sources] == []
    readme = (package.parent / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"for each `trace_workbench\.workbench\.Event` \((.*?)\)", readme, re.DOTALL)
    assert listed is not None and re.findall(r'"(\w+)"', listed.group(1)) == [e.value for e in Event]
