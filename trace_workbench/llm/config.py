"""Where the LLM's settings come from: arguments first, then environment variables.

Resolution never fails; ``LLMConfig.require()`` raises one error that says exactly what to set,
at the first call that needs a server (so ``LLM()`` can be built and copied with nothing set).
"""

from __future__ import annotations

import getpass
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from trace_workbench.llm.errors import LLMConfigError

__all__ = [
    "DEFAULT_CACHE_PATH",
    "DEFAULT_MODEL",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_CACHE",
    "ENV_MODEL",
    "ENV_RECORD",
    "ENV_REPLAY",
    "ENV_REPLAY_MISS",
    "ENV_TIMEOUT",
    "LLMConfig",
    "Secret",
    "prompt_api_key",
    "redact_text",
    "redact_url",
    "resolve_path",
    "url_secrets",
]

ENV_API_KEY = "OPENAI_API_KEY"
ENV_BASE_URL = "OPENAI_BASE_URL"
ENV_MODEL = "TRACE_WORKBENCH_MODEL"
ENV_TIMEOUT = "TRACE_WORKBENCH_TIMEOUT"
ENV_CACHE = "TRACE_WORKBENCH_CACHE"
ENV_REPLAY = "TRACE_WORKBENCH_REPLAY"
ENV_RECORD = "TRACE_WORKBENCH_RECORD"
ENV_REPLAY_MISS = "TRACE_WORKBENCH_REPLAY_MISS"
"""The model that answers a request the replay file does not hold (e.g. "local"); unset: such a request fails."""

DEFAULT_MODEL = "gpt-4o"
"""The model requested when none is set, as in Trace (with a warning when a base URL is set)."""
DEFAULT_TIMEOUT = 180.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_CACHE_PATH = Path(".trace_workbench") / "llm_cache.sqlite3"
PLACEHOLDER_KEY = "not-needed"
"""Sent to a server given by base URL when no key is set: local servers (Ollama, vLLM) need none."""

_WARNED_DEFAULT_MODEL: set[str] = set()
"""Base URLs already warned about (once per process) for being asked for DEFAULT_MODEL."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class Secret:
    """A string that never shows itself: hidden in repr/str, and dropped (None) when pickled.

    ``copy.deepcopy`` keeps it, so copies of an LLM still work in the same process.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value itself; pass it only to the HTTP client."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_dropped_secret, ())


def _dropped_secret() -> None:
    return None


