"""Sessions and activity show times in the configured plant zone, named, with relative times."""

import dataclasses

import pytest

from server.settings import Settings
from tests.keys import add_key, with_keys
from tests.soft_key import SoftKey
from tests.utils import PROFILE, sign_out, signed_in_without_two_factor, signin_csrf, start_signin


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_keys(dataclasses.replace(settings, time_zone="Europe/Berlin"))


async def test_profile_times_are_in_the_plant_zone_with_relative_times(client, svc, clock):
    """Signed in at 08:00 UTC, viewed 5 minutes later: 09:00 CET, "5 min ago", this session "Active now"."""
    await signed_in_without_two_factor(client, svc)
    clock.advance(300)
    page = (await client.get(PROFILE)).text
    assert page.count("Times are in Europe/Berlin (CET).") == 3  # sessions, remembered browsers and activity
    signed_in = '<time datetime="2027-01-15T09:00:00+01:00">15 Jan 2027, 09:00 CET</time>'
    assert f'{signed_in} <span class="ago">(5 min ago)</span>' in page
    assert '<span class="ago">(Active now)</span>' in page


async def test_security_key_dates_read_like_the_session_times(client, svc, clock):
    """A key added at 08:00 UTC and used at 08:02, viewed at 08:07: both times in CET with "7 min ago" and "5 min ago"."""
    await signed_in_without_two_factor(client, svc)
    key = SoftKey()
    await add_key(client, key)
    await sign_out(client)
    clock.advance(120)
    await start_signin(client)
    token = await signin_csrf(client)
    options = (await client.post("/signin/key/options", data={"csrf_token": token})).json()["publicKey"]
    signed_in = await client.post("/signin/key", data={"csrf_token": token, "credential": key.get(options)})
    assert signed_in.status_code == 303
    clock.advance(300)
    keys = (await client.get(PROFILE)).text.split('id="security-keys"')[1].split("</section>")[0]
    added = (
        '<time datetime="2027-01-15T09:00:00+01:00">15 Jan 2027, 09:00 CET</time> <span class="ago">(7 min ago)</span>'
    )
    used = (
        '<time datetime="2027-01-15T09:02:00+01:00">15 Jan 2027, 09:02 CET</time> <span class="ago">(5 min ago)</span>'
    )
    assert f"Added {added}" in keys and f"Last used {used}" in keys
