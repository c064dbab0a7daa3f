"""The load generator of tests/soak/test_load.py: accounts with 2FA, virtual users, one complete flow.

The server accepts a TOTP code for the previous, current or next 30-second step, and
each step at most once per account (``totp_last_step`` only moves forward), so an
account signs in at most once per step in the long run. ``AccountPool`` hands each
flow the account whose last step is oldest, with the step its code is for: the current
step, or the next one when the current one is spent; never the previous one, which a
step boundary during the flow would make too old. So no code is ever refused as a
replay. When every free account has spent the next step too, the virtual user waits
for an account to come back or for the next step (counted as a wait).
"""

import asyncio
import contextlib
import heapq
import math
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx

from server.flows import account as account_flow
from server.services import open_services
from server.settings import Settings
from tests.servers import PASSWORD, click_enable, code_for, sign_in, step_now
from tests.soak.conftest import Deployment
from tests.utils import csrf_of, enrollment_path, text_of

STEP_SECONDS = 30
SESSION_COOKIE = "mirox_session"
USERNAME = re.compile(r"<dt>Username</dt><dd>([^<]*)</dd>")
SESSION_ROW = re.compile(r'<li class="session( current)?">')


@dataclass
class Account:
    name: str
    secret: str
    last_step: int
    """The last time step this account's code was accepted for (the server's ``totp_last_step``)."""


class AccountPool:
    """Accounts ordered by their last used step; ``take`` gives one with a step the server will accept."""

    def __init__(self, accounts: list[Account]) -> None:
        self._heap = [(a.last_step, i, a) for i, a in enumerate(accounts)]
        heapq.heapify(self._heap)
        self._order = len(accounts)
        self._returned = asyncio.Condition()
        self.waits = 0

    async def take(self, deadline: float) -> tuple[Account, int] | None:
        """An account and the step of the code to use for it, or None when ``deadline`` (monotonic) passes first."""
        while (left := deadline - time.monotonic()) > 0:
            current = step_now()
            if self._heap and self._heap[0][0] <= current:
                _, _, account = heapq.heappop(self._heap)
                return account, max(account.last_step + 1, current)
            self.waits += 1
            next_step_in = (current + 1) * STEP_SECONDS - time.time() + 0.01
            async with self._returned:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._returned.wait(), min(next_step_in, left))
        return None

    async def give_back(self, account: Account, step: int) -> None:
        account.last_step = step
        self._order += 1
        heapq.heappush(self._heap, (step, self._order, account))
        async with self._returned:
            self._returned.notify()


@dataclass
class Recorder:
    """What the virtual users saw: latencies, status codes, failures."""

    flow_seconds: list[float] = field(default_factory=list)
    request_seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    sessions_started: int = 0
    crosswired: int = 0
    lost: int = 0
    failed_accounts: set[str] = field(default_factory=set)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def fail(self, account: Account, what: str, response: httpx.Response | None = None) -> None:
        detail = "" if response is None else f": {response.status_code} {response.text[:800]}"
        self.failed_accounts.add(account.name)
        self.failures.append(f"{account.name}: {what}{detail}")


def browser() -> httpx.AsyncClient:
    """An HTTP client that drops idle connections after 1 s, well before uvicorn closes them (5 s).

    Reusing a connection the server is closing at that moment fails with ``ReadError``
    (a browser would silently retry); virtual users pause while they wait for an account.
    """
    return httpx.AsyncClient(follow_redirects=False, timeout=60, limits=httpx.Limits(keepalive_expiry=1))


class FlowFailed(Exception):
    """A flow stopped at an unexpected answer (already recorded)."""


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def _request(
    client: httpx.AsyncClient,
    recorder: Recorder,
    account: Account,
    label: str,
    expected: int,
    method: str,
    url: str,
    **kwargs: object,
) -> httpx.Response:
    started = time.perf_counter()
    response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    recorder.request_seconds[label].append(time.perf_counter() - started)
    recorder.statuses[response.status_code] += 1
    if response.status_code != expected:
        recorder.fail(account, f"{label} answered {response.status_code}, expected {expected}", response)
        raise FlowFailed
    return response


