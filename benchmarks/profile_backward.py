"""Profile trace_workbench's backward on one benchmark workload: cProfile hotspots plus the time the
cyclic garbage collector takes inside the timed region (cProfile does not see the collector).

    python benchmarks/profile_backward.py                      # 100,000-op chain
    python benchmarks/profile_backward.py --workload shared --size 30000 --top 15
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine as bench  # noqa: E402 -- needs the path above

WORKLOADS = {"chain": "backward: chain", "params": "backward: fan-in, n params",
             "shared": "backward: fan-in, 1 node -> n ops"}


class GcClock:
    """Counts collections and their time per generation, through gc.callbacks."""

    def __init__(self) -> None:
        self.time = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.time[info["generation"]] += time.perf_counter() - self._start
            self.count[info["generation"]] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="chain")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--read", action="store_true", help="also profile reading the summed feedback graph")
    parser.add_argument("--gc-off", action="store_true", help="disable the cyclic GC while profiling")
    args = parser.parse_args()

    engines, _ = bench.load_engines()
    engine = next(e for e in engines if e.key == bench.OURS)
    build, check = bench.BACKWARD[WORKLOADS[args.workload]]
    engine.clear()
    output, params = build(engine, args.size)
    gc.collect()
    clock = GcClock()
    gc.callbacks.append(clock)
    if args.gc_off:
        gc.disable()
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    engine.backward(output)
    if args.read:
        bench.read_feedback(engine, params)
    profiler.disable()
    wall = time.perf_counter() - t0
    gc.enable()
    gc.callbacks.remove(clock)
    check(engine, args.size, output, params)

    gc_total = sum(clock.time)
    print(f"{WORKLOADS[args.workload]}{' + read graph' if args.read else ''}, n = {args.size:,}"
          f"{', gc off' if args.gc_off else ''}: {wall:.2f} s under cProfile")
    print(f"cyclic GC inside: {gc_total:.2f} s ({gc_total / wall:.0%}); collections per generation "
          f"{clock.count}, seconds {[round(t, 3) for t in clock.time]}")
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    print(f"{'tottime':>8} {'share':>6} {'cumtime':>8} {'calls':>9}  function")
    for (file, line, func), (_cc, calls, tottime, cumtime, _callers) in rows[:args.top]:
        where = f"{Path(file).name}:{line}" if line else file
        print(f"{tottime:8.3f} {tottime / total:6.1%} {cumtime:8.3f} {calls:9d}  {func} ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
