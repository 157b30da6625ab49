"""The optimizer base: Trace's zero_feedback / backward / step, split into propose / apply / revert.

`propose()` asks the optimizer for new values and returns a Proposal without changing anything;
`apply(proposal, only=None)` sets all (or the named) values at once or none; `revert()` undoes
the last apply. `step()` is propose + apply, as in Trace.

What step() does with an unusable reply: it changes nothing and returns the Proposal, whose
`error` says why, after a warning (UnusableReplyWarning). Suggestions that fail their type
conversion are dropped the same way (listed in `proposal.rejected`) while the usable ones are
applied. With ``ignore_extraction_error=False`` step() instead raises UnusableReplyError (carrying
the Proposal) and changes nothing. Errors of the LLM layer (LLMError: no model configured, server
down, timeout) are raised by propose() and step() as they are, with every parameter unchanged.
"""

from __future__ import annotations

import inspect
import threading
import warnings
from collections import Counter
from collections.abc import Iterable
from typing import Any

from trace_workbench.llm.usage import UsageMeter, UsageStep, UsageSummary
from trace_workbench.optimizers.proposal import ParameterChange, Proposal
from trace_workbench.trace.nodes import Node, ParameterNode
from trace_workbench.trace.propagators import GraphPropagator, Propagator
from trace_workbench.trace.utils import sum_feedback
from trace_workbench.trace.values import (
    ValueConversionError,
    clean_text,
    convert_value,
    function_name,
    is_code_parameter,
    same_value,
    value_kind,
)

__all__ = [
    "AbstractOptimizer",
    "ApplyError",
    "assign_all",
    "Optimizer",
    "OptimizerError",
    "UnusableReplyError",
    "UnusableReplyWarning",
]



def assign_all(assignments: Iterable[tuple[ParameterNode, Any]]) -> None:
    """Set each parameter to its value, all of them or none: a failing set puts back those already done."""
    done: list[tuple[ParameterNode, Any]] = []
    try:
        for node, value in assignments:
            done.append((node, node._data))
            node._set(value)
    except BaseException:
        for node, old in reversed(done):
            node._set(old)
        raise

class OptimizerError(Exception):
    """Base class of the errors optimizers raise themselves."""


class ApplyError(OptimizerError):
    """apply() changed nothing because some chosen values cannot be set; `errors` maps names to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        details = "; ".join(f"{name}: {why}" for name, why in self.errors.items())
        super().__init__(f"Nothing was applied, because {len(self.errors)} value(s) cannot be set. {details}")


class UnusableReplyError(OptimizerError):
    """step() with ignore_extraction_error=False found the reply (or a suggestion) unusable; nothing changed."""

    def __init__(self, proposal: Proposal) -> None:
        self.proposal = proposal
        reasons = [proposal.error] if proposal.error else []
        reasons += [f"{name}: {why}" for name, why in proposal.rejected.items()]
        super().__init__(f"{proposal.optimizer} step {proposal.step} changed nothing: " + "; ".join(reasons)
                         + ". The reply is in error.proposal.raw.")


class UnusableReplyWarning(UserWarning):
    """step() could not use the model's reply, or some suggestions in it; see the Proposal."""


def default_llm() -> Any:
    """The LLM an optimizer uses when given none: configured from the environment at its first call
    (so constructing an optimizer needs no model); openai is imported only then."""
    from trace_workbench.llm import LLM

    return LLM()


class AbstractOptimizer:
    """An optimizer updates a list of trainable parameters from the feedback they received."""

    def __init__(self, parameters: Iterable[ParameterNode], *args: Any, **kwargs: Any) -> None:
        if isinstance(parameters, (Node, str)) or not isinstance(parameters, Iterable):
            raise TypeError("an optimizer needs a list of ParameterNodes, e.g. OptoPrime([x]) or "
                            "OptoPrime(model.parameters())")
        unique: dict[int, ParameterNode] = {}
        for p in parameters:
            if not isinstance(p, ParameterNode):
                raise TypeError(f"an optimizer's parameters must be ParameterNodes (node(..., trainable=True)), "
                                f"not {type(p).__name__}: {p!r}")
            unique.setdefault(id(p), p)
        self.parameters: list[ParameterNode] = list(unique.values())

    def step(self, *args: Any, **kwargs: Any) -> Any:
        """Update the parameters from their feedback."""
        raise NotImplementedError

    def zero_feedback(self) -> None:
        """Forget the feedback the parameters received."""
        raise NotImplementedError

    @property
    def propagator(self) -> Propagator:
        """The Propagator backward() uses to carry feedback to the parameters."""
        raise NotImplementedError