async def run_flow(client: httpx.AsyncClient, base: str, account: Account, step: int, recorder: Recorder) -> None:
    """Sign in with the password and the code of ``step``, check the Profile page, sign out, check the cookie is dead."""
    started = time.perf_counter()
    client.cookies.clear()
    page = await _request(client, recorder, account, "GET /signin", 200, "GET", base + "/signin")
    form = {"csrf_token": csrf_of(page.text), "username": account.name, "password": PASSWORD}
    password = await _request(client, recorder, account, "POST /signin", 303, "POST", base + "/signin", data=form)
    if not password.headers["location"].startswith("/signin/two-factor"):
        recorder.fail(account, f"password step led to {password.headers['location']}")
        raise FlowFailed
    code_page = await _request(
        client, recorder, account, "GET /signin/two-factor", 200, "GET", base + password.headers["location"]
    )
    form = {"csrf_token": csrf_of(code_page.text), "code": code_for(account.secret, step)}
    try:
        done = await _request(
            client, recorder, account, "POST /signin/two-factor", 303, "POST", base + "/signin/two-factor", data=form
        )
    except FlowFailed:
        recorder.failures[-1] += f"\n(the code was for step {step}, the account's last step {account.last_step})"
        raise
    token = done.cookies.get(SESSION_COOKIE)
    if not token:
        recorder.fail(account, "the accepted code set no session cookie", done)
        raise FlowFailed
    recorder.sessions_started += 1
    await _request(client, recorder, account, "GET /", 200, "GET", base + done.headers["location"])
    profile = await _request(client, recorder, account, "GET /profile", 200, "GET", base + "/profile")
    shown = USERNAME.findall(profile.text)
    if shown != [account.name]:
        recorder.crosswired += 1
        recorder.fail(account, f"the Profile page shows the account {shown}")
    rows = SESSION_ROW.findall(profile.text)
    if rows != [" current"]:
        recorder.lost += 1
        recorder.fail(account, f"Managing Your Sessions lists {len(rows)} sessions, {rows.count(' current')} current")
    form = {"csrf_token": csrf_of(profile.text)}
    await _request(client, recorder, account, "POST /signout", 303, "POST", base + "/signout", data=form)
    client.cookies.clear()
    ended = await _request(
        client, recorder, account, "GET /profile (signed out)", 303, "GET", base + "/profile",
        headers={"Cookie": f"{SESSION_COOKIE}={token}"},
    )  # fmt: skip
    if not ended.headers["location"].startswith("/signin"):
        recorder.lost += 1
        recorder.fail(account, f"the signed-out session cookie still leads to {ended.headers['location']}")
    recorder.flow_seconds.append(time.perf_counter() - started)


async def virtual_user(base: str, pool: AccountPool, recorder: Recorder, deadline: float) -> None:
    """Complete flows one after another until ``deadline`` (monotonic), each with a fresh cookie jar."""
    async with browser() as client:
        while (taken := await pool.take(deadline)) is not None:
            account, step = taken
            try:
                await run_flow(client, base, account, step, recorder)
            except FlowFailed:
                continue  # the account's state is unknown now: it leaves the pool
            except httpx.HTTPError as exc:
                recorder.fail(account, f"transport error {exc!r}")
                continue
            await pool.give_back(account, step)


async def add_accounts(deployment: Deployment, names: list[str]) -> None:
    """Create the accounts with the function ``run.py user add`` runs, in one process (one CLI run each is ~1 s)."""
    settings = Settings.from_env(deployment.env, database_url=deployment.database_url)
    async with open_services(settings) as svc:
        for name in names:
            problem = await account_flow.add_user(svc, name, PASSWORD)
            assert problem is None, problem


async def enable_account(client: httpx.AsyncClient, base: str, name: str) -> Account:
    """Sign in, go through the Enable dialog (Enable, Next, Next, Verify and Enable), sign out.

    The code is for the previous step while the current one has 10 s or more to run, which
    the server accepts (clock drift), so the account can sign in twice before the next step.
    """
    signed_in = await sign_in(client, base, name)
    assert signed_in.status_code == 303, (name, signed_in.status_code, signed_in.text[:800])
    step1 = await click_enable(client, base)
    assert step1.status_code == 200, (name, step1.status_code, step1.text[:800])
    secret = text_of(step1.text, "manual-secret").replace(" ", "")
    dialog = enrollment_path(step1.text)
    backup = await client.get(base + dialog + "/backup")
    assert backup.status_code == 200 and text_of(backup.text, "backup-code"), (name, backup.text[:800])
    verify = await client.get(base + dialog + "/verify")
    assert verify.status_code == 200, (name, verify.status_code, verify.text[:800])
    now = time.time()
    step = int(now // STEP_SECONDS) - (1 if now % STEP_SECONDS < STEP_SECONDS - 10 else 0)
    done = await client.post(base + dialog, data={"csrf_token": csrf_of(verify.text), "code": code_for(secret, step)})
    assert done.status_code == 303, (name, done.status_code, done.text[:800])
    profile = await client.get(base + "/")
    out = await client.post(base + "/signout", data={"csrf_token": csrf_of(profile.text)})
    assert out.status_code == 303, (name, out.status_code, out.text[:800])
    return Account(name=name, secret=secret, last_step=step)


async def enable_accounts(base: str, names: list[str], concurrency: int) -> list[Account]:
    """Turn 2FA on for every account over HTTP, ``concurrency`` browsers at a time."""
    limit = asyncio.Semaphore(concurrency)

    async def enable(name: str) -> Account:
        async with limit, browser() as client:
            return await enable_account(client, base, name)

    return list(await asyncio.gather(*(enable(name) for name in names)))
