"""%trace_search: start a search over candidate parameter sets, watch it and steer it without the widget.

    %trace_search start PROGRAM DATASET FEEDBACK [options]   (runs in the background; --wait to block)
    %trace_search status | promote N | prune N | stop | resume [NAME] | diff N | show

PROGRAM, DATASET and FEEDBACK (and --metric, --optimizer) name variables of the namespace. Bad input
raises UsageError (IPython prints one line). The search is the train layer's `Search`; this file only
parses, prints, and keeps the kernel's searches by name.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from trace_workbench.optimizers.optimizer import Optimizer
from trace_workbench.train.search import Objective, Search, SearchError
from trace_workbench.workbench.history import HistoryError
from trace_workbench.workbench.session import Session, SessionError

__all__ = ["SearchMagics", "register_search_magics", "status_table", "unregister_search_magics"]

COMMANDS = ("start", "status", "promote", "prune", "stop", "resume", "diff", "show")
_REGISTERED: dict[int, SearchMagics] = {}


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting."""

    def error(self, message: str) -> Any:
        raise UsageError(f"%trace_search start: {message}")


def _start_parser() -> _Parser:
    parser = _Parser(prog="%trace_search start", add_help=False)
    parser.add_argument("program")
    parser.add_argument("dataset")
    parser.add_argument("feedback")
    parser.add_argument("--metric")
    parser.add_argument("--optimizer")
    parser.add_argument("--strategy", choices=("beam", "priority"), default="priority")
    parser.add_argument("--beam-width", type=int, default=2)
    parser.add_argument("--branching", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--rollouts", type=int, default=1)
    parser.add_argument("--ucb-rollouts", type=int, default=2)
    parser.add_argument("--exploration", type=float, default=1.0)
    parser.add_argument("--objective", default="score")
    parser.add_argument("--minimize", default="")
    parser.add_argument("--pareto", action="store_true")
    parser.add_argument("--tokens", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--name", default="search")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--no-widget", action="store_true")
    return parser


def _objective(spec: str, minimize: str, pareto: bool) -> Objective:
    """"score" / "score,tokens" / "score=1,cost=0.5" (weights) into an Objective."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, weight = part.partition("=")
        try:
            weights[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise UsageError(f"--objective {spec}: {weight!r} is not a number") from None
    low = [m.strip() for m in minimize.split(",") if m.strip()]
    for name in low:
        weights.setdefault(name, 1.0)
    try:
        if pareto:
            return Objective.front(list(weights), minimize=low, weights=weights)
        return Objective.weighted(weights, minimize=low)
    except ValueError as e:
        raise UsageError(f"--objective: {e}") from None


def _shown(number: float | None) -> str:
    return "-" if number is None else f"{number:.3g}"


def status_table(search: Search) -> str:
    """The candidates as a plain-text table: lineage, status, rollouts, objective, UCB and metrics."""
    rows = search.rows()
    metrics = sorted({m for row in rows for m in row["metrics"]})
    head = ["id", "parent", "status", "n", "value", "ucb", *metrics, ""]
    lines = [head]
    for row in rows:
        marks = ("best " if row["best"] else "") + ("front " if row["front"] and search.objective.pareto else "")
        marks += "promoted" if row["promoted"] else ""
        lines.append([f"#{row['id']}", "-" if row["parent"] is None else f"#{row['parent']}", row["status"],
                      str(row["rollouts"]), _shown(row["value"]), _shown(row["ucb"]),
                      *(_shown(row["metrics"].get(m)) for m in metrics), marks.strip()])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    table = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                      for line in lines)
    state = search.state
    summary = (f"search {search.name!r} ({search.strategy}, {search.objective.describe()}): {search.status}"
               + (f" ({state['stopped']})" if state.get("stopped") and search.status != "running" else "")
               + f", round {state.get('round', 0)}/{search.rounds}, {search.tokens} tokens")
    return f"{summary}\n{table}"


@magics_class
class SearchMagics(Magics):
    """%trace_search over the searches of one shell, recorded in the session's history."""

    def __init__(self, shell: Any, session: Session) -> None:
        super().__init__(shell)
        self.session = session
        self.searches: dict[str, Search] = {}
        self.current: str | None = None

    def _search(self, name: str | None = None) -> Search:
        name = name or self.current
        if name is None or name not in self.searches:
            known = ", ".join(self.searches) or "none"
            raise UsageError(f"no search {name!r} in this kernel (searches: {known}); start one with "
                             "%trace_search start PROGRAM DATASET FEEDBACK")
        return self.searches[name]

    def _variable(self, name: str, what: str, check: Any = callable) -> Any:
        if name not in self.shell.user_ns:
            raise UsageError(f"{what} {name!r}: no variable of that name in the namespace")
        found = self.shell.user_ns[name]
        if check is not None and not check(found):
            raise UsageError(f"{what} {name!r} is a {type(found).__name__}, which will not do")
        return found

    @staticmethod
    def _candidate(words: list[str], command: str) -> int:
        if len(words) != 1 or not words[0].lstrip("#").isdigit():
            raise UsageError(f"%trace_search {command} N: N is a candidate's number (see %trace_search status)")
        return int(words[0].lstrip("#"))

    @line_magic
    def trace_search(self, line: str) -> Any:
        """Start, watch and steer a search over candidate parameter sets (see the module's notes)."""
        try:
            words = shlex.split(line)
        except ValueError as e:
            raise UsageError(f"%trace_search: {e}") from None
        if not words or words[0] not in COMMANDS:
            raise UsageError(f"%trace_search COMMAND: one of {', '.join(COMMANDS)}")
        command, rest = words[0], words[1:]
        try:
            return getattr(self, f"_{command}")(rest)
        except (SearchError, SessionError, HistoryError) as e:
            raise UsageError(str(e)) from None

    def _start(self, words: list[str]) -> Any:
        args = _start_parser().parse_args(words)
        program = self._variable(args.program, "PROGRAM")
        dataset = self._variable(args.dataset, "DATASET", check=None)
        feedback = self._variable(args.feedback, "FEEDBACK")
        metric = self._variable(args.metric, "--metric") if args.metric else None
        if args.optimizer:
            optimizer = self._variable(args.optimizer, "--optimizer", check=lambda o: isinstance(o, Optimizer))
        else:
            optimizer = self.session.optimizer
        old = self.searches.get(args.name)
        if old is not None and old.running:
            raise UsageError(f"the search {args.name!r} is running; %trace_search stop first, or give --name")
        try:
            search = Search(program, dataset, optimizer, feedback, metric=metric, strategy=args.strategy,
                            objective=_objective(args.objective, args.minimize, args.pareto),
                            beam_width=args.beam_width, branching=args.branching, rounds=args.rounds,
                            batch_size=args.batch_size, min_rollouts=args.rollouts, ucb_rollouts=args.ucb_rollouts,
                            exploration=args.exploration, token_budget=args.tokens, time_budget=args.seconds,
                            num_threads=args.threads, session=self.session, name=args.name)
        except (ValueError, TypeError) as e:
            raise UsageError(f"%trace_search start: {e}") from None
        self.searches[args.name] = search
        self.current = args.name
        if not args.no_widget:
            self._show_widget(search)
        if args.wait:
            search.run(resume=args.resume)
            print(status_table(search))
            return None
        search.start(resume=args.resume)
        print(f"Search {args.name!r} started in the background: %trace_search status shows it, "
              "promote N / prune N / stop steer it.")
        return None

    def _show_widget(self, search: Search) -> None:
        """Show the search widget when anywidget is installed (the magic works without it)."""
        try:
            from trace_workbench.jupyter.search_widget import SearchWidget
        except ImportError:
            return
        from IPython.display import display

        display(SearchWidget(search))

    def _status(self, words: list[str]) -> None:
        print(status_table(self._search(words[0] if words else None)))

    def _promote(self, words: list[str]) -> None:
        search = self._search()
        number = self._candidate(words, "promote")
        search.promote(number)
        print(f"Candidate #{number} promoted: it is expanded next" + ("" if search.running else
                                                                      " (%trace_search resume goes on)"))

    def _prune(self, words: list[str]) -> None:
        search = self._search()
        number = self._candidate(words, "prune")
        search.prune(number)
        print(f"Candidate #{number} pruned: it is not rolled out or expanded again")

    def _stop(self, words: list[str]) -> None:
        if words:
            raise UsageError("%trace_search stop takes no argument")
        search = self._search()
        if not search.running:
            print(f"The search {search.name!r} is not running ({search.status}).")
            return
        search.stop()
        search.wait()
        print(f"Search {search.name!r} stopped after the work under way; %trace_search resume goes on.")

    def _resume(self, words: list[str]) -> None:
        search = self._search(words[0] if words else None)
        if search.running:
            raise UsageError(f"the search {search.name!r} is already running")
        self.current = search.name
        search.start(resume=True)
        print(f"Search {search.name!r} resumed in the background.")

    def _diff(self, words: list[str]) -> None:
        search = self._search()
        number = self._candidate(words, "diff")
        changes = search.diff(number)
        if not changes:
            print(f"Candidate #{number} changes nothing against its parent.")
        for change in changes:
            print(change["diff"].rstrip("\n"))

    def _show(self, words: list[str]) -> None:
        if words:
            raise UsageError("%trace_search show takes no argument")
        self._show_widget(self._search())


def register_search_magics(shell: Any, session: Session) -> None:
    """Register %trace_search on `shell` (from the extension's loader)."""
    magics = SearchMagics(shell, session)
    shell.register_magics(magics)
    _REGISTERED[id(shell)] = magics


def unregister_search_magics(shell: Any) -> None:
    """Stop the shell's running searches and remove %trace_search (when the extension is unloaded)."""
    magics = _REGISTERED.pop(id(shell), None)
    if magics is None:
        return
    for search in magics.searches.values():
        if search.running:
            search.stop()
            search.wait()
    shell.magics_manager.magics["line"].pop("trace_search", None)
