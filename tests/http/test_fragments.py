"""htmx and plain browsers: a fragment for htmx, a full page holding the same partial for everyone else."""

import re

import pytest

from tests.utils import (
    PASSWORD,
    add_user,
    browser,
    csrf,
    enable_two_factor,
    enrollment_path,
    post,
    session_id_of,
    shows,
    sign_in,
)

HX = {"HX-Request": "true"}


def assert_fragment(response) -> None:
    assert "<html" not in response.text, response.text[:200]
    assert "<body" not in response.text
    assert "HX-Request" in response.headers.get("vary", ""), response.headers


def assert_page(response) -> None:
    assert response.text.lstrip().lower().startswith("<!doctype html>"), response.text[:200]
    assert "</html>" in response.text
    assert "HX-Request" in response.headers.get("vary", ""), response.headers


def assert_same_dialog(fragment, page, status: int) -> None:
    """The htmx and the plain answer to one request: same status, each in its shape, the same dialog."""
    assert fragment.status_code == page.status_code == status
    assert_fragment(fragment)
    assert_page(page)
    assert essentials(fragment.text) == essentials(page.text)


def essentials(html_text: str) -> dict[str, object]:
    """What must be the same in a dialog's fragment and page: title, step, form targets, shown secrets."""
    main = re.search(r"<main\b.*?</main>", html_text, re.S)
    html_text = main.group(0) if main else html_text
    return {
        "title": re.findall(r'<h2 id="dialog-title"[^>]*>(.*?)</h2>', html_text),
        "step": re.findall(r'<h3 class="step-title"[^>]*>(.*?)</h3>', html_text),
        "actions": sorted(set(re.findall(r'<form[^>]*\saction="([^"]*)"', html_text))),
        "shown": re.findall(r'id="(?:manual-secret|backup-code)"[^>]*>([^<]*)<', html_text),
        "errors": re.findall(r'class="error"[^>]*role="alert"[^>]*>([^<]*)<', html_text),
    }


def section(html_text: str, element_id: str) -> str:
    match = re.search(rf'<section\b[^>]*\bid="{element_id}".*?</section>', html_text, re.S)
    assert match, f"no #{element_id}"
    return match.group(0)


async def both(client, method: str, path: str, data: dict[str, str] | None = None):
    """The same request as htmx and as a plain browser (with a fresh CSRF token for POSTs)."""
    responses = []
    for headers in (HX, {}):
        if method == "GET":
            responses.append(await client.get(path, headers=headers))
        else:
            token = await csrf(client, "/profile")
            responses.append(await client.post(path, data={"csrf_token": token, **(data or {})}, headers=headers))
    return responses


# ---- sign-in ------------------------------------------------------------------------------------


async def test_sign_in_form(client):
    """The sign-in form: the bare partial for htmx, inside the page otherwise."""
    fragment, page = await both(client, "GET", "/signin")
    assert fragment.status_code == page.status_code == 200
    assert_fragment(fragment)
    assert_page(page)
    assert section(fragment.text, "signin") == section(page.text, "signin")


async def test_sign_in_error(client, svc):
    """A wrong password: the form with its error, as a fragment or in the page."""
    await add_user(svc)
    responses = []
    for headers in (HX, {}):
        token = await csrf(client, "/signin")
        data = {"csrf_token": token, "username": "alice", "password": "nope nope nope"}
        responses.append(await client.post("/signin", data=data, headers=headers))
    fragment, page = responses
    assert fragment.status_code == page.status_code == 422
    assert_fragment(fragment)
    assert_page(page)
    assert section(fragment.text, "signin") == section(page.text, "signin")
    assert shows(fragment.text, "signin.invalid")


async def test_sign_in_success_redirects_both_ways(client, svc):
    """Success is HX-Redirect for htmx and a 303 for a plain form."""
    await add_user(svc)
    token = await csrf(client, "/signin")
    data = {"csrf_token": token, "username": "alice", "password": PASSWORD}
    htmx = await client.post("/signin", data=data, headers=HX)
    assert htmx.status_code == 200
    assert htmx.headers["hx-redirect"] == "/"
    assert "HX-Request" in htmx.headers["vary"]
    await post(client, "/signout", page="/profile")
    plain = await client.post("/signin", data={**data, "csrf_token": await csrf(client, "/signin")})
    assert plain.status_code == 303
    assert plain.headers["location"] == "/"
    assert "HX-Request" in plain.headers["vary"]


# ---- the Enable dialog -----------------------------------------------------------------------------


async def test_enable_dialog_steps(client, svc):
    """Enable and each of its three steps: a modal fragment for htmx, a page with the same step otherwise."""
    await add_user(svc)
    await sign_in(client)
    fragment, redirected = await both(client, "POST", "/profile/2fa/enable")
    assert fragment.status_code == 200
    assert redirected.status_code == 303  # without JavaScript: to step 1's page (Back and reload stay harmless)
    page = await client.get(redirected.headers["location"])
    assert_fragment(fragment)
    assert_page(page)
    assert fragment.headers["hx-retarget"] == "#modal-root"
    assert "<dialog" in fragment.text
    assert essentials(fragment.text)["title"] == essentials(page.text)["title"] == ["Set up two-factor authentication"]
    base = enrollment_path(page.text)
    for step in ("scan", "backup", "verify"):
        fragment, page = await both(client, "GET", f"{base}/{step}")
        assert fragment.status_code == page.status_code == 200, step
        assert_fragment(fragment)
        assert_page(page)
        assert essentials(fragment.text) == essentials(page.text), step
        assert essentials(page.text)["step"], step
        assert bool(essentials(page.text)["shown"]) == (step != "verify"), step
    fragment, page = await both(client, "POST", base, {"code": "000000x"})
    assert_same_dialog(fragment, page, 422)
    assert shows(page.text, "code.format")


