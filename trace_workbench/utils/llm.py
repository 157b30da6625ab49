"""Trace's LLM classes where Trace has them (``opto.utils.llm``), backed by ``trace_workbench.llm.LLM``.

A ported program keeps ``from trace_workbench.utils.llm import LLM`` (or ``LiteLLM``, ``AutoGenLLM``,
``CustomLLM``, ``AbstractModel``). Every class talks to an OpenAI-compatible endpoint through the
``openai`` client, with trace_workbench's retries, cache, replay and usage accounting; neither
litellm nor autogen is needed. Calls return the SDK's ``ChatCompletion``, as Trace's do.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from trace_workbench.llm import DEFAULT_MODEL, LLM, LLMConfigError

__all__ = ["LLM", "AbstractModel", "AutoGenLLM", "CustomLLM", "LiteLLM", "auto_construct_oai_config_list_from_env"]

ENV_LITELLM_MODEL = "TRACE_LITELLM_MODEL"
ENV_CONFIG_LIST = "OAI_CONFIG_LIST"


class AbstractModel:
    """Trace's model wrapper: ``factory()`` builds a callable model, rebuilt every ``reset_freq`` seconds.

    Calling the wrapper calls the model. Pickling drops the model and the copy builds a new one. Wrap
    your own client this way, or use the classes below (trace_workbench LLMs, with ``reset_freq`` too).
    """

    def __init__(self, factory: Callable[[], Any], reset_freq: int | None = None) -> None:
        self.factory = factory
        self._model = factory()
        self.reset_freq = reset_freq
        self._init_time = time.time()

    @property
    def model(self) -> Any:
        """The callable that answers; subclasses may override it, as in Trace."""
        return self._model

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.reset_freq is not None and time.time() - self._init_time > self.reset_freq:
            self._model = self.factory()
            self._init_time = time.time()
        return self.model(*args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._model = self.factory()



class _Refreshing(LLM):
    """An LLM whose HTTP client is rebuilt every ``reset_freq`` seconds (Trace's reset_freq)."""

    def __init__(self, model: str | None = None, reset_freq: int | None = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.reset_freq = reset_freq
        self._init_time = time.time()

    def create(self, **kwargs: Any) -> Any:
        if self.reset_freq is not None and time.time() - self._init_time > self.reset_freq:
            with self._lock:
                self._client = None
            self._init_time = time.time()
        return super().create(**kwargs)

    @property
    def model_name(self) -> str | None:
        """The model requests go to (Trace's attribute name)."""
        return self.model


class LiteLLM(_Refreshing):
    """Trace's default LLM class: the model is ``model``, else TRACE_LITELLM_MODEL, else (with Trace's
    warning) DEFAULT_LITELLM_MODEL or gpt-4o. The endpoint and key come from OPENAI_BASE_URL and
    OPENAI_API_KEY (or ``base_url=``/``api_key=``); provider prefixes such as ``anthropic/`` are not
    routed: point OPENAI_BASE_URL at a LiteLLM proxy for those. ``cache`` is accepted for Trace's
    signature; trace_workbench's on-disk cache is set with TRACE_WORKBENCH_CACHE or ``llm_cache=``.
    """

    def __init__(self, model: str | None = None, reset_freq: int | None = None, cache: bool = True,
                 llm_cache: Any = None, **kwargs: Any) -> None:
        if model is None:
            model = os.environ.get(ENV_LITELLM_MODEL) or os.environ.get("TRACE_WORKBENCH_MODEL")
        if model is None:
            warnings.warn(f"{ENV_LITELLM_MODEL} environment variable is not found when loading the default model "
                          "for LiteLLM. Attempt to load the default model from DEFAULT_LITELLM_MODEL environment "
                          f"variable (else {DEFAULT_MODEL!r}).", UserWarning, stacklevel=2)
            model = os.environ.get("DEFAULT_LITELLM_MODEL", DEFAULT_MODEL)
        super().__init__(model, reset_freq, cache=llm_cache, **kwargs)


class CustomLLM(_Refreshing):
    """Trace's class for an OpenAI-compatible server set by TRACE_CUSTOMLLM_MODEL, TRACE_CUSTOMLLM_URL and
    TRACE_CUSTOMLLM_API_KEY (each falls back to trace_workbench's usual settings when unset)."""

    def __init__(self, model: str | None = None, reset_freq: int | None = None, cache: bool = True,
                 **kwargs: Any) -> None:
        kwargs.setdefault("base_url", os.environ.get("TRACE_CUSTOMLLM_URL"))
        kwargs.setdefault("api_key", os.environ.get("TRACE_CUSTOMLLM_API_KEY"))
        super().__init__(model or os.environ.get("TRACE_CUSTOMLLM_MODEL"), reset_freq, **kwargs)


class AutoGenLLM(_Refreshing):
    """Trace's AutoGen-configured LLM, without autogen: the first entry of an OAI_CONFIG_LIST that passes
    ``filter_dict`` gives the model, ``base_url`` and ``api_key``.

    ``config_list`` defaults to the OAI_CONFIG_LIST environment variable (JSON, or a file name) or a
    file of that name in the working directory, and else to what the environment says (as Trace's
    ``auto_construct_oai_config_list_from_env``). ``filter_dict`` keeps entries whose values for each
    key are in the given list, as ``autogen.filter_config`` does.
    """

    def __init__(self, config_list: Sequence[Mapping[str, Any]] | None = None,
                 filter_dict: Mapping[str, Sequence[Any]] | None = None, reset_freq: int | None = None,
                 **kwargs: Any) -> None:
        if config_list is not None:
            configs = [dict(c) for c in config_list]
        else:
            configs = _config_list_from_json(ENV_CONFIG_LIST) or auto_construct_oai_config_list_from_env()
        if filter_dict:
            configs = [c for c in configs if all(c.get(k) in values for k, values in filter_dict.items())]
            if not configs:
                raise LLMConfigError(f"No entry of the config list passes filter_dict={dict(filter_dict)}.")
        self.config_list = configs
        first = configs[0] if configs else {}
        for key in ("base_url", "api_key"):
            if first.get(key):
                kwargs.setdefault(key, first[key])
        super().__init__(first.get("model"), reset_freq, **kwargs)


def _config_list_from_json(name: str) -> list[dict[str, Any]]:
    """An OAI_CONFIG_LIST from the environment variable `name` (JSON text or a file name) or a file `name`."""
    raw = os.environ.get(name, "").strip()
    path = Path(raw) if raw and not raw.startswith("[") else Path(name)
    if raw.startswith("["):
        text = raw
    elif path.is_file():
        text = path.read_text()
    else:
        return []
    try:
        configs = json.loads(text)
    except ValueError as e:
        raise LLMConfigError(f"{name} is not a JSON list of model configurations: {e}") from None
    if not isinstance(configs, list) or not all(isinstance(c, dict) for c in configs):
        raise LLMConfigError(f"{name} must be a JSON list of objects like {{\"model\": \"gpt-4o\"}}")
    return configs


def auto_construct_oai_config_list_from_env() -> list[dict[str, Any]]:
    """Trace's fallback config list: one entry for OpenAI (or OPENAI_BASE_URL) when a key or base URL is set."""
    entry: dict[str, Any] = {"model": os.environ.get("TRACE_WORKBENCH_MODEL") or DEFAULT_MODEL}
    for env, key in (("OPENAI_API_KEY", "api_key"), ("OPENAI_BASE_URL", "base_url")):
        if os.environ.get(env):
            entry[key] = os.environ[env]
    return [entry] if len(entry) > 1 else []
