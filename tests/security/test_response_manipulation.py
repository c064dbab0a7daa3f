"""Response manipulation: client-side "passed" flags, htmx headers and forged cookies never sign anyone in."""

import secrets

import pytest
from sqlalchemy import select

from server.tables import pending_signins, sessions
from tests.utils import (
    PROFILE,
    TWO_FACTOR,
    browser_with_cookie,
    code,
    signed_in,
    signin_csrf,
    start_signin,
    submit_code,
    wrong_code,
)

FLAGS = {
    "passed": "1",
    "verified": "true",
    "two_factor_ok": "1",
    "2fa": "ok",
    "mfa_passed": "true",
    "authenticated": "true",
    "status": "ok",
}
HX_HEADERS = {
    "HX-Request": "true",
    "HX-Redirect": PROFILE,
    "HX-Location": PROFILE,
    "HX-Trigger": "verified",
    "HX-Current-URL": "http://testserver/profile",
    "HX-Boosted": "true",
    "HX-Request-Type": "partial",
}


@pytest.mark.parametrize("sent", ["wrong code", "no code"])
async def test_client_passed_flags_do_not_complete_the_code_step(client, signed_out_with_2fa, clock, sent):
    """``passed=1``, ``verified=true`` and the like next to a wrong or missing code change nothing."""
    await start_signin(client)
    value = wrong_code(signed_out_with_2fa.secret, clock) if sent == "wrong code" else ""
    response = await submit_code(client, value, **FLAGS)
    assert response.status_code == 422
    assert not client.cookies.get("mirox_session")
    page = await client.get(PROFILE + "?" + "&".join(f"{k}={v}" for k, v in FLAGS.items()))
    assert page.status_code == 303
    assert page.headers["location"] == TWO_FACTOR


async def test_htmx_headers_do_not_complete_the_code_step(client, signed_out_with_2fa, clock):
    """Request headers that look like htmx redirect instructions are not obeyed by the server."""
    await start_signin(client)
    token = await signin_csrf(client)
    response = await client.post(
        TWO_FACTOR,
        data={"csrf_token": token, "code": wrong_code(signed_out_with_2fa.secret, clock)},
        headers=HX_HEADERS,
    )
    assert response.status_code == 422
    assert "HX-Redirect" not in response.headers
    assert not client.cookies.get("mirox_session")
    page = await client.get(PROFILE, headers=HX_HEADERS)
    assert page.headers.get("HX-Redirect") == TWO_FACTOR
    assert page.content == b""


async def forged_values(svc, client, enrolled, clock) -> dict[str, str]:
    """Cookie values an attacker could try: random, the stored hashes, a pending token, a stale session."""
    await start_signin(client)
    pending = client.cookies["mirox_pending"]
    pending_hash = (await svc.db.fetch_one(select(pending_signins.c.token_hash)))["token_hash"]
    assert (await submit_code(client, code(enrolled.secret, clock))).status_code == 303
    session_hash = (await svc.db.fetch_one(select(sessions.c.token_hash)))["token_hash"]
    return {
        "random": secrets.token_urlsafe(32),
        "empty-ish": "0",
        "pending hash": pending_hash,
        "session hash": session_hash,
        "spent pending token": pending,
        "over-long": "A" * 4096,
    }


@pytest.mark.parametrize("cookie", ["mirox_session", "mirox_pending"])
async def test_forged_cookie_values_never_sign_in(app, client, svc, signed_out_with_2fa, clock, cookie):
    """No made-up, hashed or spent value of ``mirox_session``/``mirox_pending`` gets past the code step."""
    values = await forged_values(svc, client, signed_out_with_2fa, clock)
    for name, value in values.items():
        async with browser_with_cookie(app, value, cookie) as attacker:
            assert not await signed_in(attacker), name
            response = await submit_code(attacker, code(signed_out_with_2fa.secret, clock, 1))
            assert response.status_code == 303, name
            assert response.headers["location"].startswith("/signin"), name
            assert not await signed_in(attacker), name
    assert len(await svc.db.fetch_all(select(sessions))) == 1
    assert await signed_in(client)
