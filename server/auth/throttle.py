"""Delay policy for repeated failures (exponential back-off after free attempts)."""

import ipaddress
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """How many failures are free, and how the delay grows after that."""

    free_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 300.0

    def __post_init__(self) -> None:
        if self.free_attempts < 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("throttle policy values must not be negative")


def delay_after(policy: Policy, failures: int) -> float:
    """Seconds to wait after `failures` consecutive failures."""
    if failures < policy.free_attempts:
        return 0.0
    exponent = min(failures - policy.free_attempts, 1000)  # 2.0**1024 overflows
    return min(policy.max_delay, policy.base_delay * 2.0**exponent)


def wait_seconds(next_allowed_at: float, now: float) -> int:
    """Whole seconds still to wait (rounded up, at least 1 while waiting), 0 when allowed."""
    remaining = next_allowed_at - now
    if remaining <= 0:
        return 0
    return max(1, math.ceil(remaining))


def address_bucket(ip: str) -> str:
    """The network a per-address counter counts: an IPv4 address, or the /64 of an IPv6 address.

    One IPv6 host is usually handed a whole /64, so counting exact IPv6 addresses would let
    it rotate through billions of fresh counters. IPv4-mapped addresses count as IPv4.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
