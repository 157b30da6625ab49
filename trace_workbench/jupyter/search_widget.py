"""The search view (anywidget): a running Search's candidates, lineage and diffs, with promote / prune / stop.

Its own anywidget class and front end (js/src/search.js, bundled to static/search.js). The state is
small and explicit: `summary` (the run), `candidates` (one row each, as `Search.rows()`), `diff` (the
selected candidate against its parent). The front end sends {"type": "promote" | "prune" | "diff",
"id": N} or {"type": "stop" | "resume"}; the Search does the work in its own thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import traitlets

from trace_workbench.extras import require
from trace_workbench.train.search import Search, SearchError

anywidget = require("anywidget", "widget")

__all__ = ["SearchWidget"]

STATIC = Path(__file__).parent / "static"


def _summary(search: Search) -> dict[str, Any]:
    return {"name": search.name, "strategy": search.strategy, "objective": search.objective.describe(),
            "metrics": list(search.objective.metrics), "minimize": sorted(search.objective.minimize),
            "pareto": search.objective.pareto, "round": search.state.get("round", 0), "rounds": search.rounds,
            "tokens": search.tokens, "stopped": search.state.get("stopped") or ""}


class SearchWidget(anywidget.AnyWidget):
    """Watch and steer one Search; several widgets may show the same search."""

    _esm = STATIC / "search.js"
    _css = STATIC / "search.css"

    status = traitlets.Unicode("new").tag(sync=True)
    """The search's status: new, running, stopped, finished, interrupted or failed."""
    summary = traitlets.Dict().tag(sync=True)
    candidates = traitlets.List().tag(sync=True)
    diff = traitlets.Dict().tag(sync=True)
    """{"id", "parent", "changes": [{"name", "old", "new"}]} for the selected candidate."""
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, search: Search, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.search = search
        self.on_msg(self._on_msg)
        search.subscribe(self._changed)
        self._changed("status", search)

    def _changed(self, _event: str, search: Search) -> None:
        rows = search.rows()
        self.status = search.status
        self.summary = _summary(search)
        self.candidates = rows

    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        try:
            if kind == "promote":
                self.search.promote(int(content["id"]))
            elif kind == "prune":
                self.search.prune(int(content["id"]))
            elif kind == "stop":
                self.search.stop()
            elif kind == "resume" and not self.search.running:
                self.search.start(resume=True)
            elif kind == "diff":
                number = int(content["id"])
                self.diff = {"id": number, "parent": self.search.candidates[number].parent,
                             "changes": [{k: c[k] for k in ("name", "old", "new")} for c in self.search.diff(number)]}
            else:
                return
            self.error = ""
        except (SearchError, KeyError, ValueError) as e:
            self.error = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)

    def close(self) -> None:
        self.search.unsubscribe(self._changed)
        super().close()
