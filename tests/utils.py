"""Tiny helpers for HTTP-level and command-line tests."""

import asyncio
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from server import store
from server.auth import totp
from server.auth.admission import HashQueue, Ticket
from server.flows import account
from server.services import Services
from tests.peek import code_at

START = 1_800_000_000.0
BACKUP_DISPLAY = re.compile(r"(?<![\w-])[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}(?![\w-])")
"""A backup code as pages show it; not a run of letters inside a token (CSRF tokens use - too)."""
PASSWORD = "correct horse battery"


class FakeClock:
    """An injectable clock: Unix seconds that move only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]*)"', html) or re.search(
        r'name="csrf_token" value="([^"]*)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


async def csrf(client: httpx.AsyncClient, path: str = "/signin") -> str:
    """The CSRF token a page gives this browser."""
    response = await client.get(path)
    return csrf_of(response.text)


async def post(
    client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None, *, htmx: bool = False, page: str = ""
) -> httpx.Response:
    """Submit a form the way a browser does: with the CSRF token of a page it loaded first."""
    token = await csrf(client, page or ("/profile" if client.cookies.get("mirox_session") else "/signin"))
    headers = {"HX-Request": "true"} if htmx else {}
    return await client.post(path, data={"csrf_token": token, **(data or {})}, headers=headers)


async def add_user(svc: Services, name: str = "alice", password: str = PASSWORD) -> None:
    problem = await account.add_user(svc, name, password)
    assert problem is None, problem


async def sign_in(client: httpx.AsyncClient, name: str = "alice", password: str = PASSWORD) -> httpx.Response:
    token = await csrf(client, "/signin")
    return await client.post("/signin", data={"csrf_token": token, "username": name, "password": password})


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"no #{element_id} on the page"
    return match.group(1).strip()


@dataclass(frozen=True)
class Enrolled:
    secret: str
    backup_code: str


def enrollment_path(html: str) -> str:
    """``/profile/2fa/setup/<id>`` from a wizard step's Next button."""
    match = re.search(r'action="(/profile/2fa/setup/[^"/]+)/(?:backup|verify)"', html)
    assert match, "no Next button of the Enable dialog"
    return match.group(1)


async def signed_in_without_two_factor(client: httpx.AsyncClient, svc: Services) -> None:
    """alice exists (2FA off) and is signed in on ``client``."""
    await add_user(svc)
    response = await sign_in(client)
    assert response.status_code == 303, response.text


async def click_enable(client: httpx.AsyncClient) -> httpx.Response:
    """Click Enable without JavaScript: the POST redirects to step 1's page, which the browser opens."""
    response = await post(client, "/profile/2fa/enable")
    if response.status_code == 303 and "/profile/2fa/setup/" in response.headers["location"]:
        return await client.get(response.headers["location"])
    return response


async def open_enable_dialog(client: httpx.AsyncClient) -> tuple[str, str, httpx.Response]:
    """Click Enable: the secret, the base path of the enrollment, and the step-1 response."""
    step1 = await click_enable(client)
    assert step1.status_code == 200, step1.text
    secret = text_of(step1.text, "manual-secret").replace(" ", "")
    return secret, enrollment_path(step1.text), step1


async def enable_two_factor(client: httpx.AsyncClient, clock: FakeClock) -> Enrolled:
    """Go through the three steps of the Enable dialog with a signed-in client."""
    secret, base, _ = await open_enable_dialog(client)
    step2 = await client.get(base + "/backup")
    backup_code = text_of(step2.text, "backup-code")
    await client.get(base + "/verify")
    done = await post(client, base, {"code": code_at(secret, clock())})
    assert done.status_code == 303, done.text
    return Enrolled(secret=secret, backup_code=backup_code)


def code(secret: str, clock: FakeClock, offset_steps: int = 0) -> str:
    return code_at(secret, clock() + 30 * offset_steps)


# ---- helpers for the two-factor HTTP tests -------------------------------------------------

PROFILE = "/profile"
TWO_FACTOR = "/signin/two-factor"
BACKUP = "/signin/backup-code"


def shows(html_text: str, key: str, **params: object) -> bool:
    """Whether a page shows the message ``key`` (as Jinja escapes it)."""
    from html import escape

    from server.messages import message

    return escape(message(key, **params)) in html_text


def wrong_code(secret: str, clock: FakeClock) -> str:
    """A well-formed 6-digit code that matches none of the steps -2..+2 around now."""
    near = {code(secret, clock, offset) for offset in range(-2, 3)}
    return next(c for c in (f"{n:06d}" for n in range(0, 1_000_000, 7919)) if c not in near)


def foreign_code(secret: str, clock: FakeClock) -> str:
    """The current code of another, random secret (that happens to match nothing of ``secret``)."""
    near = {code(secret, clock, offset) for offset in range(-2, 3)}
    while True:
        candidate = code_at(totp.new_secret(), clock())
        if candidate not in near:
            return candidate


