"""Tests for server.auth.devices."""

from types import SimpleNamespace

import pytest

from server.auth import devices
from server.auth.devices import summarize_user_agent

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (CHROME_WINDOWS, "Chrome 120 on Windows 10"),
        (
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            "Firefox 121 on Ubuntu",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
            "Safari on iPhone (iOS 17)",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/16.6 Mobile/15E148 Safari/604.1",
            "Safari on iPad (iOS 16)",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
            "Chrome 120 on iPhone (iOS 17)",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.1 Safari/605.1.15",
            "Safari 17 on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.144 Mobile Safari/537.36",
            "Chrome 120 on Pixel 8 (Android 14)",
        ),
        (
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36",
            "Chrome 120 on Android 10",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
            "Edge 120 on Windows 10",
        ),
        ("curl/8.4.0", "curl 8"),
    ],
)
def test_known_user_agents(ua: str, expected: str) -> None:
    """Common browsers are summarized as browser, major version and platform."""
    assert summarize_user_agent(ua) == expected


@pytest.mark.parametrize("ua", [None, "", "   ", "garbage", "python-httpx/0.28.1"])
def test_unknown_user_agents(ua: str | None) -> None:
    """Missing or unrecognizable User-Agents give "Unknown device"."""
    assert summarize_user_agent(ua) == "Unknown device"


def _fake_parsed(browser: str, device: str) -> SimpleNamespace:
    """A stand-in for user_agents' parse result: a phone running Android 14."""
    return SimpleNamespace(
        browser=SimpleNamespace(family=browser, version=(1,)),
        os=SimpleNamespace(family="Android", version=(14,)),
        device=SimpleNamespace(family=device, brand="Acme"),
        is_mobile=True,
        is_tablet=False,
    )


def test_huge_user_agents_stay_short() -> None:
    """Absurdly long headers still give short summaries."""
    ua = "Mozilla/5.0 (Linux; Android 14; SM-" + "Y" * 5000 + ") Chrome/120.0.0.0 Mobile Safari/537.36"
    assert len(summarize_user_agent(ua)) <= 120
    assert len(summarize_user_agent("A" * 5000 + "/1.0")) <= 120


def test_long_summary_is_clipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A summary longer than 120 characters is clipped to 120 with an ellipsis."""
    parsed = _fake_parsed(browser="B" * 80, device="D" * 80)
    monkeypatch.setattr(devices, "parse", lambda ua: parsed)
    summary = summarize_user_agent("anything")
    assert len(summary) == 120
    assert summary.startswith("B" * 80 + " 1 on DDD")
    assert summary.endswith("…")


def test_control_characters_are_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control and bidi-override characters never reach the summary."""
    parsed = _fake_parsed(browser="Evil\x1b[31m", device="Model\u202eX\x07")
    monkeypatch.setattr(devices, "parse", lambda ua: parsed)
    assert summarize_user_agent("anything") == "Evil[31m 1 on ModelX (Android 14)"
