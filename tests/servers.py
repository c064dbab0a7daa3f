"""Real server processes (`python run.py`), PostgreSQL helpers, and a browser-like httpx client.

Everything here talks to the app the way an operator and a browser do: the command
line, environment variables, HTTP, cookies and forms. Nothing is imported from the
running servers.
"""

import asyncio
import concurrent.futures
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import httpx
import pyotp

from tests.utils import csrf_of, text_of

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
CHEAP_HASHING = {"MIROX_ARGON2_TIME_COST": "1", "MIROX_ARGON2_MEMORY_KIB": "8", "MIROX_ARGON2_PARALLELISM": "1"}
T = TypeVar("T")


# ---- PostgreSQL --------------------------------------------------------------------------


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, on its own thread (pytest-asyncio owns this one)."""

    async def runner() -> T:
        return await make()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, runner()).result()


def plain_dsn(url: str) -> str:
    """An asyncpg DSN for a test URL: no SQLAlchemy driver suffix, no pool options."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://"))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("min_size", "max_size")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def with_pool(url: str, min_size: int, max_size: int) -> str:
    """The URL with ``?min_size=&max_size=`` (the app's pool sizing), replacing any given."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("min_size", "max_size")]
    query += [("min_size", str(min_size)), ("max_size", str(max_size))]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def sql(url: str, statement: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        rows: list[asyncpg.Record] = await connection.fetch(statement, *args)
        return rows
    finally:
        await connection.close()


def new_schema(url: str) -> str:
    schema = "mp_" + secrets.token_hex(6)
    run_async(lambda: sql(url, f"CREATE SCHEMA {schema}"))
    return schema


def drop_schema(url: str, schema: str) -> None:
    run_async(lambda: sql(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


# ---- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def postgres_reachable(url: str) -> bool:
    """Whether something listens at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1):
            return True
    except OSError:
        return False


def app_env(
    schema: str | None, totp_keys: str, *, hashing: Mapping[str, str] = CHEAP_HASHING, **extra: str
) -> dict[str, str]:
    """The environment of every process of one deployment: same schema, same keys.

    No other ``MIROX_*`` variable passes through; ``hashing={}`` keeps the production argon2id cost.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIROX_")}
    env.update(hashing)
    env.update(MIROX_TOTP_KEYS=totp_keys, PYTHONUNBUFFERED="1")
    if schema:
        env["MIROX_DATABASE_SCHEMA"] = schema
    env.update(extra)
    return env


def run_cli(*args: str, env: Mapping[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``python run.py ARGS`` in the repository root; fails the test if it fails."""
    result = subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=REPO,
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"run.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@dataclass
class Server:
    """One ``python run.py`` server (a uvicorn process, or a supervisor and its workers)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> None:
        """Raises if the server process has exited."""
        if self.process.poll() is not None:
            raise AssertionError(f"server {self.name} exited with {self.process.returncode}:\n{self.output()}")

    def pids(self) -> list[int]:
        """The server process and all of its descendants."""
        return [self.process.pid, *descendants(self.process.pid)]

    def rss_mb(self) -> float:
        """Resident memory of the server's processes (VmRSS), in MiB."""
        total_kib = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total_kib += int(line.split()[1])
        return total_kib / 1024

    def stack(self) -> str:
        """Which event loop and HTTP parser the server loaded (read from /proc/PID/maps)."""
        maps = "".join(Path(f"/proc/{pid}/maps").read_text() for pid in self.pids())
        loop = "uvloop" if "/uvloop/" in maps else "asyncio"
        parser = "httptools" if "/httptools/" in maps else "h11"
        return f"uvicorn, {loop}, {parser}"

    def ready(self) -> bool:
        """True once it answers /healthz; raises if it died."""
        self.alive()
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"server {self.name} did not start in {timeout} s:\n{self.output()}")
            time.sleep(0.05)

    async def wait_ready_async(self, timeout: float = 30) -> None:
        """Like ``wait_ready`` without blocking the event loop (when the test loop serves something it needs)."""
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self.ready):
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"server {self.name} did not start in {timeout} s:\n{self.output()}")
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM to the server (uvicorn shuts down gracefully, a supervisor stops its workers first).

        Only the started process is signalled: signalling its whole group makes uvicorn's
        supervisor wait 5 s for workers that are already gone. Whatever is left of the
        group this test started (nothing, normally) is killed afterwards.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def start_server(name: str, args: list[str], env: Mapping[str, str], log_dir: Path, port: int | None = None) -> Server:
    """Start ``python run.py --port P ARGS`` in its own process group; call ``wait_ready`` next."""
    port = port or free_port()
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "run.py", "--port", str(port), *args],
            cwd=REPO,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name=name, port=port, process=process, log=log)


# ---- a browser ---------------------------------------------------------------------------


