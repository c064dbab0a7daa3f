"""Argon2id hashing of passwords and backup codes, run in worker threads of low priority."""

import asyncio
import functools
import os
import re
import secrets
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, UnsupportedParametersError, VerificationError


def _encode(secret: str) -> bytes:
    # surrogatepass: a lone surrogate from a malformed form field must not raise
    return secret.encode("utf-8", "surrogatepass")


T = TypeVar("T")
Cost = tuple[int, int, int]
"""The argon2 parameters that set the cost of a verify: (time_cost, memory_cost in KiB, parallelism)."""

SALT_BYTES = 16
HASH_BYTES = 32
TAIL_CHARS = 22 + 1 + 43
"""Characters after the parameters in our hashes: "<salt, 16 bytes in base64>$<hash, 32 bytes in base64>"."""
_PREFIX = re.compile(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")


def cost_of_prefix(prefix: str) -> Cost | None:
    """The cost named by the start of one of our hashes (everything but its last ``TAIL_CHARS``)."""
    match = _PREFIX.fullmatch(prefix)
    if match is None:
        return None
    memory, time, lanes = (int(group) for group in match.groups())
    return time, memory, lanes


LOW_PRIORITY = 19
"""The nice value of hashing threads (and of the threads libargon2 starts from them)."""


def _lower_priority() -> None:
    """Make the calling worker thread yield the CPU to the event loop.

    A sign-in storm fills every core with hashing; at equal priority the event loop gets
    a thin share and every page waits behind the hashes. Linux applies ``setpriority`` to
    one thread when given its id; elsewhere it would renice the whole process, so not there.
    """
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY)


class PasswordHasher:
    """Argon2id with a bounded number of concurrent hash/verify threads, below the event loop's priority.

    Unknown users are verified against a dummy hash, which must cost what a real account's
    verify costs. After the parameters change, stored hashes keep the old cost until their
    next sign-in, so the dummy takes the cost most stored hashes have: counted at start
    (``count_stored``) and kept current as hashes are stored (``stored_hash_changed``).
    """

    def __init__(
        self,
        *,
        time_cost: int = argon2.DEFAULT_TIME_COST,
        memory_cost: int = argon2.DEFAULT_MEMORY_COST,
        parallelism: int = argon2.DEFAULT_PARALLELISM,
        limit: int = 4,
    ) -> None:
        """Hashes a dummy secret once (blocking) so unknown users cost as much as known ones."""
        self._cost: Cost = (time_cost, memory_cost, parallelism)
        self._hasher = _argon2(self._cost)
        self._pool = ThreadPoolExecutor(limit, thread_name_prefix="argon2", initializer=_lower_priority)
        self._dummies = {self._cost: self._hasher.hash(_encode(secrets.token_urlsafe(16)))}
        self._stored: Counter[Cost] = Counter()
        self._dummy_cost = self._cost

    @property
    def dummy_parameters(self) -> Cost:
        """The cost of the dummy verify an unknown user gets now."""
        return self._dummy_cost

    def count_stored(self, prefixes: Mapping[str, int]) -> None:
        """Take the count of stored hashes per prefix (see ``cost_of_prefix``); unknown prefixes are ignored."""
        self._stored = Counter()
        for prefix, count in prefixes.items():
            cost = cost_of_prefix(prefix)
            if cost is not None:
                self._stored[cost] += count
        self._choose_dummy()
        if self._dummy_cost not in self._dummies:  # at start (blocking): the first unknown name must not pay for it
            self._dummies[self._dummy_cost] = _argon2(self._dummy_cost).hash(_encode(secrets.token_urlsafe(16)))

    def stored_hash_changed(self, old: str | None, new: str) -> None:
        """An account's hash was stored (``old`` None: a new account): keep the count current."""
        for hash_, change in ((old, -1), (new, 1)):
            cost = cost_of_prefix(hash_[:-TAIL_CHARS]) if hash_ else None
            if cost is not None:
                self._stored[cost] = max(0, self._stored[cost] + change)
        self._choose_dummy()

    def _choose_dummy(self) -> None:
        """The most common stored cost (on a tie, or with no accounts, the configured one)."""
        top = max(self._stored.values(), default=0)
        if top == 0 or self._stored[self._cost] == top:
            self._dummy_cost = self._cost
        else:
            self._dummy_cost = min(cost for cost, count in self._stored.items() if count == top)

    def close(self) -> None:
        """Stop the worker threads (after the work already given to them)."""
        self._pool.shutdown()

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(work, *args))

    async def hash(self, secret: str) -> str:
        """Return a new argon2id hash of `secret`."""
        return await self._run(self._hasher.hash, _encode(secret))

    async def verify(self, hash_: str | None, secret: str) -> tuple[bool, bool]:
        """Return (ok, needs_rehash); a missing or malformed hash gives (False, False)."""
        if hash_ is None:
            await self._run(self._check_dummy, self._dummy_cost, secret)
            return False, False
        return await self._run(self._check, hash_, secret)

    def _check_dummy(self, cost: Cost, secret: str) -> None:
        """Verify against the dummy of ``cost``, made the first time it is needed (in this worker thread)."""
        dummy = self._dummies.get(cost)
        if dummy is None:
            dummy = self._dummies[cost] = _argon2(cost).hash(_encode(secrets.token_urlsafe(16)))
        self._check(dummy, secret)

    def _check(self, hash_: str, secret: str) -> tuple[bool, bool]:
        try:
            self._hasher.verify(hash_, _encode(secret))
            return True, self._hasher.check_needs_rehash(hash_)
        except (VerificationError, InvalidHashError, UnsupportedParametersError):
            return False, False


def _argon2(cost: Cost) -> argon2.PasswordHasher:
    time_cost, memory_cost, parallelism = cost
    return argon2.PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=HASH_BYTES,
        salt_len=SALT_BYTES,
        type=argon2.Type.ID,
    )
