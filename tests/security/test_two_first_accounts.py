"""Two "first" accounts: setup links from several starts, submitted in parallel, create exactly one account."""

import asyncio
from contextlib import AsyncExitStack

from server import store
from server.flows import account
from server.tables import setup_tokens
from tests.utils import PASSWORD, browser, csrf


async def _submit(b, token: str, username: str):
    data = {
        "csrf_token": await csrf(b, "/signin"),
        "token": token,
        "username": username,
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    return await b.post("/setup", data=data)


async def _links(svc, count: int) -> list[str]:
    """The links ``count`` restarts before setup would print (each start adds one)."""
    links = [await account.issue_setup_token(svc) for _ in range(count)]
    assert all(links)
    return links  # type: ignore[return-value]


async def test_parallel_submits_over_two_links_create_one_account(app, svc):
    """Four browsers, two per link, each with its own username, submit at once: one account exists after."""
    first, second = await _links(svc, 2)
    async with AsyncExitStack() as stack:
        browsers = [await stack.enter_async_context(browser(app, ip=f"10.2.0.{i + 1}")) for i in range(4)]
        responses = await asyncio.gather(
            *(_submit(b, (first, second)[i % 2], f"root{i}") for i, b in enumerate(browsers))
        )
    assert sorted(r.status_code for r in responses) == [303, 404, 404, 404], [r.status_code for r in responses]
    assert len(await store.list_users(svc.db)) == 1


async def test_using_one_link_spends_every_link(app, svc):
    """After a restart printed a second link, using either one leaves no setup link at all."""
    older, newer = await _links(svc, 2)
    async with browser(app) as b:
        assert (await _submit(b, newer, "root")).status_code == 303
        assert (await b.get(f"/setup?token={older}")).status_code == 404
        assert (await _submit(b, older, "second")).status_code == 404
    assert await svc.db.fetch_all(setup_tokens.select()) == []
    assert [u.username for u in await store.list_users(svc.db)] == ["root"]


async def test_a_link_does_not_create_an_account_once_one_exists_by_the_command_line(app, svc):
    """``run.py user add`` after the link was printed: the link no longer creates a second account."""
    (link,) = await _links(svc, 1)
    assert await account.add_user(svc, "admin", PASSWORD) is None
    async with browser(app) as b:
        assert (await _submit(b, link, "root")).status_code == 404
    assert [u.username for u in await store.list_users(svc.db)] == ["admin"]
