"""Journey 7: Managing Your Sessions, with a second browser signed in to the same account."""

import re

import pytest

pytest.importorskip("playwright.sync_api")  # the browser extras are optional
from playwright.sync_api import expect

from tests.e2e.conftest import ContextFactory
from tests.e2e.helpers import Shooter, expect_status, open_profile, security_card, sessions_card, sign_in

pytestmark = pytest.mark.browser

OTHER_SESSION = re.compile(r"^Sign out .+, 127\.0\.0\.1$")  # this device's button ends "(this device)"


def test_sign_out_another_session(new_context: ContextFactory, user: str, js: bool) -> None:
    other = new_context(js=js).new_page()
    sign_in(other, user)
    open_profile(other)

    mine = new_context(js=js).new_page()
    shots = Shooter(mine, enabled=js)
    sign_in(mine, user)
    open_profile(mine)
    sessions = sessions_card(mine)
    expect(sessions.get_by_role("listitem")).to_have_count(2)
    expect(sessions.get_by_text("This device", exact=True)).to_have_count(1)
    expect(sessions.get_by_role("button", name=re.compile(r"\(this device\)$"))).to_have_count(1)
    shots.take("sessions-two")

    sessions.get_by_role("button", name=OTHER_SESSION).click()
    sessions = sessions_card(mine)
    expect_status(sessions, "That session is signed out.")
    if js:  # focus moves to the confirmation, so a screen reader reads it
        expect(sessions.get_by_role("status").filter(has_text="That session is signed out.")).to_be_focused()
    expect(sessions.get_by_role("listitem")).to_have_count(1)
    expect(sessions.get_by_role("button", name=OTHER_SESSION)).to_have_count(0)
    shots.take("sessions-signed-out-other")

    # The other browser still shows the Profile page; its next click lands on sign-in.
    security_card(other).get_by_role("button", name="Enable", exact=True).click()
    expect(other.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(other).to_have_url(re.compile(r"/signin(\?|$)"))

    # This browser is still signed in.
    open_profile(mine)
    expect(sessions_card(mine).get_by_role("listitem")).to_have_count(1)
