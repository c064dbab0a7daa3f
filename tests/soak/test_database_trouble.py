"""Database trouble under write load: a retry or a clear 503, never a 500, and no acknowledged write lost.

SQLite: a write lock held from outside for longer than the app's busy timeout (10 s),
and many concurrent writers with no lock at all. PostgreSQL: the app's connections
ended by ``pg_terminate_backend`` while writes are in flight. The outage itself (the
database unreachable, connections ended while idle) is covered by
tests/multiprocess/test_database_outage.py and tests/http/test_database_outage.py.
"""

import asyncio
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.servers import Server, browser, code_for, run_async, sql, step_now
from tests.soak.browsing import (
    EnableDialog,
    Unavailable,
    add_users,
    clear_503,
    code_step,
    expect,
    matches,
    open_enable_dialog,
    password_step,
    profile_token,
    shown_backup_code,
    token_hash,
    wrong_code,
)
from tests.soak.conftest import PG_URL_VARIABLE, Deployment, size

pytestmark = pytest.mark.soak

BUSY_TIMEOUT = 10.0
"""The app's SQLite busy timeout (server/store.py): how long a write waits for a lock before giving up."""


def user_row(deployment: Deployment, name: str) -> tuple[int, str | None]:
    """(id, backup code hash) of an account; the hash is None while 2FA is off."""
    rows = deployment.query(f"SELECT id, backup_code_hash FROM users WHERE username = '{name}'")
    return int(rows[0][0]), rows[0][1]  # type: ignore[arg-type, return-value]


def session_stored(deployment: Deployment, token: str) -> bool:
    """Whether the session of a cookie token is in the database."""
    return bool(deployment.query(f"SELECT id FROM sessions WHERE token_hash = '{token_hash(token)}'"))


def log_problems(server: Server) -> list[str]:
    """What must never be in a server's log: tracebacks, unhandled exceptions, locked-database errors."""
    log = server.output()
    return [s for s in ("Traceback", "Exception in ASGI application", "database is locked") if s in log]


# ---- a writer: sign in, Enable with Verify, sign out; every acknowledged write checked in the database ----


@dataclass
class Writer:
    """One person signing in and out and turning 2FA on (and off again with the backup code), over and over."""

    name: str
    client: httpx.AsyncClient
    backup: str | None = None
    """The backup code of the Enable that switched 2FA on (when it is on)."""
    dialog: EnableDialog | None = None
    rounds: int = 0
    unavailable: int = 0
    acknowledged: Counter[str] = field(default_factory=Counter)


async def write_round(writer: Writer, base: str, deployment: Deployment) -> None:
    """One round; each answer the browser gets is checked against the database at once."""
    client, name = writer.client, writer.name
    first = expect(await password_step(client, base, name), 303)
    if first.headers["location"].startswith("/signin/two-factor"):
        assert writer.backup, f"{name}: 2FA is on but no backup code is known"
        expect(await code_step(client, base, "/signin/backup-code", writer.backup), 303)
        assert user_row(deployment, name)[1] is None, f"{name}: backup-code sign-in answered 303, 2FA still on"
        writer.backup = None
        writer.acknowledged["backup sign-in"] += 1
    token = client.cookies.get("mirox_session")
    assert token and session_stored(deployment, token), f"{name}: signed in, but the session is not stored"
    writer.acknowledged["sign-in"] += 1

    csrf = await profile_token(client, base)
    writer.dialog = await open_enable_dialog(client, base, csrf)
    done = await client.post(
        base + writer.dialog.action,
        data={"csrf_token": writer.dialog.csrf, "code": code_for(writer.dialog.secret, step_now())},
    )
    expect(done, 303)
    assert matches(writer.dialog.backup, user_row(deployment, name)[1]), f"{name}: Enable answered 303, 2FA off"
    writer.backup, writer.dialog = writer.dialog.backup, None
    writer.acknowledged["enable"] += 1

    expect(await client.post(base + "/signout", data={"csrf_token": csrf}), 303)
    assert not session_stored(deployment, token), f"{name}: sign-out answered 303, the session is still there"
    writer.acknowledged["sign-out"] += 1
    writer.rounds += 1


async def write_rounds(writer: Writer, base: str, deployment: Deployment, until: Callable[[], bool]) -> None:
    """Rounds until ``until()``; after a 503 the writer learns from the database whether its Enable went through."""
    while not until():
        try:
            await write_round(writer, base, deployment)
        except Unavailable:
            writer.unavailable += 1
            stored = user_row(deployment, writer.name)[1]
            if writer.dialog is not None and matches(writer.dialog.backup, stored):
                writer.backup = writer.dialog.backup
            writer.dialog = None
            assert stored is None or matches(writer.backup, stored), f"{writer.name}: 2FA on with an unknown code"


def writer_browser(index: int) -> httpx.AsyncClient:
    """A browser behind the trusted local proxy, with an address of its own (as real clients have)."""
    return browser(headers={"X-Forwarded-For": f"10.0.0.{index + 1}"})


# ---- SQLite --------------------------------------------------------------------------------------


