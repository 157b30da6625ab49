"""Where OpenTrace keeps its trainer helpers (``opto.trainer``); ``trainer.utils`` maps them onto
``trace_workbench.train``. For training loops, use ``trace_workbench.train.train`` and ``evaluate``."""
