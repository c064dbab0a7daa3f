"""Security notices: shown after sign-in and on Profile until answered; "This wasn't me" signs out the others."""

import re

from server import audit_store, store
from server.flows import two_factor
from tests.utils import (
    add_user,
    browser,
    code,
    post,
    shows,
    sign_in,
    sign_out,
    signed_in,
    start_signin,
    submit_backup_code,
    submit_code,
    user_row,
    user_with_two_factor_signed_out,
)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


def notices_of(html: str) -> str:
    start = html.find('id="security-notices"')
    return "" if start < 0 else html[start : html.find("</section>", start)]


async def test_failed_attempts_are_reported_at_the_next_sign_in_with_count_address_and_time(client, other_client, svc):
    """Two wrong passwords from 10.0.0.9: the next full sign-in's first page and Profile say so, as an alert."""
    await add_user(svc)
    for _ in range(2):
        assert (await sign_in(other_client, password="wrong password!")).status_code == 422
    assert (await sign_in(client)).status_code == 303
    home = await client.get("/")
    notices = notices_of(home.text)
    assert 'role="alert"' in notices
    assert "Since your last sign-in: 2 wrong passwords, the last from 10.0.0.9 at" in notices
    assert "That was me" in notices and "This wasn't me" in notices
    assert "2 wrong passwords" in notices_of((await client.get("/profile")).text)


async def test_that_was_me_dismisses_the_notices_with_javascript_off(client, other_client, svc):
    """A plain form post dismisses them: a redirect to Profile that says so once, then no notices."""
    await add_user(svc)
    await sign_in(other_client, password="wrong password!")
    await sign_in(client)
    page = await client.get("/profile")
    assert notices_of(page.text)
    response = await post(client, "/notices/that-was-me", {"up_to": _up_to(page.text)})
    assert response.status_code == 303 and response.headers["location"].endswith("/profile#security-notices")
    answered = await client.get("/profile")
    assert shows(notices_of(answered.text), "notice.acknowledged") and 'role="status"' in notices_of(answered.text)
    assert notices_of((await client.get("/profile")).text) == ""


async def test_that_was_me_with_htmx_replaces_the_notices_in_place(client, other_client, svc):
    """htmx gets the answer alone, announced as a status."""
    await add_user(svc)
    await sign_in(other_client, password="wrong password!")
    await sign_in(client)
    page = await client.get("/profile")
    response = await post(client, "/notices/that-was-me", {"up_to": _up_to(page.text)}, htmx=True)
    assert response.status_code == 200
    assert response.text.strip().startswith('<section id="security-notices"')
    assert shows(response.text, "notice.acknowledged") and 'role="status"' in response.text


async def test_an_answer_covers_only_what_the_page_showed(client, other_client, svc):
    """A failure recorded after the page was shown is still reported after "That was me"."""
    await add_user(svc)
    await sign_in(other_client, password="wrong password!")
    await sign_in(client)
    page = await client.get("/profile")
    await sign_in(other_client, password="another wrong one")
    await post(client, "/notices/that-was-me", {"up_to": _up_to(page.text)})
    await client.get("/profile")  # the one-time answer
    assert "1 wrong password," in notices_of((await client.get("/profile")).text)


async def test_this_wasnt_me_signs_out_every_other_session_and_pending_sign_in_and_flags_the_account(
    client, other_client, svc, clock, app
):
    """Another browser's session and a half-finished sign-in end; the account is flagged; the person is told what next."""
    enrolled = await user_with_two_factor_signed_out(client, svc, clock)
    await start_signin(client)
    assert (await submit_code(client, code(enrolled.secret, clock))).status_code == 303
    async with browser(app, ip="10.0.0.66", user_agent=FIREFOX) as attacker:
        await start_signin(attacker)  # has the password, waits for a code
        await sign_in(other_client, password="wrong password!")
        page = await client.get("/profile")
        response = await post(client, "/notices/not-me", {"up_to": _up_to(page.text)})
        assert response.status_code == 303
        after = await client.get("/profile")
        assert shows(notices_of(after.text), "notice.disowned")
        assert (await attacker.get("/signin/two-factor")).status_code == 303, "the pending sign-in ended"
    assert await signed_in(client)
    row = await user_row(svc)
    assert row["flagged_at"] is not None
    kinds = [r["kind"] for r in await audit_store.records_for_notices(svc.db, int(row["id"]), 0)]
    assert "signin.failed_password" in kinds and "notice.disowned" not in kinds  # not a notice itself


async def test_this_wasnt_me_ends_the_other_browsers_session(client, other_client, svc):
    """The other signed-in browser is signed out at once."""
    await add_user(svc)
    await sign_in(client, password="wrong password!")
    await sign_in(other_client)
    await sign_in(client)
    page = await client.get("/profile")
    assert notices_of(page.text)
    await post(client, "/notices/not-me", {"up_to": _up_to(page.text)})
    assert not await signed_in(other_client)
    assert await signed_in(client)


async def test_backup_code_use_and_a_new_device_are_reported(client, svc, clock, app):
    """Turning 2FA off by backup code from a browser never used before becomes two notices for the usual browser."""
    enrolled = await user_with_two_factor_signed_out(client, svc, clock)
    async with browser(app, ip="10.0.0.66", user_agent=FIREFOX) as elsewhere:
        await start_signin(elsewhere)
        assert (await submit_backup_code(elsewhere, enrolled.backup_code)).status_code == 303
        assert "new device" not in notices_of((await elsewhere.get("/profile")).text), "its own sign-in is no news"
    assert (await sign_in(client)).status_code == 303
    notices = notices_of((await client.get("/profile")).text)
    assert "Two-factor authentication was turned off by your backup code" in notices
    assert "Signed in from a new device or browser: Firefox" in notices and "10.0.0.66" in notices


async def test_a_new_backup_code_and_an_administrator_reset_are_reported(client, svc, clock):
    """New Backup Codes, and later an administrator's reset, each become a notice."""
    enrolled = await user_with_two_factor_signed_out(client, svc, clock)
    await start_signin(client)
    assert (await submit_code(client, code(enrolled.secret, clock))).status_code == 303
    clock.advance(30)
    await post(client, "/profile/2fa/backup-code", {"code": code(enrolled.secret, clock)})
    user = await store.get_user_by_key(svc.db, "alice")
    await two_factor.admin_reset(svc, user)
    notices = notices_of((await client.get("/profile")).text)
    assert "A new backup code was issued" in notices
    assert "Two-factor authentication was turned off by an administrator" in notices


async def test_a_malformed_answer_is_400(client, svc):
    """An answer without a number of the last record shown changes nothing."""
    await add_user(svc)
    await sign_in(client)
    for value in ("", "x", "9" * 20):
        assert (await post(client, "/notices/that-was-me", {"up_to": value})).status_code == 400
        assert (await post(client, "/notices/not-me", {"up_to": value})).status_code == 400


def _up_to(html: str) -> str:
    found = re.search(r'name="up_to" value="(\d+)"', html)
    assert found, "no notices form"
    return found.group(1)


async def test_plain_sign_ins_raise_no_notice(client, svc):
    """Signing in again from the same browser is no news."""
    await add_user(svc)
    await sign_in(client)
    await sign_out(client)
    await sign_in(client)
    assert notices_of((await client.get("/profile")).text) == ""
