"""The door never jams: what anonymous TCP connections can do to a real ``run.py`` server, and its limits.

Each test reproduces one row of issue 12's table on loopback with bounded loops and
asserts the limit that answers it: slow bodies get 408 within the body deadline while
``GET /signin`` and the Security card answer normally; sockets that send nothing, or a
head too slowly, are closed within the head deadline; a header flood gets 431 with the
server's memory flat; the connection cap answers a clean 503; a client leaving mid-body
leaves no traceback in the log. Waiting for a deadline is a bounded wait on the socket.
"""

import asyncio
import contextlib
import time
from pathlib import Path

import pytest

from tests.availability.conftest import BODY_TIMEOUT, HEAD_TIMEOUT, KEEP_ALIVE_TIMEOUT, MARGIN
from tests.servers import Server, browser, sign_in
from tests.soak.conftest import Deployment

pytestmark = pytest.mark.availability

SLOW_BODY_HEAD = (
    b"POST /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n"
)
"""A form post announcing 1,000 bytes; ``Expect`` makes the server say when the app starts reading the body."""
PAGE_SECONDS = 2.0
"""How long a page may take while the attack is on (it takes milliseconds when idle)."""


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(server: Server, first: bytes = b"") -> Connection:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    if first:
        writer.write(first)
        await writer.drain()
    return reader, writer


async def slow_body(server: Server) -> Connection:
    """A POST whose body the app has started to read (its ``100 Continue`` came back), 9 bytes of 1,000 sent."""
    reader, writer = await connect(server, SLOW_BODY_HEAD)
    async with asyncio.timeout(MARGIN):
        interim = await reader.readuntil(b"\r\n\r\n")
    assert interim.startswith(b"HTTP/1.1 100 "), interim
    writer.write(b"username=")
    await writer.drain()
    return reader, writer


async def received_until_closed(reader: asyncio.StreamReader, into: list[bytes]) -> None:
    """Append what the server sends to ``into`` until it closes the connection (or resets it)."""
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            into.append(chunk)


async def closed_within(connection: Connection, seconds: float) -> bytes:
    """What the server sent before closing the connection; fails the test if it is still open after ``seconds``."""
    received: list[bytes] = []
    try:
        async with asyncio.timeout(seconds):
            await received_until_closed(connection[0], received)
    finally:
        connection[1].close()
    return b"".join(received)


def rss_kib(server: Server) -> int:
    """The resident memory of the server process (run.py with one worker serves in its own process)."""
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def log_problems(server: Server) -> list[str]:
    log = server.output()
    return [s for s in ("Traceback", "ClientDisconnect", "Exception in ASGI application") if s in log]


async def timed_get(client: object, url: str) -> tuple[int, float, str]:
    started = time.monotonic()
    response = await client.get(url)  # type: ignore[attr-defined]
    return response.status_code, time.monotonic() - started, response.text


@pytest.mark.parametrize("count", [10, 50])
async def test_slow_bodies_get_408_within_the_deadline_while_signin_and_the_security_card_answer(
    limited: Deployment, count: int
) -> None:
    """POSTs that never finish their body hold no database connection: pages answer; each gets 408 in time."""
    limited.add_user("alice")
    server = limited.start()
    async with browser() as person, browser() as visitor:
        assert (await sign_in(person, server.url, "alice")).status_code == 303
        started = time.monotonic()
        slow = await asyncio.gather(*(slow_body(server) for _ in range(count)))
        for client, path in ((visitor, "/signin"), (person, "/profile")) * 2:
            status, seconds, text = await timed_get(client, server.url + path)
            assert status == 200, (path, status, text[:300])
            assert seconds < PAGE_SECONDS, f"{path} took {seconds:.2f} s with {count} slow bodies open"
        assert 'id="security-card"' in text
        answers = await asyncio.gather(*(closed_within(c, BODY_TIMEOUT + MARGIN) for c in slow))
    assert time.monotonic() - started < BODY_TIMEOUT + MARGIN
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), {a[:40] for a in answers}
    assert not log_problems(server)


