"""Tests for server.auth.passwords."""

import os
import sys
import threading

import anyio
import argon2
import pytest

from server.auth.passwords import LOW_PRIORITY, TAIL_CHARS, PasswordHasher, cost_of_prefix

CHEAP = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


@pytest.fixture
def hasher() -> PasswordHasher:
    """A hasher with cheap parameters."""
    return PasswordHasher(**CHEAP)


async def test_hash_is_argon2id_with_given_parameters(hasher: PasswordHasher) -> None:
    """Hashes are salted argon2id strings with the configured parameters."""
    first, second = await hasher.hash("correct horse"), await hasher.hash("correct horse")
    assert first.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert first != second


async def test_verify_correct_and_wrong(hasher: PasswordHasher) -> None:
    """The right secret verifies; a wrong one does not."""
    hashed = await hasher.hash("correct horse")
    assert await hasher.verify(hashed, "correct horse") == (True, False)
    assert await hasher.verify(hashed, "correct horsf") == (False, False)
    assert await hasher.verify(hashed, "") == (False, False)


async def test_verify_unknown_user(hasher: PasswordHasher) -> None:
    """A missing hash (unknown user) never verifies."""
    assert await hasher.verify(None, "correct horse") == (False, False)
    assert await hasher.verify(None, "") == (False, False)


@pytest.mark.parametrize(
    "bad_hash",
    [
        "",
        "not-a-hash",
        "$argon2id$v=19$m=8,t=1,p=1$bad",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$",
        "$2b$12$KIXQJQy5sZ3x0fWzQb1zOeZ5Q2cV1b6sJbQ8m3FJ8Q1Yy3vY6O1zS",
        "$argon2id$v=19$m=999999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
    ],
)
async def test_verify_malformed_hash_never_raises(hasher: PasswordHasher, bad_hash: str) -> None:
    """Malformed or foreign hashes give (False, False) instead of raising."""
    assert await hasher.verify(bad_hash, "correct horse") == (False, False)


async def test_needs_rehash_when_parameters_change(hasher: PasswordHasher) -> None:
    """A hash made with older parameters verifies but asks to be rehashed."""
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    old_hash = await hasher.hash("correct horse")
    assert await stronger.verify(old_hash, "correct horse") == (True, True)
    assert await stronger.verify(old_hash, "wrong") == (False, False)
    assert await stronger.verify(await stronger.hash("correct horse"), "correct horse") == (True, False)


async def test_unusual_unicode_secrets(hasher: PasswordHasher) -> None:
    """Non-ASCII and even lone-surrogate secrets hash and verify without raising."""
    for secret in ["pässwörd ✓", "\ud800broken"]:
        hashed = await hasher.hash(secret)
        assert await hasher.verify(hashed, secret) == (True, False)
        assert await hasher.verify(hashed, secret + "x") == (False, False)


class _ConcurrencyProbe:
    """Context manager recording how many threads are inside it at once, and which."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.threads: set[int] = set()

    def __enter__(self) -> None:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.threads.add(threading.get_ident())

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.running -= 1


async def test_work_runs_in_limited_worker_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verification runs off the event-loop thread, at most `limit` at a time, including for unknown users."""
    hasher = PasswordHasher(**CHEAP, limit=2)
    hashed = await hasher.hash("correct horse")
    loop_thread = threading.get_ident()
    probe = _ConcurrencyProbe()
    original = argon2.PasswordHasher.verify

    def slow_verify(self: argon2.PasswordHasher, hash_: str, password: bytes) -> bool:
        with probe:
            threading.Event().wait(0.05)
            return original(self, hash_, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", slow_verify)
    results: list[tuple[bool, bool]] = []

    async def one(hash_: str | None) -> None:
        results.append(await hasher.verify(hash_, "correct horse"))

    async with anyio.create_task_group() as group:
        for index in range(6):
            group.start_soon(one, hashed if index % 2 else None)
    assert sorted(results) == [(False, False)] * 3 + [(True, False)] * 3
    assert probe.peak == 2
    assert probe.threads and loop_thread not in probe.threads


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priorities are a Linux feature")
async def test_hashing_threads_run_below_the_event_loops_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sign-in storm cannot starve page views: hashing threads are niced, the event loop is not."""
    hasher = PasswordHasher(**CHEAP, limit=2)
    seen: list[int] = []
    original = argon2.PasswordHasher.verify

    def probing_verify(self: argon2.PasswordHasher, hash_: str, password: bytes) -> bool:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return original(self, hash_, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", probing_verify)
    await hasher.verify(await hasher.hash("x"), "x")
    hasher.close()
    assert seen == [LOW_PRIORITY]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < LOW_PRIORITY


async def test_cost_is_read_from_the_start_of_a_hash(hasher: PasswordHasher) -> None:
    """Start-up counts stored hashes by their start: everything but the salt and the hash names the cost."""
    hashed = await hasher.hash("correct horse")
    assert cost_of_prefix(hashed[:-TAIL_CHARS]) == (1, 8, 1)
    assert cost_of_prefix("$2b$12$KIXQJQy5sZ3x0fWzQb1zOe") is None
