"""The happy path end to end at HTTP level."""

from tests.utils import add_user, code, enable_two_factor, post, sign_in


async def test_sign_in_enable_sign_out_sign_in_with_code(client, svc, clock):
    """A user signs in, enables 2FA, signs out, and needs a code to get back in."""
    await add_user(svc)
    response = await sign_in(client)
    assert response.status_code == 303
    profile = await client.get("/profile")
    assert "Disabled" in profile.text
    enrolled = await enable_two_factor(client, clock)
    profile = await client.get("/profile")
    assert "Enabled" in profile.text
    await post(client, "/signout")
    clock.advance(60)
    response = await sign_in(client)
    assert response.headers["location"].startswith("/signin/two-factor")
    page = await client.get("/signin/two-factor")
    response = await post(
        client, "/signin/two-factor", {"code": code(enrolled.secret, clock)}, page="/signin/two-factor"
    )
    assert response.status_code == 303, response.text
    assert (await client.get("/profile")).status_code == 200
    assert page.status_code == 200
