"""``LLM``: Chat Completions over the ``openai`` client against any OpenAI-compatible endpoint.

Adds what Trace's optimizers and notebooks need around the SDK: configuration from arguments or the
environment, the SDK's own retries turned into one clear error, an opt-in response cache, record and
replay files, and usage accounting. ``openai`` is imported at the first call, not at import time.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from trace_workbench.llm.cache import ResponseCache
from trace_workbench.llm.config import (
    DEFAULT_CACHE_PATH,
    ENV_CACHE,
    ENV_RECORD,
    ENV_REPLAY,
    ENV_REPLAY_MISS,
    LLMConfig,
    Secret,
    redact_text,
    redact_url,
    resolve_path,
)
from trace_workbench.llm.errors import (
    LLMAuthError,
    LLMConfigError,
    LLMConnectionError,
    LLMError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
    ReplayMissError,
)
from trace_workbench.llm.keys import request_key, to_plain
from trace_workbench.llm.local import is_local
from trace_workbench.llm.replay import Recorder, ReplayFile, entry_for, response_for
from trace_workbench.llm.usage import CallUsage, UsageMeter

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletion

__all__ = ["LLM"]

Messages = Sequence[Mapping[str, Any]] | str

_TRANSPORT_OPTIONS = ("timeout", "extra_headers", "extra_query")
"""Per-call options that change how a request travels, not what it asks: not part of its key."""


class LLM:
    """A chat model behind an OpenAI-compatible endpoint; call it like Trace's ``LLM``.

    ``llm(messages=[...])`` (or ``llm.create(messages=...)``) returns the SDK's ``ChatCompletion``,
    so ``out.choices[0].message.content`` is the reply. Unset arguments come from the environment
    (OPENAI_API_KEY, OPENAI_BASE_URL, TRACE_WORKBENCH_MODEL, TRACE_WORKBENCH_TIMEOUT,
    TRACE_WORKBENCH_CACHE, TRACE_WORKBENCH_REPLAY, TRACE_WORKBENCH_RECORD); ``False`` turns a mode
    off despite the environment. ``replay_miss`` (or TRACE_WORKBENCH_REPLAY_MISS) names the model that
    answers a request the replay file does not hold, e.g. "local" (see llm.local). ``meter`` collects
    usage (give program and optimizer LLMs their own meters, with a shared ``UsageMeter(parent=...)``
    for the session). Extra keyword arguments
    (e.g. ``temperature=0``) are default request settings.
    Nothing is checked at construction: a missing model or key is reported at the first call.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        cache: bool | str | os.PathLike[str] | ResponseCache | None = None,
        replay: str | os.PathLike[str] | bool | None = None,
        record: str | os.PathLike[str] | bool | None = None,
        replay_miss: str | None = None,
        meter: UsageMeter | None = None,
        prices: Mapping[str, tuple[float, float]] | None = None,
        client_options: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        self._model = model
        self._base_url = base_url
        self._api_key = Secret(api_key) if api_key else None
        self._timeout = timeout
        self._max_retries = max_retries
        self.settings: dict[str, Any] = settings
        self.client_options: dict[str, Any] = dict(client_options or {})
        if isinstance(cache, ResponseCache):
            self.cache: ResponseCache | None = cache
        else:
            cache_path = resolve_path(cache, ENV_CACHE, DEFAULT_CACHE_PATH)
            self.cache = ResponseCache(cache_path) if cache_path else None
        replay_path = resolve_path(replay, ENV_REPLAY)
        record_path = resolve_path(record, ENV_RECORD)
        if replay_path and record_path:
            raise LLMConfigError(
                f"Replay ({replay_path}) and record ({record_path}) are both on; choose one: replay answers "
                f"only from the file, record calls the model. Unset {ENV_REPLAY} or {ENV_RECORD}."
            )
        self.replay = ReplayFile(replay_path) if replay_path else None
        self.recorder = Recorder(record_path) if record_path else None
        miss = replay_miss if replay_miss is not None else os.environ.get(ENV_REPLAY_MISS, "").strip()
        self.replay_miss: str | None = None if miss.lower() in ("", "0", "off", "false", "no") else miss
        self._miss_llm: LLM | None = None
        self.meter = meter if meter is not None else UsageMeter(model or "llm")
        self.meter.prices.update(prices or {})
        self._lock = threading.Lock()
        self._client: OpenAI | None = None
        self._client_config: LLMConfig | None = None

    # -------------------------------------------------------------- configuration
    def config(self) -> LLMConfig:
        """The connection settings now: arguments, else the environment (the key stays hidden)."""
        return LLMConfig.resolve(self._model, self._base_url, self._api_key, self._timeout, self._max_retries)

    @property
    def model(self) -> str | None:
        """The model requests go to, or None while none is configured."""
        return self.config().effective_model

    def _openai_client(self, config: LLMConfig) -> OpenAI:
        with self._lock:
            if self._client is None or self._client_config != config:
                import openai

                from trace_workbench.llm.deadline import deadline_client

                _, key = config.require()
                options = dict(self.client_options)
                if "http_client" not in options:  # the SDK's own client bounds each read, not the whole reply
                    options["http_client"] = deadline_client()
                self._client = openai.OpenAI(
                    api_key=key,
                    base_url=config.base_url,
                    timeout=config.timeout,
                    max_retries=config.max_retries,
                    **options,
                )
                self._client_config = config
            return self._client

    # ----------------------------------------------------------------------- calls
    def __call__(self, messages: Messages | None = None, **kwargs: Any) -> ChatCompletion:
        """Same as ``create``: ``llm(messages=[{"role": "user", "content": "Hi"}])``."""
        return self.create(messages=messages, **kwargs)

    def create(
        self,
        *,
        messages: Messages | None = None,
        model: str | None = None,
        cache: bool = True,
        **settings: Any,
    ) -> ChatCompletion:
        """Ask for a chat completion and return the SDK's ``ChatCompletion``.

        ``messages`` may be a plain string (one user message). ``cache=False`` skips the cache for
        this call (neither read nor written). Other keyword arguments go to the Chat Completions
        API (temperature, max_tokens, n, response_format, timeout, ...). Raises an ``LLMError``.
        """
        if messages is None:
            raise TypeError("LLM.create() needs messages=[{'role': 'user', 'content': '...'}]")
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        if settings.get("stream"):
            raise ValueError("stream=True is not supported: trace_workbench's LLM returns whole replies")
        _check_unicode(messages)
        transport = {name: settings.pop(name) for name in _TRANSPORT_OPTIONS if name in settings}
        settings = {**self.settings, **settings}
        config = self.config()
        started = time.perf_counter()

        if self.replay is not None:
            try:
                entry = self.replay.lookup(model or config.model, messages, settings)
            except ReplayMissError:
                if self.replay_miss is None:
                    raise
                return self._unrecorded().create(messages=messages, cache=cache, **settings, **transport)
            return self._finish(entry["model"], response_for(entry), time.perf_counter() - started, "replay")

        model = model or config.require()[0]
        if is_local(model):
            settings = {"temperature": 0, **settings}
        use_cache = self.cache is not None and cache
        key = request_key(model, messages, settings) if use_cache or self.recorder else ""
        if use_cache:
            hit = self.cache.get(key)
            if hit is not None:
                self._record(key, model, messages, settings, hit)
                return self._finish(model, hit, time.perf_counter() - started, "cache")

        data, latency = self._request(config, model, list(messages), settings, transport)
        if use_cache:
            self.cache.put(key, model, to_plain({"messages": messages, "settings": settings}), data)
        self._record(key, model, messages, settings, data)
        return self._finish(model, data, latency, "local" if is_local(model) else "api")

    def _unrecorded(self) -> LLM:
        """The LLM (of model `replay_miss`, same meter and cache) that answers what the replay file does not hold."""
        with self._lock:
            if self._miss_llm is None:
                cache = self.cache if self.cache is not None else False
                self._miss_llm = LLM(self.replay_miss, replay=False, record=False, cache=cache, meter=self.meter,
                                     timeout=self._timeout, max_retries=self._max_retries)
            return self._miss_llm

    def _record(self, key: str, model: str, messages: Any, settings: dict, data: dict) -> None:
        """Append the response to the record file, when recording (cache hits too, so replay is complete)."""
        if self.recorder is not None:
            self.recorder.append(entry_for(key, model, messages, settings, data))

    def _finish(self, model: str, data: dict[str, Any], latency: float, source: str) -> ChatCompletion:
        from openai.types.chat import ChatCompletion

        usage = data.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        if source != "api":
            cost: float | None = 0.0
        elif not usage:
            cost = None
        else:
            cost = self.meter.cost(model, prompt_tokens, completion_tokens)
            if cost is None and data.get("model") and data["model"] != model:
                cost = self.meter.cost(data["model"], prompt_tokens, completion_tokens)
        self.meter.record(
            CallUsage(
                model=model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                latency=latency,
                cost=cost,
                source=source,
            )
        )
        return ChatCompletion.construct(**data)

    def _request(
        self, config: LLMConfig, model: str, messages: list, settings: dict, transport: dict,
    ) -> tuple[dict[str, Any], float]:
        """The response JSON and the seconds it took (retries included), or an LLMError."""
        import openai
        from openai.types.chat import ChatCompletion

        if is_local(model):
            from trace_workbench.llm.local import endpoint

            config, model = endpoint(config, model)
        client = self._openai_client(config)
        where = f"model {model!r} at {redact_url(config.base_url) or 'api.openai.com'}"
        started = time.perf_counter()
        failure: LLMError | None = None
        try:
            response = client.chat.completions.create(model=model, messages=messages, **settings, **transport)
        except openai.APIError as err:
            failure = _translate(err, where, config)
        except json.JSONDecodeError as err:
            failure = LLMResponseError(
                f"The chat completion from {where} was not valid JSON ({err.msg} at character {err.pos}); "
                "the server or a proxy in between returned a broken body.",
                attempts=1,
            )
        if failure is not None:  # raised here, outside the handler: the SDK's error (unredacted) is not its context
            raise failure
        if not isinstance(response, ChatCompletion):
            preview = " ".join(str(response).split())[:200]
            raise LLMResponseError(
                f"The chat completion from {where} was not JSON: {preview!r}. Check that the base URL "
                "points at an OpenAI-compatible API (it usually ends in /v1).",
                attempts=1,
            )
        data = response.model_dump(mode="json", exclude_unset=True)
        if not isinstance(data.get("choices"), list) or not data["choices"]:
            raise LLMResponseError(
                f"The chat completion from {where} has no choices: {json.dumps(data)[:200]}",
                attempts=1,
            )
        return data, time.perf_counter() - started

    # ------------------------------------------------------------------ plumbing
    def __repr__(self) -> str:
        config = self.config()
        parts = [f"model={config.effective_model!r}"]
        if config.base_url:
            parts.append(f"base_url={redact_url(config.base_url)!r}")
        for name, mode in (("cache", self.cache), ("replay", self.replay), ("record", self.recorder)):
            if mode is not None:
                parts.append(f"{name}={str(mode.path)!r}")
        return f"LLM({', '.join(parts)})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_lock", "_client", "_client_config", "_miss_llm"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._client = None
        self._client_config = None
        self._miss_llm = None


