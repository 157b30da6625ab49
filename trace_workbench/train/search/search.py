"""Beam and priority search over candidate parameter sets, which a person can watch and steer while it runs.

A round picks parents, asks the optimizer for children of each (forward passes on a minibatch,
feedback, backward, one proposal per child; nothing applied), rolls every new child out on
`min_rollouts` examples, then hands `ucb_rollouts` more rollouts one at a time to the live candidate
with the highest upper confidence bound, so promising candidates are measured more.

- beam: the parents are the best `beam_width` candidates not yet expanded; the others fall out.
- priority: every live candidate stays in one queue; the parents are the `beam_width` with the highest
  upper confidence bound (or the best mean with exploration=0), and a parent may be expanded again.

A person may promote a candidate (expanded next, even if it fell out of the beam or the rounds are
done), prune one (never rolled out or expanded again) or stop the search, from any thread, while it
runs or between runs.
After every unit of work (a child made, a candidate rolled out) the state is saved in the session's
history file in one transaction, so `run(resume=True)` after an interrupt repeats nothing finished.
Every candidate (with its diff against its parent) and every choice is a row of the session's history.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from trace_workbench.llm.usage import UsageMeter
from trace_workbench.optimizers.optimizer import Optimizer, assign_all
from trace_workbench.trace.values import unified_diff, value_kind
from trace_workbench.train.data import as_examples
from trace_workbench.train.evaluate import forward, value
from trace_workbench.train.runner import run_concurrently
from trace_workbench.train.search.candidates import (
    DROPPED,
    EXPANDED,
    OPEN,
    PRUNED,
    Candidate,
    Rollout,
    ucb_bounds,
)
from trace_workbench.train.search.objectives import Objective, as_objective, pareto_layers
from trace_workbench.train.search.store import SearchStore
from trace_workbench.train.tokens import SpentTokens, default_meters
from trace_workbench.utils.concurrency import ExecutorSpec
from trace_workbench.workbench.events import Event
from trace_workbench.workbench.history import ValueChange
from trace_workbench.workbench.session import Session, as_feedback

__all__ = ["CANDIDATE", "SEARCH", "Search", "SearchError", "SearchResult", "run_search"]

CANDIDATE = "candidate"
"""History decision of a row recording a candidate (its diff against its parent)."""
SEARCH = "search"
"""History decision of a row recording a choice: parents picked, promote, prune, stop, the result."""
STRATEGIES = ("beam", "priority")


class SearchError(ValueError):
    """A steering command or a resume that cannot be done (unknown candidate, mismatched parameters...)."""


@dataclass
class SearchResult:
    """Why the search stopped, its best candidate, the Pareto front (ids) and the tokens it spent."""

    stopped: str
    best: Candidate | None
    front: list[int]
    candidates: list[Candidate] = field(repr=False)
    tokens: int = 0

    @property
    def best_parameters(self) -> dict[str, Any]:
        return dict(self.best.values) if self.best is not None else {}


def _text(v: Any) -> str:
    return v if isinstance(v, str) else repr(v)


class Search:
    """One search run, named `name` within the session's notebook; see the module's notes.

    metric(output value, info) returns a float (the metric "score") or a dict of named metrics; by
    default it is feedback_fn's score. Each rollout also gets "tokens" (and "cost" when priced): what
    the program's LLM calls spent on it, unless the metric names them itself. token_budget counts the
    tokens of `meters` (default: the program LLM's and the optimizer's); time_budget is seconds of
    searching, summed over resumed runs. `executor` (or `num_threads`) runs rollouts' forward passes.
    """

    def __init__(self, program: Callable[[Any], Any], dataset: Any, optimizer: Optimizer,
                 feedback_fn: Callable[[Any, Any], Any], *, metric: Callable[[Any, Any], Any] | None = None,
                 strategy: str = "priority", objective: Objective | str | Mapping[str, float] | None = None,
                 beam_width: int = 2, branching: int = 2, rounds: int = 3, batch_size: int = 2,
                 min_rollouts: int = 1, ucb_rollouts: int = 2, exploration: float = 1.0,
                 token_budget: int | None = None, time_budget: float | None = None,
                 num_threads: int | None = None, executor: ExecutorSpec = None,
                 session: Session | None = None, name: str = "search", min_score: float = 0.0,
                 meters: Iterable[UsageMeter] | None = None, apply_best: bool = True) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy is one of {STRATEGIES}, not {strategy!r}")
        for label, number in (("beam_width", beam_width), ("branching", branching), ("rounds", rounds),
                              ("batch_size", batch_size), ("min_rollouts", min_rollouts)):
            if number < 1:
                raise ValueError(f"{label} must be at least 1, got {number}")
        self.program, self.optimizer, self.feedback_fn = program, optimizer, feedback_fn
        self.examples = as_examples(dataset)
        if not self.examples:
            raise ValueError("the search needs at least one example")
        self.metric = metric
        self.strategy, self.objective = strategy, as_objective(objective)
        self.beam_width, self.branching, self.rounds, self.batch_size = beam_width, branching, rounds, batch_size
        self.min_rollouts, self.ucb_rollouts, self.exploration = min_rollouts, ucb_rollouts, exploration
        self.token_budget, self.time_budget = token_budget, time_budget
        self.num_threads, self.executor = num_threads, executor
        self.session, self.name, self.min_score, self.apply_best = session, name, min_score, apply_best
        self._meters = list(meters) if meters is not None else default_meters(optimizer)
        self.store = SearchStore(session.history) if session is not None else None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._listeners: list[Callable[[str, Search], None]] = []
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.candidates: dict[int, Candidate] = {}
        self.state: dict[str, Any] = {}
        self.status = "new"
        """"new", "running", "stopped", "finished", "interrupted" or "failed"."""
        self.result: SearchResult | None = None
        if session is not None:
            session.adopt(optimizer.parameters)

    # -- watching --------------------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[str, Search], None]) -> None:
        """Call listener(event, search) after every change ("candidate", "rollout", "choice", "status")."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[str, Search], None]) -> None:
        self._listeners.remove(listener)

    def _emit(self, event: str) -> None:
        for listener in list(self._listeners):
            listener(event, self)

    def ranked(self) -> list[Candidate]:
        """The rolled-out, unpruned candidates, best first (Pareto layer, then the weighted sum)."""
        with self._lock:
            rolled = [c for c in self.candidates.values() if c.rollouts and c.status != PRUNED]
            layers = self._layers(rolled)
            return sorted(rolled, key=lambda c: (layers.get(c.id, 0), -(c.scalar(self.objective) or 0.0), c.id))

    def _layers(self, candidates: list[Candidate]) -> dict[int, int]:
        if not self.objective.pareto:
            return {}
        return pareto_layers({c.id: self.objective.signed(c.means()) for c in candidates})

    def best(self) -> Candidate | None:
        """The best candidate so far (for a Pareto objective: on the front, best weighted sum)."""
        ranked = self.ranked()
        return ranked[0] if ranked else None

    def front(self) -> list[int]:
        """Ids of the unpruned candidates no other dominates on the objective's metrics."""
        with self._lock:
            rolled = [c for c in self.candidates.values() if c.rollouts and c.status != PRUNED]
            return sorted(i for i, layer in pareto_layers(
                {c.id: self.objective.signed(c.means()) for c in rolled}).items() if layer == 0)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per candidate, by id: lineage, status, rollouts, mean metrics, objective value, UCB."""
        with self._lock:
            bounds = ucb_bounds(list(self.candidates.values()), self.objective, self.exploration)
            front = set(self.front())
            best = self.best()
            rows = []
            for c in sorted(self.candidates.values(), key=lambda c: c.id):
                value_now = c.scalar(self.objective)
                rows.append({"id": c.id, "parent": c.parent, "status": c.status, "promoted": c.promoted,
                             "rollouts": c.n, "metrics": c.means(), "value": value_now,
                             "ucb": bounds[c.id][1] if c.id in bounds else None, "front": c.id in front,
                             "best": best is not None and c.id == best.id, "tokens": c.tokens,
                             "changed": sorted(c.proposal.get("changes", {})),
                             "reasoning": c.proposal.get("reasoning", "")})
            return rows

    def diff(self, candidate: int) -> list[dict[str, str]]:
        """The candidate's parameters that differ from its parent's: name, old and new text, unified diff."""
        with self._lock:
            c = self._get(candidate)
            parent = self.candidates.get(c.parent) if c.parent is not None else None
            before = parent.values if parent is not None else c.values
            return [{"name": self._shown_name(n), "old": _text(before.get(n)), "new": _text(v),
                     "diff": unified_diff(self._shown_name(n), before.get(n), v)}
                    for n, v in c.values.items() if before.get(n) != v]

    def _shown_name(self, py_name: str) -> str:
        return self.session.name_of(py_name) if self.session is not None else py_name

    @property
    def tokens(self) -> int:
        return int(self.state.get("tokens", 0))

    # -- steering (any thread) -----------------------------------------------------------------------
    def _get(self, candidate: int) -> Candidate:
        try:
            return self.candidates[int(candidate)]
        except (KeyError, ValueError, TypeError):
            known = ", ".join(f"#{i}" for i in sorted(self.candidates)) or "none yet"
            raise SearchError(f"the search {self.name!r} has no candidate {candidate!r} "
                              f"(candidates: {known})") from None

    def promote(self, candidate: int) -> None:
        """Expand this candidate next (first in line, even if it fell out of the beam or was pruned)."""
        with self._lock:
            c = self._get(candidate)
            c.promoted = True
            if c.status in (PRUNED, DROPPED):
                c.status = OPEN
            self._choice(f"candidate #{c.id} promoted by a person", [c])
        self._emit("choice")

    def prune(self, candidate: int) -> None:
        """Never roll out or expand this candidate again (the root cannot be pruned: it is the fallback)."""
        with self._lock:
            c = self._get(candidate)
            if c.parent is None:
                raise SearchError(f"candidate #{c.id} is the starting point of the search; prune its children instead")
            c.status, c.promoted = PRUNED, False
            if c.id in self.state.get("todo", []):
                self.state["todo"] = [i for i in self.state["todo"] if i != c.id]
            self._choice(f"candidate #{c.id} pruned by a person", [c])
        self._emit("choice")

    def stop(self) -> None:
        """Stop after the unit of work under way (its result is kept; `resume` goes on from there)."""
        self._stop.set()

    # -- running ---------------------------------------------------------------------------------------
    def start(self, resume: bool = False) -> threading.Thread:
        """Run the search in a background thread (the kernel stays free for the widget and magics)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise SearchError(f"the search {self.name!r} is already running; stop it first")

            def work() -> None:
                try:
                    self.run(resume=resume)
                except BaseException as e:  # kept for wait() and shown as the status
                    self._error = e

            self._error = None
            self._thread = threading.Thread(target=work, name=f"trace-search-{self.name}", daemon=True)
            self._thread.start()
            return self._thread

    def wait(self, timeout: float | None = None) -> SearchResult | None:
        """Wait for a background run to end; re-raises what it raised. None if still running at timeout."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                return None
        if self._error is not None:
            raise self._error
        return self.result

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() or self.status == "running"

    def run(self, resume: bool = False) -> SearchResult:
        """Search until the rounds are done, a budget is spent or stop() is called; see the module's notes.

        resume=True continues the run saved under this name (needs a session); otherwise a saved run of
        the same name is started over. A KeyboardInterrupt puts the parameters back and is re-raised.
        """
        if resume and self.store is None:
            raise SearchError("resume=True reads the saved search from the session's history file: pass session=")
        by_name = self.optimizer.parameters_by_name
        start_values = {n: p._data for n, p in by_name.items()}
        with self._lock:
            self._stop.clear()
            if not (resume and self._load()):
                self._fresh(start_values)
            self.status = "running"
        self._emit("status")
        tokens = SpentTokens(self._meters, self.tokens)
        started = time.monotonic()
        elapsed_before = float(self.state.get("elapsed", 0.0))
        try:
            stopped = self._loop(tokens, lambda: elapsed_before + time.monotonic() - started)
        except KeyboardInterrupt:
            assign_all((by_name[n], v) for n, v in start_values.items())
            with self._lock:
                self.status = "interrupted"
                self._record("cancelled", note=f"{self.name}: search interrupted in round {self.state['round']}; "
                             "its candidates are saved, resume continues")
            self._emit("status")
            raise
        except BaseException:
            assign_all((by_name[n], v) for n, v in start_values.items())
            with self._lock:
                self.status = "failed"
            self._emit("status")
            raise
        return self._finish(stopped, start_values)

    def _fresh(self, values: dict[str, Any]) -> None:
        self.candidates = {0: Candidate(id=0, parent=None, values=dict(values))}
        self.state = {"round": 0, "todo": [], "ucb_left": 0, "next_id": 1, "tokens": 0, "elapsed": 0.0,
                      "strategy": self.strategy, "objective": self.objective.to_dict()}
        self._choice(f"search started ({self.strategy}, {self.objective.describe()}) from candidate #0",
                     list(self.candidates.values()))

    def _load(self) -> bool:
        saved = self.store.load(self.name) if self.store is not None else None
        if saved is None:
            return False
        state, candidates = saved
        loaded = {c["id"]: Candidate.from_dict(c) for c in candidates}
        names = set(self.optimizer.parameters_by_name)
        if loaded and set(loaded[min(loaded)].values) != names:
            raise SearchError(f"cannot resume search {self.name!r}: it was saved with parameters "
                              f"{sorted(loaded[min(loaded)].values)}, the optimizer has {sorted(names)}")
        self.candidates, self.state = loaded, state
        self._record(SEARCH, note=f"{self.name}: resumed in round {state['round']} with {len(loaded)} candidates")
        return True

    def _save(self, changed: Iterable[Candidate]) -> None:
        if self.store is not None:
            self.store.save(self.name, self.state, [c.to_dict() for c in changed])

    def _record(self, decision: str, names: Iterable[str] = (), **fields: Any) -> int | None:
        if self.session is None:
            return None
        return self.session.history.record(decision, names, optimizer=type(self.optimizer).__name__, **fields)

    def _choice(self, note: str, changed: list[Candidate]) -> None:
        """Record a choice in the history and save the state with the candidates it changed (lock held)."""
        self._record(SEARCH, note=f"{self.name}: {note}", proposal={"search": self.name, "round": self.state["round"]})
        self._save(changed)

    def _budget_spent(self, tokens: SpentTokens, elapsed: Callable[[], float]) -> str | None:
        if self._stop.is_set():
            return "stopped"
        if self.token_budget is not None and tokens.used() >= self.token_budget:
            return "token budget"
        if self.time_budget is not None and elapsed() >= self.time_budget:
            return "time budget"
        return None

    def _loop(self, tokens: SpentTokens, elapsed: Callable[[], float]) -> str:
        """Do one unit of work at a time, saving after each, until something says stop."""
        while True:
            with self._lock:
                self.state["tokens"], self.state["elapsed"] = tokens.used(), elapsed()
            stopped = self._budget_spent(tokens, elapsed)
            if stopped is not None:
                return stopped
            with self._lock:
                short = [c for c in self.candidates.values() if c.status != PRUNED and c.status != DROPPED
                         and c.n < min(self.min_rollouts, len(self.examples))]
                todo = list(self.state["todo"])
            if short:
                self._roll_out(short[0], min(self.min_rollouts, len(self.examples)) - short[0].n, tokens)
                continue
            if todo:
                self._expand(todo[0], tokens)
                continue
            if self.state["ucb_left"] > 0:
                self._ucb_rollout(tokens)
                continue
            with self._lock:
                promoted = any(c.promoted for c in self.candidates.values())
            if self.state["round"] >= self.rounds and not promoted:  # a promotion is honoured past the rounds
                return "completed"
            if not self._next_round():
                return "exhausted"

    def _roll_out(self, c: Candidate, count: int, tokens: SpentTokens) -> None:
        """Run candidate `c` on its next `count` examples (the same order for every candidate) and score them."""
        indices = [(c.n + k) % len(self.examples) for k in range(count)]
        by_name = self.optimizer.parameters_by_name
        assign_all((by_name[n], v) for n, v in c.values.items())
        probe = SpentTokens(self._meters)
        results = run_concurrently(partial(forward, self.program), [self.examples[i] for i in indices],
                                   num_threads=self.num_threads, executor=self.executor)
        spent = probe.used() / len(indices)
        rollouts = []
        for i, (output, error) in zip(indices, results, strict=True):
            metrics = {"score": self.min_score} if error is not None else self._metrics(value(output),
                                                                                        self.examples[i].info)
            metrics.setdefault("tokens", spent)
            rollouts.append(Rollout(i, metrics, error))
        with self._lock:
            c.rollouts.extend(rollouts)
            self.state["tokens"] = tokens.used()
            self._save([c])
        self._emit("rollout")

    def _metrics(self, output: Any, info: Any) -> dict[str, float]:
        if self.metric is None:
            score = as_feedback(self.feedback_fn(output, info))[1]
            return {"score": self.min_score if score is None else score}
        found = self.metric(output, info)
        if isinstance(found, Mapping):
            return {k: float(v) for k, v in found.items()}
        return {"score": float(found)}

    def _ucb_rollout(self, tokens: SpentTokens) -> None:
        with self._lock:
            alive = [c for c in self.candidates.values() if c.status not in (PRUNED, DROPPED)]
            bounds = ucb_bounds(alive, self.objective, self.exploration)
            room = [c for c in alive if c.id in bounds and c.n < len(self.examples)]
            self.state["ucb_left"] -= 1
            if not room:
                self.state["ucb_left"] = 0
                self._save([])
                return
            leader = max(room, key=lambda c: (bounds[c.id][1], -c.id))
        self._roll_out(leader, 1, tokens)

    def _next_round(self) -> bool:
        """Pick the round's parents (promoted ones first); False when none is left."""
        with self._lock:
            promoted = sorted((c for c in self.candidates.values() if c.promoted), key=lambda c: c.id)
            ranked = self.ranked()
            if self.strategy == "beam":
                pool = [c for c in ranked if c.status == OPEN and not c.promoted]
            else:
                bounds = ucb_bounds(ranked, self.objective, self.exploration)
                layers = self._layers(ranked)
                pool = sorted((c for c in ranked if c.status in (OPEN, EXPANDED) and not c.promoted),
                              key=lambda c: (layers.get(c.id, 0), -bounds[c.id][1], c.id))
            parents = (promoted + pool)[:max(self.beam_width, len(promoted))]
            if not parents:
                return False
            changed = list(parents)
            for c in parents:
                c.promoted = False
            if self.strategy == "beam":
                for c in pool:
                    if c not in parents:
                        c.status = DROPPED
                        changed.append(c)
            self.state["round"] += 1
            self.state["todo"] = [c.id for c in parents for _ in range(self.branching)]
            self.state["ucb_left"] = self.ucb_rollouts
            dropped = [c.id for c in changed if c.status == DROPPED]
            self._choice(f"round {self.state['round']} expands " + ", ".join(f"#{c.id}" for c in parents)
                         + (f"; out of the beam: {', '.join(f'#{i}' for i in dropped)}" if dropped else ""), changed)
        self._emit("choice")
        return True

    def _expand(self, parent_id: int, tokens: SpentTokens) -> None:
        """Ask the optimizer for one child of the parent: forward passes on a minibatch, feedback, a proposal."""
        with self._lock:
            parent = self.candidates[parent_id]
            round_number = self.state["round"]
            made = sum(1 for c in self.candidates.values() if c.parent == parent_id)
        start = (made * self.batch_size) % len(self.examples)
        batch = [self.examples[(start + k) % len(self.examples)] for k in range(min(self.batch_size,
                                                                                   len(self.examples)))]
        by_name = self.optimizer.parameters_by_name
        assign_all((by_name[n], v) for n, v in parent.values.items())
        results = run_concurrently(partial(forward, self.program), batch, num_threads=self.num_threads,
                                   executor=self.executor)
        self.optimizer.zero_feedback()
        for (output, error), example in zip(results, batch, strict=True):
            text = error if error is not None else as_feedback(self.feedback_fn(value(output), example.info))[0]
            self.optimizer.backward(output, text)
        proposal = self.optimizer.propose()
        values = {**parent.values, **{n: change.new for n, change in proposal.changes.items()}}
        spent = proposal.usage.total_tokens if proposal.usage is not None else 0
        with self._lock:
            if parent_id in self.state["todo"]:
                self.state["todo"].remove(parent_id)
            if parent.status == OPEN:
                parent.status = EXPANDED
            if values == parent.values:
                self.state["tokens"] = tokens.used()
                self._choice(f"round {round_number}: a proposal for #{parent_id} changed nothing"
                             + (f" ({proposal.error})" if proposal.error else ""), [parent])
                self._emit("choice")
                return
            child = Candidate(id=self.state["next_id"], parent=parent_id, values=values, tokens=spent,
                              proposal=proposal.to_dict())
            self.state["next_id"] += 1
            self.state["tokens"] = tokens.used()
            changes = [ValueChange(self._shown_name(n), value_kind(by_name[n]), parent.values[n], values[n])
                       for n in proposal.changes]
            child.history_step = self._record(
                CANDIDATE, [ch.name for ch in changes], proposal={**child.proposal, "search": self.name,
                                                                 "candidate": child.id, "parent": parent_id},
                usage={"total_tokens": spent}, changes=changes,
                note=f"{self.name}: candidate #{child.id} from #{parent_id} (round {round_number})")
            self.candidates[child.id] = child
            self._save([parent, child])
        self._emit("candidate")

    def _finish(self, stopped: str, start_values: dict[str, Any]) -> SearchResult:
        """Set the best candidate's values (recorded with their diff) or the starting ones; the result."""
        by_name = self.optimizer.parameters_by_name
        with self._lock:
            best = self.best()
            chosen = best.values if best is not None and self.apply_best else start_values
            assign_all((by_name[n], v) for n, v in chosen.items())
            changes = [ValueChange(self._shown_name(n), value_kind(by_name[n]), start_values[n], v)
                       for n, v in chosen.items() if start_values[n] != v]
            score = best.scalar(self.objective) if best is not None else None
            self.state["stopped"] = stopped
            self.status = "stopped" if stopped == "stopped" else "finished"
            fields = dict(score=score, usage={"total_tokens": self.tokens}, optimizer=type(self.optimizer).__name__,
                          proposal={"search": self.name, "best": best.id if best else None, "front": self.front(),
                                    "stopped": stopped},
                          note=f"{self.name}: {stopped} after {self.state['round']} rounds, "
                               f"{len(self.candidates)} candidates; best #{best.id if best else '-'}"
                               + (" applied" if changes else ""))
            if changes and self.session is not None:  # undoable, and the session's listeners are told
                self.session.record_applied(Event.SEARCHED, changes, names=[c.name for c in changes], **fields)
            elif self.session is not None:
                self.session.history.record(SEARCH, (), **fields)
            self._save([])
            self.result = SearchResult(stopped=stopped, best=best, front=self.front(),
                                       candidates=sorted(self.candidates.values(), key=lambda c: c.id),
                                       tokens=self.tokens)
        self._emit("status")
        return self.result


def run_search(program: Callable[[Any], Any], dataset: Any, optimizer: Optimizer,
               feedback_fn: Callable[[Any, Any], Any], *, resume: bool = False, **options: Any) -> SearchResult:
    """Build a Search with `options` and run it in this thread; see Search."""
    return Search(program, dataset, optimizer, feedback_fn, **options).run(resume=resume)
