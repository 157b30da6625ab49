"""Speed-up of ``trace_workbench.train.evaluate`` with threads (or processes, Ray) over a serial evaluation loop.

Run from the repository root:

    python benchmarks/bench_train.py             # 200 examples, 50 ms a reply, 8 threads, 3 repeats
    python benchmarks/bench_train.py --quick     # 40 examples, 1 repeat (smoke run, ~3 s)
    python benchmarks/bench_train.py --executors thread,process,ray   # also a process pool and a local Ray

The program is an agent whose one step is ``trace.operators.call_llm`` (a trainable instruction
and the example's text), talking through the real openai client to a local ChatServer whose
responder sleeps ``--delay`` seconds before answering, like a model endpoint. The server runs in
its own process, as an endpoint would, so its work does not compete for this process's GIL. The baseline is the
loop a trace-opt user writes:

    scores = []
    for x, y in zip(inputs, infos):
        scores.append(metric(agent(x).data, y))

against ``evaluate(agent, dataset, metric, num_threads=8)``. Both must produce the same scores.
With --executors, the same evaluate runs on a pool of
8 processes and on a local Ray of 8 CPUs (each warmed first by one small evaluate: worker start-up
is not counted, as in a training run that keeps its pool). The figure kept is the best of the
repeats. Also shown: the speed-up against n x delay, the time of a serial loop with no overhead at
all (a floor no real serial loop reaches). Target: at least 6x (--target). Results go to
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

import cloudpickle
from raw_figures import save

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmark this checkout, whatever else is installed
    sys.path.insert(0, str(ROOT))

from trace_workbench.llm import set_program_llm  # noqa: E402
from trace_workbench.testing import ChatServer  # noqa: E402
from trace_workbench.trace import GRAPH, Module, node  # noqa: E402
from trace_workbench.trace.operators import call_llm  # noqa: E402
from trace_workbench.train import evaluate  # noqa: E402
from trace_workbench.utils.executors import ProcessExecutor, RayExecutor  # noqa: E402

TARGET = 6.0
LABELS = {"thread": "threads", "process": "processes", "ray": "Ray tasks"}


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


def executor_for(kind: str, workers: int) -> Any:
    """What `evaluate` is given for `kind`: threads (None), or a process pool or local Ray of `workers`."""
    if kind == "thread":
        return None
    if kind == "process":
        return ProcessExecutor(workers)
    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local Ray on 127.0.0.1; no token file in ~/.ray
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    return RayExecutor(num_cpus=1)


def close(executor: Any) -> None:
    if isinstance(executor, RayExecutor):
        import ray

        ray.shutdown()
    elif executor is not None:
        executor.close()


def main(argv: list[str] | None = None, description: str | None = None) -> int:
    """Measure the serial loop and `evaluate` on each executor, print the table and the target, write the JSON."""
    parser = argparse.ArgumentParser(description=description or __doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds the server takes per reply")
    parser.add_argument("--threads", type=int, default=8, help="workers: threads, processes or Ray tasks at once")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--executors", default="thread", help="comma-separated: thread, process, ray")
    parser.add_argument("--target", type=float, default=TARGET)
    parser.add_argument("--quick", action="store_true", help="40 examples, 1 repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.examples, args.repeats = 40, 1
    kinds = args.executors.split(",")

    inputs, infos = dataset(args.examples)
    serial_times: list[float] = []
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    context = multiprocessing.get_context("spawn")
    urls, stop = context.Queue(), context.Event()
    process = context.Process(target=serve, args=(args.delay, urls, stop), daemon=True)
    process.start()
    try:
        base_url, model = urls.get(timeout=60)
        # the environment, not set_program_llm: worker processes take the driver's OPENAI_*/TRACE_WORKBENCH_*
        os.environ.update(OPENAI_BASE_URL=base_url, TRACE_WORKBENCH_MODEL=model, OPENAI_API_KEY="bench")
        set_program_llm(None)
        agent = Agent()
        data = {"inputs": inputs, "infos": infos}
        for _ in range(args.repeats):
            GRAPH.clear()
            seconds, serial_scores = timed(lambda: serial_loop(agent, inputs, infos))
            serial_times.append(seconds)
        for kind in kinds:
            executor = executor_for(kind, args.threads)
            try:
                warm = {"inputs": inputs[:4 * args.threads], "infos": infos[:4 * args.threads]}
                for _ in range(2):  # warm: every worker started, its client made
                    evaluate(agent, warm, metric, num_threads=args.threads, executor=executor)
                for _ in range(args.repeats):
                    GRAPH.clear()
                    seconds, result = timed(lambda e=executor: evaluate(agent, data, metric, num_threads=args.threads,
                                                                          executor=e))
                    times[kind].append(seconds)
                    if result.scores != serial_scores or sum(serial_scores) != len(inputs):
                        print(f"the {kind} and serial scores differ", file=sys.stderr)
                        return 1
                print(f"  {kind}: best {min(times[kind]):.2f} s, {min(serial_times) / min(times[kind]):.2f}x; load "
                      f"{os.getloadavg()[0]:.1f}", file=sys.stderr)  # in case a later executor fails
            finally:
                close(executor)
    finally:
        set_program_llm(None)
        stop.set()
        process.join(timeout=10)

    serial = min(serial_times)
    bound = args.examples * args.delay
    speedups = {kind: serial / min(times[kind]) for kind in kinds}
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"evaluate over {args.examples} examples, {args.delay * 1000:.0f} ms a reply, {args.threads} workers, "
          f"best of {args.repeats}; load average after: {load}")
    print(f"{'serial loop':32}{serial:>10.2f} s   ({serial / args.examples * 1000:.1f} ms/example)")
    for kind in kinds:
        best = min(times[kind])
        print(f"{f'evaluate, {args.threads} {LABELS[kind]}':32}{best:>10.2f} s   ({best / args.examples * 1000:.1f} "
              f"ms/example)   speed-up {speedups[kind]:.2f}x   target >= {args.target:g}x: "
              f"{'MET' if speedups[kind] >= args.target else 'MISSED'}   against n x delay {bound / best:.2f}x")

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    save("train", {
        "examples": args.examples, "delay": args.delay, "workers": args.threads, "repeats": args.repeats,
        "serial_seconds": serial_times, "seconds": times, "speedups": speedups, "n_x_delay": bound,
        "target": args.target, "met": all(s >= args.target for s in speedups.values()), "git_head": head.stdout.strip(),
        "python": platform.python_version(), "cpus": os.cpu_count(), "loadavg": load,
    }, ["quick"] if args.quick else [])
    return 0 if all(s >= args.target for s in speedups.values()) else 2


if __name__ == "__main__":
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Agent travels to the workers by value
    sys.exit(main())
