"""What a browser does in the soak tests: sign in, the Enable dialog, forms with their CSRF token."""

import concurrent.futures
import hashlib
import re
from dataclasses import dataclass
from html import escape

import argon2
import httpx

from server.messages import message
from tests.servers import PASSWORD, code_for, step_now
from tests.soak.conftest import Deployment
from tests.utils import csrf_of, text_of

UNAVAILABLE = escape(message("error.unavailable"))
_verifier = argon2.PasswordHasher()


def add_users(deployment: Deployment, names: list[str]) -> None:
    """``run.py user add`` for each name: the first creates the schema, the others run in parallel."""
    deployment.add_user(names[0])
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(deployment.add_user, names[1:]))


def clear_503(response: httpx.Response) -> bool:
    """The 503 a person should see: Retry-After, the app's page saying what happened, no traceback."""
    return (
        response.status_code == 503
        and response.headers.get("retry-after") == "30"
        and UNAVAILABLE in response.text
        and "Traceback" not in response.text
    )


class Unavailable(Exception):
    """The app answered with its clear 503 page."""


def expect(response: httpx.Response, status: int) -> httpx.Response:
    """The answer a working app gives, or Unavailable for a clear 503; anything else fails the test."""
    if response.status_code == status:
        return response
    if clear_503(response):
        raise Unavailable
    request = response.request
    raise AssertionError(f"{request.method} {request.url.path}: {response.status_code} {response.text[:300]}")


def token_hash(token: str) -> str:
    """What the sessions table stores for a cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


def matches(code: str | None, hashed: str | None) -> bool:
    """Whether a stored argon2 hash is the hash of a backup code as shown (XXXX-XXXX)."""
    if code is None or hashed is None:
        return False
    try:
        return _verifier.verify(hashed, code.replace("-", ""))
    except argon2.exceptions.VerificationError:
        return False


async def password_step(client: httpx.AsyncClient, base: str, name: str) -> httpx.Response:
    """A fresh browser (no cookies) opens the sign-in page and sends the password."""
    client.cookies.clear()
    page = await client.get(base + "/signin")
    if page.status_code != 200:
        return page
    return await client.post(
        base + "/signin", data={"csrf_token": csrf_of(page.text), "username": name, "password": PASSWORD}
    )


async def code_step(client: httpx.AsyncClient, base: str, path: str, code: str) -> httpx.Response:
    """Open a code page (two-factor or backup code) and submit ``code`` with its form."""
    page = await client.get(base + path)
    if page.status_code != 200:
        return page
    return await client.post(base + path, data={"csrf_token": csrf_of(page.text), "code": code})


async def profile_token(client: httpx.AsyncClient, base: str) -> str:
    """The CSRF token of the signed-in browser, from the Profile page."""
    return csrf_of(expect(await client.get(base + "/profile"), 200).text)


def next_url(html: str, step: str) -> str:
    match = re.search(rf'action="(/profile/2fa/setup/[^"/]+/{step})"', html)
    assert match, f"no Next button to the {step} step"
    return match.group(1)


@dataclass(frozen=True)
class EnableDialog:
    """The Enable dialog after Enable, Next, Next: what it showed and its Verify and Enable form."""

    secret: str
    backup: str
    action: str
    csrf: str


async def open_enable_dialog(client: httpx.AsyncClient, base: str, csrf: str) -> EnableDialog:
    """Enable, Next, Next: each step answered 200 (else ``expect`` raises)."""
    enable = await client.post(base + "/profile/2fa/enable", data={"csrf_token": csrf}, follow_redirects=True)
    step1 = expect(enable, 200)
    secret = text_of(step1.text, "manual-secret").replace(" ", "")
    backup_step = next_url(step1.text, "backup")
    step2 = expect(await client.get(base + backup_step), 200)
    backup = text_of(step2.text, "backup-code")
    step3 = expect(await client.get(base + next_url(step2.text, "verify")), 200)
    return EnableDialog(secret, backup, backup_step.rsplit("/", 1)[0], csrf_of(step3.text))


def shown_backup_code(html: str) -> str:
    """The backup code a page shows (the Enable dialog's second step, New Backup Codes)."""
    return text_of(html, "backup-code")


def wrong_code(secret: str) -> str:
    """Six digits that are not the code of the previous, current or next time step."""
    now = step_now()
    taken = {code_for(secret, s) for s in (now - 1, now, now + 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in taken)
