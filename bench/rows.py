"""Rows 1, 2, 3, 5 and 6, measured on the main server (SQLite, production settings)."""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from bench import BenchError, jobs, wrk
from bench.plan import Plan
from bench.report import Row, at_least, at_most, p99_ratio, record
from bench.seed import PAGE_USER, World
from server.settings import Settings
from tests.servers import Server

PRODUCTION = Settings()
IN_FLIGHT = 2 * PRODUCTION.hash_threads
"""Concurrent sign-in flows: enough to keep the server's hashing pool full."""


@dataclass
class Context:
    """The main server and what has been done to it so far."""

    plan: Plan
    world: World
    server: Server
    next_pool_user: int = 0
    pages: int = 0
    signins: int = 0
    rss_warm: float = 0.0

    def pool_users(self, count: int) -> list[int]:
        """The next ``count`` sign-in users, round the pool (a code is accepted once per user and step)."""
        pool = self.plan.main.ids("pool")
        return [pool[(self.next_pool_user + i) % len(pool)] for i in range(count)]

    def signin_job(self, seconds: float, most: int, concurrency: int = IN_FLIGHT) -> dict[str, Any]:
        return {
            "kind": "signins",
            "base": self.server.url,
            "salt": self.world.salt,
            "users": self.pool_users(most),
            "seconds": seconds,
            "max": most,
            "concurrency": concurrency,
        }

    def signed_in(self, answer: dict[str, Any]) -> list[tuple[float, float]]:
        self.next_pool_user += answer["users_taken"]
        self.signins += len(answer["flows"])
        return [(start, end) for start, end in answer["flows"]]

    def run_signins(self, seconds: float, most: int, concurrency: int = IN_FLIGHT) -> list[tuple[float, float]]:
        return self.signed_in(jobs.run("load", self.signin_job(seconds, most, concurrency), seconds + 120))

    def wrk_get(self, target: Target, seconds: float, connections: int = 32) -> wrk.WrkResult:
        target.check(self.server)
        result = wrk.run(self.server.url + target.path, seconds, connections, target.headers)
        target.check(self.server)
        self.server.alive()
        if target.page:
            self.pages += result.requests
        return result

    def beside_bare(self, measured: list[Target], connections: int = 32) -> tuple[list[wrk.WrkResult], Bracket]:
        """Each of ``measured`` with wrk, between two runs of the bare endpoint (its drift shows in the pair)."""
        bare, seconds = targets(self.world)["bare"], self.plan.wrk_seconds
        before = self.wrk_get(bare, seconds, connections)
        results = [self.wrk_get(target, seconds, connections) for target in measured]
        after = self.wrk_get(bare, seconds, connections)
        return results, Bracket(before.rps, after.rps)

    def during_storm(self, target: Target) -> tuple[wrk.WrkResult, wrk.WrkResult, list[tuple[float, float]]]:
        """``target`` on one wrk connection idle, then while sign-ins fill the hashing pool; and those sign-ins."""
        seconds = self.plan.probe_seconds
        idle = self.wrk_get(target, seconds, connections=1)
        lead = 2.0
        storm = jobs.start("load", self.signin_job(seconds + lead + 1, 10_000))
        time.sleep(lead)
        busy = self.wrk_get(target, seconds, connections=1)
        return idle, busy, self.signed_in(jobs.result(storm, seconds + 120))


@dataclass(frozen=True)
class Bracket:
    """The bare endpoint's req/s measured just before and just after."""

    before: float
    after: float

    @property
    def rps(self) -> float:
        return (self.before + self.after) / 2

    @property
    def both(self) -> list[float]:
        return [self.before, self.after]


def over_bare(
    row: str, what: str, limit: float, name: str, result: wrk.WrkResult, bare: Bracket, connections: int
) -> Row:
    """``result``'s req/s ÷ the bare endpoint's, at least ``limit``; its figures are kept as ``<name>_rps`` and
    ``<name>_p99_ms``."""
    return at_least(
        row,
        what,
        result.rps / bare.rps,
        limit,
        f"{result.rps:,.0f} ÷ {bare.rps:,.0f} req/s (wrk, {connections} connections)",
        **{f"{name}_rps": result.rps, "bare_rps": bare.both, f"{name}_p99_ms": result.p99},
    )


