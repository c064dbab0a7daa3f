"""Row 7: forward auth. ``GET /auth/verify`` sits in front of every request of every protected app,
so it must cost about what a bare endpoint costs, and stay fast while sign-ins fill the hashing pool."""

from bench.report import Row, p99_ratio
from bench.rows import IN_FLIGHT, Context, Target, over_bare
from bench.seed import PAGE_USER

CONNECTIONS = 32


def verify_target(ctx: Context) -> Target:
    """``/auth/verify`` with a live session cookie, as nginx's ``auth_request`` sends it (the answer: 200, no body)."""
    return Target("/auth/verify", {"Cookie": f"mirox_session={ctx.world.session_token(PAGE_USER)}"}, "", page=False)


def rows(ctx: Context, backend: str) -> list[Row]:
    """7a: wrk req/s of ``/auth/verify`` ÷ ``/healthz`` (before and after, mean); 7b: its p99 (one
    connection) while 8 sign-ins at a time run ÷ the same p99 idle."""
    verify = verify_target(ctx)
    (answered,), bare = ctx.beside_bare([verify], CONNECTIONS)
    idle, busy, flows = ctx.during_storm(verify)
    return [
        over_bare("7a", f"{backend}: /auth/verify ÷ bare endpoint", 0.5, "verify", answered, bare, CONNECTIONS),
        p99_ratio(
            "7b",
            f"{backend}: /auth/verify p99 during a sign-in storm ÷ idle",
            idle,
            busy,
            f"{len(flows)} sign-ins, {IN_FLIGHT} in flight",
            storm_p99_ms=busy.p99,
        ),
    ]
