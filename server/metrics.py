"""Prometheus metrics: security events, request latency per route, argon2 queue, database pool.

With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` must name an empty folder before
this module is first imported (``run.py --workers N`` makes one); each process then writes its
numbers there and ``/metrics``, whichever process answers it, adds up those of all of them.
"""

import asyncio
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import REGISTRY

from server import db
from server.auth.passwords import PasswordHasher

T = TypeVar("T")
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

SIGNINS = Counter("mirox_signins", "Sign-in steps by outcome and factor", ["outcome", "factor"])
TWO_FACTOR_CHANGES = Counter("mirox_two_factor_changes", "Two-factor authentication turned on or off", ["change"])
THROTTLED = Counter("mirox_throttled_attempts", "Attempts refused because of too many failures", ["factor"])
BACKUP_CODES_USED = Counter("mirox_backup_codes_used", "Backup codes spent at sign-in")
NOTICES_DISOWNED = Counter("mirox_notices_disowned", 'Security notices answered "This wasn\'t me"')
REQUEST_SECONDS = Histogram(
    "mirox_request_duration_seconds",
    "Time to answer a request, by route name",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HASH_WAIT = Histogram(
    "mirox_argon2_queue_wait_seconds",
    "Time a password or backup-code hash waited for a hashing thread",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HASH_DEPTH = Gauge(
    "mirox_argon2_queue_depth", "Hashes waiting or running, per process summed", multiprocess_mode="livesum"
)
POOL_IN_USE = Gauge(
    "mirox_db_pool_connections_in_use",
    "Database connections in use (sampled after each request and at each scrape)",
    multiprocess_mode="livesum",
)

_SIGNIN_FAILURES = {
    "signin.failed_password": "password",
    "signin.failed_code": "totp",
    "signin.failed_backup": "backup_code",
}
_TWO_FACTOR_KINDS = {
    "2fa.enabled": "enabled",
    "2fa.disabled": "disabled",
    "2fa.backup_used": "disabled_by_backup_code",
    "2fa.reset_by_admin": "reset_by_admin",
}


def count_event(record: dict[str, Any]) -> None:
    """Move the counters an audit record stands for."""
    kind, factor = record["kind"], record.get("factor") or "none"
    if kind == "signin":
        SIGNINS.labels("success", factor).inc()
    elif kind in _SIGNIN_FAILURES:
        SIGNINS.labels("failure", _SIGNIN_FAILURES[kind]).inc()
    elif kind == "signin.throttled":
        SIGNINS.labels("throttled", factor).inc()
    if record.get("outcome") == "throttled":
        THROTTLED.labels(factor).inc()
    if kind in _TWO_FACTOR_KINDS:
        TWO_FACTOR_CHANGES.labels(_TWO_FACTOR_KINDS[kind]).inc()
    if kind == "2fa.backup_used":
        BACKUP_CODES_USED.inc()
    if kind == "notice.disowned":
        NOTICES_DISOWNED.inc()


class MeasuredHasher(PasswordHasher):
    """The password hasher, measuring how long each hash waits for a thread and how many queue."""

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        queued = time.perf_counter()

        def timed() -> T:
            HASH_WAIT.observe(time.perf_counter() - queued)
            return work(*args)

        HASH_DEPTH.inc()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, timed)
        finally:
            HASH_DEPTH.dec()


# ---- several processes ---------------------------------------------------------------


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_VARIABLE)
    return Path(value) if value else None


def prepare_multiprocess_dir(path: Path) -> None:
    """Create the folder, or empty one left by an earlier run (its numbers are not this run's)."""
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()


_LIVE_FILE = re.compile(r"^gauge_live\w+_(\d+)\.db$")


def _forget_dead_processes(path: Path) -> None:
    """Drop the live gauges of workers that are gone (killed ones never said so themselves)."""
    for file in path.iterdir():
        found = _LIVE_FILE.match(file.name)
        if found is None:
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(path))
        except PermissionError:
            continue


def process_exiting() -> None:
    """A worker stops: its live gauges no longer count."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(os.getpid(), str(path))


def exposition() -> bytes:
    """The metrics in the Prometheus text format: of every worker process, or of this one."""
    path = multiprocess_dir()
    if path is None:
        return generate_latest(REGISTRY)
    _forget_dead_processes(path)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(path))
    return generate_latest(registry)


def sample_pool(database: object) -> None:
    """Record how many of this process's database connections are checked out now."""
    POOL_IN_USE.set(db.pool_in_use(database))  # type: ignore[arg-type]
