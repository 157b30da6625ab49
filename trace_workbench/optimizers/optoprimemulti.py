"""OptoPrimeMulti: several candidate updates from one OptoPrime prompt, and a choice among them.

As in Trace's ``OptoPrimeMulti``: the same prompt is answered ``num_responses`` times, at a spread
of temperatures (from the highest of ``temperature_range`` down to the lowest, one request each)
or as ``n`` choices of one request (``generation="n"``). Every reply becomes a candidate Proposal.
One is chosen by, in order of precedence:

- ``selector``: a callable given the candidates, returning one of them or its index;
- ``evaluator``: a callable of no arguments that runs the program and returns a score (higher is
  better). Each usable candidate is applied, scored and reverted, so nothing stays applied; the
  best score wins (the first among equals);
- otherwise the last candidate (the lowest temperature), Trace's default.

``propose()`` returns the `Candidates`: a Proposal that is the chosen candidate (``.chosen``), holding
them all (iterate it, or ``.candidates``; also ``optimizer.candidates``), each a plain `Candidate`
with its ``score``, ``temperature`` and ``index``. As everywhere, proposing changes no parameter;
``step()`` applies the chosen one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from trace_workbench.llm.reply_format import ask
from trace_workbench.optimizers.optoprime import OptoPrime, Reply, reply_of
from trace_workbench.optimizers.proposal import Proposal
from trace_workbench.trace.nodes import ParameterNode
from trace_workbench.trace.propagators import Propagator

__all__ = ["Candidate", "Candidates", "OptoPrimeMulti"]

Selector = Callable[[list["Candidate"]], "Candidate | int"]


@dataclass(repr=False)
class Candidate(Proposal):
    """One candidate update: a Proposal with its place among the candidates, temperature and score.

    ``score`` is None when the candidate was not evaluated (or could not be: see ``evaluation_error``).
    """

    index: int = 0
    temperature: float | None = None
    score: float | None = None
    evaluation_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: the Proposal's fields and this candidate's own."""
        return {**super().to_dict(), "index": self.index, "temperature": self.temperature, "score": self.score,
                "evaluation_error": self.evaluation_error}


