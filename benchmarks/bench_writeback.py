"""What writing accepted values back into the notebook's cells costs.

Run from the repository root:

    python benchmarks/bench_writeback.py            # 30 repeats
    python benchmarks/bench_writeback.py --quick    # 5 repeats (a smoke run, ~15 s)

1. `write_back` alone: a cell of N lines (N/5 assignments, functions, comments) in which one string
   literal and one trained function are replaced, by syntax-tree positions. Median µs per call.
2. In a real kernel (jupyter_client) with the scripted front end of trace_workbench.testing.front_end:
   the wall time of a `%trace_undo` / `%trace_restore` cell, which changes a value and so rewrites the
   traced cell, with the front end's extension answering (the new text goes out on the comm) and
   without it (the magic only says the cell was not updated). Median ms per cell; the difference is
   what the write-back adds to a step. (trace-opt has no counterpart: it does not edit notebooks.)

A table goes to stdout and the raw figures to benchmarks/results/writeback-*.json (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from raw_figures import save

SIZES = (10, 100, 1_000, 10_000)
TRACED = ('%%trace --train prompt --name tuned\n# the prompt we tune\nprompt = "Write a poem"  # literal\n'
          'request = prompt + ", please"\nrequest')


def _cell(lines: int) -> str:
    """A cell of about `lines` lines: blocks of an assignment, a comment and a three-line function."""
    blocks = [f"value_{i} = {i}  # number {i}\n# a comment\ndef f_{i}(x):\n    return x + {i}\n\n"
              for i in range(max(lines // 5, 1))]
    return '%%trace --train prompt --train-code f_0\nprompt = "Write a poem"\n' + "".join(blocks) + "prompt"


def time_write_back(repeat: int) -> dict[str, list[float]]:
    """µs per write_back call on cells of each size."""
    from trace_workbench.jupyter.writeback import write_back

    times: dict[str, list[float]] = {}
    for size in SIZES:
        source = _cell(size)
        values, functions = {"prompt": "Write a haiku\nabout the sea"}, {"f_0": "def f_0(x):\n    return x * 2"}
        write_back(source, values, functions)
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            write_back(source, values, functions)
            runs.append((time.perf_counter() - start) * 1e6)
        times[f"{size:,} lines"] = runs
    return times


def time_kernel_steps(repeat: int, extension: bool) -> list[float]:
    """ms per %trace_undo / %trace_restore cell in a real kernel, with or without the extension."""
    from trace_workbench.testing import ChatServer
    from trace_workbench.testing.front_end import ScriptedFrontEnd, running_kernel

    reply = json.dumps({"reasoning": "r", "answer": "", "suggestion": {"prompt0": "Write a haiku"}})
    with tempfile.TemporaryDirectory() as directory, ChatServer([reply]) as server:
        env = {**os.environ, **server.env(), "OPENAI_API_KEY": "bench-key",
               "TRACE_WORKBENCH_HISTORY": str(Path(directory) / "history.sqlite")}
        for name in ("TRACE_WORKBENCH_REPLAY", "TRACE_WORKBENCH_RECORD", "TRACE_WORKBENCH_CACHE"):
            env.pop(name, None)
        with running_kernel(env, directory) as client:
            front = ScriptedFrontEnd(client, extension=extension)
            front.execute("load", "%load_ext trace_workbench")
            front.execute("traced", TRACED)
            for magic in ("%trace_feedback a haiku", "%trace_propose", "%trace_accept"):
                front.python(magic)
            runs = []
            for i in range(repeat + 1):
                start = time.perf_counter()
                front.python("%trace_undo" if i % 2 == 0 else "%trace_restore 1")
                if i:
                    runs.append((time.perf_counter() - start) * 1000)
            front.python("pass")
            expected = TRACED if repeat % 2 == 0 else TRACED.replace("Write a poem", "Write a haiku")
            if extension and front.cells["traced"] != expected:
                raise RuntimeError("the scripted front end does not hold the expected cell text")
    return runs


def main(argv: list[str] | None = None) -> int:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 repeats instead of --repeat")
    parser.add_argument("--repeat", type=int, default=30, help="repeats (default 30)")
    args = parser.parse_args(argv)
    repeat = 5 if args.quick else args.repeat
    rewrite = time_write_back(repeat)
    steps = {"with the extension": time_kernel_steps(repeat, True),
             "without it": time_kernel_steps(repeat, False)}
    print(f"write_back, one literal and one function replaced, median of {repeat} (µs); "
          f"Python {platform.python_version()}")
    for name, runs in rewrite.items():
        print(f"  {name:<14}{statistics.median(runs):>12,.0f}")
    print(f"%trace_undo / %trace_restore cell in a kernel, median of {repeat} (ms)")
    medians = {name: statistics.median(runs) for name, runs in steps.items()}
    for name, value in medians.items():
        print(f"  {name:<22}{value:>8.1f}")
    print(f"  the write-back adds {medians['with the extension'] - medians['without it']:.1f} ms to a step")
    save("writeback", {"python": sys.version, "platform": platform.platform(), "repeat": repeat,
                       "write_back_us": rewrite, "kernel_step_ms": steps}, ["quick"] if args.quick else [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
