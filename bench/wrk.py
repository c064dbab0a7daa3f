"""wrk: requests per second and latency percentiles of one GET, with the session cookie as a header."""

import re
import shutil
import subprocess
from dataclasses import dataclass

from bench import BenchError

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles in milliseconds, and how many requests."""

    rps: float
    requests: int
    p50: float
    p75: float
    p90: float
    p99: float


def available() -> bool:
    return shutil.which("wrk") is not None


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not match:
        raise BenchError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse(output: str) -> WrkResult:
    """Read wrk's summary; non-2xx/3xx answers or socket errors are errors of the run."""
    if "Non-2xx or 3xx responses" in output or "Socket errors" in output:
        raise BenchError(f"wrk saw failed requests:\n{output}")
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    percent = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", output, re.M))
    if not rps or not total or len(percent) != 4:
        raise BenchError(f"cannot read wrk output:\n{output}")
    return WrkResult(
        rps=float(rps.group(1)),
        requests=int(total.group(1)),
        p50=_ms(percent["50"]),
        p75=_ms(percent["75"]),
        p90=_ms(percent["90"]),
        p99=_ms(percent["99"]),
    )


def run(url: str, seconds: float, connections: int = 32, headers: dict[str, str] | None = None) -> WrkResult:
    """``wrk -t1 -cN -dS --latency`` against ``url``."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 30)
    if result.returncode != 0:
        raise BenchError(f"wrk failed:\n{result.stdout}{result.stderr}")
    return parse(result.stdout)
