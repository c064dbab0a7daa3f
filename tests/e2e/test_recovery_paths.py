"""Issue 14 items 3, 6, 8 and 11: keeping the backup code, reopening Enable, Back and reload without JavaScript."""

import re

import pytest

pytest.importorskip("playwright.sync_api")  # the browser extras are optional
from playwright.sync_api import Dialog, Page, expect

from tests.e2e.conftest import PASSWORD, ContextFactory, Server
from tests.e2e.helpers import (
    CODE_LABEL,
    STORED,
    WIZARD,
    Shooter,
    dialog,
    enable,
    expect_accessible,
    expect_status,
    manual_secret,
    open_action,
    password_long_ago,
    run_sql,
    security_card,
    shown_backup_code,
    signed_in_on_profile,
)

pytestmark = pytest.mark.browser

CONTINUE = "Continue setup: this is the setup you started before"


def open_wizard(page: Page, js: bool) -> str:
    wizard = open_action(page, js, "Enable", WIZARD)
    expect(wizard.get_by_role("heading", name="Step 1 of 3: Scan the QR code")).to_be_visible()
    return manual_secret(wizard)


def test_backup_code_is_kept_by_download_and_print(new_context: ContextFactory, user: str, js: bool) -> None:
    """Step 2 offers Download (a text file) and Print (a card: user, date, code, help), with or without JavaScript."""
    page = new_context(js=js, bypass_csp=True, accept_downloads=True).new_page()
    checker = None if js else new_context(js=True, bypass_csp=True).new_page()
    signed_in_on_profile(page, user)
    open_wizard(page, js)
    wizard = dialog(page, WIZARD, js)
    wizard.get_by_role("button", name="Next").click()
    backup_code = shown_backup_code(wizard)
    expect(wizard.get_by_text("click the code to select it, then press Ctrl+C")).to_be_visible()
    with page.expect_download() as download:
        wizard.get_by_role("link", name="Download").click()
    path = download.value.path()
    text = path.read_text()
    assert backup_code in text and user in text
    with page.context.expect_page() as opened:
        wizard.get_by_role("link", name="Print").click()
    card = opened.value
    expect(card.get_by_role("heading", name="Mirox backup code")).to_be_visible()
    expect(card.get_by_text(backup_code, exact=True)).to_be_visible()
    expect(card.get_by_role("main").get_by_text(user, exact=True)).to_be_visible()
    expect(card.get_by_text("Lost both your phone and this code?")).to_be_visible()
    print_button = card.get_by_role("button", name="Print this page")
    if js:
        expect(print_button).to_be_visible()
        Shooter(card).take("backup-card")
    else:
        expect(print_button).to_be_hidden()
    expect_accessible(card, "the printable backup card", checker)


def test_copy_works_without_the_clipboard_api(new_context: ContextFactory, user: str) -> None:
    """On a plain-http host (no navigator.clipboard) the Copy button still copies, or selects the code to copy."""
    context = new_context()
    context.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page = context.new_page()
    signed_in_on_profile(page, user)
    open_wizard(page, js=True)
    wizard = dialog(page, WIZARD, js=True)
    wizard.get_by_role("button", name="Next").click()
    backup_code = shown_backup_code(wizard)
    wizard.get_by_role("button", name="Copy backup code").click()
    expect(
        wizard.get_by_role("status").filter(has_text=re.compile("Copied to the clipboard|press Ctrl\\+C"))
    ).to_be_attached()
    selected = page.evaluate("window.getSelection().toString()")
    copied = wizard.get_by_role("status").filter(has_text="Copied to the clipboard").count() > 0
    assert copied or selected.strip() == backup_code


