"""Security headers on every response: crawled GET routes, signed in or not, errors included."""

import dataclasses
import re

import pytest
from asgi_lifespan import LifespanManager
from starlette.convertors import IntegerConvertor
from starlette.routing import Route

from server.app import create_app
from server.routes import routes
from tests.utils import PASSWORD, add_user, browser, csrf, enrollment_path, sign_in

GET_ROUTES = [r for r in routes() if isinstance(r, Route) and r.methods and "GET" in r.methods]


def csp_of(response) -> dict[str, list[str]]:
    """The Content-Security-Policy as {directive: [sources]}."""
    policy = {}
    for directive in response.headers["content-security-policy"].split(";"):
        name, *sources = directive.split()
        policy[name] = sources
    return policy


def assert_protected(response, *, https: bool = False, frame_ancestors: tuple[str, ...] = ()) -> None:
    """The headers every response of the app must carry."""
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    csp = csp_of(response)
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src, where
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(script_src), where
    assert csp["default-src"] == ["'self'"], where
    assert csp["object-src"] == ["'none'"], where
    assert csp["base-uri"] in (["'none'"], ["'self'"]), where
    if frame_ancestors:
        assert csp["frame-ancestors"] == list(frame_ancestors), where
        assert response.headers.get("x-frame-options", "").upper() != "DENY", where
    else:
        assert csp["frame-ancestors"] == ["'none'"], where
    assert response.headers["x-content-type-options"] == "nosniff", where
    assert response.headers["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin"), where
    if https:
        assert response.headers["strict-transport-security"].startswith("max-age="), where
        assert int(response.headers["strict-transport-security"].split("=")[1].split(";")[0]) >= 31536000
    else:
        assert "strict-transport-security" not in response.headers, where
    if response.request.url.path.startswith("/static/"):
        assert "no-store" not in response.headers.get("cache-control", ""), where
    else:
        assert response.headers["cache-control"] == "no-store", where


def path_of(route: Route, values: dict[str, str]) -> str:
    params = {
        name: values.get(name, 1 if isinstance(convertor, IntegerConvertor) else "dummy")
        for name, convertor in route.param_convertors.items()
    }
    return str(route.url_path_for(route.name, **params))


async def crawl(browser, values: dict[str, str] | None = None) -> list:
    """Every GET route (plain and htmx), a static file, and the usual error responses."""
    responses = []
    for route in GET_ROUTES:
        for headers in ({}, {"HX-Request": "true"}):
            responses.append(await browser.get(path_of(route, values or {}), headers=headers))
    responses.append(await browser.get("/static/app.js"))
    responses.append(await browser.get("/no/such/page"))
    responses.append(await browser.get("/static/no-such-file.js"))
    responses.append(await browser.put("/signin"))
    responses.append(await browser.get("/signout"))
    responses.append(await browser.post("/signout", data={"csrf_token": "forged"}))
    responses.append(await browser.head("/signin"))
    return responses


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
async def test_every_response_is_protected_when_signed_out(app, svc, https):
    """Signed out: pages, redirects, static files and errors all carry the security headers."""
    await add_user(svc)
    async with browser(app, https=https) as b:
        responses = await crawl(b)
    assert {r.status_code for r in responses} >= {200, 303, 403, 404, 405}
    for response in responses:
        assert_protected(response, https=https)


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
async def test_every_response_is_protected_when_signed_in(app, svc, https):
    """Signed in: every page and dialog step, plain and htmx, carries the security headers."""
    await add_user(svc)
    async with browser(app, https=https) as b:
        assert (await sign_in(b)).status_code == 303
        token = await csrf(b, "/profile")
        step1 = await b.post("/profile/2fa/enable", data={"csrf_token": token}, follow_redirects=True)
        enrollment = enrollment_path(step1.text).rsplit("/", 1)[1]
        responses = [step1, *await crawl(b, {"enrollment": enrollment, "step": "scan"})]
    assert sum(r.status_code == 200 for r in responses) >= len(GET_ROUTES)
    for response in responses:
        assert_protected(response, https=https)


async def test_pages_need_nothing_the_policy_forbids(app, svc):
    """No page relies on inline scripts, event-handler attributes or inline styles."""
    await add_user(svc)
    async with browser(app) as b:
        assert (await sign_in(b)).status_code == 303
        token = await csrf(b, "/profile")
        step1 = await b.post("/profile/2fa/enable", data={"csrf_token": token}, follow_redirects=True)
        enrollment = enrollment_path(step1.text).rsplit("/", 1)[1]
        pages = [step1, *await crawl(b, {"enrollment": enrollment, "step": "scan"})]
        await b.post("/signout", data={"csrf_token": token})
        pages += await crawl(b)
    checked = 0
    for response in pages:
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        checked += 1
        where = response.request.url.path
        for script in re.findall(r"<script\b[^>]*>", response.text):
            assert " src=" in script, (where, script)
        assert all(not body.strip() for body in re.findall(r"<script\b[^>]*>(.*?)</script>", response.text, re.S))
        assert not re.search(r"\son[a-z]+\s*=", response.text), where
        assert not re.search(r"<style\b|\sstyle\s*=", response.text), where
        assert "javascript:" not in response.text, where
    assert checked > 10


async def test_frame_ancestors_follow_the_setting(settings, clock, svc):
    """With ``frame_ancestors`` configured, the CSP allows exactly those sites to frame the app."""
    allowed = ("https://portal.example", "https://intranet.example:8443")
    application = create_app(dataclasses.replace(settings, frame_ancestors=allowed), clock=clock, announce=print)
    async with LifespanManager(application) as manager, browser(manager) as b:
        responses = [
            await b.get("/signin"),
            await b.get("/no/such/page"),
            await b.get("/static/app.js"),
        ]
        await add_user(svc)
        await sign_in(b)
        responses.append(await b.get("/profile"))
    for response in responses:
        assert_protected(response, frame_ancestors=allowed)


async def test_by_default_nobody_may_frame_the_app(client):
    """Without configuration, framing is refused by CSP and by X-Frame-Options for old browsers."""
    response = await client.get("/signin")
    assert csp_of(response)["frame-ancestors"] == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"


async def test_hsts_only_over_https(app, svc):
    """Strict-Transport-Security is sent over https and never over plain http."""
    async with browser(app, https=True) as secure, browser(app) as plain:
        assert "strict-transport-security" in (await secure.get("/signin")).headers
        assert "strict-transport-security" not in (await plain.get("/signin")).headers


async def test_pages_are_not_stored_but_static_files_are_revalidated(client, svc):
    """Pages with account data are never cached; static files may be, with revalidation."""
    await add_user(svc)
    await client.post(
        "/signin", data={"csrf_token": await csrf(client, "/signin"), "username": "alice", "password": PASSWORD}
    )
    assert (await client.get("/profile")).headers["cache-control"] == "no-store"
    static = await client.get("/static/app.js")
    assert static.status_code == 200
    assert static.headers["cache-control"] == "no-cache"


async def test_app_answers_are_marked_as_the_apps_own(client):
    """Pages and the app's error pages carry X-Mirox-App, so the page script can tell a proxy's 502 page from them."""
    for path in ("/signin", "/nowhere", "/static/app.js"):
        assert (await client.get(path)).headers.get("x-mirox-app") == "1", path
