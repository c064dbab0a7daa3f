"""Real-browser fixtures: the server in a subprocess on a free port, Debian's Chromium driven by Playwright.

One Chromium and one server (fresh SQLite file) serve the whole session; every test gets its own
browser context(s) and its own account, so tests never share cookies or TOTP state. The first-start
journey needs an empty database, so it asks for a server of its own (``fresh_server``).
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # Playwright is optional: without it the journeys skip (each module asks for it)
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHEAP_HASHING = {
    "MIROX_ARGON2_TIME_COST": "1",
    "MIROX_ARGON2_MEMORY_KIB": "8",
    "MIROX_ARGON2_PARALLELISM": "1",
}
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "correct horse battery"
START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment() -> dict[str, str]:
    """The caller's environment without any MIROX_* setting, plus cheap password hashing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIROX_")}
    return {**env, **CHEAP_HASHING}


@dataclass
class Server:
    """``python run.py`` in a subprocess, with what it printed on stderr."""

    url: str
    data_dir: Path
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    _names: Iterator[int] = field(default_factory=itertools.count)

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def setup_link(self) -> str:
        """The one-time first-start link the server printed (it prints it before it accepts requests)."""
        with self.changed:
            found = self.changed.wait_for(lambda: any("/setup?token=" in line for line in self.lines), 5)
        assert found, "no setup link on stderr:\n" + "\n".join(self.lines)
        line = next(line for line in self.lines if "/setup?token=" in line)
        return line[line.index("http://") :].strip()

    def add_user(self, password: str = PASSWORD) -> str:
        """Create an account the documented way: ``python run.py user add NAME``, password on stdin."""
        name = f"user{next(self._names)}"
        done = subprocess.run(
            [sys.executable, "run.py", "--data-dir", str(self.data_dir), "user", "add", name],
            cwd=REPO,
            env=_environment(),
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return name

    def admin(self, *args: str) -> str:
        """An administrator's ``python run.py ARGS`` on this server's data (group, policy, user …); its output."""
        done = subprocess.run(
            [sys.executable, "run.py", *args, "--data-dir", str(self.data_dir)],
            cwd=REPO,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(data_dir: Path, tries: int = 3, settings: dict[str, str] | None = None) -> Server:
    """Start ``python run.py`` on a free port (``settings``: extra ``MIROX_*`` variables) and wait until /healthz answers."""
    for attempt in range(1, tries + 1):
        server = _launch(data_dir, settings or {})
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.process.poll() is not None:
                break  # e.g. someone else took the port in the meantime: try another
            try:
                with urllib.request.urlopen(server.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return server
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("the server did not answer /healthz in time:\n" + "\n".join(server.lines))
            with server.changed:  # wake up on new output, or poll again shortly
                server.changed.wait(0.05)
        if attempt == tries:
            raise RuntimeError("the server stopped:\n" + "\n".join(server.lines))
    raise AssertionError("unreachable")


def _launch(data_dir: Path, settings: dict[str, str]) -> Server:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "run.py", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=REPO,
        env={**_environment(), **settings},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(url=f"http://127.0.0.1:{port}", data_dir=data_dir, process=process)
    threading.Thread(target=server._pump, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the session; each test creates its own account on it."""
    s = start_server(tmp_path_factory.mktemp("server"))
    yield s
    s.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server on an empty database, for the first-start journey."""
    s = start_server(tmp_path / "data")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


ContextFactory = Callable[..., "BrowserContext"]


@pytest.fixture
def new_context(browser: Browser, server: Server) -> Iterator[ContextFactory]:
    """Open browser contexts (separate cookie jars) for this test; all closed afterwards.

    ``js=False`` switches JavaScript off; otherwise the clipboard may be read and written.
    """
    contexts: list[BrowserContext] = []

    def make(*, js: bool = True, base_url: str | None = None, **options: object) -> BrowserContext:
        settings: dict[str, object] = {"viewport": DESKTOP, "base_url": base_url or server.url, "locale": "en-GB"}
        settings["java_script_enabled"] = js
        if js:
            settings["permissions"] = ["clipboard-read", "clipboard-write"]
        settings.update(options)
        context = browser.new_context(**settings)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def user(server: Server) -> str:
    """A fresh account (password ``PASSWORD``) on the session's server."""
    return server.add_user()


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def js(request: pytest.FixtureRequest) -> bool:
    """Run the journey twice: JavaScript on (htmx dialogs) and off (plain forms and pages)."""
    return request.param


@pytest.fixture
def page(new_context: ContextFactory, js: bool) -> Page:
    """A page in a fresh context of this test, JavaScript on or off."""
    return new_context(js=js).new_page()