def browser(**kwargs: object) -> httpx.AsyncClient:
    """A browser whose requests may land on any server: one cookie jar for 127.0.0.1 (cookies ignore ports)."""
    return httpx.AsyncClient(follow_redirects=False, timeout=30, **kwargs)  # type: ignore[arg-type]


async def page_token(client: httpx.AsyncClient, url: str) -> str:
    """The CSRF token of a page, as a browser would submit it with the page's form."""
    response = await client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:500])
    return csrf_of(response.text)


async def submit(client: httpx.AsyncClient, page: str, action: str, data: Mapping[str, str]) -> httpx.Response:
    """Load ``page``, then post its form to ``action`` with the page's CSRF token."""
    return await client.post(action, data={"csrf_token": await page_token(client, page), **data})


async def click_enable(client: httpx.AsyncClient, base: str) -> httpx.Response:
    """Enable without JavaScript: the POST, then step 1's page it redirects to."""
    response = await submit(client, base + "/profile", base + "/profile/2fa/enable", {})
    if response.status_code == 303:
        return await client.get(base + response.headers["location"])
    return response


async def sign_in(client: httpx.AsyncClient, base: str, username: str, password: str = PASSWORD) -> httpx.Response:
    return await submit(client, base + "/signin", base + "/signin", {"username": username, "password": password})


def session_cookie(client: httpx.AsyncClient) -> str:
    value = client.cookies.get("mirox_session")
    assert value, "no mirox_session cookie"
    return value


def step_now() -> int:
    """The current 30-second TOTP time step."""
    return int(time.time() // 30)


def code_for(secret: str, step: int) -> str:
    """The code of one time step, computed by pyotp (the same algorithm as an authenticator app)."""
    return pyotp.TOTP(secret).generate_otp(step)


@dataclass(frozen=True)
class Enrolled:
    secret: str
    backup_code: str
    step: int
    """The time step whose code switched 2FA on (the server records it as used)."""


async def enable_two_factor(client: httpx.AsyncClient, base: str) -> Enrolled:
    """The Enable dialog without htmx: Enable, Next, Next, Verify and Enable with a pyotp code.

    The code is for the current step, taken just before it is sent: the server also
    accepts the previous step, so crossing a step boundary in between is harmless.
    """
    step1 = await click_enable(client, base)
    assert step1.status_code == 200, step1.text
    secret = text_of(step1.text, "manual-secret").replace(" ", "")
    backup_step = _next_url(step1.text, "backup")
    step2 = await client.get(base + backup_step)
    assert step2.status_code == 200, step2.text
    backup_code = text_of(step2.text, "backup-code")
    step3 = await client.get(base + _next_url(step2.text, "verify"))
    assert step3.status_code == 200, step3.text
    action = backup_step.rsplit("/", 1)[0]
    step = step_now()
    done = await client.post(base + action, data={"csrf_token": csrf_of(step3.text), "code": code_for(secret, step)})
    assert done.status_code == 303, done.text
    return Enrolled(secret=secret, backup_code=backup_code, step=step)


def _next_url(html: str, step: str) -> str:
    match = re.search(rf'action="(/profile/2fa/setup/[^"/]+/{step})"', html)
    assert match, f"no Next button to the {step} step"
    return match.group(1)


# ---- a TCP proxy that can cut the database off -----------------------------------------------


class DatabaseLink:
    """A TCP proxy between the app and PostgreSQL, on its own thread.

    ``cut()`` drops every open connection and refuses new ones (the database host
    is unreachable); ``restore()`` listens again on the same port.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self._thread.start()
        self.restore()

    def _call(self, make: Callable[[], Awaitable[None]]) -> None:
        async def runner() -> None:
            await make()

        asyncio.run_coroutine_threadsafe(runner(), self._loop).result(timeout=10)

    def restore(self) -> None:
        async def listen() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

        self._call(listen)

    def cut(self) -> None:
        async def drop() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self._call(drop)

    def close(self) -> None:
        self.cut()
        self._call(lambda: asyncio.sleep(0.1))  # let the proxy's tasks see their sockets closed
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.connections += 1
        self._writers.update((client_writer, upstream_writer))
        await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))
        self._writers.difference_update((client_writer, upstream_writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()


# ---- which worker process answered --------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Child processes, recursively (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found += [int(child), *descendants(int(child))]
    return found


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server-side socket of a TCP connection from ``client_port`` to ``server_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                return inode
    return None


def serving_process(server: Server, response: httpx.Response) -> int:
    """The pid of the worker that holds the connection ``response`` came over (kept alive by the client)."""
    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    inode = _socket_inode(server.port, client_port)
    assert inode, f"no server socket for client port {client_port}"
    for pid in descendants(server.process.pid):
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker of {server.name} holds the connection from port {client_port}")