@dataclass(frozen=True)
class Target:
    """One GET measured with wrk, as one browser sends it, and what its answer must contain."""

    path: str
    headers: dict[str, str]
    marker: str
    page: bool = True

    def check(self, server: Server) -> None:
        """The answer is the page itself (200), not a redirect to sign in."""
        request = urllib.request.Request(server.url + self.path, headers=self.headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode()
        htmx = "HX-Request" in self.headers
        if response.status != 200 or self.marker not in body or (htmx and "<html" in body):
            raise BenchError(f"GET {self.path} answered {response.status} without {self.marker!r}")


def targets(world: World) -> dict[str, Target]:
    """The bare endpoint, the Security card fragment, the Profile page."""

    def cookie(user: int) -> dict[str, str]:
        return {"Cookie": f"mirox_session={world.session_token(user)}"}

    return {
        "bare": Target("/healthz", {}, "ok", page=False),
        # htmx refreshes the Security card with GET /profile: the answer is the card partial alone.
        "card": Target("/profile", cookie(PAGE_USER) | {"HX-Request": "true"}, 'id="security-card"'),
        "profile": Target("/profile", cookie(PAGE_USER), 'id="security-card"'),
    }


def warm_up(ctx: Context) -> None:
    """Pages and a few sign-ins, then the baseline memory of row 5."""
    for name in ("card", "profile"):
        ctx.wrk_get(targets(ctx.world)[name], 1)
    ctx.run_signins(60, IN_FLIGHT)
    time.sleep(0.5)
    ctx.rss_warm = ctx.server.rss_mb()
    ctx.pages = ctx.signins = 0


def hash_rate(seconds: float) -> float:
    job = {
        "time_cost": PRODUCTION.argon2_time_cost,
        "memory_kib": PRODUCTION.argon2_memory_kib,
        "parallelism": PRODUCTION.argon2_parallelism,
        "threads": PRODUCTION.hash_threads,
        "seconds": seconds,
    }
    answer = jobs.run("hashrate", job, seconds + 60)
    return jobs.rate([answer["started"]], answer["done"])


def row_signin(ctx: Context) -> Row:
    """Row 1: complete sign-ins/s ÷ raw verifies/s, the verifies measured just before and just after."""
    before = hash_rate(ctx.plan.hashrate_seconds / 2)
    flows = ctx.run_signins(ctx.plan.signin_seconds, 10_000)
    after = hash_rate(ctx.plan.hashrate_seconds / 2)
    verifies = (before + after) / 2
    signins = jobs.rate([start for start, _ in flows], [end for _, end in flows])
    return at_least(
        "1",
        "Sign-in at the hashing limit",
        signins / verifies,
        0.9,
        f"{signins:.2f} complete sign-ins/s ÷ {verifies:.2f} argon2 verifies/s ({PRODUCTION.hash_threads} threads)",
        signins_per_s=signins,
        verifies_per_s=[before, after],
        flows=len(flows),
        p50_ms=1000 * jobs.percentile([e - s for s, e in flows], 50),
    )


def row_pages(ctx: Context) -> list[Row]:
    """Row 2: wrk req/s of the card fragment and the Profile page ÷ the bare endpoint (measured before and after)."""
    t = targets(ctx.world)
    (card, profile), bare = ctx.beside_bare([t["card"], t["profile"]])
    return [
        over_bare("2a", "Security card fragment ÷ bare endpoint", 0.15, "card", card, bare, 32),
        record(
            "2b",
            "Profile page ÷ bare endpoint",
            f"{profile.rps:,.0f} ÷ {bare.rps:,.0f} req/s = {profile.rps / bare.rps:.2f}",
            profile_rps=profile.rps,
            profile_p99_ms=profile.p99,
        ),
    ]


def row_storm(ctx: Context) -> Row:
    """Row 3: the card's p99 while sign-ins saturate the hashing pool ÷ its idle p99 (one wrk connection)."""
    idle, busy, flows = ctx.during_storm(targets(ctx.world)["card"])
    return p99_ratio(
        "3",
        "Card p99 during a sign-in storm ÷ idle",
        idle,
        busy,
        f"{len(flows)} sign-ins, {IN_FLIGHT} in flight",
        storm_p99_ms=busy.p99,
        idle_p50_ms=idle.p50,
        storm_p50_ms=busy.p50,
    )


def row_actions(ctx: Context) -> list[Row]:
    """Row 6: Check 2FA, New Backup Codes, Disable, as htmx posts them: req/s and p99, for the record."""
    plan = ctx.plan
    rows = []
    for row, kind, label, users, seconds, most, repeat in (
        ("6a", "check", "Check 2FA", plan.main.ids("check"), plan.check_seconds, 100_000, True),
        ("6b", "backup", "New Backup Codes", plan.main.ids("backup"), 300, plan.backup_ops, False),
        ("6c", "disable", "Disable", plan.main.ids("disable"), 300, plan.disable_ops, False),
    ):
        job = {
            "kind": kind,
            "base": ctx.server.url,
            "salt": ctx.world.salt,
            "users": list(users),
            "seconds": seconds,
            "max": most,
            "concurrency": min(IN_FLIGHT, len(users)),
            "repeat": repeat,
        }
        flows = jobs.run("load", job, seconds + 120)["flows"]
        per_s = len(flows) / (max(e for _, e in flows) - min(s for s, _ in flows))
        p99 = 1000 * jobs.percentile([e - s for s, e in flows], 99)
        rows.append(record(row, label, f"{per_s:,.1f} req/s, p99 {p99:.0f} ms ({len(flows)} posts)", per_s=per_s))
    return rows


def row_memory(ctx: Context) -> Row:
    """Row 5: RSS after at least N page requests and M sign-ins ÷ RSS after the warm-up."""
    plan = ctx.plan
    while ctx.pages < plan.rss_pages:
        ctx.wrk_get(targets(ctx.world)["profile"], 2)
    while ctx.signins < plan.rss_signins:
        ctx.run_signins(600, plan.rss_signins - ctx.signins)
    time.sleep(0.5)
    after = ctx.server.rss_mb()
    return at_most(
        "5",
        "Server RSS after load ÷ after warm-up",
        after / ctx.rss_warm,
        1.1,
        f"{after:.0f} MB ÷ {ctx.rss_warm:.0f} MB after {ctx.pages:,} pages and {ctx.signins} sign-ins",
        rss_warm_mb=ctx.rss_warm,
        rss_after_mb=after,
        pages=ctx.pages,
        signins=ctx.signins,
    )
