"""The workbench widget's data and message protocol, without any widget library (testable anywhere).

GraphFeed turns a cell's graph events into numbered, batched, throttled "graph" messages (deltas,
or a snapshot when a view asks); the *_state functions shape proposals, steps and errors as the
JSON the widget's traitlets hold; fallback_html is the static picture a saved notebook shows
without a kernel.

Messages, kernel -> front end: {"type": "graph", "seq", "reset", "nodes", "edges", "updates"}.
Front end -> kernel: {"type": "snapshot"}, {"type": "propose", "text", "score", "candidates"},
{"type": "accept", "names", "edits", "candidate"}, {"type": "reject", "reason"}, {"type": "undo"},
{"type": "restore", "step", "before"}, {"type": "rerun"}, {"type": "stop"}, {"type": "writeback", "answer"}.
"candidates" (optional, default 1) asks for that many alternatives; "candidate" (optional) is the index of the
alternative accepted; "undo" takes back the session's last applied step; "before" (optional, default false)
restores the values from before step "step" instead of after it; "answer" ("overwrite", "below" or "keep")
is the person's choice for a cell they edited (see cell_sync).
"""

from __future__ import annotations

import ast
import base64
import html
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from trace_workbench.llm.errors import (
    LLMAuthError,
    LLMConfigError,
    LLMConnectionError,
    LLMError,
    LLMRateLimitError,
    LLMResponseError,
    LLMServerError,
)
from trace_workbench.llm.local import LOCAL_NOTE
from trace_workbench.optimizers import Candidates, Proposal
from trace_workbench.optimizers.rendering import View, as_html, proposal_view, value_text
from trace_workbench.trace.nodes import Node
from trace_workbench.trace.picture import GraphPicture
from trace_workbench.trace.serialize import node_dict, node_id, short
from trace_workbench.trace.values import CODE_KIND, is_code_parameter

__all__ = [
    "GraphFeed",
    "describe_error",
    "fallback_html",
    "node_fields",
    "parse_edit",
    "proposal_state",
    "step_state",
    "value_text",
]

MAX_CHARS = 300
"""How much of a node's value a graph message carries (the details pane shows it)."""
MAX_CODE = 4000
STEP_VALUE_CHARS = 200
"""How much of each value before and after a step the history list shows."""
FALLBACK_NODES = 150
"""Above this many nodes the static fallback shows a summary instead of the picture."""

Message = dict[str, Any]


def node_fields(n: Node, max_chars: int = MAX_CHARS) -> dict[str, Any]:
    """One node for the front end: the engine's node_dict plus its operator and, for a bundle, its code."""
    fields = node_dict(n, max_chars)
    fields["op"] = n.op_name if fields["kind"] in ("operation", "exception") else fields["name"].split(":")[0]
    code = None
    if is_code_parameter(n):
        code = n._data
    elif isinstance(n.info, dict) and isinstance(n.info.get("source"), str):
        code = n.info["source"]
    if code is not None:
        fields["code"] = short(code, MAX_CODE)
    return fields


