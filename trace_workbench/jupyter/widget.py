"""The workbench widget (anywidget): live trace graph, feedback, side-by-side proposals, history.

One WorkbenchWidget per %%trace cell (the extension shows it above the cell's result) or per
`show(output)`. The front end (js/, bundled into static/) and this class talk only through the
model: the traitlets below and the custom messages described in `trace_workbench.jupyter.protocol`.
Proposing runs in a background thread, so the kernel keeps answering the widget while the model
works. This is the only module that imports anywidget and ipywidgets; it is imported on first use.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import traitlets

from trace_workbench.extras import require
from trace_workbench.jupyter.cell_sync import CellSync, WriteStatus
from trace_workbench.jupyter.protocol import (
    GraphFeed,
    describe_error,
    fallback_html,
    parse_edit,
    proposal_state,
    step_state,
    unusable_reply,
    value_text,
)
from trace_workbench.optimizers import Proposal
from trace_workbench.trace.graph import Scope
from trace_workbench.trace.nodes import ExceptionNode, Node, ancestors
from trace_workbench.trace.serialize import short
from trace_workbench.workbench.events import STEP_EVENTS, VALUE_EVENTS, Event
from trace_workbench.workbench.session import Session, get_session

anywidget = require("anywidget", "widget")

__all__ = ["WorkbenchWidget", "cell_widget", "show"]

STATIC = Path(__file__).parent / "static"
FRONT_END = Path(__file__).parents[1] / "labextension" / "static"
"""Where the widget's front end is (widget.<hash>.js): the JupyterLab extension serves it from there."""
HISTORY_LIMIT = 200
CLEARING_EVENTS = STEP_EVENTS - {Event.EDITED, Event.CANCELLED}
"""The steps after which a shown proposal is out of date (values moved, or it was decided)."""

_CELL_WIDGETS: dict[tuple[str, str], WorkbenchWidget] = {}
"""The widget shown in each notebook cell, by ("cell", the front end's cell id), or ("label", label) when the
front end sends no ids: a cell that runs again replaces its own widget, never another cell's."""
_PROPOSING: set[WorkbenchWidget] = set()
"""Widgets whose proposal runs in the background: a kernel interrupt stops them."""


def _watch_interrupts() -> None:
    """Make a kernel interrupt (SIGINT) while the kernel is idle stop the widgets' running proposals.

    An idle ipykernel ignores SIGINT: it installs the handler it will restore after each message in
    `kernel.saved_sigint_handler`. Called from a message handler (main thread), this puts a handler
    there that stops what proposes and otherwise does what the kernel's handler did.
    """
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    previous = getattr(kernel, "saved_sigint_handler", None)
    if previous is None or getattr(previous, "trace_workbench", False):
        return
    if threading.current_thread() is not threading.main_thread():
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        running = list(_PROPOSING)
        if running:
            for widget in running:
                kernel.io_loop.add_callback(widget.interrupt)
        elif callable(previous):
            previous(signum, frame)

    on_interrupt.trace_workbench = True  # type: ignore[attr-defined]
    kernel.saved_sigint_handler = on_interrupt


