"""Small helpers of Trace's public surface: identity membership, feedback sums, class decoration, and
render_opt_step (a notebook picture of one optimizer step)."""

from __future__ import annotations

import functools
import operator
import sys
from collections.abc import Callable, Iterable
from typing import Any


def contain(container_of_nodes: Iterable[Any], node: Any) -> bool:
    """Whether `node` itself (not an equal value) is in the container."""
    return any(node is n for n in container_of_nodes)


def sum_feedback(nodes: Iterable[Any]) -> Any:
    """All the feedback the nodes received, added up (TraceGraphs merge into one graph); 0 if none."""
    received = [f for n in nodes for fs in n.feedback.values() for f in fs]
    return functools.reduce(operator.add, received) if received else 0


def for_all_methods(decorator: Callable[[Any], Any]) -> Callable[[type], type]:
    """Class decorator that applies `decorator` to each public method of the class."""

    def decorate(cls: type) -> type:
        for name, attr in list(cls.__dict__.items()):
            if callable(attr) and not name.startswith("__"):
                setattr(cls, name, decorator(attr))
        return cls

    return decorate


_STEP_BLOCKS = {"graph": ("Trace Graph", "g", "#E0E0E0", "#9E9E9E"),
                "feedback": ("Feedback", "f", "#FFB3BA", "#FF6B6B"),
                "reasoning": ("Reasoning", "r", "#BAFFC9", "#4CAF50"),
                "improvement": ("Improvement", "a", "#BAE1FF", "#2196F3")}
"""render_opt_step's blocks: title, letter, fill and border colours (Trace's layout)."""


class OptStep:
    """One optimizer step as Trace's render_opt_step draws it: the trace graph the model saw, the
    feedback, the model's reasoning and the improvement it suggested (HTML in notebooks, text elsewhere)."""

    def __init__(self, step_idx: int, blocks: dict[str, str]) -> None:
        self.step_idx = step_idx
        self.blocks = blocks

    def _repr_html_(self) -> str:
        import html

        parts = []
        for key, text in self.blocks.items():
            title, letter, fill, border = _STEP_BLOCKS[key]
            parts.append(
                f'<div style="display:flex;align-items:stretch;margin-bottom:10px">'
                f'<div style="flex-grow:1;background:{fill};border:2px solid {border};padding:10px;border-radius:5px">'
                f'<p style="margin:0 0 4px"><b>{title}</b></p><pre style="margin:0;white-space:pre-wrap;'
                f'word-wrap:break-word">{html.escape(text)}</pre></div><div style="width:40px;display:flex;'
                f'align-items:center;justify-content:center;font-size:24px;color:{border}">'
                f'{letter}<sub>{self.step_idx}</sub></div></div>')
        return f'<div style="font-family:Arial,sans-serif;max-width:600px;margin-bottom:10px">{"".join(parts)}</div>'

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's text/plain form (terminals, text-only front ends): the same blocks as text."""
        printer.text(str(self))

    def __str__(self) -> str:
        return "\n\n".join(f"== {_STEP_BLOCKS[key][0]} ({_STEP_BLOCKS[key][1]}{self.step_idx})\n{text}"
                           for key, text in self.blocks.items())


def opt_step(step_idx: int, optimizer: Any, no_trace_graph: bool = False, no_improvement: bool = False) -> OptStep:
    """Step `step_idx` of an optimizer that logs its prompts (OptoPrime's `log` and `summary_log`)."""
    import json
    import re

    log, summaries = getattr(optimizer, "log", None), getattr(optimizer, "summary_log", None)
    if not log or not summaries or not -len(summaries) <= step_idx < len(summaries):
        steps = len(summaries or [])
        raise IndexError(f"the optimizer has logged {steps} step(s), so there is no step {step_idx} "
                         "(it logs steps that asked the model; OptoPrime(..., log=True) is the default)")
    response = log[step_idx]["response"]
    found = re.search(r"\{.*\}", response, re.DOTALL)
    try:
        reply = json.loads(found.group(0)) if found else {}
    except ValueError:
        reply = {}
    reply = reply if isinstance(reply, dict) else {}
    suggestion = reply.get("suggestion")
    if isinstance(suggestion, dict) and suggestion:
        improvement = "".join(f"{name}:\n\n{value}\n\n" for name, value in suggestion.items()).rstrip()
    elif reply.get("answer"):
        improvement = str(reply["answer"])
    else:
        improvement = "(no change suggested)" if reply else f"(the reply was not JSON) {response}"
    entry = summaries[step_idx]
    masked = ["#Feedback", "#Others", "#Instruction"]
    graph = str(optimizer.problem_instance(entry["summary"], mask=masked))
    for symbol in masked:
        graph = graph.replace(symbol + "\n", "").replace(symbol + ":\n", "")
    blocks = {"graph": re.sub(r"\n\s*\n", "\n\n", graph).strip(), "feedback": str(entry["problem_instance"].feedback),
              "reasoning": str(reply.get("reasoning", "")), "improvement": improvement}
    if no_trace_graph:
        del blocks["graph"]
    if no_improvement:
        del blocks["improvement"]
    return OptStep(step_idx, blocks)


def render_opt_step(step_idx: int, optimizer: Any, no_trace_graph: bool = False, no_improvement: bool = False) -> None:
    """Trace's notebook helper: show step `step_idx` of `optimizer` (see `opt_step`), as HTML in IPython
    (displayed, so it works inside loops) and as text elsewhere."""
    step = opt_step(step_idx, optimizer, no_trace_graph=no_trace_graph, no_improvement=no_improvement)
    ipython = sys.modules.get("IPython")
    if ipython is not None and ipython.get_ipython() is not None:
        from IPython.display import display

        display(step)
    else:
        print(step)
