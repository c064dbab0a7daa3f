"""Journey: a request that fails, or that something other than the app answers, shows an error dialog (JavaScript on;
without it the browser shows such answers itself)."""

import pytest
from playwright.sync_api import Route, expect

from tests.e2e.conftest import ContextFactory
from tests.e2e.helpers import Shooter, expect_accessible, open_profile, security_card, sign_in

pytestmark = pytest.mark.browser

PROXY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"


def test_a_dropped_network_shows_an_error_dialog(new_context: ContextFactory, user: str) -> None:
    """Enable with the network gone: a dialog says the service could not be reached; Close returns to Enable."""
    page = new_context(bypass_csp=True).new_page()  # bypass_csp: for axe-core only
    sign_in(page, user)
    open_profile(page)
    page.route("**/profile/2fa/enable", lambda route: route.abort("internetdisconnected"))
    enable = security_card(page).get_by_role("button", name="Enable", exact=True)
    enable.click()
    error = page.get_by_role("dialog", name="The request did not go through")
    expect(error.get_by_role("alert")).to_contain_text("The account service could not be reached.")
    expect(error.get_by_role("button", name="Close")).to_be_focused()
    expect_accessible(page, "the network error dialog")
    Shooter(page).take("error-dialog-network", full_page=False)
    error.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(enable).to_be_focused()


def test_a_proxy_error_page_is_never_pasted_into_the_page(new_context: ContextFactory, user: str) -> None:
    """A proxy's 502 page for an htmx request: an error dialog with the status, and none of the proxy's page."""
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, user)
    open_profile(page)

    def bad_gateway(route: Route) -> None:
        route.fulfill(status=502, content_type="text/html", body=PROXY_PAGE)

    page.route("**/profile/2fa/enable", bad_gateway)
    security_card(page).get_by_role("button", name="Enable", exact=True).click()
    error = page.get_by_role("dialog", name="The request did not go through")
    expect(error.get_by_role("alert")).to_contain_text("answered instead of it (status 502)")
    expect(page.get_by_text("Bad Gateway")).to_have_count(0)
    Shooter(page).take("error-dialog-proxy", full_page=False)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.unroute("**/profile/2fa/enable")
    security_card(page).get_by_role("button", name="Enable", exact=True).click()
    expect(page.get_by_role("dialog", name="Set up two-factor authentication")).to_be_visible()
