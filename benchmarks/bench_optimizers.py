"""Side-by-side benchmark of OptoPrime: trace-opt (PyPI, `opto.optimizers`) vs `trace_workbench.optimizers`.

Run from the repository root:

    python benchmarks/bench_optimizers.py            # full run (about 3 minutes with trace-opt)
    python benchmarks/bench_optimizers.py --quick    # smoke run: fan-out 400, fewer repeats

What is measured, on the same graphs built by the same code through each implementation:
  1. prompt size: characters of OptoPrime's system + user prompt (summarize() + construct_prompt());
  2. the time to build that summary and prompt for one parameter fanned out N times (default 1,600);
  3. the cold import time of the optimizers package, in a fresh interpreter (median of repeats).
No model is called. trace-opt is optional (`pip install -e .[bench]`); without it only our figures
are printed. A table goes to stdout; the figures go to benchmarks/results/optimizers-*.json (gitignored).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from raw_figures import save

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmark this checkout, whatever else is installed
    sys.path.insert(0, str(ROOT))

OPTO = "trace-opt"
OURS = "trace_workbench"
FEEDBACK = "The number needs to be larger."
QUIET_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}  # trace-opt's litellm: no network fetch at import


class Implementation:
    """One Trace implementation: its `trace` module, its OptoPrime and the module to import cold."""

    def __init__(self, key: str, trace: Any, optoprime: type, package: str, version: str) -> None:
        self.key = key
        self.trace = trace
        self.optoprime = optoprime
        self.package = package
        self.version = version

    def optimizer(self, parameters: list[Any]) -> Any:
        """An OptoPrime over `parameters` with a placeholder model (nothing is sent)."""
        return self.optoprime(parameters, llm=_NoModel())


class _NoModel:
    """Stands in for the model: building a prompt never calls it."""

    def __call__(self, **kwargs: Any) -> Any:
        raise RuntimeError("the benchmark never calls the model")


def load(include_opto: bool = True) -> tuple[list[Implementation], str | None]:
    """Ours always; trace-opt when asked for and `opto` imports (else why not)."""
    from trace_workbench import trace as ours
    from trace_workbench.optimizers import OptoPrime

    found = []
    missing = None if include_opto else "skipped (--no-opto)"
    os.environ.update(QUIET_ENV)
    try:
        if not include_opto:
            raise ModuleNotFoundError("skipped")
        opto_trace = importlib.import_module("opto.trace")
        opto_optimizers = importlib.import_module("opto.optimizers")
        found.append(Implementation(OPTO, opto_trace, opto_optimizers.OptoPrime, "opto.optimizers",
                                    _version("trace-opt")))
    except Exception as e:  # not installed, or one of its imports fails
        missing = missing or f"{type(e).__name__}: {e}"
    found.append(Implementation(OURS, ours, OptoPrime, "trace_workbench.optimizers", _version("trace-workbench")))
    return found, missing


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# -- the graphs (Trace's own examples, and the stress cases) ----------------------------------------
def _blackbox(x: Any) -> Any:
    return -x * 2


def _bar(x):
    "This is a test function, which does negative scaling."
    return _blackbox(x)


def _total(*args):
    """Sum of the values."""
    return sum(args)


def _join(prompt, document):
    """Put the prompt before the document."""
    return f"{prompt}\n{document}"


def strange_sort_list(lst):
    '''
    Given list of integers, return list in strange order.
    Strange sorting, is when you start with the minimum value,
    then maximum of the remaining integers, then minimum and so on.
    '''
    lst = sorted(lst)
    return lst


def graph_foobar(impl: Implementation) -> tuple[list[Any], Any]:
    """Trace's README / test_optimizer example: foo(bar(x)) with x = -1.0."""
    x = impl.trace.node(-1.0, trainable=True)
    y = impl.trace.bundle()(_bar)(x)
    return [x], y * (y + 1)


def graph_strange_sort(impl: Implementation) -> tuple[list[Any], Any]:
    """Trace's README example: a trainable function compared with the expected list."""
    fun = impl.trace.bundle(trainable=True)(strange_sort_list)
    return fun.parameters(), fun([1, 2, 3, 4]).eq([1, 4, 2, 3])


def graph_long_input(impl: Implementation) -> tuple[list[Any], Any]:
    """A prompt parameter joined with a 20,000-character document."""
    prompt = impl.trace.node("Summarize the document.", trainable=True)
    document = impl.trace.node("lorem ipsum " * 1_667)
    return [prompt], impl.trace.bundle()(_join)(prompt, document)


