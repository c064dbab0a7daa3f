"""Username enumeration by timing after the argon2 settings changed: unknown names cost what most stored hashes cost."""

import dataclasses

from asgi_lifespan import LifespanManager

from server import store
from server.app import create_app, open_services
from server.auth.passwords import PasswordHasher
from server.flows import account, signin
from server.web import Client
from tests.utils import PASSWORD, add_user

OLD = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
CLIENT = Client(ip="10.3.0.1", user_agent="test")


async def _accounts_hashed_with_old_settings(svc, names: list[str]) -> None:
    """Accounts made before the change, which have not signed in since: their hashes keep the old cost."""
    old = PasswordHasher(**OLD, limit=1)
    try:
        for name in names:
            assert await store.create_user(svc.db, name, name, await old.hash(PASSWORD), svc.clock())
    finally:
        old.close()


async def test_unknown_names_verify_a_dummy_with_the_most_common_stored_settings(svc, settings, clock):
    """Three accounts at t=1 and one at t=2, server now at t=2: an unknown name is verified at t=1, like most."""
    await _accounts_hashed_with_old_settings(svc, ["ann", "ben", "cy"])
    await add_user(svc, "dee")
    changed = dataclasses.replace(settings, argon2_time_cost=2)
    async with open_services(changed, clock=clock) as restarted:
        await account.count_password_hashes(restarted)  # what the server's start does
        assert restarted.hasher.dummy_parameters == (1, 8, 1)
        result = await signin.check_password(restarted, "nobody", PASSWORD, CLIENT)
        assert result.status is signin.Status.INVALID


async def test_dummy_follows_the_stored_hashes_as_they_are_rehashed(svc, settings, clock):
    """As the old accounts sign in and are rehashed, the dummy moves to the new settings without a restart."""
    await _accounts_hashed_with_old_settings(svc, ["ann", "ben", "cy"])
    changed = dataclasses.replace(settings, argon2_time_cost=2)
    async with open_services(changed, clock=clock) as restarted:
        await account.count_password_hashes(restarted)  # what the server's start does
        assert restarted.hasher.dummy_parameters == (1, 8, 1)
        for name in ("ann", "ben"):
            assert (await signin.check_password(restarted, name, PASSWORD, CLIENT)).status is signin.Status.OK
        assert restarted.hasher.dummy_parameters == (2, 8, 1)
        assert (await signin.check_password(restarted, "nobody", PASSWORD, CLIENT)).status is signin.Status.INVALID


async def test_without_accounts_the_dummy_uses_the_configured_settings(svc, settings, clock):
    """An empty database: unknown names cost what a new account's hash will cost."""
    async with open_services(dataclasses.replace(settings, argon2_time_cost=2), clock=clock) as restarted:
        await account.count_password_hashes(restarted)
        assert restarted.hasher.dummy_parameters == (2, 8, 1)


async def test_the_server_counts_the_stored_hashes_at_start(svc, settings, clock):
    """The real start-up (the app's lifespan) does the count: its dummy has the old settings."""
    await _accounts_hashed_with_old_settings(svc, ["ann"])
    application = create_app(dataclasses.replace(settings, argon2_time_cost=2), clock=clock, announce=print)
    async with LifespanManager(application) as manager:
        assert manager._state["services"].hasher.dummy_parameters == (1, 8, 1)
