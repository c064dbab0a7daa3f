"""Security keys in a real browser: Chromium's virtual authenticator (DevTools WebAuthn domain), real signatures.

The server offers keys at http://localhost:PORT (``key_server``): WebAuthn needs a host name, and
browsers allow it over plain http only on localhost. Each virtual authenticator is a USB key with
a PIN (user verification) that is touched automatically.
"""

import re
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api")  # the browser extras are optional
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import PASSWORD, ContextFactory, Server
from tests.e2e.helpers import (
    BACKUP_CODE,
    Shooter,
    enable,
    expect_accessible,
    expect_controls_labelled,
    expect_status,
    open_profile,
    password_long_ago,
    security_card,
    shown_backup_code,
    sign_in,
    sign_out,
    signed_in_on_profile,
    two_factor_step,
)

pytestmark = pytest.mark.browser

KEY_NAME = "Yellow YubiKey"


class VirtualKey:
    """One virtual authenticator attached to a page (CDP ``WebAuthn.addVirtualAuthenticator``)."""

    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")
        options: dict[str, Any] = {
            "protocol": "ctap2",
            "transport": "usb",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        self.id = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"]

    def credentials(self) -> list[dict[str, Any]]:
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"]

    def unplug(self) -> None:
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})


@pytest.fixture
def user(key_server: Server) -> str:
    return key_server.add_user()


@pytest.fixture
def key_page(new_context: ContextFactory, key_server: Server) -> Page:
    return new_context(base_url=key_server.url).new_page()


def keys_section(page: Page) -> Locator:
    return page.get_by_role("region", name="Security keys")


def add_security_key(page: Page, name: str = KEY_NAME, code: str = "") -> None:
    section = keys_section(page)
    section.get_by_label("Name of the new key").fill(name)
    if code:
        section.get_by_label(re.compile("^Code from your app")).fill(code)
    section.get_by_role("button", name="Add security key").click()


def stored_and_done(page: Page) -> None:
    """Confirm the first key's backup code is stored, then close it with Done."""
    page.get_by_label("I have stored this code").check()
    page.get_by_role("button", name="Done").click()


def test_a_key_alone_turns_2fa_on_signs_in_and_stops_when_removed(key_page: Page, user: str) -> None:
    """Register a key with 2FA off (backup code shown), sign in with it, a second unregistered key is refused,
    and once removed the key no longer signs in."""
    page = key_page
    shots = Shooter(page)
    key = VirtualKey(page)
    signed_in_on_profile(page, user)
    shots.take("security-keys-empty")
    add_security_key(page)
    expect(page.get_by_role("heading", name="Save your backup code")).to_be_visible()
    backup_code = shown_backup_code(page.get_by_role("main"))
    assert BACKUP_CODE.fullmatch(backup_code)
    shots.take("security-keys-backup-code", full_page=False)
    stored_and_done(page)
    expect(security_card(page).get_by_text("Enabled", exact=True)).to_be_visible()
    expect(keys_section(page).get_by_role("heading", name=KEY_NAME)).to_be_visible()
    shots.take("security-keys-one")
    assert len(key.credentials()) == 1

    sign_out(page)
    sign_in(page, user)
    step = two_factor_step(page)
    expect(step.get_by_label("6-digit code")).to_have_count(0)
    shots.take("signin-security-key")
    step.get_by_role("button", name="Use security key").click()
    expect(page.get_by_role("heading", name=f"Welcome, {user}")).to_be_visible()

    # Another key, never registered here, gets nowhere.
    sign_out(page)
    key.unplug()
    stranger = VirtualKey(page)
    sign_in(page, user)
    two_factor_step(page).get_by_role("button", name="Use security key").click()
    expect(two_factor_step(page).get_by_role("alert")).to_have_text(re.compile(r"\S"))
    expect(page.get_by_role("heading", name=f"Welcome, {user}")).to_have_count(0)
    assert stranger.credentials() == []


def test_keys_and_the_app_on_one_account(key_page: Page, user: str) -> None:
    """With the app set up, a key is added with a current code; sign-in then offers both; Remove needs a code."""
    page = key_page
    key = VirtualKey(page)
    signed_in_on_profile(page, user)
    app = enable(page, js=True).app
    add_security_key(page, code=app.spend())
    expect_status(keys_section(page), "Security key added.")
    sign_out(page)

    sign_in(page, user)
    step = two_factor_step(page)
    expect(step.get_by_role("button", name="Use security key")).to_be_visible()
    expect(step.get_by_label("6-digit code")).to_be_visible()
    step.get_by_role("button", name="Use security key").click()
    expect(page.get_by_role("heading", name=f"Welcome, {user}")).to_be_visible()

    open_profile(page)
    row = keys_section(page).get_by_role("listitem").filter(has_text=KEY_NAME)
    row.get_by_label(re.compile("^Code from your app")).fill(app.spend())
    row.get_by_role("button", name=f"Remove {KEY_NAME}").click()
    expect_status(keys_section(page), "Security key removed.")
    expect(keys_section(page).get_by_role("listitem")).to_have_count(0)
    sign_out(page)
    sign_in(page, user)
    expect(two_factor_step(page).get_by_role("button", name="Use security key")).to_have_count(0)
    assert len(key.credentials()) == 1  # the key still holds it; the server no longer accepts it


