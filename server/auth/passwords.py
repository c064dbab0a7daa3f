"""Argon2id hashing of passwords and backup codes, run in worker threads of low priority."""

import asyncio
import functools
import os
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, UnsupportedParametersError, VerificationError


def _encode(secret: str) -> bytes:
    # surrogatepass: a lone surrogate from a malformed form field must not raise
    return secret.encode("utf-8", "surrogatepass")


T = TypeVar("T")
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
    """Argon2id with a bounded number of concurrent hash/verify threads, below the event loop's priority."""

    def __init__(
        self,
        *,
        time_cost: int = argon2.DEFAULT_TIME_COST,
        memory_cost: int = argon2.DEFAULT_MEMORY_COST,
        parallelism: int = argon2.DEFAULT_PARALLELISM,
        limit: int = 4,
    ) -> None:
        """Hashes a dummy secret once (blocking) so unknown users cost as much as known ones."""
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._pool = ThreadPoolExecutor(limit, thread_name_prefix="argon2", initializer=_lower_priority)
        self._dummy_hash = self._hasher.hash(_encode(secrets.token_urlsafe(16)))

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
            await self._run(self._check, self._dummy_hash, secret)
            return False, False
        return await self._run(self._check, hash_, secret)

    def _check(self, hash_: str, secret: str) -> tuple[bool, bool]:
        try:
            self._hasher.verify(hash_, _encode(secret))
            return True, self._hasher.check_needs_rehash(hash_)
        except (VerificationError, InvalidHashError, UnsupportedParametersError):
            return False, False
