"""Accessibility: labelled controls, focus in and out of dialogs, announced errors, keyboard alone, axe-core."""

import re

import pytest

pytest.importorskip("playwright.sync_api")  # the browser extras are optional
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ContextFactory
from tests.e2e.helpers import (
    CODE_LABEL,
    STORED,
    WIZARD,
    Authenticator,
    dialog,
    enable,
    enter_sign_in_code,
    expect_accessible,
    expect_controls_labelled,
    expect_enabled,
    expect_field_error,
    expect_no_dialog,
    expect_status,
    open_profile,
    security_card,
    sessions_card,
    sign_in,
    sign_out,
    signed_in_on_profile,
    two_factor_step,
)

pytestmark = pytest.mark.browser


def expect_focus_stays_inside(page: Page, modal: Locator, key: str, presses: int) -> None:
    for _ in range(presses):
        page.keyboard.press(key)
        expect(modal.locator(":focus")).to_have_count(1)


def test_dialogs_trap_focus_and_give_it_back(new_context: ContextFactory, user: str) -> None:
    page = new_context().new_page()
    page.on("dialog", lambda asked: asked.accept())  # "Close the setup?": yes
    signed_in_on_profile(page, user)
    enable_button = security_card(page).get_by_role("button", name="Enable", exact=True)

    enable_button.click()
    wizard = dialog(page, WIZARD, js=True)
    expect(wizard.get_by_role("heading", name="Step 1 of 3: Scan the QR code")).to_be_focused()
    # Close, Copy secret, Next, Cancel: two full rounds each way never leave the dialog.
    expect_focus_stays_inside(page, wizard, "Tab", 9)
    expect_focus_stays_inside(page, wizard, "Shift+Tab", 9)
    page.keyboard.press("Escape")
    expect_no_dialog(page)
    expect(enable_button).to_be_focused()

    enable_button.click()
    dialog(page, WIZARD, js=True).get_by_role("button", name="Cancel").click()
    expect_no_dialog(page)
    expect(enable_button).to_be_focused()

    enable_button.click()
    wizard = dialog(page, WIZARD, js=True)
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_role("heading", name="Step 2 of 3: Save your backup code")).to_be_visible()
    expect_focus_stays_inside(page, wizard, "Tab", 5)
    wizard.get_by_role("button", name="Close").click()
    expect_no_dialog(page)
    expect(enable_button).to_be_focused()

    enable(page, js=True)
    for action, title, how in (
        ("Check 2FA", "Check 2FA", "Escape"),
        ("New Backup Codes", "New Backup Codes", "Cancel"),
        ("Disable", "Disable two-factor authentication", "Close"),
    ):
        opener = security_card(page).get_by_role("button", name=action, exact=True)
        opener.click()
        prompt = dialog(page, title, js=True)
        expect(prompt.get_by_label(CODE_LABEL)).to_be_focused()
        expect_focus_stays_inside(page, prompt, "Tab", 6)
        if how == "Escape":
            page.keyboard.press("Escape")
        else:
            prompt.get_by_role("button", name=how).click()
        expect_no_dialog(page)
        expect(opener).to_be_focused()
    expect_enabled(page)