async def start_signin(client: httpx.AsyncClient, name: str = "alice", password: str = PASSWORD) -> None:
    """The password step of a 2FA account: afterwards the browser is half signed in."""
    response = await sign_in(client, name, password)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(TWO_FACTOR), response.headers["location"]


async def signin_csrf(client: httpx.AsyncClient) -> str:
    """The CSRF token of a signed-out or half-signed-in browser (from whichever sign-in page it gets)."""
    for path in (TWO_FACTOR, "/signin"):
        response = await client.get(path)
        if response.status_code == 200:
            return csrf_of(response.text)
    raise AssertionError("no sign-in page answered")


async def submit_code(client: httpx.AsyncClient, value: str, *, htmx: bool = False, **extra: str) -> httpx.Response:
    """Enter an authenticator code on the two-factor screen."""
    headers = {"HX-Request": "true"} if htmx else {}
    data = {"csrf_token": await signin_csrf(client), "code": value, **extra}
    return await client.post(TWO_FACTOR, data=data, headers=headers)


async def submit_backup_code(client: httpx.AsyncClient, value: str) -> httpx.Response:
    """Enter the backup code on the Use Backup Code screen."""
    return await client.post(BACKUP, data={"csrf_token": await signin_csrf(client), "code": value})


async def sign_out(client: httpx.AsyncClient) -> None:
    response = await post(client, "/signout", page=PROFILE)
    assert response.status_code == 303, response.text


async def user_with_two_factor_signed_out(client: httpx.AsyncClient, svc: Services, clock: FakeClock) -> Enrolled:
    """alice has enabled 2FA and signed out; a minute has passed since."""
    await add_user(svc)
    assert (await sign_in(client)).status_code == 303
    enrolled = await enable_two_factor(client, clock)
    await sign_out(client)
    clock.advance(60)
    return enrolled


async def user_with_two_factor(client: httpx.AsyncClient, svc: Services, clock: FakeClock) -> Enrolled:
    """alice exists, has enabled 2FA, and is freshly signed in with a code on ``client``.

    The step of that sign-in code is spent; the clock is on a fresh step afterwards.
    """
    enrolled = await user_with_two_factor_signed_out(client, svc, clock)
    await start_signin(client)
    response = await submit_code(client, code(enrolled.secret, clock))
    assert response.status_code == 303, response.text
    assert client.cookies.get("mirox_session")
    clock.advance(30)
    return enrolled


async def alice_id(svc: Services, name: str = "alice") -> int:
    """The database id of the account ``name``."""
    user = await store.get_user_by_key(svc.db, name)
    assert user is not None
    return user.id


async def event_kinds(svc: Services, name: str = "alice") -> list[str]:
    """The kinds of the account's recent security events, newest first."""
    return [event.kind for event in await store.recent_events(svc.db, await alice_id(svc, name), limit=200)]


def another_backup_code(real: str) -> str:
    """A well-formed backup code that differs from ``real``."""
    return "ZZZZ-ZZZZ" if real != "ZZZZ-ZZZZ" else "YYYY-YYYY"


async def user_row(svc: Services, name: str = "alice") -> dict[str, object]:
    """Every column of the account, straight from the database."""
    from sqlalchemy import select

    from server.tables import users

    row = await svc.db.fetch_one(select(users).where(users.c.username_key == name))
    assert row is not None
    return {column.name: row[column.name] for column in users.c}


def security_card(html_text: str) -> str:
    """The Security card of the Profile page (or of an htmx update)."""
    match = re.search(r'<section id="security-card".*?</section>', html_text, re.S)
    assert match, "no Security card"
    return match.group(0)


class _ScopeCopyingState(dict):  # type: ignore[type-arg]
    """An ASGI scope that keeps its own shallow copy of whatever lifespan state is put in it."""

    def __setitem__(self, key: object, value: object) -> None:
        super().__setitem__(key, dict(value) if key == "state" and isinstance(value, dict) else value)


def isolated_state(manager: object) -> object:
    """The running app as a real server calls it: each request gets its own copy of the lifespan state.

    asgi-lifespan hands every request the *same* state dict (florimondmanca/asgi-lifespan#57;
    the ASGI spec and uvicorn give each request a shallow copy), so ``request.state.user`` of one
    request leaks into another that runs at the same time. Concurrency tests need this wrapper.
    """
    inner = manager.app  # type: ignore[attr-defined]

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        await inner(_ScopeCopyingState(scope), receive, send)

    return app


