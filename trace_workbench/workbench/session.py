"""The human-in-the-loop session: feedback -> backward -> propose -> accept / reject / undo / restore.

A Session is the workbench's one public object. It holds the parameters and outputs traced cells
registered (`registry.Registry`), the optimizer and LLM settings (`configuration.Configuration`), the
SQLite history and the steps it can undo (`journal.Journal`), and its listeners (`events.Events`);
the loop itself (feedback, propose, accept, reject, undo, restore) is written here, and the automatic
loop in `optimize_loop`. It knows nothing of Jupyter: the IPython extension drives one per kernel
(`get_session()`), and scripts can use it directly. Views subscribe with `subscribe(listener)`.
"""

from __future__ import annotations

import os
import threading
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trace_workbench.optimizers import Candidate, Candidates, Optimizer, OptoPrimeMulti, Proposal
from trace_workbench.trace.bundle import FunModule
from trace_workbench.trace.graph import Scope
from trace_workbench.trace.nodes import Node, ParameterNode
from trace_workbench.trace.values import clean_text, value_kind
from trace_workbench.workbench.configuration import LLM_SETTINGS, OPTIMIZERS, Configuration
from trace_workbench.workbench.errors import Cancelled, SessionError
from trace_workbench.workbench.events import Event, Events, SessionListener
from trace_workbench.workbench.history import DEFAULT_HISTORY_PATH, ENV_HISTORY, History, Step, ValueChange
from trace_workbench.workbench.journal import Journal
from trace_workbench.workbench.optimize_loop import OptimizeStep, as_feedback, default_success, optimize
from trace_workbench.workbench.registry import Registry

__all__ = [
    "LLM_SETTINGS",
    "OPTIMIZERS",
    "Cancelled",
    "Feedback",
    "OptimizeStep",
    "Session",
    "SessionError",
    "SessionListener",
    "as_feedback",
    "default_success",
    "get_session",
    "set_session",
]


@dataclass(frozen=True)
class Feedback:
    """Feedback given to one output: its label, the text and an optional score."""

    label: str
    text: str
    score: float | None = None

    @property
    def message(self) -> str:
        """The text the optimizer reads (the score appended when there is one)."""
        if self.score is None:
            return self.text
        return f"{self.text}\nScore: {self.score:g}" if self.text else f"Score: {self.score:g}"


def default_history_path(notebook: str | None = None) -> Path:
    """$TRACE_WORKBENCH_HISTORY, else `.trace_workbench/history.sqlite` beside the notebook (or in the cwd)."""
    configured = os.environ.get(ENV_HISTORY)
    if configured:
        return Path(configured).expanduser()
    if notebook and os.path.isabs(notebook):
        return Path(notebook).parent / DEFAULT_HISTORY_PATH
    return Path.cwd() / DEFAULT_HISTORY_PATH


