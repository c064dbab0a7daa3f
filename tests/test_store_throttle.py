"""store.claim_attempt under concurrency: requests that read the clock in one order may write in the other."""

from server import store
from server.auth.throttle import Policy
from tests.peek import throttle_failures
from tests.utils import START


async def test_free_attempt_written_after_a_later_one_is_not_throttled(svc):
    """Two sign-ins from one address: the one whose clock reading is older but whose update lands second goes ahead."""
    key = "password:address:10.1.2.3"
    assert await store.claim_attempt(svc.db, key, START + 0.002, Policy()) is None
    assert await store.claim_attempt(svc.db, key, START + 0.001, Policy()) is None
    assert await throttle_failures(svc.db, key) == 2


async def test_attempts_past_the_free_ones_are_still_delayed(svc):
    """The delay after the free attempts holds, whatever order the clock readings arrive in."""
    key = "password:account:mallory"
    policy = Policy(free_attempts=2, base_delay=10, max_delay=60)
    assert await store.claim_attempt(svc.db, key, START + 0.002, policy) is None
    assert await store.claim_attempt(svc.db, key, START + 0.001, policy) is None
    assert await store.claim_attempt(svc.db, key, START + 0.003, policy) == START + 10.001
    assert await store.claim_attempt(svc.db, key, START + 5, policy) == START + 10.001