def test_enable_with_the_keyboard_alone(new_context: ContextFactory, user: str) -> None:
    page = new_context().new_page()
    signed_in_on_profile(page, user)
    enable_button = security_card(page).get_by_role("button", name="Enable", exact=True)
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if enable_button.evaluate("button => button === document.activeElement"):
            break
    expect(enable_button).to_be_focused()
    page.keyboard.press("Enter")

    wizard = dialog(page, WIZARD, js=True)
    # Each step starts on its title, so a screen reader says where it is.
    expect(wizard.get_by_role("heading", name="Step 1 of 3: Scan the QR code")).to_be_focused()
    secret = wizard.get_by_role("region", name="Manual Entry").get_by_role("code").inner_text().replace(" ", "")
    page.keyboard.press("Tab")
    expect(wizard.get_by_role("button", name="Copy secret")).to_be_focused()
    page.keyboard.press("Enter")
    expect_status(wizard, "Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.keyboard.press("Tab")
    expect(wizard.get_by_role("button", name="Next")).to_be_focused()
    page.keyboard.press("Enter")

    expect(wizard.get_by_role("heading", name="Step 2 of 3: Save your backup code")).to_be_focused()
    page.keyboard.press("Tab")
    expect(wizard.get_by_role("button", name="Copy backup code")).to_be_focused()
    page.keyboard.press("Tab")
    expect(wizard.get_by_role("link", name="Download")).to_be_focused()
    page.keyboard.press("Tab")
    expect(wizard.get_by_role("link", name="Print")).to_be_focused()
    page.keyboard.press("Tab")
    expect(wizard.get_by_label(STORED)).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(wizard.get_by_role("button", name="Next")).to_be_focused()
    page.keyboard.press("Space")

    expect(wizard.get_by_role("heading", name="Step 3 of 3: Verify and enable")).to_be_visible()
    code_field = wizard.get_by_label(CODE_LABEL)
    expect(code_field).to_be_focused()
    page.keyboard.type(Authenticator(secret).spend())
    page.keyboard.press("Enter")

    expect_no_dialog(page)
    expect_enabled(page)
    # Focus lands on the confirmation, so a screen reader reads it out.
    notice = security_card(page).get_by_role("status").filter(has_text="Two-factor authentication is on.")
    expect(notice).to_be_focused()


def test_wrong_password_is_announced_and_linked(new_context: ContextFactory, user: str) -> None:
    page = new_context().new_page()
    sign_in(page, user, "not the password")
    message = "That username and password do not match. Check both and try again."
    expect_field_error(page.get_by_label("Password"), message)
    expect_field_error(page.get_by_label("Username"), message)
    expect(page.get_by_label("Password")).to_be_focused()


def test_axe_finds_no_serious_problems(new_context: ContextFactory, user: str, js: bool) -> None:
    """axe-core on every screen of the journeys; the context bypasses the CSP only to inject axe."""
    page = new_context(js=js, bypass_csp=True).new_page()
    checker = None if js else new_context(js=True, bypass_csp=True).new_page()

    def check(where: str) -> None:
        expect_controls_labelled(page)
        expect_accessible(page, where, checker)

    page.goto("/signin")
    check("sign-in")
    sign_in(page, user, "not the password")
    expect(page.get_by_role("alert")).to_be_visible()
    check("sign-in with an error")
    sign_in(page, user)
    open_profile(page)
    check("Profile, 2FA disabled")

    security_card(page).get_by_role("button", name="Enable", exact=True).click()
    wizard = dialog(page, WIZARD, js)
    app = Authenticator(
        wizard.get_by_role("region", name="Manual Entry").get_by_role("code").inner_text().replace(" ", "")
    )
    check("wizard step 1")
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_role("heading", name="Step 2 of 3: Save your backup code")).to_be_visible()
    check("wizard step 2")
    wizard.get_by_label(STORED).check()
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_role("heading", name="Step 3 of 3: Verify and enable")).to_be_visible()
    check("wizard step 3")
    wizard.get_by_label(CODE_LABEL).fill(app.wrong())
    wizard.get_by_role("button", name="Verify and Enable").click()
    expect(wizard.get_by_role("alert")).to_be_visible()
    check("wizard step 3 with an error")
    wizard.get_by_label(CODE_LABEL).fill(app.spend())
    wizard.get_by_role("button", name="Verify and Enable").click()
    expect_enabled(page)
    check("Profile, 2FA enabled, with the confirmation")

    security_card(page).get_by_role("button", name="Check 2FA", exact=True).click()
    prompt = dialog(page, "Check 2FA", js)
    check("Check 2FA")
    prompt.get_by_label(CODE_LABEL).fill(app.wrong())
    prompt.get_by_role("button", name="Check code").click()
    expect(dialog(page, "Check 2FA", js).get_by_role("alert")).to_be_visible()
    check("Check 2FA with an error")
    dialog(page, "Check 2FA", js).get_by_role("button" if js else "link", name="Cancel").click()
    expect_no_dialog(page)

    other = new_context(js=js).new_page()
    sign_in(other, user)
    enter_sign_in_code(other, app.spend())
    expect(other.get_by_role("heading", name=f"Welcome, {user}")).to_be_visible()
    page.goto("/profile")
    expect(sessions_card(page).get_by_role("listitem")).to_have_count(2)
    check("Profile with two sessions")
    sessions_card(page).get_by_role("button", name=re.compile(r"^Sign out .+, 127\.0\.0\.1$")).click()
    expect_status(sessions_card(page), "That session is signed out.")
    check("Profile after signing out another session")

    sign_out(page)
    sign_in(page, user)
    two_factor_step(page)
    check("two-factor step")
    enter_sign_in_code(page, app.wrong())
    expect(page.get_by_role("alert")).to_be_visible()
    check("two-factor step with an error")
    two_factor_step(page).get_by_role("link", name="Use Backup Code").click()
    expect(two_factor_step(page).get_by_label("Backup code")).to_be_visible()
    check("backup code step")
