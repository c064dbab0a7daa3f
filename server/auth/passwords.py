"""Argon2id hashing of passwords and backup codes, run in worker threads."""

import secrets

import anyio
import anyio.to_thread
import argon2
from argon2.exceptions import InvalidHashError, UnsupportedParametersError, VerificationError


def _encode(secret: str) -> bytes:
    # surrogatepass: a lone surrogate from a malformed form field must not raise
    return secret.encode("utf-8", "surrogatepass")


class PasswordHasher:
    """Argon2id with a bounded number of concurrent hash/verify threads."""

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
        self._limiter = anyio.CapacityLimiter(limit)
        self._dummy_hash = self._hasher.hash(_encode(secrets.token_urlsafe(16)))

    async def hash(self, secret: str) -> str:
        """Return a new argon2id hash of `secret`."""
        return await anyio.to_thread.run_sync(self._hasher.hash, _encode(secret), limiter=self._limiter)

    async def verify(self, hash_: str | None, secret: str) -> tuple[bool, bool]:
        """Return (ok, needs_rehash); a missing or malformed hash gives (False, False)."""
        if hash_ is None:
            await anyio.to_thread.run_sync(self._check, self._dummy_hash, secret, limiter=self._limiter)
            return False, False
        return await anyio.to_thread.run_sync(self._check, hash_, secret, limiter=self._limiter)

    def _check(self, hash_: str, secret: str) -> tuple[bool, bool]:
        try:
            self._hasher.verify(hash_, _encode(secret))
            return True, self._hasher.check_needs_rehash(hash_)
        except (VerificationError, InvalidHashError, UnsupportedParametersError):
            return False, False
