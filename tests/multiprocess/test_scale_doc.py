"""The README's "Running at scale", followed step by step: several workers on PostgreSQL, then a key rotation.

The commands are the document's (``python run.py keys new``, ``user add``,
``--workers N --database-url …``, ``keys rotate``); the test first checks that the
document still says them, so the two cannot drift apart. Only the hashing cost and
the schema (one per test run) differ from a real deployment.
"""

import re
from html import escape
from pathlib import Path

import httpx
import pytest

from server.messages import message
from tests.servers import (
    PASSWORD,
    REPO,
    Server,
    app_env,
    browser,
    click_enable,
    code_for,
    drop_schema,
    enable_two_factor,
    new_schema,
    page_token,
    run_cli,
    serving_process,
    session_cookie,
    sign_in,
    start_server,
    step_now,
    submit,
    with_pool,
)

pytestmark = pytest.mark.multiprocess

DOC = REPO / "README.md"


def shows(html: str, key: str) -> bool:
    return escape(message(key)) in html


def test_the_document_says_what_this_test_does():
    doc = DOC.read_text().split("## Running at scale", 1)[1].split("\n## ", 1)[0]
    for text in (
        "python run.py --workers 4 --database-url",
        "?min_size=2&max_size=10",
        "python run.py user add NAME",
        "python run.py keys new",
        'MIROX_TOTP_KEYS="NEW_KEY,OLD_KEY"',
        "Restart all processes.",
        "python run.py keys rotate",
        "Re-encrypted N secret(s) with the current key.",
        "Wait 10 minutes (`MIROX_ENROLLMENT_TTL`)",
        'MIROX_TOTP_KEYS="NEW_KEY"',
        "Sessions are not affected",
        "This form is no longer valid",
    ):
        assert text in doc, text


def new_key(env: dict[str, str]) -> str:
    key = run_cli("keys", "new", env=env).stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}=", key), key
    return key


def serve(env: dict[str, str], url: str, log_dir: Path, name: str, port: int | None = None) -> Server:
    """``python run.py --workers 2 --database-url URL``, as the document says (with 2 workers)."""
    server = start_server(name, ["--workers", "2", "--database-url", url], env, log_dir, port)
    server.wait_ready()
    return server


async def clients_on_two_workers(server: Server) -> tuple[httpx.AsyncClient, httpx.AsyncClient, int, int]:
    """Two browsers whose kept-alive connections are held by two different worker processes."""
    first = browser()
    response = await first.get(server.url + "/signin")
    first_pid = serving_process(server, response)
    for _ in range(60):
        other = browser()
        response = await other.get(server.url + "/signin")
        pid = serving_process(server, response)
        if pid != first_pid:
            return first, other, first_pid, pid
        await other.aclose()
    await first.aclose()
    raise AssertionError("every connection went to the same worker")


@pytest.fixture
def deployment(pg_url: str, tmp_path: Path):
    schema = new_schema(pg_url)
    try:
        yield schema
    finally:
        drop_schema(pg_url, schema)


async def test_running_at_scale_as_documented(pg_url: str, deployment: str, tmp_path: Path):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("telling the workers apart needs Linux /proc")
    url = with_pool(pg_url, 2, 10)
    env = app_env(deployment, "", MIROX_DATA_DIR=str(tmp_path / "data"))
    old_key = new_key(env)
    env.update(MIROX_TOTP_KEYS=old_key, MIROX_DATABASE_URL=url)
    for name in ("alice", "carol"):
        run_cli("user", "add", name, env=env, stdin=PASSWORD + "\n")

    server = serve(env, url, tmp_path, "workers")
    base = server.url
    watcher = browser()  # signed in throughout: key changes must not sign anyone out
    try:
        assert (await sign_in(watcher, base, "alice")).status_code == 303
        # Several processes: sign in through one worker, use the session through the other.
        on_x, on_y, pid_x, pid_y = await clients_on_two_workers(server)
        try:
            signed_in = await sign_in(on_x, base, "alice")
            assert signed_in.status_code == 303
            assert serving_process(server, signed_in) == pid_x
            on_y.cookies.set("mirox_session", session_cookie(on_x))
            profile = await on_y.get(base + "/profile")
            assert profile.status_code == 200 and "alice" in profile.text
            assert serving_process(server, profile) == pid_y
            enrolled = await enable_two_factor(on_y, base)

        finally:
            await on_x.aclose()
            await on_y.aclose()

        stale_token = await page_token(watcher, base + "/profile")

        carol = browser()
        assert (await sign_in(carol, base, "carol")).status_code == 303
        dialog = await click_enable(carol, base)
        assert dialog.status_code == 200
        carol_step = re.search(r'action="(/profile/2fa/setup/[^"/]+/backup)"', dialog.text)
        assert carol_step

        # Rotation, steps 1 to 3: a new key first, the old one after it, restart all processes.
        new = new_key(env)
        env["MIROX_TOTP_KEYS"] = f"{new},{old_key}"
        server.stop()
        server = serve(env, url, tmp_path, "rotated", server.port)

        assert (await watcher.get(base + "/profile")).status_code == 200, "sessions are not affected"
        refused = await watcher.post(base + "/profile/2fa/check", data={"csrf_token": stale_token, "code": "000000"})
        assert refused.status_code == 403 and shows(refused.text, "error.csrf")
        async with browser() as again:
            response = await sign_in(again, base, "alice")
            assert response.headers["location"].startswith("/signin/two-factor")
            response = await submit(
                again,
                base + "/signin/two-factor",
                base + "/signin/two-factor",
                {"code": code_for(enrolled.secret, enrolled.step + 1)},
            )
            assert response.status_code == 303, "the secret sealed with the old key still opens"
        assert (await carol.get(base + carol_step.group(1))).status_code == 200, "open Enable dialogs still work"

        # Step 4: re-encrypt with the current key; running it again changes nothing.
        assert run_cli("keys", "rotate", env=env).stdout.strip() == "Re-encrypted 1 secret(s) with the current key."
        assert run_cli("keys", "rotate", env=env).stdout.strip() == "Re-encrypted 0 secret(s) with the current key."

        # Step 6 (after the 15 minutes of step 5): the old key removed, all processes restarted.
        env["MIROX_TOTP_KEYS"] = new
        server.stop()
        server = serve(env, url, tmp_path, "new-key-only", server.port)

        checked = await submit(
            watcher, base + "/profile", base + "/profile/2fa/check", {"code": code_for(enrolled.secret, step_now())}
        )
        assert checked.status_code == 303, checked.text
        assert shows((await watcher.get(base + "/profile")).text, "card.check_ok"), (
            "the secret now opens with the new key"
        )
        expired = await carol.get(base + carol_step.group(1))
        assert expired.status_code == 404, "a dialog from before the rotation needs the old key: hence the 15 minutes"
        await carol.aclose()
    finally:
        await watcher.aclose()
        server.stop()
