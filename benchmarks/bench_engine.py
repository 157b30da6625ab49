"""Side-by-side benchmark of the Trace engine: trace-opt (PyPI, `opto.trace`) vs `trace_workbench.trace`.

Run from the repository root:

    python benchmarks/bench_engine.py            # full run (a few minutes on 2 cores)
    python benchmarks/bench_engine.py --quick    # smoke run, small sizes only (well under 30 s)
    python benchmarks/bench_engine.py --gc-off   # the same, with the cyclic GC off inside timed regions

Both engines run the same workload code, in the same process, through a tiny adapter (node,
backward with the default GraphPropagator, GRAPH.clear). trace-opt is optional (`pip install -e
.[bench]`); without it only the trace_workbench figures are printed. A table goes to stdout and the
same figures, with every raw repeat, go to benchmarks/results/*.json (gitignored).

Ratios are trace-opt / trace_workbench: above 1 means trace_workbench is faster (or smaller).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import functools
import gc
import hashlib
import importlib
import importlib.metadata
import math
import operator
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from raw_figures import save

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmark this checkout, whatever else is installed
    sys.path.insert(0, str(ROOT))

OPTO = "trace-opt"
OURS = "trace_workbench"
FEEDBACK = "The output should be larger."

# Sizes (number of traced operations in the graph). trace-opt's backward is quadratic, so it stops
# at 3,200 (or earlier, once a single run exceeds SLOW_RUN_S).
FULL = {"common": [100, 400, 1_600, 3_200], "ours_only": [10_000, 30_000, 100_000],
        "forward_ops": 3_000, "forward_repeats": 5, "repeats": 3, "ours_repeats": 5, "big_repeats": 5,
        "import_repeats": 7,
        "memory": {OPTO: [3_200], OURS: [3_200, 10_000]}}
QUICK = {"common": [100, 300, 800], "ours_only": [], "forward_ops": 600, "forward_repeats": 3,
         "repeats": 2, "ours_repeats": 2, "big_repeats": 1, "import_repeats": 2,
         "memory": {OPTO: [800], OURS: [800]}}
SLOW_RUN_S = 20.0
READ_BUDGET_S = 3.0  # skip reading the summed graph when the cubic extrapolation from the last read exceeds it


# -- the adapter ---------------------------------------------------------------------------------
class Engine:
    """One Trace implementation behind the few calls the workloads need."""

    def __init__(self, key: str, trace: ModuleType, version: str, import_stmt: str) -> None:
        self.key = key
        self.trace = trace
        self.version = version
        self.import_stmt = import_stmt
        self.recursion_limit_raised_to: int | None = None

    def node(self, value: Any, name: str | None = None) -> Any:
        return self.trace.node(value, name=name)

    def param(self, value: Any, name: str) -> Any:
        return self.trace.node(value, name=name, trainable=True)

    def bundle(self, fun: Callable[..., Any]) -> Any:
        return self.trace.bundle()(fun)

    @staticmethod
    def backward(output: Any) -> None:
        output.backward(FEEDBACK)  # default propagator (GraphPropagator), default retain_graph

    @staticmethod
    def feedback_graphs(node: Any) -> list[Any]:
        """The TraceGraphs a node received (one per child it fed)."""
        return [f for fs in node.feedback.values() for f in fs]

    def clear(self) -> None:
        self.trace.GRAPH.clear()
        gc.collect()

    def run(self, fn: Callable[[], Any], size: int) -> Any:
        """Call fn(); on RecursionError raise the recursion limit (trace-opt only) and call it again."""
        try:
            return fn()
        except RecursionError:
            if self.key != OPTO:
                raise
            old = sys.getrecursionlimit()
            new = max(old, 20 * size + 1_000)
            self.recursion_limit_raised_to = max(new, self.recursion_limit_raised_to or 0)
            self.clear()
            sys.setrecursionlimit(new)
            try:
                return fn()
            finally:
                sys.setrecursionlimit(old)


def load_engines() -> tuple[list[Engine], str | None]:
    """Our engine always; trace-opt when `opto` is importable (else the reason it is missing)."""
    from trace_workbench import trace as ours

    engines = []
    missing = None
    try:
        opto_trace = importlib.import_module("opto.trace")
        engines.append(Engine(OPTO, opto_trace, _version("trace-opt"), "import opto.trace"))
    except Exception as e:  # not installed, or one of its imports fails
        missing = f"{type(e).__name__}: {e}"
    engines.append(Engine(OURS, ours, _version("trace-workbench"), "import trace_workbench"))
    return engines, missing


def source_state() -> dict[str, Any]:
    """Which trace_workbench code was measured: git HEAD, uncommitted changes, a digest of the engine."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "trace_workbench" / "trace").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    state: dict[str, Any] = {"engine_digest": digest.hexdigest()[:12], "head": None, "dirty": None}
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout

        state["head"] = git("rev-parse", "--short", "HEAD").strip()
        state["dirty"] = bool(git("status", "--porcelain", "--", "trace_workbench").strip())
    return state


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# -- timing helpers --------------------------------------------------------------------------------
GC_OFF = False
CLOCK = "wall"  # which clock the table, the best-of choice, the ratios and the targets use
CLOCKS = ("wall", "cpu")


