"""Evaluate and train Trace programs over a dataset, with concurrent forward passes.

``evaluate(program, dataset, metric)`` scores a program; ``train(program, dataset, optimizer,
feedback_fn)`` runs minibatch steps (forward passes on a concurrent.futures Executor, threads by
default; the batch's feedback combined before one optimizer step), validates between steps, keeps
the best parameters, stops early on a target score or a token budget, and records every step in a
Session's history, from which an interrupted run resumes. ``Search`` (train.search) runs a beam or
priority search over candidate parameter sets that a person can watch and steer.
"""

from trace_workbench.train.data import Example, as_examples
from trace_workbench.train.evaluate import EvalResult, evaluate
from trace_workbench.train.runner import run_concurrently
from trace_workbench.train.search import Objective, Search, SearchResult, run_search
from trace_workbench.train.trainer import TrainResult, TrainStep, train

__all__ = ["EvalResult", "Example", "Objective", "Search", "SearchResult", "TrainResult", "TrainStep", "as_examples",
           "evaluate", "run_concurrently", "run_search", "train"]
