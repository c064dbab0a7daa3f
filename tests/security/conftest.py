"""Fixtures of the attack suite, and its "attacks: N tried, M refused" figure."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIGURES
from tests.utils import browser

HERE = Path(__file__).resolve().parent
NOT_ATTACKS = {"test_fuzz.py"}  # fuzzing reports its own figure
OUTCOMES = pytest.StashKey[dict[str, bool]]()


def _is_attack(report: pytest.TestReport) -> bool:
    path = Path(report.fspath).resolve()
    return path.parent == HERE and path.name.startswith("test_") and path.name not in NOT_ATTACKS


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Remember, per attack test, whether every phase that ran passed (skipped tests were not tried)."""
    report = yield
    if _is_attack(report):
        outcomes = item.config.stash.setdefault(OUTCOMES, {})
        if report.skipped:
            outcomes.pop(report.nodeid, None)
        else:
            outcomes[report.nodeid] = outcomes.get(report.nodeid, True) and report.passed
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_terminal_summary(config: pytest.Config) -> None:
    """Add the attack count to the run's figures (printed by ``tests/conftest.py``)."""
    outcomes = config.stash.get(OUTCOMES, {})
    if outcomes:
        refused = sum(outcomes.values())
        config.stash.setdefault(FIGURES, []).append(f"attacks: {len(outcomes)} tried, {refused} refused")


@pytest.fixture
async def racer(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """A browser whose simultaneous requests each get their own request state, as under uvicorn."""
    async with browser(app, ip="10.0.0.20") as b:
        yield b
