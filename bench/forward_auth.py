"""Row 7: forward auth. ``GET /auth/verify`` sits in front of every request of every protected app,
so it must cost about what a bare endpoint costs, and stay fast while sign-ins fill the hashing pool."""

import time

from bench import jobs
from bench.report import Row, at_least, at_most
from bench.rows import IN_FLIGHT, Context, Target, targets
from bench.seed import PAGE_USER

CONNECTIONS = 32


def verify_target(ctx: Context) -> Target:
    """``/auth/verify`` with a live session cookie, as nginx's ``auth_request`` sends it (the answer: 200, no body)."""
    return Target("/auth/verify", {"Cookie": f"mirox_session={ctx.world.session_token(PAGE_USER)}"}, "", page=False)


def rows(ctx: Context, backend: str) -> list[Row]:
    """7a: wrk req/s of ``/auth/verify`` ÷ ``/healthz`` (before and after, mean); 7b: its p99 (one
    connection) while 8 sign-ins at a time run ÷ the same p99 idle."""
    verify, bare = verify_target(ctx), targets(ctx.world)["bare"]
    seconds = ctx.plan.wrk_seconds
    bare1 = ctx.wrk_get(bare, seconds, CONNECTIONS)
    answered = ctx.wrk_get(verify, seconds, CONNECTIONS)
    bare2 = ctx.wrk_get(bare, seconds, CONNECTIONS)
    bare_rps = (bare1.rps + bare2.rps) / 2
    probe = ctx.plan.probe_seconds
    idle = ctx.wrk_get(verify, probe, connections=1)
    lead = 2.0
    storm = jobs.start("load", ctx.signin_job(probe + lead + 1, 10_000))
    time.sleep(lead)
    busy = ctx.wrk_get(verify, probe, connections=1)
    flows = ctx.signed_in(jobs.result(storm, probe + 120))
    return [
        at_least(
            "7a",
            f"{backend}: /auth/verify ÷ bare endpoint",
            answered.rps / bare_rps,
            0.5,
            f"{answered.rps:,.0f} ÷ {bare_rps:,.0f} req/s (wrk, {CONNECTIONS} connections)",
            verify_rps=answered.rps,
            bare_rps=[bare1.rps, bare2.rps],
            verify_p99_ms=answered.p99,
        ),
        at_most(
            "7b",
            f"{backend}: /auth/verify p99 during a sign-in storm ÷ idle",
            busy.p99 / idle.p99,
            3,
            f"{busy.p99:.1f} ms ÷ {idle.p99:.1f} ms ({len(flows)} sign-ins, {IN_FLIGHT} in flight)",
            idle_p99_ms=idle.p99,
            storm_p99_ms=busy.p99,
        ),
    ]
