"""Security events of 2FA: what the activity log on Profile records, and from where."""

import pytest

from server import store
from server.messages import EVENTS
from tests.utils import (
    PROFILE,
    code,
    post,
    start_signin,
    submit_code,
    user_with_two_factor,
    user_with_two_factor_signed_out,
    wrong_code,
)


@pytest.fixture
async def enrolled(client, svc, clock):
    """alice has 2FA on and is signed out; a minute has passed since she enabled it."""
    return await user_with_two_factor_signed_out(client, svc, clock)


async def alice_id(svc) -> int:
    user = await store.get_user_by_key(svc.db, "alice")
    assert user is not None
    return user.id


async def event_kinds(svc) -> list[str]:
    return [event.kind for event in await store.recent_events(svc.db, await alice_id(svc), limit=200)]


async def test_wrong_codes_at_signin_are_recorded_with_the_address(client, other_client, svc, enrolled, clock):
    """A wrong code typed by someone else shows up on Profile with that browser's address."""
    await start_signin(other_client)
    await submit_code(other_client, wrong_code(enrolled.secret, clock))
    await start_signin(client)
    await submit_code(client, code(enrolled.secret, clock))
    events = await store.recent_events(svc.db, await alice_id(svc))
    failed = [e for e in events if e.kind == "signin.failed_code"]
    assert len(failed) == 1 and failed[0].ip == "10.0.0.9"
    page = (await client.get(PROFILE)).text
    activity = page[page.index('id="activity"') :]
    assert EVENTS["signin.failed_code"] in activity
    assert "10.0.0.9" in activity


async def test_every_two_factor_change_is_recorded(client, svc, clock):
    """Enable, sign-in, New Backup Codes, Disable and signing out others are all in the log."""
    enrolled = await user_with_two_factor(client, svc, clock)
    await post(client, "/profile/2fa/backup-code", {"code": code(enrolled.secret, clock)})
    clock.advance(30)
    await post(client, "/profile/2fa/disable", {"code": code(enrolled.secret, clock)})
    await post(client, "/sessions/signout-others")
    kinds = await event_kinds(svc)
    for kind in ("2fa.enabled", "signin", "2fa.new_backup", "2fa.disabled", "sessions.signed_out_others"):
        assert kind in kinds, kind
    page = (await client.get(PROFILE)).text
    for kind in ("2fa.enabled", "2fa.new_backup", "2fa.disabled", "sessions.signed_out_others"):
        assert EVENTS[kind] in page, kind
