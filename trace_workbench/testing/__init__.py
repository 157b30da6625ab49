"""Test helpers for users' own tests and notebooks: a scripted OpenAI-compatible chat server.

No pytest dependency: ``with ChatServer(["hello"]) as server: ...`` works anywhere.
"""

from trace_workbench.testing.chat_server import ChatServer, Fault, RecordedRequest, count_tokens

__all__ = ["ChatServer", "Fault", "RecordedRequest", "count_tokens"]