def browser(
    app: object,
    ip: str = "127.0.0.1",
    *,
    https: bool = False,
    user_agent: str | None = None,
    raise_app_exceptions: bool = True,
    host: str = "testserver",
) -> httpx.AsyncClient:
    """One more browser (own cookies) on the running app (``app`` is the ``LifespanManager``); close it after use.

    Each of its requests gets its own request state (``isolated_state``), so it is fit for concurrency tests.
    Its default address is the one of the ``client`` fixture.
    """
    headers = {"User-Agent": user_agent} if user_agent else None
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(
            app=isolated_state(app),  # type: ignore[arg-type]
            client=(ip, 50000),
            raise_app_exceptions=raise_app_exceptions,
        ),
        base_url=f"https://{host}" if https else f"http://{host}",
        headers=headers,
        follow_redirects=False,
    )


# ---- helpers for the foundation HTTP tests (sessions, CSRF, headers, errors) -------------


def session_cookie(client: httpx.AsyncClient) -> str | None:
    """The session token this browser holds (over http or https), if any."""
    return client.cookies.get("mirox_session") or client.cookies.get("__Host-mirox_session")


def cookie_attributes(response: httpx.Response, name: str) -> dict[str, str]:
    """The ``Set-Cookie`` of ``name`` in a response: its value under "value", attributes lower-cased."""
    for header in response.headers.get_list("set-cookie"):
        first, *rest = (part.strip() for part in header.split(";"))
        cookie_name, _, value = first.partition("=")
        if cookie_name == name:
            attributes = {"value": value}
            for part in rest:
                key, _, attribute = part.partition("=")
                attributes[key.lower()] = attribute
            return attributes
    raise AssertionError(f"no Set-Cookie for {name}")


async def try_password(
    client: httpx.AsyncClient, name: str = "alice", password: str = "wrong password!", **extra: str
) -> httpx.Response:
    """One sign-in attempt from the sign-in page, signed in or not."""
    token = await csrf(client, "/signin")
    return await client.post("/signin", data={"csrf_token": token, "username": name, "password": password, **extra})


async def db_snapshot(svc: Services) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table (values in column order), to check that a refused request changed nothing."""
    from sqlalchemy import select

    from server.tables import metadata

    snapshot = {}
    for table in metadata.sorted_tables:
        rows = await svc.db.fetch_all(select(table))
        # ``tuple(record)`` would give the column names: a databases Record iterates over its keys.
        snapshot[table.name] = sorted((tuple(row[c.name] for c in table.c) for row in rows), key=repr)
    return snapshot


async def session_id_of(svc: Services, ip: str) -> int:
    """The id of the one live session signed in from ``ip``."""
    found = []
    for user in await store.list_users(svc.db):
        found += [s.id for s in await account.sessions_of(svc, user) if s.ip == ip]
    assert len(found) == 1, found
    return found[0]


def browser_with_cookie(app: object, value: str, name: str = "mirox_session") -> httpx.AsyncClient:
    """A new browser that presents ``value`` as its session (or other) cookie."""
    b = browser(app, ip="192.0.2.66")
    b.cookies.set(name, value)
    return b


async def signed_in(b: httpx.AsyncClient) -> bool:
    """Whether the browser's next request gets the Profile page (not a redirect to a sign-in step)."""
    response = await b.get("/profile")
    if response.status_code == 303:
        assert response.headers["location"].startswith("/signin")
        return False
    assert response.status_code == 200
    return True


async def run_cli(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    """``run.py ARGV`` with ``stdin`` piped in (the command line runs its own event loop, so in a thread)."""
    from server import cli

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return await asyncio.to_thread(cli.main, list(argv))


def app_services(manager: object) -> Services:
    """The running app's own services (its hashing queue, its pool), not a second copy of them."""
    return manager._state["services"]  # type: ignore[attr-defined,no-any-return]


@asynccontextmanager
async def hashing_held(
    queue: HashQueue, count: int, ip: str = "10.77.0.{}", account: str = "flood{}"
) -> AsyncIterator[None]:
    """``count`` hashes in flight (each from its own address and account) until the block ends: a sign-in storm."""
    release = asyncio.Event()

    async def hold(n: int) -> None:
        async with queue.admitted(Ticket.of(ip.format(n), account.format(n))):
            await release.wait()

    tasks = [asyncio.create_task(hold(n)) for n in range(count)]
    await asyncio.sleep(0)
    try:
        yield
    finally:
        release.set()
        await asyncio.gather(*tasks)


async def require_two_factor(svc: Services, days: float | None = 7, *, groups: tuple[str, ...] = ()) -> None:
    """The administrator's ``policy require-2fa`` (``--all``, or ``--groups``) with ``--grace-days days``."""
    from server.auth.policy import Scope
    from server.flows import admin

    scope = Scope.GROUPS if groups else Scope.EVERYONE
    await admin.set_policy(svc, scope, groups=groups, grace_days=days)
