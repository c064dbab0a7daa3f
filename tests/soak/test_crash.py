"""kill -9 during 2FA changes: after every restart each account is whole, can still sign in, and no session is half-made.

Each cycle signs every account in (the lock-out check), starts one 2FA change per
account at once (Enable → Next → Next → Verify and Enable, Disable, New Backup Codes,
or a backup-code sign-in), kills the server's process group after a random delay,
restarts it and compares the database with what the browsers were told.
``MIROX_CRASH_KILLS`` sets the number of kills (50 by default, 200 for the full run);
``MIROX_CRASH_SEED`` replays a run (the seed is in every failure message).
"""

import asyncio
import contextlib
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.servers import Server, browser, code_for, start_server, step_now
from tests.soak.browsing import (
    EnableDialog,
    Unavailable,
    add_users,
    code_step,
    matches,
    open_enable_dialog,
    password_step,
    profile_token,
    shown_backup_code,
    token_hash,
)
from tests.soak.conftest import Deployment, size

pytestmark = pytest.mark.soak

ACCOUNTS = 8
ABSOLUTE_LIFETIME = 43200.0
"""The app's default MIROX_ABSOLUTE_LIFETIME: every session expires this long after it was created."""

ENABLE_DIALOG_BEFORE = 0.8
"""How often the Enable dialog's first three steps run before the kill phase (else within it)."""


@dataclass
class Account:
    """One person and their browser, with what the app has told them so far."""

    name: str
    client: httpx.AsyncClient
    secret: str | None = None
    backup: str | None = None
    """The backup code as last shown; None once it is unknown (a New Backup Codes answer lost in a crash)."""


@dataclass
class Attempt:
    """One 2FA change started before a kill, and what the browser saw of it."""

    kind: str
    account: Account
    new_backup: str | None = None
    """The code New Backup Codes showed, if its answer arrived."""
    acknowledged: bool = False
    session_token: str | None = None
    dialog: EnableDialog | None = None
    """The Enable dialog once its three steps were shown (an enable attempt)."""
    answered_at: float | None = None
    answer: int | None = None
    """The status of the change's last answer, if it arrived."""


@dataclass
class Row:
    """The two-factor columns of one account, read straight from the database."""

    user_id: int
    secret_sealed: str | None
    enabled_at: float | None
    last_step: int | None
    backup_hash: str | None

    @property
    def on(self) -> bool:
        return self.secret_sealed is not None

    def whole(self) -> bool:
        """Fully enabled (secret, backup code, activation date, a used step) or fully disabled."""
        values = (self.secret_sealed, self.enabled_at, self.last_step, self.backup_hash)
        return all(v is not None for v in values) or all(v is None for v in values)


def read_rows(deployment: Deployment) -> dict[str, Row]:
    rows = deployment.query(
        "SELECT username, id, totp_secret_sealed, totp_enabled_at, totp_last_step, backup_code_hash FROM users"
    )
    return {str(r[0]): Row(int(r[1]), r[2], r[3], r[4], r[5]) for r in rows}  # type: ignore[arg-type]


def backup_sessions(deployment: Deployment) -> dict[int, int]:
    """Sessions begun by a backup-code sign-in (they carry its one-time notice), per user."""
    rows = deployment.query("SELECT user_id, count(*) FROM sessions WHERE notice = 'card.backup_used' GROUP BY user_id")
    return {int(r[0]): int(r[1]) for r in rows}  # type: ignore[arg-type]


def free_steps(row: Row) -> list[int]:
    """Time steps whose code the app accepts now and has not seen yet (it accepts the next step too)."""
    now = step_now()
    return [s for s in (now, now + 1) if row.last_step is None or s > row.last_step]


# ---- the browser side ---------------------------------------------------------------------------


async def sign_in_check(account: Account, base: str, row: Row, plan: str) -> str | None:
    """Sign in as far as the plan allows; the csrf token of a new session, "" when left pending, or raise."""
    first = await password_step(account.client, base, account.name)
    assert first.status_code == 303, f"{account.name}: password refused ({first.status_code})"
    pending = first.headers["location"].startswith("/signin/two-factor")
    assert pending == row.on, f"{account.name}: 2FA is {'on' if row.on else 'off'} but the password step {first}"
    if not row.on:
        return await profile_token(account.client, base)
    if plan in ("backup", "deferred"):
        return ""
    assert account.secret is not None
    done = await code_step(account.client, base, "/signin/two-factor", code_for(account.secret, free_steps(row)[0]))
    assert done.status_code == 303, f"{account.name}: a fresh code was refused ({done.status_code})"
    return await profile_token(account.client, base)


