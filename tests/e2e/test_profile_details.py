"""Journeys through the smaller details of the Profile page: focus, the activity list, an ended session."""

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, ContextFactory, Server, start_server
from tests.e2e.helpers import (
    MOBILE,
    STORED,
    WIZARD,
    Shooter,
    dialog,
    enable,
    expect_accessible,
    expect_status,
    open_action,
    open_profile,
    security_card,
    shown_backup_code,
    sign_in,
    signed_in_on_profile,
    submit_code,
)

pytestmark = pytest.mark.browser


def test_step_heading_takes_focus_without_a_ring(page: Page, user: str, js: bool) -> None:
    """Step 1's heading gets the focus (screen readers start there) but no ring that looks like a field."""
    signed_in_on_profile(page, user)
    heading = open_action(page, js, "Enable", WIZARD).get_by_role("heading", name="Step 1 of 3: Scan the QR code")
    expect(heading).to_be_focused()
    assert heading.evaluate("element => getComputedStyle(element).outlineStyle") == "none"


def test_new_backup_codes_shows_up_in_the_activity_list(page: Page, user: str, js: bool) -> None:
    """After New Backup Codes the page's activity list names it at once, without a reload."""
    signed_in_on_profile(page, user)
    enrolled = enable(page, js)
    prompt = open_action(page, js, "New Backup Codes")
    submit_code(prompt, enrolled.app.spend(), "Issue new backup code")
    result = dialog(page, "New Backup Codes", js)
    assert shown_backup_code(result) != enrolled.backup_code
    activity = page.get_by_role("region", name="Recent security activity")
    if js:  # the list behind the open dialog is already current
        expect(activity.get_by_role("row").nth(1)).to_contain_text("New backup code issued")
    result.get_by_label(STORED).check()
    result.get_by_role("button", name="Done").click()
    expect(activity.get_by_role("row").nth(1)).to_contain_text("New backup code issued")


def end_sessions_by_idling(server: Server, username: str) -> None:
    """The account's sessions look idle for an hour (the idle timeout is 30 minutes)."""
    with sqlite3.connect(server.data_dir / "mirox.sqlite3") as db:
        db.execute(
            "UPDATE sessions SET last_seen_at = last_seen_at - 3600 "
            "WHERE user_id = (SELECT id FROM users WHERE username = ?)",
            (username,),
        )


def test_an_action_after_the_idle_timeout_signs_in_again_and_returns(
    new_context: ContextFactory, server: Server, user: str, js: bool
) -> None:
    """Enable on a Profile page left open past the idle timeout: the sign-in page at its own URL, then back to Profile."""
    page = new_context(js=js, bypass_csp=True).new_page()  # bypass_csp: for axe-core only
    signed_in_on_profile(page, user)
    end_sessions_by_idling(server, user)
    security_card(page).get_by_role("button", name="Enable", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect_status(page, "Your session has ended.")
    # page.url can lag behind a navigation htmx starts from a response; the document's own address cannot
    address = page.evaluate("location.pathname + location.search") if js else page.url
    assert "/signin?next=%2Fprofile" in address
    if js:
        expect_accessible(page, "the sign-in page after the idle timeout")
    sign_in(page, user)
    expect(page.get_by_role("heading", name="Profile", level=1)).to_be_visible()
    expect(page.get_by_role("region", name="Security", exact=True)).to_be_visible()


@pytest.fixture
def plant_server(tmp_path: Path) -> Iterator[Server]:
    """A server whose plant time zone is Europe/Berlin."""
    s = start_server(tmp_path / "data", settings={"MIROX_TIME_ZONE": "Europe/Berlin"})
    yield s
    s.stop()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_times_are_in_the_plant_zone_and_named(browser, plant_server: Server, js: bool) -> None:
    """Sessions and activity name the plant's zone, mark up each time with <time datetime>, and say "Active now"."""
    user = plant_server.add_user()
    context = browser.new_context(base_url=plant_server.url, viewport=DESKTOP, java_script_enabled=js, locale="en-GB")
    try:
        page = context.new_page()
        sign_in(page, user)
        open_profile(page)
        sessions = page.get_by_role("region", name="Managing Your Sessions")
        activity = page.get_by_role("region", name="Recent security activity")
        zone = re.compile(r"Times are in Europe/Berlin \((CET|CEST)\)\.")
        expect(sessions.get_by_text(zone)).to_be_visible()
        expect(activity.get_by_text(zone)).to_be_visible()
        expect(sessions.get_by_text("(Active now)")).to_be_visible()
        expect(activity.get_by_role("row").nth(1)).to_contain_text(re.compile(r"\d\d:\d\d CES?T \(just now\)"))
        stamp = activity.locator("time").first.get_attribute("datetime") or ""
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", stamp), stamp
        Shooter(page, enabled=js).take("profile-times-with-zone")
    finally:
        context.close()


def test_on_a_phone_the_link_and_manual_entry_come_before_the_qr_code(
    new_context: ContextFactory, user: str, js: bool
) -> None:
    """At 375 px: "Add to authenticator on this phone" (otpauth://) and Manual Entry with account, issuer and the
    secret's characters come before the QR code; on a desktop the link is not offered."""
    page = new_context(js=js, viewport=MOBILE, bypass_csp=True).new_page()  # bypass_csp: for axe-core only
    signed_in_on_profile(page, user)
    wizard = open_action(page, js, "Enable", WIZARD)
    link = wizard.get_by_role("link", name="Add to authenticator on this phone")
    expect(link).to_be_visible()
    assert (link.get_attribute("href") or "").startswith(f"otpauth://totp/Mirox:{user}?secret=")
    manual = wizard.get_by_role("region", name="Manual Entry")
    expect(manual).to_contain_text(f"Account{user}")
    expect(manual).to_contain_text("IssuerMirox")
    expect(manual.get_by_role("code")).to_have_accessible_description(
        re.compile("letters A\u2013Z and the digits 2\u20137")
    )
    qr = wizard.locator("figure.qr")
    link_box, manual_box, qr_box = link.bounding_box(), manual.bounding_box(), qr.bounding_box()
    assert link_box and manual_box and qr_box
    assert link_box["y"] < manual_box["y"] < qr_box["y"], "on a phone the QR code comes last"
    assert manual_box["y"] < MOBILE["height"], "Manual Entry starts above the fold"
    if js:
        expect_accessible(page, "step 1 on a phone")
    page.set_viewport_size(DESKTOP)
    expect(link).to_be_hidden()
    assert qr.bounding_box()["y"] < manual.bounding_box()["y"], "on a desktop the QR code comes first"  # type: ignore[index]
