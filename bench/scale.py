"""Row 4: p50 sign-in and Profile page latency with a large database ÷ with a small one, per backend.

Both databases are seeded in bulk and served by their own server, measured in turns
(small, large, small, large) so that machine noise falls on both alike.
"""

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import jobs, seed, wrk
from bench.plan import Plan
from bench.report import Row, at_most
from bench.rows import targets
from bench.seed import Layout, World
from tests import servers

PAGE_CONNECTIONS = 8


@contextlib.contextmanager
def server_on_new_database(
    backend: str,
    name: str,
    tmp: Path,
    pg_url: str,
    totp_keys: str,
    prepare: Callable[[str, str | None, dict[str, str]], None],
    **settings: str,
) -> Iterator[servers.Server]:
    """A server named ``name`` on a fresh database of ``backend``, filled by ``prepare(url, schema, env)``
    before it starts; its PostgreSQL schema is dropped afterwards."""
    data_dir = tmp / name
    data_dir.mkdir()
    schema = servers.new_schema(pg_url) if backend != "SQLite" else None
    url = pg_url if schema else f"sqlite:///{data_dir / 'mirox.sqlite3'}"
    env = servers.app_env(schema, totp_keys, hashing={}, MIROX_DATA_DIR=str(data_dir), **settings)
    try:
        prepare(url, schema, env)
        running = servers.start_server(name, ["--database-url", url], env, tmp)
        try:
            running.wait_ready(timeout=60)
            yield running
        finally:
            running.stop()
    finally:
        if schema:
            servers.drop_schema(pg_url, schema)


@contextlib.contextmanager
def seeded_server(
    backend: str,
    users: int,
    world: World,
    password_hash: str,
    tmp: Path,
    pg_url: str,
    layout: Layout | None = None,
) -> Iterator[servers.Server]:
    """A server on a fresh database with ``users`` users and as many sessions (or the given ``layout``)."""
    layout = layout or Layout(users=users, sessions=users, pool=min(200, users - 3))
    name = f"{backend.lower()}-{layout.users}" + ("-main" if layout.check else "")

    def prepare(url: str, schema: str | None, env: dict[str, str]) -> None:
        servers.run_cli("--database-url", url, "db", "upgrade", env=env)
        seed.seed_database(url, schema, layout, world, password_hash, time.time())

    with server_on_new_database(backend, name, tmp, pg_url, world.totp_keys, prepare) as running:
        yield running


def measure(running: servers.Server, world: World, plan: Plan, users: list[int]) -> tuple[list[float], float]:
    """Sign-ins one at a time (their latencies) and the Profile page's wrk p50."""
    job: dict[str, Any] = {
        "kind": "signins",
        "base": running.url,
        "salt": world.salt,
        "users": users,
        "seconds": 300,
        "max": len(users),
        "concurrency": 1,
    }
    flows = jobs.run("load", job, 400)["flows"]
    profile = targets(world)["profile"]
    profile.check(running)
    page = wrk.run(running.url + profile.path, plan.scale_wrk_seconds, PAGE_CONNECTIONS, profile.headers)
    running.alive()
    return [e - s for s, e in flows], page.p50


def row_scale(plan: Plan, backend: str, world: World, password_hash: str, tmp: Path, pg_url: str) -> list[Row]:
    sizes = (plan.scale_small, plan.scale_large)
    signins: dict[int, list[float]] = {size: [] for size in sizes}
    pages: dict[int, list[float]] = {size: [] for size in sizes}
    seeding: dict[int, float] = {}
    with contextlib.ExitStack() as stack:
        servers = {}
        for size in sizes:
            started = time.monotonic()
            servers[size] = stack.enter_context(seeded_server(backend, size, world, password_hash, tmp, pg_url))
            seeding[size] = time.monotonic() - started
        pool = seed.Layout(users=plan.scale_small, sessions=0, pool=200).ids("pool")
        if plan.scale_turns > 1:
            for size in sizes:
                measure(servers[size], world, plan, [pool[-1]])  # warm-up, not counted
        for turn in range(plan.scale_turns):
            for size in sizes:
                users = list(pool[turn * plan.scale_signins : (turn + 1) * plan.scale_signins])
                latencies, page = measure(servers[size], world, plan, users)
                signins[size] += latencies
                pages[size].append(page)
    small, large = sizes
    signin_p50 = {size: 1000 * jobs.percentile(signins[size], 50) for size in sizes}
    page_p50 = {size: sum(pages[size]) / len(pages[size]) for size in sizes}
    scale = f"{large:,} users + {large:,} sessions ÷ {small:,} + {small:,}"
    data = {"seeding_s": {str(k): round(v, 1) for k, v in seeding.items()}}
    return [
        at_most(
            "4",
            f"{backend}: p50 sign-in, {scale}",
            signin_p50[large] / signin_p50[small],
            1.2,
            f"{signin_p50[large]:.0f} ms ÷ {signin_p50[small]:.0f} ms (one at a time)",
            **data,
        ),
        at_most(
            "4",
            f"{backend}: p50 Profile page, same",
            page_p50[large] / page_p50[small],
            1.2,
            f"{page_p50[large]:.2f} ms ÷ {page_p50[small]:.2f} ms (wrk, {PAGE_CONNECTIONS} connections)",
        ),
    ]