class Optimizer(AbstractOptimizer):
    """An optimizer reading the Trace graph, with the workbench's propose / apply / revert.

    Parameters are named by their py_name ("x0", "__code0"), as OptoPrime's prompt names them;
    `parameter(name)` finds the node. Subclasses implement `_step()`, returning a Proposal (or,
    as in Trace, a dict from ParameterNode to new value).
    """

    max_suggestion_chars = 100_000
    """Suggested values longer than this (in characters) are refused: no parameter should grow like that."""

    max_reverts = 100
    """How many applied steps `revert()` can undo, one after another (older ones are forgotten, so a long
    training loop holds bounded memory; the workbench's history keeps every step on disk)."""

    def __init__(self, parameters: Iterable[ParameterNode], *args: Any, propagator: Propagator | None = None,
                 **kwargs: Any) -> None:
        super().__init__(parameters)
        if args or kwargs:
            unknown = [repr(a) for a in args] + sorted(kwargs)
            warnings.warn(f"{type(self).__name__} ignores these arguments: {', '.join(unknown)}", stacklevel=3)
        propagator = propagator if propagator is not None else self.default_propagator()
        if not isinstance(propagator, Propagator):
            raise TypeError(f"propagator must be a Propagator, not {type(propagator).__name__}")
        self._propagator = propagator
        self._named()  # two parameters with one name are refused now, not at the first apply
        self._lock = threading.RLock()
        self._applied: list[list[tuple[ParameterNode, Any, Any]]] = []
        self._usage_steps: list[UsageStep] = []
        self._usage_folded = UsageSummary()
        self._steps = 0

    # -- Trace's API -------------------------------------------------------------------------
    @property
    def propagator(self) -> Propagator:
        """The Propagator backward() uses (GraphPropagator unless one was given)."""
        return self._propagator

    def default_propagator(self) -> Propagator:
        """The propagator used when none is given."""
        return GraphPropagator()

    @property
    def trace_graph(self) -> Any:
        """All the feedback the parameters received, added up (a TraceGraph with GraphPropagator)."""
        return sum_feedback(self.parameters)

    def zero_feedback(self) -> None:
        """Forget the feedback the parameters received (call before each backward)."""
        for p in self.parameters:
            p.zero_feedback()

    def backward(self, node: Node, *args: Any, **kwargs: Any) -> Any:
        """Give feedback to `node` (an output) and carry it back to the parameters.

        Text feedback holding invalid Unicode (lone surrogates) is cleaned, with a warning: sent as is,
        it would make every later prompt fail to encode.
        """
        if args and isinstance(args[0], str):
            text, count = clean_text(args[0])
            if count:
                warnings.warn(f"the feedback held {count} invalid Unicode character(s) (lone surrogates); each was "
                              "replaced by U+FFFD", UnicodeWarning, stacklevel=2)
                args = (text, *args[1:])
        return node.backward(*args, propagator=self.propagator, **kwargs)

    def step(self, *args: Any, bypassing: bool = False, **kwargs: Any) -> Proposal | dict[ParameterNode, Any]:
        """Propose and apply at once; returns the Proposal (see the module's notes on unusable replies).

        ``bypassing=True`` (OpenTrace's) applies nothing and returns OpenTrace's update dict
        ({ParameterNode: new value}, for a later ``update()``). Other arguments go to ``_step``
        (OptoPrime's ``verbose``, ``mask``); one it does not take is a TypeError.
        """
        proposal = self.propose(*args, **kwargs)
        if bypassing:
            by_name = self.parameters_by_name
            return {by_name[name]: change.new for name, change in proposal.changes.items()}
        if (proposal.error or proposal.rejected) and not getattr(self, "ignore_extraction_error", True):
            raise UnusableReplyError(proposal)
        if proposal.error:
            warnings.warn(f"{proposal.optimizer} step {proposal.step} changed nothing: {proposal.error}. "
                          "The reply is in proposal.raw.", UnusableReplyWarning, stacklevel=2)
        elif proposal.rejected:
            details = "; ".join(f"{name}: {why}" for name, why in proposal.rejected.items())
            warnings.warn(f"{proposal.optimizer} step {proposal.step} ignored suggestions it could not use: "
                          f"{details}", UnusableReplyWarning, stacklevel=2)
        self.apply(proposal)
        return proposal

    def update(self, update_dict: dict[ParameterNode, Any]) -> None:
        """Set parameters to new values ({node: value}), converted to their types, all or none."""
        proposal = self._proposal_from_update(update_dict)
        if proposal.rejected:
            raise ApplyError(proposal.rejected)
        self.apply(proposal)

    # -- the workbench's split ------------------------------------------------------------------
    def parameter(self, name: str) -> ParameterNode:
        """The parameter called `name` (its py_name, e.g. "x0" or "__code0")."""
        by_name = self.parameters_by_name
        try:
            return by_name[name]
        except KeyError:
            raise KeyError(f"{type(self).__name__} has no parameter named {name!r}; "
                           f"its parameters are {sorted(by_name)}") from None

    @property
    def labels(self) -> dict[str, str]:
        """The person's name of each parameter, by py_name: the name it was given ("prompt" for "prompt0"),
        a trained function's name for its code ("__code0"); the py_name where two would share a name."""
        named = {}
        for p in self.parameters:
            label = function_name(str(p._data)) if is_code_parameter(p) else p.name.split(":")[0]
            named[p.py_name] = label or p.py_name
        counts = Counter(named.values())
        return {key: key if counts[label] > 1 else label for key, label in named.items()}

    @property
    def parameters_by_name(self) -> dict[str, ParameterNode]:
        """The parameters by py_name (ValueError if two different ones share a name)."""
        return self._named()

    def _named(self) -> dict[str, ParameterNode]:
        by_name: dict[str, ParameterNode] = {}
        for p in self.parameters:
            if by_name.setdefault(p.py_name, p) is not p:
                raise ValueError(
                    f"two different parameters are both named {p.py_name!r} (made before and after GRAPH.clear()?); "
                    "an optimizer tells its parameters apart by name, so give one of them another name")
        return by_name

    def propose(self, *args: Any, **kwargs: Any) -> Proposal:
        """Ask for new values without changing anything; the Proposal carries this step's token usage."""
        try:
            inspect.signature(self._step).bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{type(self).__name__}.step()/propose(): {e}") from None
        with self._lock:
            self._steps += 1
            number = self._steps
        meter = self._meter()
        usage: UsageStep | None = None
        if meter is None:
            result = self._step(*args, **kwargs)
        else:
            with meter.step(f"{type(self).__name__} step {number}") as usage:
                try:
                    result = self._step(*args, **kwargs)
                finally:
                    self._keep_usage(usage)
        proposal = result if isinstance(result, Proposal) else self._proposal_from_update(result)
        proposal.step = number
        proposal.usage = usage.summary if usage is not None else None
        proposal.labels = self.labels
        return proposal

    def apply(self, proposal: Proposal, only: Iterable[str] | str | None = None) -> dict[str, Any]:
        """Set the proposed values (all, or those named in `only`) at once, or none: returns {name: value}.

        Every value is checked first (converted to the parameter's type; code must parse); if any
        fails, or a parameter changed since the proposal was made, ApplyError says which and why.
        """
        if isinstance(only, str):
            only = [only]
        names = list(proposal.changes) if only is None else list(dict.fromkeys(only))
        with self._lock:
            by_name = self.parameters_by_name
            errors: dict[str, str] = {}
            plan: list[tuple[str, ParameterNode, Any, Any]] = []
            for name in names:
                change = proposal.changes.get(name)
                if change is None:
                    errors[name] = f"not in this proposal (it proposes {proposal.names})"
                    continue
                node = by_name.get(name)
                if node is None:
                    errors[name] = f"not a parameter of this optimizer (its parameters are {sorted(by_name)})"
                    continue
                if not node.trainable:
                    errors[name] = "the parameter is not trainable"
                    continue
                if not same_value(node._data, change.old):
                    errors[name] = "the parameter changed since the proposal was made; propose again"
                    continue
                try:
                    value = convert_value(change.new, node._data, kind=value_kind(node))
                except ValueConversionError as e:
                    errors[name] = str(e)
                    continue
                plan.append((name, node, node._data, value))
            if errors:
                raise ApplyError(errors)
            assign_all([(node, value) for _, node, _, value in plan])
            if plan:
                self._applied.append([(node, old, value) for _, node, old, value in plan])
                del self._applied[:-self.max_reverts]
            return {name: value for name, _, _, value in plan}

    def revert(self) -> dict[str, Any]:
        """Undo the last apply (again to undo the one before): returns {name: restored value}."""
        with self._lock:
            if not self._applied:
                raise OptimizerError(f"Nothing to revert: {type(self).__name__} has no applied change left to undo.")
            last = self._applied[-1]
            assign_all([(node, old) for node, old, _ in reversed(last)])
            self._applied.pop()
            return {node.py_name: old for node, old, _ in last}

    def reject(self, proposal: Proposal, reason: str | None = None) -> None:
        """Tell the optimizer a person rejected `proposal`; optimizers with a memory remember it."""

    @property
    def usage(self) -> UsageSummary:
        """Tokens and cost of all this optimizer's steps so far (from its LLM's meter)."""
        with self._lock:
            return self._usage_folded + UsageSummary.of(call for step in self._usage_steps for call in step.calls)

    @property
    def usage_steps(self) -> list[UsageStep]:
        """The usage of each step, in order (one UsageStep per propose; the last UsageMeter.keep of them)."""
        return list(self._usage_steps)

    def _keep_usage(self, usage: UsageStep) -> None:
        with self._lock:
            self._usage_steps.append(usage)
            if len(self._usage_steps) > UsageMeter.keep:
                self._usage_folded += UsageSummary.of(c for step in self._usage_steps[:-UsageMeter.keep]
                                                      for c in step.calls)
                del self._usage_steps[:-UsageMeter.keep]

    # -- for subclasses -------------------------------------------------------------------------
    def _step(self, *args: Any, **kwargs: Any) -> Proposal | dict[ParameterNode, Any]:
        """Compute the proposal (a Proposal, or Trace's {ParameterNode: new value})."""
        raise NotImplementedError

    def _meter(self) -> UsageMeter | None:
        meter = getattr(getattr(self, "llm", None), "meter", None)
        return meter if isinstance(meter, UsageMeter) else None

    def make_changes(self, suggestions: dict[ParameterNode, Any], reasoning: dict[str, str] | None = None,
                     ) -> tuple[dict[str, ParameterChange], dict[str, str]]:
        """Convert suggested values to the parameters' types: (changes, rejected suggestions with why).

        Suggestions equal to the current value are dropped; `reasoning` gives per-parameter notes.
        """
        changes: dict[str, ParameterChange] = {}
        rejected: dict[str, str] = {}
        for node, suggested in suggestions.items():
            name = node.py_name
            try:
                value = self._converted(node, suggested)
            except ValueConversionError as e:
                rejected[name] = str(e)
                continue
            if not same_value(value, node._data):
                changes[name] = ParameterChange.make(name, value_kind(node), node._data, value,
                                                     (reasoning or {}).get(name))
        return changes, rejected

    def _converted(self, node: ParameterNode, suggested: Any) -> Any:
        """A suggested value converted to the parameter's type; ValueConversionError says why it cannot be
        (and what the parameter is)."""
        kind = value_kind(node)
        try:
            return convert_value(suggested, node._data, kind=kind, max_chars=self.max_suggestion_chars)
        except ValueConversionError as e:
            what = "code" if kind == "code" else ("an " if kind[0] in "aeiou" else "a ") + kind
            raise ValueConversionError(f"{e} (parameter {node.py_name} is {what})") from None

    def _proposal_from_update(self, update_dict: dict[ParameterNode, Any]) -> Proposal:
        unknown = [n for n in update_dict if not any(n is p for p in self.parameters)]
        changes, rejected = self.make_changes({n: v for n, v in update_dict.items() if n.trainable
                                               and not any(n is u for u in unknown)})
        rejected.update({n.py_name: "not a parameter of this optimizer" for n in unknown})
        return Proposal(optimizer=type(self).__name__, changes=changes, rejected=rejected)

    # -- copies ---------------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
