"""Sessions and activity show times in the configured plant zone, named, with relative times."""

import dataclasses

import pytest

from server.settings import Settings
from tests.utils import PROFILE, signed_in_without_two_factor


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, time_zone="Europe/Berlin")


async def test_profile_times_are_in_the_plant_zone_with_relative_times(client, svc, clock):
    """Signed in at 08:00 UTC, viewed 5 minutes later: 09:00 CET, "5 min ago", this session "Active now"."""
    await signed_in_without_two_factor(client, svc)
    clock.advance(300)
    page = (await client.get(PROFILE)).text
    assert page.count("Times are in Europe/Berlin (CET).") == 3  # sessions, remembered browsers and activity
    signed_in = '<time datetime="2027-01-15T09:00:00+01:00">15 Jan 2027, 09:00 CET</time>'
    assert f'{signed_in} <span class="ago">(5 min ago)</span>' in page
    assert '<span class="ago">(Active now)</span>' in page
