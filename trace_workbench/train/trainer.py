"""train: minibatch optimization of a Trace program over a dataset.

Each step runs the forward passes of one minibatch concurrently (threads by default, or any
concurrent.futures Executor, "process", "ray" or a Ray executor), asks ``feedback_fn`` about every
output in dataset order, gives each output its feedback (the optimizer reads them combined) and makes
one optimizer step. Between steps the program is validated; the best parameters are kept
(``result.restore_best()``); the run stops early at a target score or when a token budget is spent.
With a Session, every step is a "trained" step of its history (its listeners are told, and
``session.undo()`` takes it back), and the run's state (the full parameter values) is kept in the
history file's ``training_runs`` table, so ``resume=True`` continues an interrupted run after its last
completed step; an interrupt is recorded as "cancelled".

Results do not depend on the number of threads: outputs, feedback and backward passes are taken in
dataset order, and nothing is applied while forward passes run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from trace_workbench.llm.usage import UsageMeter
from trace_workbench.optimizers.optimizer import Optimizer
from trace_workbench.optimizers.proposal import Proposal
from trace_workbench.trace.values import value_kind
from trace_workbench.train.data import Example, as_examples
from trace_workbench.train.evaluate import evaluate, forward, value
from trace_workbench.train.runner import run_concurrently
from trace_workbench.train.tokens import SpentTokens, default_meters
from trace_workbench.utils.concurrency import ExecutorSpec
from trace_workbench.workbench.events import Event
from trace_workbench.workbench.history import ValueChange
from trace_workbench.workbench.session import Session, as_feedback
from trace_workbench.workbench.training_runs import TrainingRuns, TrainingState

__all__ = ["TrainResult", "TrainStep", "as_feedback", "train"]


@dataclass
class TrainStep:
    """One optimizer step: where in the data, the batch's score (before the step), validation after it."""

    step: int
    epoch: int
    batch: int
    score: float | None
    validation: float | None
    tokens: int
    changed: list[str]
    proposal: Proposal | None = None
    history_step: int | None = None


@dataclass
class TrainResult:
    """What a run did: its steps, why it stopped, the best score and the parameters that reached it."""

    steps: list[TrainStep]
    stopped: str
    best_score: float | None
    best_parameters: dict[str, Any]
    tokens: int
    optimizer: Optimizer = field(repr=False)

    def restore_best(self) -> dict[str, Any]:
        """Set the parameters back to the best values seen (the optimizer can revert this); returns them."""
        by_name = self.optimizer.parameters_by_name
        update = {by_name[name]: v for name, v in self.best_parameters.items()
                  if name in by_name and by_name[name]._data != v}
        if update:
            self.optimizer.update(update)
        return dict(self.best_parameters)


def _mean(scores: Iterable[float | None]) -> float | None:
    known = [s for s in scores if s is not None and not math.isnan(s)]
    return sum(known) / len(known) if known else None


def _resume(runs: TrainingRuns, run: str, optimizer: Optimizer) -> TrainingState | None:
    """Run `run`'s saved state, with the optimizer's parameters set to its values (None: nothing to resume)."""
    state = runs.last(run)
    if state is None:
        return None
    by_name = optimizer.parameters_by_name
    if set(state.parameters) != set(by_name):
        raise ValueError(f"cannot resume run {run!r}: its history has parameters {sorted(state.parameters)}, the "
                         f"optimizer has {sorted(by_name)} (names come from the order nodes are made)")
    update = {by_name[n]: v for n, v in state.parameters.items() if by_name[n]._data != v}
    if update:
        optimizer.update(update)
    return state


