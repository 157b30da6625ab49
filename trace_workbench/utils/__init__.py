"""Where Trace keeps its helpers (``opto.utils``): ``trace_workbench.utils.llm`` holds Trace's LLM classes."""
