"""Remembered browsers on the Profile page: what a person sees, Forget and Forget all other browsers (attacks: tests/security)."""

import re

from asgi_lifespan import LifespanManager

from server.messages import EVENTS
from tests.utils import PROFILE, add_user, browser, cookie_attributes, post, shows, sign_in, signed_in

DEVICE = "mirox_device"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


def section(page: str) -> str:
    match = re.search(r'<section id="browsers".*?</section>', page, re.S)
    assert match, "no Remembered browsers section"
    return match.group(0)


def rows(page: str) -> list[str]:
    return re.findall(r'<li class="remembered.*?</li>', section(page), re.S)


def forget_paths(page: str) -> list[str]:
    return re.findall(r'action="(/profile/browsers/\d+/forget)"', section(page))


async def remembered_on(app: LifespanManager, user_agent: str, ip: str) -> None:
    """A browser that signs in (and is remembered) and signs out again."""
    async with browser(app, ip=ip, user_agent=user_agent) as b:
        assert (await sign_in(b)).status_code == 303
        await post(b, "/signout", page=PROFILE)


async def test_the_list_shows_each_browser_with_this_browser_since_and_last_used(app, svc, clock):
    """Each remembered browser shows its browser and system, when it was remembered and last used; one is This browser."""
    await add_user(svc)
    await remembered_on(app, FIREFOX, "10.0.0.9")
    clock.advance(3 * 3600)
    async with browser(app, user_agent=CHROME) as mine:
        await sign_in(mine)
        page = (await mine.get(PROFILE)).text
    firefox, chrome = sorted(rows(page), key=lambda row: "Chrome" in row)
    assert "Firefox 121 on Linux" in firefox and "This browser" not in firefox
    assert "Chrome 120 on Windows 10" in chrome and "This browser" in chrome
    assert "Remembered since" in firefox and "Last used" in firefox and "(3 h ago)" in firefox
    assert "(just now)" in chrome
    assert section(page).count("This browser") == 1
    assert "Forget all other browsers" in page


async def test_last_used_moves_at_a_sign_in_not_at_every_request(app, svc, clock):
    """Browsing does not change Last used; signing in again on the same browser does, and keeps one row."""
    await add_user(svc)
    async with browser(app, user_agent=CHROME) as b:
        await sign_in(b)
        clock.advance(20 * 60)
        assert "(20 min ago)" in section((await b.get(PROFILE)).text)
        clock.advance(5 * 60)
        assert "(25 min ago)" in section((await b.get(PROFILE)).text)
        await post(b, "/signout", page=PROFILE)
        await sign_in(b)
        page = (await b.get(PROFILE)).text
    (row,) = rows(page)
    assert "Last used</dt><dd><time" in row and "(just now)" in row.split("Last used")[1]


async def test_forget_without_javascript_removes_exactly_that_browser_and_comes_back(app, client, svc):
    """A plain Forget: 303 back to the Profile's list, which says so and lists the other browser still."""
    await add_user(svc)
    await remembered_on(app, FIREFOX, "10.0.0.9")
    await sign_in(client)
    page = (await client.get(PROFILE)).text
    firefox = next(row for row in rows(page) if "Firefox" in row)
    (path,) = re.findall(r'action="(/profile/browsers/\d+/forget)"', firefox)
    response = await post(client, path)
    assert response.status_code == 303 and response.headers["location"] == "/profile#browsers"
    assert DEVICE not in response.headers.get("set-cookie", "")
    after = (await client.get(PROFILE)).text
    assert shows(section(after), "browsers.forgotten_one")
    assert len(rows(after)) == 1 and "Firefox" not in section(after)
    assert EVENTS["device.forgotten"] in after


async def test_forget_with_htmx_swaps_the_list_in_place(app, client, svc):
    """With htmx the answer is the list alone, one browser fewer, with the notice."""
    await add_user(svc)
    await remembered_on(app, FIREFOX, "10.0.0.9")
    await sign_in(client)
    firefox = next(row for row in rows((await client.get(PROFILE)).text) if "Firefox" in row)
    (path,) = re.findall(r'action="(/profile/browsers/\d+/forget)"', firefox)
    response = await post(client, path, htmx=True)
    assert response.status_code == 200
    assert response.text.startswith('<section id="browsers"') and "<html" not in response.text
    assert shows(response.text, "browsers.forgotten_one")
    (row,) = rows(response.text)
    assert "This browser" in row


async def test_forgetting_this_browser_clears_its_cookie_and_keeps_the_session(client, svc):
    """Forget on This browser clears the device cookie; the person stays signed in."""
    await add_user(svc)
    await sign_in(client)
    (path,) = forget_paths((await client.get(PROFILE)).text)
    response = await post(client, path, htmx=True)
    assert response.status_code == 200 and shows(response.text, "browsers.forgotten_this")
    assert cookie_attributes(response, DEVICE)["max-age"] == "0"
    assert DEVICE not in client.cookies
    assert "No browser is remembered" in response.text
    assert await signed_in(client)


async def test_forget_all_other_browsers_keeps_this_one(app, client, svc):
    """Forget all other browsers leaves only This browser, and says so; a second time there is nothing to forget."""
    await add_user(svc)
    await remembered_on(app, FIREFOX, "10.0.0.9")
    await remembered_on(app, CHROME, "10.0.0.10")
    await sign_in(client)
    assert len(rows((await client.get(PROFILE)).text)) == 3
    response = await post(client, "/profile/browsers/forget-others")
    assert response.status_code == 303 and response.headers["location"] == "/profile#browsers"
    page = (await client.get(PROFILE)).text
    (row,) = rows(page)
    assert "This browser" in row and shows(section(page), "browsers.forgotten_others")
    assert "Forget all other browsers" not in page
    again = await post(client, "/profile/browsers/forget-others", htmx=True)
    assert again.status_code == 200 and shows(again.text, "browsers.none_other")


async def test_an_unknown_id_is_not_found_and_the_list_is_unchanged(client, svc):
    """A made-up or too large device id: 404 with the list as it was, never a server error."""
    await add_user(svc)
    await sign_in(client)
    for path in ("/profile/browsers/424242/forget", "/profile/browsers/9999999999/forget"):
        response = await post(client, path, htmx=True)
        assert response.status_code == 404 and shows(response.text, "browsers.not_found")
        assert len(rows(response.text)) == 1
    plain = await post(client, "/profile/browsers/424242/forget")
    assert plain.status_code == 404 and shows(plain.text, "browsers.not_found")
    too_long = await post(client, f"/profile/browsers/{'9' * 5000}/forget")
    assert too_long.status_code == 404
