"""A scripted OpenAI-compatible Chat Completions server on 127.0.0.1, for tests and notebooks.

The server speaks real HTTP, so the real ``openai`` client (retries, timeouts, parsing) is
exercised end to end without a model. Replies come from a script; faults can be queued.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | dict[str, Any]
Responder = Callable[[dict[str, Any]], Reply]

__all__ = ["ChatServer", "Fault", "RecordedRequest", "count_tokens"]


def count_tokens(text: str | None) -> int:
    """Estimate a token count by splitting on whitespace (good enough for tests)."""
    return len(text.split()) if text else 0


def _message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return content if isinstance(content, str) else ""


def _last_user_text(messages: list[Any]) -> str:
    users = [m for m in messages if isinstance(m, Mapping) and m.get("role") == "user"]
    return _message_text(users[-1]) if users else ""


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the server received: method, path, headers and the parsed JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a completion request (empty for other requests)."""
        return self.body.get("messages", []) if isinstance(self.body, dict) else []

    @property
    def last_user_message(self) -> str:
        """The text of the last ``user`` message, or "" when there is none."""
        return _last_user_text(self.messages)


@dataclass(frozen=True)
class Fault:
    """A failure the server produces for one chat completion request instead of a reply.

    kind is one of "status" (an HTTP error), "slow" (a reply after ``delay`` seconds),
    "trickle" (a reply whose body is sent one byte every ``delay`` seconds),
    "malformed" (a 200 whose body is not valid JSON) and "drop" (close the socket unanswered).
    """

    kind: str
    status: int = 500
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in _FAULT_KINDS:
            raise ValueError(f"Fault kind must be one of {sorted(_FAULT_KINDS)}, not {self.kind!r}")


_FAULT_KINDS = frozenset({"status", "slow", "trickle", "malformed", "drop"})


