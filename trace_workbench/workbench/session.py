"""The human-in-the-loop session: feedback -> backward -> propose -> accept / reject / undo / restore.

A Session holds the parameters traced cells registered (by variable name), the outputs that can
receive feedback (by cell label), an optimizer made on first use, and the SQLite history. It knows
nothing of Jupyter: the IPython extension drives one per kernel (`get_session()`), and scripts can
use it directly. Views (the widget) subscribe to its events with `subscribe(listener)`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trace_workbench.optimizers import OPRO, Candidate, Optimizer, OptoPrime, OptoPrimeMulti, Proposal, TextGrad
from trace_workbench.optimizers.optimizer import assign_all
from trace_workbench.trace.bundle import FunModule, function_source
from trace_workbench.trace.graph import Scope
from trace_workbench.trace.nodes import Node, ParameterNode
from trace_workbench.trace.values import clean_text, same_value, value_kind
from trace_workbench.workbench.history import DEFAULT_HISTORY_PATH, ENV_HISTORY, History, Step, ValueChange

__all__ = [
    "OPTIMIZERS",
    "Cancelled",
    "Feedback",
    "OptimizeStep",
    "Session",
    "SessionError",
    "SessionListener",
    "default_success",
    "get_session",
    "set_session",
]

OPTIMIZERS: dict[str, type[Optimizer]] = {"optoprime": OptoPrime, "opro": OPRO, "textgrad": TextGrad}
LLM_SETTINGS = ("model", "base_url", "timeout", "max_retries")

SessionListener = Callable[[str, dict[str, Any]], None]
"""Called as listener(event, payload). Events: "cell", "parameter", "feedback", "proposal", "accepted",
"rejected", "undone", "restored", "edited", "cancelled", "progress"; payloads are dicts (see each method)."""

_SUCCESS = re.compile(r"\b(success|successful|succeeded|correct)\b", re.IGNORECASE)
_NEGATED = re.compile(r"\b(not|isn't|is not|un)\s*(success|successful|correct)", re.IGNORECASE)


class SessionError(Exception):
    """A request the session cannot carry out in its current state; the message says what to do."""


class Cancelled(KeyboardInterrupt):
    """An interrupt stopped a propose or an optimize loop; nothing was half-applied and the history says so."""


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


@dataclass(frozen=True)
class OptimizeStep:
    """One round of an automatic loop: the feedback on the output, and what changed (step number)."""

    index: int
    value: Any
    feedback: str
    score: float | None
    success: bool
    changed: tuple[str, ...] = ()
    step: int | None = None
    error: str | None = None


def default_success(text: str, score: float | None, target: float | None = None) -> bool:
    """The default stop rule: the feedback says "success"/"correct" (not negated), or score >= target."""
    if target is not None and score is not None and score >= target:
        return True
    return bool(text) and bool(_SUCCESS.search(text)) and not _NEGATED.search(text)


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
        if isinstance(history, History):
            self._history = history
        else:
            path = Path(history) if history is not None else default_history_path(notebook)
            self._history = History(path, notebook=self.notebook, session=self.id)
        self._check_optimizer(optimizer)
        self.optimizer_name = optimizer
        self.optimizer_options = dict(optimizer_options)
        self.llm_settings: dict[str, Any] = {}
        self._llm = llm
        self._optimizer: Optimizer | None = None
        self._multi: OptoPrimeMulti | None = None
        self.parameters: dict[str, ParameterNode] = {}
        """Trainable values by variable name (a trainable function's name maps to its code parameter)."""
        self.functions: dict[str, FunModule] = {}
        """Trainable functions by name."""
        self.owners: dict[str, str] = {}
        """The label of the cell that defined each parameter."""
        self.outputs: dict[str, Node] = {}
        """The node that receives feedback, by cell label."""
        self.scopes: dict[str, Scope] = {}
        """Each traced cell's subgraph, by label."""
        self.last_label: str | None = None
        self._sources: dict[str, str | None] = {}
        self._pending_restore: dict[str, Any] = {}
        self._feedback: list[Feedback] = []
        self._pending: Proposal | None = None
        self._applied: list[tuple[int, list[ValueChange]]] = []
        self._listeners: list[SessionListener] = []

    # -- events ------------------------------------------------------------------------------------
    def subscribe(self, listener: SessionListener) -> None:
        """Call `listener(event, payload)` for every event of this session from now on."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: SessionListener) -> None:
        self._listeners.remove(listener)

    def _emit(self, event: str, **payload: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, payload)
            except Exception as e:  # a broken view must not break the loop
                warnings.warn(f"session listener {listener!r} failed on {event}: {e!r}", stacklevel=2)

    # -- configuration -----------------------------------------------------------------------------
    @staticmethod
    def _check_optimizer(name: str) -> None:
        if name not in OPTIMIZERS:
            raise SessionError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")

    def configure(self, *, optimizer: str | None = None, history: str | os.PathLike[str] | None = None,
                  **llm_settings: Any) -> dict[str, Any]:
        """Choose the optimizer, the history file, and the LLM's model, base_url, timeout, max_retries.

        Keys are not settings: they come from OPENAI_API_KEY or `trace_workbench.llm.prompt_api_key()`.
        Returns the settings now in effect (never a key).
        """
        unknown = sorted(set(llm_settings) - set(LLM_SETTINGS))
        if unknown:
            if any("key" in name.lower() for name in unknown):
                raise SessionError("an API key is never a setting: set OPENAI_API_KEY in the environment, "
                                   "or enter it with trace_workbench.llm.prompt_api_key() (input hidden)")
            raise SessionError(f"unknown setting(s) {', '.join(unknown)}; the settings are "
                               f"{', '.join(('optimizer', 'history', *LLM_SETTINGS))}")
        if optimizer is not None:
            self.use_optimizer(optimizer)
        if history is not None:
            chosen = History(Path(history).expanduser(), notebook=self.notebook, session=self.id)
            chosen.check()  # a file that cannot be used is refused now, and the current one is kept
            self._history.close()
            self._history = chosen
        if llm_settings:
            self.llm_settings.update({k: v for k, v in llm_settings.items() if v is not None})
            self._llm = None
            self._optimizer = None
            self._multi = None
        return self.settings

    @property
    def settings(self) -> dict[str, Any]:
        """The optimizer, history path and LLM settings now in effect (environment included; no key, and
        the base URL with its user-info and query values redacted)."""
        from trace_workbench.llm.config import LLMConfig, redact_url

        config = LLMConfig.resolve(**{k: self.llm_settings.get(k) for k in LLM_SETTINGS})
        return {"optimizer": self.optimizer_name, "history": str(self._history.path),
                "model": config.effective_model, "base_url": redact_url(config.base_url), "timeout": config.timeout,
                "max_retries": config.max_retries}

    def use_optimizer(self, name: str) -> None:
        """Switch to another optimizer kind (made again at the next propose)."""
        self._check_optimizer(name)
        if name != self.optimizer_name:
            self.optimizer_name = name
            self._optimizer = None
            self._multi = None

    @property
    def llm(self) -> Any:
        """The LLM the optimizer talks to (made on first use from `configure()` and the environment)."""
        if self._llm is None:
            from trace_workbench.llm import LLM

            self._llm = LLM(**self.llm_settings)
        return self._llm

    @property
    def optimizer(self) -> Optimizer:
        """The optimizer over all registered parameters, made again when they change."""
        params = list(self.parameters.values())
        current = self._optimizer
        if current is None or [id(p) for p in current.parameters] != [id(p) for p in params]:
            if not params:
                raise SessionError("no trainable parameter yet: run a cell with %%trace --train NAME "
                                   "(or --train-code FUNCTION), or call session.parameter()")
            self._optimizer = OPTIMIZERS[self.optimizer_name](params, llm=self.llm, **self.optimizer_options)
        assert self._optimizer is not None
        return self._optimizer

    @property
    def candidate_optimizer(self) -> OptoPrimeMulti:
        """The OptoPrimeMulti that `propose(candidates=N)` asks: over the same parameters, with the same LLM.

        It asks for the N candidates as N choices of one request (generation="n"), so they cost one
        prompt. It takes the session's optimizer options when the session's optimizer is OptoPrime.
        """
        params = self.optimizer.parameters
        current = self._multi
        if current is None or [id(p) for p in current.parameters] != [id(p) for p in params]:
            options = self.optimizer_options if self.optimizer_name == "optoprime" else {}
            self._multi = OptoPrimeMulti(params, llm=self.llm, generation="n", **options)
        return self._multi

    @property
    def history(self) -> History:
        """The history file of this session's notebook (iterate it for the steps)."""
        return self._history

    # -- what cells register -----------------------------------------------------------------------
    def parameter(self, name: str, value: Any, *, source: str | None = None, cell: str | None = None) -> ParameterNode:
        """The trainable parameter `name`, made on first use with `value`.

        Later calls return the same node with its current (accepted) value, unless `source` (the text
        that gave `value`, e.g. the literal in the cell) changed since: then `value` wins, recorded as
        "edited" in the history.
        """
        if isinstance(value, Node):
            value = value._data
        node = self.parameters.get(name)
        if node is None:
            if name in self.functions:
                raise SessionError(f"{name} is already a trainable function")
            if name in self._pending_restore:
                value = self._pending_restore.pop(name)
            node = ParameterNode(value, name=name)
            self._register(name, node, source, cell)
            return node
        if source is not None and source != self._sources.get(name):
            self._sources[name] = source
            if not same_value(node._data, value):
                self._person_edit(name, node, value, cell)
        return node

    def function(self, name: str, fun: Callable[..., Any], *, source: str | None = None,
                 cell: str | None = None) -> FunModule:
        """The trainable function `name` (a bundle(trainable=True) FunModule), made on first use from `fun`.

        As with `parameter`, later calls keep the accepted code unless the function's `source` changed.
        """
        module = self.functions.get(name)
        if module is not None and (source is None or source == self._sources.get(name)):
            return module
        new = FunModule(fun, trainable=True)
        assert new.parameter is not None
        if module is None:
            if name in self.parameters:
                raise SessionError(f"{name} is already a trainable value")
            if name in self._pending_restore:
                new.parameter._set(self._pending_restore.pop(name))
            self.functions[name] = new
            self._register(name, new.parameter, source, cell)
            return new
        parameter = self.parameters[name]
        self._sources[name] = source
        code = function_source(fun)[0]
        new.parameter = parameter
        self.functions[name] = new
        if not same_value(parameter._data, code):
            self._person_edit(name, parameter, code, cell)
        return new

    def _register(self, name: str, node: ParameterNode, source: str | None, cell: str | None) -> None:
        self.parameters[name] = node
        self._sources[name] = source
        if cell is not None:
            self.owners[name] = cell
        self._emit("parameter", name=name, node=node, cell=cell)

    def _person_edit(self, name: str, node: ParameterNode, value: Any, cell: str | None) -> None:
        change = ValueChange(name, value_kind(node), node._data, value, cell)
        node._set(value)
        step = self._history.record("edited", [name], cell=cell, changes=[change],
                                    note="the person edited the value in the cell; their value wins")
        self._emit("edited", step=step, values={name: value})

    def add_output(self, label: str, output: Node, scope: Scope | None = None) -> None:
        """Make `output` the node of cell `label` that receives feedback (the last one is the default)."""
        self.outputs[label] = output
        if scope is not None:
            self.scopes[label] = scope
            scope.output = output
        self.last_label = label
        self._emit("cell", label=label, output=output, scope=scope)

    def output(self, label: str | Node | None = None) -> tuple[str, Node]:
        """(label, node) of the output called `label` (a label, a node, or None for the last cell)."""
        if isinstance(label, Node):
            for key, value in self.outputs.items():
                if value is label:
                    return key, value
            return label.py_name, label
        if label is None:
            if self.last_label is None:
                raise SessionError("no traced output yet: run a %%trace cell first")
            label = self.last_label
        if label not in self.outputs:
            known = ", ".join(self.outputs) or "none yet"
            raise SessionError(f"no traced cell is labelled {label!r} (traced cells: {known})")
        return label, self.outputs[label]

    # -- names ---------------------------------------------------------------------------------------
    def adopt(self, parameters: Iterable[ParameterNode]) -> None:
        """Know parameters no cell defined (a script's, a training run's) by their py_name, so that
        history steps changing them can be restored like a cell's."""
        for parameter in parameters:
            if not any(known is parameter for known in self.parameters.values()):
                self.parameters.setdefault(parameter.py_name, parameter)

    def name_of(self, py_name: str) -> str:
        """The session name ("prompt", "f") of a parameter the optimizer calls `py_name` ("prompt0", "__code0")."""
        for name, node in self.parameters.items():
            if node.py_name == py_name:
                return name
        return py_name

    def _py_name(self, name: str) -> str:
        node = self.parameters.get(name)
        if node is not None:
            return node.py_name
        if any(node.py_name == name for node in self.parameters.values()):
            return name
        raise SessionError(f"no parameter called {name!r}; the parameters are {', '.join(self.parameters) or 'none'}")

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
        self._emit("feedback", label=label, text=given.text, score=given.score, output=node)
        return node

    def _feedback_fields(self) -> dict[str, Any]:
        if not self._feedback:
            return {"feedback": None, "score": None, "cell": None}
        text = "\n".join(f.message if len(self._feedback) == 1 else f"[{f.label}] {f.message}" for f in self._feedback)
        return {"feedback": text, "score": self._feedback[-1].score, "cell": self._feedback[-1].label}

    def propose(self, stop: threading.Event | None = None, candidates: int | None = None, *,
                evaluator: Callable[[], float] | None = None) -> Proposal:
        """Ask the optimizer for new values from the feedback given; nothing changes until `accept()`.

        candidates=N (N >= 2) asks `candidate_optimizer` for N alternatives at once: the pending
        proposal is then a Candidate whose `candidates` lists them all (each a diff against the current
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
            self._cancelled(note)
            raise Cancelled(note) from e
        if stop is not None and stop.is_set():
            raise Cancelled("stopped while proposing; nothing changed")
        self._pending = proposal
        self._emit("proposal", proposal=proposal, names={p: self.name_of(p) for p in proposal.changes})
        return proposal

    def cancel(self, note: str = "stopped while proposing; nothing changed") -> None:
        """Record that a propose running elsewhere (e.g. in the widget's thread) was stopped."""
        self._cancelled(note)

    def _cancelled(self, note: str) -> None:
        fields = self._feedback_fields()
        step = self._history.record("cancelled", optimizer=self.optimizer_name, note=note, **fields)
        self._emit("cancelled", step=step, note=note)

    @property
    def candidates(self) -> list[Candidate]:
        """The alternatives of the pending proposal (see `propose(candidates=N)`); [] when there are none."""
        pending = self._pending
        return list(pending.candidates) if isinstance(pending, Candidate) else []

    def accept(self, names: Iterable[str] | str | None = None, edits: Mapping[str, Any] | None = None,
               candidate: int | None = None) -> dict[str, Any]:
        """Apply the pending proposal: all of it, or the named parameters, with optional edited values.

        `candidate` K takes candidate K of a `propose(candidates=N)` (default: the one the evaluator
        scored best, else the last). All or nothing (an ApplyError changes nothing). Returns
        {name: new value}; the step is recorded, with the chosen candidate's index among all of them.
        """
        return self._apply("accepted", names, edits, candidate)

    def proposal_for(self, candidate: int | None = None) -> Proposal:
        """What `accept(candidate=candidate)` applies: the pending proposal, or its candidate number
        `candidate` (carrying the list of all of them). SessionError when there is no such proposal."""
        proposal = self._pending
        if proposal is None:
            raise SessionError("nothing to accept: propose first (session.propose() or %trace_propose)")
        if candidate is None:
            return proposal
        alternatives = self.candidates
        if not alternatives:
            raise SessionError("the pending proposal has no candidates: ask for several with "
                               "session.propose(candidates=N) or %trace_propose --candidates N")
        if not 0 <= candidate < len(alternatives):
            raise SessionError(f"no candidate {candidate}: choose one of 0 to {len(alternatives) - 1}")
        return dataclasses.replace(alternatives[candidate], candidates=alternatives)

    def _apply(self, decision: str, names: Iterable[str] | str | None = None,
               edits: Mapping[str, Any] | None = None, candidate: int | None = None) -> dict[str, Any]:
        proposal = self.proposal_for(candidate)
        for name, value in (edits or {}).items():
            proposal = proposal.edit(self._py_name(name), value)
        if isinstance(names, str):
            names = [names]
        only = None if names is None else [self._py_name(n) for n in names]
        chosen = list(proposal.changes) if only is None else only
        if not chosen:
            raise SessionError("the proposal changes nothing" + (f": {proposal.error}" if proposal.error else ""))
        optimizer = self.optimizer
        before = {py: optimizer.parameter(py)._data for py in chosen if py in optimizer.parameters_by_name}
        applied = optimizer.apply(proposal, only=only)
        try:
            changes = [ValueChange(self.name_of(py), value_kind(optimizer.parameter(py)), before[py], value,
                                   self.owners.get(self.name_of(py))) for py, value in applied.items()]
            document = proposal.to_dict()
            note = None
            if isinstance(proposal, Candidate) and proposal.candidates:
                note = f"candidate {proposal.index} of {len(proposal.candidates)}"
            step = self._history.record(
                decision, [c.name for c in changes], optimizer=proposal.optimizer, proposal=document,
                usage=document["usage"], changes=changes, note=note, **self._feedback_fields())
        except BaseException:
            optimizer.revert()
            raise
        self._applied.append((step, changes))
        self._pending = None
        self._feedback = []
        optimizer.zero_feedback()
        values = {c.name: c.after for c in changes}
        self._emit(decision, step=step, values=values, proposal=proposal)
        return values

    def reject(self, reason: str | None = None) -> int:
        """Refuse the pending proposal, all its candidates if it has some (remembered by the optimizers and in
        the history); returns the step."""
        proposal = self._pending
        if proposal is None:
            raise SessionError("nothing to reject: propose first (session.propose() or %trace_propose)")
        refused = self.candidates or [proposal]
        for optimizer in [self.optimizer, *([self._multi] if self.candidates and self._multi is not None else [])]:
            for each in refused:
                optimizer.reject(each, reason)
        names = dict.fromkeys(self.name_of(p) for each in refused for p in each.changes)
        document = proposal.to_dict()
        step = self._history.record("rejected", list(names),
                                    optimizer=proposal.optimizer, proposal=document, usage=document["usage"],
                                    note=reason, **self._feedback_fields())
        self._pending = None
        self._emit("rejected", step=step, proposal=proposal)
        return step

    def _set_values(self, values: Mapping[str, Any]) -> list[ValueChange]:
        """Set registered parameters to `values` all at once, or none (undone if one fails)."""
        changes = [ValueChange(name, value_kind(self.parameters[name]), self.parameters[name]._data, value,
                               self.owners.get(name)) for name, value in values.items()]
        assign_all((self.parameters[c.name], c.after) for c in changes)
        return changes

    def remember(self, step: int, changes: list[ValueChange]) -> None:
        """An applied step recorded outside the session's own methods (a training run's): `undo` takes
        it back like an accepted one."""
        self._applied.append((step, list(changes)))

    def undo(self) -> dict[str, Any]:
        """Put back the values from before the last accepted (or restored, optimized or trained) step of this
        session."""
        if not self._applied:
            raise SessionError("nothing to undo in this session; %trace_restore STEP (session.restore(step)) "
                               "brings back any version from the history")
        step, changes = self._applied[-1]
        undone = self._set_values({c.name: c.before for c in reversed(changes)})
        try:
            number = self._history.record("undone", [c.name for c in undone], ref=step, changes=undone,
                                          cell=changes[0].cell if changes else None)
        except BaseException:
            self._set_values({c.name: c.after for c in changes})
            raise
        self._applied.pop()
        self._pending = None
        values = {c.name: c.after for c in undone}
        self._emit("undone", step=number, ref=step, values=values)
        return values

    def restore(self, step: int, names: Iterable[str] | None = None, *, before: bool = False) -> dict[str, Any]:
        """Set parameters to their values after history step `step` (of any session, e.g. before a restart),
        or with before=True to their values before it (so the values before the first step can be reached).

        Recorded as "restored" and undoable. Parameters no cell has defined yet get the value when their
        cell runs. Returns {name: value}.
        """
        row = self._history.step(int(step))
        wanted = None if names is None else set(names)
        values = {c.name: c.before if before else c.after for c in row.changes if wanted is None or c.name in wanted}
        if not values:
            raise SessionError(f"step #{step} ({row.decision}) changed no parameter"
                               + (f" among {', '.join(sorted(wanted))}" if wanted else ""))
        present = {k: v for k, v in values.items() if k in self.parameters}
        later = {k: v for k, v in values.items() if k not in self.parameters}
        changes = self._set_values(present)
        notes = [f"values before step #{row.id}"] if before else []
        if later:
            notes.append(f"to be applied when a cell defines {', '.join(later)}")
        note = "; ".join(notes) or None
        try:
            number = self._history.record("restored", list(values), ref=row.id, changes=changes, note=note,
                                          cell=row.cell)
        except BaseException:
            self._set_values({c.name: c.before for c in changes})
            raise
        self._pending_restore.update(later)
        if changes:
            self._applied.append((number, changes))
        self._pending = None
        self._emit("restored", step=number, ref=row.id, values=values, before=before)
        return values

    def steps(self, all_notebooks: bool = False) -> list[Step]:
        """The history's steps for this notebook (or all notebooks), oldest first."""
        return self._history.steps(all_notebooks=all_notebooks)

    # -- automatic loop ----------------------------------------------------------------------------------
    def optimize(self, feedback_fn: Callable[[Any], Any], steps: int = 5, *, output: str | Node | None = None,
                 rerun: Callable[[], Node | None] | None = None,
                 stop: Callable[[str, float | None], bool] | None = None, target: float | None = None,
                 progress: Callable[[OptimizeStep], None] | None = None) -> list[OptimizeStep]:
        """Feedback, propose and apply up to `steps` times, re-running the output's computation each time.

        feedback_fn(value) returns a text, a (text, score) pair or a score. The loop stops early when
        `stop(text, score)` holds (default: `default_success` with `target`). Every change is applied
        and recorded as "optimized" in the history; an interrupt is recorded as "cancelled" and re-raised.
        Returns one OptimizeStep per evaluation (the last one evaluates the final values).
        """
        if steps < 1:
            raise SessionError("steps must be at least 1")
        label, node = self.output(output)
        rounds: list[OptimizeStep] = []
        try:
            for index in range(steps + 1):
                text, score = as_feedback(feedback_fn(node._data))
                success = stop(text, score) if stop is not None else default_success(text, score, target)
                if success or index == steps:
                    rounds.append(OptimizeStep(index, node._data, text, score, success))
                    if progress is not None:
                        progress(rounds[-1])
                    break
                self._feedback = []
                self._pending = None
                self.feedback(label, text, score)
                proposal = self.propose()
                changed: tuple[str, ...] = ()
                step = None
                if proposal.changes:
                    changed = tuple(self._apply("optimized"))
                    step = self._applied[-1][0]
                rounds.append(OptimizeStep(index, node._data, text, score, False, changed, step, proposal.error))
                if progress is not None:
                    progress(rounds[-1])
                if rerun is not None and changed:
                    rerun_output = rerun()
                    label, node = self.output(rerun_output if rerun_output is not None else label)
        except KeyboardInterrupt as e:
            self._pending = None
            if isinstance(e, Cancelled):
                raise
            note = f"optimize loop interrupted after {len(rounds)} round(s); every applied step is complete"
            self._cancelled(note)
            raise Cancelled(note) from e
        return rounds

    def close(self) -> None:
        """Close the history file."""
        self._history.close()

    def __repr__(self) -> str:
        return (f"Session({len(self.parameters)} parameters, {len(self.outputs)} outputs, "
                f"optimizer={self.optimizer_name!r}, history={str(self._history.path)!r})")


def as_feedback(result: Any) -> tuple[str, float | None]:
    """A feedback function's result as (text, score): a text, a score, a bool, or a (text, score)
    pair either way round (an optimizer needs words, so a bare score also becomes a text)."""
    if isinstance(result, Node):
        result = result._data
    if isinstance(result, bool):
        return ("Correct" if result else "Incorrect"), float(result)
    if isinstance(result, (int, float)):
        return f"Score: {result}", float(result)
    if isinstance(result, str):
        return result, None
    if isinstance(result, tuple) and len(result) == 2:
        first, second = result
        if isinstance(first, (int, float)) and not isinstance(first, bool) and isinstance(second, str):
            first, second = second, first
        return str(first), None if second is None else float(second)
    raise TypeError(f"a feedback function must return a text, a score or a (text, score) pair, not {result!r}")


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
