"""Record the scripted model replies the notebooks replay offline, then re-run them offline.

For each notebook, this starts trace_workbench.testing.ChatServer (a real local Chat Completions
server) with that notebook's scripted answers, runs the notebook top to bottom in a fresh kernel
pointed at it with TRACE_WORKBENCH_RECORD set, so every request the notebook's cells make and its
reply are recorded to replies/NN_name.jsonl in the LLM layer's replay format. Then it runs the
notebook again with no model configured (the notebook's first cell turns on replay) and saves it
with those offline outputs (each widget's static picture and last diff, for readers without a kernel).

    python notebooks/record_replies.py                 # every notebook
    python notebooks/record_replies.py 04 06           # the notebooks whose names start so

The answers below are scripts, not a model: they show the mechanics. Needs nbclient, nbformat and
ipykernel (the "dev" extra).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trace_workbench.llm.local import LOCAL_NOTE
from trace_workbench.testing import ChatServer

HERE = Path(__file__).resolve().parent
MODEL = "scripted-replies"
Responder = Callable[[dict[str, Any]], str]

# The environment a recording or an offline run must not inherit from the machine.
MODEL_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "TRACE_WORKBENCH_MODEL",
             "TRACE_WORKBENCH_CACHE", "TRACE_WORKBENCH_REPLAY", "TRACE_WORKBENCH_RECORD", "TRACE_WORKBENCH_HISTORY",
             "TRACE_WORKBENCH_REPLAY_MISS")


# -- reading a request --------------------------------------------------------------------------------------
def _text(body: dict[str, Any], role: str) -> str:
    return "\n".join(str(m.get("content") or "") for m in body["messages"] if m.get("role") == role)


def _variable(body: dict[str, Any], prefix: str) -> str:
    """The name of the first parameter named `prefix`<number> the request mentions (e.g. "x0", "__code0")."""
    match = re.search(rf"\b({re.escape(prefix)}\d+)\b", _text(body, "system") + _text(body, "user"))
    if match is None:
        raise ValueError(f"the request names no parameter {prefix}N")
    return match.group(1)


def _optoprime(suggestion: dict[str, Any], reasoning: str) -> str:
    """An OptoPrime / OPRO reply as a well-behaved model writes it."""
    return json.dumps({"reasoning": reasoning, "answer": "", "suggestion": suggestion})


# -- 01: the README example ---------------------------------------------------------------------------------
STRANGE_SORT = '''def strange_sort_list(lst):
    """
    Given list of integers, return list in strange order.
    Strange sorting, is when you start with the minimum value,
    then maximum of the remaining integers, then minimum and so on.
    """
    lst = sorted(lst)
    result = []
    while lst:
        result.append(lst.pop(0))
        if lst:
            result.append(lst.pop())
    return result
'''


def quickstart(body: dict[str, Any]) -> str:
    """Rewrite strange_sort_list so it alternates minimum and maximum."""
    return _optoprime({_variable(body, "__code"): STRANGE_SORT},
                      "The code only sorts; the expected output alternates minimum and maximum.")


# -- 02: feedback in words on a prompt ----------------------------------------------------------------------
BULLETS = "Summarize the text in exactly three short bullet points, in words a ten-year-old knows."


def cell_magic(body: dict[str, Any]) -> str:
    """The model summarizes (in bullets once asked to); the optimizer asks for bullets."""
    if "#Variables" in _text(body, "user"):
        return _optoprime({_variable(body, "instruction"): BULLETS},
                          "The person wants three short bullet points a child can read; the instruction asks for "
                          "neither the form nor the audience.")
    if "bullet" in _text(body, "system"):
        return ("- Bees carry pollen from flower to flower.\n- This helps plants make fruit and seeds.\n"
                "- Without bees, many foods would be rare.")
    return ("Pollination by bees is an ecologically and economically significant process whereby pollen is "
            "transferred between flowers, enabling fertilization and the production of fruits and seeds, and "
            "thereby sustaining a considerable share of agricultural output.")


# -- 03: code fixed from test failures ----------------------------------------------------------------------
NO_CRASH = STRANGE_SORT.split("    lst = sorted(lst)")[0] + "    return sorted(lst)\n"


def debugging() -> Responder:
    """First a fix for the crash only (still wrong), then the full fix."""
    replies = iter([
        (NO_CRASH, "IndexError: the loop reads lst[i + 1] past the end. Returning the sorted list avoids it."),
        (STRANGE_SORT, "The tests expect min, max, next min, ...; sorting alone is not enough."),
    ])

    def respond(body: dict[str, Any]) -> str:
        code, why = next(replies)
        return _optoprime({_variable(body, "__code"): code}, why)

    return respond


# -- 04: a number from score feedback -----------------------------------------------------------------------
def numbers(body: dict[str, Any]) -> str:
    """Move x part of the way toward 3.7 (a script: it knows the answer; a model does not)."""
    name = _variable(body, "x")
    value = float(re.search(rf"\(float\) {name}=(-?[\d.e+-]+)", _text(body, "user")).group(1))
    new = round(value + 0.6 * (3.7 - value), 3)
    return _optoprime({name: new}, f"The loss is still high at x={value}; try {new}.")


# -- 05: prompt optimization on a labelled task -------------------------------------------------------------
IMPROVED_INSTRUCTION = ("Classify the sentiment of the customer review as positive or negative. Watch for sarcasm: "
                        "praise used ironically (\"oh great\", \"just what I needed\") means the review is negative. "
                        "Answer with one word.")
SARCASM = ("yeah, right", "just what i needed", "oh great", "oh wonderful", "thanks a lot", "what a joy")
NEGATIVE = ("broke", "refund", "terrible", "worst", "late", "disappoint", "never again", "waste", "cold", "rude")


def prompts(body: dict[str, Any]) -> str:
    """A keyword 'model' that reads sarcasm only when told to; the optimizer tells it to."""
    user = _text(body, "user")
    if "#Variables" in user:
        if "expected negative" in user:
            return _optoprime({_variable(body, "instruction"): IMPROVED_INSTRUCTION},
                              "The wrong answers are sarcastic reviews read as praise; the instruction should warn "
                              "about sarcasm and ask for one word.")
        return _optoprime({}, "Every answer in this minibatch was right.")
    instruction, review = _text(body, "system").lower(), user.lower()
    if "sarcas" in instruction and any(marker in review for marker in SARCASM):
        label = "negative"
    else:
        label = "negative" if any(word in review for word in NEGATIVE) else "positive"
    return label if "one word" in instruction else f"This review sounds {label} to me."


# -- 06: a battleship policy --------------------------------------------------------------------------------
HUNT_AND_TARGET = '''def choose_shot(board):
    """Pick the next cell to fire at.

    board is a list of rows; each cell is "." (not fired at), "X" (hit) or "o" (miss).
    Return (row, col) of a cell that is ".".
    """
    n = len(board)
    for r in range(n):
        for c in range(n):
            if board[r][c] == "X":
                for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < n and 0 <= cc < n and board[rr][cc] == ".":
                        return (rr, cc)
    for r in range(n):
        for c in range(n):
            if (r + c) % 2 == 0 and board[r][c] == ".":
                return (r, c)
    for r in range(n):
        for c in range(n):
            if board[r][c] == ".":
                return (r, c)
'''


FOLLOW_THE_LINE = '''def choose_shot(board):
    """Pick the next cell to fire at.

    board is a list of rows; each cell is "." (not fired at), "X" (hit) or "o" (miss).
    Return (row, col) of a cell that is ".".
    """
    n = len(board)

    def free(r, c):
        return 0 <= r < n and 0 <= c < n and board[r][c] == "."

    hits = [(r, c) for r in range(n) for c in range(n) if board[r][c] == "X"]
    for r, c in hits:
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            if (r - dr, c - dc) in hits:
                rr, cc = r + dr, c + dc
                while 0 <= rr < n and 0 <= cc < n and board[rr][cc] == "X":
                    rr, cc = rr + dr, cc + dc
                if free(rr, cc):
                    return (rr, cc)
    for r, c in hits:
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            if free(r + dr, c + dc):
                return (r + dr, c + dc)
    for r in range(n):
        for c in range(n):
            if (r + c) % 2 == 1 and free(r, c):
                return (r, c)
    for r in range(n):
        for c in range(n):
            if free(r, c):
                return (r, c)
'''


def agent() -> Responder:
    """First hunt (checkerboard) and target (neighbours of hits), then follow a line of hits to its end."""
    replies = iter([
        (HUNT_AND_TARGET, "The policy scans row by row and ignores its hits. Ships are at least two cells long, so "
                          "firing on a checkerboard finds every ship, and after a hit the neighbours should be tried."),
        (FOLLOW_THE_LINE, "Shots around hits of ships already sunk are wasted; when two hits line up, the ship "
                          "continues along that line, so extend the line first."),
    ])

    def respond(body: dict[str, Any]) -> str:
        code, why = next(replies)
        return _optoprime({_variable(body, "__code"): code}, why)

    return respond


# -- 07: three optimizers on one task -----------------------------------------------------------------------
SHIPPING_TEMPLATE = "Dear {name}, thank you for your order! It has shipped; track it with number {tracking}."


def side_by_side(body: dict[str, Any]) -> str:
    """OptoPrime and OPRO get JSON; TextGrad gets a gradient, then the improved variable in its tags."""
    system = _text(body, "system")
    if system.startswith("You are the feedback engine"):
        return ("The template never mentions the tracking number and does not thank the customer. Adding a "
                "{tracking} placeholder and a sentence of thanks would meet the objective.")
    if system.startswith("You improve one variable"):
        return f"<IMPROVED_VARIABLE>{SHIPPING_TEMPLATE}</IMPROVED_VARIABLE>"
    if system.startswith("You are part of an optimization system"):
        return "Mention the tracking number and thank the customer."
    return _optoprime({_variable(body, "template"): SHIPPING_TEMPLATE},
                      "The message must thank the customer and give the tracking number; the template has neither.")


RESPONDERS: dict[str, Callable[[], Responder]] = {
    "01_quickstart": lambda: quickstart,
    "02_cell_magic_feedback": lambda: cell_magic,
    "03_debugging_code": debugging,
    "04_numerical_optimization": lambda: numbers,
    "05_prompt_optimization": lambda: prompts,
    "06_agent_battleship": agent,
    "07_optimizers_side_by_side": lambda: side_by_side,
}


# -- running ------------------------------------------------------------------------------------------------
@contextmanager
def environment(**values: str) -> Iterator[None]:
    """os.environ without the model settings of MODEL_ENV, plus `values`, restored afterwards."""
    saved = dict(os.environ)
    for name in MODEL_ENV:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute(path: Path) -> Any:
    """Run the notebook top to bottom in a fresh kernel started in its directory; returns the executed notebook.

    The widgets' state is not saved (nbclient saves it by default): without it, nbconvert's HTML, nbviewer
    and JupyterLab show each widget's static picture and last diff; with it, a page without the kernel tries
    the live widget and stays blank."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("widgets", None)  # a state saved before
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   store_widget_state=False).execute()
    return notebook


