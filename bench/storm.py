"""Row 8: a flood of wrong-password sign-ins from many addresses, per backend (``bench/flood.py``).

A fresh server with production settings (argon2 cost, hashing queue, connection cap raised
above the flood's connections) and two accounts: bob's session is the Security card that
wrk probes with one connection, idle and during the flood; alice's browser signed in once
before and holds a device cookie, and signs in again during the flood, trying again after
each busy answer as a person would.
"""

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench import BenchError, jobs, wrk
from bench.load import csrf_of
from bench.plan import Plan
from bench.report import Row, at_most, p99_ratio
from bench.scale import server_on_new_database
from server.auth.crypto import new_key_text
from tests import servers

PASSWORD = "storm password, long enough"
LEAD = 2.0
"""Seconds between starting the flood and measuring: its clients connect and fill the hashing lane."""


@contextlib.contextmanager
def storm_server(backend: str, tmp: Path, pg_url: str, in_flight: int) -> Iterator[servers.Server]:
    """A server with alice and bob on a fresh database of ``backend``."""

    def accounts(url: str, schema: str | None, env: dict[str, str]) -> None:
        for name in ("alice", "bob"):
            servers.run_cli("--database-url", url, "user", "add", name, env=env, stdin=PASSWORD + "\n")

    name = f"storm-{backend.lower()}"
    with server_on_new_database(
        backend, name, tmp, pg_url, new_key_text(), accounts, MIROX_MAX_CONNECTIONS=str(in_flight + 50)
    ) as running:
        yield running


def sign_in(client: httpx.Client, name: str) -> httpx.Response:
    form = client.get("/signin")
    return client.post("/signin", data={"csrf_token": csrf_of(form.text), "username": name, "password": PASSWORD})


def known_browser_signs_in(client: httpx.Client, bound: float) -> tuple[float, int]:
    """Seconds until the browser with a device cookie is signed in, and the busy answers on the way."""
    started, busy = time.monotonic(), 0
    while time.monotonic() - started < bound:
        response = sign_in(client, "alice")
        if response.status_code == 303:
            return time.monotonic() - started, busy
        if response.status_code != 503 or "retry-after" not in response.headers:
            raise BenchError(f"the known browser's sign-in answered {response.status_code}")
        busy += 1
        time.sleep(min(float(response.headers["retry-after"]), 2.0))
    raise BenchError(f"the known browser did not get in within {bound:.0f} s")


def row_flood(plan: Plan, backend: str, tmp: Path, pg_url: str) -> list[Row]:
    in_flight = plan.flood_in_flight
    with (
        storm_server(backend, tmp, pg_url, in_flight) as running,
        httpx.Client(base_url=running.url, timeout=60) as owner,
        httpx.Client(base_url=running.url, timeout=60) as person,
    ):
        for client, name in ((owner, "alice"), (person, "bob")):
            if sign_in(client, name).status_code != 303:
                raise BenchError(f"{name} could not sign in")
        owner.cookies.delete("mirox_session")
        card = {"Cookie": f"mirox_session={person.cookies['mirox_session']}", "HX-Request": "true"}
        wrk.run(running.url + "/profile", 1, 1, card)
        idle = wrk.run(running.url + "/profile", plan.probe_seconds, 1, card)
        seconds = LEAD + plan.probe_seconds + plan.flood_tail_seconds
        job = {
            "base": running.url,
            "in_flight": in_flight,
            "seconds": seconds,
            "most": 1_000_000,
            "account": "alice",
            "account_every": 5,
            "timeout": 30,
        }
        flood = jobs.start("flood", job)
        time.sleep(LEAD)
        during = wrk.run(running.url + "/profile", plan.probe_seconds, 1, card)
        known, busy = known_browser_signs_in(owner, 60)
        answer = jobs.result(flood, seconds + 120)
        running.alive()
        if 'id="security-card"' not in person.get("/profile", headers={"HX-Request": "true"}).text:
            raise BenchError("the Security card did not answer after the flood")
    flood_text = ", ".join(f"{count:,} x {status}" for status, count in answer["statuses"].items())
    return [
        p99_ratio(
            "8a",
            f"{backend}: card p99 during a {in_flight}-address sign-in flood ÷ idle",
            idle,
            during,
            f"flood answers: {flood_text}; slowest {answer['slowest_s']:.2f} s",
            flood_p99_ms=during.p99,
            flood=answer,
        ),
        at_most(
            "8b",
            f"{backend}: known browser's sign-in during the flood, seconds",
            known,
            5,
            f"{known:.2f} s after {busy} busy answers",
            known_s=known,
            busy_answers=busy,
        ),
    ]
