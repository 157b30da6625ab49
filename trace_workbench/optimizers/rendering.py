"""One way to show a proposal (or a history step): rows of diffs under the person's names, as text or HTML.

`proposal_view` turns a Proposal (or a set of Candidates) into a `View`: a title, the reasoning, why the
reply could not be used, one `Row` per parameter (the person's name, the value before and after, their
diff, and the parameter's own reasoning) and notes. `as_text` and `as_html` render a View; the magics,
`Proposal.__str__`/`_repr_html_`, a history Step and the widget (its JSON and its saved-notebook
picture) all start from it. Names: the optimizer's (`prompt0`, `__code0`) become the person's (`prompt`,
the function's name) through `name_of`, by default the labels the optimizer gave the proposal.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trace_workbench.trace.text import shorten
from trace_workbench.trace.values import unified_diff

if TYPE_CHECKING:
    from trace_workbench.optimizers.proposal import Proposal

__all__ = ["Row", "View", "as_html", "as_text", "diff_html", "history_html", "proposal_view", "renamed", "rows_of",
           "step_view", "value_text"]

NameOf = Callable[[str], str]

REASONING_HTML_CHARS = 1000
"""How much of a step's reasoning the HTML shows (the text shows all of it)."""


def value_text(value: Any) -> str:
    """A value as the person reads and edits it: text and code as they are, other values as their repr."""
    return value if isinstance(value, str) else repr(value)


@dataclass(frozen=True)
class Row:
    """One parameter's change as shown: `key` is the optimizer's name (what accepting takes), `name` the
    person's; `before`/`after` the values as text; `diff` a unified diff headed with `name`."""

    key: str
    name: str
    kind: str
    before: str
    after: str
    diff: str
    reasoning: str | None = None


@dataclass(frozen=True)
class View:
    """What one proposal, candidate or step shows, in order: title, error, reasoning, rows, rejected, notes;
    `parts` are the candidates of a set, each a View of its own."""

    title: str
    rows: tuple[Row, ...] = ()
    reasoning: str = ""
    error: str | None = None
    rejected: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    parts: tuple[View, ...] = ()
    empty: str = "No change proposed."
    """Said when there is neither a row nor an error."""


def rows_of(changes: Iterable[Any], name_of: NameOf = str) -> tuple[Row, ...]:
    """Rows for ParameterChanges (key, kind, old, new, reasoning) or history ValueChanges (name, before, after)."""
    rows = []
    for change in changes:
        key = change.name
        name = name_of(key)
        old, new = (change.old, change.new) if hasattr(change, "old") else (change.before, change.after)
        rows.append(Row(key, name, change.kind, value_text(old), value_text(new), unified_diff(name, old, new),
                        getattr(change, "reasoning", None)))
    return tuple(rows)


def _naming(proposal: Proposal, name_of: NameOf | None) -> NameOf:
    """`name_of`, else the labels the optimizer put on the proposal, else the optimizer's own names."""
    if name_of is not None:
        return name_of
    labels = proposal.labels
    return lambda key: labels.get(key, key)


def renamed(text: str, keys: Iterable[str], name_of: NameOf) -> str:
    """A message with the optimizer's names (`prompt0`) replaced by the person's (`prompt`)."""
    names = {key: name_of(key) for key in keys}
    names = {key: name for key, name in names.items() if name != key}
    if not names or not text:
        return text
    pattern = re.compile(r"(?<![\w])(" + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))
                         + r")(?![\w])")
    return pattern.sub(lambda m: names[m.group(1)], text)


def _body(proposal: Proposal, name_of: NameOf, title: str, notes: tuple[str, ...] = ()) -> View:
    keys = [*proposal.labels, *proposal.changes, *proposal.rejected]
    return View(
        title=title,
        rows=rows_of(proposal.changes.values(), name_of),
        reasoning=proposal.reasoning or "",
        error=renamed(proposal.error, keys, name_of) if proposal.error else None,
        rejected=tuple((name_of(k), renamed(why, keys, name_of)) for k, why in proposal.rejected.items()),
        notes=notes,
    )