async def test_many_concurrent_writers_get_no_errors_and_no_locked_database(
    deployment: Deployment, figures: Callable[[str], None]
):
    """Concurrent sign-ins, Enables, backup-code sign-ins and sign-outs: zero 5xx, zero "database is locked"."""
    writers_count, rounds = size("MIROX_WRITERS", 8), size("MIROX_WRITER_ROUNDS", 6)
    names = [f"writer{i}" for i in range(writers_count)]
    add_users(deployment, names)
    server = deployment.start("writers")
    clients = [writer_browser(i) for i in range(len(names))]
    started = time.monotonic()
    try:
        writers = [Writer(n, c) for n, c in zip(names, clients, strict=True)]
        await asyncio.gather(
            *(write_rounds(w, server.url, deployment, lambda w=w: w.rounds >= rounds) for w in writers)
        )
    finally:
        for client in clients:
            await client.aclose()
    elapsed = time.monotonic() - started
    unavailable = sum(w.unavailable for w in writers)
    assert unavailable == 0, f"{unavailable} answers were 503 with nothing wrong with the database"
    assert log_problems(server) == []
    total = sum((w.acknowledged for w in writers), Counter())
    figures(
        f"concurrent writers ({deployment.backend}): {writers_count} browsers, {sum(total.values())} acknowledged"
        f" writes ({', '.join(f'{n} {k}' for k, n in sorted(total.items()))}) in {elapsed:.0f} s,"
        " 0 5xx, 0 'database is locked'"
    )


@dataclass
class Outcome:
    """One request fired while the lock was held, and the answer it got."""

    kind: str
    response: httpx.Response
    wave: str
    account: str
    """Which of the two accounts of each kind (0 early, 1 late)."""


async def test_sqlite_write_lock_held_past_busy_timeout_gives_clear_503_or_retry_and_keeps_every_answered_write(
    deployment: Deployment, figures: Callable[[str], None]
):
    """A writer outside the app holds the lock 13 s: early writes get a clear 503, late ones succeed after waiting."""
    if deployment.backend != "sqlite":
        pytest.skip("SQLite-only: PostgreSQL has no database-wide write lock")
    names = ["checker0", "checker1", "rotator0", "rotator1", "leaver0", "leaver1"]
    add_users(deployment, names)
    server = deployment.start("locked")
    base = server.url
    clients: dict[str, httpx.AsyncClient] = {}
    secrets: dict[str, str] = {}
    backups: dict[str, str] = {}
    tokens: dict[str, str] = {}
    csrfs: dict[str, str] = {}
    try:
        for name in names:
            for suffix in ("", "-again") if name.startswith("leaver") else ("",):
                client = clients[name + suffix] = browser()
                expect(await password_step(client, base, name), 303)
                tokens[name + suffix] = client.cookies["mirox_session"]
                csrfs[name + suffix] = await profile_token(client, base)
            if not name.startswith("leaver"):
                dialog = await open_enable_dialog(clients[name], base, csrfs[name])
                verify = {"csrf_token": dialog.csrf, "code": code_for(dialog.secret, step_now())}
                expect(await clients[name].post(base + dialog.action, data=verify), 303)
                secrets[name], backups[name] = dialog.secret, dialog.backup
        newcomers = {f"leaver{i}": browser() for i in range(2)}
        clients.update({f"newcomer{i}": c for i, c in enumerate(newcomers.values())})

        async def wave(index: int, wave_name: str, step: int) -> list[Outcome]:
            i = str(index)
            requests = {
                "Check 2FA (wrong code)": clients["checker" + i].post(
                    base + "/profile/2fa/check",
                    data={"csrf_token": csrfs["checker" + i], "code": wrong_code(secrets["checker" + i])},
                ),
                "New Backup Codes": clients["rotator" + i].post(
                    base + "/profile/2fa/backup-code",
                    data={"csrf_token": csrfs["rotator" + i], "code": code_for(secrets["rotator" + i], step)},
                ),
                "sign-out": clients["leaver" + i].post(base + "/signout", data={"csrf_token": csrfs["leaver" + i]}),
                "sign-in": password_step(newcomers["leaver" + i], base, "leaver" + i),
            }
            answers = await asyncio.gather(*requests.values())
            return [Outcome(k, r, wave_name, i) for k, r in zip(requests, answers, strict=True)]

        path = deployment.database_url.removeprefix("sqlite:///")
        lock = sqlite3.connect(path, isolation_level=None, timeout=30)
        hold = BUSY_TIMEOUT + 3
        try:
            lock.execute("BEGIN IMMEDIATE")
            locked_at = time.monotonic()
            early = asyncio.create_task(wave(0, "early", step_now() + 1))
            await asyncio.sleep(hold - BUSY_TIMEOUT / 2 - (time.monotonic() - locked_at))
            late = asyncio.create_task(wave(1, "late", step_now() + 1))
            await asyncio.sleep(hold - (time.monotonic() - locked_at))
        finally:
            lock.execute("COMMIT")
            lock.close()
        outcomes = await early + await late
    finally:
        for client in clients.values():
            await client.aclose()
    check_after_lock(deployment, outcomes, tokens, backups)
    assert [p for p in log_problems(server) if p != "database is locked"] == []
    early_503 = sum(clear_503(o.response) for o in outcomes if o.wave == "early")
    late_ok = sum(o.response.status_code < 500 for o in outcomes if o.wave == "late")
    assert early_503 >= 1, "no write waited past the busy timeout: the test did not hold the lock long enough"
    assert late_ok >= 1, "no write succeeded by waiting for the lock (SQLite's busy timeout retry)"
    figures(
        f"sqlite lock held {hold:.0f} s (busy timeout {BUSY_TIMEOUT:.0f} s): {len(outcomes)} writes,"
        f" {early_503 + sum(clear_503(o.response) for o in outcomes if o.wave == 'late')} clear 503,"
        f" {sum(o.response.status_code < 500 for o in outcomes)} succeeded after waiting, 0 500, 0 lost"
    )


