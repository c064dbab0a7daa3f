"""The hashing admission queue: bounded lanes, fair shares, known browsers first, refusals at once."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from server.auth.admission import Busy, HashQueue, Pacer, Ticket


def queue(**overrides: float) -> HashQueue:
    options: dict[str, float] = {"slots": 2, "general": 6, "known": 2, "share": 2, "max_wait": 60.0}
    options.update(overrides)
    return HashQueue(**options, hash_seconds=0.5, clock=lambda: 0.0)  # type: ignore[arg-type]


class Holder:
    """Requests that entered the queue and hold their place (waiting or hashing) until released."""

    def __init__(self, q: HashQueue) -> None:
        self.q = q
        self.order: list[str] = []
        self.release = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def _hold(self, name: str, ticket: Ticket) -> None:
        async with self.q.admitted(ticket):
            self.order.append(name)
            await self.release.wait()

    async def enter(self, name: str, ticket: Ticket) -> None:
        self.tasks.append(asyncio.create_task(self._hold(name, ticket)))
        await asyncio.sleep(0)  # let it take its slot or its place in line

    async def finish(self) -> None:
        self.release.set()
        await asyncio.gather(*self.tasks)


@asynccontextmanager
async def holding(q: HashQueue) -> AsyncIterator[Holder]:
    holder = Holder(q)
    try:
        yield holder
    finally:
        await holder.finish()


async def test_a_full_general_lane_refuses_at_once_with_a_retry_after():
    """When the general lane is full, the next request gets Busy immediately, never a wait."""
    q = queue(general=3, share=9)
    async with holding(q) as held:
        for n in range(3):
            await held.enter(f"r{n}", Ticket.of(f"10.0.0.{n}", f"user{n}"))
        with pytest.raises(Busy) as refused:
            async with asyncio.timeout(0.5):
                async with q.admitted(Ticket.of("10.0.0.9", "user9")):
                    pass
    # 3 in flight on 2 slots at 0.5 s a hash: done in 0.75 s, rounded up
    assert refused.value.retry_after == 1


async def refused_past_its_share(held_tickets: list[Ticket], refused: Ticket, admitted: Ticket) -> None:
    """With ``held_tickets`` in a queue of share 2 (a general lane of 6), ``refused`` gets Busy and ``admitted`` gets in."""
    q = queue(share=2)
    async with holding(q) as held:
        for n, ticket in enumerate(held_tickets):
            await held.enter(f"r{n}", ticket)
        with pytest.raises(Busy):
            q.check(refused)
        q.check(admitted)


async def test_one_address_holds_at_most_its_share_once_the_lane_is_half_full():
    """With the general lane half full, an address holding its share is refused; another address still gets in."""
    await refused_past_its_share(
        [Ticket.of("10.0.0.1", "x"), Ticket.of("10.0.0.1", "y"), Ticket.of("10.0.0.3", "w")],
        refused=Ticket.of("10.0.0.1", "z"),
        admitted=Ticket.of("10.0.0.2", "z"),
    )


async def test_a_lone_address_may_use_half_the_general_lane():
    """Below half the lane nobody is kept waiting, so one address (a proxy, a burst) may go past its share."""
    q = queue(share=1)  # a general lane of 6
    async with holding(q) as held:
        for n in range(3):
            q.check(Ticket.of("10.0.0.1", f"user{n}"))
            await held.enter(f"r{n}", Ticket.of("10.0.0.1", f"user{n}"))
        with pytest.raises(Busy):
            q.check(Ticket.of("10.0.0.1", "user9"))
        q.check(Ticket.of("10.0.0.2", "user9"))


async def test_an_ipv6_network_counts_as_one_address():
    """Addresses of one IPv6 /64 share one share."""
    await refused_past_its_share(
        [Ticket.of("2001:db8::1", "x"), Ticket.of("2001:db8::2", "y"), Ticket.of("10.0.0.3", "w")],
        refused=Ticket.of("2001:db8::ffff", "z"),
        admitted=Ticket.of("2001:db8:0:1::1", "z"),
    )


async def test_one_account_holds_at_most_its_share():
    """Guesses at one account from many addresses hold at most its share of the general lane."""
    await refused_past_its_share(
        [Ticket.of("10.0.0.1", "alice"), Ticket.of("10.0.0.2", "alice"), Ticket.of("10.0.0.4", "bob")],
        refused=Ticket.of("10.0.0.3", "alice"),
        admitted=Ticket.of("10.0.0.3", "bob"),
    )


async def test_shares_are_given_back():
    """Once its requests are done, an address may hash again."""
    q = queue(share=1, general=2)
    async with holding(q) as held:
        await held.enter("a", Ticket.of("10.0.0.1", "x"))
        with pytest.raises(Busy):
            q.check(Ticket.of("10.0.0.1", "x"))
    q.check(Ticket.of("10.0.0.1", "x"))
    assert q.in_flight == 0


async def test_known_browsers_have_their_own_lane_and_go_first():
    """With the general lane full, a known browser is admitted and takes the next free slot before waiting strangers."""
    q = queue(general=4, share=9, known=2)
    async with holding(q) as held:
        for n in range(4):
            await held.enter(f"stranger{n}", Ticket.of(f"10.0.0.{n}", f"user{n}"))
        with pytest.raises(Busy):
            q.check(Ticket.of("10.0.0.8", "alice"))
        await held.enter("owner", Ticket.of("10.0.0.8", "alice", known=True))
        assert held.order == ["stranger0", "stranger1"]  # two slots, both hashing
        held.release.set()
        await asyncio.gather(*held.tasks)
    assert held.order.index("owner") == 2


async def test_the_known_lane_is_bounded_too():
    """A stolen or shared device cookie cannot queue without bound: the known lane refuses past its size."""
    q = queue(known=1, slots=1)
    async with holding(q) as held:
        await held.enter("a", Ticket.of("10.0.0.1", "alice", known=True))
        with pytest.raises(Busy):
            q.check(Ticket.of("10.0.0.2", "alice", known=True))


async def test_a_request_that_could_not_start_within_the_max_wait_is_refused():
    """At the measured rate, a place further back than ``max_wait`` is refused at once."""
    q = queue(slots=1, general=50, share=50, max_wait=1.0)  # 0.5 s a hash, one slot
    async with holding(q) as held:
        for n in range(3):
            await held.enter(f"r{n}", Ticket.of("10.0.0.1", "x"))
        with pytest.raises(Busy) as refused:
            q.check(Ticket.of("10.0.0.2", "y"))
    assert refused.value.retry_after == 2  # 3 in flight, 0.5 s each


async def test_retry_after_follows_the_measured_hash_time():
    """Retry-After grows when hashes are measured to take longer."""
    now = [0.0]
    q = HashQueue(slots=1, general=2, known=1, share=2, max_wait=600.0, hash_seconds=0.5, clock=lambda: now[0])
    for _ in range(30):
        async with q.admitted(Ticket.of("10.0.0.1", "x")):
            now[0] += 4.0
    async with holding(q) as held:
        await held.enter("a", Ticket.of("10.0.0.1", "x"))
        await held.enter("b", Ticket.of("10.0.0.2", "y"))
        with pytest.raises(Busy) as refused:
            q.check(Ticket.of("10.0.0.3", "z"))
    assert 7 <= refused.value.retry_after <= 8


async def test_a_request_that_leaves_while_waiting_gives_its_place_back():
    """A client gone while waiting (cancelled) frees its place and its share; slots stay usable."""
    q = queue(slots=1, share=1)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(q.admitted(Ticket.of("10.0.0.1", "x")))
        waiter = asyncio.create_task(stack.enter_async_context(q.admitted(Ticket.of("10.0.0.2", "y"))))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        q.check(Ticket.of("10.0.0.2", "y"))
    assert q.in_flight == 0
    async with asyncio.timeout(1):
        async with q.admitted(Ticket.of("10.0.0.2", "y")):
            pass


async def test_a_hash_running_longer_than_measured_counts_at_once():
    """When a running hash has already taken longer than the average, estimates and Retry-After follow it."""
    now = [0.0]
    q = HashQueue(slots=1, general=4, known=1, share=4, max_wait=5.0, hash_seconds=0.5, clock=lambda: now[0])
    async with holding(q) as held:
        await held.enter("slow", Ticket.of("10.0.0.1", "x"))
        q.check(Ticket.of("10.0.0.2", "y"))  # one hash ahead at 0.5 s: admitted
        now[0] += 6.0  # hashing slowed down: the running one has taken 6 s so far
        with pytest.raises(Busy) as refused:
            q.check(Ticket.of("10.0.0.2", "y"))
    assert refused.value.retry_after == 6


async def test_a_waiter_leaves_with_busy_after_the_max_wait():
    """A request admitted while hashing then stalls does not wait on: Busy after ``max_wait``, its place given back."""
    q = HashQueue(slots=1, general=4, known=1, share=4, max_wait=0.05, hash_seconds=0.001)
    async with holding(q) as held:
        await held.enter("stalled", Ticket.of("10.0.0.1", "x"))
        with pytest.raises(Busy):
            async with asyncio.timeout(5):
                async with q.admitted(Ticket.of("10.0.0.2", "y")):
                    pass
        assert q.in_flight == 1
    assert q.in_flight == 0
    async with asyncio.timeout(1):
        async with q.admitted(Ticket.of("10.0.0.2", "y")):
            pass


class Sleeps:
    """An injected sleep that only moves a fake clock, recording each wait."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


