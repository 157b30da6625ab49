"""One deadline for a whole HTTP exchange: the SDK's timeout bounds each read, so a server that
trickles a byte at a time never times out. This httpx transport ends the exchange when the time is up.

Each attempt gets the request's timeout (the ``LLM(timeout=...)`` or per-call ``timeout``) for all of
its connect, send, headers and body; the SDK's retries each start a new deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

try:  # the openai SDK's HTTP library: httpx2 in current releases, httpx before
    import httpx2 as httpx
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx  # type: ignore[no-redef]

__all__ = ["DeadlineTransport", "deadline_client"]


class _DeadlineStream(httpx.SyncByteStream):
    """A response body that raises ReadTimeout once the exchange's deadline has passed."""

    def __init__(self, inner: Any, deadline: float, seconds: float, request: httpx.Request) -> None:
        self._inner = inner
        self._deadline = deadline
        self._seconds = seconds
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if time.monotonic() > self._deadline:
                raise httpx.ReadTimeout(f"the response took longer than {self._seconds:g} s in all",
                                        request=self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class DeadlineTransport(httpx.BaseTransport):
    """Wraps a transport so that each request, body included, ends by its timeout (the largest of its
    connect/read/write/pool timeouts), however slowly the server sends."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limits = [v for v in (request.extensions.get("timeout") or {}).values() if v is not None]
        if not limits:
            return self._inner.handle_request(request)
        seconds = max(limits)
        deadline = time.monotonic() + seconds
        response = self._inner.handle_request(request)
        if time.monotonic() > deadline:
            response.close()
            raise httpx.ReadTimeout(f"the response headers took longer than {seconds:g} s", request=request)
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=_DeadlineStream(response.stream, deadline, seconds, request),
                              extensions=response.extensions)

    def close(self) -> None:
        self._inner.close()


def deadline_client() -> httpx.Client:
    """An HTTP client with the openai SDK's defaults whose requests each end by their timeout."""
    import openai

    return openai.DefaultHttpxClient(transport=DeadlineTransport(httpx.HTTPTransport()))
