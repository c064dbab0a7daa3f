"""Journey: a protected intranet app behind the README's nginx (and Caddy, Traefik), signed in through Mirox (JavaScript on and off)."""

import re
from collections.abc import Iterator

import pytest

pytest.importorskip("playwright.sync_api")  # the browser extras are optional
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.caddy.harness import caddy_stack
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP
from tests.e2e.helpers import enable, enter_sign_in_code, open_profile, sign_in, sign_out
from tests.nginx.harness import DOMAIN, Stack, stack
from tests.servers import run_cli
from tests.traefik.harness import traefik_stack

pytestmark = pytest.mark.browser
__all__ = ["caddy_stack", "stack", "traefik_stack"]

SIGN_IN = re.compile(r"/signin\?rd=")


@pytest.fixture(scope="module")
def plant_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium for which every plant.example name is this machine (nginx listens on loopback)."""
    rules = f"--host-resolver-rules=MAP {DOMAIN} 127.0.0.1, MAP *.{DOMAIN} 127.0.0.1"
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, rules])
    yield b
    b.close()


@pytest.fixture
def proxied(request: pytest.FixtureRequest) -> Stack:
    """The README's nginx (``stack``), or its Caddyfile or Traefik configuration where a test is parametrized
    with ``caddy_stack`` or ``traefik_stack``."""
    stack: Stack = request.getfixturevalue(getattr(request, "param", "stack"))
    return stack


@pytest.fixture
def tab(plant_browser: Browser, proxied: Stack, js: bool) -> Iterator[Page]:
    """A fresh browser (own cookies) that trusts nothing but ignores the test certificate's issuer."""
    context = plant_browser.new_context(
        viewport=DESKTOP, locale="en-GB", java_script_enabled=js, ignore_https_errors=True, base_url=proxied.mirox_url
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def greeted(page: Page, name: str) -> None:
    expect(page.locator("#greeting")).to_have_text(f"Hello, {name}")


@pytest.mark.parametrize(
    "proxied", ["stack", "caddy_stack", "traefik_stack"], ids=["nginx", "caddy", "traefik"], indirect=True
)
def test_the_demo_app_signs_in_through_mirox_with_the_code_and_signs_out(tab: Page, proxied: Stack, js: bool) -> None:
    """Demo app → sign-in → password → 6-digit code → back on the demo app; sign out in Mirox → sign-in again."""
    stack = proxied
    name = f"op{'js' if js else 'nojs'}"
    stack.add_user(name)
    dashboard = stack.app_url + "/d/line-3?from=now-6h&to=now"

    tab.goto(dashboard)
    expect(tab).to_have_url(SIGN_IN)
    sign_in(tab, name)
    expect(tab).to_have_url(dashboard)
    greeted(tab, name)

    tab.goto(stack.mirox_url + "/")
    open_profile(tab)
    authenticator = enable(tab, js).app
    sign_out(tab)

    tab.goto(dashboard)
    expect(tab).to_have_url(SIGN_IN)
    sign_in(tab, name)
    enter_sign_in_code(tab, authenticator.spend())
    expect(tab).to_have_url(dashboard)
    greeted(tab, name)

    tab.goto(stack.mirox_url + "/")
    sign_out(tab)
    tab.goto(dashboard)
    expect(tab).to_have_url(SIGN_IN)
    expect(tab.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()


def test_an_account_outside_the_apps_group_gets_a_clear_403_page(tab: Page, stack: Stack, js: bool) -> None:
    """Signed in, but not in ``operators``: the demo app leads to Mirox's page saying so (status 403)."""
    name = f"outsider{'js' if js else 'nojs'}"
    stack.add_user(name, group=None)
    tab.goto(stack.app_url + "/")
    sign_in(tab, name)
    expect(tab).to_have_url(f"{stack.mirox_url}/auth/forbidden?groups=operators")
    expect(tab.get_by_role("alert")).to_have_text(
        f"You are signed in as {name}, but this app is only for members of operators. "
        "Ask your administrator to add you, or sign out and sign in as someone who is a member."
    )


def test_an_account_overdue_for_two_factor_is_led_to_the_enable_dialog(tab: Page, stack: Stack, js: bool) -> None:
    """2FA required by the policy, grace period over, not set up: the demo app leads to the Enable dialog's first step."""
    name = f"late{'js' if js else 'nojs'}"
    stack.add_user(name)
    run_cli("group", "add", f"late-{name}", name, env=stack.mirox_env)
    run_cli("policy", "require-2fa", "--groups", f"late-{name}", "--grace-days", "0", env=stack.mirox_env)
    tab.goto(stack.app_url + "/")
    sign_in(tab, name)
    expect(tab).to_have_url(f"{stack.mirox_url}/profile/2fa/required")
    expect(tab.get_by_role("heading", name="Step 1 of 3: Scan the QR code")).to_be_visible()