async def change(attempt: Attempt, base: str, csrf: str, row: Row) -> None:
    """The part of the flow the kill may interrupt; records what the browser got back."""
    client, account = attempt.account.client, attempt.account
    if attempt.kind == "enable":
        if attempt.dialog is None:
            attempt.dialog = await open_enable_dialog(client, base, csrf)
        dialog = attempt.dialog
        code = code_for(dialog.secret, step_now())
        done = await client.post(base + dialog.action, data={"csrf_token": dialog.csrf, "code": code})
        attempt.acknowledged = done.status_code == 303
    elif attempt.kind in ("disable", "new-code"):
        assert account.secret is not None
        path = "/profile/2fa/disable" if attempt.kind == "disable" else "/profile/2fa/backup-code"
        code = code_for(account.secret, free_steps(row)[-1])
        done = await client.post(base + path, data={"csrf_token": csrf, "code": code})
        if attempt.kind == "disable":
            attempt.acknowledged = done.status_code == 303
        elif done.status_code == 200:
            attempt.new_backup = shown_backup_code(done.text)
            attempt.acknowledged = True
    else:
        assert account.backup is not None
        done = await code_step(client, base, "/signin/backup-code", account.backup)
        attempt.acknowledged = done.status_code == 303
        attempt.session_token = client.cookies.get("mirox_session") if attempt.acknowledged else None
    attempt.answered_at = time.monotonic()
    attempt.answer = done.status_code


async def guarded_change(attempt: Attempt, base: str, csrf: str, row: Row) -> None:
    """The change, cut off or not: the database decides what happened (a 503 is counted by the 5xx hook)."""
    with contextlib.suppress(httpx.TransportError, Unavailable):
        await change(attempt, base, csrf, row)


def plan_for(account: Account, row: Row, rng: random.Random) -> str:
    """What this account does in this cycle, given its state and the time steps it has left."""
    if not row.on:
        return "enable"
    choices = ["backup"] if matches(account.backup, row.backup_hash) else []
    if len(free_steps(row)) >= 2:
        choices += ["disable", "new-code"]
    if choices:
        return rng.choice(choices)
    return "check" if free_steps(row) else "deferred"


def kill_delay(rng: random.Random, typical: float) -> float:
    """Before the requests arrive, during them (the transactions), or after most answers.

    ``typical`` is how long the changes of recent cycles took to be answered.
    """
    pick = rng.random()
    if pick < 0.15:
        return rng.uniform(0, 0.002)
    if pick < 0.75:
        return rng.uniform(0, typical)
    return rng.uniform(typical, 2 * typical)


# ---- the database side --------------------------------------------------------------------------


def reconcile(attempt: Attempt, before: Row, after: Row, backups_before: int, backups_after: int) -> list[str]:
    """Update what the browser knows from the database, and list what contradicts an answer it got."""
    account, problems = attempt.account, []
    name, kind = account.name, attempt.kind
    if attempt.answer is not None and not attempt.acknowledged:
        problems.append(f"{name}: {kind} answered {attempt.answer} with the server up")
    if kind == "enable":
        if attempt.acknowledged and not after.on:
            problems.append(f"{name}: Verify and Enable answered 303 but 2FA is off")
        if after.on:
            if attempt.dialog is None:
                problems.append(f"{name}: 2FA turned on with a secret the browser never saw")
                return problems
            account.secret, account.backup = attempt.dialog.secret, attempt.dialog.backup
            if not matches(account.backup, after.backup_hash):
                problems.append(f"{name}: 2FA on with a backup code other than the one shown")
    elif kind == "disable":
        if attempt.acknowledged and after.on:
            problems.append(f"{name}: Disable answered 303 but 2FA is on")
        if not after.on:
            account.secret = account.backup = None
    elif kind == "new-code":
        if matches(attempt.new_backup, after.backup_hash):
            account.backup = attempt.new_backup
        elif attempt.acknowledged:
            problems.append(f"{name}: New Backup Codes showed a code that is not the stored one")
        elif not matches(account.backup, after.backup_hash):
            account.backup = None  # replaced, but the answer with the new code was lost
    elif kind == "backup":
        happened = not after.on
        if attempt.acknowledged and not happened:
            problems.append(f"{name}: backup-code sign-in answered 303 but 2FA is still on")
        if happened and backups_after != backups_before + 1:
            problems.append(f"{name}: backup code spent and 2FA off, but no session began ({backups_after})")
        if not happened and not matches(account.backup, after.backup_hash):
            problems.append(f"{name}: backup-code sign-in did not happen, yet the code no longer works")
        if happened:
            account.secret = account.backup = None
    if after.on and before.on and after.secret_sealed != before.secret_sealed:
        problems.append(f"{name}: the secret changed without Enable")
    return problems


