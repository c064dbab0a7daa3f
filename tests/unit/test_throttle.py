"""Tests for server.auth.throttle."""

import dataclasses

import pytest

from server.auth.throttle import Policy, address_bucket, delay_after, wait_seconds


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 0), (1, 0), (4, 0), (5, 1), (6, 2), (7, 4), (10, 32), (13, 256), (14, 300), (20, 300)],
)
def test_default_policy_delays(failures: int, expected: float) -> None:
    """Five free attempts, then 1 s doubling per failure, capped at 300 s."""
    assert delay_after(Policy(), failures) == expected


def test_huge_failure_count_is_capped_without_overflow() -> None:
    """A very large failure count gives the cap instead of an OverflowError."""
    assert delay_after(Policy(), 10**9) == 300


def test_custom_policy() -> None:
    """Custom free attempts, base and cap are honoured."""
    policy = Policy(free_attempts=0, base_delay=0.5, max_delay=10)
    assert [delay_after(policy, n) for n in range(7)] == [0.5, 1, 2, 4, 8, 10, 10]


def test_policy_is_frozen_and_validated() -> None:
    """Policies are immutable and refuse negative values."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        Policy().free_attempts = 1  # type: ignore[misc]
    with pytest.raises(ValueError):
        Policy(base_delay=-1)


@pytest.mark.parametrize(
    ("next_allowed_at", "now", "expected"),
    [(100, 100, 0), (100, 150, 0), (100.2, 100, 1), (100, 99.999, 1), (110, 100.5, 10), (110, 100, 10)],
)
def test_wait_seconds(next_allowed_at: float, now: float, expected: int) -> None:
    """Remaining wait is rounded up, at least 1 while waiting, 0 once allowed."""
    result = wait_seconds(next_allowed_at, now)
    assert result == expected
    assert isinstance(result, int)


@pytest.mark.parametrize(
    ("ip", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("unknown", "unknown"),
    ],
)
def test_address_bucket(ip: str, bucket: str) -> None:
    """IPv4 addresses count alone, IPv6 addresses by their /64, mapped IPv4 as IPv4."""
    assert address_bucket(ip) == bucket
