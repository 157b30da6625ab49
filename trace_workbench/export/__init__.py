"""Renderings of a trace graph outside the workbench: a self-contained HTML page (pyvis) and a networkx graph.

Headless: nothing here needs Jupyter. pyvis and networkx are imported inside the functions that use
them, so `import trace_workbench.export` stays cheap.
"""

from trace_workbench.export.analysis import to_networkx
from trace_workbench.export.html import export_html, remote_resources

__all__ = ["export_html", "remote_resources", "to_networkx"]
