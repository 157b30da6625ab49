"""Optimizers: OptoPrime, OPRO and TextGrad on one API, with the workbench's propose / apply / revert.

As in Trace: ``optimizer.zero_feedback(); optimizer.backward(output, feedback); optimizer.step()``.
For a person in the loop: ``proposal = optimizer.propose()`` (nothing changes), then
``optimizer.apply(proposal, only=[...])`` and, if needed, ``optimizer.revert()``.
"""

from trace_workbench.optimizers.batch import run_batch
from trace_workbench.optimizers.opro import OPRO
from trace_workbench.optimizers.optimizer import (
    AbstractOptimizer,
    ApplyError,
    Optimizer,
    OptimizerError,
    UnusableReplyError,
    UnusableReplyWarning,
)
from trace_workbench.optimizers.optoprime import OptoPrime
from trace_workbench.optimizers.optoprimemulti import Candidate, Candidates, OptoPrimeMulti
from trace_workbench.optimizers.proposal import ParameterChange, Proposal
from trace_workbench.optimizers.textgrad import TextGrad
from trace_workbench.trace.values import ValueConversionError

__all__ = [
    "OPRO",
    "AbstractOptimizer",
    "ApplyError",
    "Candidate",
    "Candidates",
    "OptimizerError",
    "Optimizer",
    "OptoPrime",
    "OptoPrimeMulti",
    "ParameterChange",
    "Proposal",
    "TextGrad",
    "UnusableReplyError",
    "UnusableReplyWarning",
    "ValueConversionError",
    "run_batch",
]