class Stopwatch:
    """Times a block on both clocks: wall (time.perf_counter) and this process's CPU time
    (time.process_time, which a busy machine inflates much less). Collects garbage first so runs are
    independent; with --gc-off the cyclic GC stays off inside the block."""

    def __enter__(self) -> Stopwatch:
        gc.collect()
        if GC_OFF:
            gc.disable()
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        if GC_OFF:
            gc.enable()

    def times(self, per: int = 1) -> dict[str, float]:
        return {"wall": self.wall / per, "cpu": self.cpu / per}


def best_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """The fastest run on each clock."""
    return {clock: min(r[clock] for r in runs) for clock in CLOCKS}


# -- workloads: forward --------------------------------------------------------------------------
def _bundled_add(a, b):
    """Adds a and b."""
    return a + b


def forward_add(engine: Engine, ops: int) -> dict[str, float]:
    """x = x + 1, `ops` times: a chain of binary operators. Returns the time per operation."""
    x = engine.node(1, "x")
    with Stopwatch() as watch:
        for _ in range(ops):
            x = x + 1
    assert x.data == ops + 1
    return watch.times(per=ops)


def forward_mix(engine: Engine, ops: int) -> dict[str, float]:
    """z = (z * 0.5 + y) - 1.0 with a parameter y: *, + and - (3 operators a line), y read every line."""
    z = engine.param(1.0, "x")
    y = engine.param(2.0, "y")
    lines = ops // 3
    with Stopwatch() as watch:
        for _ in range(lines):
            z = (z * 0.5 + y) - 1.0
    assert abs(z.data - 2.0) < 1e-6  # the fixed point of z -> z/2 + 1
    return watch.times(per=3 * lines)


def forward_bundle(engine: Engine, ops: int) -> dict[str, float]:
    """z = f(z, 1) where f is a @bundle()-decorated plain function: one MessageNode a call."""
    f = engine.bundle(_bundled_add)
    z = engine.node(1, "x")
    with Stopwatch() as watch:
        for _ in range(ops):
            z = f(z, 1)
    assert z.data == ops + 1
    return watch.times(per=ops)


FORWARD: dict[str, tuple[Callable[[Engine, int], dict[str, float]], float]] = {
    # name -> (workload, share of forward_ops to run: bundle calls are slow on trace-opt)
    "forward: x = x + 1": (forward_add, 1.0),
    "forward: z = (z*0.5 + y) - 1": (forward_mix, 1.0),
    "forward: @bundle call": (forward_bundle, 1 / 3),
}


# -- workloads: backward ------------------------------------------------------------------------
def build_chain(engine: Engine, n: int) -> tuple[Any, list[Any]]:
    """Parameter x; y = x; then n times y = y + 1 (or y - 1, alternating): n MessageNodes deep."""
    x = engine.param(1, "x")
    y = x
    for i in range(n):
        y = y + 1 if i % 2 == 0 else y - 1
    return y, [x]