async def test_expired_enrollment_step(client, svc):
    """An unknown enrollment shows the expired step both ways."""
    await add_user(svc)
    await sign_in(client)
    fragment, page = await both(client, "GET", "/profile/2fa/setup/nothing-here/scan")
    assert_same_dialog(fragment, page, 404)
    assert shows(page.text, "enroll.expired", issuer="Mirox")


# ---- the Security card's actions ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/profile/2fa/check", "/profile/2fa/backup-code", "/profile/2fa/disable"])
async def test_code_prompts(client, svc, clock, path):
    """Check 2FA, New Backup Codes and Disable ask for a code in a modal or on a page."""
    await add_user(svc)
    await sign_in(client)
    await enable_two_factor(client, clock)
    fragment, page = await both(client, "GET", path)
    assert fragment.status_code == page.status_code == 200
    assert_fragment(fragment)
    assert_page(page)
    assert fragment.headers["hx-retarget"] == "#modal-root"
    assert essentials(fragment.text) == essentials(page.text)
    assert essentials(page.text)["actions"] == [path]
    fragment, page = await both(client, "POST", path, {"code": "12"})
    assert_same_dialog(fragment, page, 422)


async def test_password_confirmation_dialog(client, svc, clock):
    """A sensitive action after ten minutes asks for the password, as a modal or a page."""
    await add_user(svc)
    await sign_in(client)
    clock.advance(11 * 60)
    fragment, redirected = await both(client, "POST", "/profile/2fa/enable")
    assert redirected.status_code == 303  # a plain form: the prompt's own page, so Back and reload do not post
    page = await client.get(redirected.headers["location"])
    assert (fragment.status_code, page.status_code) == (403, 200)
    assert_fragment(fragment)
    assert_page(page)
    assert essentials(fragment.text) == essentials(page.text)
    assert essentials(page.text)["actions"] == ["/profile/reauth"]
    assert shows(fragment.text, "reauth.needed")
    fragment, page = await both(client, "POST", "/profile/reauth", {"password": "wrong one", "then": "enable_2fa"})
    assert_same_dialog(fragment, page, 422)


# ---- Managing Your Sessions ------------------------------------------------------------------------------


async def test_session_sign_out(app, client, svc):
    """Signing out a session: the updated list for htmx; for a plain form, the Profile page shows the same."""
    await add_user(svc)
    await sign_in(client)
    others = []
    for ip in ("10.1.0.1", "10.1.0.2"):
        async with browser(app, ip=ip) as other:
            await sign_in(other)
        others.append(await session_id_of(svc, ip))
    token = await csrf(client, "/profile")
    fragment = await client.post(f"/sessions/{others[0]}/signout", data={"csrf_token": token}, headers=HX)
    assert fragment.status_code == 200
    assert_fragment(fragment)
    assert fragment.text.strip().startswith('<section id="sessions"')
    assert shows(fragment.text, "sessions.signed_out_one")
    assert "10.1.0.1" not in fragment.text
    plain = await client.post(f"/sessions/{others[1]}/signout", data={"csrf_token": token})
    assert plain.status_code == 303
    assert "HX-Request" in plain.headers["vary"]
    page = await client.get(plain.headers["location"])
    assert_page(page)
    listed = section(page.text, "sessions")
    assert shows(listed, "sessions.signed_out_one")
    assert "10.1.0.2" not in listed
    assert listed.count('<li class="session') == 1


async def test_sign_out_all_others(app, client, svc):
    """Sign out all other sessions: the one-entry list for htmx, the same list in the page otherwise."""
    await add_user(svc)
    await sign_in(client)
    for round_ in range(2):
        async with browser(app, ip=f"10.2.0.{round_}") as other:
            await sign_in(other)
        headers = HX if round_ == 0 else {}
        token = await csrf(client, "/profile")
        response = await client.post("/sessions/signout-others", data={"csrf_token": token}, headers=headers)
        if round_ == 0:
            assert response.status_code == 200
            assert_fragment(response)
            fragment_list = section(response.text, "sessions")
        else:
            assert response.status_code == 303
            page = await client.get(response.headers["location"])
            assert_page(page)
            page_list = section(page.text, "sessions")
    assert fragment_list == page_list
    assert shows(page_list, "sessions.signed_out_others")
    assert page_list.count('<li class="session') == 1


async def test_error_pages_vary_too(client):
    """An error is a fragment for htmx and a page otherwise, so it varies on HX-Request as well."""
    fragment, page = await both(client, "GET", "/no/such/page")
    assert fragment.status_code == page.status_code == 404
    assert_fragment(fragment)
    assert_page(page)


async def test_profile_for_htmx_is_the_security_card_alone(client, svc):
    """htmx asking for the Profile gets the Security card to swap in place; a browser gets the whole page with it."""
    await add_user(svc)
    await sign_in(client)
    fragment, page = await both(client, "GET", "/profile")
    assert_fragment(fragment)
    assert fragment.text.lstrip().startswith('<section id="security-card"')
    assert 'id="sessions"' not in fragment.text and 'id="activity"' not in fragment.text
    assert_page(page)
    assert section(fragment.text, "security-card") == section(page.text, "security-card")