async def test_the_first_busy_answer_comes_at_once_and_a_repeat_only_after_its_retry_after():
    """An address that comes back before its Retry-After waits out the rest; on time, or another address, at once."""
    t = Sleeps()
    pacer = Pacer(most=5.0, clock=t.clock, sleep=t.sleep)
    await pacer.pace("10.0.0.1", 3)
    assert t.waits == []
    t.now += 1.0
    await pacer.pace("10.0.0.1", 3)  # 1 s later: 2 s early
    assert t.waits == [2.0]
    await pacer.pace("10.0.0.2", 3)
    t.now += 3.0
    await pacer.pace("10.0.0.1", 3)  # on time
    assert t.waits == [2.0]


async def test_a_paced_answer_waits_at_most_the_cap():
    """However long the last Retry-After, a busy answer is never held longer than ``most`` seconds."""
    t = Sleeps()
    pacer = Pacer(most=1.5, clock=t.clock, sleep=t.sleep)
    await pacer.pace("10.0.0.1", 30)
    await pacer.pace("10.0.0.1", 30)
    assert t.waits == [1.5]


async def test_the_pacer_remembers_a_bounded_number_of_addresses():
    """A flood from ever new addresses cannot grow the pacer's memory past its bound."""
    t = Sleeps()
    pacer = Pacer(remember=100, clock=t.clock, sleep=t.sleep)
    for n in range(1000):
        await pacer.pace(f"10.0.{n // 250}.{n % 250}", 60)
    assert len(pacer._told) <= 100