def build_fanin_params(engine: Engine, n: int) -> tuple[Any, list[Any]]:
    """n parameters p_i summed one by one: acc = p_0; acc = acc + p_i (n - 1 adds, n leaf parameters)."""
    params = [engine.param(i, "p") for i in range(n)]
    acc = params[0]
    for p in params[1:]:
        acc = acc + p
    return acc, params


def build_fanin_shared(engine: Engine, n: int) -> tuple[Any, list[Any]]:
    """One parameter x feeds n ops (x + i) whose results are summed: x has n children (2n - 1 ops)."""
    x = engine.param(1, "x")
    acc = x + 0
    for i in range(1, n):
        acc = acc + (x + i)
    return acc, [x]


def check_chain(engine: Engine, n: int, output: Any, params: list[Any]) -> int:
    (graph,) = engine.feedback_graphs(params[0])
    nodes = {id(v) for _, v in graph.graph}
    assert len(graph.graph) >= n + 1, (engine.key, n, len(graph.graph))
    assert id(params[0]) in nodes and id(output) in nodes
    assert graph.user_feedback == FEEDBACK
    return len(graph.graph)


def check_fanin_params(engine: Engine, n: int, output: Any, params: list[Any]) -> int:
    for p in (params[0], params[-1]):
        (graph,) = engine.feedback_graphs(p)
        assert id(output) in {id(v) for _, v in graph.graph}
    (graph,) = engine.feedback_graphs(params[0])
    assert len(graph.graph) >= n, (engine.key, n, len(graph.graph))
    assert graph.user_feedback == FEEDBACK
    return len(graph.graph)


def check_fanin_shared(engine: Engine, n: int, output: Any, params: list[Any]) -> int:
    graphs = engine.feedback_graphs(params[0])
    assert len(graphs) == n, (engine.key, n, len(graphs))  # one TraceGraph from each child
    for graph in (graphs[0], graphs[-1]):
        assert id(output) in {id(v) for _, v in graph.graph}
        assert graph.user_feedback == FEEDBACK
    return max(len(graphs[0].graph), len(graphs[-1].graph))


def read_feedback(engine: Engine, params: list[Any]) -> int:
    """What OptoPrime does next: add up the TraceGraphs the first parameter received, read the sum's
    flat node list once (trace_workbench builds that list lazily; trace-opt built it in backward)."""
    graphs = engine.feedback_graphs(params[0])
    return len(functools.reduce(operator.add, graphs).graph)


BACKWARD = {
    "backward: chain": (build_chain, check_chain),
    "backward: fan-in, n params": (build_fanin_params, check_fanin_params),
    "backward: fan-in, 1 node -> n ops": (build_fanin_shared, check_fanin_shared),
}


def time_backward(engine: Engine, build: Callable[[Engine, int], tuple[Any, list[Any]]],
                  check: Callable[..., int], n: int, read: bool = True) -> dict[str, Any]:
    """Build (untimed), time backward, time reading the parameter's feedback graph, check (untimed)."""
    engine.clear()
    t0 = time.perf_counter()
    output, params = build(engine, n)
    build_s = time.perf_counter() - t0
    with Stopwatch() as backward:
        engine.backward(output)
    read_times = None
    if read:
        with Stopwatch() as reading:
            read_feedback(engine, params)
        read_times = reading.times()
    graph_nodes = check(engine, n, output, params)
    del output, params
    engine.clear()
    return {"build_s": build_s, "backward": backward.times(), "read": read_times, "graph_nodes": graph_nodes}


# -- workloads: memory, import ------------------------------------------------------------------
def peak_memory_chain(engine: Engine, n: int) -> int:
    """tracemalloc peak (bytes) of building and backwarding an n-op chain."""
    engine.clear()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        output, params = build_chain(engine, n)
        engine.backward(output)
        check_chain(engine, n, output, params)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del output, params
    engine.clear()
    return peak