def train(program: Callable[[Any], Any], dataset: Any, optimizer: Optimizer,
          feedback_fn: Callable[[Any, Any], Any], *, batch_size: int = 4, epochs: int = 1,
          num_threads: int | None = None, executor: ExecutorSpec = None, validation: Any = None,
          metric: Callable[[Any, Any], float] | None = None, target: float | None = None,
          token_budget: int | None = None, session: Session | None = None, resume: bool = False,
          run: str = "train", min_score: float = 0.0, meters: Iterable[UsageMeter] | None = None,
          progress: bool = True) -> TrainResult:
    """Optimize `program`'s parameters (those of `optimizer`) over `dataset`; see the module's notes.

    feedback_fn(output value, info) returns a text, a score, or (text, score). validation: a dataset
    scored after each step with `metric(output value, info)` (default: feedback_fn's score); its
    mean is the score that picks the best parameters and meets `target`, else the batch's mean
    training score is. token_budget counts the tokens of `meters` (default: the program LLM's and
    the optimizer's). A failed forward pass gets its error as feedback and `min_score`.
    resume=True (needs `session`) continues the run named `run` after its last recorded step.
    """
    if batch_size < 1 or epochs < 1:
        raise ValueError(f"batch_size and epochs must be at least 1, got {batch_size} and {epochs}")
    if resume and session is None:
        raise ValueError("resume=True reads the last completed step from a Session's history: pass session=")
    examples = as_examples(dataset)
    runs = TrainingRuns(session.history) if session is not None else None
    if session is not None:
        session.adopt(optimizer.parameters)  # so its history steps can be restored
    state = _resume(runs, run, optimizer) if resume and runs is not None else None
    training = _Run(program=program, optimizer=optimizer, feedback_fn=feedback_fn,
                    batches=[examples[i:i + batch_size] for i in range(0, len(examples), batch_size)],
                    epochs=epochs, num_threads=num_threads, executor=executor, validation=validation, metric=metric,
                    target=target, token_budget=token_budget, min_score=min_score, session=session, runs=runs,
                    name=run)
    start = training.resume_from(state) if state is not None else 0
    tokens = SpentTokens(meters if meters is not None else default_meters(optimizer), state.tokens if state else 0)
    if validation is not None and start == 0:
        training.best_score = training.validate()
        if training.reached(training.best_score):
            training.stopped = "target"
    steps: list[TrainStep] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=training.total, initial=min(start, training.total), desc=f"train {run}", unit="step")
    started = time.perf_counter()
    index = start
    try:
        while training.stopped is None and index < training.total:
            record = training.step(index, tokens)
            if record is None:
                break
            steps.append(record)
            index += 1
            if bar is not None:
                bar.update(1)
                shown = record.validation if record.validation is not None else record.score
                bar.set_postfix(step=index, score=_shown(shown), tokens=record.tokens)
    except KeyboardInterrupt:
        if session is not None:
            session.cancel(f"{run}: training interrupted at step {index + 1}/{training.total} after "
                           f"{time.perf_counter() - started:.1f} s; completed steps are kept, resume=True continues")
        raise
    finally:
        if bar is not None:
            bar.close()
    return TrainResult(steps=steps, stopped=training.stopped or "completed", best_score=training.best_score,
                       best_parameters=training.best_parameters, tokens=tokens.used(), optimizer=optimizer)


