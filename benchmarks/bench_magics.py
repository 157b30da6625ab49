"""Overhead of %%trace: one cell of 1,000 plain operations, run four ways in a real IPython shell.

Run from the repository root:

    python benchmarks/bench_magics.py            # 30 repeats of each variant
    python benchmarks/bench_magics.py --quick    # 5 repeats (a smoke run, a few seconds)

Variants (the same 1,000 operations: `x + 1`, `abs(x)`, `text.upper()`, `t.lower()`, 250 times each):

- plain:           the cell as plain Python, extension not loaded;
- plain+ext:       the same plain cell with the extension loaded (must cost nothing: no hooks);
- node() by hand:  the cell written with node(..., trainable=True), no magic (Trace's way);
- %%trace:         the plain cell under `%%trace --train x,text` (rewrite, compile, scope, bind/unbind);
- exec, no IPython / TracedCells.run: the plain cell compiled once and exec'd, against the traced
  runner alone (rewrite + compile + run), to show the tracing cost without IPython's own work.

IPython runs a plain cell statement by statement (here 1,000 compiles), while %%trace compiles its
rewritten cell once, so in wall time a %%trace cell can be as fast as the plain one.

Each figure is the median wall time of `shell.run_cell(...)` over the repeats, in milliseconds. Every
run is a new cell (new execution count), so %%trace pays its rewrite and compile each time.
A table goes to stdout and the raw repeats to benchmarks/results/magics-*.json (gitignored).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from raw_figures import save

GROUPS = 250
BODY = "".join("x = x + 1\ny = abs(x)\nt = text.upper()\nu = t.lower()\n" for _ in range(GROUPS))
PLAIN = "x = 0\ntext = 'Hello'\n" + BODY + "x;"
BY_HAND = ("from trace_workbench.trace import node\nx = node(0, name='x', trainable=True)\n"
           "text = node('Hello', name='text', trainable=True)\n" + BODY + "x;")
TRACED = "%%trace --train x,text\n" + PLAIN


def _shell(load: bool) -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell()
    if load:
        shell.run_cell("%load_ext trace_workbench", store_history=True)
    return shell


def _time(variants: dict[str, tuple[Any, str]], repeat: int) -> dict[str, list[float]]:
    """Wall times (ms) of running each (shell, cell) `repeat` times, after one warm-up run; the variants
    take turns in every round, so a slower or faster moment of the machine falls on all of them."""
    for shell, cell in variants.values():
        result = shell.run_cell(cell, store_history=True)
        if not result.success:
            raise RuntimeError(f"benchmark cell failed: {result.error_in_exec or result.error_before_exec!r}")
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, (shell, cell) in variants.items():
            start = time.perf_counter()
            shell.run_cell(cell, store_history=True)  # a new execution count each time: no cached rewrite
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def _time_without_ipython(repeat: int) -> dict[str, list[float]]:
    """The same cells without IPython: plain code compiled once and exec'd, and TracedCells.run (which
    rewrites and compiles the cell every time) in a plain dict."""
    from trace_workbench.jupyter.cell import CellOptions, TracedCells
    from trace_workbench.workbench import Session

    body = PLAIN.removesuffix(";")
    cells = TracedCells(Session(), {})
    options = CellOptions(train=("x", "text"))
    times: dict[str, list[float]] = {"exec, no IPython": [], "TracedCells.run": []}
    for i in range(repeat + 1):
        start = time.perf_counter()
        exec(compile(body, "<plain>", "exec"), {})
        middle = time.perf_counter()
        cells.run(body + f"\n# run {i}", options, "bench")  # a new text each time: no cached rewrite
        end = time.perf_counter()
        if i:
            times["exec, no IPython"].append((middle - start) * 1000)
            times["TracedCells.run"].append((end - middle) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    """Measure the variants and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 repeats instead of --repeat")
    parser.add_argument("--repeat", type=int, default=30, help="repeats per variant (default 30)")
    args = parser.parse_args(argv)
    repeat = 5 if args.quick else args.repeat
    with tempfile.TemporaryDirectory() as directory:
        import os

        os.environ["TRACE_WORKBENCH_HISTORY"] = str(Path(directory) / "history.sqlite")
        plain_shell, shell = _shell(load=False), _shell(load=True)
        raw = _time({"plain": (plain_shell, PLAIN), "plain+ext": (shell, PLAIN), "node() by hand": (shell, BY_HAND),
                     "%%trace": (shell, TRACED)}, repeat)
        raw.update(_time_without_ipython(repeat))
    medians = {name: statistics.median(times) for name, times in raw.items()}
    print(f"One cell of {4 * GROUPS} operations, median of {repeat} runs (ms); Python {platform.python_version()}")
    print(f"{'variant':<18}{'ms':>10}{'x plain':>10}{'x by hand':>11}")
    for name, value in medians.items():
        print(f"{name:<18}{value:>10.2f}{value / medians['plain']:>10.2f}{value / medians['node() by hand']:>11.2f}")
    exec_ms, traced_ms = medians["exec, no IPython"], medians["TracedCells.run"]
    print(f"Without IPython, tracing the cell costs {traced_ms / exec_ms:.1f}x its plain execution "
          f"({traced_ms - exec_ms:.1f} ms for {4 * GROUPS} operations).")
    save("magics", {"python": sys.version, "platform": platform.platform(), "operations": 4 * GROUPS,
                    "repeat": repeat, "median_ms": medians, "raw_ms": raw}, ["quick"] if args.quick else [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
