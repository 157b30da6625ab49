"""What a real small model's replies do to the optimizers: trace_workbench with structured replies, without
them, and trace-opt 0.1.3.8, side by side against one local llama.cpp server (trace_workbench.llm.local).

Three tasks, N steps each: a number driven by feedback to a target, Trace's strange_sort_list code fix, and
the 05 notebook's instruction over its 20 reviews (the classifier is the same local model). For each, per
variant: usable proposals (the reply gives the parameter a value of its type), changed values, the step of
success (or the best score), tokens and seconds a step.

    python benchmarks/bench_quality.py                       # SmolLM2-135M-Instruct, 4 steps a task
    python benchmarks/bench_quality.py --steps 2 --tasks number,code
    python benchmarks/bench_quality.py --model local:/path/to/model.gguf

Needs the local extra (pip install -e .[local]) and, for the trace-opt column, trace-opt==0.1.3.8 (.[bench]);
without trace-opt that column is left out and the script says so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.raw_figures import save  # noqa: E402
from trace_workbench.llm import LLM, local  # noqa: E402

REVIEWS = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "reviews.jsonl"
MAX_TOKENS = 300
TARGET = 21.0
SORT_CASES = [([1, 2, 3, 4], [1, 4, 2, 3]), ([5, 5, 5, 5], [5, 5, 5, 5]), ([], []), ([3, 1, 2], [1, 3, 2])]


def strange_sort_list(lst):
    """
    Given list of integers, return list in strange order.
    Strange sorting, is when you start with the minimum value,
    then maximum of the remaining integers, then minimum and so on.
    """
    lst = sorted(lst)
    return lst


@dataclass
class StepFigure:
    """One optimizer step: whether the reply was usable, whether the value changed, its cost and the score after."""

    usable: bool
    changed: bool
    tokens: int
    seconds: float
    score: float
    value: str
    reply: str = ""


@dataclass
class Run:
    """One task run by one variant."""

    variant: str
    task: str
    start_score: float
    steps: list[StepFigure] = field(default_factory=list)
    success_step: int | None = None
    error: str | None = None
    """Why the engine could not run the task, when it could not (e.g. trace-opt merging different feedback)."""

    def summary(self) -> dict[str, Any]:
        seconds = [s.seconds for s in self.steps]
        return {"variant": self.variant, "task": self.task, "steps": len(self.steps),
                "usable": sum(s.usable for s in self.steps), "changed": sum(s.changed for s in self.steps),
                "start_score": self.start_score, "best_score": max([self.start_score] + [s.score for s in self.steps]),
                "success_step": self.success_step, "error": self.error,
                "tokens_per_step": statistics.mean(s.tokens for s in self.steps) if self.steps else 0,
                "median_seconds": statistics.median(seconds) if seconds else 0.0,
                "max_seconds": max(seconds) if seconds else 0.0}


# -- the engines: trace_workbench and trace-opt behind one small adapter ------------------------------------
def workbench_engine(model: str, structured: bool) -> SimpleNamespace:
    from trace_workbench.optimizers import OptoPrime
    from trace_workbench.trace import GRAPH, bundle, node

    llm = LLM(model=model)

    def make(params: list[Any]) -> Any:
        return OptoPrime(params, llm=llm, structured=structured, max_tokens=MAX_TOKENS)

    def step(optimizer: Any) -> tuple[str, int]:
        before = len(llm.meter.calls)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proposal = optimizer.step()
        return proposal.raw, sum(c.total_tokens for c in llm.meter.calls[before:])

    return SimpleNamespace(node=node, bundle=bundle, clear=GRAPH.clear, make=make, step=step)


def trace_opt_engine(alias: str) -> SimpleNamespace:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # trace-opt's litellm: no network fetch
    from opto.optimizers import OptoPrime
    from opto.trace import bundle, node
    from opto.trace.nodes import GRAPH
    from opto.utils.llm import LiteLLM

    calls: list[int] = []
    lite = LiteLLM(model=f"openai/{alias}")

    def metered(*args: Any, **kwargs: Any) -> Any:
        response = lite(*args, **kwargs)
        usage = getattr(response, "usage", None)
        calls.append(int(getattr(usage, "total_tokens", 0) or 0))
        return response

    def make(params: list[Any]) -> Any:
        return OptoPrime(params, llm=metered, max_tokens=MAX_TOKENS)

    def step(optimizer: Any) -> tuple[str, int]:
        before = len(calls)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimizer.step()
        return optimizer.log[-1]["response"] if optimizer.log else "", sum(calls[before:])

    return SimpleNamespace(node=node, bundle=bundle, clear=GRAPH.clear, make=make, step=step)


def usable(optimizer: Any, parameter: Any, raw: str) -> bool:
    """Whether the reply gives `parameter` a value of its type (Trace's own helpers, in both engines)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            update = optimizer.construct_update_dict(optimizer.extract_llm_suggestion(raw))
        except Exception:
            return False
    return parameter in update and type(update[parameter]) is type(parameter.data)


def timed_steps(engine: SimpleNamespace, run: Run, optimizer: Any, parameter: Any, steps: int,
                feedback: Callable[[], tuple[Any, str, float, bool]]) -> Run:
    """`steps` rounds of backward(feedback) + step, scored after each; stops at the first success."""
    for index in range(1, steps + 1):
        output, text, _, _ = feedback()
        optimizer.zero_feedback()
        optimizer.backward(output, text)
        before = repr(parameter.data)
        started = time.perf_counter()
        raw, tokens = engine.step(optimizer)
        seconds = time.perf_counter() - started
        _, _, score, success = feedback()
        run.steps.append(StepFigure(usable(optimizer, parameter, raw), repr(parameter.data) != before, tokens,
                                    round(seconds, 2), score, repr(parameter.data)[:200], raw[:2000]))
        print(f"  {run.variant:>22} {run.task:>7} step {index}: usable={run.steps[-1].usable} "
              f"changed={run.steps[-1].changed} score={score:.2f} {seconds:.1f} s {tokens} tokens", flush=True)
        if success:
            run.success_step = index
            break
    return run


# -- the tasks ----------------------------------------------------------------------------------------------
def number_task(engine: SimpleNamespace, variant: str, steps: int) -> Run:
    """x starts at 1; the output x * 2 + 1 should be 21 (x = 10). Score: minus the distance to the target."""
    engine.clear()
    x = engine.node(1.0, trainable=True)
    optimizer = engine.make([x])

    def feedback() -> tuple[Any, str, float, bool]:
        output = x * 2 + 1
        value = float(output.data)
        gap = TARGET - value
        hint = "correct" if abs(gap) <= 0.5 else ("larger" if gap > 0 else "smaller")
        text = ("Success: the output is the target." if hint == "correct" else
                f"The output is {value:g} but it should be {TARGET:g}: make it {hint}.")
        return output, text, -abs(gap), hint == "correct"

    return timed_steps(engine, Run(variant, "number", feedback()[2]), optimizer, x, steps, feedback)


def code_task(engine: SimpleNamespace, variant: str, steps: int) -> Run:
    """Trace's README example: fix strange_sort_list. Score: the share of 4 cases it gets right."""
    engine.clear()
    function = engine.bundle(trainable=True)(strange_sort_list)  # a new code parameter for each run
    parameter = function.parameter

    def score() -> float:
        right = 0
        for given, expected in SORT_CASES:
            try:
                right += function(list(given)).data == expected
            except Exception:
                pass
        return right / len(SORT_CASES)

    def feedback() -> tuple[Any, str, float, bool]:
        try:
            output = function([1, 2, 3, 4])
        except Exception as error:  # the new code raised: its ExceptionNode carries the error to the code
            return error.exception_node, f"The code raised {type(error).__name__}: {error}", 0.0, False
        value = score()
        text = ("Success: the output is right." if value == 1.0 else
                f"The answer is wrong. We expect the output of your answer to be [1, 4, 2, 3], not {output.data}.")
        return output, text, value, value == 1.0

    return timed_steps(engine, Run(variant, "code", score()), engine.make([parameter]), parameter, steps, feedback)


def instruction_task(engine: SimpleNamespace, variant: str, steps: int, classifier: LLM) -> Run:
    """The 05 notebook: an instruction for classifying reviews, a minibatch of 4 a step; score: accuracy on
    all 20 reviews after the step (the classifier is the same local model)."""
    engine.clear()
    examples = [json.loads(line) for line in REVIEWS.read_text().splitlines() if line.strip()]
    instruction = engine.node("Classify the review.", trainable=True, description="the instruction")

    @engine.bundle()
    def classify(instruction: str, review: str) -> str:
        """Ask the model for the sentiment of the review, following the instruction; returns its answer."""
        messages = [{"role": "system", "content": instruction}, {"role": "user", "content": review}]
        return classifier(messages=messages, max_tokens=12).choices[0].message.content or ""

    def label_of(answer: str) -> str | None:
        text = answer.lower()
        return "negative" if "negative" in text else "positive" if "positive" in text else None

    def accuracy() -> float:
        return sum(label_of(classify(instruction, e["text"]).data) == e["label"] for e in examples) / len(examples)

    optimizer = engine.make([instruction])
    run = Run(variant, "reviews", accuracy())
    for index in range(1, steps + 1):
        batch = [examples[(4 * (index - 1) + i) % len(examples)] for i in range(4)]
        optimizer.zero_feedback()
        for e in batch:
            out = classify(instruction, e["text"])
            got = label_of(out.data)
            optimizer.backward(out, "Correct." if got == e["label"] else
                               f"Wrong: expected {e['label']}, the answer was {out.data!r}.")
        before = instruction.data
        started = time.perf_counter()
        raw, tokens = engine.step(optimizer)
        seconds = time.perf_counter() - started
        value = accuracy()
        run.steps.append(StepFigure(usable(optimizer, instruction, raw), instruction.data != before, tokens,
                                    round(seconds, 2), value, repr(instruction.data)[:200], raw[:2000]))
        print(f"  {variant:>22} reviews step {index}: usable={run.steps[-1].usable} changed={run.steps[-1].changed} "
              f"accuracy={value:.2f} {seconds:.1f} s {tokens} tokens", flush=True)
        if value == 1.0:
            run.success_step = index
            break
    return run


# -- the run ------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="local", help="local (SmolLM2-135M-Instruct) or local:/path/to.gguf")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per task (stops early on success)")
    parser.add_argument("--tasks", default="number,code,reviews")
    parser.add_argument("--variants", default="structured,free-text,trace-opt")
    args = parser.parse_args()

    started = time.perf_counter()
    server = local.local_server(args.model)
    print(f"local server: {server.path.name} at {server.base_url} ({time.perf_counter() - started:.1f} s to start)")
    os.environ.update({"OPENAI_API_BASE": server.base_url, "OPENAI_API_KEY": "not-needed"})
    engines: dict[str, Callable[[], SimpleNamespace]] = {
        "trace_workbench structured": lambda: workbench_engine(args.model, True),
        "trace_workbench free-text": lambda: workbench_engine(args.model, False),
        "trace-opt 0.1.3.8": lambda: trace_opt_engine(server.alias),
    }
    wanted = {"structured": "trace_workbench structured", "free-text": "trace_workbench free-text",
              "trace-opt": "trace-opt 0.1.3.8"}
    chosen = [wanted[v] for v in args.variants.split(",")]
    if "trace-opt 0.1.3.8" in chosen:
        try:
            import opto  # noqa: F401
        except ImportError:
            print("trace-opt is not installed (pip install trace-opt==0.1.3.8): its column is left out")
            chosen.remove("trace-opt 0.1.3.8")
    classifier = LLM(model=args.model)
    runs: list[Run] = []
    path: Path | None = None
    for variant in chosen:  # variant by variant, saving after each run: a stopped run keeps what it measured
        for task in args.tasks.split(","):
            engine = engines[variant]()
            try:
                if task == "number":
                    runs.append(number_task(engine, variant, args.steps))
                elif task == "code":
                    runs.append(code_task(engine, variant, args.steps))
                else:
                    runs.append(instruction_task(engine, variant, args.steps, classifier))
            except Exception as error:  # one engine failing a task does not end the comparison
                print(f"  {variant} {task}: failed: {type(error).__name__}: {error}", flush=True)
                runs.append(Run(variant, task, float("nan"), error=f"{type(error).__name__}: {error}"))
            path = save("quality", {"model": server.path.name, "steps": args.steps, "max_tokens": MAX_TOKENS,
                                    "summaries": [r.summary() for r in runs], "runs": [asdict(r) for r in runs],
                                    "seconds": round(time.perf_counter() - started, 1)}, path=path)
    summaries = [r.summary() for r in runs]
    print(f"\n{'variant':<28}{'task':<9}{'usable':>8}{'changed':>9}{'start':>7}{'best':>7}{'success':>9}"
          f"{'tokens/step':>13}{'median s':>10}{'max s':>8}")
    for s in summaries:
        success = "-" if s["success_step"] is None else f"step {s['success_step']}"
        print(f"{s['variant']:<28}{s['task']:<9}{s['usable']:>4}/{s['steps']:<3}{s['changed']:>6}/{s['steps']:<2}"
              f"{s['start_score']:>7.2f}{s['best_score']:>7.2f}{success:>9}{s['tokens_per_step']:>13.0f}"
              f"{s['median_seconds']:>10.1f}{s['max_seconds']:>8.1f}")
    structured = [s for s in summaries if s["variant"] == "trace_workbench structured"]
    if structured:
        share = sum(s["usable"] for s in structured) / max(1, sum(s["steps"] for s in structured))
        numeric = [s["median_seconds"] for s in structured if s["task"] == "number"]
        print(f"\ntarget >= 95% usable proposals with structured replies: {share:.0%} "
              f"({'MET' if share >= 0.95 else 'MISSED'})")
        if numeric:
            print(f"target median numeric step < 20 s: {numeric[0]:.1f} s ({'MET' if numeric[0] < 20 else 'MISSED'})")


if __name__ == "__main__":
    main()