def cold_import(statement: str, repeats: int, cache_dir: str | None) -> dict[str, Any]:
    """A fresh `python -c statement` minus `python -c pass`, best of `repeats` each, on both clocks
    (wall time, and the child's CPU time from getrusage).

    cache_dir: every .pyc comes from there (PYTHONPYCACHEPREFIX, warmed by one untimed run): the usual
    case on a developer's machine, the same for both engines. None: the environment as it is (here
    PYTHONDONTWRITEBYTECODE=1 and no __pycache__ in the checkout, so trace_workbench compiles from
    source while site-packages and the stdlib have theirs). Nothing is written into the source trees.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    if cache_dir is not None:
        env["PYTHONPYCACHEPREFIX"] = cache_dir
        env.pop("PYTHONDONTWRITEBYTECODE", None)

    def once(code: str) -> dict[str, float]:
        cpu0, wall0 = _children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return {"wall": time.perf_counter() - wall0, "cpu": _children_cpu() - cpu0}

    if cache_dir is not None:  # warm the cache
        once(statement)
    base_runs, runs = [], []
    for _ in range(repeats):  # interleaved, so both see the same load
        base_runs.append(once("pass"))
        runs.append(once(statement))
    base, full = best_of(base_runs), best_of(runs)
    return {"import": {c: max(full[c] - base[c], 0.0) for c in CLOCKS}, "python_pass": base,
            "with_import": full, "runs": runs, "pass_runs": base_runs}


def _children_cpu() -> float:
    try:
        import resource
    except ImportError:  # not on Unix: no child CPU time, fall back to the wall clock
        return time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def importtime(statement: str, repeats: int, cache_dir: str) -> float:
    """Best in-process import time of `statement` reported by `python -X importtime` (.pyc cached):
    the cumulative time of the top-level imports that `python -c pass` does not make. Steadier than
    wall-clock differences on a busy machine."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               PYTHONPYCACHEPREFIX=cache_dir)
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def top_level(code: str) -> dict[str, int]:
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], check=True, env=env, cwd=ROOT,
                             capture_output=True, text=True).stderr
        found = {}
        for line in err.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
                found[parts[2].strip()] = int(parts[1])
        return found

    startup = set(top_level("pass"))
    best = min(sum(us for name, us in top_level(statement).items() if name not in startup) for _ in range(repeats))
    return best / 1e6