@dataclass(repr=False)
class Candidates(Proposal):
    """The candidates of one step. As a Proposal it is the chosen one (its changes are what applying
    applies, `index` is its index); iterating, `len` and `[k]` give the candidates."""

    candidates: list[Candidate] = field(default_factory=list)
    index: int = 0

    @classmethod
    def of(cls, candidates: list[Candidate], chosen: int) -> Candidates:
        """The set of `candidates`, candidate number `chosen` chosen."""
        picked = candidates[chosen]
        fields = {name: getattr(picked, name) for name in Proposal.__dataclass_fields__}
        return cls(**fields, candidates=list(candidates), index=chosen)

    def choose(self, index: int) -> Candidates:
        """The same candidates with number `index` chosen (IndexError if there is none)."""
        if not 0 <= index < len(self.candidates):
            raise IndexError(f"no candidate {index}: choose one of 0 to {len(self.candidates) - 1}")
        return Candidates.of(self.candidates, index)

    @property
    def chosen(self) -> Candidate:
        """The chosen candidate (without any edit made to this set since: those are on the set)."""
        return self.candidates[self.index]

    @property
    def score(self) -> float | None:
        """The chosen candidate's score."""
        return self.chosen.score

    def __repr__(self) -> str:
        return f"<{len(self)} Candidates of {self.optimizer}, step {self.step}: {self.index} chosen>"

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.candidates)

    def __len__(self) -> int:
        return len(self.candidates)

    def __getitem__(self, index: int) -> Candidate:
        return self.candidates[index]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: the chosen candidate's fields (with any edit) and every candidate's."""
        chosen = self.chosen
        return {**super().to_dict(), "index": self.index, "temperature": chosen.temperature, "score": chosen.score,
                "evaluation_error": chosen.evaluation_error, "candidates": [c.to_dict() for c in self.candidates]}


class OptoPrimeMulti(OptoPrime):
    """OptoPrime asking for several candidate updates at once and choosing one (see the module's notes)."""

    def __init__(
        self,
        parameters: list[ParameterNode],
        llm: Any = None,
        *args: Any,
        num_responses: int = 5,
        temperature_range: Sequence[float] | None = None,
        generation: str = "temperatures",
        selector: Selector | None = None,
        evaluator: Callable[[], float] | None = None,
        propagator: Propagator | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(parameters, llm, *args, propagator=propagator, **kwargs)
        if num_responses < 1:
            raise ValueError(f"num_responses must be at least 1, got {num_responses}")
        if generation not in ("temperatures", "n"):
            raise ValueError(f"generation must be 'temperatures' or 'n', not {generation!r}")
        self.num_responses = num_responses
        self.temperature_range = list(temperature_range) if temperature_range is not None else [1.3, 0.0]
        self.generation = generation
        self.selector = selector
        self.evaluator = evaluator
        self.candidates: list[Candidate] = []
        self.selected_candidate: Candidate | None = None

    def temperatures(self, num_responses: int) -> list[float]:
        """Evenly spread temperatures from the highest of temperature_range down to the lowest."""
        high, low = max(self.temperature_range), min(self.temperature_range)
        return [high - i * (high - low) / max(1, num_responses - 1) for i in range(num_responses)]

    def _step(self, verbose: bool | str = False, mask: list[str] | None = None, num_responses: int | None = None,
              selector: Selector | None = None, evaluator: Callable[[], float] | None = None) -> Proposal:
        summary = self.summarize()
        if not summary.variables:
            return Proposal(optimizer=type(self).__name__,
                            error="none of the parameters has feedback: call optimizer.backward(output, feedback) "
                                  "before step() (and zero_feedback() before each backward)")
        count = num_responses if num_responses is not None else self.num_responses
        system_prompt, user_prompt = self.construct_prompt(summary, mask=mask)
        self._shapes = self.reply_shapes(summary)
        replies = self.generate_candidates(system_prompt, user_prompt, count, verbose=verbose)
        candidates = []
        for index, (reply, temperature) in enumerate(replies):
            proposal = self.proposal_from_reply(reply.text, reply)
            fields = {name: getattr(proposal, name) for name in Proposal.__dataclass_fields__}
            candidates.append(Candidate(**fields, index=index, temperature=temperature))
        self.remember(summary.variables, summary.user_feedback)
        self.log_step({"system_prompt": system_prompt, "user_prompt": user_prompt,
                       "response": [reply.text for reply, _ in replies]}, summary)
        chosen = self.choose(candidates, selector or self.selector, evaluator or self.evaluator)
        self.candidates = candidates
        self.selected_candidate = chosen
        return Candidates.of(candidates, chosen.index)

    def generate_candidates(self, system_prompt: str, user_prompt: str, num_responses: int,
                            verbose: bool | str = False) -> list[tuple[Reply, float | None]]:
        """The replies to one prompt: (reply, temperature) for each candidate, in order."""
        if verbose not in (False, "output"):
            print("Prompt\n", system_prompt + user_prompt)
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_prompt}]
        if self.generation == "n":
            temperature = max(self.temperature_range)
            return [(reply, temperature) for reply in self._ask(messages, n=num_responses, temperature=temperature)]
        out: list[tuple[Reply, float | None]] = []
        for temperature in self.temperatures(num_responses):
            out.append((self._ask(messages, temperature=temperature)[0], temperature))
        if verbose:
            print("LLM responses:\n", [reply.text for reply, _ in out])
        return out

    def _ask(self, messages: list[dict[str, str]], **settings: Any) -> list[Reply]:
        """The Reply of every choice, asked for in this step's reply shapes (see OptoPrime.ask_llm)."""
        response = ask(self.llm, messages, self._shapes, max_tokens=self.max_tokens, **settings)
        choices = list(getattr(response, "choices", None) or [])
        if not choices:
            raise TypeError(f"the LLM returned {type(response).__name__}, not a chat completion with choices")
        return [reply_of(c) for c in choices]

    def choose(self, candidates: list[Candidate], selector: Selector | None,
               evaluator: Callable[[], float] | None) -> Candidate:
        """The chosen candidate: by selector, else by evaluating each, else the last one."""
        if selector is not None:
            picked = selector(candidates)
            if isinstance(picked, int) and not isinstance(picked, bool):
                return candidates[picked]
            if any(picked is c for c in candidates):
                return picked
            raise TypeError(f"the selector must return one of the candidates or its index, not {picked!r}")
        if evaluator is not None:
            for candidate in candidates:
                self.evaluate_candidate(candidate, evaluator)
            scored = [c for c in candidates if c.score is not None and not math.isnan(c.score)]
            if scored:
                return max(scored, key=lambda c: c.score)  # max keeps the first of equal scores
        return candidates[-1]

    def evaluate_candidate(self, candidate: Candidate, evaluator: Callable[[], float]) -> float | None:
        """Apply the candidate, score the program with it, and revert: its score (also set on it), or None."""
        if candidate.error or not candidate.changes:
            candidate.evaluation_error = candidate.error or "the candidate changes nothing"
            return None
        try:
            self.apply(candidate)
        except Exception as e:
            candidate.evaluation_error = f"could not be applied: {e}"
            return None
        try:
            candidate.score = float(evaluator())
        except Exception as e:
            candidate.evaluation_error = f"the evaluator failed: {type(e).__name__}: {e}"
        finally:
            self.revert()
        return candidate.score

