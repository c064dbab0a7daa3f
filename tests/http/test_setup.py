"""First start: a one-time setup link on the console creates the first account, once."""

from urllib.parse import parse_qs, urlsplit

import pytest
from asgi_lifespan import LifespanManager

from server import store
from server.app import create_app
from tests.utils import PASSWORD, csrf, shows, sign_in


def setup_path(announcements: list[str]) -> str:
    """The path and query of the one setup link announced at start."""
    assert len(announcements) == 1, announcements
    url = urlsplit(announcements[0].split()[-1])
    assert url.path == "/setup"
    assert parse_qs(url.query)["token"][0]
    return f"{url.path}?{url.query}"


def token_of(path: str) -> str:
    return parse_qs(urlsplit(path).query)["token"][0]


async def create_account(client, path: str, **fields: str):
    token = await csrf(client, "/signin")
    data = {"csrf_token": token, "token": token_of(path), "username": "root", "password": PASSWORD, "confirm": PASSWORD}
    return await client.post("/setup", data={**data, **fields})


async def test_empty_database_announces_a_setup_link(client, announcements):
    """On an empty database the console shows a link to create the first account."""
    path = setup_path(announcements)
    assert "No accounts yet" in announcements[0]
    assert "http://127.0.0.1:8000/setup?token=" in announcements[0]
    assert (await client.get(path)).status_code == 200


@pytest.mark.parametrize("path", ["/setup", "/setup?token=", "/setup?token=wrong", "/setup?tok=x"])
async def test_setup_without_the_right_token_is_not_found(client, announcements, path):
    """Without the announced token the setup page is a 404 that points to the console."""
    response = await client.get(path)
    assert response.status_code == 404
    assert shows(response.text, "setup.invalid_link")
    assert 'name="password"' not in response.text


async def test_setup_link_shows_the_form(client, announcements):
    """The announced link opens the form to create the first account."""
    response = await client.get(setup_path(announcements))
    assert response.status_code == 200
    assert 'name="username"' in response.text
    assert 'name="password"' in response.text
    assert 'name="confirm"' in response.text
    assert f'name="token" value="{token_of(setup_path(announcements))}"' in response.text


async def test_first_account_is_created_once(client, svc, announcements):
    """The link creates one account, then is dead: neither the page nor a second submit works."""
    path = setup_path(announcements)
    response = await create_account(client, path)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?m=account_created&next=%2Fprofile"
    assert shows((await client.get(response.headers["location"])).text, "signin.account_created")
    assert (await sign_in(client, "root")).status_code == 303
    client.cookies.clear()
    again = await create_account(client, path, username="second")
    assert again.status_code == 404
    assert shows(again.text, "setup.invalid_link")
    assert (await client.get(path)).status_code == 404
    assert [u.username for u in await store.list_users(svc.db)] == ["root"]


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"confirm": PASSWORD + "x"}, "setup.password_mismatch"),
        ({"password": "short", "confirm": "short"}, "setup.password_short"),
        ({"username": "no spaces"}, "setup.username"),
        ({"username": ""}, "setup.username"),
    ],
)
async def test_mistakes_keep_the_link_alive(client, svc, announcements, fields, key):
    """A form mistake is explained (422) and the link still works afterwards."""
    path = setup_path(announcements)
    response = await create_account(client, path, **fields)
    assert response.status_code == 422
    assert shows(response.text, key)
    assert not await store.any_users(svc.db)
    assert (await create_account(client, path)).status_code == 303


async def test_setup_link_expires_after_a_day(client, svc, clock, announcements):
    """An unused link stops working 24 hours after the start."""
    path = setup_path(announcements)
    clock.advance(24 * 60 * 60 + 1)
    assert (await client.get(path)).status_code == 404
    response = await create_account(client, path)
    assert response.status_code == 404
    assert not await store.any_users(svc.db)


async def test_second_start_with_accounts_announces_nothing(client, settings, clock, announcements):
    """Once an account exists, a restart prints no setup link."""
    assert (await create_account(client, setup_path(announcements))).status_code == 303
    later: list[str] = []
    async with LifespanManager(create_app(settings, clock=clock, announce=later.append)):
        pass
    assert later == []


async def test_restart_before_setup_announces_a_new_link(client, svc, settings, clock, announcements):
    """A restart while there is still no account prints a fresh link that works."""
    first = setup_path(announcements)
    later: list[str] = []
    async with LifespanManager(create_app(settings, clock=clock, announce=later.append)):
        pass
    second = setup_path(later)
    assert second != first
    assert (await client.get(second)).status_code == 200
    assert (await create_account(client, second)).status_code == 303
    assert (await client.get(first)).status_code == 404, "the other link dies with the first account"
    client.cookies.clear()
    late = await create_account(client, first, username="intruder")
    assert late.status_code == 404
    assert shows(late.text, "setup.invalid_link")
    assert [u.username for u in await store.list_users(svc.db)] == ["root"]
