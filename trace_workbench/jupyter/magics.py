"""The IPython magics: %%trace runs a cell traced; %trace_feedback, %trace_propose, %trace_accept ... drive the loop.

Everything prints plain text, so it works without widgets (terminals, scripts, nbval). Bad options
raise UsageError (IPython prints one line); a syntax error in a traced cell is shown the way IPython
shows one; an error in a traced cell shows the person's own lines and is recorded as an ExceptionNode.

The settings (model, base_url, optimizer, timeout, max_retries, history) are traitlets of TraceMagics, a
Configurable: `%config TraceMagics.model = "gpt-4o-mini"` or `c.TraceMagics.model = ...` in
ipython_config.py set them as `%trace_config model=...` does. The line magics complete cell labels and
parameter names on Tab (completion.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
import textwrap
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.utils.process import arg_split
from traitlets import Float, Int, TraitError, Unicode, observe, validate
from traitlets.config import Configurable

import trace_workbench
from trace_workbench.jupyter.cell import CellOptions, TracedCells
from trace_workbench.jupyter.cell_sync import CellSync
from trace_workbench.jupyter.completion import SETTINGS, matcher
from trace_workbench.jupyter.rewrite import RewriteError
from trace_workbench.jupyter.writeback import WritebackError
from trace_workbench.llm.local import LOCAL_NOTE
from trace_workbench.optimizers import ApplyError, OptimizerError
from trace_workbench.optimizers.rendering import as_text, proposal_view, renamed, step_view
from trace_workbench.trace.text import shorten
from trace_workbench.workbench.history import History, HistoryError, Step
from trace_workbench.workbench.session import OPTIMIZERS, Cancelled, OptimizeStep, Session, SessionError

__all__ = ["CellSyntaxError", "TraceMagics", "install_syntax_error_display"]

_PACKAGE_DIR = str(Path(trace_workbench.__file__).parent) + os.sep


class CellSyntaxError(SyntaxError):
    """A syntax error in a %%trace cell: IPython shows it as it shows any cell's syntax error (no stack)."""


def install_syntax_error_display(shell: Any) -> Callable[[], None]:
    """Show CellSyntaxError the IPython way (and still mark the cell as failed); returns the undo.

    Uses IPython's custom exception hook, keeping any handler already installed for other exceptions.
    """
    previous_types, previous_handler = shell.custom_exceptions, shell.CustomTB

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> Any:
        if isinstance(value, CellSyntaxError):
            stb = shell.SyntaxTB.structured_traceback(SyntaxError, value, [])
            shell._showtraceback(SyntaxError, value, stb)
            return stb
        return previous_handler(etype, value, tb, tb_offset)

    shell.set_custom_exc((*previous_types, CellSyntaxError), handler)

    def restore() -> None:
        shell.custom_exceptions, shell.CustomTB = previous_types, previous_handler

    return restore


def _names(values: list[str]) -> tuple[str, ...]:
    """`--train a,b --train c` as ("a", "b", "c"), each checked to be a Python name."""
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name:
                continue
            if not name.isidentifier():
                raise UsageError(f"{name!r} is not a variable name")
            names.append(name)
    return tuple(dict.fromkeys(names))


