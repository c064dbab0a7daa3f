"""Journeys under the administrator's two-factor policy: the grace banner, and the setup an account is
confined to after the deadline, JavaScript on and off."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ContextFactory, Server
from tests.e2e.helpers import (
    CODE_LABEL,
    STORED,
    WIZARD,
    Authenticator,
    dialog,
    expect_accessible,
    expect_status,
    manual_secret,
    open_profile,
    security_card,
    shown_backup_code,
    sign_in,
)

pytestmark = pytest.mark.browser

REQUIRED = "Two-factor authentication is required"


@pytest.fixture
def in_group(server: Server, user: str) -> Iterator[str]:
    """The test's account in a group of its own; the policy is turned off again afterwards (the server is shared)."""
    group = f"group-{user}"
    server.admin("group", "add", group, user)
    yield group
    server.admin("policy", "off")


def finish_setup(page: Page, js: bool) -> None:
    """Steps 2 and 3 of Enable after step 1 shows on the setup page, with the app of the secret shown there."""
    setup = page.get_by_role("region", name=REQUIRED)
    expect(setup.get_by_role("heading", name="Step 1 of 3: Scan the QR code")).to_be_visible()
    app = Authenticator(manual_secret(setup))
    setup.get_by_role("button", name="Next").click()
    wizard = dialog(page, WIZARD, js)  # the usual modal with JavaScript, pages without
    expect(wizard.get_by_role("heading", name="Step 2 of 3: Save your backup code")).to_be_visible()
    shown_backup_code(wizard)
    wizard.get_by_label(STORED).check()
    wizard.get_by_role("button", name="Next").click()
    wizard = dialog(page, WIZARD, js)
    wizard.get_by_label(CODE_LABEL).fill(app.spend())
    wizard.get_by_role("button", name="Verify and Enable").click()
    expect(page.get_by_role("heading", name="Profile", level=1)).to_be_visible()
    expect_status(security_card(page), "Two-factor authentication is on.")


def signed_in_under_policy(
    new_context: ContextFactory, server: Server, user: str, group: str, js: bool, grace_days: int
) -> tuple[Page, Page | None]:
    """2FA required of ``group`` with ``grace_days`` to set it up, then ``user`` signs in: the journey's page (CSP
    bypassed for axe-core only) and, without JavaScript, a page that runs axe on its copy."""
    server.admin("policy", "require-2fa", "--groups", group, "--grace-days", str(grace_days))
    page = new_context(js=js, bypass_csp=True).new_page()
    checker = None if js else new_context(js=True, bypass_csp=True).new_page()
    sign_in(page, user)
    return page, checker


def test_grace_banner_links_to_enable(
    new_context: ContextFactory, server: Server, user: str, in_group: str, js: bool
) -> None:
    """During the grace period every page says by when; its link opens Profile ▸ Security with Enable."""
    page, checker = signed_in_under_policy(new_context, server, user, in_group, js, grace_days=7)
    banner = page.get_by_role("status").filter(has_text="Your administrator requires two-factor authentication")
    expect(banner).to_contain_text(re.compile(r"set it up by \d{1,2} \w{3} \d{4}, \d\d:\d\d"))
    expect_accessible(page, "the grace banner", checker)
    banner.get_by_role("link", name="Set it up: Profile ▸ Security ▸ Enable").click()
    expect(page).to_have_url(re.compile(r"/profile#security-card$"))
    card = security_card(page)
    expect(card.get_by_role("button", name="Enable", exact=True)).to_be_visible()
    open_profile(page)
    expect(page.get_by_role("status").filter(has_text="set it up by")).to_be_visible()


def test_after_the_deadline_only_the_setup_answers(
    new_context: ContextFactory, server: Server, user: str, in_group: str, js: bool
) -> None:
    """Past the deadline, sign-in leads into Enable; Profile leads back to it; after Verify and Enable all opens again."""
    page, checker = signed_in_under_policy(new_context, server, user, in_group, js, grace_days=0)
    setup = page.get_by_role("region", name=REQUIRED)
    expect(setup.get_by_role("alert")).to_contain_text("the time to set it up has passed")
    expect_accessible(page, "the setup page", checker)
    expect(setup.get_by_role("link", name="How two-factor authentication works")).to_be_visible()
    page.goto("/profile")
    expect(page.get_by_role("region", name=REQUIRED)).to_be_visible()
    finish_setup(page, js)
    card = security_card(page)
    expect(card.get_by_text("Enabled", exact=True)).to_be_visible()
    expect(card.get_by_role("button", name="Disable", exact=True)).to_have_count(0)
    expect(card.get_by_text("so Disable is not offered")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="set it up by")).to_have_count(0)
