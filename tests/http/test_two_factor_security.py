"""Security events of 2FA: what the activity log on Profile records, and from where."""

from server import store
from server.messages import EVENTS
from tests.utils import (
    PROFILE,
    alice_id,
    code,
    event_kinds,
    post,
    start_signin,
    submit_code,
    wrong_code,
)


async def test_wrong_codes_at_signin_are_recorded_with_the_address(
    client, other_client, svc, signed_out_with_2fa, clock
):
    """A wrong code typed by someone else shows up on Profile with that browser's address."""
    await start_signin(other_client)
    await submit_code(other_client, wrong_code(signed_out_with_2fa.secret, clock))
    await start_signin(client)
    await submit_code(client, code(signed_out_with_2fa.secret, clock))
    events = await store.recent_events(svc.db, await alice_id(svc))
    failed = [e for e in events if e.kind == "signin.failed_code"]
    assert len(failed) == 1 and failed[0].ip == "10.0.0.9"
    page = (await client.get(PROFILE)).text
    activity = page[page.index('id="activity"') :]
    assert EVENTS["signin.failed_code"] in activity
    assert "10.0.0.9" in activity


async def test_every_two_factor_change_is_recorded(client, svc, clock, signed_in_with_2fa):
    """Enable, sign-in, New Backup Codes, Disable and signing out others are all in the log."""
    await post(client, "/profile/2fa/backup-code", {"code": code(signed_in_with_2fa.secret, clock)})
    clock.advance(30)
    await post(client, "/profile/2fa/disable", {"code": code(signed_in_with_2fa.secret, clock)})
    await post(client, "/sessions/signout-others")
    kinds = await event_kinds(svc)
    for kind in ("2fa.enabled", "signin", "2fa.new_backup", "2fa.disabled", "sessions.signed_out_others"):
        assert kind in kinds, kind
    page = (await client.get(PROFILE)).text
    for kind in ("2fa.enabled", "2fa.new_backup", "2fa.disabled", "sessions.signed_out_others"):
        assert EVENTS[kind] in page, kind
