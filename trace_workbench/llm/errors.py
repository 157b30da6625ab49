"""Errors raised by the LLM layer: one clear message a person can act on, and no secrets."""

from __future__ import annotations


class LLMError(Exception):
    """Base class of every error raised by trace_workbench.llm.

    ``attempts`` is how many HTTP requests were made (None when no request was sent),
    ``status_code`` the HTTP status of the last answer and ``server_message`` what the server said.
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: int | None = None,
        status_code: int | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts
        self.status_code = status_code
        self.server_message = server_message


class LLMConfigError(LLMError):
    """The LLM is not configured well enough to make a call (no model, no key, conflicting modes)."""


class LLMRequestError(LLMError):
    """The server rejected the request (400, 404, 422, ...): retrying the same request cannot help."""


class LLMAuthError(LLMRequestError):
    """The server rejected the credentials (401 or 403)."""


class LLMUnavailableError(LLMError):
    """The request failed in a way that may pass later (rate limit, server error, network), after retries."""


class LLMRateLimitError(LLMUnavailableError):
    """The server kept answering 429 (rate limited) until the retries ran out."""


class LLMServerError(LLMUnavailableError):
    """The server kept answering with a 5xx error until the retries ran out."""


class LLMConnectionError(LLMUnavailableError):
    """The connection failed or was dropped until the retries ran out."""


class LLMTimeoutError(LLMConnectionError):
    """The server did not answer within the timeout, on every attempt."""


class LLMResponseError(LLMError):
    """The server answered, but not with a usable Chat Completions response (malformed body, no choices)."""


class ReplayMissError(LLMError):
    """Replay mode found no recorded response for a request; names the file and the last user message."""

    def __init__(self, message: str, *, path: str, preview: str) -> None:
        super().__init__(message)
        self.path = path
        self.preview = preview
