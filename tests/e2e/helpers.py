"""What a person does in the browser, in the user guide's words: sign in, open the Profile, use the Security card.

Every control is found by its role and visible label, as a person (or a screen reader) finds it.
``js`` tells whether the page runs JavaScript: with it the Security card's actions open a modal
dialog; without it the same content is a page of its own.
"""

import json
import re
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
from playwright.sync_api import Locator, Page, Route, expect

from tests.e2e.conftest import PASSWORD, REPO, Server

SHOTS = REPO / "docs" / "screenshots"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
MOBILE = {"width": 375, "height": 812}
STEP = 30
BACKUP_CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}$")
CODE_LABEL = "6-digit code from your authenticator app"
WIZARD = "Set up two-factor authentication"
STORED = "I have stored this code"


def run_sql(server: Server, statement: str, username: str) -> None:
    """One statement on the server's SQLite database, with ``username`` as its parameter."""
    with sqlite3.connect(server.data_dir / "mirox.sqlite3") as db:
        db.execute(statement, (username,))


def password_long_ago(server: Server, username: str) -> None:
    """The account's sessions confirmed the password an hour ago: past the window of fresh actions."""
    run_sql(
        server,
        "UPDATE sessions SET authenticated_at = authenticated_at - 3600 "
        "WHERE user_id = (SELECT id FROM users WHERE username = ?)",
        username,
    )


# ---- the authenticator app -------------------------------------------------------------------


@dataclass
class Authenticator:
    """The phone app, plus the bookkeeping a test needs because the server accepts each time step once.

    The server takes codes of the previous, current and next 30-second step, and never a step at or
    before the last one it accepted. So each code that the server will *spend* is taken from the
    earliest step that is still unused and still inside the window, never waiting for the clock.
    """

    secret: str
    last_step: int | None = None

    @property
    def totp(self) -> pyotp.TOTP:
        return pyotp.TOTP(self.secret)

    def spend(self) -> str:
        """A code the server will accept and then mark used.

        When the three steps of the window are all used (three codes within one step), the person
        waits for the app's next code, as on a real phone: the server runs on the real clock here.
        """
        code = self._unused(time.time())
        if code is None:
            time.sleep(STEP - time.time() % STEP)
            code = self._unused(time.time())
        assert code is not None, "the next time step always opens a new code"
        return code

    def _unused(self, now: float) -> str | None:
        step, into = divmod(int(now), STEP)
        # The previous step is safe only if the server will see the code before this step ends.
        candidates = ([step - 1] if into < STEP - 5 else []) + [step, step + 1]
        for candidate in candidates:
            if self.last_step is None or candidate > self.last_step:
                self.last_step = candidate
                return self.totp.at(candidate * STEP)
        return None

    def current(self) -> str:
        """A currently valid code for actions that do not spend it (Check 2FA)."""
        return self.totp.now()

    def wrong(self) -> str:
        """A well-formed code that is valid for no step near now."""
        step = int(time.time()) // STEP
        near = {self.totp.at((step + k) * STEP) for k in range(-3, 4)}
        return next(c for c in ("000000", "123456", "654321", "111111", "999999") if c not in near)


# ---- pages ------------------------------------------------------------------------------------


