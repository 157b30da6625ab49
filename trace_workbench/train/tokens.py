"""Counting the tokens a training run or a search spends, for their token budgets."""

from __future__ import annotations

from collections.abc import Iterable

from trace_workbench.llm.usage import UsageMeter
from trace_workbench.optimizers.optimizer import Optimizer

__all__ = ["SpentTokens", "default_meters"]


class SpentTokens:
    """Tokens recorded by some meters since the run started (a meter under another listed one counts once)."""

    def __init__(self, meters: Iterable[UsageMeter], before: int = 0) -> None:
        unique = {id(m): m for m in meters if m is not None}
        self.meters = [m for m in unique.values() if not self._under(m, unique)]
        self.offsets = {id(m): m.summary().total_tokens for m in self.meters}
        self.before = before

    @staticmethod
    def _under(meter: UsageMeter, others: dict[int, UsageMeter]) -> bool:
        parent = meter.parent
        while parent is not None:
            if id(parent) in others:
                return True
            parent = parent.parent
        return False

    def used(self) -> int:
        """Tokens spent since the run started, with `before` (a resumed run's earlier ones)."""
        return self.before + sum(m.summary().total_tokens - self.offsets[id(m)] for m in self.meters)


def default_meters(optimizer: Optimizer) -> list[UsageMeter]:
    """The meters a run's token budget counts: the program's LLM and the optimizer's."""
    from trace_workbench.llm.program import program_llm

    meters = [program_llm().meter]
    meter = getattr(getattr(optimizer, "llm", None), "meter", None)
    if isinstance(meter, UsageMeter):
        meters.append(meter)
    return meters