class WorkbenchWidget(anywidget.AnyWidget):
    """The workbench for one traced cell (`target` a cell label) or one output node (`target` a Node)."""

    _esm = STATIC / "loader.js"
    """A small loader, not the front end itself, so that a notebook saved with widget state stays small (see
    js/src/loader.js): it imports the front end from the JupyterLab extension, or asks the kernel for it."""
    _css = STATIC / "widget.css"

    uid = traitlets.Unicode("").tag(sync=True)
    """A unique id: the front end keeps the graph it received under it (shared by all views of the model)."""
    label = traitlets.Unicode("").tag(sync=True)
    """The cell's label (or the output's name)."""
    status = traitlets.Unicode("idle").tag(sync=True)
    """"idle", "running" (the cell), "proposing" (the model works), "applying" or "error"."""
    error = traitlets.Unicode("").tag(sync=True)
    """The last error, in words a person can act on ("" when none)."""
    output_value = traitlets.Unicode("").tag(sync=True)
    """The output's value, cut to a readable length."""
    proposal = traitlets.Dict().tag(sync=True)
    """The pending proposal for this cell (see protocol.proposal_state), {} when none."""
    accepted = traitlets.Dict().tag(sync=True)
    """The last applied step touching this graph: {"step", "decision", "values": {name: text}}."""
    history = traitlets.List().tag(sync=True)
    """The session's steps in this notebook (see protocol.step_state), oldest first."""
    usage = traitlets.Dict().tag(sync=True)
    """Tokens (and cost when known) of the last proposal."""
    writeback = traitlets.Dict().tag(sync=True)
    """What became of the cell's text after its values changed (see cell_sync.WriteStatus), {} when nothing;
    state "edited" asks the person whether to overwrite their edited cell."""
    graph_seq = traitlets.Int(-1).tag(sync=True)
    """The number of the last graph message sent (a view that has less asks for a snapshot)."""

    def __init__(self, session: Session | None = None, target: str | Node | None = None, *,
                 rerun: Callable[[], Node | None] | None = None, sync: CellSync | None = None, interval: float = 0.1,
                 cell_id: str | None = None, **kwargs: Any) -> None:
        session = session if session is not None else get_session()
        label = target if isinstance(target, str) else (target.name if isinstance(target, Node) else "")
        super().__init__(label=label, uid=uuid.uuid4().hex, **kwargs)
        self.session = session
        self.target: str | Node | None = target
        self.rerun_cell = rerun
        """Runs the cell again in the kernel only (where the front end cannot run it)."""
        self.cell_id = cell_id
        """The front end's id of the cell this widget is shown in (None: not known)."""
        self.feed = GraphFeed(self._send_graph, interval=interval)
        self.display_handle: Any = None
        self._scope: Scope | None = None
        self._last_proposal: Proposal | None = None
        self._worker: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._global_listener = False
        self.sync = sync
        self.on_msg(self._on_msg)
        session.subscribe(self._on_session)
        if sync is not None:
            sync.subscribe(self._on_writeback)
        self._refresh_history()

    # -- the graph -------------------------------------------------------------------------------------
    def _send_graph(self, message: dict[str, Any]) -> None:
        self.send(message)
        self.graph_seq = message["seq"]

    def follow(self, scope: Scope) -> None:
        """Draw `scope` (a cell's subgraph) from now on, live: its nodes so far, then every new one."""
        if self._scope is not None and self._scope is not scope:
            self._scope.remove_listener(self.feed.listener)
        self._scope = scope
        self.feed.reset(list(scope.nodes), scope.output)
        scope.add_listener(self.feed.listener)

    def _on_trace_event(self, event: str, node: Node, payload: Any) -> None:
        """Global listener for `show(node)`: only feedback and data changes of the nodes drawn."""
        if event != "node" and node in self.feed:
            self.feed.listener(event, node, payload)

    @property
    def output(self) -> Node | None:
        """The node that receives this widget's feedback."""
        if isinstance(self.target, Node):
            return self.target
        return self.session.outputs.get(self.target) if self.target else None

    # -- session events --------------------------------------------------------------------------------
    def _mine(self, label: Any) -> bool:
        return label is not None and label == self.target

    def _touches(self, names: Any) -> bool:
        """Whether parameters called `names` are in this graph."""
        params = self.session.parameters
        return any(name in params and params[name] in self.feed for name in names or ())

    def _on_session(self, event: str, payload: dict[str, Any]) -> None:
        if event == "cell_started" and self._mine(payload.get("label")):
            self.status, self.error = "running", ""
            self.follow(payload["scope"])
        elif event == "cell" and self._mine(payload.get("label")):
            output = payload["output"]
            self.feed.set_output(output)
            self.output_value = short(value_text(output._data), 300)
            self.status = "idle"
            if isinstance(output, ExceptionNode):
                self.error = f"The cell raised {short(value_text(output._data), 300)}"
            self.refresh_display()
        elif event == "proposal" and self._proposal_is_mine():
            self._show_proposal(payload["proposal"])
        if event in VALUE_EVENTS and self._touches(payload.get("values")):
            self.accepted = {"step": payload.get("step"), "decision": event,
                             "values": {k: value_text(v) for k, v in payload["values"].items()}}
        if event in CLEARING_EVENTS and self.proposal:
            self.proposal = {}
        if event in STEP_EVENTS:
            self._refresh_history()

    def _on_writeback(self, status: WriteStatus) -> None:
        if self._mine(status.label):
            self.writeback = status.to_dict()

    def _proposal_is_mine(self) -> bool:
        given = self.session.given_feedback
        if not given:
            return False
        label = given[-1].label
        return self._mine(label) or (isinstance(self.target, Node) and label == self.target.py_name)

    def _show_proposal(self, proposal: Proposal) -> None:
        self._last_proposal = proposal
        state = proposal_state(proposal, self.session.name_of)
        self.usage = state["usage"]
        options = state["candidates"] or [state]
        if any(option["changes"] for option in options):
            self.error = ""
        elif state["candidates"]:
            self.error = ("None of the candidates proposes a usable change. Give more specific feedback and press "
                          "Propose again.")
        else:
            self.error = unusable_reply(proposal, self.session.name_of) if proposal.error else (
                "The optimizer proposed no change. Give more specific feedback and press Propose again.")
        self.proposal = state if any(option["changes"] or option["rejected"] for option in options) else {}
        self.refresh_display()

    def _refresh_history(self) -> None:
        steps = self.session.steps()[-HISTORY_LIMIT:]
        self.history = [step_state(step) for step in steps]

    # -- messages from the front end -----------------------------------------------------------------
    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "snapshot": lambda c: self._send_graph(self.feed.snapshot()),
            "propose": self._propose,
            "stop": self._stop,
            "accept": self._accept,
            "reject": lambda c: self._act(lambda: self.session.reject(c.get("reason") or None)),
            "undo": lambda c: self._act(self.session.undo),
            "restore": lambda c: self._act(lambda: self._restore(c)),
            "rerun": lambda c: self._act(self._rerun),
            "writeback": lambda c: self._act(lambda: self._answer_writeback(c.get("answer"))),
            "bundle": lambda c: self.send(front_end_message()),
        }
        handler = handlers.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            handler(content)

    def _act(self, action: Callable[[], Any]) -> None:
        """Run a session action; an error becomes the inline message."""
        self.error = ""
        try:
            action()
        except Exception as e:
            self.error = describe_error(e)

    def _restore(self, content: dict[str, Any]) -> None:
        """Restore the values after step "step", or with "before" true the values from before it."""
        self.session.restore(int(content["step"]), before=content.get("before") is True)

    def _propose(self, content: dict[str, Any]) -> None:
        """Give the feedback (if any) and ask for a proposal, in a background thread."""
        if self._worker is not None and self._worker.is_alive() and not self._stop_event.is_set():
            return
        text = str(content.get("text") or "").strip() or None
        score = content.get("score")
        score = float(score) if isinstance(score, (int, float)) else None
        count = content.get("candidates")
        candidates = int(count) if isinstance(count, (int, float)) and not isinstance(count, bool) else None
        self.error, self.status = "", "proposing"
        stop = self._stop_event = threading.Event()
        _PROPOSING.add(self)
        _watch_interrupts()

        def work() -> None:
            try:
                if text is not None or score is not None:
                    self.session.feedback(self.target if self.target is not None else None, text, score)
                self.session.propose(stop, candidates)
            except BaseException as e:  # an interrupt cancels: shown, nothing applied
                if not stop.is_set():
                    self.error = describe_error(e, self._base_url())
            finally:
                _PROPOSING.discard(self)
                if not stop.is_set():
                    self.status = "idle"

        self._worker = threading.Thread(target=work, name=f"trace-workbench-propose-{self.label}", daemon=True)
        self._worker.start()

    def _stop(self, _content: dict[str, Any], how: str = "from the widget") -> None:
        """Stop a running propose: the widget is free at once, the late reply is dropped, the history
        records the cancellation."""
        if self._worker is None or not self._worker.is_alive() or self._stop_event.is_set():
            return
        self._stop_event.set()
        _PROPOSING.discard(self)
        self._act(lambda: self.session.cancel(f"stopped {how} while proposing; nothing changed"))
        self.status = "idle"
        self.error = "Stopped: the proposal was cancelled and nothing changed. Press Propose to ask again."

    def interrupt(self) -> None:
        """A kernel interrupt while this widget proposes: stop it, as the Stop button does."""
        self._stop({}, how="by a kernel interrupt")

    def _base_url(self) -> str | None:
        try:
            return self.session.settings.get("base_url")
        except Exception:
            return None

    def _accept(self, content: dict[str, Any]) -> None:
        names = content.get("names") or None
        edits_text = content.get("edits") or {}
        candidate = content.get("candidate")

        def accept() -> None:
            if candidate is not None and (isinstance(candidate, bool) or not isinstance(candidate, int)):
                raise ValueError(f"candidate must be an index, not {candidate!r}")
            chosen = self.session.proposal_for(candidate)
            edits = {}
            for key, text in edits_text.items():
                if key not in chosen.changes:
                    raise KeyError(f"{key!r} is not in this proposal; it proposes changes to {chosen.names}")
                change = chosen.changes[key]
                edits[key] = parse_edit(change.kind, text, change.old)
            self.session.accept(names, edits or None, candidate)

        self.status = "applying"
        try:
            self._act(accept)
        finally:
            self.status = "idle"

    def _answer_writeback(self, answer: Any) -> None:
        """The person's answer about their edited cell: overwrite it, put the updated cell below, or keep it."""
        if self.sync is None:
            raise RuntimeError("this widget does not belong to a traced cell")
        self.sync.answer(self.label, str(answer))

    def _rerun(self) -> None:
        """Run the cell again as the person would: the front end runs it (its Out and number update, and its
        widget is shown anew); where it cannot, the kernel runs it and the widget says what did not update."""
        if self.sync is not None and self.cell_id and self.sync.run(self.cell_id, self._rerun_in_kernel):
            return
        self._rerun_in_kernel("unavailable")

    def _rerun_in_kernel(self, why: str) -> None:
        """Run the cell in the kernel only; `why` the front end did not ("missing": the cell is gone)."""
        if self.rerun_cell is None:
            raise RuntimeError("this widget cannot re-run its cell: run the cell again yourself")
        self._act(self.rerun_cell)
        if not self.error:
            reason = "the cell is no longer in the notebook" if why == "missing" else "this front end cannot run cells"
            self.error = (f"Re-ran cell {self.label} in the kernel only ({reason}): this widget shows the new output, "
                          "but the cell's Out and its number did not update.")

    # -- display ---------------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | tuple[dict[str, Any], dict[str, Any]] | None:
        """The widget view, plus a static HTML picture for notebooks read without a kernel."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data)
        data["text/html"] = self.fallback_html()
        return (data, metadata) if isinstance(bundle, tuple) else data

    def fallback_html(self) -> str:
        """The graph picture and the last proposal's diff as HTML (see protocol.fallback_html)."""
        return fallback_html(self.label, self.feed.nodes, self.feed.output, self._last_proposal, self.session.name_of)

    def refresh_display(self) -> None:
        """Update the displayed output (and so the static fallback a saved notebook keeps)."""
        if self.display_handle is not None:
            self.display_handle.update(self)

    def close(self) -> None:
        """Stop following the session and the graph, and close the model."""
        try:
            self.session.unsubscribe(self._on_session)
        except ValueError:
            pass
        if self.sync is not None:
            self.sync.unsubscribe(self._on_writeback)
        if self._scope is not None:
            self._scope.remove_listener(self.feed.listener)
            self._scope = None
        if self._global_listener:
            from trace_workbench.trace.graph import GRAPH

            GRAPH.remove_listener(self._on_trace_event)
            self._global_listener = False
        self.feed.close()
        super().close()


