"""trace_workbench: Trace (generative optimization with execution traces and LLMs) and a JupyterLab
workbench to drive it. `from trace_workbench import trace` gives the engine."""

from trace_workbench import trace

__version__ = "0.1.0"
__all__ = ["trace"]