def redact_url(url: str | None) -> str | None:
    """The URL with its user-info and every query value shown as ``***``, safe to show in messages and reprs
    (``http://u:KEY@host/v1?api-key=KEY`` -> ``http://***@host/v1?api-key=***``)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if parts.username is not None or parts.password is not None:
        host = f"***@{host}"
    query = "&".join(f"{name}=***" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def url_secrets(url: str | None) -> list[str]:
    """The credentials a URL carries (user, password, query values), as written and decoded, for `redact_text`."""
    if not url:
        return []
    parts = urlsplit(url)
    found = [parts.username, parts.password, *(value for _, value in parse_qsl(parts.query))]
    return [form for value in found if value for form in {value, unquote(value), quote(value, safe="")}]


SHORT_SECRET = 8
"""Secrets shorter than this are redacted only where they stand as a whole token, so a short key
("a", "test") does not mangle the words of a message around it."""


def redact_text(text: str | None, secrets: Iterable[str]) -> str | None:
    """`text` with every secret shown as ``***``: long ones wherever they occur, short ones as whole tokens."""
    if not text:
        return text
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= SHORT_SECRET:
            text = text.replace(secret, "***")
        else:
            text = re.sub(rf"(?<![\w.~+/-]){re.escape(secret)}(?![\w.~+/-])", "***", text)
    return text


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


@dataclass(frozen=True)
class LLMConfig:
    """The connection settings of an LLM after merging arguments with the environment.

    ``model`` is only what was set (argument or TRACE_WORKBENCH_MODEL); ``effective_model`` adds
    the default model.
    """

    model: str | None = None
    base_url: str | None = None
    api_key: Secret | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    problem: str | None = None
    """A setting that could not be used (e.g. a timeout that is not a number); ``require()`` raises it."""

    def __repr__(self) -> str:
        return (f"LLMConfig(model={self.model!r}, base_url={redact_url(self.base_url)!r}, timeout={self.timeout!r}, "
                f"max_retries={self.max_retries!r}, problem={self.problem!r})")

    def secrets(self) -> list[str]:
        """Every credential of this configuration (the key, those in the base URL), for `redact_text`."""
        key = self.api_key.reveal() if self.api_key is not None else ""
        return [key, *url_secrets(self.base_url)] if key else url_secrets(self.base_url)

    @classmethod
    def resolve(
        cls,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | Secret | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> LLMConfig:
        """Merge arguments with the environment (OPENAI_API_KEY, OPENAI_BASE_URL,
        TRACE_WORKBENCH_MODEL, TRACE_WORKBENCH_TIMEOUT); arguments win."""
        env = os.environ if env is None else env
        if isinstance(api_key, str):
            api_key = Secret(api_key) if api_key else None
        if api_key is None and (env_key := _env(env, ENV_API_KEY)):
            api_key = Secret(env_key)
        problem = None
        if timeout is None:
            raw = _env(env, ENV_TIMEOUT)
            try:
                timeout = float(raw) if raw else DEFAULT_TIMEOUT
            except ValueError:
                timeout = DEFAULT_TIMEOUT
                problem = f"{ENV_TIMEOUT}={raw!r} is not a number of seconds; set it to e.g. 120 or unset it."
        return cls(
            model=model or _env(env, ENV_MODEL),
            base_url=base_url or _env(env, ENV_BASE_URL),
            api_key=api_key,
            timeout=timeout,
            max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
            problem=problem,
        )

    @property
    def effective_model(self) -> str | None:
        """The model to request: the one set, else DEFAULT_MODEL once a key or a base URL is set (as Trace)."""
        if self.model:
            return self.model
        if self.base_url is not None or self.api_key is not None:
            return DEFAULT_MODEL
        return None

    def require(self) -> tuple[str, str]:
        """The (model, key) to call with, or an LLMConfigError that says exactly what to set."""
        from trace_workbench.llm.local import is_local

        if self.problem:
            raise LLMConfigError(self.problem)
        if is_local(self.model):
            return self.model, PLACEHOLDER_KEY  # type: ignore[return-value]
        if self.base_url is None and self.api_key is None:
            raise LLMConfigError(
                "No LLM is configured. To use OpenAI, set the environment variable "
                f"{ENV_API_KEY} (and optionally {ENV_MODEL}, default {DEFAULT_MODEL!r}). For another "
                f"OpenAI-compatible server (Azure, vLLM, Ollama, llama.cpp), set {ENV_BASE_URL} "
                f"(e.g. http://localhost:11434/v1) and {ENV_MODEL}, plus {ENV_API_KEY} if it needs a key. "
                "Or pass LLM(model=..., base_url=..., api_key=...). For a tiny model on this machine (weak "
                f"proposals, no key): {ENV_MODEL}=local, after pip install 'trace-workbench[local]'."
            )
        model = self.effective_model or DEFAULT_MODEL
        if self.model is None and self.base_url is not None and self.base_url not in _WARNED_DEFAULT_MODEL:
            _WARNED_DEFAULT_MODEL.add(self.base_url)
            warnings.warn(
                f"No model is set for the server at {redact_url(self.base_url)}; asking it for {model!r}, as "
                f"Trace does. Set the environment variable {ENV_MODEL} (e.g. llama3.1) or pass LLM(model=...).",
                UserWarning, stacklevel=2)
        key = self.api_key.reveal() if self.api_key is not None else PLACEHOLDER_KEY
        return model, key

    def describe(self) -> str:
        """One line saying what is configured, without the key itself."""
        key = "set" if self.api_key else ("not needed" if self.base_url else "not set")
        text = (
            f"model={self.effective_model!r}, base_url={redact_url(self.base_url)!r}, api_key {key}, "
            f"timeout={self.timeout:g}s, max_retries={self.max_retries}"
        )
        return f"{text}; problem: {self.problem}" if self.problem else text


def resolve_path(
    value: bool | str | os.PathLike[str] | None, env_name: str, default: Path | None = None,
) -> Path | None:
    """A cache/replay/record path from an argument (False: off) or else the environment.

    True, or "1"/"true" in the environment, means ``default`` (only where there is one).
    """
    if value is None:
        raw = os.environ.get(env_name, "").strip()
        if raw.lower() in _FALSE:
            return None
        value = True if raw.lower() in _TRUE else raw
    if value is False:
        return None
    if value is True:
        if default is None:
            raise LLMConfigError(f"{env_name} needs a file path, e.g. {env_name}=llm_responses.jsonl")
        return default
    return Path(value).expanduser()


def prompt_api_key(prompt: str = "OpenAI API key (input hidden): ") -> bool:
    """Ask for the API key without echoing it and put it in OPENAI_API_KEY for this process.

    Returns True when a key was entered. The key never goes into a cell's text or a file.
    """
    value = getpass.getpass(prompt).strip()
    if value:
        os.environ[ENV_API_KEY] = value
    return bool(value)
