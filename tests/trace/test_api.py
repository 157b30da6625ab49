"""The public vocabulary of Trace is kept, and importing the engine stays cheap."""

from __future__ import annotations

import subprocess
import sys

import trace_workbench.trace as trace


def test_trace_vocabulary() -> None:
    for name in ("node", "bundle", "model", "Module", "GRAPH", "Node", "ParameterNode", "MessageNode",
                 "ExceptionNode", "ExecutionError", "TraceMissingInputsError", "FunModule", "Seq", "Map",
                 "NodeContainer", "apply_op", "stop_tracing", "to_dict", "operators", "propagators"):
        assert hasattr(trace, name), name
        assert name in trace.__all__
    p = trace.node(1, trainable=True)
    (p + 1).backward("f")
    p.zero_feedback()
    assert callable(trace.propagators.GraphPropagator)


def test_importing_the_engine_imports_nothing_heavy() -> None:
    code = ("import sys, trace_workbench.trace; "
            "heavy = {'openai', 'IPython', 'ipywidgets', 'anywidget', 'pyvis', 'networkx', 'numpy', 'graphviz'}; "
            "print(sorted(heavy & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
