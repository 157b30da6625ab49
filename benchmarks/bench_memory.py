"""Memory held by a long headless training loop with the default optimizer (OptoPrime, log=True).

Run from the repository root:

    python benchmarks/bench_memory.py                 # 20,000 small steps + 50 steps with a 1 MB intermediate
    python benchmarks/bench_memory.py --quick         # 2,000 + 20 steps
    python benchmarks/bench_memory.py --transport server   # through the scripted ChatServer (real HTTP; slower)

Each step is Trace's loop: a forward pass (a trainable prompt joined with a document by a bundle),
zero_feedback(), backward(output, feedback), step() (propose + apply). The model is the real openai
client; by default its HTTP goes to an in-process transport (httpx's MockTransport answering like the
ChatServer: no sockets, so 20,000 steps take minutes, not an hour); --transport server sends it to
trace_workbench.testing.ChatServer on 127.0.0.1. Every reply proposes a new prompt, so every step applies.

Memory is the Python heap traced by tracemalloc after gc.collect(), read at ten checkpoints from
after a first step (which imports openai and builds its client); the figures are what the loop
holds at the end above that (the optimizer's log, memory, usage records, revert stack, ...) and the
growth per step between the first checkpoint and the last.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from raw_figures import save

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmark this checkout, whatever else is installed
    sys.path.insert(0, str(ROOT))


def _reply(step: int) -> str:
    return json.dumps({"reasoning": f"Step {step}: say it differently.", "answer": "",
                       "suggestion": {"prompt0": f"Summarise the document, take {step}."}})


def _completion(step: int, model: str) -> dict[str, Any]:
    return {"id": f"chatcmpl-{step}", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": _reply(step)}}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 30, "total_tokens": 930}}


class InProcess:
    """The openai client's HTTP answered in this process (httpx MockTransport), like the ChatServer."""

    def __init__(self) -> None:
        self.step = 0

    def llm(self) -> Any:
        from trace_workbench.llm import LLM
        from trace_workbench.llm.deadline import httpx

        def answer(request: Any) -> Any:
            self.step += 1
            return httpx.Response(200, json=_completion(self.step, json.loads(request.content)["model"]))

        client = httpx.Client(transport=httpx.MockTransport(answer))
        return LLM("bench-model", base_url="http://in-process/v1", api_key="k", max_retries=0, cache=False,
                   client_options={"http_client": client})

    def close(self) -> None:
        """Nothing to stop."""


class Server:
    """The scripted ChatServer on 127.0.0.1, over real HTTP."""

    def __init__(self) -> None:
        from trace_workbench.testing import ChatServer

        self.step = 0

        def responder(body: dict[str, Any]) -> str:
            self.step += 1
            with self.server._lock:  # the server records every request for tests to read: not the loop's memory
                del self.server.requests[:-1]
            return _reply(self.step)

        self.server = ChatServer(responder=responder).start()

    def llm(self) -> Any:
        from trace_workbench.llm import LLM

        return LLM("bench-model", base_url=self.server.base_url, api_key="k", max_retries=0, cache=False)

    def close(self) -> None:
        self.server.stop()


def run(steps: int, document_chars: int, transport: Any) -> dict[str, Any]:
    """Train for `steps` steps; the heap (after gc) at ten checkpoints and at the end, in bytes."""
    from trace_workbench.optimizers import OptoPrime
    from trace_workbench.trace import GRAPH, bundle, node

    @bundle()
    def join(prompt, document):
        """Put the prompt before the document."""
        return f"{prompt}\n{document}"

    GRAPH.clear()
    prompt = node("Summarise the document.", trainable=True, name="prompt")
    optimizer = OptoPrime([prompt], llm=transport.llm())

    def step(i: int) -> None:
        document = node("d" * document_chars, name="document")
        output = join(prompt, document)
        optimizer.zero_feedback()
        optimizer.backward(output, "The summary is too long.")
        proposal = optimizer.step()
        if proposal.error or not proposal.changes:
            raise RuntimeError(f"step {i} applied nothing: {proposal.error}")

    step(0)  # the first call imports openai and builds its client: not the loop's memory
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    checkpoints: list[tuple[int, int]] = []
    every = max(1, steps // 10)
    started = time.perf_counter()
    for i in range(1, steps + 1):
        step(i)
        if i % every == 0 or i == steps:
            gc.collect()
            checkpoints.append((i, tracemalloc.get_traced_memory()[0] - base))
    seconds = time.perf_counter() - started
    first, last = checkpoints[0], checkpoints[-1]
    per_step = (last[1] - first[1]) / max(1, last[0] - first[0])
    return {"steps": steps, "document_chars": document_chars, "seconds": seconds, "held_bytes": last[1],
            "growth_bytes_per_step": per_step, "checkpoints": checkpoints,
            "log_entries": len(optimizer.log or []), "summary_log_entries": len(optimizer.summary_log or [])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_000, help="small steps (default 20,000)")
    parser.add_argument("--big-steps", type=int, default=50, help="steps with a large intermediate (default 50)")
    parser.add_argument("--big-chars", type=int, default=1_000_000, help="size of that intermediate (default 1 MB)")
    parser.add_argument("--transport", choices=("inprocess", "server"), default="inprocess")
    parser.add_argument("--quick", action="store_true", help="2,000 small and 20 large steps")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.big_steps = 2_000, 20
    transport = InProcess() if args.transport == "inprocess" else Server()
    tracemalloc.start()
    try:
        rows = [run(args.steps, 100, transport), run(args.big_steps, args.big_chars, transport)]
    finally:
        tracemalloc.stop()
        transport.close()
    print(f"OptoPrime(log=True) training loop, {args.transport} transport, tracemalloc heap after gc.collect()")
    print(f"{'steps':>7} {'document':>10} {'held at the end':>16} {'growth / step':>14} {'log':>5} {'seconds':>8}")
    print("  (held: heap after the last step minus the heap after the first; growth: from the first checkpoint)")
    for row in rows:
        print(f"{row['steps']:>7,} {row['document_chars']:>10,} {row['held_bytes'] / 1e6:>13.2f} MB "
              f"{row['growth_bytes_per_step']:>11,.0f} B {row['log_entries']:>5} {row['seconds']:>8.1f}")
    save("memory", {"python": platform.python_version(), "transport": args.transport, "rows": rows},
         tags=["quick"] if args.quick else [])


if __name__ == "__main__":
    main()
