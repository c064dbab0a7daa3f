"""Forgetting remembered browsers: a forgotten cookie is a stranger's again; nobody forgets another account's browser."""

import re

from asgi_lifespan import LifespanManager

from server import device_store
from server.services import Services
from tests.security.test_device_cookies import DEVICE, lock_the_account, signs_in
from tests.utils import PROFILE, add_user, alice_id, browser, csrf, event_kinds, post, shows, sign_in


def forget_paths(page: str) -> list[str]:
    return re.findall(r'action="(/profile/browsers/\d+/forget)"', page)


async def remembered(app: LifespanManager, name: str, ip: str) -> str:
    """The device cookie a browser gets by signing in to ``name`` (then signing out)."""
    async with browser(app, ip=ip) as b:
        assert (await sign_in(b, name)).status_code == 303
        await post(b, "/signout", page=PROFILE)
        return b.cookies[DEVICE]


async def device_count(svc: Services, name: str = "alice") -> int:
    return len(await device_store.listed(svc.db, await alice_id(svc, name), svc.clock()))


async def test_a_forgotten_browser_no_longer_gets_past_the_lock_and_the_other_still_does(app, client, svc, settings):
    """Forget removes exactly one browser: its cookie meets the guesser's lock like a stranger, the kept one gets in."""
    await add_user(svc)
    forgotten = await remembered(app, "alice", "192.0.2.41")
    await sign_in(client)
    page = (await client.get(PROFILE)).text
    this_one = re.search(r'<li class="remembered current">.*?</li>', page, re.S).group(0)
    (other_path,) = [p for p in forget_paths(page) if p not in this_one]
    assert (await post(client, other_path)).status_code == 303
    assert await device_count(svc) == 1
    await post(client, "/signout", page=PROFILE)
    await lock_the_account(app, settings)
    async with browser(app, ip="192.0.2.41") as b:
        b.cookies.set(DEVICE, forgotten)
        assert await signs_in(b) == 429, "the forgotten cookie counts on the account's closed counter"
    assert await signs_in(client) == 303, "the browser kept still has its own counter and lane"


async def test_forgetting_this_browser_makes_it_a_stranger_at_the_lock(app, client, svc, settings):
    """After Forget on This browser, even a copy of its old cookie no longer opens the lock."""
    await add_user(svc)
    await sign_in(client)
    old_cookie = client.cookies[DEVICE]
    (path,) = forget_paths((await client.get(PROFILE)).text)
    assert (await post(client, path)).status_code == 303
    await post(client, "/signout", page=PROFILE)
    await lock_the_account(app, settings)
    client.cookies.set(DEVICE, old_cookie)
    assert await signs_in(client) == 429


async def test_another_accounts_device_id_reads_like_an_unknown_one_and_changes_nothing(app, client, svc, settings):
    """alice posting Forget with bob's device id gets the same 404 as a made-up id; bob's browser stays remembered."""
    await add_user(svc)
    await add_user(svc, "bob")
    bobs_cookie = await remembered(app, "bob", "192.0.2.50")
    (bobs_device,) = await device_store.listed(svc.db, await alice_id(svc, "bob"), svc.clock())
    await sign_in(client)
    unknown_id = bobs_device.id + 1000
    answers = []
    for device_id in (bobs_device.id, unknown_id):
        for htmx in (True, False):
            response = await post(client, f"/profile/browsers/{device_id}/forget", htmx=htmx)
            answers.append((device_id, htmx, response.status_code, shows(response.text, "browsers.not_found")))
    assert [answer[2:] for answer in answers] == [(404, True)] * 4
    assert await device_count(svc, "bob") == 1 and await device_count(svc) == 1
    assert "device.forgotten" not in await event_kinds(svc, "bob")
    await lock_the_account(app, settings, "bob")
    async with browser(app, ip="192.0.2.50") as b:
        b.cookies.set(DEVICE, bobs_cookie)
        assert await signs_in(b, "bob") == 303


async def test_forget_all_other_browsers_never_reaches_another_account(app, client, svc):
    """alice's Forget all other browsers leaves bob's remembered browser alone."""
    await add_user(svc)
    await add_user(svc, "bob")
    await remembered(app, "bob", "192.0.2.50")
    await remembered(app, "alice", "192.0.2.51")
    await sign_in(client)
    assert (await post(client, "/profile/browsers/forget-others")).status_code == 303
    assert await device_count(svc) == 1 and await device_count(svc, "bob") == 1


async def test_forget_without_a_csrf_token_is_refused_and_forgets_nothing(app, client, svc):
    """A Forget or Forget all others without the page's CSRF token (a cross-site form) is 403 and changes nothing."""
    await add_user(svc)
    await remembered(app, "alice", "192.0.2.52")
    await sign_in(client)
    (path, *_) = forget_paths((await client.get(PROFILE)).text)
    for target in (path, "/profile/browsers/forget-others"):
        for data in ({}, {"csrf_token": "forged"}):
            response = await client.post(target, data=data, headers={"Origin": "https://evil.example"})
            assert response.status_code == 403, (target, data)
            assert shows(response.text, "error.csrf")
    assert await device_count(svc) == 2
    assert "device.forgotten" not in await event_kinds(svc)


async def test_a_stolen_csrf_token_of_another_browser_does_not_forget(app, client, svc):
    """bob's page's CSRF token in alice's browser's request is refused: tokens are bound to their session."""
    await add_user(svc)
    await add_user(svc, "bob")
    await sign_in(client)
    async with browser(app, ip="192.0.2.53") as bobs:
        await sign_in(bobs, "bob")
        bobs_token = await csrf(bobs, PROFILE)
    (path,) = forget_paths((await client.get(PROFILE)).text)
    response = await client.post(path, data={"csrf_token": bobs_token})
    assert response.status_code == 403 and await device_count(svc) == 1


async def test_forget_needs_a_signed_in_account(app, svc):
    """Without a session, Forget changes nothing (it leads to sign-in)."""
    await add_user(svc)
    await remembered(app, "alice", "192.0.2.54")
    (device,) = await device_store.listed(svc.db, await alice_id(svc), svc.clock())
    async with browser(app, ip="192.0.2.55") as stranger:
        token = await csrf(stranger, "/signin")
        response = await stranger.post(f"/profile/browsers/{device.id}/forget", data={"csrf_token": token})
    assert response.status_code in (303, 403)
    assert await device_count(svc) == 1


async def test_a_forgotten_browsers_delay_does_not_pass_to_the_next_browser_remembered(app, client, svc, settings):
    """The failures a forgotten browser counted on its own counter are not inherited by a browser remembered later."""
    await add_user(svc)
    await add_user(svc, "bob")
    await sign_in(client)
    async with browser(app, ip="192.0.2.60") as typist:
        assert (await sign_in(typist)).status_code == 303
        await post(typist, "/signout", page=PROFILE)
        statuses = [
            await signs_in(typist, password="wrong password!") for _ in range(settings.password_free_attempts + 1)
        ]
        assert statuses[-1] == 429, "the typist's own counter is closed"
    page = (await client.get(PROFILE)).text
    this_one = re.search(r'<li class="remembered current">.*?</li>', page, re.S).group(0)
    (typists,) = [p for p in forget_paths(page) if p not in this_one]
    assert (await post(client, typists)).status_code == 303
    async with browser(app, ip="192.0.2.61") as bobs:
        assert (await sign_in(bobs, "bob")).status_code == 303
        await post(bobs, "/signout", page=PROFILE)
        assert await signs_in(bobs, "bob") == 303, "bob's new browser starts with a clean counter"
