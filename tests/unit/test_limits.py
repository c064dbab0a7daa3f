"""The app's own deadlines (server/limits.py), on a bare ASGI app: body read ahead with a deadline, request deadline."""

import asyncio
import logging

import pytest
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from server.limits import DeadlineMiddleware

POST = {
    "type": "http",
    "method": "POST",
    "path": "/signin",
    "headers": [(b"content-length", b"10")],
    "query_string": b"",
}


class Exchange:
    """The messages a server would deliver, then nothing (or a disconnect); what the app sent back."""

    def __init__(self, *messages: Message, then_disconnect: bool = False) -> None:
        self.incoming = list(messages)
        self.then_disconnect = then_disconnect
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.incoming:
            return self.incoming.pop(0)
        if self.then_disconnect:
            return {"type": "http.disconnect"}
        await asyncio.Event().wait()  # a client that never sends the rest
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None

    def header(self, name: bytes) -> bytes | None:
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        return dict(start["headers"]).get(name)


async def echo_body(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_a_body_that_stops_arriving_gets_408_and_the_app_never_runs() -> None:
    """Half a body, then silence: 408 with Connection: close after the body deadline; the app was not called."""
    called = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        called.append(scope)

    exchange = Exchange({"type": "http.request", "body": b"user", "more_body": True})
    await DeadlineMiddleware(app, body_timeout=0.05, request_timeout=5)(POST, exchange.receive, exchange.send)
    assert exchange.status == 408
    assert exchange.header(b"connection") == b"close"
    assert called == []


async def test_the_body_read_ahead_reaches_the_app_whole_and_in_order() -> None:
    """A body in two parts arrives at the app as sent."""
    exchange = Exchange(
        {"type": "http.request", "body": b"user", "more_body": True},
        {"type": "http.request", "body": b"name=a", "more_body": False},
    )
    await DeadlineMiddleware(echo_body, body_timeout=1, request_timeout=5)(POST, exchange.receive, exchange.send)
    assert exchange.status == 200
    assert exchange.sent[-1]["body"] == b"username=a"


async def test_a_body_limit_error_while_reading_ahead_is_raised_to_the_app_where_it_reads() -> None:
    """The 413 of the body-size limit still comes from the app's own error handling."""

    async def too_large() -> Message:
        raise HTTPException(413)

    seen: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await receive()
        except HTTPException as exc:
            seen.append(exc.status_code)

    exchange = Exchange()
    await DeadlineMiddleware(app, body_timeout=1, request_timeout=5)(POST, too_large, exchange.send)
    assert seen == [413]


async def test_a_client_leaving_mid_body_is_one_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    """No answer, no app call, no exception: one DEBUG record."""
    exchange = Exchange({"type": "http.request", "body": b"user", "more_body": True}, then_disconnect=True)
    with caplog.at_level(logging.DEBUG, logger="mirox"):
        await DeadlineMiddleware(echo_body, body_timeout=1, request_timeout=5)(POST, exchange.receive, exchange.send)
    assert exchange.sent == []
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert caplog.records[0].exc_info is None


async def test_a_request_past_the_end_to_end_deadline_gets_503_with_retry_after() -> None:
    """An app that never answers: 503 with Retry-After once the request deadline passes."""

    async def stuck(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.Event().wait()

    exchange = Exchange({"type": "http.request", "body": b"username=a", "more_body": False})
    await DeadlineMiddleware(stuck, body_timeout=1, request_timeout=0.05)(POST, exchange.receive, exchange.send)
    assert exchange.status == 503
    assert exchange.header(b"retry-after") == b"30"
