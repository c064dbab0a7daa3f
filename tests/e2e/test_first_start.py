"""Journey 1: first start. The one-time link from the console creates the first account."""

import pytest

pytest.importorskip("playwright.sync_api")  # the browser extras are optional
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, ContextFactory, Server
from tests.e2e.helpers import Shooter, expect_disabled, expect_field_error, expect_status, open_profile, sign_in

pytestmark = pytest.mark.browser


def test_first_start(fresh_server: Server, new_context: ContextFactory, js: bool) -> None:
    page = new_context(js=js, base_url=fresh_server.url).new_page()
    shots = Shooter(page, enabled=js)
    page.goto(fresh_server.setup_link())
    expect(page.get_by_role("heading", name="Create the first account")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_focused()
    shots.take("first-start-setup")

    # A typo in the repeated password: the message is announced and tied to that field.
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD + "!")
    page.get_by_role("button", name="Create account").click()
    repeat = page.get_by_label("Repeat the password")
    expect_field_error(repeat, "The two passwords do not match.")
    expect(repeat).to_be_focused()
    expect(page.get_by_label("Username")).to_have_value("operator")
    shots.take("first-start-setup-error")

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    repeat.fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect_status(page, "Account created. Sign in with your new username and password.")
    shots.take("signin")
    sign_in(page, "operator")
    expect(page.get_by_role("heading", name="Profile", level=1)).to_be_visible()
    open_profile(page)
    expect_disabled(page)

    # The link works once.
    page.goto(fresh_server.setup_link())
    expect(page.get_by_role("alert")).to_have_text(
        "This setup link is invalid or was already used. Use the link printed on the server console."
    )
