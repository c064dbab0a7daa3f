"""The result table (one line per ratio, with its target and PASS/FAIL) and the JSON file."""

import json
import os
import platform
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.wrk import WrkResult


@dataclass(frozen=True)
class Row:
    """One measured ratio (or, without a target, a figure for the record)."""

    row: str
    what: str
    value: float | None
    target: str
    passed: bool | None
    measured: str
    data: dict[str, Any] = field(default_factory=dict)


def at_least(row: str, what: str, value: float, limit: float, measured: str, **data: Any) -> Row:
    return Row(row, what, value, f">= {limit:g}", value >= limit, measured, data)


def at_most(row: str, what: str, value: float, limit: float, measured: str, **data: Any) -> Row:
    return Row(row, what, value, f"<= {limit:g}", value <= limit, measured, data)


def p99_ratio(row: str, what: str, idle: WrkResult, busy: WrkResult, load: str, **data: Any) -> Row:
    """One wrk connection's p99 under a load ÷ its p99 idle, at most 3; ``data`` names the busy p99."""
    return at_most(
        row,
        what,
        busy.p99 / idle.p99,
        3,
        f"{busy.p99:.1f} ms ÷ {idle.p99:.1f} ms ({load})",
        idle_p99_ms=idle.p99,
        **data,
    )


def record(row: str, what: str, measured: str, **data: Any) -> Row:
    return Row(row, what, None, "", None, measured, data)


def machine() -> dict[str, Any]:
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu.group(1) if cpu else platform.processor(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def table(rows: list[Row]) -> str:
    """A Markdown table: it reads in a terminal and pastes into the README."""
    lines = ["| Row | Measure | Ratio | Target | Result | Measured side by side |", "|---|---|---|---|---|---|"]
    for r in rows:
        value = "" if r.value is None else f"{r.value:.2f}"
        result = "record" if r.passed is None else ("PASS" if r.passed else "FAIL")
        lines.append(f"| {r.row} | {r.what} | {value} | {r.target} | {result} | {r.measured} |")
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
