"""SearchWidget's Python side: its state follows the search, and the front end's messages steer it."""

from __future__ import annotations

from typing import Any

from tests.train.test_search import make, script, server, setup  # noqa: F401 -- the search tests' fixtures
from trace_workbench.jupyter.search_widget import SearchWidget


def test_widget_state_follows_the_search_and_messages_steer_it(setup: Any) -> None:  # noqa: F811
    x, _, _ = setup
    search = make(setup, strategy="beam", beam_width=1, rounds=1, ucb_rollouts=0)
    widget = SearchWidget(search)
    search.run()
    assert widget.status == "finished"
    assert [row["id"] for row in widget.candidates] == [0, 1, 2]
    assert widget.summary["round"] == 1 and widget.summary["stopped"] == "completed"

    widget._on_msg(widget, {"type": "diff", "id": 1}, [])
    assert widget.diff == {"id": 1, "parent": 0, "changes": [{"name": x.py_name, "old": "0", "new": "4"}]}
    widget._on_msg(widget, {"type": "prune", "id": 2}, [])
    assert {row["id"]: row["status"] for row in widget.candidates}[2] == "pruned"
    widget._on_msg(widget, {"type": "promote", "id": 0}, [])
    assert {row["id"]: row["promoted"] for row in widget.candidates}[0] is True
    widget._on_msg(widget, {"type": "prune", "id": 7}, [])
    assert "no candidate 7" in widget.error
    widget._on_msg(widget, {"type": "diff", "id": 1}, [])
    assert widget.error == ""

    widget._on_msg(widget, {"type": "resume"}, [])
    result = search.wait(60)
    assert result is not None and {c.parent for c in result.candidates if c.id > 2} == {0}  # the promoted start
    assert widget.status == "finished"
    widget.close()
