"""Search on the local model (SmolLM2-135M-Instruct) against OptoPrime steps alone: best score per 1,000 tokens.

Both spend the same number of optimizer calls (proposals) on the same task, through one local llama.cpp
server: "steps" makes N OptoPrime steps in a row (each applied, its feedback from a minibatch of the
examples); "search" runs trace_workbench.train.Search (priority, one parent a round, 2 children each,
N/2 rounds, UCB rollouts). Figures per run: the start and best score, the optimizer's tokens, and the
best score's gain per 1,000 of those tokens.

    python benchmarks/bench_search_quality.py                    # 4 proposals a variant, both tasks
    python benchmarks/bench_search_quality.py --proposals 2 --tasks number

Tasks: **number**: x starts at 1, the output x * input + 1 should be 10 * input + 1 (score: minus the
mean distance of x to 10, from the outputs); **greeting**: a greeting that should be French, "Bonjour
le monde" (score: the share of those three words in it). Needs the local extra (pip install -e .[local]).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.raw_figures import save  # noqa: E402
from trace_workbench.llm import LLM, local  # noqa: E402

MAX_TOKENS = 300
TEMPERATURE = 0.8
"""Both variants sample at this temperature: a search needs different children of one parent."""
WORDS = ("bonjour", "le", "monde")


@dataclass
class Figure:
    """One variant on one task."""

    variant: str
    task: str
    proposals: int
    start: float
    best: float
    tokens: int
    seconds: float
    best_value: str

    @property
    def gain_per_1k(self) -> float:
        return (self.best - self.start) * 1000 / self.tokens if self.tokens else 0.0


def number_task(node: Callable[..., Any]) -> tuple[Any, Callable[[Any], Any], list[tuple[int, int]], Callable]:
    x = node(1.0, trainable=True)

    def feedback(output: float, target: float) -> tuple[str, float]:
        gap = target - output
        if abs(gap) < 0.5:
            return "Correct: the output is the target.", 0.0
        return (f"The output is {output:g} but it should be {target:g}: make it {'larger' if gap > 0 else 'smaller'}.",
                -abs(gap) / abs(target - 1) * 10)

    return x, lambda inp: x * inp + 1, [(i, 10 * i + 1) for i in (1, 2, 3)], feedback


def greeting_task(node: Callable[..., Any]) -> tuple[Any, Callable[[Any], Any], list[tuple[str, str]], Callable]:
    greeting = node("Hello world", trainable=True)

    def feedback(output: str, wanted: str) -> tuple[str, float]:
        found = [w for w in WORDS if w in re.findall(r"[a-zà-ÿ]+", output.lower())]
        score = len(found) / len(WORDS)
        if score == 1:
            return "Correct: the greeting is French.", score
        return f"The greeting '{output}' must be in French: it should say '{wanted}'.", score

    return greeting, lambda suffix: greeting + suffix, [("", "Bonjour le monde"), ("!", "Bonjour le monde!")], feedback


TASKS = {"number": number_task, "greeting": greeting_task}


def mean_score(program: Callable[[Any], Any], data: list[tuple[Any, Any]], feedback: Callable) -> float:
    return sum(feedback(program(inp).data, info)[1] for inp, info in data) / len(data)


def steps_variant(task: str, proposals: int, llm: LLM) -> Figure:
    """OptoPrime alone: `proposals` steps, each from the feedback on all examples, applied."""
    from trace_workbench.optimizers import OptoPrime
    from trace_workbench.trace import GRAPH, node

    GRAPH.clear()
    param, program, data, feedback = TASKS[task](node)
    optimizer = OptoPrime([param], llm=llm, max_tokens=MAX_TOKENS)
    before = llm.meter.summary().total_tokens
    start = best = mean_score(program, data, feedback)
    best_value = param.data
    started = time.perf_counter()
    for index in range(proposals):
        optimizer.zero_feedback()
        for inp, info in data:
            output = program(inp)
            optimizer.backward(output, feedback(output.data, info)[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimizer.step()
        score = mean_score(program, data, feedback)
        if score > best:
            best, best_value = score, param.data
        print(f"  steps {task} {index + 1}/{proposals}: {param.data!r} score {score:.2f}", flush=True)
    return Figure("OptoPrime steps", task, proposals, start, best, llm.meter.summary().total_tokens - before,
                  time.perf_counter() - started, repr(best_value))


def search_variant(task: str, proposals: int, llm: LLM) -> Figure:
    """The same number of proposals spent by a priority search (1 parent a round, 2 children)."""
    from trace_workbench.optimizers import OptoPrime
    from trace_workbench.trace import GRAPH, node
    from trace_workbench.train import Search

    GRAPH.clear()
    param, program, data, feedback = TASKS[task](node)
    optimizer = OptoPrime([param], llm=llm, max_tokens=MAX_TOKENS)
    start = mean_score(program, data, feedback)
    before = llm.meter.summary().total_tokens
    started = time.perf_counter()
    search = Search(program, data, optimizer, feedback, strategy="priority", beam_width=1, branching=2,
                    rounds=max(1, proposals // 2), batch_size=len(data), min_rollouts=len(data), ucb_rollouts=0,
                    meters=[llm.meter])
    search.subscribe(lambda event, s: print(f"  search {task}: {event} ({len(s.candidates)} candidates)", flush=True)
                     if event == "candidate" else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = search.run()
    best = result.best.scalar(search.objective) if result.best is not None else start
    return Figure("search (priority)", task, proposals, start, max(start, best),
                  llm.meter.summary().total_tokens - before, time.perf_counter() - started,
                  repr(param.data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="local", help="local (SmolLM2-135M-Instruct) or local:/path/to.gguf")
    parser.add_argument("--proposals", type=int, default=4, help="optimizer calls per variant and task (even)")
    parser.add_argument("--tasks", default="number,greeting")
    args = parser.parse_args()

    started = time.perf_counter()
    server = local.local_server(args.model)
    print(f"local server: {server.path.name} at {server.base_url} ({time.perf_counter() - started:.1f} s to start)")
    figures: list[Figure] = []
    path: Path | None = None
    for task in args.tasks.split(","):
        for variant in (steps_variant, search_variant):
            llm = LLM(model=args.model, temperature=TEMPERATURE)
            figures.append(variant(task, args.proposals, llm))
            path = save("search-quality", {"model": args.model, "temperature": TEMPERATURE, "max_tokens": MAX_TOKENS,
                                           "figures": [{**asdict(f), "gain_per_1k": f.gain_per_1k} for f in figures]},
                        path=path)  # after each run: a stopped benchmark keeps what it measured
    print("\n| variant | task | proposals | start → best score | tokens | best-score gain / 1k tokens | s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for f in figures:
        print(f"| {f.variant} | {f.task} | {f.proposals} | {f.start:.2f} → {f.best:.2f} | {f.tokens:,} | "
              f"{f.gain_per_1k:.3f} | {f.seconds:.0f} |")


if __name__ == "__main__":
    main()
