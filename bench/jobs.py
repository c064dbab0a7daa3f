"""Run the load and hash-rate processes and turn their timings into rates and percentiles."""

import json
import subprocess
import sys
from typing import Any

from bench import BenchError
from tests.servers import REPO


def start(module: str, job: dict[str, Any]) -> subprocess.Popen[str]:
    """``python -m bench.MODULE JOB`` in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", f"bench.{module}", json.dumps(job)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """Wait for a process started by ``start``; its errors are errors of the run."""
    name = str(process.args[2]) if isinstance(process.args, list) else str(process.args)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise BenchError(f"{name} did not finish in {timeout:.0f} s") from None
    if process.returncode != 0:
        raise BenchError(f"{name} failed:\n{err[-3000:]}")
    answer: dict[str, Any] = json.loads(out)
    if answer.get("errors"):
        raise BenchError(f"{name}: {len(answer['errors'])} failed flows, first: {answer['errors'][0]}")
    return answer


def run(module: str, job: dict[str, Any], timeout: float) -> dict[str, Any]:
    return result(start(module, job), timeout)


def rate(starts: list[float], ends: list[float]) -> float:
    """Completions per second once the pool is full: between the first and the last completion.

    A short run whose completions all land together (the quick mode) falls back to the
    whole span from the first start.
    """
    if not ends:
        raise BenchError("nothing completed")
    span, whole = ends[-1] - ends[0], ends[-1] - starts[0]
    if len(ends) >= 2 and span >= whole / 2:
        return (len(ends) - 1) / span
    return len(ends) / whole


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        raise BenchError("no samples")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
