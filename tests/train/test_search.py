"""Beam and priority search against the scripted ChatServer through the real openai client: a number x is
tuned so that x + input hits input + 10; the optimizer's replies form a known tree of proposals."""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from trace_workbench.llm import LLM
from trace_workbench.optimizers import OptoPrime
from trace_workbench.testing import ChatServer
from trace_workbench.trace import GRAPH, node
from trace_workbench.train import Objective, Search
from trace_workbench.train.search import SearchError
from trace_workbench.train.search.search import CANDIDATE, SEARCH
from trace_workbench.workbench.session import Session

TREE = {0: [4, 2], 4: [7, 9], 2: [3, 1], 7: [8, 6], 9: [10, 12], 3: [5, 4], 1: [0, 2], 10: [11, 9], 12: [13, 11],
        8: [9, 7], 6: [5, 7], 5: [6, 4]}
"""What the optimizer proposes for x, by its current value: the first, then the second time it is asked."""
DATA = [(1, 11), (2, 12), (3, 13), (4, 14)]


class TreeScript:
    """Answers OptoPrime with the next child of TREE for the value of x shown in the prompt."""

    def __init__(self) -> None:
        self.asked: dict[int, int] = {}
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> str:
        prompt = body["messages"][-1]["content"]
        name, current = re.search(r"\(int\) (\w+)=(-?\d+)", prompt.split("#Variables", 1)[1]).groups()
        with self.lock:
            self.calls += 1
            k = self.asked.get(int(current), 0)
            self.asked[int(current)] = k + 1
        children = TREE.get(int(current), [int(current) + 1])
        return json.dumps({"reasoning": f"move from {current}", "answer": "",
                           "suggestion": {name: children[k % len(children)]}})


@pytest.fixture
def script() -> TreeScript:
    return TreeScript()


@pytest.fixture
def server(script: TreeScript) -> Iterator[ChatServer]:
    with ChatServer(responder=script) as chat_server:
        yield chat_server


@pytest.fixture
def setup(server: ChatServer, tmp_path) -> tuple[Any, OptoPrime, Session]:
    GRAPH.clear()
    x = node(0, trainable=True)
    llm = LLM(model="optimizer-model", base_url=server.base_url, api_key="test-key", max_retries=0)
    optimizer = OptoPrime([x], llm=llm)
    session = Session(history=tmp_path / "history.sqlite", notebook="search.ipynb")
    return x, optimizer, session


def score(output: int, target: int) -> float:
    return 1 - abs(output - target) / 10


def feedback(output: int, target: int) -> tuple[str, float]:
    return f"got {output}, wanted {target}", score(output, target)


def make(setup: tuple[Any, OptoPrime, Session], **options: Any) -> Search:
    x, optimizer, session = setup
    return Search(lambda inp: x + inp, DATA, optimizer, feedback, session=session, **options)


def test_beam_search_finds_the_best_of_the_tree(setup) -> None:
    x, _, _ = setup
    result = make(setup, strategy="beam", beam_width=2, branching=2, rounds=3, ucb_rollouts=0).run()
    assert result.stopped == "completed"
    assert result.best.values == {x.py_name: 10}
    assert x._data == 10  # the best is applied
    made = sorted(c.values[x.py_name] for c in result.candidates)
    # round 1: 0 -> 4, 2; round 2: 4, 2 -> 7, 9, 3, 1; round 3: the beam (9, 7) -> 10, 12, 8, 6
    assert made == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12]
    statuses = {c.values[x.py_name]: c.status for c in result.candidates}
    assert statuses[3] == statuses[1] == "dropped"


def test_priority_search_expands_the_leader_and_finds_the_best(setup, script: TreeScript) -> None:
    x, _, _ = setup
    result = make(setup, strategy="priority", beam_width=1, branching=2, rounds=3, ucb_rollouts=0,
                  exploration=0.0).run()
    assert result.best.values == {x.py_name: 10}
    assert script.calls == 6  # one parent a round, two children each
    assert sorted(script.asked) == [0, 4, 9]


def test_ucb_gives_the_leader_more_rollouts(setup) -> None:
    x, _, _ = setup
    result = make(setup, strategy="priority", beam_width=1, branching=2, rounds=1, ucb_rollouts=3,
                  exploration=0.1).run()
    by_value = {c.values[x.py_name]: c for c in result.candidates}
    assert result.best is by_value[4]
    assert by_value[4].n == 4 and by_value[2].n == 1 and by_value[0].n == 1
    assert [r.example for r in by_value[4].rollouts] == [0, 1, 2, 3]