class ChatServer:
    """A real HTTP server implementing ``POST /v1/chat/completions`` and ``GET /v1/models``.

    ``replies`` are consumed in order, one per choice; when they run out, ``responder`` (a callable
    of the parsed request body returning the reply text or a full response dict) answers. A dict
    reply is sent as the whole response body. Use as a context manager, or ``start()``/``stop()``.
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        responder: Responder | None = None,
        *,
        model: str = "test-model",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.model = model
        self.responder = responder
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque(replies)
        self._faults: deque[Fault] = deque()
        self._refused_formats: set[str] = set()
        self._refused_keywords: set[str] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> ChatServer:
        """Bind the socket and serve in a background daemon thread; returns self."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = ThreadingHTTPServer(self._address, _make_handler(self))
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="ChatServer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake slow replies and close the socket."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on (it must be started)."""
        if self._httpd is None:
            raise RuntimeError("ChatServer is not running; call start() or use it in a with block")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, e.g. ``http://127.0.0.1:54321/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def env(self) -> dict[str, str]:
        """Environment variables that point trace_workbench's LLM at this server."""
        return {"OPENAI_BASE_URL": self.base_url, "TRACE_WORKBENCH_MODEL": self.model}

    @property
    def completion_requests(self) -> list[RecordedRequest]:
        """The chat completion requests received so far (faulted ones included)."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # ------------------------------------------------------------------ scripting
    def add_replies(self, *replies: Reply) -> None:
        """Append replies to the script."""
        with self._lock:
            self._replies.extend(replies)

    def add_fault(self, fault: Fault, times: int = 1) -> None:
        """Queue a fault for the next ``times`` chat completion requests."""
        with self._lock:
            self._faults.extend([fault] * times)

    def rate_limit(
        self, retry_after: float = 0.0, times: int = 1, message: str = "Rate limit reached",
    ) -> None:
        """Answer the next request(s) with 429 and a ``Retry-After`` header (seconds)."""
        self.fail(429, message, times=times, headers={"Retry-After": f"{retry_after:g}"})

    def fail(
        self, status: int = 500, message: str = "Internal server error", *, times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next request(s) with an HTTP error and an OpenAI-style error body."""
        self.add_fault(Fault("status", status=status, message=message, headers=dict(headers or {})), times)

    def slow(self, delay: float, times: int = 1, content: str = "(slow reply)") -> None:
        """Answer the next request(s) with ``content`` only after ``delay`` seconds."""
        self.add_fault(Fault("slow", message=content, delay=delay), times)

    def trickle(self, interval: float, times: int = 1, content: str = "(trickled reply)") -> None:
        """Answer the next request(s) with ``content``, sending the body one byte every ``interval`` seconds."""
        self.add_fault(Fault("trickle", message=content, delay=interval), times)

    def malformed(self, times: int = 1) -> None:
        """Answer the next request(s) with status 200 and a body that is not valid JSON."""
        self.add_fault(Fault("malformed"), times)

    def drop(self, times: int = 1) -> None:
        """Close the connection of the next request(s) without sending any response."""
        self.add_fault(Fault("drop"), times)

    def refuse_response_format(self, *types: str, keywords: Iterable[str] = ()) -> None:
        """From now on, answer 400 to every request whose response_format is of one of `types`
        ("json_schema", "json_object"), or whose JSON schema uses one of `keywords` (e.g. "maxLength"),
        as a server without that feature does. The error message names response_format."""
        with self._lock:
            self._refused_formats.update(types)
            self._refused_keywords.update(keywords)

    # ------------------------------------------------------------------ answering
    def _refusal(self, body: Any) -> str | None:
        """Why the server refuses this request's response_format, or None."""
        shape = body.get("response_format") if isinstance(body, dict) else None
        if not isinstance(shape, dict):
            return None
        with self._lock:
            formats, keywords = set(self._refused_formats), set(self._refused_keywords)
        kind = shape.get("type")
        if kind in formats:
            return f"response_format type {kind!r} is not supported by this server"
        schema = json.dumps(shape.get("json_schema", {}).get("schema", {})) if kind == "json_schema" else ""
        used = sorted(k for k in keywords if f'"{k}"' in schema)
        if used:
            return f"Invalid schema for response_format: {used[0]!r} is not permitted"
        return None

    def _record(self, request: RecordedRequest, refused: bool = False) -> Fault | None:
        with self._lock:
            self.requests.append(request)
            if request.path.endswith("/chat/completions") and self._faults and not refused:
                return self._faults.popleft()
        return None

    def _next_reply(self, body: dict[str, Any]) -> Reply | None:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return self.responder(body) if self.responder is not None else None

    def _completion(self, body: dict[str, Any], contents: list[str]) -> dict[str, Any]:
        prompt_tokens = sum(count_tokens(_message_text(m)) for m in body.get("messages", []))
        completion_tokens = sum(count_tokens(c) for c in contents)
        return {
            "id": f"chatcmpl-test-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
                for i, content in enumerate(contents)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        contents: list[str] = []
        for _ in range(max(1, int(body.get("n") or 1))):
            reply = self._next_reply(body)
            if reply is None:
                preview = _last_user_text(body["messages"])[:80]
                message = f"ChatServer script exhausted: no reply left for the user message {preview!r}"
                return 500, _error_body(message, "server_error"), {"x-should-retry": "false"}
            if isinstance(reply, dict):
                return 200, reply, {}
            contents.append(str(reply))
        return 200, self._completion(body, contents), {}


def _error_body(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                429: "rate_limit_exceeded"}


def _make_handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "TraceWorkbenchChatServer/1"

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: tests and notebooks should not see access logs."""

        def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self._send_bytes(status, data, headers)

        def _send_bytes(self, status: int, data: bytes, headers: Mapping[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True  # the client gave up (e.g. it timed out)

        def _trickle(self, data: bytes, interval: float) -> None:
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    if server._stopping.wait(interval):
                        break
            except OSError:
                pass  # the client gave up (its deadline passed)
            self.close_connection = True

        def do_GET(self) -> None:
            server._record(RecordedRequest("GET", self.path, dict(self.headers.items()), None))
            if self.path.rstrip("/").endswith("/v1/models"):
                model = {"id": server.model, "object": "model", "created": 0, "owned_by": "trace_workbench"}
                self._send_json(200, {"object": "list", "data": [model]})
            else:
                self._send_json(404, _error_body(f"Unknown path {self.path}", "not_found_error"))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = raw.decode("utf-8", "replace")
            refusal = server._refusal(body)
            fault = server._record(RecordedRequest("POST", self.path, dict(self.headers.items()), body),
                                   refused=refusal is not None)
            if refusal is not None:
                self._send_json(400, _error_body(refusal, "invalid_request_error"))
                return
            if not self.path.rstrip("/").endswith("/v1/chat/completions"):
                self._send_json(404, _error_body(f"Unknown path {self.path}", "not_found_error"))
                return
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                self._send_json(400, _error_body("The request body must be JSON with a 'messages' list.",
                                                 "invalid_request_error"))
                return
            if fault is not None:
                self._apply(fault, body)
                return
            try:
                status, payload, headers = server._answer(body)
            except Exception as exc:  # a responder bug should reach the client, not kill the thread
                status, payload, headers = 500, _error_body(f"ChatServer responder failed: {exc!r}",
                                                            "server_error"), {"x-should-retry": "false"}
            self._send_json(status, payload, headers)

        def _apply(self, fault: Fault, body: dict[str, Any]) -> None:
            if fault.kind == "status":
                kind = _ERROR_TYPES.get(fault.status, "server_error")
                self._send_json(fault.status, _error_body(fault.message, kind), fault.headers)
            elif fault.kind == "slow":
                if not server._stopping.wait(fault.delay):
                    self._send_json(200, server._completion(body, [fault.message]))
            elif fault.kind == "trickle":
                self._trickle(json.dumps(server._completion(body, [fault.message])).encode(), fault.delay)
            elif fault.kind == "malformed":
                self._send_bytes(200, b'{"id": "chatcmpl-broken", "choices": [{"message": ')
            else:  # "drop"
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler
