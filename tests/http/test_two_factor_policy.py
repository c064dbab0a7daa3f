"""The two-factor policy in the browser: the grace banner, the setup an overdue account is confined to,
Disable refused, the backup code leading back into Enable, an administrator's reset giving a fresh grace."""

import re

import pytest

from server import store
from server.auth.policy import DAY, Scope
from server.flows import admin, two_factor
from server.routes import routes
from server.web import Access, GuardedRoute
from tests.utils import (
    PASSWORD,
    PROFILE,
    alice_id,
    code,
    csrf_of,
    db_snapshot,
    enrollment_path,
    event_kinds,
    post,
    require_two_factor,
    shows,
    sign_in,
    signed_in_without_two_factor,
    start_signin,
    submit_backup_code,
    text_of,
)

SETUP = "/profile/2fa/required"
TEN_MINUTES = 10 / (24 * 60)  # in days
USER_ROUTES = [r for r in routes() if isinstance(r, GuardedRoute) and r.rule.access is Access.USER]
PARAMS = {
    "enrollment": "0123456789abcdef",
    "step": "scan",
    "session_id": "1",
    "device_id": "1",
    "submission": "0123456789abcdef",
}


def banner(html: str) -> str | None:
    found = re.search(r'<div class="policy-banner".*?</div>', html, re.S)
    return found.group(0) if found else None


async def state(svc) -> dict[str, object]:
    """What an action could change: every table but the sessions' activity marks and the lazily kept policy state."""
    snapshot = await db_snapshot(svc)
    snapshot["sessions"] = [row[:1] for row in snapshot["sessions"]]
    return snapshot


async def test_no_banner_without_a_policy(client, svc):
    """Today's behaviour by default: 2FA is each person's choice, no banner."""
    await signed_in_without_two_factor(client, svc)
    assert banner((await client.get("/")).text) is None


@pytest.mark.parametrize("path", ["/", PROFILE, "/profile/password"])
async def test_grace_banner_on_every_page(client, svc, clock, path):
    """During the grace period every page says by when, and links to Profile ▸ Security ▸ Enable."""
    await signed_in_without_two_factor(client, svc)
    await require_two_factor(svc, days=7)
    response = await client.get(path)
    assert response.status_code == 200
    shown = banner(response.text)
    assert shown is not None
    deadline = svc.templates.filters["datetime"](clock() + 7 * DAY)
    assert shows(shown, "policy.banner", date=deadline)
    assert 'href="/profile#security-card"' in shown


async def test_no_banner_once_two_factor_is_on(client, svc, clock):
    """Meeting the policy removes the banner, and the moment is in the security activity."""
    await signed_in_without_two_factor(client, svc)
    await require_two_factor(svc, days=7)
    from tests.utils import enable_two_factor

    await enable_two_factor(client, clock)
    assert banner((await client.get("/")).text) is None
    assert (await event_kinds(svc))[:2] == ["policy.met", "2fa.enabled"]


def test_what_an_overdue_account_may_reach():
    """The route table marks only the setup (with its backup code's Download and Print, and Add security key
    with the section it continues at after the password), its password prompt and sign-out; the help text is public."""
    allowed = {r.name for r in USER_ROUTES if r.rule.while_overdue}
    assert allowed == {
        "signout",
        "reauth",
        "reauth_page",
        "enable_2fa",
        "enroll_step",
        "enroll_backup_download",
        "enroll_backup_print",
        "enroll_verify",
        "two_factor_setup",
        "key_options",
        "key_add",
        "security_keys",
    }
    help_route = next(r for r in routes() if isinstance(r, GuardedRoute) and r.name == "help_two_factor")
    assert help_route.rule.access is Access.PUBLIC


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("route", [r for r in USER_ROUTES if not r.rule.while_overdue], ids=lambda r: r.name)
async def test_after_the_deadline_every_other_route_answers_with_the_setup(client, svc, clock, route, htmx):
    """Past the deadline each USER route outside the setup redirects to it (303, or HX-Redirect) and changes nothing."""
    await signed_in_without_two_factor(client, svc)
    await require_two_factor(svc, days=0)
    token = csrf_of((await client.get(SETUP)).text)
    before = await state(svc)
    path = route.path_format.format(**{k: PARAMS[k] for k in route.param_convertors})
    headers = {"HX-Request": "true"} if htmx else {}
    if route.methods and "GET" in route.methods:
        response = await client.get(path, headers=headers)
    else:
        response = await client.post(path, data={"csrf_token": token, "code": "123456"}, headers=headers)
    if htmx:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == SETUP
    else:
        assert response.status_code == 303 and response.headers["location"] == SETUP
    assert await state(svc) == before


