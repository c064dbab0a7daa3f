"""The Security card once 2FA is on: Check 2FA, New Backup Codes, Disable, and password re-checks."""

import re

import pytest

from server.messages import EVENTS
from tests.utils import (
    BACKUP_DISPLAY,
    PASSWORD,
    PROFILE,
    add_user,
    code,
    enable_two_factor,
    event_kinds,
    post,
    security_card,
    shows,
    sign_in,
    sign_out,
    start_signin,
    submit_backup_code,
    submit_code,
    text_of,
    user_row,
    wrong_code,
)

# ---- Check 2FA ----------------------------------------------------------------------------


async def test_check_page_asks_for_a_code(client, signed_in_with_2fa):
    """Check 2FA opens a prompt for a current code that says it is a dry run."""
    response = await client.get("/profile/2fa/check")
    assert response.status_code == 200
    assert "Check 2FA" in response.text
    assert 'name="code"' in response.text
    assert "dry run" in response.text


async def test_check_with_valid_code_confirms_and_changes_nothing(client, svc, clock, signed_in_with_2fa):
    """A valid code shows the in-sync message; every column of the account stays the same."""
    before = await user_row(svc)
    response = await post(client, "/profile/2fa/check", {"code": code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 303
    assert response.headers["location"].startswith(PROFILE)
    assert shows(security_card((await client.get(PROFILE)).text), "card.check_ok")
    assert await user_row(svc) == before


async def test_result_redirect_lands_on_the_security_card(client, clock, signed_in_with_2fa):
    """Without htmx, the redirect after an action points at an anchor that exists on Profile."""
    response = await post(client, "/profile/2fa/check", {"code": code(signed_in_with_2fa.secret, clock)})
    path, _, fragment = response.headers["location"].partition("#")
    assert path == PROFILE and fragment
    assert f'id="{fragment}"' in (await client.get(path)).text


async def test_check_with_valid_code_over_htmx_updates_the_card(client, clock, signed_in_with_2fa):
    """For htmx the success message arrives in the Security card partial."""
    response = await post(client, "/profile/2fa/check", {"code": code(signed_in_with_2fa.secret, clock)}, htmx=True)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert shows(security_card(response.text), "card.check_ok")


async def test_check_with_invalid_code_is_422_and_changes_nothing(client, svc, clock, signed_in_with_2fa):
    """A wrong code answers 422 with a clear message; the account row is untouched."""
    before = await user_row(svc)
    response = await post(client, "/profile/2fa/check", {"code": wrong_code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 422
    assert shows(response.text, "code.invalid")
    assert await user_row(svc) == before


async def test_check_does_not_spend_the_code(client, svc, clock, signed_in_with_2fa):
    """The code used for Check 2FA still works for a real action afterwards (a dry run)."""
    value = code(signed_in_with_2fa.secret, clock)
    assert (await post(client, "/profile/2fa/check", {"code": value})).status_code == 303
    response = await post(client, "/profile/2fa/disable", {"code": value})
    assert response.status_code == 303
    assert (await user_row(svc))["totp_secret_sealed"] is None


async def test_check_failures_count_toward_the_shared_throttle(client, clock, signed_in_with_2fa):
    """Five wrong checks, and the sixth attempt (even with the right code) has to wait."""
    for _ in range(5):
        response = await post(client, "/profile/2fa/check", {"code": wrong_code(signed_in_with_2fa.secret, clock)})
        assert response.status_code == 422
    response = await post(client, "/profile/2fa/check", {"code": code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 429
    wait = re.search(r"Wait (\d+) seconds?\b", response.text)
    assert wait and shows(response.text, "code.throttled", seconds=int(wait.group(1)))


async def test_check_when_two_factor_is_off_says_so(client, svc):
    """Without 2FA there is nothing to check."""
    await add_user(svc)
    await sign_in(client)
    response = await client.get("/profile/2fa/check")
    assert response.status_code == 303
    assert shows((await client.get(PROFILE)).text, "card.not_on")


async def test_failed_check_is_recorded_as_a_security_event(client, svc, clock, signed_in_with_2fa):
    """A wrong code in Check 2FA shows up in the activity log."""
    await post(client, "/profile/2fa/check", {"code": wrong_code(signed_in_with_2fa.secret, clock)})
    assert "2fa.check_failed" in await event_kinds(svc)


# ---- New Backup Codes and Disable: the same prompt for a current code ---------------------------

CODE_ACTIONS = [
    pytest.param("/profile/2fa/backup-code", "New Backup Codes", id="new-backup-codes"),
    pytest.param("/profile/2fa/disable", "Disable 2FA", id="disable"),
]


@pytest.mark.parametrize(("path", "title"), CODE_ACTIONS)
async def test_code_action_page_asks_for_a_code(client, signed_in_with_2fa, path, title):
    """New Backup Codes and Disable open a prompt for a current code."""
    response = await client.get(path)
    assert response.status_code == 200
    assert title in response.text
    assert 'name="code"' in response.text


@pytest.mark.parametrize(("path", "title"), CODE_ACTIONS)
async def test_code_action_without_code_is_422_and_changes_nothing(client, svc, signed_in_with_2fa, path, title):
    """Without a current code no backup code is issued and 2FA stays on."""
    before = await user_row(svc)
    response = await post(client, path, {"code": ""})
    assert response.status_code == 422
    assert shows(response.text, "code.format")
    assert not BACKUP_DISPLAY.search(response.text)
    assert await user_row(svc) == before


@pytest.mark.parametrize(("path", "title"), CODE_ACTIONS)
async def test_code_action_with_wrong_code_is_422_changes_nothing_and_is_recorded(
    client, svc, clock, signed_in_with_2fa, path, title
):
    """A wrong code issues nothing and turns nothing off; the activity log records the failure."""
    before = await user_row(svc)
    response = await post(client, path, {"code": wrong_code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 422
    assert shows(response.text, "code.invalid")
    assert await user_row(svc) == before
    assert "2fa.action_failed" in await event_kinds(svc)


# ---- New Backup Codes -----------------------------------------------------------------------


async def test_new_backup_code_is_shown_once_as_xxxx_xxxx(client, svc, clock, signed_in_with_2fa):
    """A current code issues a new backup code, shown formatted, with the replacement notice."""
    before = await user_row(svc)
    response = await post(client, "/profile/2fa/backup-code", {"code": code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 200
    new_code = text_of(response.text, "backup-code")
    assert BACKUP_DISPLAY.fullmatch(new_code)
    assert new_code != signed_in_with_2fa.backup_code
    assert shows(response.text, "card.new_backup")
    assert (await user_row(svc))["backup_code_hash"] != before["backup_code_hash"]
    assert new_code not in (await client.get(PROFILE)).text
    assert new_code not in (await client.get("/profile/2fa/backup-code")).text


async def test_old_backup_code_stops_working_at_once_and_new_one_works(client, other_client, clock, signed_in_with_2fa):
    """A sign-in already waiting for its code cannot use the old backup code; the new one works."""
    await start_signin(other_client)
    response = await post(client, "/profile/2fa/backup-code", {"code": code(signed_in_with_2fa.secret, clock)})
    new_code = text_of(response.text, "backup-code")
    response = await submit_backup_code(other_client, signed_in_with_2fa.backup_code)
    assert response.status_code == 422
    assert shows(response.text, "backup.invalid")
    response = await submit_backup_code(other_client, new_code)
    assert response.status_code == 303
    assert other_client.cookies.get("mirox_session")


async def test_new_backup_code_is_recorded_as_a_security_event(client, svc, clock, signed_in_with_2fa):
    """Issuing a new backup code appears in the activity log."""
    await post(client, "/profile/2fa/backup-code", {"code": code(signed_in_with_2fa.secret, clock)})
    assert "2fa.new_backup" in await event_kinds(svc)


# ---- Disable ----------------------------------------------------------------------------------


async def test_disable_with_current_code_turns_two_factor_off(client, svc, clock, signed_in_with_2fa):
    """A current code deletes secret and backup code; the card says Disabled."""
    response = await post(client, "/profile/2fa/disable", {"code": code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 303
    row = await user_row(svc)
    assert row["totp_secret_sealed"] is None and row["backup_code_hash"] is None
    card = security_card((await client.get(PROFILE)).text)
    assert "badge-off" in card
    assert shows(card, "card.disabled")
    assert "2fa.disabled" in await event_kinds(svc)


async def test_after_disable_signin_is_password_only(client, clock, signed_in_with_2fa):
    """After Disable the password alone signs in again; the old backup code is gone too."""
    await post(client, "/profile/2fa/disable", {"code": code(signed_in_with_2fa.secret, clock)})
    await sign_out(client)
    clock.advance(60)
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert client.cookies.get("mirox_session")


# ---- recent sign-in rule ---------------------------------------------------------------------


SENSITIVE = [
    ("GET", "/profile/2fa/backup-code", "new_backup_code"),
    ("POST", "/profile/2fa/backup-code", "new_backup_code_submit"),
    ("GET", "/profile/2fa/disable", "disable_2fa"),
    ("POST", "/profile/2fa/disable", "disable_2fa_submit"),
    ("POST", "/sessions/signout-others", "sessions_signout_others"),
]


def asks_for_password(response, then: str) -> bool:
    """The password prompt naming ``then``; for a plain form, a redirect to the prompt's own page."""
    if response.status_code == 303:
        return response.headers["location"] == f"/profile/reauth?then={then}"
    return (
        response.status_code == 403
        and shows(response.text, "reauth.needed")
        and 'action="/profile/reauth"' in response.text
        and f'name="then" value="{then}"' in response.text
        and 'type="password"' in response.text
    )


async def test_enable_asks_for_the_password_11_minutes_after_signin(client, svc, clock):
    """Enable more than 10 minutes after sign-in asks for the password and creates no setup."""
    await add_user(svc)
    await sign_in(client)
    clock.advance(11 * 60)
    response = await post(client, "/profile/2fa/enable")
    assert asks_for_password(response, "enable_2fa")
    assert "<svg" not in response.text
    assert "manual-secret" not in response.text


@pytest.mark.parametrize(("method", "path", "then"), SENSITIVE)
async def test_sensitive_actions_ask_for_the_password_11_minutes_after_signin(
    client, svc, clock, signed_in_with_2fa, method, path, then
):
    """New Backup Codes, Disable and signing out other sessions ask for the password after 10 minutes."""
    clock.advance(11 * 60)
    before = await user_row(svc)
    if method == "GET":
        response = await client.get(path)
    else:
        response = await post(client, path, {"code": code(signed_in_with_2fa.secret, clock)})
    assert asks_for_password(response, then), (response.status_code, response.text[:500])
    assert await user_row(svc) == before


async def test_sensitive_actions_need_no_password_within_10_minutes(client, clock, signed_in_with_2fa):
    """Nine minutes after sign-in Disable opens directly."""
    clock.advance(9 * 60)
    response = await client.get("/profile/2fa/disable")
    assert response.status_code == 200
    assert 'name="code"' in response.text


async def test_check_2fa_needs_no_password_after_10_minutes(client, clock, signed_in_with_2fa):
    """Check 2FA changes nothing, so it does not ask for the password again."""
    clock.advance(11 * 60)
    response = await post(client, "/profile/2fa/check", {"code": code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 303


async def test_enable_proceeds_after_reauthentication(client, svc, clock):
    """After the right password Enable opens the setup dialog."""
    await add_user(svc)
    await sign_in(client)
    clock.advance(11 * 60)
    response = await post(client, "/profile/reauth", {"password": PASSWORD, "then": "enable_2fa"})
    assert response.status_code == 303  # to step 1's page, so Back and reload do not post again
    step1 = await client.get(response.headers["location"])
    assert "<svg" in step1.text and "manual-secret" in step1.text
    assert (await post(client, "/profile/2fa/enable")).status_code == 303


@pytest.mark.parametrize("then", ["new_backup_code", "disable_2fa"])
async def test_code_actions_proceed_after_reauthentication(client, svc, clock, signed_in_with_2fa, then):
    """After the right password the code prompt opens, and its submit is accepted."""
    clock.advance(11 * 60)
    response = await post(client, "/profile/reauth", {"password": PASSWORD, "then": then})
    assert response.status_code == 200
    assert 'name="code"' in response.text
    if then == "new_backup_code":
        response = await post(client, "/profile/2fa/backup-code", {"code": code(signed_in_with_2fa.secret, clock)})
        assert response.status_code == 200
        assert BACKUP_DISPLAY.fullmatch(text_of(response.text, "backup-code"))
    else:
        response = await post(client, "/profile/2fa/disable", {"code": code(signed_in_with_2fa.secret, clock)})
        assert response.status_code == 303
        assert (await user_row(svc))["totp_secret_sealed"] is None


async def test_signout_others_proceeds_after_reauthentication(client, other_client, svc, clock):
    """After the right password all other sessions are signed out."""
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    clock.advance(11 * 60)
    response = await post(client, "/profile/reauth", {"password": PASSWORD, "then": "sessions_signout_others"})
    assert response.status_code == 303
    assert shows((await client.get(PROFILE)).text, "sessions.signed_out_others")
    assert (await other_client.get(PROFILE)).status_code == 303
    assert (await client.get(PROFILE)).status_code == 200


async def test_wrong_password_at_reauthentication_does_not_proceed(client, svc, clock, signed_in_with_2fa):
    """A wrong password is refused with 422 and the action stays locked."""
    clock.advance(11 * 60)
    response = await post(client, "/profile/reauth", {"password": "not my password", "then": "disable_2fa"})
    assert response.status_code == 422
    assert shows(response.text, "reauth.invalid")
    response = await post(client, "/profile/2fa/disable", {"code": code(signed_in_with_2fa.secret, clock)})
    assert asks_for_password(response, "disable_2fa_submit")
    assert (await user_row(svc))["totp_secret_sealed"] is not None


# ---- offer to sign out other sessions -------------------------------------------------------


def offers_signout(card: str) -> bool:
    return shows(card, "card.offer_signout") and 'action="/sessions/signout-others"' in card


async def test_signout_offer_after_enable(client, other_client, svc, clock):
    """After Enable, with another session signed in, the card offers to sign out the others."""
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    await enable_two_factor(client, clock)
    assert offers_signout(security_card((await client.get(PROFILE)).text))


async def test_no_signout_offer_without_other_sessions(client, svc, clock):
    """With no other session there is nothing to offer, only the Enabled message."""
    await add_user(svc)
    await sign_in(client)
    await enable_two_factor(client, clock)
    card = security_card((await client.get(PROFILE)).text)
    assert shows(card, "card.enabled")
    assert not offers_signout(card)


async def test_signout_offer_after_disable(client, other_client, clock, signed_in_with_2fa):
    """After Disable, with another session signed in, the card offers to sign out the others."""
    await start_signin(other_client)
    assert (await submit_code(other_client, code(signed_in_with_2fa.secret, clock))).status_code == 303
    clock.advance(30)
    await post(client, "/profile/2fa/disable", {"code": code(signed_in_with_2fa.secret, clock)})
    assert offers_signout(security_card((await client.get(PROFILE)).text))


async def test_signout_offer_after_backup_signin(client, other_client, svc, clock):
    """After signing in with the backup code, the card offers to sign out the other sessions."""
    await add_user(svc)
    await sign_in(other_client)
    await sign_in(client)
    enrolled = await enable_two_factor(client, clock)
    await sign_out(client)
    await start_signin(client)
    await submit_backup_code(client, enrolled.backup_code)
    assert offers_signout(security_card((await client.get(PROFILE)).text))


async def test_no_signout_offer_after_a_check(client, other_client, clock, signed_in_with_2fa):
    """A dry-run check does not suggest signing out other sessions."""
    await start_signin(other_client)
    assert (await submit_code(other_client, code(signed_in_with_2fa.secret, clock))).status_code == 303
    await post(client, "/profile/2fa/check", {"code": code(signed_in_with_2fa.secret, clock)})
    assert not offers_signout(security_card((await client.get(PROFILE)).text))


async def test_signout_offer_button_signs_out_the_other_sessions(client, other_client, svc, clock):
    """The offered button right after Enable ends the other browser's session."""
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    await enable_two_factor(client, clock)
    response = await post(client, "/sessions/signout-others")
    assert response.status_code == 303
    assert (await other_client.get(PROFILE)).status_code == 303
    assert (await client.get(PROFILE)).status_code == 200


async def test_security_events_are_shown_on_profile(client, clock, signed_in_with_2fa):
    """Enable, a wrong check, a new backup code and Disable all appear in the activity list."""
    await post(client, "/profile/2fa/check", {"code": wrong_code(signed_in_with_2fa.secret, clock)})
    await post(client, "/profile/2fa/backup-code", {"code": code(signed_in_with_2fa.secret, clock)})
    clock.advance(30)
    await post(client, "/profile/2fa/disable", {"code": code(signed_in_with_2fa.secret, clock)})
    page = (await client.get(PROFILE)).text
    activity = page[page.index('id="activity"') :]
    for kind in ("signin", "2fa.enabled", "2fa.check_failed", "2fa.new_backup", "2fa.disabled"):
        assert EVENTS[kind] in activity, kind


async def test_password_prompt_page_after_a_plain_form(client, svc, clock):
    """Without JavaScript a stale Enable redirects to the prompt's own GET page: reload shows it again, posts nothing."""
    await add_user(svc)
    await sign_in(client)
    clock.advance(11 * 60)
    response = await post(client, "/profile/2fa/enable")
    for _ in range(2):  # the page, then a reload
        page = await client.get(response.headers["location"])
        assert page.status_code == 200
        assert shows(page.text, "reauth.needed")
        assert 'name="then" value="enable_2fa"' in page.text
    assert (await client.get("/profile/reauth?then=profile")).status_code == 400