def test_pareto_front_with_a_minimised_cost(setup) -> None:
    x, optimizer, session = setup
    search = Search(lambda inp: x + inp, DATA, optimizer, feedback, session=session, strategy="beam",
                    beam_width=2, rounds=3, ucb_rollouts=0,
                    metric=lambda out, target: {"score": score(out, target), "cost": out - (target - 10)},
                    objective=Objective.front(["score", "cost"], minimize=["cost"], weights={"score": 10, "cost": 0.1}))
    result = search.run()
    values = {c.id: c.values[x.py_name] for c in result.candidates}
    # score rises with x up to 10 and cost is x: every x <= 10 is a trade-off; 12 is dominated by 8 and 10
    assert sorted(values[i] for i in result.front) == sorted(v for v in values.values() if v <= 10)
    assert 12 in values.values()
    # on the front, ties go to the weighted sum: 10 score - 0.1 cost = 0.9 x for x <= 10, highest at 10
    assert result.best.values[x.py_name] == 10


def test_weighted_objective_trades_score_against_cost(setup) -> None:
    x, optimizer, session = setup
    search = Search(lambda inp: x + inp, DATA, optimizer, feedback, session=session, strategy="beam",
                    beam_width=2, rounds=3, ucb_rollouts=0,
                    metric=lambda out, target: {"score": score(out, target), "cost": out - (target - 10)},
                    objective=Objective.weighted({"score": 10.0, "cost": 0.5}, minimize=["cost"]))
    result = search.run()
    # 10 * (1 - |x - 10| / 10) - 0.5 x = 10 - |x - 10| - x / 2: highest at x = 10 (5.0) among those made
    assert result.best.values[x.py_name] == 10
    assert result.best.scalar(search.objective) == pytest.approx(5.0)


def test_token_budget_stops_the_search(setup, script: TreeScript) -> None:
    result = make(setup, rounds=5, token_budget=1).run()
    assert result.stopped == "token budget"
    assert script.calls == 1
    assert len(result.candidates) == 2


def test_time_budget_stops_the_search(setup, script: TreeScript) -> None:
    result = make(setup, rounds=5, time_budget=0.0).run()
    assert result.stopped == "time budget"
    assert script.calls == 0


def test_interrupt_then_resume_repeats_no_finished_work(setup, script: TreeScript) -> None:
    x, optimizer, session = setup
    calls = {"n": 0}

    def interrupting(output: int, target: int) -> tuple[str, float]:
        calls["n"] += 1
        if calls["n"] == 9:  # in round 2's first expansion, once round 1's children are made and rolled out
            raise KeyboardInterrupt
        return feedback(output, target)

    first = Search(lambda inp: x + inp, DATA, optimizer, interrupting, session=session, strategy="beam",
                   rounds=3, ucb_rollouts=0, name="tree")
    with pytest.raises(KeyboardInterrupt):
        first.run()
    assert x._data == 0  # nothing half-applied
    made_before = dict(first.candidates)
    calls_before = script.calls
    assert calls_before == 2 and len(made_before) == 3

    second = Search(lambda inp: x + inp, DATA, optimizer, feedback, session=session, strategy="beam", rounds=3,
                    ucb_rollouts=0, name="tree")
    result = second.run(resume=True)
    assert result.best.values == {x.py_name: 10}
    assert script.calls == 10  # as many proposals as an uninterrupted run (2 + 4 + 4): 2 before, 8 after
    for i, c in made_before.items():
        assert second.candidates[i].values == c.values
        assert [r.example for r in second.candidates[i].rollouts] == [r.example for r in c.rollouts]
    decisions = [s.decision for s in session.steps()]
    assert "cancelled" in decisions


def test_history_has_every_candidate_with_its_diff_and_every_choice(setup) -> None:
    x, _, session = setup
    result = make(setup, strategy="beam", rounds=2, ucb_rollouts=0).run()
    steps = session.steps()
    candidates = [s for s in steps if s.decision == CANDIDATE]
    assert len(candidates) == len(result.candidates) - 1  # all but the starting point
    by_id = {c.id: c for c in result.candidates}
    for step in candidates:
        made = by_id[step.proposal["candidate"]]
        parent = by_id[step.proposal["parent"]]
        (change,) = step.changes
        assert (change.before, change.after) == (parent.values[x.py_name], made.values[x.py_name])
        assert f"-{change.before}" in change.diff and f"+{change.after}" in change.diff
    notes = [s.note for s in steps if s.decision == SEARCH]
    assert any("round 1 expands #0" in n for n in notes)
    final = steps[-1]  # the best candidate applied: a step of its own, undoable like an accepted one
    assert final.decision == "searched" and "completed" in final.note and final.changes[0].after == x._data


