"""SearchStore: a run's state and candidates round-trip through the history file, and a write is all or nothing."""

from __future__ import annotations

import pytest

from trace_workbench.train.search import SearchStore
from trace_workbench.workbench.history import History


def test_state_and_candidates_round_trip_beside_the_history(tmp_path) -> None:
    path = tmp_path / "history.sqlite"
    history = History(path, notebook="a.ipynb")
    history.record("accepted", note="a step before the search")
    store = SearchStore(history)
    store.save("s", {"round": 1}, [{"id": 0, "v": 1}, {"id": 1, "v": 2}])
    store.save("s", {"round": 2}, [{"id": 1, "v": 3}])
    assert store.load("s") == ({"round": 2}, [{"id": 0, "v": 1}, {"id": 1, "v": 3}])
    assert SearchStore(History(path, notebook="b.ipynb")).load("s") is None  # runs are kept per notebook
    assert store.runs() == ["s"]
    assert len(History(path, notebook="a.ipynb").steps()) == 1  # the history's own rows are untouched


def test_a_failed_write_leaves_the_state_before_it(tmp_path) -> None:
    store = SearchStore(History(tmp_path / "history.sqlite"))
    store.save("s", {"round": 1}, [{"id": 0}])
    with pytest.raises(TypeError):
        store.save("s", {"round": 2}, [{"id": 1}, {"id": 2, "bad": object()}])
    assert store.load("s") == ({"round": 1}, [{"id": 0}])