class GraphFeed:
    """Collects the nodes of one graph and sends them as numbered deltas, at most every `interval` seconds.

    `listener` is a trace Listener (scope or GRAPH): "node" events add nodes (and the outside nodes
    feeding them, marked external); "feedback" and "data" events on known nodes queue updates. The
    first event after a quiet spell is sent at once; later ones wait for the interval, and a timer
    sends what is left, so a loop making thousands of nodes costs a few messages per second.
    Thread-safe: events may come from any thread.
    """

    def __init__(self, send: Callable[[Message], None], interval: float = 0.1) -> None:
        self.send = send
        self.interval = interval
        self.seq = -1
        self.output: Node | None = None
        self._nodes: dict[int, Node] = {}
        self._external: set[int] = set()
        self._new: list[Node] = []
        self._edges: list[tuple[str, str]] = []
        self._updated: dict[int, Node] = {}
        self._last = 0.0
        self._timer: threading.Timer | None = None
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, n: object) -> bool:
        return id(n) in self._nodes

    @property
    def nodes(self) -> list[Node]:
        """The nodes known so far, in the order they were added."""
        return list(self._nodes.values())

    def reset(self, nodes: Iterable[Node] = (), output: Node | None = None) -> None:
        """Forget everything (a new run of the cell) and start from `nodes`; views get a snapshot."""
        with self._lock:
            self._cancel_timer()
            self._nodes, self._external = {}, set()
            self._new, self._edges, self._updated = [], [], {}
            self.output = None
            for n in nodes:
                self._add(n, external=False)
            if output is not None:
                self._add(output, external=False)
                self.output = output
            self.send(self.snapshot())

    def listener(self, event: str, n: Node, payload: Any = None) -> None:
        """The trace listener: queue the change, and send if the interval has passed."""
        with self._lock:
            if event == "node":
                self._add(n, external=False)
            elif id(n) in self._nodes:
                self._updated[id(n)] = n
            else:
                return
            self._maybe_flush()

    def add(self, nodes: Iterable[Node]) -> None:
        """Add nodes (e.g. the ancestors of an output shown with `show`)."""
        with self._lock:
            for n in nodes:
                self._add(n, external=False)
            self._maybe_flush()

    def set_output(self, n: Node) -> None:
        """Mark `n` as the output (added if it is not in the graph yet) and send what is pending now."""
        with self._lock:
            previous, self.output = self.output, n
            if previous is not None and id(previous) in self._nodes:
                self._updated[id(previous)] = previous
            if id(n) in self._nodes:
                self._updated[id(n)] = n
            else:
                self._add(n, external=False)
            self.flush()

    def _add(self, n: Node, external: bool) -> None:
        key = id(n)
        if key in self._nodes:
            if not external and key in self._external:
                self._external.discard(key)
                self._updated[key] = n
            return
        for parent in n.parents:
            if id(parent) not in self._nodes:
                self._nodes[id(parent)] = parent
                self._external.add(id(parent))
                self._new.append(parent)
        self._nodes[key] = n
        if external:
            self._external.add(key)
        self._new.append(n)
        self._edges.extend((node_id(p), node_id(n)) for p in n.parents)

    def _fields(self, n: Node) -> dict[str, Any]:
        fields = node_fields(n)
        fields["output"] = n is self.output
        fields["external"] = id(n) in self._external
        return fields

    def _maybe_flush(self) -> None:
        wait = self.interval - (time.monotonic() - self._last)
        if wait <= 0:
            self.flush()
        elif self._timer is None:
            self._timer = threading.Timer(wait, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def flush(self) -> None:
        """Send the pending nodes, edges and updates as one delta (nothing if nothing is pending)."""
        with self._lock:
            self._cancel_timer()
            if not (self._new or self._edges or self._updated):
                return
            new_ids = {id(n) for n in self._new}
            self.seq += 1
            message = {
                "type": "graph", "seq": self.seq, "reset": False,
                "nodes": [self._fields(n) for n in self._new],
                "edges": [{"source": a, "target": b} for a, b in self._edges],
                "updates": [self._fields(n) for key, n in self._updated.items() if key not in new_ids],
            }
            self._new, self._edges, self._updated = [], [], {}
            self._last = time.monotonic()
            self.send(message)

    def snapshot(self) -> Message:
        """The whole graph as one message (pending changes included), numbered after the last delta."""
        with self._lock:
            self._cancel_timer()
            self._new, self._edges, self._updated = [], [], {}
            self.seq += 1
            nodes = list(self._nodes.values())
            members = set(self._nodes)
            edges = [{"source": node_id(p), "target": node_id(n)} for n in nodes for p in n.parents
                     if id(p) in members]
            self._last = time.monotonic()
            return {"type": "graph", "seq": self.seq, "reset": True, "nodes": [self._fields(n) for n in nodes],
                    "edges": edges, "updates": []}

    def close(self) -> None:
        """Stop the pending timer."""
        with self._lock:
            self._cancel_timer()


def proposal_state(proposal: Proposal, name_of: Callable[[str], str] | None = None) -> dict[str, Any]:
    """A proposal as the widget shows it: per parameter its old and new text, kind and reasoning.

    A set of candidates also lists them all under "candidates" (each in the same shape, with its
    "index", "score", "temperature" and "evaluation_error"); "chosen" is the default one's index.
    """
    usage = proposal.to_dict()["usage"]
    if usage and usage.get("local_calls"):
        usage["note"] = LOCAL_NOTE
    view = proposal_view(proposal, name_of)
    state = {**_changes_state(view), "optimizer": proposal.optimizer, "step": proposal.step,
             "usage": usage or {}, "candidates": [], "chosen": None}
    if isinstance(proposal, Candidates):
        state["candidates"] = [{**_changes_state(part), "index": c.index, "score": c.score,
                                "temperature": c.temperature, "evaluation_error": c.evaluation_error}
                               for c, part in zip(proposal, view.parts, strict=True)]
        state["chosen"] = proposal.index
    return state


def _changes_state(view: View) -> dict[str, Any]:
    """What one proposal (or candidate) would change: reasoning, error, unusable parts, and each change."""
    return {
        "reasoning": view.reasoning,
        "error": view.error,
        "rejected": dict(view.rejected),
        "changes": [{"key": row.key, "name": row.name, "kind": row.kind, "old_text": row.before,
                     "new_text": row.after, "reasoning": row.reasoning} for row in view.rows],
    }


def step_state(step: Any) -> dict[str, Any]:
    """A history step (trace_workbench.workbench.Step) for the timeline, with each value it changed as text
    before and after the step (the person can restore either)."""
    values = [{"name": c.name, "before": short(value_text(c.before), STEP_VALUE_CHARS),
               "after": short(value_text(c.after), STEP_VALUE_CHARS)} for c in step.changes]
    return {"id": step.id, "created": step.created, "decision": step.decision, "names": list(step.names),
            "cell": step.cell, "feedback": step.feedback, "score": step.score, "tokens": step.tokens,
            "note": step.note, "ref": step.ref, "revertible": bool(step.changes), "values": values}


def parse_edit(kind: str, text: str, old: Any) -> Any:
    """The value a person typed over a proposed one: text and code as typed, other kinds as a Python literal."""
    if kind == CODE_KIND or isinstance(old, str):
        return text
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError) as e:
        raise ValueError(f"the edited value {text!r} is not a Python literal of the kind {kind} "
                         f"(write it as in code, e.g. {value_text(old)})") from e