def test_prune_promote_and_stop_steer_the_search(setup, script: TreeScript) -> None:
    x, optimizer, session = setup
    search = make(setup, strategy="beam", beam_width=1, rounds=1, ucb_rollouts=0, name="steer")
    search.run()
    by_value = {c.values[x.py_name]: c.id for c in search.candidates.values()}
    search.prune(by_value[4])  # the leader
    search.promote(by_value[2])
    with pytest.raises(SearchError, match="starting point"):
        search.prune(0)
    with pytest.raises(SearchError, match="no candidate 99"):
        search.promote(99)

    seen: list[str] = []

    def stop_on_second_candidate(event: str, s: Search) -> None:
        seen.append(event)
        if event == "candidate" and seen.count("candidate") == 2:
            s.stop()

    search.rounds = 3
    search.subscribe(stop_on_second_candidate)
    result = search.run(resume=True)
    assert result.stopped == "stopped"
    assert 4 not in script.asked or script.asked[4] == 0
    assert script.asked[2] == 2  # the promoted one was expanded, not the pruned leader
    values = sorted(c.values[x.py_name] for c in result.candidates)
    assert values == [0, 1, 2, 3, 4]
    search.unsubscribe(stop_on_second_candidate)
    resumed = search.run(resume=True)
    assert resumed.stopped == "completed"
    assert 4 not in script.asked  # pruned: never expanded


def test_background_run_can_be_stopped_from_another_thread(setup) -> None:
    x, optimizer, session = setup
    made = threading.Event()
    search = make(setup, rounds=50, ucb_rollouts=0, name="bg")
    search.subscribe(lambda event, s: made.set() if event == "candidate" else None)
    search.start()
    assert made.wait(60)
    search.stop()
    result = search.wait(60)
    assert result is not None and result.stopped == "stopped"
    assert search.state["round"] < 50
    assert not search.running


def test_the_applied_best_is_told_to_listeners_and_undone_like_an_accepted_step(setup) -> None:
    x, _, session = setup
    heard = []
    session.subscribe(lambda event, payload: heard.append((event, payload.get("values"))))
    make(setup, strategy="beam", beam_width=2, branching=2, rounds=3, ucb_rollouts=0).run()
    assert heard == [("searched", {x.py_name: 10})]
    session.undo()
    assert x._data == 0
    assert [s.decision for s in session.steps()][-2:] == ["searched", "undone"]


def test_rollouts_and_expansions_run_on_the_given_executor(setup) -> None:
    from concurrent.futures import ThreadPoolExecutor

    x, optimizer, session = setup
    threads: set[str] = set()

    def program(inp: int) -> Any:
        threads.add(threading.current_thread().name)
        return x + inp

    with ThreadPoolExecutor(2, thread_name_prefix="given") as executor:
        result = Search(program, DATA, optimizer, feedback, session=session, rounds=1, ucb_rollouts=0,
                        executor=executor).run()
    assert result.best.values == {x.py_name: 4}
    assert threads and all(name.startswith("given") for name in threads)


def test_rollouts_on_a_process_pool_find_what_threads_find(setup, script: TreeScript) -> None:
    """The calls sent to the workers carry the program and examples, not the Search (its locks do not pickle)."""
    import cloudpickle

    from trace_workbench.utils.executors import ProcessExecutor

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    x, optimizer, session = setup
    threads = make(setup, strategy="beam", beam_width=2, branching=2, rounds=2, ucb_rollouts=0).run()
    x._set(0)
    script.asked.clear()  # the optimizer proposes the same tree again
    with ProcessExecutor(2) as pool:
        processes = Search(lambda inp: x + inp, DATA, optimizer, feedback, session=session, strategy="beam",
                           beam_width=2, branching=2, rounds=2, ucb_rollouts=0, executor=pool,
                           name="on processes").run()
    assert processes.best.values == threads.best.values == {x.py_name: 9}
    assert [(c.values, c.means()) for c in processes.candidates] == [(c.values, c.means()) for c in threads.candidates]
