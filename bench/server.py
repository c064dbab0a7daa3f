"""The real server as a subprocess, started the production way: ``python run.py --port P --database-url URL``.

Only the database, its schema and the TOTP key are set; every other setting keeps its
production default (argon2id t=3, 64 MiB, p=4; 4 hashing threads; uvicorn picks uvloop and
httptools when they are installed).
"""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

REPO = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """Something went wrong that is not a missed target (the run fails)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def postgres_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1):
            return True
    except OSError:
        return False


def server_env(totp_keys: str, data_dir: Path, schema: str | None = None) -> dict[str, str]:
    """The environment of a server and its command line: no MIROX_* but the key, data dir and schema."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIROX_")}
    env.update(MIROX_TOTP_KEYS=totp_keys, MIROX_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    if schema:
        env["MIROX_DATABASE_SCHEMA"] = schema
    return env


def db_upgrade(url: str, env: dict[str, str]) -> None:
    """Create the schema exactly as the app does."""
    result = subprocess.run(
        [sys.executable, "run.py", "--database-url", url, "db", "upgrade"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise BenchError(f"run.py db upgrade failed:\n{result.stdout}{result.stderr}")


def create_schema(dsn: str, schema: str, drop: bool = False) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            verb = f"DROP SCHEMA IF EXISTS {schema} CASCADE" if drop else f"CREATE SCHEMA {schema}"
            await connection.execute(verb)
        finally:
            await connection.close()

    asyncio.run(run())


@dataclass
class Server:
    """One running ``python run.py`` process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The server process and all of its descendants."""
        found = [self.process.pid]
        for pid in found:
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    found += [int(child) for child in task.read_text().split()]
        return found

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

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"server {self.name} exited with {self.process.returncode}:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.alive()
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(self.url + "/healthz", timeout=1) as response,
            ):
                if response.status == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"server {self.name} did not answer in {timeout} s:\n{self.output()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start(name: str, url: str, env: dict[str, str], log_dir: Path) -> Server:
    """``python run.py --port P --database-url URL``; returns once it answers /healthz."""
    port = free_port()
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "run.py", "--port", str(port), "--database-url", url],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name=name, port=port, process=process, log=log)
    server.wait_ready()
    return server
