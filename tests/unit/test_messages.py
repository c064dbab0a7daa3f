"""Waits in messages read as people say them."""

from server.messages import duration, message


def test_one_second_is_singular():
    """ "Wait 1 second", never "Wait 1 seconds"."""
    assert (
        message("signin.throttled", seconds=1)
        == "Too many failed attempts for this account. Wait 1 second, then try again."
    )
    assert duration(1) == "1 second"


def test_short_waits_are_in_seconds_and_long_ones_in_whole_minutes():
    """Up to two minutes in seconds; from then on in minutes, rounded up so nobody retries too early."""
    assert [duration(s) for s in (2, 59, 119)] == ["2 seconds", "59 seconds", "119 seconds"]
    assert [duration(s) for s in (120, 121, 900)] == ["2 minutes", "3 minutes", "15 minutes"]
    assert "Wait 15 minutes" in message("code.throttled", seconds=900)