def check_after_lock(
    deployment: Deployment, outcomes: list[Outcome], tokens: dict[str, str], backups: dict[str, str]
) -> None:
    """Each answer is a success or a clear 503; the database has every success and nothing of any 503."""
    expected = {"Check 2FA (wrong code)": 422, "New Backup Codes": 200, "sign-out": 303, "sign-in": 303}
    for outcome in outcomes:
        response, kind, i = outcome.response, outcome.kind, outcome.account
        ok = response.status_code == expected[kind]
        assert ok or clear_503(response), f"{kind} ({outcome.wave}): {response.status_code} {response.text[:300]}"
        if kind == "Check 2FA (wrong code)":
            user_id, _ = user_row(deployment, "checker" + i)
            rows = deployment.query(f"SELECT failures FROM throttle WHERE key = 'second-factor:user:{user_id}'")
            counted = int(rows[0][0]) if rows else 0  # type: ignore[call-overload]
            assert counted == (1 if ok else 0), f"Check 2FA answered {response.status_code}, counter {counted}"
        elif kind == "New Backup Codes":
            stored = user_row(deployment, "rotator" + i)[1]
            code = shown_backup_code(response.text) if ok else backups["rotator" + i]
            assert matches(code, stored), f"New Backup Codes answered {response.status_code}, stored: another code"
        elif kind == "sign-out":
            stored = session_stored(deployment, tokens["leaver" + i])
            assert stored != ok, f"sign-out answered {response.status_code}, session stored: {stored}"
        else:
            token = response.cookies.get("mirox_session")
            assert (token is not None and session_stored(deployment, token)) == ok, f"sign-in {response.status_code}"


# ---- PostgreSQL ------------------------------------------------------------------------------------


async def test_postgresql_connections_ended_during_writes_give_clear_503_then_recover_without_restart(
    deployment: Deployment, figures: Callable[[str], None]
):
    """pg_terminate_backend on the app's connections while writes are in flight: 2xx/3xx or a clear 503."""
    if deployment.backend != "postgresql":
        pytest.skip("PostgreSQL-only: SQLite has no connections to end")
    pg_url = os.environ[PG_URL_VARIABLE]
    writers_count, terminations = size("MIROX_WRITERS", 8), size("MIROX_PG_TERMINATIONS", 10)
    names = [f"writer{i}" for i in range(writers_count)]
    add_users(deployment, names)
    server = deployment.start("terminated")
    app_name = f"mirox-{server.process.pid}"
    clients = [writer_browser(i) for i in range(len(names))]
    ended = 0
    stop = asyncio.Event()
    try:
        writers = [Writer(n, c) for n, c in zip(names, clients, strict=True)]
        tasks = [asyncio.create_task(write_rounds(w, server.url, deployment, stop.is_set)) for w in writers]
        await asyncio.sleep(0.5)
        for _ in range(terminations):
            rows = await asyncio.to_thread(
                run_async,
                lambda: sql(
                    pg_url,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = $1 AND pid <> pg_backend_pid()",
                    app_name,
                ),
            )
            ended += len(rows)
            await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*tasks)
        during = Counter(w.unavailable for w in writers)
        # Recovery: each writer does two more rounds; a dead pooled connection may cost one 503 each, no more.
        for w in writers:
            w.unavailable = 0
        await asyncio.gather(
            *(write_rounds(w, server.url, deployment, lambda w=w, n=w.rounds + 2: w.rounds >= n) for w in writers)
        )
    finally:
        stop.set()
        for client in clients:
            await client.aclose()
    assert server.process.poll() is None, "the server process died"
    assert ended >= terminations, f"only {ended} connections ended"
    after = sum(w.unavailable for w in writers)
    assert after <= writers_count, f"{after} 503s after the storm: the pool did not recover"
    assert [p for p in log_problems(server) if p != "Traceback"] == []
    total = sum((w.acknowledged for w in writers), Counter())
    unavailable_during = sum(n * count for n, count in during.items())
    figures(
        f"postgresql connections ended during writes: {ended} backends terminated, {sum(total.values())}"
        f" acknowledged writes all in the database, {unavailable_during} clear 503 during the storm, 0 500,"
        f" recovered without restart ({after} 503 after)"
    )
