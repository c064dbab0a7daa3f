"""Journey: security notices after a stranger's wrong password, answered "This wasn't me"; change password."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ContextFactory
from tests.e2e.helpers import PASSWORD, expect_accessible, expect_status, open_profile, security_card, sign_in, sign_out

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase"


def test_this_wasnt_me_signs_out_the_other_browser(new_context: ContextFactory, user: str, js: bool) -> None:
    """A wrong password, then a sign-in: the notice is announced; "This wasn't me" ends the other browser's session."""
    other = new_context(js=js).new_page()
    sign_in(other, user)
    open_profile(other)

    stranger = new_context(js=js).new_page()
    sign_in(stranger, user, "not the password at all")
    expect(stranger.get_by_role("alert")).to_be_visible()

    mine = new_context(js=js, bypass_csp=True).new_page()  # bypass_csp: for axe-core only
    sign_in(mine, user)
    notices = mine.get_by_role("region", name="Was this you?")
    expect(notices.get_by_role("alert")).to_contain_text(
        re.compile(r"Since your last sign-in: 1 wrong password, the last from 127\.0\.0\.1 at")
    )
    checker = None if js else new_context(js=True, bypass_csp=True).new_page()
    expect_accessible(mine, "the security notices", checker)
    notices.get_by_role("button", name="This wasn't me").click()
    expect_status(mine, "Every other session of your account is signed out")

    other.reload()
    expect(other.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    open_profile(mine)
    expect(mine.get_by_role("region", name="Was this you?")).to_have_count(0)


def test_change_password(new_context: ContextFactory, user: str, js: bool) -> None:
    """Profile ▸ Security ▸ Change password; afterwards only the new password signs in."""
    page = new_context(js=js).new_page()
    sign_in(page, user)
    open_profile(page)
    security_card(page).get_by_role("button", name="Change password").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").last.click()
    expect_status(page, "Your password is changed.")
    sign_out(page)
    sign_in(page, user)
    expect(page.get_by_role("alert")).to_be_visible()
    sign_in(page, user, NEW_PASSWORD)
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
