"""Raw argon2id verifies per second: the physical limit of password sign-ins (``python -m bench.hashrate JOB``).

argon2-cffi's ``PasswordHasher.verify`` in a ThreadPoolExecutor of ``threads`` threads, kept
full, with the parameters the server uses. Prints JSON: the start and the completion time of every verify.
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import argon2


def measure(job: dict[str, Any]) -> dict[str, Any]:
    hasher = argon2.PasswordHasher(
        time_cost=job["time_cost"], memory_cost=job["memory_kib"], parallelism=job["parallelism"], type=argon2.Type.ID
    )
    stored = hasher.hash("bench password")
    started = time.perf_counter()
    deadline = started + job["seconds"]
    done: list[float] = []

    def loop() -> None:
        while time.perf_counter() < deadline:
            hasher.verify(stored, "bench password")
            done.append(time.perf_counter())

    with ThreadPoolExecutor(job["threads"]) as pool:
        for future in [pool.submit(loop) for _ in range(job["threads"])]:
            future.result()
    return {"started": started, "done": sorted(done)}


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
