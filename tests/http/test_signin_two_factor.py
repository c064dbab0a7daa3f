"""Sign-in with 2FA on: password, then a current code, and only then a session."""

import pytest

from tests.utils import (
    PROFILE,
    TWO_FACTOR,
    add_user,
    code,
    csrf,
    post,
    shows,
    sign_in,
    start_signin,
    submit_code,
    wrong_code,
)


async def test_protected_pages_send_half_signed_in_user_to_two_factor_screen(client, signed_out_with_2fa):
    """With the password accepted but no code yet, Profile redirects to the two-factor screen."""
    await start_signin(client)
    response = await client.get(PROFILE)
    assert response.status_code == 303
    assert response.headers["location"] == TWO_FACTOR
    page = await client.get(TWO_FACTOR)
    assert page.status_code == 200
    assert "6-digit code" in page.text
    assert signed_out_with_2fa.secret not in page.text


async def test_correct_code_starts_a_session(client, signed_out_with_2fa, clock):
    """The current code completes sign-in with a new session cookie; the pending one is dropped."""
    await start_signin(client)
    pending = client.cookies.get("mirox_pending")
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 303
    session = client.cookies.get("mirox_session")
    assert session and session != pending
    assert not client.cookies.get("mirox_pending")
    assert (await client.get(PROFILE)).status_code == 200


async def test_correct_code_continues_to_the_requested_page(client, signed_out_with_2fa, clock):
    """A sign-in that started from a protected page lands there after the code."""
    token = await csrf(client, "/signin")
    response = await client.post(
        "/signin",
        data={"csrf_token": token, "username": "alice", "password": "correct horse battery", "next": PROFILE},
    )
    assert response.headers["location"] == f"{TWO_FACTOR}?next=%2Fprofile"
    page = await client.get(response.headers["location"])
    assert 'name="next" value="/profile"' in page.text
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock), next=PROFILE)
    assert response.status_code == 303
    assert response.headers["location"] == PROFILE


async def test_pending_signin_still_works_shortly_before_5_minutes(client, signed_out_with_2fa, clock):
    """Four and a half minutes after the password the code still completes sign-in."""
    await start_signin(client)
    clock.advance(4 * 60 + 30)
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 303
    assert client.cookies.get("mirox_session")


async def test_wrong_code_says_so_and_counts_down(client, signed_out_with_2fa, clock):
    """A wrong code answers 422 with the message and the attempts left."""
    await start_signin(client)
    for left in (4, 3, 2, 1):
        response = await submit_code(client, wrong_code(signed_out_with_2fa.secret, clock))
        assert response.status_code == 422
        assert shows(response.text, "code.invalid")
        assert shows(response.text, "code.attempts_left", left=left)
        assert not client.cookies.get("mirox_session")


async def test_five_wrong_codes_send_the_user_back_to_the_password_step(client, signed_out_with_2fa, clock):
    """After 5 wrong codes the pending sign-in is over; even the right code does not help then."""
    await start_signin(client)
    for _ in range(4):
        assert (await submit_code(client, wrong_code(signed_out_with_2fa.secret, clock))).status_code == 422
    response = await submit_code(client, wrong_code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?m=too_many_codes"
    assert shows((await client.get(response.headers["location"])).text, "signin.too_many_codes")
    assert not client.cookies.get("mirox_pending")
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")
    assert not client.cookies.get("mirox_session")


async def test_malformed_code_asks_for_six_digits(client, signed_out_with_2fa):
    """Letters or a short code are refused with the 6-digit hint."""
    await start_signin(client)
    response = await submit_code(client, "12a45")
    assert response.status_code == 422
    assert shows(response.text, "code.format")


@pytest.mark.parametrize("offset", [-1, 0, 1])
async def test_codes_of_previous_current_and_next_step_are_accepted(client, signed_out_with_2fa, clock, offset):
    """A clock drift of one step either way is tolerated."""
    await start_signin(client)
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock, offset))
    assert response.status_code == 303
    assert client.cookies.get("mirox_session")


@pytest.mark.parametrize("offset", [-2, 2])
async def test_codes_two_steps_away_are_rejected(client, signed_out_with_2fa, clock, offset):
    """A code two steps old or two steps ahead is not valid."""
    clock.advance(300)
    await start_signin(client)
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock, offset))
    assert response.status_code == 422
    assert shows(response.text, "code.invalid")
    assert not client.cookies.get("mirox_session")


async def test_cancel_goes_back_to_the_password_step(client, signed_out_with_2fa, clock):
    """Cancel ends the pending sign-in: its token no longer accepts a code."""
    await start_signin(client)
    pending = client.cookies.get("mirox_pending")
    response = await post(client, "/signin/cancel", page=TWO_FACTOR)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"
    client.cookies.set("mirox_pending", pending)
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")
    assert not client.cookies.get("mirox_session")


async def test_wrong_password_never_reaches_the_code_step(client, signed_out_with_2fa):
    """A wrong password gives 422 on the password form and no pending token."""
    response = await sign_in(client, password="wrong password!")
    assert response.status_code == 422
    assert shows(response.text, "signin.invalid")
    assert not client.cookies.get("mirox_pending")


async def test_success_with_htmx_uses_hx_redirect(client, signed_out_with_2fa, clock):
    """An htmx submit of the right code answers with HX-Redirect and sets the session cookie."""
    await start_signin(client)
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock), htmx=True)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/"
    assert client.cookies.get("mirox_session")


async def test_account_without_2fa_signs_in_with_password_only(client, svc):
    """Without 2FA the password alone gives a session (the baseline)."""
    await add_user(svc, "bob")
    response = await sign_in(client, "bob")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert client.cookies.get("mirox_session")