def test_freshly_issued_code_asks_before_closing(new_context: ContextFactory, user: str) -> None:
    """The new backup code's dialog asks before Esc closes it, and Done waits for "I have stored this code"."""
    page = new_context().new_page()
    signed_in_on_profile(page, user)
    enrolled = enable(page, js=True)
    security_card(page).get_by_role("button", name="New Backup Codes", exact=True).click()
    prompt = dialog(page, "New Backup Codes", js=True)
    prompt.get_by_label(CODE_LABEL).fill(enrolled.app.spend())
    prompt.get_by_role("button", name="Issue new backup code").click()
    issued = dialog(page, "New Backup Codes", js=True)
    code = shown_backup_code(issued)
    asked: list[str] = []

    def decline(question: Dialog) -> None:
        asked.append(question.message)
        question.dismiss()

    page.on("dialog", decline)
    page.keyboard.press("Escape")
    expect(issued.get_by_text(code)).to_be_visible()
    issued.get_by_role("button", name="Close").click()
    expect(issued.get_by_text(code)).to_be_visible()
    assert len(asked) == 2 and "shown only once" in asked[0]
    issued.get_by_role("button", name="Done").click()
    expect(issued.get_by_text(code)).to_be_visible()
    issued.get_by_label(STORED).check()
    issued.get_by_role("button", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert len(asked) == 2


def test_reopening_enable_continues_the_setup(new_context: ContextFactory, user: str, js: bool) -> None:
    """Esc, reload or Back, then Enable again: the same secret ("Continue setup"), so no dead entry in the app."""
    page = new_context(js=js).new_page()
    asked: list[str] = []
    page.on("dialog", lambda question: (asked.append(question.message), question.accept()))
    signed_in_on_profile(page, user)
    secret = open_wizard(page, js)
    if js:
        page.keyboard.press("Escape")  # asks first, then closes
        expect(page.get_by_role("dialog")).to_have_count(0)
        assert asked and "Close the setup?" in asked[0]
        page.reload()
    else:
        page.go_back()
    expect(page.get_by_role("heading", name="Profile", level=1)).to_be_visible()
    assert open_wizard(page, js) == secret
    expect_status(dialog(page, WIZARD, js), CONTINUE)


def test_back_and_reload_without_javascript(new_context: ContextFactory, server: Server, user: str) -> None:
    """Without JavaScript Enable and the password prompt end on GET pages: reload keeps the secret, Back posts nothing."""
    page = new_context(js=False).new_page()
    signed_in_on_profile(page, user)
    password_long_ago(server, user)
    security_card(page).get_by_role("button", name="Enable", exact=True).click()
    expect(page).to_have_url(re.compile(r"/profile/reauth\?then=enable_2fa$"))
    page.reload()
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/profile/2fa/setup/[^/]+/scan(\?.*)?$"))
    secret = manual_secret(dialog(page, WIZARD, js=False))
    page.reload()
    assert manual_secret(dialog(page, WIZARD, js=False)) == secret
    page.go_back()
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()


def test_expired_setup_says_start_again(new_context: ContextFactory, server: Server, user: str, js: bool) -> None:
    """An expired setup names its button ("Start again") and says to delete the earlier Mirox entry."""
    page = new_context(js=js).new_page()
    page.on("dialog", lambda question: question.accept())
    signed_in_on_profile(page, user)
    open_wizard(page, js)
    run_sql(
        server, "UPDATE enrollments SET expires_at = 0 WHERE user_id = (SELECT id FROM users WHERE username = ?)", user
    )
    dialog(page, WIZARD, js).get_by_role("button", name="Next").click()
    expired = dialog(page, "Setup expired", js)
    expect(expired.get_by_role("alert")).to_contain_text("Click Start again")
    expect(expired.get_by_role("alert")).to_contain_text("delete the earlier Mirox entry")
    expect(expired.get_by_role("button", name="Start again")).to_be_visible()
    expired.get_by_role("button", name="Start again").click()
    wizard = dialog(page, WIZARD, js)
    expect(wizard.get_by_role("status").filter(has_text="This is a new QR code.")).to_be_visible()