def record(stem: str) -> None:
    """Record notebook `stem`'s replies, then run it offline and save it with its outputs."""
    import nbformat

    path = HERE / f"{stem}.ipynb"
    replies = HERE / "replies" / f"{stem}.jsonl"
    replies.parent.mkdir(exist_ok=True)
    replies.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as scratch, ChatServer(responder=RESPONDERS[stem](), model=MODEL) as server:
        history = str(Path(scratch) / "history.sqlite")
        with environment(**server.env(), TRACE_WORKBENCH_RECORD=str(replies), TRACE_WORKBENCH_HISTORY=history):
            execute(path)
        print(f"{stem}: recorded {len(server.completion_requests)} replies to {replies.relative_to(HERE)}")
        Path(history).unlink(missing_ok=True)
        with environment(TRACE_WORKBENCH_HISTORY=history):
            notebook = execute(path)
    outputs = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
    if LOCAL_NOTE in outputs:
        raise RuntimeError(f"{stem}: a request missed the recording and the local model answered it offline")
    nbformat.write(notebook, path)
    print(f"{stem}: ran offline from the recording and saved its outputs")


def main(argv: list[str]) -> int:
    """Record the notebooks named (by prefix) in argv, or all of them."""
    stems = [s for s in RESPONDERS if not argv or any(s.startswith(a) for a in argv)]
    if not stems:
        print(f"no notebook matches {argv}; the notebooks are {list(RESPONDERS)}", file=sys.stderr)
        return 2
    for stem in stems:
        record(stem)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