# -- growth exponent -----------------------------------------------------------------------------
def exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(time) against log(n): 1 is linear, 2 quadratic."""
    points = [(n, t) for n, t in points if t > 0]
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else None


# -- the run --------------------------------------------------------------------------------------
def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds == 0:  # an import difference lost in the noise of starting Python
        return "~0 (noise)"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} us"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def fmt_ratio(opto: float | None, ours: float | None) -> str:
    if not opto or not ours:
        return "-"
    r = opto / ours
    return f"{r:.0f}x" if r >= 10 else f"{r:.1f}x"


class Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, workload: str, size: str, values: dict[str, float | None], fmt: Callable[[Any], str],
            ratio: bool = True, **extra: Any) -> None:
        opto, ours = values.get(OPTO), values.get(OURS)
        opto_r, ours_r = (opto, ours) if ratio else (None, None)  # a ratio of exponents means nothing
        row = {"workload": workload, "size": size, OPTO: opto, OURS: ours,
               "ratio": (opto_r / ours_r) if opto_r and ours_r else None,
               "shown": [workload, size, fmt(opto), fmt(ours), fmt_ratio(opto_r, ours_r)], **extra}
        self.rows.append(row)
        print(" | ".join(row["shown"]), flush=True)

    def table(self) -> str:
        header = ["workload", "size", OPTO, OURS, "ratio (opto/ours)"]
        lines = [header] + [r["shown"] for r in self.rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = []
        for k, line in enumerate(lines):
            out.append("| " + " | ".join(c.ljust(w) if i < 2 else c.rjust(w)
                                         for i, (c, w) in enumerate(zip(line, widths, strict=True))) + " |")
            if k == 0:
                out.append("|" + "|".join("-" * (w + 1) + (":" if i >= 2 else "-")
                                          for i, w in enumerate(widths)) + "|")
        return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    global GC_OFF, CLOCK
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke run)")
    parser.add_argument("--gc-off", action="store_true", help="disable the cyclic GC inside timed regions")
    parser.add_argument("--no-opto", action="store_true", help="skip trace-opt even when it is installed")
    parser.add_argument("--clock", choices=CLOCKS, default="wall",
                        help="what the table shows: wall time (time.perf_counter, the default) or CPU time "
                             "(time.process_time; steadier on a busy machine). Both are always in the JSON.")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    GC_OFF, CLOCK = args.gc_off, args.clock
    cfg = QUICK if args.quick else FULL

    engines, missing = load_engines()
    if args.no_opto:
        engines = [e for e in engines if e.key != OPTO]
        missing = missing or "skipped (--no-opto)"
    started = time.perf_counter()
    load_before = os.getloadavg()
    print(f"Trace engine benchmark ({'quick' if args.quick else 'full'}, {CLOCK} clock{', gc off' if GC_OFF else ''}): "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}, "
          f"load average {load_before[0]:.2f}")
    for e in engines:
        print(f"  {e.key} {e.version}: {e.trace.__file__}")
    source = source_state()
    print(f"  trace_workbench source: git {source['head']}"
          f"{' + uncommitted changes' if source['dirty'] else ''}, engine digest {source['engine_digest']}")
    if args.no_opto:
        print("  trace-opt skipped (--no-opto): printing trace_workbench figures alone.")
    elif missing:
        print(f"  trace-opt is missing ({missing}): printing trace_workbench figures alone. "
              "Install it with `pip install -e .[bench]` (or `pip install trace-opt==0.1.3.8`).")
    print("workload | size | trace-opt | trace_workbench | ratio")
    report = Report()
    raw: dict[str, Any] = {}

    # forward: repeats interleaved across engines, so both see the same load
    for name, (workload, share) in FORWARD.items():
        ops = max(30, int(cfg["forward_ops"] * share))
        runs: dict[str, list[dict[str, float]]] = {e.key: [] for e in engines}
        for _ in range(cfg["forward_repeats"]):
            for e in engines:
                e.clear()
                runs[e.key].append(e.run(functools.partial(workload, e, ops), ops))
        for e in engines:
            e.clear()
        best = {k: best_of(v) for k, v in runs.items()}
        report.add(name + " (per op)", f"{ops:,} ops", {k: b[CLOCK] for k, b in best.items()}, fmt_time,
                   both_clocks=best)
        raw[name] = runs

    # backward
    exponents: dict[str, dict[str, Any]] = {}
    for name, (build, check) in BACKWARD.items():
        results: dict[str, dict[int, dict[str, Any]]] = {e.key: {} for e in engines}
        sizes = cfg["common"] + cfg["ours_only"]
        opto_stopped = None
        read_stopped: dict[str, int] = {}  # trace-opt's sum of n TraceGraphs is cubic: stop before it gets slow
        last_read: dict[str, tuple[int, float]] = {}
        for n in sizes:
            for k, (m, t) in last_read.items():
                if k not in read_stopped and t * (n / m) ** 3 > READ_BUDGET_S:
                    read_stopped[k] = m
            todo = {e.key: (cfg["big_repeats"] if n > max(cfg["common"])
                            else cfg["ours_repeats"] if e.key == OURS else cfg["repeats"])
                    for e in engines if e.key == OURS or (n in cfg["common"] and not opto_stopped)}
            runs = {k: [] for k in todo}
            for rep in range(max(todo.values())):  # interleaved across engines
                for e in engines:
                    if rep < todo.get(e.key, 0):
                        read = e.key not in read_stopped
                        run = e.run(functools.partial(time_backward, e, build, check, n, read), n)
                        runs[e.key].append(run)
                        if run["backward"]["wall"] > SLOW_RUN_S:
                            todo[e.key] = 0  # one such run is enough
            for k, rs in runs.items():
                best = {"backward": best_of([r["backward"] for r in rs]),
                        "read": best_of([r["read"] for r in rs]) if rs[0]["read"] else None,
                        "build_s": min(r["build_s"] for r in rs), "graph_nodes": rs[0]["graph_nodes"]}
                results[k][n] = {"best": best, "runs": rs}
                if k == OPTO and best["backward"]["wall"] > SLOW_RUN_S:
                    opto_stopped = n
                if best["read"] is not None:
                    last_read[k] = (n, best["read"]["wall"])
            report.add(name, f"{n:,}", {k: r[n]["best"]["backward"][CLOCK] for k, r in results.items() if n in r},
                       fmt_time, graph_nodes=results[OURS][n]["best"]["graph_nodes"],
                       both_clocks={k: r[n]["best"]["backward"] for k, r in results.items() if n in r},
                       build_s={k: r[n]["best"]["build_s"] for k, r in results.items() if n in r})
        # backward plus reading the first parameter's feedback graph (trace_workbench builds the
        # flat list lazily, trace-opt has it already): what an optimizer pays before prompting
        for n in sizes:
            values = {k: r[n]["best"]["backward"][CLOCK] + r[n]["best"]["read"][CLOCK] for k, r in results.items()
                      if n in r and r[n]["best"]["read"] is not None}
            report.add(name + " + read graph", f"{n:,}", values, fmt_time)
        fits: dict[str, Any] = {}
        lo, hi = cfg["common"][1], max(cfg["common"])
        for k, r in results.items():
            pts = [(n, v["best"]["backward"][CLOCK]) for n, v in r.items() if lo <= n <= hi]
            fits[k] = {"range": [lo, hi], "exponent": exponent(pts)}
        report.add(name + ": growth exponent", f"{lo:,}-{hi:,}",
                   {k: f["exponent"] for k, f in fits.items()}, _fmt_exp, ratio=False)
        big = [n for n in sizes if n >= max(cfg["common"])]
        if len(big) >= 2:
            pts = [(n, results[OURS][n]["best"]["backward"][CLOCK]) for n in big]
            fits[OURS + "_large"] = {"range": [big[0], big[-1]], "exponent": exponent(pts)}
            report.add(name + ": growth exponent", f"{big[0]:,}-{big[-1]:,}", {OURS: exponent(pts)}, _fmt_exp,
                       ratio=False)
        exponents[name] = fits
        raw[name] = {k: {str(n): v for n, v in r.items()} for k, r in results.items()}
        if opto_stopped:
            raw[name]["opto_stopped_at"] = opto_stopped
        if read_stopped:
            raw[name]["read_stopped_after"] = read_stopped
            print(f"  (reading the summed graph stopped after n = {read_stopped}: the next read would take "
                  f"over {READ_BUDGET_S:.0f} s)")

    # memory
    memory: dict[str, dict[int, int]] = {e.key: {} for e in engines}
    for n in sorted({n for sizes in cfg["memory"].values() for n in sizes}):
        for e in engines:
            if n in cfg["memory"][e.key]:
                memory[e.key][n] = e.run(lambda e=e, n=n: peak_memory_chain(e, n), n)
        report.add("peak memory: build + backward chain", f"{n:,}",
                   {k: m.get(n) for k, m in memory.items()}, fmt_bytes)

    # cold import
    imports: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache_dir:
        for key, cache, label in (("pyc", cache_dir, ".pyc cached"), ("env", None, "environment as is")):
            measured = {e.key: cold_import(e.import_stmt, cfg["import_repeats"], cache) for e in engines}
            imports[key] = measured
            report.add(f"cold import ({label})", "-", {k: v["import"][CLOCK] for k, v in measured.items()},
                       fmt_time, statements={e.key: e.import_stmt for e in engines})
        measured = {e.key: importtime(e.import_stmt, cfg["import_repeats"], cache_dir) for e in engines}
        imports["importtime"] = {k: {"import": {c: v for c in CLOCKS}} for k, v in measured.items()}
        report.add("import (-X importtime, .pyc cached)", "-", measured, fmt_time)

    targets = check_targets(report, imports, exponents, args.quick)
    print()
    print(f"Times: best of the repeats on the {CLOCK} clock "
          f"({'time.perf_counter' if CLOCK == 'wall' else 'time.process_time; getrusage for the imports'}).")
    print(report.table())
    print()
    for t in targets:
        print(f"[{t['status']}] {t['target']}: {t['measured']}")
    recursion = {e.key: e.recursion_limit_raised_to for e in engines}
    print(f"recursion limit: default {sys.getrecursionlimit()} sufficed" if not any(recursion.values())
          else f"recursion limit raised for: {recursion}")
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()
    busy = max(load_before[0], load_after[0]) > 0.75 * (os.cpu_count() or 1)
    print(f"total {elapsed:.1f} s; 1-minute load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
          f"{' (a busy machine: figures are noisier than usual)' if busy else ''}")

    document = {
        "when": _dt.datetime.now().isoformat(timespec="seconds"), "mode": "quick" if args.quick else "full",
        "gc_off": GC_OFF, "clock": CLOCK, "elapsed_s": elapsed, "trace_opt_missing": missing,
        "load_average": {"before": load_before, "after": load_after},
        "machine": {"python": sys.version, "platform": platform.platform(), "cpus": os.cpu_count(),
                    "processor": platform.processor() or _cpu_model()},
        "engines": {e.key: {"version": e.version, "file": e.trace.__file__} for e in engines},
        "trace_workbench_source": source,
        "config": cfg, "rows": [{k: v for k, v in r.items() if k != "shown"} for r in report.rows],
        "table": report.table(), "targets": targets, "exponents": exponents, "memory_bytes": memory,
        "imports": imports, "recursion_limit_raised_to": recursion, "raw": raw,
    }
    tags = [tag for tag, on in (("quick", args.quick), ("gcoff", GC_OFF), ("cpu", CLOCK == "cpu")) if on]
    save("engine", document, tags, path=args.out)
    return 0


def _fmt_exp(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def _row(report: Report, workload: str, size: str) -> dict[str, Any] | None:
    return next((r for r in report.rows if r["workload"] == workload and r["size"] == size), None)


def check_targets(report: Report, imports: dict[str, Any],
                  exponents: dict[str, dict[str, Any]], quick: bool) -> list[dict[str, str]]:
    """The issue's targets, each MET / MISSED / N/A with the measured figure."""
    targets = []

    def add(target: str, ok: bool | None, measured: str) -> None:
        targets.append({"target": target, "status": "N/A" if ok is None else ("MET" if ok else "MISSED"),
                        "measured": measured})

    fits = [(name, f.get(OURS + "_large") or f.get(OURS)) for name, f in exponents.items()]
    worst = max((f["exponent"] for _, f in fits if f and f["exponent"] is not None), default=None)
    slopes = "; ".join(f"{name.removeprefix('backward: ')}: {_fmt_exp(f['exponent'])} over "
                       f"{f['range'][0]:,}-{f['range'][1]:,}" for name, f in fits if f)
    add("backward linear in graph size (fitted exponent <= 1.2)",
        None if worst is None or quick else worst <= 1.2,
        ("quick run, sizes too small to judge: " if quick else "") + slopes)
    row = _row(report, "backward: chain", "3,200")
    if row and row["ratio"]:
        add(">= 50x faster than trace-opt on the 3,200 chain", row["ratio"] >= 50,
            f"{row['ratio']:.0f}x ({fmt_time(row[OPTO])} vs {fmt_time(row[OURS])})")
    else:
        add(">= 50x faster than trace-opt on the 3,200 chain", None,
            "not measured (quick run or trace-opt missing)")
    row = _row(report, "backward: chain", "100,000")
    add("100,000-node chain backward < 2 s", None if row is None else row[OURS] < 2.0,
        "not measured (quick run)" if row is None else fmt_time(row[OURS]))
    ratios = [(r["workload"], r["ratio"]) for r in report.rows
              if r["workload"].startswith("forward: x") or r["workload"].startswith("forward: z")]
    measured = [r for _, r in ratios if r]
    add(">= 5x cheaper forward per operation (operators)", min(measured) >= 5 if measured else None,
        "; ".join(f"{w.removeprefix('forward: ').removesuffix(' (per op)')}: {r:.1f}x" for w, r in ratios if r)
        or "trace-opt missing")
    cached, as_is = imports["pyc"][OURS]["import"][CLOCK], imports["env"][OURS]["import"][CLOCK]
    add("import trace_workbench < 0.2 s", max(cached, as_is) < 0.2,
        f"{fmt_time(cached)} with .pyc cached, {fmt_time(as_is)} with the environment as is")
    return targets


if __name__ == "__main__":
    sys.exit(main())
