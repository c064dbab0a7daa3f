"""Tiny helpers for HTTP-level tests."""

import re
from dataclasses import dataclass

import httpx

from server.auth import totp
from server.flows import account
from server.web import Services

START = 1_800_000_000.0
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


async def enable_two_factor(client: httpx.AsyncClient, clock: FakeClock) -> Enrolled:
    """Go through the three steps of the Enable dialog with a signed-in client."""
    step1 = await post(client, "/profile/2fa/enable")
    assert step1.status_code == 200, step1.text
    secret = text_of(step1.text, "manual-secret").replace(" ", "")
    base = enrollment_path(step1.text)
    step2 = await client.get(base + "/backup")
    backup_code = text_of(step2.text, "backup-code")
    await client.get(base + "/verify")
    done = await post(client, base, {"code": totp.code_at(secret, clock())})
    assert done.status_code == 303, done.text
    return Enrolled(secret=secret, backup_code=backup_code)


def code(secret: str, clock: FakeClock, offset_steps: int = 0) -> str:
    return totp.code_at(secret, clock() + 30 * offset_steps)
