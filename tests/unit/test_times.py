"""Times in the plant's zone, named, with a relative time from the injected clock."""

import pytest

from server.settings import Settings, SettingsError
from server.times import Times, relative, zone_of

WINTER = 1_796_000_000.0  # 30 Nov 2026, 00:53:20 UTC


def test_a_time_reads_in_the_configured_zone_and_names_it():
    """Europe/Berlin in winter: an hour ahead of UTC, written with CET and the offset in datetime=."""
    times = Times(zone_of("Europe/Berlin"), lambda: WINTER + 300, "Europe/Berlin")
    assert times.datetime(WINTER) == "30 Nov 2026, 01:53 CET"
    assert times.iso(WINTER) == "2026-11-30T01:53:20+01:00"
    assert times.zone_name() == "Europe/Berlin (CET)"
    assert (
        str(times.tag(WINTER))
        == '<time datetime="2026-11-30T01:53:20+01:00">30 Nov 2026, 01:53 CET</time> <span class="ago">(5 min ago)</span>'
    )


def test_a_session_seen_within_a_minute_is_active_now():
    """ "Active now" for the last minute, then minutes ago."""
    times = Times(zone_of("UTC"), lambda: WINTER + 30, "UTC")
    assert "(Active now)" in times.tag(WINTER, active=True)
    assert "(just now)" in times.tag(WINTER)
    assert "(2 min ago)" in Times(zone_of("UTC"), lambda: WINTER + 150, "UTC").tag(WINTER, active=True)


def test_relative_times():
    """Minutes, hours, then days."""
    assert [relative(s) for s in (0, 59, 60, 3599, 3600, 86399, 86400, 3 * 86400)] == [
        "just now",
        "just now",
        "1 min ago",
        "59 min ago",
        "1 h ago",
        "23 h ago",
        "1 day ago",
        "3 days ago",
    ]


def test_an_unknown_zone_is_refused_at_start():
    """MIROX_TIME_ZONE must be a zone name; empty means the server's own zone."""
    with pytest.raises(SettingsError, match="MIROX_TIME_ZONE"):
        Settings.from_env({"MIROX_TIME_ZONE": "Mars/Olympus"})
    assert Settings.from_env({}).time_zone == ""
    assert Times(zone_of(""), lambda: WINTER).datetime(WINTER)
