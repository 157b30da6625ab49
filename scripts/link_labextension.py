"""Link the package's JupyterLab extension into this environment (what `jupyter labextension develop`
does), so that JupyterLab loads it after an editable install; a wheel install ships it in place."""

try:
    from jupyter_builder.federated_extensions import develop_labextension_py
except ImportError:  # JupyterLab before jupyter_builder has the same function itself
    from jupyterlab.federated_labextensions import develop_labextension_py

develop_labextension_py("trace_workbench", sys_prefix=True, overwrite=True)