def proposal_view(proposal: Proposal, name_of: NameOf | None = None, *, hint: bool = False,
                  local_note: str | None = None) -> View:
    """A proposal (every candidate of a set) as a View. `hint` adds how to accept or reject it (for the magics);
    `local_note` is said when a local model answered."""
    from trace_workbench.optimizers.optoprimemulti import Candidates

    naming = _naming(proposal, name_of)
    notes: list[str] = []
    if proposal.usage is not None:
        notes.append(f"Tokens: {proposal.usage.total_tokens}")
        if proposal.usage.local_calls and local_note:
            notes.append(local_note)
    if isinstance(proposal, Candidates):
        count = len(proposal)
        parts = []
        for candidate in proposal:
            score = "" if candidate.score is None else f", score {candidate.score:g}"
            default = " (the default choice)" if candidate.index == proposal.chosen.index else ""
            scored = (f"Not scored: {candidate.evaluation_error}",) if candidate.evaluation_error else ()
            part = _body(candidate, naming, f"Candidate {candidate.index}{score}{default}")
            parts.append(View(**{**part.__dict__, "notes": scored}))
        if hint:
            notes.append(f"%trace_accept --candidate K [names] applies candidate K (0 to {count - 1}; default "
                         f"{proposal.chosen.index}), %trace_reject refuses them all.")
        return View(title=f"{proposal.optimizer} proposal (step {proposal.step}): {count} candidates",
                    notes=tuple(notes), parts=tuple(parts))
    if hint and proposal.changes:
        notes.append("%trace_accept [names] applies it, %trace_reject refuses it.")
    return _body(proposal, naming, f"{proposal.optimizer} proposal (step {proposal.step})", tuple(notes))


def _text_body(view: View) -> list[str]:
    lines: list[str] = []
    if view.error:
        lines.append(f"The reply could not be used: {view.error}")
    if not view.rows and not view.error and not view.parts and view.empty:
        lines.append(view.empty)
    if view.reasoning:
        lines += ["", "Reasoning:", textwrap.indent(view.reasoning.strip(), "  ")]
    for row in view.rows:
        lines += ["", f"--- {row.name} ({row.kind})", row.diff.rstrip("\n")]
        if row.reasoning:
            lines.append(textwrap.indent(f"Why: {row.reasoning.strip()}", "  "))
    for name, why in view.rejected:
        lines.append(f"Not usable, {name}: {why}")
    return lines


def as_text(view: View) -> str:
    """The view as plain text: the title, then each parameter's diff with its reasoning; candidates in turn."""
    lines = [view.title, *_text_body(view)]
    for part in view.parts:
        lines += ["", f"=== {part.title}", *part.notes]
        lines += textwrap.indent("\n".join(_text_body(part)), "  ").splitlines()
    if view.notes:
        lines += ["", *view.notes]
    return "\n".join(lines)


def diff_html(diff: str) -> str:
    """A unified diff as HTML, added and removed lines tinted in colours that read in light and dark themes."""
    rows = []
    for line in diff.splitlines():
        color = ("rgba(46,160,67,0.22)" if line.startswith("+") and not line.startswith("+++") else
                 "rgba(248,81,73,0.22)" if line.startswith("-") and not line.startswith("---") else "transparent")
        rows.append(f'<div style="background:{color}">{html.escape(line) or "&nbsp;"}</div>')
    return ('<pre style="font-size:12px;border:1px solid rgba(128,128,128,0.5);padding:4px;margin:4px 0;'
            'white-space:pre-wrap">' + "".join(rows) + "</pre>")


def _html_body(view: View) -> list[str]:
    parts = []
    if view.error:
        parts.append(f"<p>The reply could not be used: {html.escape(view.error)}</p>")
    if not view.rows and not view.error and not view.parts and view.empty:
        parts.append(f"<p>{html.escape(view.empty)}</p>")
    if view.reasoning:
        parts.append(f"<p><i>{html.escape(shorten(view.reasoning, REASONING_HTML_CHARS))}</i></p>")
    for row in view.rows:
        why = f"<p><i>Why: {html.escape(row.reasoning)}</i></p>" if row.reasoning else ""
        parts.append(f"<p>{html.escape(row.name)} ({html.escape(row.kind)})</p>{diff_html(row.diff)}{why}")
    parts += [f"<p>Not usable, {html.escape(name)}: {html.escape(why)}</p>" for name, why in view.rejected]
    return parts


def as_html(view: View, heading: str = "p") -> str:
    """The view as HTML (no scripts, no external styles): what a notebook shows for it without a kernel."""
    parts = [f"<{heading}><b>{html.escape(view.title)}</b></{heading}>", *_html_body(view)]
    for part in view.parts:
        parts.append(f"<p><b>{html.escape(part.title)}</b></p>")
        parts += [f"<p>{html.escape(note)}</p>" for note in part.notes]
        parts += _html_body(part)
    parts += [f"<p>{html.escape(note)}</p>" for note in view.notes]
    return "".join(parts)


def step_view(step: Any) -> View:
    """A history step (trace_workbench.workbench.Step) as a View: its summary line, reasoning and diffs."""
    return View(title=step.summary(), rows=rows_of(step.changes), reasoning=step.reasoning, empty="")


def history_html(title: str, steps: Iterable[Any]) -> str:
    """A list of history steps as HTML: a heading, then each step's summary and diffs."""
    shown = [as_html(step_view(step)) for step in steps]
    return (f"<div class=\"trace-workbench-history\"><p><b>{html.escape(title)}</b></p>"
            + ("".join(shown) or "<p>No step yet.</p>") + "</div>")
