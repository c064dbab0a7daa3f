"""How big each measurement is: the full run and the ``--quick`` smoke test."""

from dataclasses import dataclass

from bench.seed import Layout


@dataclass(frozen=True)
class Plan:
    """Sizes and durations of one run."""

    name: str
    main: Layout
    """The database of the main server (rows 1, 2, 3, 5, 6)."""
    hashrate_seconds: float
    signin_seconds: float
    wrk_seconds: float
    probe_seconds: float
    check_seconds: float
    backup_ops: int
    disable_ops: int
    rss_pages: int
    rss_signins: int
    scale_small: int
    scale_large: int
    scale_signins: int
    scale_turns: int
    scale_wrk_seconds: float
    flood_in_flight: int
    """Row 8: wrong-password sign-ins in flight, each from its own loopback address."""
    flood_tail_seconds: float
    """Row 8: how long the flood goes on after the card is measured (the known browser signs in then)."""


FULL = Plan(
    name="full",
    main=Layout(users=2000, sessions=2000, pool=900, check=8, backup=80, disable=400),
    hashrate_seconds=10,
    signin_seconds=40,
    wrk_seconds=10,
    probe_seconds=10,
    check_seconds=10,
    backup_ops=60,
    disable_ops=400,
    rss_pages=10_000,
    rss_signins=500,
    scale_small=1_000,
    scale_large=1_000_000,
    scale_signins=12,
    scale_turns=2,
    scale_wrk_seconds=5,
    flood_in_flight=60,
    flood_tail_seconds=10,
)

QUICK = Plan(
    name="quick",
    main=Layout(users=1000, sessions=1000, pool=300, check=4, backup=8, disable=30),
    hashrate_seconds=2,
    signin_seconds=3,
    wrk_seconds=1,
    probe_seconds=1,
    check_seconds=1,
    backup_ops=2,
    disable_ops=16,
    rss_pages=1_000,
    rss_signins=12,
    scale_small=1_000,
    scale_large=20_000,
    scale_signins=2,
    scale_turns=1,
    scale_wrk_seconds=1,
    flood_in_flight=20,
    flood_tail_seconds=2,
)