def test_passkey_sign_in_with_user_verification(key_page: Page, user: str) -> None:
    """With passkey sign-in on, a registered key and its PIN sign in from the sign-in page alone."""
    page = key_page
    key = VirtualKey(page)
    signed_in_on_profile(page, user)
    add_security_key(page)
    stored_and_done(page)
    assert key.credentials()[0]["isResidentCredential"]
    sign_out(page)
    page.get_by_role("button", name="Sign in with a security key").click()
    expect(page.get_by_role("heading", name=f"Welcome, {user}")).to_be_visible()


def test_without_javascript_keys_are_hidden_and_the_code_works(
    new_context: ContextFactory, key_server: Server, user: str
) -> None:
    """JavaScript off: no key controls anywhere; the app's code signs in as before."""
    page = new_context(js=False, base_url=key_server.url).new_page()
    signed_in_on_profile(page, user)
    expect(keys_section(page).get_by_role("button", name="Add security key")).to_be_hidden()
    expect(keys_section(page).get_by_text("Security keys need JavaScript")).to_be_visible()
    app = enable(page, js=False).app
    sign_out(page)
    expect(page.get_by_role("button", name="Sign in with a security key")).to_be_hidden()
    sign_in(page, user)
    step = two_factor_step(page)
    expect(step.get_by_role("button", name="Use security key")).to_be_hidden()
    step.get_by_label("6-digit code").fill(app.spend())
    step.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=f"Welcome, {user}")).to_be_visible()


def test_axe_finds_no_serious_problems_with_keys(new_context: ContextFactory, key_server: Server, user: str) -> None:
    """The Security keys section, its backup-code step and the key sign-in prompt pass axe-core."""
    page = new_context(base_url=key_server.url, bypass_csp=True).new_page()
    VirtualKey(page)
    signed_in_on_profile(page, user)
    expect_accessible(page, "Security keys section (no keys)")
    add_security_key(page)
    expect(page.get_by_role("heading", name="Save your backup code")).to_be_visible()
    expect_accessible(page, "backup code after the first key")
    stored_and_done(page)
    expect(keys_section(page).get_by_role("heading", name=KEY_NAME)).to_be_visible()
    expect_accessible(page, "Security keys section (one key)")
    expect_controls_labelled(page)
    sign_out(page)
    expect_accessible(page, "sign-in page with passkey sign-in")
    sign_in(page, user)
    expect(two_factor_step(page).get_by_role("button", name="Use security key")).to_be_visible()
    expect_accessible(page, "two-factor step with Use security key")


def test_disable_with_a_key_turns_everything_off(key_page: Page, user: str) -> None:
    """With keys only, Disable is confirmed by touching the key in its dialog; 2FA is off afterwards."""
    page = key_page
    VirtualKey(page)
    signed_in_on_profile(page, user)
    add_security_key(page)
    stored_and_done(page)
    security_card(page).get_by_role("button", name="Disable", exact=True).click()
    prompt = page.get_by_role("dialog", name="Disable two-factor authentication")
    prompt.get_by_role("button", name="Use security key").click()
    expect(security_card(page).get_by_text("Disabled", exact=True)).to_be_visible()
    expect(keys_section(page).get_by_role("listitem")).to_have_count(0)


def test_add_after_the_password_prompt_keeps_the_name(key_page: Page, key_server: Server, user: str) -> None:
    """With a stale password, Add security key asks for it, then the section says to click Add again with the name
    still typed; that click adds the key under that name."""
    page = key_page
    key = VirtualKey(page)
    signed_in_on_profile(page, user)
    password_long_ago(key_server, user)
    add_security_key(page, "Blue key")
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    section = keys_section(page)
    expect_status(section, "Password confirmed. Click Add security key again.")
    expect(section.get_by_label("Name of the new key")).to_have_value("Blue key")
    add = section.get_by_role("button", name="Add security key")
    assert key.credentials() == []
    add.click()
    stored_and_done(page)
    expect(keys_section(page).get_by_role("heading", name="Blue key")).to_be_visible()
    assert len(key.credentials()) == 1
    page.reload()
    expect(keys_section(page).get_by_label("Name of the new key")).to_have_value("")


def test_past_the_deadline_a_key_on_the_setup_page_frees_the_account(key_page: Page, key_server: Server) -> None:
    """An overdue account (no phone) adds a security key on its setup page, keeps its backup code, then reaches Profile."""
    page = key_page
    user = key_server.add_user()
    group = f"group-{user}"
    key_server.admin("group", "add", group, user)
    key_server.admin("policy", "require-2fa", "--groups", group, "--grace-days", "0")
    try:
        key = VirtualKey(page)
        sign_in(page, user)
        setup = page.get_by_role("region", name="Two-factor authentication is required")
        expect(setup.get_by_role("alert")).to_contain_text("the time to set it up has passed")
        page.goto("/profile")
        expect(page.get_by_role("region", name="Two-factor authentication is required")).to_be_visible()
        add_security_key(page, "Control room key")
        expect(page.get_by_role("heading", name="Save your backup code")).to_be_visible()
        assert BACKUP_CODE.fullmatch(shown_backup_code(page.get_by_role("main")))
        stored_and_done(page)
        expect(page.get_by_role("heading", name="Profile", level=1)).to_be_visible()
        expect(security_card(page).get_by_text("Enabled", exact=True)).to_be_visible()
        expect(keys_section(page).get_by_role("heading", name="Control room key")).to_be_visible()
        expect(page.get_by_role("region", name="Two-factor authentication is required")).to_have_count(0)
        assert len(key.credentials()) == 1
    finally:
        key_server.admin("policy", "off")