def session_problems(deployment: Deployment, user_ids: set[int], tokens: list[str]) -> list[str]:
    """Every session row is complete; every session a browser was given is there."""
    rows = deployment.query(
        "SELECT id, user_id, token_hash, created_at, last_seen_at, authenticated_at, expires_at FROM sessions"
    )
    problems = []
    for sid, user_id, hashed, created, seen, authenticated, expires in rows:
        complete = (
            user_id in user_ids
            and isinstance(hashed, str)
            and len(hashed) == 64
            and created <= seen  # type: ignore[operator]
            and created <= authenticated  # type: ignore[operator]
            and abs(expires - created - ABSOLUTE_LIFETIME) < 1e-3  # type: ignore[operator]
        )
        if not complete:
            problems.append(f"half-made session row {sid}: {(user_id, hashed, created, seen, authenticated, expires)}")
    stored = {r[2] for r in rows}
    problems += [
        f"a session the browser was given is missing ({t[:6]}…)" for t in tokens if token_hash(t) not in stored
    ]
    return problems


def integrity_problems(deployment: Deployment) -> list[str]:
    if deployment.backend != "sqlite":
        return []
    result = deployment.query("PRAGMA integrity_check")
    return [] if result == [("ok",)] else [f"integrity_check: {result}"]


# ---- the test -------------------------------------------------------------------------------------


@dataclass
class Tally:
    kills: int = 0
    restarts: int = 0
    changes: dict[str, int] = field(default_factory=dict)
    answered: int = 0
    unanswered_commits: int = 0
    """Changes the database kept although the kill came before the browser got its answer."""
    typical: float = 0.1
    """About how long the changes take to be answered: grows while kills come before every answer."""

    def learn(self, durations: list[float]) -> None:
        if durations:
            self.typical = 0.7 * self.typical + 0.3 * max(durations)
        else:
            self.typical = min(self.typical * 1.5, 3.0)


class Servers:
    """The server under test and a warm replacement, started ahead so a cycle does not wait for Python's start-up.

    The replacement serves nothing until the server under test has been killed; only then
    does it take over (SQLite connections are per request, so it holds the file open no more
    than a server started after the kill would).
    """

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.started = 0
        self.active = deployment.start(self._name())
        self.standby = self._spawn()

    def _name(self) -> str:
        self.started += 1
        return f"crash-{self.started}"

    def _spawn(self) -> Server:
        d = self.deployment
        server = start_server(self._name(), ["--database-url", d.database_url], d.env, d.log_dir)
        d.servers.append(server)
        return server

    async def kill_and_replace(self) -> None:
        """SIGKILL to the whole process group of the server under test; the replacement takes over."""
        os.killpg(self.active.process.pid, signal.SIGKILL)
        self.active.process.wait(timeout=10)
        await self.standby.wait_ready_async()
        self.active, self.standby = self.standby, self._spawn()