class Session:
    """Parameters, outputs, an optimizer and a history: the loop a person drives from a notebook.

    history: a path to the SQLite file (or a History); default `default_history_path(notebook)`.
    notebook: the path steps are recorded under (several notebooks may share one history file).
    optimizer: "optoprime" (default), "opro" or "textgrad"; llm: an LLM (default: made on first use
    from the settings of `configure()` and the environment). Extra options go to the optimizer.
    """

    def __init__(self, history: str | os.PathLike[str] | History | None = None, *, notebook: str | None = None,
                 optimizer: str = "optoprime", llm: Any = None, **optimizer_options: Any) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.notebook = notebook or ""
        self.config = Configuration(optimizer, llm, **optimizer_options)
        if not isinstance(history, History):
            path = Path(history) if history is not None else default_history_path(notebook)
            history = History(path, notebook=self.notebook, session=self.id)
        self.events = Events()
        self.journal = Journal(history)
        self.registry = Registry(self.journal, self.emit)
        self._feedback: list[Feedback] = []
        self._pending: Proposal | None = None

    # -- events ------------------------------------------------------------------------------------
    def subscribe(self, listener: SessionListener) -> None:
        """Call `listener(event, payload)` for every event of this session from now on (see `Event`)."""
        self.events.subscribe(listener)

    def unsubscribe(self, listener: SessionListener) -> None:
        """Stop calling `listener`."""
        self.events.unsubscribe(listener)

    def emit(self, event: Event | str, **payload: Any) -> None:
        """Tell every listener `event` (an `Event` or its name) with `payload`: for what drives the session
        from outside (a traced cell starting, a training run)."""
        self.events.emit(event, **payload)

    # -- configuration -----------------------------------------------------------------------------
    def configure(self, *, optimizer: str | None = None, history: str | os.PathLike[str] | None = None,
                  **llm_settings: Any) -> dict[str, Any]:
        """Choose the optimizer, the history file, and the LLM's model, base_url, timeout, max_retries.

        Keys are not settings: they come from OPENAI_API_KEY or `trace_workbench.llm.prompt_api_key()`.
        Another optimizer or other LLM settings make a new optimizer at the next propose (with an empty
        memory). Returns the settings now in effect (never a key).
        """
        self.config.check_llm_settings(llm_settings)
        if optimizer is not None:
            self.use_optimizer(optimizer)
        if history is not None:
            chosen = History(Path(history).expanduser(), notebook=self.notebook, session=self.id)
            chosen.check()  # a file that cannot be used is refused now, and the current one is kept
            self.journal.history.close()
            self.journal.history = chosen
        self.config.set_llm(**llm_settings)
        return self.settings

    @property
    def settings(self) -> dict[str, Any]:
        """The optimizer, history path and LLM settings now in effect (environment included; no key, and
        the base URL with its user-info and query values redacted)."""
        settings = self.config.settings()
        return {"optimizer": settings.pop("optimizer"), "history": str(self.history.path), **settings}

    def use_optimizer(self, name: str) -> None:
        """Switch to another optimizer kind (made again at the next propose)."""
        self.config.use_optimizer(name)

    @property
    def optimizer_name(self) -> str:
        """"optoprime", "opro" or "textgrad"."""
        return self.config.optimizer_name

    @property
    def optimizer_options(self) -> dict[str, Any]:
        """The options the optimizer is made with (Session's extra keyword arguments)."""
        return self.config.optimizer_options

    @property
    def llm_settings(self) -> dict[str, Any]:
        """The LLM settings given with `configure()`."""
        return self.config.llm_settings

    @property
    def llm(self) -> Any:
        """The LLM the optimizer talks to (made on first use from `configure()` and the environment)."""
        return self.config.llm

    @property
    def optimizer(self) -> Optimizer:
        """The optimizer over all registered parameters. A parameter registered after it was made is added
        to it: its memory of earlier steps and its revert stack are kept."""
        return self.config.optimizer(list(self.parameters.values()))

    @property
    def candidate_optimizer(self) -> OptoPrimeMulti:
        """The OptoPrimeMulti that `propose(candidates=N)` asks: over the same parameters, with the same LLM.

        It asks for the N candidates as N choices of one request (generation="n"), so they cost one
        prompt. It takes the session's optimizer options when the session's optimizer is OptoPrime.
        """
        return self.config.candidate_optimizer(self.optimizer.parameters)

    @property
    def history(self) -> History:
        """The history file of this session's notebook (iterate it for the steps)."""
        return self.journal.history

    # -- what cells register (see registry.Registry) -----------------------------------------------
    @property
    def parameters(self) -> dict[str, ParameterNode]:
        """Trainable values by variable name (a trainable function's name maps to its code parameter)."""
        return self.registry.parameters

    @property
    def functions(self) -> dict[str, FunModule]:
        """Trainable functions by name."""
        return self.registry.functions

    @property
    def owners(self) -> dict[str, str]:
        """The label of the cell that defined each parameter."""
        return self.registry.owners

    @property
    def outputs(self) -> dict[str, Node]:
        """The node that receives feedback, by cell label."""
        return self.registry.outputs

    @property
    def scopes(self) -> dict[str, Scope]:
        """Each traced cell's subgraph, by label."""
        return self.registry.scopes

    @property
    def last_label(self) -> str | None:
        """The label of the traced cell that ran last (the default output)."""
        return self.registry.last_label

    def parameter(self, name: str, value: Any, *, source: str | None = None, cell: str | None = None) -> ParameterNode:
        """The trainable parameter `name`, made on first use with `value`.

        Later calls return the same node with its current (accepted) value, unless `source` (the text
        that gave `value`, e.g. the literal in the cell) changed since: then `value` wins, recorded as
        "edited" in the history.
        """
        return self.registry.parameter(name, value, source=source, cell=cell)

    def function(self, name: str, fun: Callable[..., Any], *, source: str | None = None,
                 cell: str | None = None) -> FunModule:
        """The trainable function `name` (a bundle(trainable=True) FunModule), made on first use from `fun`.

        As with `parameter`, later calls keep the accepted code unless the function's `source` changed.
        """
        return self.registry.function(name, fun, source=source, cell=cell)

    def add_output(self, label: str, output: Node, scope: Scope | None = None) -> None:
        """Make `output` the node of cell `label` that receives feedback (the last one is the default)."""
        self.registry.add_output(label, output, scope)

    def output(self, label: str | Node | None = None) -> tuple[str, Node]:
        """(label, node) of the output called `label` (a label, a node, or None for the last cell)."""
        return self.registry.output(label)

    def adopt(self, parameters: Iterable[ParameterNode]) -> None:
        """Know parameters no cell defined (a script's, a training run's) by their py_name, so that
        history steps changing them can be restored like a cell's."""
        self.registry.adopt(parameters)

    def name_of(self, py_name: str) -> str:
        """The session name ("prompt", "f") of a parameter the optimizer calls `py_name` ("prompt0", "__code0")."""
        return self.registry.name_of(py_name)

    # -- the loop --------------------------------------------------------------------------------------
    @property
    def pending(self) -> Proposal | None:
        """The proposal waiting for a decision, if any."""
        return self._pending

    @property
    def given_feedback(self) -> list[Feedback]:
        """The feedback given since the last accepted step."""
        return list(self._feedback)

    def feedback(self, output: str | Node | None = None, text: str | None = None,
                 score: float | None = None) -> Node:
        """Give feedback (words, a score, or both) to an output and carry it back to the parameters."""
        if text is None and score is None:
            raise SessionError("feedback needs a text, a score, or both")
        label, node = self.output(output)
        text, invalid = clean_text(text or "")
        if invalid:
            warnings.warn(f"the feedback held {invalid} invalid Unicode character(s) (lone surrogates); each was "
                          "replaced by U+FFFD", UnicodeWarning, stacklevel=2)
        given = Feedback(label, text, None if score is None else float(score))
        optimizer = self.optimizer
        if not self._feedback:
            optimizer.zero_feedback()
        optimizer.backward(node, given.message)
        self._feedback.append(given)
        self._pending = None
        self.emit(Event.FEEDBACK, label=label, text=given.text, score=given.score, output=node)
        return node

    def clear_feedback(self) -> None:
        """Forget the feedback given since the last step and the pending proposal (nothing is recorded):
        the next feedback starts afresh."""
        self._feedback = []
        self._pending = None

    def _feedback_fields(self) -> dict[str, Any]:
        if not self._feedback:
            return {"feedback": None, "score": None, "cell": None}
        text = "\n".join(f.message if len(self._feedback) == 1 else f"[{f.label}] {f.message}" for f in self._feedback)
        return {"feedback": text, "score": self._feedback[-1].score, "cell": self._feedback[-1].label}

    def propose(self, stop: threading.Event | None = None, candidates: int | None = None, *,
                evaluator: Callable[[], float] | None = None) -> Proposal:
        """Ask the optimizer for new values from the feedback given; nothing changes until `accept()`.

        candidates=N (N >= 2) asks `candidate_optimizer` for N alternatives at once: the pending
        proposal is then the Candidates, holding them all (each a diff against the current
        values, with its reasoning), and `accept(candidate=K)` takes one. With `evaluator` (a callable
        of no arguments returning a score, higher is better) each candidate is tried (applied, scored,
        reverted) and the best becomes the default choice; without it, the last candidate is.

        An interrupt (KeyboardInterrupt) while waiting for the model is recorded as "cancelled" and
        re-raised; nothing is applied. So is a `stop` event set meanwhile (the widget's Stop button):
        whoever sets it records the cancellation with `cancel()`, and the late reply is dropped.
        """
        if not self._feedback:
            raise SessionError("give feedback first (session.feedback(...) or %trace_feedback TEXT)")
        if candidates is not None and candidates < 1:
            raise SessionError(f"candidates must be at least 1, not {candidates}")
        several = candidates is not None and candidates > 1
        if evaluator is not None and not several:
            raise SessionError("an evaluator scores candidates: ask for two or more (candidates=N)")
        try:
            if several:
                proposal = self.candidate_optimizer.propose(num_responses=candidates, evaluator=evaluator)
            else:
                proposal = self.optimizer.propose()
        except KeyboardInterrupt as e:
            note = "interrupted while proposing; nothing changed"
            self.cancel(note)
            raise Cancelled(note) from e
        if stop is not None and stop.is_set():
            raise Cancelled("stopped while proposing; nothing changed")
        self._pending = proposal
        self.emit(Event.PROPOSAL, proposal=proposal, names={p: self.name_of(p) for p in proposal.changes})
        return proposal

    def cancel(self, note: str = "stopped while proposing; nothing changed") -> int:
        """Record that something running elsewhere (a propose in the widget's thread, a training run) was
        stopped with nothing half-applied; returns the step."""
        step = self.history.record(Event.CANCELLED.value, optimizer=self.optimizer_name, note=note,
                                   **self._feedback_fields())
        self.emit(Event.CANCELLED, step=step, note=note)
        return step

    @property
    def candidates(self) -> list[Candidate]:
        """The alternatives of the pending proposal (see `propose(candidates=N)`); [] when there are none."""
        pending = self._pending
        return list(pending) if isinstance(pending, Candidates) else []

    def accept(self, names: Iterable[str] | str | None = None, edits: Mapping[str, Any] | None = None,
               candidate: int | None = None, *, decision: Event = Event.ACCEPTED) -> dict[str, Any]:
        """Apply the pending proposal: all of it, or the named parameters, with optional edited values.

        `candidate` K takes candidate K of a `propose(candidates=N)` (default: the one the evaluator
        scored best, else the last). All or nothing (an ApplyError changes nothing). Returns
        {name: new value}; the step is recorded, with the chosen candidate's index among all of them,
        as `decision`: "accepted" (a person's) or "optimized" (an automatic loop's).
        """
        if decision not in (Event.ACCEPTED, Event.OPTIMIZED):
            raise SessionError(f"a proposal is accepted or optimized, not {decision}")
        proposal = self.proposal_for(candidate)
        for name, value in (edits or {}).items():
            proposal = proposal.edit(self.registry.py_name(name), value)
        if isinstance(names, str):
            names = [names]
        only = None if names is None else [self.registry.py_name(n) for n in names]
        chosen = list(proposal.changes) if only is None else only
        if not chosen:
            raise SessionError("the proposal changes nothing" + (f": {proposal.error}" if proposal.error else ""))
        optimizer = self.optimizer

        def change() -> list[ValueChange]:
            before = {py: optimizer.parameter(py)._data for py in chosen if py in optimizer.parameters_by_name}
            applied = optimizer.apply(proposal, only=only)
            return [ValueChange(self.name_of(py), value_kind(optimizer.parameter(py)), before[py], value,
                                self.owners.get(self.name_of(py))) for py, value in applied.items()]

        document = proposal.to_dict()
        note = None
        if isinstance(proposal, Candidates):
            note = f"candidate {proposal.index} of {len(proposal)}"
        step, changes = self.journal.commit(decision, change, lambda _: optimizer.revert(),
                                            optimizer=proposal.optimizer, proposal=document, usage=document["usage"],
                                            note=note, **self._feedback_fields())
        self.clear_feedback()
        optimizer.zero_feedback()
        values = {c.name: c.after for c in changes}
        self.emit(decision, step=step, values=values, proposal=proposal)
        return values

    def proposal_for(self, candidate: int | None = None) -> Proposal:
        """What `accept(candidate=candidate)` applies: the pending proposal, or its candidate number
        `candidate` (carrying the list of all of them). SessionError when there is no such proposal."""
        proposal = self._pending
        if proposal is None:
            raise SessionError("nothing to accept: propose first (session.propose() or %trace_propose)")
        if candidate is None:
            return proposal
        if not isinstance(proposal, Candidates):
            raise SessionError("the pending proposal has no candidates: ask for several with "
                               "session.propose(candidates=N) or %trace_propose --candidates N")
        try:
            return proposal.choose(candidate)
        except IndexError as e:
            raise SessionError(str(e)) from None

    def reject(self, reason: str | None = None) -> int:
        """Refuse the pending proposal, all its candidates if it has some (remembered by the optimizers and in
        the history); returns the step."""
        proposal = self._pending
        if proposal is None:
            raise SessionError("nothing to reject: propose first (session.propose() or %trace_propose)")
        refused = self.candidates or [proposal]
        optimizers = [self.optimizer, *([self.candidate_optimizer] if self.candidates else [])]
        for optimizer in optimizers:
            for each in refused:
                optimizer.reject(each, reason)
        names = dict.fromkeys(self.name_of(p) for each in refused for p in each.changes)
        document = proposal.to_dict()
        step = self.history.record(Event.REJECTED.value, list(names), optimizer=proposal.optimizer,
                                   proposal=document, usage=document["usage"], note=reason, **self._feedback_fields())
        self._pending = None
        self.emit(Event.REJECTED, step=step, proposal=proposal)
        return step

    @property
    def last_applied(self) -> int | None:
        """The history step `undo()` would take back (the last accepted, optimized, trained or restored one
        of this session), if any."""
        return self.journal.last_applied

    def record_applied(self, decision: Event, changes: list[ValueChange], **fields: Any) -> int:
        """Record values already applied by a loop outside the session (a training run's step) as a history
        step of `decision`, undoable like an accepted one and told to the listeners; returns the step.

        `fields` go to `History.record` (feedback, score, optimizer, proposal, usage, note, names).
        """
        step, _ = self.journal.commit(decision, lambda: changes, lambda _: None, **fields)
        self.emit(decision, step=step, values={c.name: c.after for c in changes})
        return step

    def undo(self) -> dict[str, Any]:
        """Put back the values from before the last accepted (or restored, optimized or trained) step of this
        session."""
        if not self.journal.applied:
            raise SessionError("nothing to undo in this session; %trace_restore STEP (session.restore(step)) "
                               "brings back any version from the history")
        step, changes = self.journal.applied.pop()
        undone = self.registry.changes_to({c.name: c.before for c in reversed(changes)})
        try:
            number = self.journal.assign(Event.UNDONE, self.parameters, undone, ref=step, undoable=False,
                                         cell=changes[0].cell if changes else None)
        except BaseException:
            self.journal.applied.append((step, changes))
            raise
        self._pending = None
        values = {c.name: c.after for c in undone}
        self.emit(Event.UNDONE, step=number, ref=step, values=values)
        return values

    def restore(self, step: int, names: Iterable[str] | None = None, *, before: bool = False) -> dict[str, Any]:
        """Set parameters to their values after history step `step` (of any session, e.g. before a restart),
        or with before=True to their values before it (so the values before the first step can be reached).

        Recorded as "restored" and undoable. Parameters no cell has defined yet get the value when their
        cell runs. Returns {name: value}.
        """
        row = self.history.step(int(step))
        wanted = None if names is None else set(names)
        values = {c.name: c.before if before else c.after for c in row.changes if wanted is None or c.name in wanted}
        if not values:
            raise SessionError(f"step #{step} ({row.decision}) changed no parameter"
                               + (f" among {', '.join(sorted(wanted))}" if wanted else ""))
        later = {k: v for k, v in values.items() if k not in self.parameters}
        notes = [f"values before step #{row.id}"] if before else []
        if later:
            notes.append(f"to be applied when a cell defines {', '.join(later)}")
        changes = self.registry.changes_to({k: v for k, v in values.items() if k in self.parameters})
        number = self.journal.assign(Event.RESTORED, self.parameters, changes, names=list(values), ref=row.id,
                                     note="; ".join(notes) or None, cell=row.cell)
        self.registry.pending_restore.update(later)
        self._pending = None
        self.emit(Event.RESTORED, step=number, ref=row.id, values=values, before=before)
        return values

    def steps(self, all_notebooks: bool = False) -> list[Step]:
        """The history's steps for this notebook (or all notebooks), oldest first."""
        return self.history.steps(all_notebooks=all_notebooks)

    # -- automatic loop ----------------------------------------------------------------------------------
    def optimize(self, feedback_fn: Callable[[Any], Any], steps: int = 5, *, output: str | Node | None = None,
                 rerun: Callable[[], Node | None] | None = None,
                 success: Callable[[str, float | None], bool] | None = None, target: float | None = None,
                 progress: Callable[[OptimizeStep], None] | None = None,
                 stop: threading.Event | None = None) -> list[OptimizeStep]:
        """Feedback, propose and apply up to `steps` times, re-running the output's computation each time.

        feedback_fn(value) returns a text, a (text, score) pair or a score. The loop ends early when
        `success(text, score)` holds (default: `default_success` with `target`). Every change is applied
        and recorded as "optimized" in the history. An interrupt, or `stop` (a threading.Event, as in
        `propose`) set meanwhile, is recorded as "cancelled" and raised as Cancelled.
        Returns one OptimizeStep per evaluation (the last one evaluates the final values).
        """
        return optimize(self, feedback_fn, steps, output=output, rerun=rerun, success=success, target=target,
                        progress=progress, stop=stop)

    def close(self) -> None:
        """Close the history file."""
        self.history.close()

    def __repr__(self) -> str:
        return (f"Session({len(self.parameters)} parameters, {len(self.outputs)} outputs, "
                f"optimizer={self.optimizer_name!r}, history={str(self.history.path)!r})")


_SESSION: Session | None = None


def get_session() -> Session:
    """The current session (one per kernel or process), made on first use."""
    global _SESSION
    if _SESSION is None:
        _SESSION = Session()
    return _SESSION


def set_session(session: Session | None) -> Session | None:
    """Make `session` the current one (None: the next get_session() makes a new one); returns the old."""
    global _SESSION
    old, _SESSION = _SESSION, session
    return old