def today() -> str:
    """How the app writes today's date, e.g. ``5 Mar 2026``."""
    now = datetime.now()
    return f"{now.day} {now:%b %Y}"


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Fill in the sign-in form (opening it first unless it is already shown) and submit."""
    if not page.get_by_role("heading", name="Sign in", exact=True).is_visible():
        page.goto("/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def two_factor_step(page: Page) -> Locator:
    step = page.get_by_role("region", name="Two-factor authentication")
    expect(step.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    return step


def enter_sign_in_code(page: Page, code: str) -> None:
    step = two_factor_step(page)
    step.get_by_label("6-digit code").fill(code)
    step.get_by_role("button", name="Verify").click()


def open_profile(page: Page) -> None:
    """Profile menu ▸ Profile."""
    menu = page.get_by_role("navigation", name="Account")
    menu.get_by_text("Profile menu").click()
    menu.get_by_role("link", name="Profile", exact=True).click()
    expect(page.get_by_role("heading", name="Profile", level=1)).to_be_visible()


def signed_in_on_profile(page: Page, user: str) -> None:
    """Sign in (the home page greets ``user``), then Profile menu ▸ Profile."""
    sign_in(page, user)
    expect(page.get_by_role("heading", name=f"Welcome, {user}")).to_be_visible()
    open_profile(page)


def sign_out(page: Page) -> None:
    """Profile menu ▸ Sign out."""
    menu = page.get_by_role("navigation", name="Account")
    menu.get_by_text("Profile menu").click()
    menu.get_by_role("button", name="Sign out", exact=True).click()
    expect_status(page, "You are signed out.")


def expect_status(where: Page | Locator, text: str) -> None:
    """A status message (role=status) with ``text`` is shown."""
    expect(where.get_by_role("status").filter(has_text=text)).to_be_visible()


def security_card(page: Page) -> Locator:
    return page.get_by_role("region", name="Security", exact=True)


def sessions_card(page: Page) -> Locator:
    return page.get_by_role("region", name="Managing Your Sessions")


def expect_disabled(page: Page) -> None:
    card = security_card(page)
    expect(card.get_by_text("Disabled", exact=True)).to_be_visible()
    expect(card.get_by_text("Enabled", exact=True)).to_have_count(0)
    expect(card.get_by_role("button", name="Enable", exact=True)).to_be_visible()


def expect_enabled(page: Page) -> None:
    card = security_card(page)
    expect(card.get_by_text("Enabled", exact=True)).to_be_visible()
    expect(card.get_by_text(f"Activated {today()}")).to_be_visible()
    expect(card.get_by_text("Disabled", exact=True)).to_have_count(0)
    for action in ("New Backup Codes", "Check 2FA", "Disable"):
        expect(card.get_by_role("button", name=action, exact=True)).to_be_visible()


def dialog(page: Page, name: str, js: bool) -> Locator:
    """The dialog of an action: a modal with JavaScript, the page's main card without."""
    found = page.get_by_role("dialog", name=name) if js else page.get_by_role("main").get_by_role("region", name=name)
    expect(found).to_be_visible()
    return found


def open_action(page: Page, js: bool, button: str, title: str | None = None) -> Locator:
    """Security card ▸ ``button``: its dialog, named ``title`` (by default the button's name)."""
    security_card(page).get_by_role("button", name=button, exact=True).click()
    return dialog(page, title or button, js)


def submit_code(prompt: Locator, code: str, button: str) -> None:
    """Type ``code`` into the dialog's code field and press ``button``."""
    prompt.get_by_label(CODE_LABEL).fill(code)
    prompt.get_by_role("button", name=button).click()


def expect_no_dialog(page: Page) -> None:
    expect(page.get_by_role("dialog")).to_have_count(0)


def expect_field_error(field: Locator, text: str | re.Pattern[str]) -> None:
    """The error is announced (role=alert) and tied to its field (aria-describedby)."""
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(text)
    described_by = field.get_attribute("aria-describedby") or ""
    page = field.page
    for element_id in described_by.split():
        message = page.locator(f"[id='{element_id}']")
        if message.get_attribute("role") == "alert":
            expect(message).to_have_text(text)
            break
    else:
        raise AssertionError(f"no role=alert element among aria-describedby={described_by!r}")


# ---- the Enable dialog -------------------------------------------------------------------------


@dataclass
class Enrolled:
    app: Authenticator
    backup_code: str


def decode_qr(target: Locator, path: Path) -> str:
    """Screenshot ``target`` and read the QR code in it with zbarimg."""
    target.screenshot(path=str(path), animations="disabled")
    done = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"zbarimg found no QR code in {path}: {done.stderr}"
    return done.stdout.strip()


def parse_otpauth(uri: str) -> tuple[str, str, dict[str, str]]:
    """``otpauth://totp/LABEL?query`` as (type, label, parameters)."""
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth", uri
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return parts.netloc, unquote(parts.path.lstrip("/")), query


def manual_secret(wizard: Locator) -> str:
    manual = wizard.get_by_role("region", name="Manual Entry")
    expect(manual).to_be_visible()
    return manual.get_by_role("code").inner_text().replace(" ", "")


