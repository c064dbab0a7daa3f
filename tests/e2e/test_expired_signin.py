"""Issue 14 item 2: fetching the phone takes longer than the pending sign-in lives."""

import pytest

pytest.importorskip("playwright.sync_api")  # the browser extras are optional
from playwright.sync_api import expect

from tests.e2e.conftest import ContextFactory
from tests.e2e.helpers import (
    enable,
    enter_sign_in_code,
    expect_accessible,
    expect_status,
    open_profile,
    sign_in,
    sign_out,
)

pytestmark = pytest.mark.browser

TOOK_TOO_LONG = "Your sign-in took too long or was interrupted. Sign in again with your password."


def test_code_after_the_sign_in_expired(new_context: ContextFactory, user: str, js: bool) -> None:
    """A code entered after the pending sign-in expired leads to sign-in, username filled in, no 403."""
    page = new_context(js=js, bypass_csp=True).new_page()  # bypasses the CSP only to inject axe
    checker = None if js else new_context(js=True, bypass_csp=True).new_page()
    sign_in(page, user)
    open_profile(page)
    enrolled = enable(page, js)
    sign_out(page)
    sign_in(page, user)
    page.context.clear_cookies(name="mirox_pending")  # five minutes later the browser has dropped it
    enter_sign_in_code(page, enrolled.app.current())  # never checked: there is no sign-in to check it for
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect_status(page, TOOK_TOO_LONG)
    expect(page.get_by_label("Username")).to_have_value(user)
    expect(page.get_by_text("This form is no longer valid")).to_have_count(0)
    expect_accessible(page, "the sign-in page after an expired sign-in", checker)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    enter_sign_in_code(page, enrolled.app.spend())
    expect(page.get_by_role("heading", name=f"Welcome, {user}")).to_be_visible()
