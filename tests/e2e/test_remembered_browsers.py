"""Remembered browsers: a shared computer's browser forgotten from the person's own, then this browser too."""

import re

import pytest

pytest.importorskip("playwright.sync_api")  # the browser extras are optional
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ContextFactory
from tests.e2e.helpers import expect_status, open_profile, sign_in

pytestmark = pytest.mark.browser

THIS_BROWSER = re.compile(r"^Forget .+ \(this browser\)$")
OTHER_BROWSER = re.compile(
    r"^Forget .+, remembered since .+[^)]$"
)  # the same browser and system: told apart by "remembered since"


def browsers_card(page: Page) -> Locator:
    return page.get_by_role("region", name="Remembered browsers")


def test_forget_the_shared_computer_then_this_browser(new_context: ContextFactory, user: str, js: bool) -> None:
    sign_in(new_context(js=js).new_page(), user)  # a shared control-room computer

    mine = new_context(js=js).new_page()
    sign_in(mine, user)
    open_profile(mine)
    browsers = browsers_card(mine)
    expect(browsers.get_by_role("listitem")).to_have_count(2)
    expect(browsers.get_by_text("This browser", exact=True)).to_have_count(1)

    browsers.get_by_role("button", name=OTHER_BROWSER).click()
    browsers = browsers_card(mine)
    expect_status(browsers, "That browser is forgotten")
    expect(browsers.get_by_role("listitem")).to_have_count(1)
    expect(browsers.get_by_role("button", name="Forget all other browsers")).to_have_count(0)

    browsers.get_by_role("button", name=THIS_BROWSER).click()
    browsers = browsers_card(mine)
    expect_status(browsers, "This browser is forgotten")
    expect(browsers.get_by_text("No browser is remembered for your account.")).to_be_visible()
    assert not [c for c in mine.context.cookies() if c["name"].endswith("mirox_device")]
    expect(mine.get_by_role("heading", name="Profile", level=1)).to_be_visible()  # still signed in