@dataclass
class _Run:
    """One training run: what it trains on and how, and where it stands (best score, why it stopped)."""

    program: Callable[[Any], Any]
    optimizer: Optimizer
    feedback_fn: Callable[[Any, Any], Any]
    batches: list[list[Example]]
    epochs: int
    num_threads: int | None
    executor: ExecutorSpec
    validation: Any
    metric: Callable[[Any, Any], float] | None
    target: float | None
    token_budget: int | None
    min_score: float
    session: Session | None
    runs: TrainingRuns | None
    name: str
    stopped: str | None = field(default=None, init=False)
    best_score: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.by_name = self.optimizer.parameters_by_name
        self.total = self.epochs * len(self.batches)
        self.best_parameters = self.snapshot()

    def resume_from(self, state: TrainingState) -> int:
        """Take up a saved state; returns the index of the next step."""
        self.stopped, self.best_score, self.best_parameters = state.stopped, state.best_score, state.best_parameters
        return state.next

    def snapshot(self) -> dict[str, Any]:
        return {name: p._data for name, p in self.by_name.items()}

    def score_of(self, output: Any, info: Any) -> float:
        score = as_feedback(self.feedback_fn(output, info))[1]
        return self.min_score if score is None else score

    def validate(self) -> float | None:
        if self.validation is None:
            return None
        return evaluate(self.program, self.validation, self.metric or self.score_of, num_threads=self.num_threads,
                        executor=self.executor, min_score=self.min_score).mean

    def reached(self, score: float | None) -> bool:
        return self.target is not None and score is not None and score >= self.target

    def step(self, index: int, tokens: SpentTokens) -> TrainStep | None:
        """Make step `index` (run, feedback, apply, validate, record); None if the batch already met the target."""
        epoch, number = divmod(index, len(self.batches))
        step = _one_step(self.program, self.batches[number], self.optimizer, self.feedback_fn, self.num_threads,
                         self.executor, self.min_score)
        if self.validation is None:
            if step.score is not None and (self.best_score is None or step.score > self.best_score):
                self.best_score, self.best_parameters = step.score, step.before
            if self.reached(step.score):
                self.stopped = "target"
                return None
        step.apply(self.optimizer)
        try:
            val = self.validate()
            if val is not None and (self.best_score is None or val > self.best_score):
                self.best_score, self.best_parameters = val, self.snapshot()
            used = tokens.used()
            if self.reached(val):
                self.stopped = "target"
            elif self.token_budget is not None and used >= self.token_budget:
                self.stopped = "token budget"
            elif index + 1 == self.total:
                self.stopped = "completed"
            record = TrainStep(step=index + 1, epoch=epoch, batch=number, score=step.score, validation=val,
                               tokens=used, changed=step.changed, proposal=step.proposal)
            if self.session is not None:
                record.history_step = self._record(self.session, step, record)
        except BaseException:
            step.undo(self.optimizer)
            raise
        if self.runs is not None:  # the step is recorded: if saving this fails, resuming repeats the step
            self.runs.save(self.name, TrainingState(next=index + 1, tokens=used, stopped=self.stopped,
                                                    best_score=self.best_score, parameters=self.snapshot(),
                                                    best_parameters=self.best_parameters, step=record.history_step))
        return record

    def _record(self, session: Session, step: _Step, record: TrainStep) -> int:
        """Record `step` as a "trained" step of the session (its listeners are told); returns its number."""
        return session.record_applied(
            Event.TRAINED, step.value_changes(self.by_name, session), names=step.changed, feedback=step.feedback,
            score=record.validation if record.validation is not None else step.score,
            optimizer=type(self.optimizer).__name__, proposal=step.proposal.to_dict() if step.proposal else None,
            usage={"total_tokens": record.tokens},
            note=f"{self.name}: step {record.step}/{self.total}, epoch {record.epoch + 1}")


def _shown(score: float | None) -> str:
    return "-" if score is None else f"{score:.3f}"


@dataclass
class _Step:
    """A minibatch's forward passes and feedback, then the optimizer step made from them."""

    before: dict[str, Any]
    feedback: str
    score: float | None
    outputs: list[tuple[Any, str]]
    proposal: Proposal | None = None
    changed: list[str] = field(default_factory=list)
    applied: bool = False

    def apply(self, optimizer: Optimizer) -> None:
        """Give each output its feedback and make one step from them all (applied at once)."""
        optimizer.zero_feedback()
        for output, text in self.outputs:
            optimizer.backward(output, text)
        self.proposal = optimizer.step()
        self.changed = [n for n in self.proposal.changes if optimizer.parameter(n)._data != self.before[n]]
        self.applied = bool(self.changed)

    def undo(self, optimizer: Optimizer) -> None:
        """Revert this step's change (it was interrupted before being recorded)."""
        if self.applied:
            optimizer.revert()
            self.applied = False

    def value_changes(self, by_name: dict[str, Any], session: Session) -> list[ValueChange]:
        """The step's changes, each parameter under the session's name for it."""
        return [ValueChange(session.name_of(n), value_kind(by_name[n]), self.before[n], by_name[n]._data)
                for n in self.changed]


def _one_step(program: Callable[[Any], Any], batch: list[Example], optimizer: Optimizer,
              feedback_fn: Callable[[Any, Any], Any], num_threads: int | None, executor: ExecutorSpec,
              min_score: float) -> _Step:
    """Run the batch's forward passes concurrently and ask for feedback on each, in dataset order."""
    before = {name: p._data for name, p in optimizer.parameters_by_name.items()}
    results = run_concurrently(lambda ex: forward(program, ex), batch, num_threads=num_threads, executor=executor)
    outputs: list[tuple[Any, str]] = []
    scores: list[float | None] = []
    for (output, error), example in zip(results, batch, strict=True):
        if error is not None:
            text, score = error, min_score
        else:
            text, score = as_feedback(feedback_fn(value(output), example.info))
        outputs.append((output, text))
        scores.append(score)
    combined = "\n".join(f"[{i}] {text}" for i, (_, text) in enumerate(outputs))
    return _Step(before=before, feedback=combined, score=_mean(scores), outputs=outputs)