def graph_fan_out(n: int) -> Callable[[Implementation], tuple[list[Any], Any]]:
    """One parameter used by n additions, all summed by one bundled function."""

    def build(impl: Implementation) -> tuple[list[Any], Any]:
        x = impl.trace.node(1.0, trainable=True)
        return [x], impl.trace.bundle()(_total)(*[x + i for i in range(n)])

    build.__doc__ = f"one parameter fanned out {n:,} times"
    return build


def prompt_for(impl: Implementation, build: Callable[[Implementation], tuple[list[Any], Any]]) -> dict[str, Any]:
    """Build the graph, backward the feedback, then time summarize() + construct_prompt()."""
    impl.trace.GRAPH.clear()
    parameters, output = build(impl)
    optimizer = impl.optimizer(parameters)
    optimizer.zero_feedback()
    optimizer.backward(output, FEEDBACK)
    started = time.perf_counter()
    summary = optimizer.summarize()
    system_prompt, user_prompt = optimizer.construct_prompt(summary)
    seconds = time.perf_counter() - started
    return {"chars": len(system_prompt) + len(user_prompt), "seconds": seconds}


def cold_import(package: str, repeats: int) -> dict[str, Any]:
    """Seconds to import `package` in a fresh interpreter (interpreter start-up excluded)."""
    code = f"import time; t = time.perf_counter(); import {package}; print(time.perf_counter() - t)"
    env = {**os.environ, **QUIET_ENV, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                             cwd=ROOT, timeout=300).stdout
        runs.append(float(out.strip().splitlines()[-1]))
    return {"median": statistics.median(runs), "runs": runs}


# -- the run ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print a table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fan-out 400, 3 repeats, 3 imports")
    parser.add_argument("--fan-out", type=int, default=None, help="uses of the one parameter (default 1,600)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats of the fan-out timing for trace_workbench (trace-opt: one run)")
    parser.add_argument("--no-opto", action="store_true", help="skip trace-opt even when it is installed")
    args = parser.parse_args(argv)
    fan_out = args.fan_out or (400 if args.quick else 1_600)
    repeats = args.repeats or (3 if args.quick else 5)
    import_repeats = 3 if args.quick else 7

    impls, missing = load(include_opto=not args.no_opto)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))  # trace-opt recurses over deep graphs

    graphs = {"foobar (README)": graph_foobar, "strange_sort_list (README)": graph_strange_sort,
              "prompt + 20,000-char input": graph_long_input, f"fan-out {fan_out:,}": graph_fan_out(fan_out)}
    results: dict[str, Any] = {"prompt": {}, "fan_out": {"n": fan_out}, "import": {}}
    for impl in impls:
        results["prompt"][impl.key] = {name: prompt_for(impl, build) for name, build in graphs.items()}
        times = [results["prompt"][impl.key][f"fan-out {fan_out:,}"]["seconds"]]  # trace-opt: this run only
        times += [prompt_for(impl, graph_fan_out(fan_out))["seconds"] for _ in range(repeats - 1 if impl.key == OURS
                                                                                  else 0)]
        results["fan_out"][impl.key] = {"median": statistics.median(times), "runs": times}
        results["import"][impl.key] = cold_import(impl.package, import_repeats)

    print(f"Python {platform.python_version()} on {platform.machine()}; "
          + ", ".join(f"{i.key} {i.version}" for i in impls) + (f"; trace-opt missing: {missing}" if missing else ""))
    keys = [i.key for i in impls]
    print(f"\n{'prompt size (characters)':34}" + "".join(f"{k:>18}" for k in keys))
    for name in graphs:
        print(f"{name:34}" + "".join(f"{results['prompt'][k][name]['chars']:>18,}" for k in keys))
    print(f"\n{'seconds':34}" + "".join(f"{k:>18}" for k in keys))
    print(f"{f'summary + prompt, fan-out {fan_out:,}':34}"
          + "".join(f"{results['fan_out'][k]['median']:>18.3f}" for k in keys))
    print(f"{'cold import of the optimizers':34}" + "".join(f"{results['import'][k]['median']:>18.3f}" for k in keys))

    meta = {"python": platform.python_version(), "versions": {i.key: i.version for i in impls}, "missing": missing}
    print()
    save("optimizers", {**meta, **results}, ["quick"] if args.quick else [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
