"""uvicorn's httptools protocol with the two limits it lacks: a request-head size and a request-head deadline.

httptools buffers a request head of any size (120 MiB of header lines cost 123 MiB of
memory), and uvicorn waits for ever for a head that never completes, or for a first byte
on a fresh connection. Here every byte received while a head is incomplete counts
against ``MIROX_MAX_HEADER_BYTES`` (431 and close above it, so at most one read chunk
more is ever buffered), and a head must be complete within ``MIROX_HEAD_TIMEOUT`` seconds
of the connection opening or of the previous response ending (408, or a plain close when
nothing was sent at all). h11 has the size limit built in, at about twice the cost
per request on a bare endpoint (docs/security.md).
"""

import asyncio
import functools
import logging
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.settings import Settings

logger = logging.getLogger("mirox")

LINGER_SECONDS = 1.0
"""After refusing a head: how long to keep reading (and dropping) what the client still sends before closing.

Closing at once, with the client's bytes unread, makes the kernel reset the connection,
and a reset can destroy the answer before the client reads it.
"""


@functools.cache
def _limits() -> tuple[int, float]:
    """(head size limit, head deadline) of this process, from the same environment as the app's settings."""
    settings = Settings.from_env(os.environ)
    return settings.max_header_bytes, settings.head_timeout


def _plain_response(status: bytes, text: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
        b"content-length: " + str(len(text)).encode("ascii") + b"\r\n\r\n" + text
    )


class LimitedHttpProtocol(HttpToolsProtocol):
    """The default protocol of ``run.py``: httptools with a head size limit and a head deadline."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes, self.head_timeout = _limits()
        self._in_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._discarding = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.max_head_bytes and not self._refused():
            logger.info("%s sent a request head over %d bytes; answered 431", self._who(), self.max_head_bytes)
            self._close_with(_plain_response(b"431 Request Header Fields Too Large", b"Request header too large."))

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True  # what follows is the next request's head
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # idle now: no pipelined request was started
            self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._refused():
            return
        if self._head_bytes:
            logger.info("%s sent no complete request head within %.0f s; answered 408", self._who(), self.head_timeout)
            self._close_with(_plain_response(b"408 Request Timeout", b"Request head too slow."))
        else:
            logger.debug("%s sent nothing within %.0f s; closed", self._who(), self.head_timeout)
            self.transport.close()

    def _refused(self) -> bool:
        return self._discarding or self.transport.is_closing()

    def _close_with(self, response: bytes) -> None:
        """Answer, end our side, drop whatever still arrives for a moment, then close."""
        self._cancel_head_timer()
        self._discarding = True
        self.transport.write(response)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _who(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "unknown client"