def shown_backup_code(where: Locator) -> str:
    code = where.get_by_text(BACKUP_CODE)
    expect(code).to_be_visible()
    return code.inner_text().strip()


def enable(page: Page, js: bool, shots: "Shooter | None" = None) -> Enrolled:
    """Security card ▸ Enable, the three steps, Verify and Enable. Returns the app and the backup code."""
    wizard = open_action(page, js, "Enable", WIZARD)
    expect(wizard.get_by_role("heading", name="Step 1 of 3: Scan the QR code")).to_be_visible()
    app = Authenticator(manual_secret(wizard))
    if shots:
        shots.take("wizard-step1-scan", full_page=False)
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_role("heading", name="Step 2 of 3: Save your backup code")).to_be_visible()
    backup_code = shown_backup_code(wizard)
    if shots:
        shots.take("wizard-step2-backup", full_page=False)
    wizard.get_by_label(STORED).check()
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_role("heading", name="Step 3 of 3: Verify and enable")).to_be_visible()
    if shots:
        shots.take("wizard-step3-verify", full_page=False)
    wizard.get_by_label(CODE_LABEL).fill(app.spend())
    wizard.get_by_role("button", name="Verify and Enable").click()
    expect_enabled(page)
    expect_status(security_card(page), "Two-factor authentication is on.")
    return Enrolled(app=app, backup_code=backup_code)


# ---- screenshots --------------------------------------------------------------------------------


class Shooter:
    """PNGs for the docs: every state at desktop width (1280x900) and phone width (375 px).

    Only the JavaScript runs take them (``enabled``), so each file has one source.
    """

    def __init__(self, page: Page, enabled: bool = True) -> None:
        self.page = page
        self.enabled = enabled
        if enabled:
            SHOTS.mkdir(parents=True, exist_ok=True)

    def take(self, name: str, *, full_page: bool = True) -> None:
        if not self.enabled:
            return
        page = self.page
        desktop = page.viewport_size
        for suffix, size in (("desktop", desktop), ("mobile", MOBILE)):
            assert size is not None
            if page.viewport_size != size:
                page.set_viewport_size(size)
            page.screenshot(
                path=str(SHOTS / f"{name}-{suffix}.png"), full_page=full_page, animations="disabled", caret="hide"
            )
        assert desktop is not None
        page.set_viewport_size(desktop)


# ---- accessibility ------------------------------------------------------------------------------


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Run axe-core on the page; its context must run JavaScript and bypass the CSP to inject the script."""
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci` in tests/e2e first"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    found = []
    for violation in results["violations"]:
        if violation["impact"] in impacts:
            targets = [json.dumps(node["target"]) for node in violation["nodes"]]
            found.append(f"{violation['impact']} {violation['id']}: {violation['help']} at {', '.join(targets)}")
    return found


SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL | re.IGNORECASE)


def expect_accessible(page: Page, where: str, checker: Page | None = None) -> None:
    """No serious or critical axe-core violations on ``page``.

    A page without JavaScript cannot run axe, so ``checker`` (a page that runs JavaScript and
    bypasses the CSP) loads a copy of its document, minus the app's scripts, from the same address
    so that its stylesheet applies as it does for the person looking at it.
    """
    # Let opening animations (the dialog fades in) finish: axe measures colours as they are drawn.
    page.evaluate("() => Promise.all(document.getAnimations().map(animation => animation.finished))")
    target = page
    if checker is not None:
        html = SCRIPT.sub("", page.content())

        def serve(route: Route) -> None:
            if route.request.resource_type == "document":
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
            else:
                route.continue_()

        checker.route("**/*", serve)
        try:
            checker.goto(page.url)
        finally:
            checker.unroute("**/*", serve)
        target = checker
    problems = axe_violations(target)
    assert not problems, f"axe-core on {where}:\n" + "\n".join(problems)


def expect_controls_labelled(page: Page) -> None:
    """Every visible control has an accessible name."""
    controls = page.locator("button, a[href], input:not([type=hidden]), select, textarea, summary")
    count = controls.count()
    assert count > 0
    for i in range(count):
        control = controls.nth(i)
        if control.is_visible():
            expect(control).to_have_accessible_name(re.compile(r"\S"))