async def test_sockets_that_send_nothing_or_a_slow_head_are_closed_within_the_head_deadline(
    limited: Deployment,
) -> None:
    """20 silent sockets are closed without an answer; a head that never ends gets 408; the server stays up."""
    server = limited.start()
    started = time.monotonic()
    silent = [await connect(server) for _ in range(20)]
    slow_head = await connect(server, b"GET /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    answers = await asyncio.gather(*(closed_within(c, HEAD_TIMEOUT + MARGIN) for c in silent))
    assert answers == [b""] * len(silent)
    assert (await closed_within(slow_head, HEAD_TIMEOUT + MARGIN)).startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < HEAD_TIMEOUT + MARGIN
    async with browser() as person:
        assert (await person.get(server.url + "/signin")).status_code == 200


async def test_a_keep_alive_connection_left_idle_is_closed_within_the_keep_alive_timeout(limited: Deployment) -> None:
    """After a complete answer, a connection that sends nothing more is closed by the keep-alive timeout."""
    server = limited.start()
    reader, writer = await connect(server, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    async with asyncio.timeout(MARGIN):
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(2)  # "ok"
    assert head.startswith(b"HTTP/1.1 200 ")
    answered = time.monotonic()
    assert await closed_within((reader, writer), KEEP_ALIVE_TIMEOUT + MARGIN) == b""
    assert time.monotonic() - answered < KEEP_ALIVE_TIMEOUT + MARGIN


async def flood_headers(server: Server, most: int) -> bytes:
    """Send header lines (up to ``most`` bytes) until the server answers or closes; what it answered."""
    reader, writer = await connect(server, b"GET /signin HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    received: list[bytes] = []
    answer = asyncio.create_task(received_until_closed(reader, received))
    lines = (b"X-Flood: " + b"a" * 1000 + b"\r\n") * 64
    sent = 0
    with contextlib.suppress(ConnectionError):
        while sent < most and not answer.done():
            writer.write(lines)
            sent += len(lines)
            await writer.drain()
    async with asyncio.timeout(MARGIN):
        await answer
    writer.close()
    return b"".join(received)


async def test_header_floods_get_431_and_the_server_memory_stays_flat(limited: Deployment) -> None:
    """Three connections each offering 32 MiB of header lines: 431 after a few KiB, RSS growth under 10 MiB."""
    server = limited.start()
    async with browser() as person:
        assert (await person.get(server.url + "/signin")).status_code == 200
    before = rss_kib(server)
    answers = await asyncio.gather(*(flood_headers(server, 32 * 1024 * 1024) for _ in range(3)))
    growth = rss_kib(server) - before
    assert all(answer.startswith(b"HTTP/1.1 431 ") for answer in answers), [a[:40] for a in answers]
    assert growth < 10 * 1024, f"RSS grew {growth} KiB"
    async with browser() as person:
        assert (await person.get(server.url + "/signin")).status_code == 200


async def test_connections_over_the_cap_get_a_clean_503_and_service_resumes(deployment: Deployment) -> None:
    """With MIROX_MAX_CONNECTIONS=5 and five sockets open, a request gets 503; once they close, 200 again."""
    deployment.env.update(MIROX_MAX_CONNECTIONS="5", MIROX_HEAD_TIMEOUT="30")
    server = deployment.start()
    held = [await connect(server) for _ in range(5)]
    async with browser() as person:
        over = await person.get(server.url + "/signin")
        assert over.status_code == 503
        assert over.text == "Service Unavailable"
        for _, writer in held:
            writer.close()
        deadline = time.monotonic() + 10
        while (status := (await person.get(server.url + "/signin")).status_code) == 503:
            assert time.monotonic() < deadline, "still 503 after the sockets closed"
            await asyncio.sleep(0.05)
        assert status == 200


async def test_clients_leaving_mid_body_leave_no_traceback_in_the_log(limited: Deployment) -> None:
    """20 POSTs abandoned mid-body: at most a DEBUG line each (nothing at the default level), never a traceback."""
    server = limited.start()
    for _ in range(20):
        _, writer = await slow_body(server)
        writer.close()
        await writer.wait_closed()
    async with browser() as person:
        assert (await person.get(server.url + "/signin")).status_code == 200
    server.stop()
    assert not log_problems(server), server.output()