def describe_error(error: BaseException, base_url: str | None = None) -> str:
    """An error as words a person can act on (what happened, what to do), never a traceback."""
    where = f" at {base_url}" if base_url else ""
    if isinstance(error, LLMConfigError):
        return (f"No model is configured: {error}. Set OPENAI_API_KEY (and OPENAI_BASE_URL, TRACE_WORKBENCH_MODEL "
                f"for another endpoint) in the kernel's environment, or run %trace_config model=NAME "
                f"base_url=URL (model=local: a tiny model on this machine), then press Propose again.")
    if isinstance(error, LLMAuthError):
        return f"The model's server{where} refused the API key: check OPENAI_API_KEY, then press Propose again."
    if isinstance(error, LLMRateLimitError):
        return (f"The model's server{where} is rate limiting requests (it kept answering 429). Wait a minute and "
                f"press Propose again, or choose another model with %trace_config model=NAME.")
    if isinstance(error, LLMConnectionError):
        return (f"Could not reach the model{where}: {error}. Check that the server is running and the address "
                f"is right (%trace_config base_url=URL), then press Propose again.")
    if isinstance(error, LLMServerError):
        return f"The model's server{where} kept failing ({error}). Try again in a moment."
    if isinstance(error, LLMResponseError):
        return f"The model's server{where} gave an unusable reply: {error}. Press Propose again."
    if isinstance(error, LLMError):
        return f"The model could not be asked: {error}."
    if isinstance(error, KeyboardInterrupt):
        return f"Cancelled: {error or 'interrupted'}. Nothing changed."
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return text or type(error).__name__


def unusable_reply(proposal: Proposal, name_of: Callable[[str], str] | None = None) -> str:
    """What to tell the person when the model's reply gave nothing usable (in the person's names)."""
    return (f"The model's reply could not be used: {proposal_view(proposal, name_of).error}. Press Propose again, "
            f"perhaps with clearer feedback.")


def fallback_html(label: str, nodes: list[Node], output: Node | None, proposal: Proposal | None = None,
                  name_of: Callable[[str], str] | None = None) -> str:
    """The static picture a saved notebook shows without a kernel: the graph (an SVG image: JupyterLab's sanitizer
    strips inline <svg> from untrusted HTML, not an <img>) and the last proposal's diff (every candidate's)."""
    parts = [f'<div class="trace-workbench-fallback"><p><b>Trace · cell {html.escape(label)}</b> '
             f'({len(nodes)} nodes; run the notebook for the interactive workbench)</p>']
    if nodes and len(nodes) <= FALLBACK_NODES:
        picture = base64.b64encode(GraphPicture.of_nodes(nodes, output=output).svg.encode()).decode()
        parts.append(f'<div style="overflow:auto;max-height:480px"><img alt="the graph of cell {html.escape(label)}" '
                     f'src="data:image/svg+xml;base64,{picture}"></div>')
    elif nodes:
        kinds: dict[str, int] = {}
        for n in nodes:
            kind = node_dict(n, 0)["kind"]
            kinds[kind] = kinds.get(kind, 0) + 1
        summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        parts.append(f"<p>Graph too large for a static picture: {html.escape(summary)}.</p>")
    if output is not None:
        parts.append(f"<p>Output: <code>{html.escape(short(output._data, 300))}</code></p>")
    if proposal is not None and (proposal.changes or proposal.error or isinstance(proposal, Candidates)):
        parts.append(as_html(proposal_view(proposal, name_of)))
    parts.append("</div>")
    return "".join(parts)