def _cell_number(shell: Any) -> int:
    """The running cell's In[N] number. IPython 9 counts `execution_count` up before a cell runs and IPython 8
    after it; in both, the ExecutionResult the displayhook holds while the cell runs has N."""
    number = getattr(getattr(shell.displayhook, "exec_result", None), "execution_count", None)
    return number if isinstance(number, int) else shell.execution_count


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _user_frames(tb: TracebackType | None) -> TracebackType | None:
    """The traceback without the extension's and the engine's own frames: only the person's lines remain."""
    frames: list[TracebackType] = []
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            frames.append(tb)
        tb = tb.tb_next
    trimmed: TracebackType | None = None
    for frame in reversed(frames):
        trimmed = TracebackType(trimmed, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return trimmed


def _values_text(values: dict[str, Any]) -> str:
    """`name = value, ...` with each value's repr cut to 80 characters; text of several lines (a function's
    code) as its first line and its number of lines, which reads better than a repr full of \\n."""

    def shown(value: Any) -> str:
        if isinstance(value, str) and "\n" in value.strip():
            lines = value.strip().splitlines()
            return f"{shorten(lines[0], 60)} … ({len(lines)} lines)"
        return shorten(repr(value), 79)

    return ", ".join(f"{name} = {shown(value)}" for name, value in values.items())


class SettingError(TraitError):
    """A setting the magics refuse, with what to write instead: a TraitError, so traitlets undoes it (%config
    shows the message in one line); the magics raise it as a UsageError."""


def _setting(name: str, value: Any) -> Any:
    """`value` checked for the setting `name` (SettingError with what to write instead)."""
    if value is None:
        return value
    if name == "optimizer" and value not in OPTIMIZERS:
        raise SettingError(f"optimizer {value!r} is not one of {', '.join(OPTIMIZERS)}")
    if name == "timeout" and not value > 0:
        raise SettingError(f"timeout must be a number of seconds above 0, not {value!r}")
    if name == "max_retries" and value < 0:
        raise SettingError(f"max_retries must be 0 or more, not {value!r}")
    if name in ("model", "base_url", "history") and not str(value).strip():
        raise SettingError(f"{name} must not be empty")
    return value


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _history_heading(history: History, count: int, notebook: str, all_notebooks: bool) -> str:
    """The line above `%trace_history`'s list: what is listed, and whether other notebooks share the file
    (their steps take numbers too, so this notebook's need not run 1, 2, 3)."""
    notebooks = history.notebooks()
    if all_notebooks:
        return f"History {history.path}: {_plural(count, 'step')} of {_plural(len(notebooks), 'notebook')}"
    others = len([n for n in notebooks if n != notebook])
    heading = f"History {history.path}: {_plural(count, 'step')} of this notebook"
    if others:
        heading += (f" (the file is shared with {_plural(others, 'other notebook')}, numbered in one sequence; "
                    "--all lists theirs too)")
    return heading


def _step_text(step: Step, notebook: str) -> str:
    """One history step whole: its line, its reasoning, and each parameter's value before and after it."""
    lines = [step.summary()]
    if step.notebook != notebook:
        lines.append(f"  (a step of another notebook: {step.notebook or 'none named'})")
    if step.reasoning:
        lines.append(textwrap.indent(f"Reasoning: {step.reasoning.strip()}", "  "))
    if not step.changes:
        lines.append("  It changed no parameter.")
        return "\n".join(lines)
    for change in step.changes:
        lines += ["", f"--- {change.name} ({change.kind})", f"  before: {_values_text({change.name: change.before})}",
                  f"  after:  {_values_text({change.name: change.after})}",
                  textwrap.indent(change.diff.rstrip("\n"), "  ")]
    lines += ["", f"%trace_restore {step.id} --before puts back the values before this step, "
                  f"%trace_restore {step.id} those after it; %trace_undo takes a restore back."]
    return "\n".join(lines)


@magics_class
class TraceMagics(Magics, Configurable):
    """%%trace and the %trace_* line magics of one IPython shell, over one Session; its settings are
    configurable (None: the environment's or the default)."""

    model = Unicode(None, allow_none=True, help="The model's name (e.g. gpt-4o-mini; local: a tiny model on "
                                                "this machine).").tag(config=True)
    base_url = Unicode(None, allow_none=True, help="An OpenAI-compatible endpoint (default: OPENAI_BASE_URL or "
                                                   "OpenAI's).").tag(config=True)
    optimizer = Unicode(None, allow_none=True, help=f"The optimizer: {', '.join(OPTIMIZERS)} (default "
                                                    f"optoprime).").tag(config=True)
    timeout = Float(None, allow_none=True, help="Seconds to wait for one reply of the model.").tag(config=True)
    max_retries = Int(None, allow_none=True, help="How often a failed request is tried again.").tag(config=True)
    history = Unicode(None, allow_none=True, help="The history file (SQLite), shared by notebooks that name "
                                                  "it.").tag(config=True)

    def __init__(self, shell: Any, session: Session) -> None:
        self.session = session
        self._recording = False
        try:
            super().__init__(shell)  # the shell's configuration (ipython_config.py) reaches the session here
        except SettingError as e:
            if self in getattr(shell, "configurables", []):
                shell.configurables.remove(self)
            raise UsageError(f"c.TraceMagics in the IPython configuration: {e}") from None
        self.cells = TracedCells(session, shell.user_ns, self._cache_source, self._run_coroutine)
        self._restore_display = install_syntax_error_display(shell)
        self.sources: dict[str, str] = {}
        """Each traced cell's full text (magic line included), as it last ran."""
        self.sync = CellSync(session, getattr(shell, "kernel", None), to_python=self._python)
        """Writes accepted values into the notebook's cells (through the JupyterLab extension)."""
        self._matcher = matcher(lambda: self.session, shell.user_ns)
        completer = getattr(shell, "Completer", None)
        if completer is not None:
            completer.custom_matchers.append(self._matcher)

    @validate(*SETTINGS)
    def _check_setting(self, proposal: Any) -> Any:
        return _setting(proposal.trait.name, proposal.value)

    @observe(*SETTINGS)
    def _push_setting(self, change: Any) -> None:
        """A setting changed (%config, ipython_config.py): the session takes it, or it is undone."""
        if self._recording or change.new is None:
            return
        try:
            self.session.configure(**{change.name: change.new})
        except (SessionError, HistoryError) as e:
            self._record({change.name: change.old})
            raise SettingError(f"TraceMagics.{change.name} = {change.new!r}: {e}") from None

    def _record(self, settings: dict[str, Any]) -> None:
        """Hold `settings` in the traits without giving them to the session again."""
        self._recording = True
        try:
            for name, value in settings.items():
                setattr(self, name, value)
        finally:
            self._recording = False

    def _cache_source(self, text: str, number: int) -> str:
        return self.shell.compile.cache(text, number)

    def _python(self, text: str) -> str:
        """`text` as IPython runs it (`!cmd`, `%magic`, `x?` become calls), on the same lines: IPython's input
        transformations drop leading blank lines, which are put back."""
        python = self.shell.transform_cell(text)
        dropped = len(text.splitlines()) - len(python.splitlines())
        if dropped > 0 and not "".join(text.splitlines()[:dropped]).strip():
            python = "\n" * dropped + python
        return python

    def _run_coroutine(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run a traced cell that awaits at its top level as IPython runs such a cell: with its loop runner
        when no event loop runs; in a kernel, whose event loop is busy running this cell, on an event loop of
        its own in a worker thread, in a copy of the cell's context (so the cell's trace records it)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self.shell.loop_runner(coroutine)
        context = contextvars.copy_context()
        with ThreadPoolExecutor(1, thread_name_prefix="trace-workbench-await") as worker:
            return worker.submit(context.run, asyncio.run, coroutine).result()

    def close(self) -> None:
        """Stop following the session and give IPython back its exception display."""
        self.cells.close()
        self.sync.close()
        self._restore_display()
        completer = getattr(self.shell, "Completer", None)
        if completer is not None and self._matcher in completer.custom_matchers:
            completer.custom_matchers.remove(self._matcher)
        if self in getattr(self.shell, "configurables", []):
            self.shell.configurables.remove(self)

    # -- %%trace ----------------------------------------------------------------------------------
    @magic_arguments()
    @argument("--train", action="append", default=[], metavar="NAMES",
              help="Variables assigned in the cell that become trainable parameters (comma-separated). "
                   "On re-run a parameter keeps its accepted value unless you edit it in the cell.")
    @argument("--train-code", action="append", default=[], metavar="FUNCTIONS",
              help="Functions defined in the cell whose code becomes trainable (comma-separated).")
    @argument("--output", metavar="EXPR",
              help="The expression that receives feedback (quote it if it has spaces); "
                   "default: the cell's last expression.")
    @argument("--name", metavar="LABEL", help="The cell's label (default: its execution count).")
    @argument("--optimizer", choices=sorted(OPTIMIZERS), help="The optimizer to use (default: optoprime).")
    @argument("--no-widget", action="store_true", help="Do not show the workbench widget for this cell.")
    @cell_magic
    def trace(self, line: str, cell: str) -> Any:
        """Run the cell while its operations are recorded as one subgraph; show the output's plain value."""
        __tracebackhide__ = True  # noqa: F841 -- IPython hides this frame in tracebacks
        args = parse_argstring(self.trace, line)
        number = _cell_number(self.shell)
        label = _unquote(args.name) if args.name else str(number)
        options = CellOptions(train=_names(args.train), train_code=_names(args.train_code),
                              output=_unquote(args.output) if args.output else None, name=args.name,
                              optimizer=args.optimizer, widget=not args.no_widget)
        cell_id, text = self._front_end_cell()
        self.sources[label] = text or f"%%trace {line}".rstrip() + "\n" + cell
        filename = self._cache_source(self.sources[label], number)
        if options.widget:
            self._show_widget(label, cell_id)
        try:
            run = self.cells.run(self._python(cell), options, label, filename, first_line=2)
        except RewriteError as e:
            raise UsageError(f"%%trace: {e.msg}") from None
        except SyntaxError as e:
            raise CellSyntaxError(e.msg, (filename, e.lineno, e.offset, e.text, e.end_lineno, e.end_offset)) from None
        self.sync.ran(label, cell_id, self.sources[label], options.train + options.train_code)
        if run.error is not None:
            error = run.error
            original = getattr(error, "original", None)  # an ExecutionError is shown as the error it stands for
            shown = original if isinstance(original, Exception) else error
            raise shown.with_traceback(_user_frames(error.__traceback__)) from None
        return run.value

    def _front_end_cell(self) -> tuple[str | None, str | None]:
        """The front end's id of the running cell and its exact text, when a front end sent them (JupyterLab
        does, in the execute request); (None, None) when the %%trace did not come from a cell's own text."""
        request = getattr(self.shell, "parent_header", None) or {}
        code = request.get("content", {}).get("code")
        cell_id = request.get("metadata", {}).get("cellId")
        if not isinstance(code, str) or not code.lstrip().startswith("%%trace"):
            return None, None
        return (cell_id if isinstance(cell_id, str) else None), code

    def _show_widget(self, label: str, cell_id: str | None) -> None:
        """Show the workbench widget for cell `label` above its result (only in a kernel, with anywidget);
        `cell_id` the front end's id of the running cell."""
        try:
            from trace_workbench.jupyter.widget import cell_widget
        except ImportError:  # the "jupyter" extra is not installed: the magics still print text
            return
        cell_widget(self.shell, self.session, label, rerun=lambda: self.cells.rerun(label), sync=self.sync,
                    cell_id=cell_id)

    # -- the loop ----------------------------------------------------------------------------------------
    def _session_call(self, action: Callable[[], Any]) -> Any:
        __tracebackhide__ = True  # noqa: F841
        try:
            return action()
        except (SessionError, HistoryError, ApplyError, OptimizerError, KeyError) as e:
            raise UsageError(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)) from None
        except Cancelled as e:
            print(f"Cancelled: {e}", file=sys.stderr)
            return None

    @magic_arguments()
    @argument("--score", "-s", type=float, help="A score for the output (e.g. 0.3), with or without text.")
    @argument("words", nargs="*", help="[OUTPUT] TEXT: the cell label (default: the last traced cell) and the "
                                       "feedback in plain words.")
    @line_magic
    def trace_feedback(self, line: str) -> None:
        """Give feedback on a traced cell's output and carry it back to the parameters."""
        args = parse_argstring(self.trace_feedback, line)
        words = [_unquote(w) for w in args.words]
        output = None
        first = words[0][3:-1] if words and words[0].startswith("In[") and words[0].endswith("]") else (
            words[0] if words else None)
        if first in self.session.outputs and (len(words) > 1 or args.score is not None):
            output = first
            words.pop(0)
        text = " ".join(words) or None
        if text is None and args.score is None:
            raise UsageError("%trace_feedback needs a text, a --score, or both, e.g. %trace_feedback too long")
        self._session_call(lambda: self.session.feedback(output, text, args.score))
        label = output or self.session.last_label
        print(f"Feedback given to cell {label}. %trace_propose asks for a change.")

    @magic_arguments()
    @argument("--candidates", "-c", type=int, metavar="N",
              help="Ask for N alternative proposals at once (OptoPrimeMulti, one request with N choices) "
                   "and show them all; %%trace_accept --candidate K takes one.")
    @line_magic
    def trace_propose(self, line: str) -> None:
        """Ask the optimizer for new values; prints each parameter's diff and the reasoning. Nothing changes."""
        args = parse_argstring(self.trace_propose, line)
        proposal = self._session_call(lambda: self.session.propose(candidates=args.candidates))
        if proposal is not None:
            print(as_text(proposal_view(proposal, self.session.name_of, hint=True, local_note=LOCAL_NOTE)))

    @magic_arguments()
    @argument("--candidate", "-k", type=int, metavar="K",
              help="Accept candidate K of a %%trace_propose --candidates N (default: the one marked default).")
    @argument("names", nargs="*", help="The parameters to accept (default: all the proposal changes).")
    @line_magic
    def trace_accept(self, line: str) -> None:
        """Apply the pending proposal (all of it, or the named parameters), at once or not at all."""
        args = parse_argstring(self.trace_accept, line)
        names = _names(args.names) or None
        values = self._session_call(lambda: self.session.accept(names, candidate=args.candidate))
        if values is not None:
            chosen = "" if args.candidate is None else f" (candidate {args.candidate})"
            print(f"Accepted{chosen}: {_values_text(values)}. Re-run the traced cells to see the effect.")

    @magic_arguments()
    @argument("label", nargs="?", help="The traced cell (default: the last one).")
    @line_magic
    def trace_writeback(self, line: str) -> None:
        """Put the traced cell, with its parameters' current values written into its literals and trained
        functions, in a new cell below (as %load does): comments and layout stay as they were."""
        args = parse_argstring(self.trace_writeback, line)
        label = _unquote(args.label) if args.label else next(reversed(self.sources), None)
        if label is None or label not in self.sources:
            raise UsageError(f"no traced cell {label!r} ran in this kernel" if label else "no traced cell ran yet")
        options = self.cells.cells[label].options
        try:
            source = self.sync.rewritten(self.sources[label], options.train + options.train_code)
        except WritebackError as e:
            raise UsageError(f"%trace_writeback: {e}") from None
        self.shell.set_next_input(source)

    @magic_arguments()
    @argument("reason", nargs="*", help="Why (remembered by the optimizer and in the history).")
    @line_magic
    def trace_reject(self, line: str) -> None:
        """Refuse the pending proposal; nothing changes, and the history says it was rejected."""
        args = parse_argstring(self.trace_reject, line)
        reason = " ".join(_unquote(w) for w in args.reason) or None
        step = self._session_call(lambda: self.session.reject(reason))
        if step is not None:
            print(f"Rejected (history step #{step}).")

    @magic_arguments()
    @line_magic
    def trace_undo(self, line: str) -> None:
        """Put back the values from before the last accepted, optimized, trained or restored step of this kernel."""
        parse_argstring(self.trace_undo, line)
        step = self.session.last_applied
        values = self._session_call(self.session.undo)
        if values is not None:
            print(f"Undone step #{step}: {_values_text(values)}")

    @magic_arguments()
    @argument("step", nargs="?", type=int, help="Show this one step: each value before and after it.")
    @argument("--all", action="store_true", help="Steps of every notebook sharing the history file.")
    @argument("--diff", action="store_true", help="Show each step's diffs and reasoning.")
    @line_magic
    def trace_history(self, line: str) -> None:
        """List the steps in the history file (this notebook's unless --all), or show one step's values."""
        args = parse_argstring(self.trace_history, line)
        if args.step is not None:
            if args.all or args.diff:
                raise UsageError("%trace_history STEP shows one step whole; --all and --diff are for the list")
            step = self._session_call(lambda: self.session.history.step(args.step))
            if step is not None:
                print(_step_text(step, self.session.notebook))
            return
        steps = self.session.steps(all_notebooks=args.all)
        print(_history_heading(self.session.history, len(steps), self.session.notebook, args.all))
        for step in steps:
            if not args.diff:
                print(step.summary())
                continue
            summary, _, body = as_text(step_view(step)).partition("\n")  # as a step renders everywhere
            print(summary)
            if body.strip():
                print(textwrap.indent(body.strip("\n"), "    "))

    @magic_arguments()
    @argument("step", type=int, help="The history step whose values to bring back (see %%trace_history).")
    @argument("names", nargs="*", help="Only these parameters (default: all the step changed).")
    @argument("--before", action="store_true",
              help="The values from before the step (default: after it), e.g. those before the first step.")
    @line_magic
    def trace_restore(self, line: str) -> None:
        """Set parameters to their values after a history step, or before it with --before (also a step from
        before a kernel restart); %trace_undo takes it back."""
        args = self.trace_restore.parser.parse_intermixed_args(arg_split(line))  # --before also after names
        names = _names(args.names) or None
        values = self._session_call(lambda: self.session.restore(args.step, names, before=args.before))
        if values is not None:
            which = "the values before it" if args.before else "the values after it"
            print(f"Restored step #{args.step} ({which}): {_values_text(values)}")

    @magic_arguments()
    @argument("settings", nargs="*", help="model=NAME base_url=URL optimizer=optoprime|opro|textgrad timeout=S "
                                          "max_retries=N history=PATH. No key: keys come from OPENAI_API_KEY "
                                          "or --ask-key.")
    @argument("--ask-key", action="store_true", help="Ask for the API key without echoing it (getpass).")
    @line_magic
    def trace_config(self, line: str) -> None:
        """Show or change the model, endpoint, optimizer and history file (never a key)."""
        args = parse_argstring(self.trace_config, line)
        settings: dict[str, Any] = {}
        for item in args.settings:
            if "=" not in item:
                raise UsageError(f"{item!r}: write settings as name=value, e.g. model=gpt-4o-mini")
            name, value = item.split("=", 1)
            name, value = name.strip(), _unquote(value)
            if "key" in name.lower():
                raise UsageError("an API key is never typed into a cell: set OPENAI_API_KEY in the environment, "
                                 "or use %trace_config --ask-key (input hidden)")
            number = {"timeout": float, "max_retries": int}.get(name)
            try:
                settings[name] = _setting(name, number(value) if number else value)
            except SettingError as e:
                raise UsageError(str(e)) from None
            except ValueError:
                raise UsageError(f"{name}={value}: {name} must be a number, e.g. {name}=3") from None
        if args.ask_key:
            from trace_workbench.llm import prompt_api_key

            print("API key set for this kernel." if prompt_api_key() else "No key entered.")
        current = self._session_call(lambda: self.session.configure(**settings))
        self._record({name: value for name, value in settings.items() if name in SETTINGS})
        for name, value in current.items():
            print(f"{name} = {value}")

    @magic_arguments()
    @argument("--steps", "-n", type=int, default=5, help="At most this many propose-and-apply steps (default 5).")
    @argument("--feedback", "-f", required=True, metavar="FUNC",
              help="A function in the namespace: output value -> text, (text, score) or a score.")
    @argument("--output", "-o", metavar="LABEL", help="The traced cell to optimize (default: the last one).")
    @argument("--target", type=float, help="Stop when the score reaches this value.")
    @argument("--stop", metavar="FUNC",
              help="A function (text, score) -> bool that says when to stop (default: the feedback says "
                   "'success' or 'correct', or the score reaches --target).")
    @line_magic
    def trace_optimize(self, line: str) -> None:
        """Automatic loop: feedback from FUNC, propose, apply, re-run the cell; stops early on success."""
        args = parse_argstring(self.trace_optimize, line)
        namespace = self.shell.user_ns
        feedback = namespace.get(args.feedback)
        if not callable(feedback):
            raise UsageError(f"--feedback {args.feedback}: no function of that name in the namespace")
        stop = None
        if args.stop is not None:
            stop = namespace.get(args.stop)
            if not callable(stop):
                raise UsageError(f"--stop {args.stop}: no function of that name in the namespace")
        label = args.output or self.session.last_label

        def progress(round_: OptimizeStep) -> None:
            score = "" if round_.score is None else f" score={round_.score:g}"
            text = " ".join(round_.feedback.split())
            head = f"[{round_.index}/{args.steps}]{score} {shorten(text, 70)}"
            if round_.success:
                print(f"{head} -> success, stopping.")
            elif round_.changed:
                print(f"{head} -> changed {', '.join(round_.changed)} (step #{round_.step})")
            elif round_.index == args.steps:
                print(f"{head} -> no more steps.")
            else:
                error = renamed(round_.error or "", [p.py_name for p in self.session.parameters.values()],
                                self.session.name_of)
                print(f"{head} -> no change" + (f" ({error})" if error else ""))

        def rerun() -> Any:
            return self.cells.rerun(label) if label is not None else None

        self._session_call(lambda: self.session.optimize(
            feedback, args.steps, output=label, rerun=rerun, success=stop, target=args.target, progress=progress))

