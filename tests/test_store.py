"""store.purge_expired: rows nobody can use any more are deleted, live ones kept."""

from server import store
from server.auth.throttle import Policy
from tests.peek import throttle_failures
from tests.utils import START


async def test_purge_drops_stale_failure_counters_but_keeps_recent_and_blocking_ones(svc):
    """Counters idle for a day go; a recent one and one still blocking stay."""
    policy = Policy(
        free_attempts=1, base_delay=2 * store.THROTTLE_FORGET_AFTER, max_delay=4 * store.THROTTLE_FORGET_AFTER
    )
    await store.claim_attempt(svc.db, "password:account:stale", START, Policy())
    await store.claim_attempt(svc.db, "password:account:blocking", START, policy)
    later = START + store.THROTTLE_FORGET_AFTER + 1
    await store.claim_attempt(svc.db, "password:account:recent", later, Policy())
    await store.purge_expired(svc.db, later, svc.settings.idle_timeout)
    assert await throttle_failures(svc.db, "password:account:stale") == 0
    assert await throttle_failures(svc.db, "password:account:blocking") == 1
    assert await throttle_failures(svc.db, "password:account:recent") == 1


async def test_purge_drops_expired_sessions_and_pending_signins(svc):
    """Sessions past their lifetime and pending sign-ins past theirs are deleted."""
    await store.create_user(svc.db, "alice", "alice", "hash", START)
    user = await store.get_user_by_key(svc.db, "alice")
    assert user is not None
    await store.create_session(svc.db, store.NewSession("h1", user.id, START, START + 60, "ua", "127.0.0.1"))
    await store.create_pending_signin(svc.db, "p1", user.id, START, START + 60, "ua", "127.0.0.1")
    await store.purge_expired(svc.db, START + 61, svc.settings.idle_timeout)
    assert await store.list_sessions(svc.db, user.id, START, svc.settings.idle_timeout) == []
    assert await store.get_pending_signin(svc.db, "p1", START, 5) is None