def front_end_message() -> dict[str, str]:
    """The widget's front end as a message, for a front end without the JupyterLab extension (the loader
    asks for it; messages are not saved in the notebook)."""
    bundle = next(FRONT_END.glob("widget.*.js"))
    return {"type": "bundle", "file": bundle.name, "code": bundle.read_text(encoding="utf-8")}


def cell_widget(shell: Any, session: Session, label: str, rerun: Callable[[], Node | None] | None = None,
                sync: CellSync | None = None, cell_id: str | None = None) -> WorkbenchWidget | None:
    """Show the workbench widget for cell `label` (it fills in while the cell runs); None outside a kernel.

    The widget this cell showed before is closed (the front end cleared it), its last proposal kept for the
    static picture. Widgets of other cells with the same label stay, all following the label's latest run:
    closing one while its cell still showed it made it vanish (Run All of two such cells).
    """
    if getattr(shell, "kernel", None) is None:
        return None
    from IPython.display import display

    key = ("cell", cell_id) if cell_id else ("label", label)
    old = _CELL_WIDGETS.pop(key, None)
    widget = WorkbenchWidget(session, label, rerun=rerun, sync=sync, cell_id=cell_id)
    if old is not None:
        old.close()
        widget._last_proposal = old._last_proposal  # the saved notebook keeps the cell's last diff
    _CELL_WIDGETS[key] = widget
    widget.display_handle = display(widget, display_id=True)
    return widget


def show(output: str | Node | Scope | None = None, session: Session | None = None) -> WorkbenchWidget:
    """The workbench widget for an output: a cell label, a node, a scope, or None for the last traced cell."""
    session = session if session is not None else get_session()
    if isinstance(output, Node):
        widget = WorkbenchWidget(session, output)
        widget.feed.reset(ancestors([output]), output)
        from trace_workbench.trace.graph import GRAPH

        GRAPH.add_listener(widget._on_trace_event)
        widget._global_listener = True
        widget.output_value = short(value_text(output._data), 300)
        return widget
    if isinstance(output, Scope):
        label = next((k for k, s in session.scopes.items() if s is output), output.label)
        widget = WorkbenchWidget(session, label)
        widget.follow(output)
        return widget
    label, node = session.output(output)
    widget = WorkbenchWidget(session, label)
    scope = session.scopes.get(label)
    if scope is not None:
        widget.follow(scope)
    widget.feed.set_output(node)
    widget.output_value = short(value_text(node._data), 300)
    return widget
