"""The load process: browser-like clients on loopback (``python -m bench.load JOB``, JOB as JSON).

``signins`` runs complete sign-ins (sign-in page, password, two-factor page, code, Profile);
``check``, ``backup`` and ``disable`` post the Security card's actions the way htmx does.
Prints one JSON object: the start and end of every completed flow, and the errors.
"""

import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pyotp

from bench.seed import PASSWORD, USER_AGENT, World, username

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"|<meta name="csrf-token" content="([^"]*)"')
ACTIONS = {
    "check": ("/profile/2fa/check", 'id="security-card"'),
    "backup": ("/profile/2fa/backup-code", 'id="backup-code"'),
    "disable": ("/profile/2fa/disable", 'id="security-card"'),
}


BUSY_PAUSE = 1.0
"""The longest pause before trying again after the busy answer (the load stays on)."""


class Failed(Exception):
    """A response that a browser would not have got on the happy path."""


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise Failed("no CSRF token on the page")
    return match.group(1) or match.group(2)


def expect(response: httpx.Response, status: int, contains: str = "") -> httpx.Response:
    if response.status_code != status or contains not in response.text:
        request = response.request
        raise Failed(f"{request.method} {request.url.path}: {response.status_code} {response.text[:300]!r}")
    return response


def code(world: World, user_id: int) -> str:
    return pyotp.TOTP(world.totp_secret(user_id)).now()


async def sign_in(client: httpx.AsyncClient, world: World, user_id: int) -> None:
    """What a browser does: load the form, post the password, load the code form, post the code, see Profile."""
    client.cookies.clear()
    form = expect(await client.get("/signin"), 200)
    data = {"csrf_token": csrf_of(form.text), "username": username(user_id), "password": PASSWORD}
    answer = await client.post("/signin", data=data)
    while answer.status_code == 503 and "retry-after" in answer.headers:  # busy: try again, as a person would
        await asyncio.sleep(min(float(answer.headers["retry-after"]), BUSY_PAUSE))
        answer = await client.post("/signin", data=data)
    second = expect(answer, 303).headers["location"]
    if not second.startswith("/signin/two-factor"):
        raise Failed(f"password step went to {second}")
    form = expect(await client.get(second), 200)
    data = {"csrf_token": csrf_of(form.text), "code": code(world, user_id)}
    expect(await client.post("/signin/two-factor", data=data), 303)
    expect(await client.get("/profile"), 200, 'id="security-card"')


async def prepared(client: httpx.AsyncClient, world: World, user_id: int) -> str:
    """Use the user's signed-in session; return its CSRF token (from the Check 2FA prompt)."""
    client.cookies.clear()
    client.cookies.set("mirox_session", world.session_token(user_id))
    return csrf_of(expect(await client.get("/profile/2fa/check", headers={"HX-Request": "true"}), 200).text)


async def action(client: httpx.AsyncClient, world: World, kind: str, user_id: int, token: str) -> None:
    path, contains = ACTIONS[kind]
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    expect(await client.post(path, data={"code": code(world, user_id)}, headers=headers), 200, contains)


async def drive(
    job: dict[str, Any], make: Callable[[httpx.AsyncClient, int], Awaitable[Callable[[], Awaitable[None]]]]
) -> dict[str, Any]:
    """``concurrency`` clients, each taking the next user, until the time or the count runs out.

    With ``repeat`` a client keeps its user (Check 2FA spends nothing); otherwise each flow
    takes a new user, since a TOTP code is accepted once per user and time step.
    """
    users: Iterator[int] = iter(job["users"])
    deadline = time.perf_counter() + job["seconds"]
    flows: list[tuple[float, float]] = []
    errors: list[str] = []
    started = 0
    taken = 0

    def may_start() -> bool:
        nonlocal started
        if errors or started >= job["max"] or time.perf_counter() >= deadline:
            return False
        started += 1
        return True

    async def worker() -> None:
        nonlocal taken
        async with httpx.AsyncClient(base_url=job["base"], headers={"User-Agent": USER_AGENT}, timeout=60) as client:
            while may_start():
                user_id = next(users, None)
                if user_id is None:
                    return
                taken += 1
                try:
                    run = await make(client, user_id)
                    while True:
                        begin = time.perf_counter()
                        await run()
                        flows.append((begin, time.perf_counter()))
                        if not (job.get("repeat") and may_start()):
                            break
                except (Failed, httpx.HTTPError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(worker() for _ in range(job["concurrency"])))
    return {"flows": sorted(flows), "errors": errors, "users_taken": taken}


async def main(job: dict[str, Any]) -> dict[str, Any]:
    world = World(job["salt"], "")
    kind = job["kind"]

    async def make(client: httpx.AsyncClient, user_id: int) -> Callable[[], Awaitable[None]]:
        if kind == "signins":
            return lambda: sign_in(client, world, user_id)
        token = await prepared(client, world, user_id)
        return lambda: action(client, world, kind, user_id, token)

    return await drive(job, make)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