async def test_the_setup_page_opens_the_enable_dialog_and_enabling_frees_the_account(client, svc, clock):
    """An overdue account signing in lands in step 1 of Enable; after Verify and Enable every page opens again."""
    from tests.utils import add_user

    await add_user(svc)
    await require_two_factor(svc, days=0)
    signed_in = await sign_in(client)
    assert (await client.get(signed_in.headers["location"])).headers["location"] == SETUP
    page = await client.get(SETUP)
    assert page.status_code == 200 and shows(page.text, "policy.overdue")
    assert "Step 1 of 3: Scan the QR code" in page.text and "Manual Entry" in page.text
    assert 'href="/help/two-factor"' in page.text and 'action="/signout"' in page.text
    again = await client.get(SETUP)
    assert text_of(again.text, "manual-secret") == text_of(page.text, "manual-secret"), "a reload keeps the QR code"
    secret = text_of(page.text, "manual-secret").replace(" ", "")
    base = enrollment_path(page.text)
    assert (await client.get(base + "/backup")).status_code == 200
    assert (await client.get(base + "/verify")).status_code == 200
    done = await post(client, base, {"code": code(secret, clock)}, page=SETUP)
    assert done.status_code == 303 and done.headers["location"].startswith(PROFILE)
    profile = await client.get(PROFILE)
    assert profile.status_code == 200 and shows(profile.text, "card.enabled")
    assert (await event_kinds(svc))[:2] == ["policy.met", "2fa.enabled"]


async def test_with_htmx_verify_and_enable_from_the_setup_page_loads_the_profile(client, svc, clock):
    """The dialog opened on the setup page ends with a full load of the Profile page (HX-Redirect)."""
    from tests.utils import add_user

    await add_user(svc)
    await require_two_factor(svc, days=0)
    await sign_in(client)
    page = await client.get(SETUP)
    secret = text_of(page.text, "manual-secret").replace(" ", "")
    done = await post(client, enrollment_path(page.text), {"code": code(secret, clock)}, htmx=True, page=SETUP)
    assert done.headers["HX-Redirect"].startswith(PROFILE)


async def test_a_stale_session_on_the_setup_page_confirms_the_password_first(client, svc, clock):
    """Without a recent password the page offers Enable, which asks for it, then opens step 1."""
    await signed_in_without_two_factor(client, svc)
    await require_two_factor(svc, days=TEN_MINUTES)
    clock.advance(11 * 60)  # past the deadline, and the password older than the re-authentication window
    page = await client.get(SETUP)
    assert "Manual Entry" not in page.text and shows(page.text, "policy.reauth")
    redirected = await post(client, "/profile/2fa/enable", page=SETUP)  # a plain form: to the prompt's page
    prompt = await client.get(redirected.headers["location"])
    assert prompt.status_code == 200 and shows(prompt.text, "reauth.needed")
    resumed = await post(client, "/profile/reauth", {"password": PASSWORD, "then": "enable_2fa"}, page=SETUP)
    step1 = await client.get(resumed.headers["location"])  # step 1's own page
    assert step1.status_code == 200 and "Step 1 of 3: Scan the QR code" in step1.text


async def test_the_password_prompt_is_no_way_around_the_setup(client, svc, clock, other_client):
    """An overdue account's password prompt naming another fresh action continues to the setup, not to it."""
    await signed_in_without_two_factor(client, svc)
    await sign_in(other_client)
    await require_two_factor(svc, days=TEN_MINUTES)
    clock.advance(11 * 60)  # past the deadline, and the password older than the re-authentication window
    response = await post(
        client, "/profile/reauth", {"password": PASSWORD, "then": "sessions_signout_others"}, page=SETUP
    )
    assert response.status_code == 303 and response.headers["location"] == SETUP
    assert len(await store.list_sessions(svc.db, await alice_id(svc), clock(), 1800)) == 2


async def test_sign_out_and_help_answer_an_overdue_account(client, svc, clock):
    """The help text and sign-out still work past the deadline."""
    await signed_in_without_two_factor(client, svc)
    await require_two_factor(svc, days=0)
    help_page = await client.get("/help/two-factor")
    assert help_page.status_code == 200 and "Verify and Enable" in help_page.text
    out = await post(client, "/signout", page=SETUP)
    assert out.status_code == 303 and out.headers["location"].startswith("/signin")
    assert (await client.get(PROFILE)).headers["location"].startswith("/signin")


