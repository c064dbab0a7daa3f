"""Use Backup Code at sign-in: the recovery path that signs in once and turns 2FA off."""

import pytest

from server import store
from server.messages import EVENTS
from tests.utils import (
    BACKUP,
    PROFILE,
    another_backup_code,
    enable_two_factor,
    security_card,
    shows,
    sign_in,
    sign_out,
    start_signin,
    submit_backup_code,
    user_row,
)


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c,
        lambda c: c.lower(),
        lambda c: c.replace("-", ""),
        lambda c: c.replace("-", "").lower(),
        lambda c: f"  {c[:2]} {c[2:4]} - {c[5:7]} {c[7:]}  ",
        lambda c: c.replace("-", " ").lower(),
    ],
    ids=["as-shown", "lower-case", "no-hyphen", "lower-no-hyphen", "spaces", "space-for-hyphen"],
)
async def test_backup_code_is_accepted_in_any_case_with_or_without_hyphen(client, signed_out_with_2fa, typed):
    """Case, the hyphen and spaces do not matter when typing the backup code."""
    await start_signin(client)
    response = await submit_backup_code(client, typed(signed_out_with_2fa.backup_code))
    assert response.status_code == 303, response.text
    assert client.cookies.get("mirox_session")


async def test_backup_code_signs_in_and_turns_two_factor_off(client, svc, signed_out_with_2fa):
    """Success lands on Profile with a session, and the secret and backup hash are deleted."""
    await start_signin(client)
    response = await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert response.status_code == 303
    assert response.headers["location"] == PROFILE
    row = await user_row(svc)
    assert row["totp_secret_sealed"] is None
    assert row["backup_code_hash"] is None
    assert row["totp_enabled_at"] is None
    assert row["totp_last_step"] is None


async def test_profile_after_backup_signin_explains_that_two_factor_is_off(client, signed_out_with_2fa):
    """Profile shows the backup-used notice, the Disabled badge and the Enable button."""
    await start_signin(client)
    await submit_backup_code(client, signed_out_with_2fa.backup_code)
    card = security_card((await client.get(PROFILE)).text)
    assert shows(card, "card.backup_used")
    assert "badge-off" in card
    assert 'action="/profile/2fa/enable"' in card


async def test_backup_used_notice_stays_until_two_factor_is_on_again(client, signed_out_with_2fa, clock):
    """ "2FA is off because you used your backup code" stays on every visit (and a new session) until 2FA is on again."""
    await start_signin(client)
    await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert shows((await client.get(PROFILE)).text, "card.backup_used")
    assert shows((await client.get(PROFILE)).text, "card.backup_used"), "gone on reload"
    client.cookies.clear()
    clock.advance(60)
    assert (await sign_in(client)).status_code == 303
    assert shows((await client.get(PROFILE)).text, "card.backup_used"), "gone in the next session"
    await enable_two_factor(client, clock)
    assert not shows((await client.get(PROFILE)).text, "card.backup_used")


async def test_after_backup_signin_the_next_signin_is_password_only(client, signed_out_with_2fa, clock):
    """With 2FA turned off by the backup code, the password alone signs in."""
    await start_signin(client)
    await submit_backup_code(client, signed_out_with_2fa.backup_code)
    await sign_out(client)
    clock.advance(60)
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert client.cookies.get("mirox_session")


async def test_wrong_backup_code_is_refused_and_changes_nothing(client, svc, signed_out_with_2fa):
    """A wrong backup code answers 422 with a clear message; 2FA stays on."""
    before = await user_row(svc)
    await start_signin(client)
    response = await submit_backup_code(client, another_backup_code(signed_out_with_2fa.backup_code))
    assert response.status_code == 422
    assert shows(response.text, "backup.invalid")
    assert shows(response.text, "code.attempts_left", left=4)
    assert not client.cookies.get("mirox_session")
    after = await user_row(svc)
    assert after["totp_secret_sealed"] == before["totp_secret_sealed"]
    assert after["backup_code_hash"] == before["backup_code_hash"]


async def test_malformed_backup_code_shows_the_expected_shape(client, signed_out_with_2fa):
    """Something that is not 8 characters is refused with the ABCD-EFGH hint."""
    await start_signin(client)
    response = await submit_backup_code(client, "ABC-123")
    assert response.status_code == 422
    assert shows(response.text, "backup.format")


async def test_backup_code_use_is_recorded_as_a_security_event(client, svc, signed_out_with_2fa):
    """The activity list on Profile shows that the backup code was used."""
    await start_signin(client)
    await submit_backup_code(client, signed_out_with_2fa.backup_code)
    user = await store.get_user_by_key(svc.db, "alice")
    assert user is not None
    kinds = [event.kind for event in await store.recent_events(svc.db, user.id)]
    assert "2fa.backup_used" in kinds
    assert EVENTS["2fa.backup_used"] in (await client.get(PROFILE)).text


async def test_wrong_backup_code_is_recorded_as_a_security_event(client, svc, signed_out_with_2fa):
    """A wrong backup code at sign-in appears in the activity log."""
    await start_signin(client)
    await submit_backup_code(client, another_backup_code(signed_out_with_2fa.backup_code))
    user = await store.get_user_by_key(svc.db, "alice")
    assert user is not None
    kinds = [event.kind for event in await store.recent_events(svc.db, user.id)]
    assert "signin.failed_backup" in kinds


async def test_two_factor_screen_offers_use_backup_code(client, signed_out_with_2fa):
    """The two-factor screen offers Use Backup Code."""
    await start_signin(client)
    page = await client.get("/signin/two-factor")
    assert f'href="{BACKUP}"' in page.text and "Use Backup Code" in page.text
