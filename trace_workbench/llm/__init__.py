"""Talking to a model: ``LLM`` over the openai client, with retries, cache, replay and usage accounting.

Importing this package is cheap: ``openai`` is imported at the first call.
"""

from trace_workbench.llm.cache import ResponseCache
from trace_workbench.llm.client import LLM
from trace_workbench.llm.config import (
    DEFAULT_MODEL,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_CACHE,
    ENV_MODEL,
    ENV_RECORD,
    ENV_REPLAY,
    ENV_TIMEOUT,
    LLMConfig,
    prompt_api_key,
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
    LLMUnavailableError,
    ReplayMissError,
)
from trace_workbench.llm.program import ENV_PROGRAM_MODEL, program_llm, program_model, set_program_llm
from trace_workbench.llm.replay import Recorder, ReplayFile
from trace_workbench.llm.usage import PRICES, CallUsage, UsageMeter, UsageStep, UsageSummary

__all__ = [
    "DEFAULT_MODEL",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_CACHE",
    "ENV_MODEL",
    "ENV_PROGRAM_MODEL",
    "ENV_RECORD",
    "ENV_REPLAY",
    "ENV_TIMEOUT",
    "LLM",
    "PRICES",
    "CallUsage",
    "LLMAuthError",
    "LLMConfig",
    "LLMConfigError",
    "LLMConnectionError",
    "LLMError",
    "LLMRateLimitError",
    "LLMRequestError",
    "LLMResponseError",
    "LLMServerError",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "Recorder",
    "ReplayFile",
    "ReplayMissError",
    "ResponseCache",
    "UsageMeter",
    "UsageStep",
    "UsageSummary",
    "program_llm",
    "program_model",
    "prompt_api_key",
    "set_program_llm",
]