async def test_a_policy_change_applies_at_the_next_request(client, svc):
    """Turning the policy on confines at once; turning it off frees at once (no cached copy)."""
    await signed_in_without_two_factor(client, svc)
    assert (await client.get(PROFILE)).status_code == 200
    await require_two_factor(svc, days=0)
    assert (await client.get(PROFILE)).headers["location"] == SETUP
    await admin.set_policy(svc, Scope.NOBODY)
    assert (await client.get(PROFILE)).status_code == 200


async def test_group_policy_confines_members_only(client, other_client, svc):
    """A policy for a group confines its members and leaves everyone else alone."""
    from tests.utils import add_user

    await signed_in_without_two_factor(client, svc)
    await add_user(svc, "bob")
    await sign_in(other_client, "bob")
    await admin.add_to_group(svc, "control-room", ["alice"])
    await require_two_factor(svc, days=0, groups=("control-room",))
    assert (await client.get(PROFILE)).headers["location"] == SETUP
    assert (await other_client.get(PROFILE)).status_code == 200


# ---- Disable under the policy ---------------------------------------------------------------


async def test_disable_is_not_offered_while_required(client, svc, signed_in_with_2fa):
    """The card says why Disable is missing; without the policy the button is there."""
    assert "Disable</button>" in (await client.get(PROFILE)).text
    await require_two_factor(svc)
    card = (await client.get(PROFILE)).text
    assert "Disable</button>" not in card and shows(card, "policy.card_required")
    assert "Check 2FA" in card and "New Backup Codes" in card


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
async def test_a_direct_disable_is_refused_while_required(client, svc, clock, signed_in_with_2fa, htmx):
    """The prompt and a POST with a valid code are both refused (403, with why); 2FA stays on."""
    await require_two_factor(svc)
    headers = {"HX-Request": "true"} if htmx else {}
    opened = await client.get("/profile/2fa/disable", headers=headers)
    assert opened.status_code == 403 and shows(opened.text, "code.required")
    submitted = await post(client, "/profile/2fa/disable", {"code": code(signed_in_with_2fa.secret, clock)}, htmx=htmx)
    assert submitted.status_code == 403 and shows(submitted.text, "code.required")
    assert (await store.get_user(svc.db, await alice_id(svc))).two_factor_on


async def test_the_disable_flow_refuses_too(svc, clock, signed_in_with_2fa):
    """Behind the route's precondition, the flow itself refuses while the policy requires 2FA."""
    from server.audit import CONSOLE
    from server.flows.outcomes import Status

    await require_two_factor(svc)
    user = await store.get_user(svc.db, await alice_id(svc))
    outcome = await two_factor.disable(svc, user, code(signed_in_with_2fa.secret, clock), CONSOLE)
    assert outcome.status is Status.REQUIRED


# ---- backup code and an administrator's reset under the policy -------------------------------


async def test_the_backup_code_leads_straight_into_enable(client, svc, clock, signed_out_with_2fa):
    """Under the policy, signing in with the backup code still turns 2FA off, then opens the Enable dialog."""
    await require_two_factor(svc, days=7)
    await start_signin(client)
    response = await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert response.status_code == 303 and response.headers["location"] == SETUP
    page = await client.get(SETUP)
    assert shows(page.text, "policy.backup_used") and "Step 1 of 3: Scan the QR code" in page.text
    assert not (await store.get_user(svc.db, await alice_id(svc))).two_factor_on
    assert "2fa.backup_used" in await event_kinds(svc)


async def test_the_backup_code_past_the_deadline_confines(client, svc, clock, signed_out_with_2fa):
    """With the deadline long gone, the account is confined to the setup right after the backup code."""
    await require_two_factor(svc, days=0)
    await start_signin(client)
    await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert (await client.get(PROFILE)).headers["location"] == SETUP


async def test_an_administrators_reset_gives_a_fresh_grace_period(client, svc, clock, signed_out_with_2fa):
    """``user reset-2fa`` under a passed deadline: the person may sign in and gets the reset grace period."""
    await require_two_factor(svc, days=0)
    user = await store.get_user(svc.db, await alice_id(svc))
    assert await two_factor.admin_reset(svc, user)
    assert (await sign_in(client)).status_code == 303
    page = await client.get(PROFILE)
    assert page.status_code == 200
    deadline = svc.templates.filters["datetime"](clock() + svc.settings.reset_grace_period)
    assert shows(banner(page.text) or "", "policy.banner", date=deadline)
    clock.advance(svc.settings.reset_grace_period)
    assert (await sign_in(client)).status_code == 303
    assert (await client.get(PROFILE)).headers["location"] == SETUP
