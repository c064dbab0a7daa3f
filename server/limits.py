"""Deadlines the app enforces itself, whatever serves it: the body must arrive in time, the answer must too.

``DeadlineMiddleware`` reads the whole request body before anything else runs (so no
database connection, hashing slot or lock is ever held while a slow client trickles its
body in), with a deadline: past it the client gets 408 and the connection is closed. Then
the app runs under a deadline for the whole request: past it, a 503 with ``Retry-After``
if nothing was sent yet. A client that goes away mid-body is one DEBUG line, not a traceback.
"""

import asyncio
import logging
import time

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.web import error_page

logger = logging.getLogger("mirox")


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "unknown client"


class _Replay:
    """The body messages read ahead, given to the app in order; then the server's ``receive`` again.

    An exception the server's ``receive`` raised while reading ahead (the body-size limit's 413)
    is raised to the app where it would have been, so its error page is the app's as before.
    """

    def __init__(self, messages: list[Message], error: Exception | None, receive: Receive) -> None:
        self._messages = messages
        self._error = error
        self._receive = receive

    async def __call__(self) -> Message:
        if self._messages:
            return self._messages.pop(0)
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return await self._receive()


class DeadlineMiddleware:
    """Read the body with a deadline, then run the app with a deadline for the whole request."""

    def __init__(self, app: ASGIApp, *, body_timeout: float, request_timeout: float) -> None:
        self.app = app
        self.body_timeout = body_timeout
        self.request_timeout = request_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        if _has_body(scope):
            read = await self._read_body(scope, receive, send)
            if read is None:
                return
            receive = read
        await self._run(scope, receive, send, started)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """The body as a replayable ``receive``; None when the request ended here (408 or gone)."""
        messages: list[Message] = []
        error: Exception | None = None
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        logger.debug("%s went away before sending the whole request body", _client(scope))
                        return None
                    messages.append(message)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            logger.info("%s sent no complete body within %.0f s; answered 408", _client(scope), self.body_timeout)
            response = error_page(Request(scope), 408, "error.request_timeout", headers={"Connection": "close"})
            await response(scope, receive, send)
            return None
        except Exception as exc:  # the body-size limit (413): raised to the app where it reads
            error = exc
        return _Replay(messages, error, receive)

    async def _run(self, scope: Scope, receive: Receive, send: Send, started: float) -> None:
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        deadline = asyncio.timeout(self.request_timeout - (time.monotonic() - started))
        try:
            async with deadline:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if not deadline.expired():
                raise
            logger.warning(
                "%s %s took longer than %.0f s; stopped", scope["method"], scope["path"], self.request_timeout
            )
            if not response_started:
                headers = {"Retry-After": "30", "Connection": "close"}
                response = error_page(Request(scope), 503, "error.deadline", headers=headers)
                await response(scope, receive, send)
