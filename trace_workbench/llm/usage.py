"""Token, latency and cost accounting for LLM calls, per call, per step and per session.

Each ``LLM`` holds a ``UsageMeter``; separate LLMs (program vs optimizer) have separate meters, and
a meter may forward every call to a shared ``parent`` meter (e.g. the session's).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PRICES", "CallUsage", "UsageMeter", "UsageStep", "UsageSummary"]

PRICES: dict[str, tuple[float, float]] = {}
"""Default price table for every meter: model -> (USD per 1M prompt tokens, USD per 1M completion
tokens). Empty on purpose: prices change, so set the ones you use, e.g.
``PRICES["gpt-4o"] = (2.5, 10.0)``. A model without a price gets cost None, never a guess."""


@dataclass(frozen=True)
class CallUsage:
    """What one LLM call used. ``source`` is "api", "local" (the model on this machine, see llm.local),
    "cache" or "replay"; cached and local calls cost 0."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    latency: float
    cost: float | None
    source: str = "api"
    time: float = field(default_factory=time.time)

    @property
    def cached(self) -> bool:
        """True when the answer came from the cache or a replay file, not from the server."""
        return self.source in ("cache", "replay")

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class UsageSummary:
    """Totals over a set of calls. ``cost`` is None when any uncached call had no known price."""

    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency: float = 0.0
    cost: float | None = 0.0
    unpriced_calls: int = 0
    local_calls: int = 0
    """Calls answered by the small model on this machine (see llm.local)."""

    @classmethod
    def of(cls, calls: Iterable[CallUsage]) -> UsageSummary:
        """Sum a sequence of calls."""
        calls = list(calls)
        unpriced = sum(1 for c in calls if c.cost is None)
        return cls(
            calls=len(calls),
            cached_calls=sum(1 for c in calls if c.cached),
            prompt_tokens=sum(c.prompt_tokens for c in calls),
            completion_tokens=sum(c.completion_tokens for c in calls),
            latency=sum(c.latency for c in calls),
            cost=None if unpriced else sum(c.cost or 0.0 for c in calls),
            unpriced_calls=unpriced,
            local_calls=sum(1 for c in calls if c.source == "local"),
        )

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: UsageSummary) -> UsageSummary:
        """The totals of both sets of calls."""
        return UsageSummary(
            calls=self.calls + other.calls,
            cached_calls=self.cached_calls + other.cached_calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            latency=self.latency + other.latency,
            cost=None if self.cost is None or other.cost is None else self.cost + other.cost,
            unpriced_calls=self.unpriced_calls + other.unpriced_calls,
            local_calls=self.local_calls + other.local_calls,
        )

    def __str__(self) -> str:
        cost = "cost unknown" if self.cost is None else f"${self.cost:.4f}"
        return (
            f"{self.calls} calls ({self.cached_calls} cached), {self.prompt_tokens:,} prompt + "
            f"{self.completion_tokens:,} completion tokens, {self.latency:.2f} s, {cost}"
        )


class UsageStep:
    """The calls a meter recorded while a ``meter.step(name)`` block was open."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.time()
        self.ended: float | None = None
        self._calls: list[CallUsage] = []

    @property
    def calls(self) -> list[CallUsage]:
        """A copy of the calls recorded in this step."""
        return list(self._calls)

    @property
    def summary(self) -> UsageSummary:
        """Totals of this step (so far, if it is still open)."""
        return UsageSummary.of(self._calls)

    def __repr__(self) -> str:
        state = "open" if self.ended is None else "closed"
        return f"UsageStep({self.name!r}, {state}: {self.summary})"


class UsageMeter:
    """A thread-safe record of LLM calls, with totals per session and per named step.

    ``prices`` (model -> (USD/1M prompt, USD/1M completion)) override the parent's and ``PRICES``.
    Every call recorded here is also recorded by ``parent``, if any. The last ``keep`` calls and
    steps are kept one by one; older ones count in the totals only, so a long loop holds bounded memory.
    """

    keep = 1000
    """How many calls, and how many closed steps, are kept one by one."""

    def __init__(
        self,
        name: str = "llm",
        *,
        parent: UsageMeter | None = None,
        prices: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        self.name = name
        self.parent = parent
        self.prices: dict[str, tuple[float, float]] = dict(prices or {})
        self._lock = threading.Lock()
        self._calls: list[CallUsage] = []
        self._steps: list[UsageStep] = []
        self._open: list[UsageStep] = []
        self._folded = UsageSummary()
        """The totals of the calls no longer kept one by one."""

    def price(self, model: str) -> tuple[float, float] | None:
        """The (prompt, completion) USD per 1M tokens for an exact model name, or None if unknown."""
        meter: UsageMeter | None = self
        while meter is not None:
            if model in meter.prices:
                return meter.prices[model]
            meter = meter.parent
        return PRICES.get(model)

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Estimated USD for a call, or None when the model has no price."""
        price = self.price(model)
        if price is None:
            return None
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000

    def record(self, call: CallUsage) -> None:
        """Add a call to this meter, its open steps and its parent."""
        with self._lock:
            self._calls.append(call)
            if len(self._calls) > self.keep:
                self._folded += UsageSummary.of(self._calls[:-self.keep])
                del self._calls[:-self.keep]
            for step in self._open:
                step._calls.append(call)
        if self.parent is not None:
            self.parent.record(call)

    @contextmanager
    def step(self, name: str) -> Iterator[UsageStep]:
        """Group the calls recorded while the block runs (from any thread) under ``name``."""
        step = UsageStep(name)
        with self._lock:
            self._steps.append(step)
            self._open.append(step)
        try:
            yield step
        finally:
            with self._lock:
                self._open.remove(step)
                if len(self._steps) > self.keep:
                    old = [s for s in self._steps[:-self.keep] if s.ended is not None]
                    self._steps = [s for s in self._steps if s not in old]
            step.ended = time.time()

    @property
    def calls(self) -> list[CallUsage]:
        """A copy of the calls recorded so far (the last ``keep`` of them)."""
        with self._lock:
            return list(self._calls)

    @property
    def steps(self) -> list[UsageStep]:
        """The steps opened on this meter, in order (the open ones and the last ``keep`` closed ones)."""
        with self._lock:
            return list(self._steps)

    def summary(self) -> UsageSummary:
        """Totals over every call recorded so far (the session total)."""
        with self._lock:
            return self._folded + UsageSummary.of(self._calls)

    def reset(self) -> None:
        """Forget recorded calls and closed steps (open steps stay open)."""
        with self._lock:
            self._calls.clear()
            self._steps = list(self._open)
            self._folded = UsageSummary()

    def __repr__(self) -> str:
        return f"UsageMeter({self.name!r}: {self.summary()})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_folded", UsageSummary())
        self._lock = threading.Lock()
