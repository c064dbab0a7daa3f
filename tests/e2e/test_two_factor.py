"""Journeys 2 to 6 of the user guide, each with JavaScript on (htmx dialogs) and off (plain pages).

Each test has its own account, and spends each TOTP time step at most once (see ``Authenticator``).
"""

import re
from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api")  # the browser extras are optional
from playwright.sync_api import Locator, Page, expect

from tests.e2e.helpers import (
    CODE_LABEL,
    STORED,
    WIZARD,
    Authenticator,
    Shooter,
    decode_qr,
    dialog,
    enable,
    enter_sign_in_code,
    expect_disabled,
    expect_enabled,
    expect_field_error,
    expect_no_dialog,
    expect_status,
    manual_secret,
    open_action,
    open_profile,
    parse_otpauth,
    security_card,
    shown_backup_code,
    sign_in,
    sign_out,
    signed_in_on_profile,
    submit_code,
    two_factor_step,
)

pytestmark = pytest.mark.browser

INVALID_CODE = "That code is not valid. Enter the current 6-digit code from your authenticator app."


def clipboard(page: Page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def expect_copy_button(where: Locator, button: str, text: str, js: bool) -> None:
    """With JavaScript ``button`` puts ``text`` on the clipboard and says so; without, it is hidden."""
    copy = where.get_by_role("button", name=button)
    if js:
        copy.click()
        expect_status(where, "Copied to the clipboard.")
        assert clipboard(where.page) == text
    else:
        expect(copy).to_be_hidden()


def test_enable(page: Page, user: str, js: bool, tmp_path: Path) -> None:
    """Journey 2: Enable, scan (QR and Manual Entry agree), save the backup code, Verify and Enable."""
    shots = Shooter(page, enabled=js)
    signed_in_on_profile(page, user)
    expect_disabled(page)
    shots.take("security-card-disabled")
    loads: list[Page] = []
    page.on("load", lambda loaded: loads.append(loaded))
    if js:
        page.evaluate("window.e2eMarker = 'same document'")

    wizard = open_action(page, js, "Enable", WIZARD)
    expect(wizard.get_by_role("heading", name="Step 1 of 3: Scan the QR code")).to_be_visible()
    expect(wizard.get_by_role("listitem").filter(has_text="Scan the QR code")).to_have_attribute("aria-current", "step")
    shots.take("wizard-step1-scan", full_page=False)

    # Manual Entry and the QR code carry the same secret.
    secret = manual_secret(wizard)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    kind, label, params = parse_otpauth(decode_qr(wizard, tmp_path / "wizard-step1.png"))
    assert kind == "totp"
    assert label == f"Mirox:{user}"
    assert params["secret"] == secret
    assert params["issuer"] == "Mirox"
    assert params.get("digits", "6") == "6" and params.get("period", "30") == "30"

    expect_copy_button(wizard, "Copy secret", secret, js)

    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_role("heading", name="Step 2 of 3: Save your backup code")).to_be_visible()
    backup_code = shown_backup_code(wizard)
    expect_copy_button(wizard, "Copy backup code", backup_code, js)
    shots.take("wizard-step2-backup", full_page=False)

    stored = wizard.get_by_label(STORED)
    stored.check()
    shots.take("wizard-step2-stored", full_page=False)
    stored.uncheck()
    # Next waits for "I have stored this code" (the browser's own check, with or without JavaScript).
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_role("heading", name="Step 2 of 3: Save your backup code")).to_be_visible()
    stored.check()
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_role("heading", name="Step 3 of 3: Verify and enable")).to_be_visible()
    shots.take("wizard-step3-verify", full_page=False)

    # A wrong code changes nothing: the dialog stays, with the reason next to the field.
    app = Authenticator(secret)
    field = wizard.get_by_label(CODE_LABEL)
    field.fill(app.wrong())
    wizard.get_by_role("button", name="Verify and Enable").click()
    expect_field_error(wizard.get_by_label(CODE_LABEL), INVALID_CODE)
    shots.take("wizard-step3-error", full_page=False)

    wizard.get_by_label(CODE_LABEL).fill(app.spend())
    wizard.get_by_role("button", name="Verify and Enable").click()
    expect_enabled(page)
    expect_no_dialog(page)
    expect(security_card(page).locator("time")).to_have_attribute("datetime", date.today().isoformat())
    expect_status(
        security_card(page), "Two-factor authentication is on. Every sign-in now asks for a code from your app."
    )
    if js:
        # The card changed in place: the same document, no page load since the Profile page.
        assert page.evaluate("window.e2eMarker") == "same document"
        assert loads == []
    shots.take("security-card-enabled")


def test_sign_in_asks_for_a_code(page: Page, user: str, js: bool) -> None:
    """Journey 3: after Enable, sign-in needs a current code; a wrong one is refused clearly."""
    shots = Shooter(page, enabled=js)
    signed_in_on_profile(page, user)
    app = enable(page, js).app
    sign_out(page)

    sign_in(page, user)
    step = two_factor_step(page)
    expect(page).to_have_url(re.compile(r"/signin/two-factor"))
    expect(step.get_by_label("6-digit code")).to_be_focused()
    shots.take("signin-two-factor")

    enter_sign_in_code(page, app.wrong())
    field = two_factor_step(page).get_by_label("6-digit code")
    expect_field_error(
        field, re.compile(re.escape(INVALID_CODE) + r" Attempts left before you have to sign in again: \d+\.")
    )
    expect(field).to_be_focused()
    shots.take("signin-two-factor-error")

    enter_sign_in_code(page, app.spend())
    expect(page.get_by_role("heading", name=f"Welcome, {user}")).to_be_visible()
    open_profile(page)
    expect_enabled(page)


