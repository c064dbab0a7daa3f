"""Load: virtual users sign in with password and code, open their Profile and sign out, against a real server.

Sizes: ``MIROX_SOAK_USERS`` virtual users (default 8) for ``MIROX_SOAK_SECONDS`` (default 20)
over ``MIROX_SOAK_ACCOUNTS`` accounts with 2FA (default 12 per virtual user: an account
signs in at most once per 30-second TOTP step, see tests/soak/load.py). Full size:

    MIROX_SOAK_USERS=32 MIROX_SOAK_SECONDS=120 .venv/bin/pytest -m soak tests/soak/test_load.py
"""

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from tests.servers import step_now
from tests.soak.conftest import Deployment, size
from tests.soak.load import (
    Account,
    AccountPool,
    Recorder,
    add_accounts,
    enable_accounts,
    percentile,
    virtual_user,
)

pytestmark = pytest.mark.soak


def integrity_problems(deployment: Deployment, accounts: list[Account], recorder: Recorder) -> list[str]:
    """What is wrong with the database after the run, read directly (not through the app)."""
    problems: list[str] = []
    if deployment.backend == "sqlite":
        if (found := deployment.query("PRAGMA integrity_check")) != [("ok",)]:
            problems.append(f"PRAGMA integrity_check: {found}")
        if found := deployment.query("PRAGMA foreign_key_check"):
            problems.append(f"PRAGMA foreign_key_check: {found}")
    for table in ("sessions", "pending_signins", "enrollments"):
        if (rows := deployment.query(f"SELECT count(*) FROM {table}")[0][0]) != 0:
            problems.append(f"{rows} rows left in {table} after every flow signed out")
    signins = deployment.query("SELECT count(*) FROM security_events WHERE kind = 'signin'")[0][0]
    if signins != len(accounts) + recorder.sessions_started:
        problems.append(f"{signins} sign-in events for {len(accounts)} + {recorder.sessions_started} sessions started")
    if failures := deployment.query("SELECT coalesce(sum(failures), 0) FROM throttle")[0][0]:
        problems.append(f"{failures} failed attempts counted although every password and code was right")
    expected = {a.name: a.last_step for a in accounts if a.name not in recorder.failed_accounts}
    latest = step_now() + 1
    rows = deployment.query(
        "SELECT username, disabled_at, totp_secret_sealed, totp_enabled_at, backup_code_hash, totp_last_step FROM users"
    )
    if len(rows) != len(accounts):
        problems.append(f"{len(rows)} users in the database, {len(accounts)} created")
    for name, disabled_at, secret, enabled_at, backup_hash, last_step in rows:
        if disabled_at is not None or not secret or enabled_at is None or not backup_hash:
            problems.append(f"{name} is no longer enabled with secret, backup code and activation date")
        if not isinstance(last_step, int) or last_step > latest or last_step != expected.get(name, last_step):
            problems.append(f"{name}: totp_last_step {last_step}, expected {expected.get(name)} (now {latest - 1})")
    return problems


async def test_virtual_users_complete_two_factor_sign_ins_without_errors_or_crossed_sessions(
    deployment: Deployment, figures: Callable[[str], None]
):
    """N users sign in with a code, see their own Profile and sign out for T s: no 5xx, no lost session, a sound database."""
    users = size("MIROX_SOAK_USERS", 8)
    seconds = size("MIROX_SOAK_SECONDS", 20)
    names = [f"load{i:05d}" for i in range(size("MIROX_SOAK_ACCOUNTS", 12 * users))]
    await add_accounts(deployment, names)
    server = deployment.start()
    setup_started = time.monotonic()
    try:
        accounts = await enable_accounts(server.url, names, users)
    except httpx.HTTPError as exc:
        pytest.fail(
            f"enabling 2FA failed: {exc!r}; server exit code {server.process.poll()}\n{server.output()[-3000:]}"
        )
    setup = time.monotonic() - setup_started

    pool, recorder = AccountPool(accounts), Recorder()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(virtual_user(server.url, pool, recorder, deadline) for _ in range(users)))
    elapsed = time.monotonic() - started
    server.stop()

    problems = integrity_problems(deployment, accounts, recorder)
    log = server.output()
    problems += [f'the server log contains "{word}"' for word in ("Traceback", "ERROR") if word in log]
    flows = len(recorder.flow_seconds)
    per_flow = recorder.flow_seconds
    figures(
        f"load ({deployment.backend}): {users} users x {seconds} s: {flows} flows, {flows / elapsed:.1f} flows/s, "
        f"p50 {percentile(per_flow, 0.5) * 1000:.0f} ms, p99 {percentile(per_flow, 0.99) * 1000:.0f} ms per flow, "
        f"{recorder.server_errors} 5xx, {recorder.crosswired} cross-wired, {recorder.lost} lost, "
        f"{len(recorder.failures)} failed flows, integrity {'ok' if not problems else 'FAILED'} "
        f"({len(accounts)} accounts enabled in {setup:.0f} s, {pool.waits} waits for an account with a fresh TOTP step)"
    )
    figures(
        f"load ({deployment.backend}): per request p50/p99 ms: "
        + ", ".join(
            f"{label} {percentile(times, 0.5) * 1000:.0f}/{percentile(times, 0.99) * 1000:.0f}"
            for label, times in recorder.request_seconds.items()
        )
    )
    assert not recorder.failures, (
        f"{len(recorder.failures)} failed flows, the first ones:\n"
        + "\n".join(recorder.failures[:5])
        + "\n--- end of the server log ---\n"
        + log[-3000:]
    )
    assert recorder.server_errors == 0 and recorder.crosswired == 0 and recorder.lost == 0
    assert flows > 0, "no flow completed"
    assert not problems, "\n".join(problems[:20]) + "\n--- end of the server log ---\n" + log[-3000:]
