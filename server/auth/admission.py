"""Admission to argon2 work: a bounded queue, a lane for known browsers, fair shares, no waiting in vain.

Every password, re-authentication and backup-code hash asks for a slot here before it may
start. A hashing slot is one of the hasher's threads, so the thread pool itself never queues.
Requests wait in two lanes: browsers holding a valid device cookie of the account ("known")
and everyone else ("general"); a slot that frees goes to the known lane first. A lane holds a
bounded number of requests (waiting or hashing). Once the general lane is half full, one
address (an IPv4 address, an IPv6 /64) or one account gets no more than ``share`` places in
it, so whoever holds more cannot keep the other half from anyone else (below half, a lone
client may use what nobody else wants: a proxy not yet configured, a burst). A request that
would not fit, or could not start within ``max_wait`` seconds at the measured hashing rate, is
refused at once with ``Busy`` and the seconds after which trying again makes sense. The
measured time follows the hashes that finish and any running one that takes longer; should
hashing still slow down under a request already waiting, it leaves the queue with ``Busy``
after ``max_wait`` seconds instead of waiting on.
"""

import asyncio
import math
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from server.auth.throttle import address_bucket


class Busy(Exception):
    """No room to hash now: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"hashing is busy, retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Ticket:
    """Who asks to hash: the client's address, the account it names, and whether its browser is known."""

    address: str
    account: str
    known: bool = False

    @classmethod
    def of(cls, ip: str, account: str, *, known: bool = False) -> "Ticket":
        """A ticket whose address counts as its network (see ``address_bucket``)."""
        return cls(address_bucket(ip), account, known)


SMOOTHING = 0.2
"""Weight of the newest measured hash time in the running average."""


class HashQueue:
    """A bounded, two-lane, fair admission queue in front of ``slots`` hashing threads."""

    def __init__(
        self,
        *,
        slots: int,
        general: int,
        known: int,
        share: int,
        max_wait: float,
        hash_seconds: float = 0.25,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``hash_seconds`` is the first guess of one hash's time, replaced by measurement as hashes run."""
        self._slots, self._general, self._known, self._share = slots, general, known, share
        self._max_wait = max_wait
        self._clock = clock
        self.hash_seconds = hash_seconds
        self._running = 0
        self._started: list[float] = []
        self._waiting: dict[bool, deque[asyncio.Future[None]]] = {True: deque(), False: deque()}
        self._in_lane: Counter[bool] = Counter()
        self._held: Counter[str] = Counter()
        self.pacer = Pacer()

    @property
    def in_flight(self) -> int:
        """Requests admitted and not finished (waiting or hashing)."""
        return self._in_lane[True] + self._in_lane[False]

    def _hash_time(self) -> float:
        """The measured time of a hash, or longer when a hash running now has taken longer (hashing slowed)."""
        now = self._clock()
        return max([self.hash_seconds, *(now - started for started in self._started)])

    def _expected_wait(self, known: bool) -> float:
        """Seconds a new request of this lane would wait for a slot at the measured rate."""
        ahead = self._running + len(self._waiting[True]) + (0 if known else len(self._waiting[False]))
        queued = max(0, ahead - self._slots + 1)
        return math.ceil(queued / self._slots) * self._hash_time()

    def retry_after(self) -> int:
        """Whole seconds until the work admitted now is done (at least 1)."""
        return max(1, math.ceil(self.in_flight / self._slots * self._hash_time()))

    def check(self, ticket: Ticket) -> None:
        """Raise ``Busy`` now if this ticket would be refused (before work that should not be wasted)."""
        refused = self._refusal(ticket)
        if refused is not None:
            raise refused

    def _refusal(self, ticket: Ticket) -> Busy | None:
        """Why this ticket cannot be admitted now, if it cannot."""
        full = self._in_lane[ticket.known] >= (self._known if ticket.known else self._general)
        contended = self._in_lane[False] >= self._general // 2
        over_share = (
            not ticket.known
            and contended
            and (
                self._held["address:" + ticket.address] >= self._share
                or self._held["account:" + ticket.account] >= self._share
            )
        )
        if full or over_share or self._expected_wait(ticket.known) > self._max_wait:
            return Busy(self.retry_after())
        return None

    @asynccontextmanager
    async def admitted(self, ticket: Ticket) -> AsyncIterator[None]:
        """Hold a hashing slot for the body of the block; ``Busy`` at once when there is no room."""
        self.check(ticket)
        holds = [] if ticket.known else ["address:" + ticket.address, "account:" + ticket.account]
        self._in_lane[ticket.known] += 1
        self._held.update(holds)
        try:
            await self._take_slot(ticket.known)
            started = self._clock()
            self._started.append(started)
            try:
                yield
            finally:
                self._started.remove(started)
                self._measured(self._clock() - started)
                self._release_slot()
        finally:
            self._in_lane[ticket.known] -= 1
            self._held.subtract(holds)
            self._held = +self._held  # drop the zero counts: addresses come and go

    async def _take_slot(self, known: bool) -> None:
        """A free slot now, or one handed over within ``max_wait`` (else ``Busy``: hashing slowed down)."""
        if self._running < self._slots and not self._waiting[True] and not self._waiting[False]:
            self._running += 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[known].append(turn)
        try:
            async with asyncio.timeout(self._max_wait):
                await turn
        except (TimeoutError, asyncio.CancelledError) as gone:
            if turn.done() and not turn.cancelled():
                self._release_slot()  # the slot came as the request went: pass it on
            elif turn in self._waiting[known]:
                self._waiting[known].remove(turn)
            if isinstance(gone, TimeoutError):
                raise Busy(self.retry_after()) from None
            raise

    def _release_slot(self) -> None:
        """Hand the slot to the next waiter still waiting, known browsers first; else free it."""
        for lane in (True, False):
            while self._waiting[lane]:
                turn = self._waiting[lane].popleft()
                if not turn.done():  # a waiter cancelled a moment ago is skipped
                    turn.set_result(None)
                    return
        self._running -= 1

    def _measured(self, seconds: float) -> None:
        self.hash_seconds += SMOOTHING * (seconds - self.hash_seconds)


class Pacer:
    """Busy answers to an address that ignores its ``Retry-After`` come no faster than it said.

    A busy answer costs the server little, so a client looping on it would turn a flood of
    sign-ins into a flood of requests. The first busy answer comes at once; one that comes
    back before its ``Retry-After`` has passed waits out the rest (at most ``most`` seconds),
    holding nothing but its connection.
    """

    def __init__(
        self,
        *,
        most: float = 2.0,
        remember: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._most, self._remember, self._clock, self._sleep = most, remember, clock, sleep
        self._told: dict[str, float] = {}

    async def pace(self, address: str, retry_after: int) -> None:
        """Before telling ``address`` to retry after ``retry_after`` seconds: wait out what it was told last."""
        now = self._clock()
        early = min(self._told.get(address, now) - now, self._most)
        if early > 0:
            await self._sleep(early)
            now += early
        self._forget_old(now)
        self._told[address] = now + retry_after

    def _forget_old(self, now: float) -> None:
        if len(self._told) >= self._remember:
            self._told = {address: until for address, until in self._told.items() if until > now}
        while len(self._told) >= self._remember:
            del self._told[next(iter(self._told))]