def _check_unicode(messages: Messages) -> None:
    """Refuse messages holding a lone surrogate (invalid Unicode) with the place it is, before the SDK's
    bare UnicodeEncodeError: such text comes from a parameter, feedback or data and must be cleaned there."""
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            try:
                content.encode("utf-8")
            except UnicodeEncodeError as e:
                raise LLMRequestError(
                    f"Message {index} ({message.get('role')}) holds invalid Unicode (a lone surrogate "
                    f"{content[e.start]!r} at character {e.start}: {content[max(0, e.start - 30):e.start]!r}), "
                    "which cannot be sent; it came from a parameter, feedback or data: clean it there, e.g. "
                    "text.encode('utf-8', 'replace').decode()."
                ) from None


def _server_message(err: Any) -> str | None:
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        return str(message) if message is not None else json.dumps(body)[:500]
    if body:
        return str(body)[:500]
    return None


def _redact(text: str | None, config: LLMConfig) -> str | None:
    return redact_text(text, config.secrets())


def _retry_after_note(err: Any, attempts: int | None, config: LLMConfig) -> str:
    """What the server's Retry-After header asked for, and that the client did not wait that long ("" if none)."""
    response = getattr(err, "response", None)
    raw = response.headers.get("retry-after") if response is not None else None
    if not raw:
        return ""
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return f" The server asked to wait before trying again (Retry-After: {raw})."
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return f" The server asked to wait before trying again (Retry-After: {raw})."
    note = f" The server asked to wait {_duration(seconds)} before trying again (Retry-After: {raw})."
    if attempts == 1 and config.max_retries > 0:
        note += " That is longer than the client waits between retries, so it did not retry; try again after that."
    return note