async def cycle(
    deployment: Deployment, servers: Servers, accounts: list[Account], rng: random.Random, tally: Tally
) -> list[str]:
    """Sign everyone in, start the changes, kill, restart, check: the problems found."""
    base = servers.active.url
    rows = read_rows(deployment)
    plans = {a.name: plan_for(a, rows[a.name], rng) for a in accounts}
    checks = await asyncio.gather(
        *(sign_in_check(a, base, rows[a.name], plans[a.name]) for a in accounts), return_exceptions=True
    )
    locked_out = [f"locked out: {c!r}" for c in checks if isinstance(c, BaseException)]
    if locked_out:
        return locked_out
    tokens = {a.name: c if isinstance(c, str) else "" for a, c in zip(accounts, checks, strict=True)}
    given = [t for a in accounts if (t := a.client.cookies.get("mirox_session"))]
    attempts = [Attempt(plans[a.name], a) for a in accounts if plans[a.name] not in ("check", "deferred")]
    for at in attempts:
        if at.kind == "enable" and rng.random() < ENABLE_DIALOG_BEFORE:
            at.dialog = await open_enable_dialog(at.account.client, base, tokens[at.account.name])
    backups_before = backup_sessions(deployment)
    started = time.monotonic()
    tasks = [
        asyncio.create_task(guarded_change(at, base, tokens[at.account.name], rows[at.account.name])) for at in attempts
    ]
    await asyncio.sleep(kill_delay(rng, tally.typical))
    await servers.kill_and_replace()
    tally.kills += 1
    tally.restarts += 1
    await asyncio.gather(*tasks)
    tally.learn([at.answered_at - started for at in attempts if at.answered_at is not None])

    after = read_rows(deployment)
    backups_after = backup_sessions(deployment)
    problems = [f"{name}: half enabled {row}" for name, row in after.items() if not row.whole()]
    for at in attempts:
        before, now = rows[at.account.name], after[at.account.name]
        tally.changes[at.kind] = tally.changes.get(at.kind, 0) + 1
        tally.answered += at.acknowledged
        changed = before.on != now.on or before.backup_hash != now.backup_hash
        tally.unanswered_commits += changed and not at.acknowledged
        problems += reconcile(at, before, now, backups_before.get(now.user_id, 0), backups_after.get(now.user_id, 0))
        if at.session_token:
            given.append(at.session_token)
    problems += session_problems(deployment, {r.user_id for r in after.values()}, given)
    problems += integrity_problems(deployment)
    problems += [f"{a.name}: 2FA on but the secret is unknown" for a in accounts if after[a.name].on and not a.secret]
    return problems


async def final_sign_in(account: Account, deployment: Deployment, base: str) -> None:
    """Every account signs in to the end: password, and a code of an unused step (waiting for one if needed)."""
    row = read_rows(deployment)[account.name]
    while row.on and not free_steps(row):
        await asyncio.sleep(1)
    token = await sign_in_check(account, base, row, "check")
    assert token, f"{account.name} could not finish signing in"


async def test_kill_9_during_two_factor_changes_leaves_every_account_whole_and_usable(
    deployment: Deployment, figures: Callable[[str], None]
):
    """SIGKILL at random points of enable, disable, new-code and backup sign-in: no half state, no lockout."""
    kills = size("MIROX_CRASH_KILLS", 50)
    seed = int(os.environ.get("MIROX_CRASH_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    names = [f"crash{i}" for i in range(ACCOUNTS)]
    add_users(deployment, names)
    servers = Servers(deployment)
    tally = Tally()
    started = time.monotonic()
    server_errors: list[str] = []

    async def record_5xx(response: httpx.Response) -> None:
        if response.status_code >= 500:
            server_errors.append(f"{response.request.method} {response.request.url.path}: {response.status_code}")

    clients = [browser(event_hooks={"response": [record_5xx]}) for _ in names]
    try:
        accounts = [Account(name, client) for name, client in zip(names, clients, strict=True)]
        while tally.kills < kills:
            problems = await cycle(deployment, servers, accounts, rng, tally)
            assert not problems, f"seed {seed} (MIROX_CRASH_SEED), kill {tally.kills}: {problems}"
            assert not server_errors, f"seed {seed}, kill {tally.kills}: {server_errors}"
        await asyncio.gather(*(final_sign_in(a, deployment, servers.active.url) for a in accounts))
    finally:
        for client in clients:
            await client.aclose()
    assert not server_errors, f"seed {seed}: {server_errors}"
    for server in deployment.servers:
        assert "Traceback" not in server.output(), server.output()
    changes = ", ".join(f"{n} {k}" for k, n in sorted(tally.changes.items()))
    figures(
        f"crash ({deployment.backend}): {tally.kills} kills during enable/disable/new-code/backup-sign-in,"
        f" {tally.restarts} restarts, 0 inconsistent accounts, 0 locked out"
        f" ({changes}; {tally.answered} answered before the kill, {tally.unanswered_commits} committed"
        f" but unanswered; {time.monotonic() - started:.0f} s; seed {seed})"
    )
