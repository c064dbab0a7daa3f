"""Argon2 off the event loop: how long the loop stalls while sign-ins verify passwords.

Runs the same burst of concurrent password verifications twice, side by side in one
run: once calling argon2 directly on the event loop (what the app must not do), once
through ``PasswordHasher`` (bounded worker threads, what the app does). A ticker task
measures the longest gap between its wake-ups. Prints both and their ratio.

    python bench/argon2_event_loop.py [--verifies 8] [--memory-kib 65536]
"""

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import argon2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.auth.passwords import PasswordHasher

TICK = 0.002


async def longest_stall(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(longest gap between ticks beyond the tick interval, wall time of the work), in seconds."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            gaps.append(now - last - TICK)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(TICK * 5)
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    done.set()
    await task
    return max(gaps), elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verifies", type=int, default=8)
    parser.add_argument("--memory-kib", type=int, default=argon2.DEFAULT_MEMORY_COST)
    parser.add_argument("--time-cost", type=int, default=argon2.DEFAULT_TIME_COST)
    args = parser.parse_args()

    params = {"time_cost": args.time_cost, "memory_cost": args.memory_kib, "parallelism": 4}
    blocking = argon2.PasswordHasher(**params)
    threaded = PasswordHasher(**params, limit=4)
    stored = blocking.hash("correct horse battery")

    async def inline() -> None:
        async def one() -> None:
            with contextlib.suppress(argon2.exceptions.VerifyMismatchError):
                blocking.verify(stored, "wrong password")

        await asyncio.gather(*(one() for _ in range(args.verifies)))

    async def in_threads() -> None:
        await asyncio.gather(*(threaded.verify(stored, "wrong password") for _ in range(args.verifies)))

    inline_runs = [await longest_stall(inline) for _ in range(3)]
    thread_runs = [await longest_stall(in_threads) for _ in range(3)]
    inline_stall = statistics.median(r[0] for r in inline_runs)
    thread_stall = statistics.median(r[0] for r in thread_runs)
    print(f"{args.verifies} concurrent argon2id verifies (m={args.memory_kib} KiB, t={args.time_cost}), median of 3:")
    print(f"  on the event loop:   longest stall {inline_stall * 1000:8.1f} ms, wall {inline_runs[1][1]:.2f} s")
    print(f"  in worker threads:   longest stall {thread_stall * 1000:8.1f} ms, wall {thread_runs[1][1]:.2f} s")
    print(f"  stall ratio (loop / threads): {inline_stall / max(thread_stall, 1e-6):.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
