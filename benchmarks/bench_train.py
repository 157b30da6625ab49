"""Speed-up of ``trace_workbench.train.evaluate`` with threads over a serial evaluation loop.

Run from the repository root:

    python benchmarks/bench_train.py             # 200 examples, 50 ms a reply, 8 threads, 3 repeats
    python benchmarks/bench_train.py --quick     # 40 examples, 1 repeat (smoke run, ~3 s)

The program is an agent whose one step is ``trace.operators.call_llm`` (a trainable instruction
and the example's text), talking through the real openai client to a local ChatServer whose
responder sleeps ``--delay`` seconds before answering, like a model endpoint. The server runs in
its own process, as an endpoint would, so its work does not compete for this process's GIL. The baseline is the
loop a trace-opt user writes:

    scores = []
    for x, y in zip(inputs, infos):
        scores.append(metric(agent(x).data, y))

against ``evaluate(agent, dataset, metric, num_threads=8)``. Both must produce the same scores.
The figure kept is the best of the repeats. Also shown: the speed-up against n x delay, the
time of a serial loop with no overhead at all (a floor no real serial loop reaches). Target: at least 6x. Results go to
benchmarks/results/train-*.json (gitignored).
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from raw_figures import save

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmark this checkout, whatever else is installed
    sys.path.insert(0, str(ROOT))

from trace_workbench.llm import LLM, set_program_llm  # noqa: E402
from trace_workbench.testing import ChatServer  # noqa: E402
from trace_workbench.trace import GRAPH, Module, node  # noqa: E402
from trace_workbench.trace.operators import call_llm  # noqa: E402
from trace_workbench.train import evaluate  # noqa: E402

TARGET = 6.0


class Agent(Module):
    """One model call per example, with a trainable instruction."""

    def __init__(self) -> None:
        self.instruction = node("Answer es or en.", trainable=True)

    def forward(self, query: Any) -> Any:
        return call_llm("You classify sentences.", self.instruction, query)


def metric(output: str, info: str) -> float:
    return float(output == info)


def dataset(size: int) -> tuple[list[str], list[str]]:
    """`size` sentences alternating Spanish and English, with their labels."""
    inputs = [f"Hola amigo numero {i}." if i % 2 == 0 else f"Hello friend number {i}." for i in range(size)]
    return inputs, ["es" if i % 2 == 0 else "en" for i in range(size)]


def respond(delay: float, body: dict[str, Any]) -> str:
    """The model's answer after `delay` seconds: the label of the sentence."""
    time.sleep(delay)
    return "es" if "Hola" in body["messages"][-1]["content"] else "en"


def serve(delay: float, urls: Any, stop: Any) -> None:
    """Run a ChatServer in this (child) process until `stop` is set; its URL goes to `urls`."""
    with ChatServer(responder=functools.partial(respond, delay)) as server:
        urls.put((server.base_url, server.model))
        stop.wait()


def serial_loop(agent: Agent, inputs: list[str], infos: list[str]) -> list[float]:
    """The baseline, written as a trace-opt user writes it."""
    scores = []
    for x, y in zip(inputs, infos, strict=True):
        scores.append(metric(agent(x).data, y))
    return scores


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> int:
    """Measure both ways, print the table and the target, and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds the server takes per reply")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="40 examples, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.examples, args.repeats = 40, 1

    inputs, infos = dataset(args.examples)
    serial_times, threaded_times = [], []
    context = multiprocessing.get_context("spawn")
    urls, stop = context.Queue(), context.Event()
    process = context.Process(target=serve, args=(args.delay, urls, stop), daemon=True)
    process.start()
    try:
        base_url, model = urls.get(timeout=60)
        set_program_llm(LLM(model=model, base_url=base_url, api_key="bench", max_retries=0))
        agent = Agent()
        for _ in range(args.repeats):
            GRAPH.clear()
            seconds, serial_scores = timed(lambda: serial_loop(agent, inputs, infos))
            serial_times.append(seconds)
            GRAPH.clear()
            seconds, result = timed(lambda: evaluate(agent, {"inputs": inputs, "infos": infos}, metric,
                                                     num_threads=args.threads))
            threaded_times.append(seconds)
            if result.scores != serial_scores or sum(serial_scores) != len(inputs):
                print("the threaded and serial scores differ", file=sys.stderr)
                return 1
    finally:
        set_program_llm(None)
        stop.set()
        process.join(timeout=10)

    serial, threaded = min(serial_times), min(threaded_times)
    speedup = serial / threaded
    bound = args.examples * args.delay
    print(f"evaluate over {args.examples} examples, {args.delay * 1000:.0f} ms a reply, best of {args.repeats}")
    print(f"{'serial loop':32}{serial:>10.2f} s   ({serial / args.examples * 1000:.1f} ms/example)")
    print(f"{f'evaluate, {args.threads} threads':32}{threaded:>10.2f} s   "
          f"({threaded / args.examples * 1000:.1f} ms/example)")
    print(f"{'speed-up':32}{speedup:>10.2f} x   target >= {TARGET:g}x: {'MET' if speedup >= TARGET else 'MISSED'}")
    print(f"{'against n x delay alone':32}{bound / threaded:>10.2f} x   (no-overhead serial: {bound:.2f} s)")

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    save("train", {
        "examples": args.examples, "delay": args.delay, "threads": args.threads, "repeats": args.repeats,
        "serial_seconds": serial_times, "threaded_seconds": threaded_times, "speedup": speedup,
        "speedup_vs_delay_bound": bound / threaded,
        "target": TARGET, "met": speedup >= TARGET, "git_head": head.stdout.strip(),
        "python": platform.python_version(), "cpus": os.cpu_count(),
    }, ["quick"] if args.quick else [])
    return 0 if speedup >= TARGET else 2


if __name__ == "__main__":
    sys.exit(main())