def _duration(seconds: float) -> str:
    """Seconds as words a person reads at a glance: "45 s", "5 min", "1 h", "2 days"."""
    if seconds < 120:
        return f"{max(seconds, 0):g} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86400:.0f} days"


def _translate(err: Any, where: str, config: LLMConfig) -> LLMError:
    """One ``LLMError`` for an SDK exception: what failed, after how many attempts, what the server said."""
    import openai

    request = getattr(err, "request", None)
    retry_count = request.headers.get("x-stainless-retry-count") if request is not None else None
    attempts = int(retry_count) + 1 if retry_count and retry_count.isdigit() else None
    tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts else ""
    said = _redact(_server_message(err), config)
    server = f' Server said: "{said}".' if said else ""
    status = getattr(err, "status_code", None)
    details = {"attempts": attempts, "status_code": status, "server_message": said}
    waited = _retry_after_note(err, attempts, config)
    server += waited

    if isinstance(err, openai.APITimeoutError):
        return LLMTimeoutError(
            f"The chat completion from {where} timed out{tries} (timeout {config.timeout:g} s). Raise the "
            "timeout (LLM(timeout=...) or TRACE_WORKBENCH_TIMEOUT) or check that the server is up.",
            **details,
        )
    if isinstance(err, openai.APIConnectionError):
        return LLMConnectionError(
            f"Could not get a chat completion from {where}: the connection failed{tries}. Check the "
            "network and that the server is running at that address.",
            **details,
        )
    if isinstance(err, openai.RateLimitError):
        return LLMRateLimitError(
            f"The chat completion from {where} was rate limited (HTTP 429){tries}.{server}"
            + ("" if "did not retry" in waited else " Wait and retry, lower the request rate, or raise max_retries."),
            **details,
        )
    if isinstance(err, openai.APIStatusError) and status is not None and status >= 500:
        return LLMServerError(
            f"The server failed the chat completion for {where} (HTTP {status}){tries}.{server}",
            **details,
        )
    if isinstance(err, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return LLMAuthError(
            f"The server refused the credentials for {where} (HTTP {status}).{server} Check OPENAI_API_KEY "
            "(or LLM(api_key=...)) and that the key may use this model.",
            **details,
        )
    if isinstance(err, openai.APIStatusError):
        return LLMRequestError(
            f"The server rejected the chat completion request for {where} (HTTP {status}).{server}",
            **details,
        )
    return LLMResponseError(
        f"The chat completion from {where} could not be used: {_redact(str(err), config)}", **details,
    )