def test_check_2fa(page: Page, user: str, js: bool) -> None:
    """Journey 4: Check 2FA says whether a code is valid, and changes nothing either way."""
    shots = Shooter(page, enabled=js)
    signed_in_on_profile(page, user)
    app = enable(page, js).app

    prompt = open_action(page, js, "Check 2FA")
    expect(prompt.get_by_text("This is a dry run: nothing on your account changes.")).to_be_visible()
    expect(prompt.get_by_label(CODE_LABEL)).to_be_focused()
    shots.take("check-2fa-dialog", full_page=False)
    submit_code(prompt, app.wrong(), "Check code")
    expect_field_error(dialog(page, "Check 2FA", js).get_by_label(CODE_LABEL), INVALID_CODE)
    shots.take("check-2fa-error", full_page=False)

    if js:  # the page behind the dialog did not change
        expect_enabled(page)
    prompt = dialog(page, "Check 2FA", js)
    submit_code(prompt, app.current(), "Check code")
    expect_no_dialog(page)
    confirmation = "Your code is valid: your authenticator app is in sync. Nothing on your account changed."
    expect_status(security_card(page), confirmation)
    if js:  # focus moves to the confirmation, so a screen reader reads it
        expect(security_card(page).get_by_role("status").filter(has_text=confirmation)).to_be_focused()
    expect_enabled(page)
    shots.take("check-2fa-success")

    page.reload()
    expect_enabled(page)


def test_new_backup_codes(page: Page, user: str, js: bool) -> None:
    """Journey 5: a new backup code replaces the old one; using it signs in and turns 2FA off."""
    shots = Shooter(page, enabled=js)
    signed_in_on_profile(page, user)
    enrolled = enable(page, js)

    prompt = open_action(page, js, "New Backup Codes")
    expect(prompt.get_by_text("Your previous backup code stops working at once.")).to_be_visible()
    shots.take("new-backup-code-prompt", full_page=False)
    submit_code(prompt, enrolled.app.spend(), "Issue new backup code")
    issued = dialog(page, "New Backup Codes", js)
    expect_status(issued, "Your new backup code is ready. The previous code no longer works.")
    new_code = shown_backup_code(issued)
    assert new_code != enrolled.backup_code
    if js:
        issued.get_by_role("button", name="Copy backup code").click()
        expect_status(issued, "Copied to the clipboard.")
        assert clipboard(page) == new_code
    shots.take("new-backup-code-issued", full_page=False)
    issued.get_by_label(STORED).check()
    shots.take("new-backup-code-stored", full_page=False)
    issued.get_by_label(STORED).uncheck()
    issued.get_by_role("button", name="Done").click()  # not yet: "I have stored this code" first
    expect(dialog(page, "New Backup Codes", js).get_by_text(new_code)).to_be_visible()
    issued.get_by_label(STORED).check()
    issued.get_by_role("button", name="Done").click()
    expect_no_dialog(page)
    expect_enabled(page)

    sign_out(page)
    sign_in(page, user)
    two_factor_step(page).get_by_role("link", name="Use Backup Code").click()
    step = two_factor_step(page)
    expect(step.get_by_label("Backup code")).to_be_focused()
    shots.take("signin-backup-code")
    step.get_by_label("Backup code").fill(enrolled.backup_code)
    step.get_by_role("button", name="Use Backup Code").click()
    expect_field_error(
        two_factor_step(page).get_by_label("Backup code"),
        re.compile(r"^That backup code is not valid\. Check it and try again\."),
    )

    two_factor_step(page).get_by_label("Backup code").fill(new_code)
    two_factor_step(page).get_by_role("button", name="Use Backup Code").click()
    expect(page.get_by_role("heading", name="Profile", level=1)).to_be_visible()
    expect_disabled(page)
    expect_status(
        security_card(page),
        "You signed in with your backup code, so two-factor authentication is now off. "
        "Click Enable to set it up again with a fresh QR scan.",
    )
    shots.take("backup-code-used-notice")


def test_disable(page: Page, user: str, js: bool) -> None:
    """Journey 6: Disable needs a current code; afterwards sign-in asks only for the password."""
    shots = Shooter(page, enabled=js)
    signed_in_on_profile(page, user)
    app = enable(page, js).app

    prompt = open_action(page, js, "Disable", "Disable two-factor authentication")
    expect(prompt.get_by_text("to turn two-factor authentication off")).to_be_visible()
    shots.take("disable-dialog", full_page=False)
    submit_code(prompt, app.wrong(), "Disable 2FA")
    expect_field_error(dialog(page, "Disable two-factor authentication", js).get_by_label(CODE_LABEL), INVALID_CODE)
    if js:
        expect_enabled(page)
    shots.take("disable-dialog-error", full_page=False)
    prompt = dialog(page, "Disable two-factor authentication", js)
    submit_code(prompt, app.spend(), "Disable 2FA")
    expect_no_dialog(page)
    expect_disabled(page)
    turned_off = "Two-factor authentication is off. Sign-in now asks only for your password."
    expect_status(security_card(page), turned_off)
    if js:
        expect(security_card(page).get_by_role("status").filter(has_text=turned_off)).to_be_focused()
    shots.take("security-card-disabled-notice")

    sign_out(page)
    sign_in(page, user)
    expect(page.get_by_role("heading", name=f"Welcome, {user}")).to_be_visible()
