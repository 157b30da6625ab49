"""Search over candidate parameter sets (beam or priority, UCB rollouts, one or many objectives), steerable.

See `trace_workbench.train.search.search` for how a round goes and how to steer it.
"""

from trace_workbench.train.search.candidates import Candidate, Rollout
from trace_workbench.train.search.objectives import Objective
from trace_workbench.train.search.search import Search, SearchError, SearchResult, run_search
from trace_workbench.train.search.store import SearchStore

__all__ = ["Candidate", "Objective", "Rollout", "Search", "SearchError", "SearchResult", "SearchStore", "run_search"]
