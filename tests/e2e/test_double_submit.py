"""Issue 14 item 1: a slow answer and a second click never lose the new backup code."""

import re

import pytest

pytest.importorskip("playwright.sync_api")  # the browser extras are optional
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import ContextFactory
from tests.e2e.helpers import (
    BACKUP_CODE,
    CODE_LABEL,
    Shooter,
    axe_violations,
    dialog,
    enable,
    expect_status,
    open_action,
    shown_backup_code,
    signed_in_on_profile,
)

pytestmark = pytest.mark.browser

ISSUED = "Your new backup code is ready. The previous code no longer works."
REUSED = "This code was already used."


def new_backup_prompt(page: Page, user: str, js: bool) -> tuple[str, object]:
    signed_in_on_profile(page, user)
    enrolled = enable(page, js)
    prompt = open_action(page, js, "New Backup Codes")
    prompt.get_by_label(CODE_LABEL).fill(enrolled.app.spend())
    return enrolled.backup_code, prompt


def test_busy_button_takes_one_click(new_context: ContextFactory, user: str) -> None:
    """While "Issue new backup code" runs it is disabled and busy (spinner); a second click sends nothing."""
    page = new_context(bypass_csp=True).new_page()  # bypasses the CSP only to inject axe
    shots = Shooter(page)
    old_code, prompt = new_backup_prompt(page, user, js=True)
    held: list[Route] = []
    posts: list[str] = []

    def hold(route: Route) -> None:
        if route.request.method == "POST":
            posts.append(route.request.url)
            held.append(route)  # the slow network: answered when the test says so
        else:
            route.continue_()

    page.route(re.compile(r"/profile/2fa/backup-code$"), hold)
    button = prompt.get_by_role("button", name="Issue new backup code")
    button.click()
    expect(button).to_have_attribute("aria-busy", "true")
    expect(button).to_be_disabled()
    shots.take("busy-button", full_page=False)
    assert not axe_violations(page), axe_violations(page)  # the spinner turns for ever: no waiting for animations
    button.click(force=True)  # the impatient second click
    button.click(force=True)
    assert len(posts) == 1
    held[0].continue_()
    issued = dialog(page, "New Backup Codes", js=True)
    expect_status(issued, ISSUED)
    assert shown_backup_code(issued) != old_code
    expect(page.get_by_text(REUSED)).to_have_count(0)
    assert len(posts) == 1


def test_resubmitted_form_shows_the_same_code(new_context: ContextFactory, user: str) -> None:
    """Without JavaScript a second submit of the same form shows the code the first one issued, not an error."""
    page = new_context(js=False).new_page()
    _, prompt = new_backup_prompt(page, user, js=False)
    form = page.locator("form").filter(has=page.get_by_role("button", name="Issue new backup code"))
    fields = {name: form.locator(f"input[name={name}]").input_value() for name in ("csrf_token", "submission", "code")}
    # The first click: the server issues a code, but the browser drops that answer for the second click's.
    first = page.request.post(form.get_attribute("action") or "", form=fields, max_redirects=0)
    assert first.status == 200
    first_code = re.search(r'id="backup-code">([^<]+)<', first.text())
    assert first_code and BACKUP_CODE.fullmatch(first_code.group(1))
    prompt.get_by_role("button", name="Issue new backup code").click()
    issued = dialog(page, "New Backup Codes", js=False)
    expect_status(issued, ISSUED)
    assert shown_backup_code(issued) == first_code.group(1)
    expect(page.get_by_text(REUSED)).to_have_count(0)
