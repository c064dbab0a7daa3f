"""A bounded flood of wrong-password sign-ins from many loopback addresses (``python -m bench.flood JOB``).

Each of ``in_flight`` clients binds its own source address (127.0.0.2, 127.0.0.3, …, all
loopback) and posts wrong passwords one after another, all with the token of one sign-in
form loaded once, ignoring ``Retry-After`` as an attacker would, until ``seconds`` or
``most`` posts: every ``account_every``-th at the real ``account``, the others at names
never tried before (each a fresh per-name counter, so they cost a hash until the address's
own counter closes). Prints one JSON object: how many answers of each status, the slowest
answer, the answers without ``Retry-After`` that needed one, and the errors (a refused
connection, a timeout: a hang).
"""

import asyncio
import contextlib
import json
import re
import sys
import time
from collections import Counter
from typing import Any

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
FIRST_ADDRESS = 2
"""127.0.0.1 is left to the measuring clients; the flood uses 127.0.0.2 and up."""


def address(n: int) -> str:
    """The loopback source address of flood client ``n`` (127.0.0.0/8 is all loopback on Linux)."""
    host = FIRST_ADDRESS + n
    return f"127.0.{host // 250}.{host % 250 + 1}" if host >= 250 else f"127.0.0.{host}"


async def flood(job: dict[str, Any]) -> dict[str, Any]:
    """Run the flood described by ``job`` (base, in_flight, seconds, most, account, account_every, timeout)."""
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    missing_retry_after = 0
    slowest = 0.0
    sent = 0

    async with httpx.AsyncClient(base_url=job["base"], timeout=job.get("timeout", 30)) as first:
        form = await first.get("/signin")
        match = CSRF.search(form.text)
        if match is None:
            raise SystemExit(f"no sign-in form ({form.status_code})")
        token, cookies = match.group(1), dict(first.cookies)

    async def client(n: int, c: httpx.AsyncClient) -> None:
        nonlocal missing_retry_after, slowest, sent
        try:
            while time.monotonic() < deadline and sent < job["most"]:
                sent += 1
                name = job["account"] if sent % job["account_every"] == 0 else f"guess-{n}-{sent}"
                data = {"csrf_token": token, "username": name, "password": f"guess {sent}"}
                started = time.monotonic()
                response = await c.post("/signin", data=data)
                slowest = max(slowest, time.monotonic() - started)
                statuses[response.status_code] += 1
                if response.status_code in (429, 503) and "retry-after" not in response.headers:
                    missing_retry_after += 1
        except httpx.HTTPError as exc:
            errors.append(f"{address(n)}: {type(exc).__name__}: {exc}")

    async with contextlib.AsyncExitStack() as stack:
        clients = [  # made before the clock starts: each makes an SSL context, slow on a loaded machine
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=job["base"],
                    transport=httpx.AsyncHTTPTransport(local_address=address(n)),
                    cookies=cookies,
                    timeout=job.get("timeout", 30),
                    follow_redirects=False,
                )
            )
            for n in range(job["in_flight"])
        ]
        deadline = time.monotonic() + job["seconds"]
        await asyncio.gather(*(client(n, c) for n, c in enumerate(clients)))
    return {
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "slowest_s": slowest,
        "missing_retry_after": missing_retry_after,
        "errors": errors,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(flood(json.loads(sys.argv[1])))))
