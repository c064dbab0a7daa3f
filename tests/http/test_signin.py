"""Sign-in with a password: success, failures that reveal nothing, throttling, ``next`` and disabled accounts."""

import html

import pytest
from sqlalchemy import update

from server import store
from server.auth.passwords import PasswordHasher
from server.messages import message
from server.tables import users
from tests.peek import throttle_failures
from tests.utils import PASSWORD, add_user, csrf, session_cookie, shows, sign_in, text_of, try_password


def error_text(response) -> str:
    return text_of(response.text, "signin-error")


# ---- success and failure ----------------------------------------------------------------


async def test_right_password_signs_in(client, svc):
    """The right password starts a session and leads to the start page."""
    await add_user(svc)
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert session_cookie(client)
    home = await client.get("/")
    assert home.status_code == 200
    assert "Welcome, alice" in home.text


async def test_username_is_not_case_sensitive(client, svc):
    """Alice and alice are the same account."""
    await add_user(svc)
    response = await sign_in(client, " ALICE ")
    assert response.status_code == 303
    assert (await client.get("/profile")).status_code == 200


async def test_wrong_password_is_refused(client, svc):
    """A wrong password gives 422, the invalid-credentials message, the name kept, and no session."""
    await add_user(svc)
    response = await try_password(client, "alice", "not the password")
    assert response.status_code == 422
    assert error_text(response) == html.escape(message("signin.invalid"))
    assert 'value="alice"' in response.text
    assert session_cookie(client) is None
    assert (await client.get("/profile")).status_code == 303


@pytest.mark.parametrize(("name", "password"), [("", PASSWORD), ("alice", ""), ("", "")])
async def test_missing_fields_are_refused(client, svc, name, password):
    """An empty username or password asks for both, without counting as a guess."""
    await add_user(svc)
    response = await try_password(client, name, password)
    assert response.status_code == 422
    assert shows(response.text, "signin.missing")
    assert await throttle_failures(svc.db, "password:account:alice") == 0


async def test_unknown_user_reads_exactly_like_a_wrong_password(client, svc):
    """The page for an unknown name is the page for a wrong password, apart from the echoed name."""
    await add_user(svc)
    wrong = await try_password(client, "alice", "not the password")
    unknown = await try_password(client, "mallory", "not the password")
    assert wrong.status_code == unknown.status_code == 422
    assert error_text(wrong) == error_text(unknown) == html.escape(message("signin.invalid"))
    assert wrong.text.replace('value="alice"', "") == unknown.text.replace('value="mallory"', "")


async def test_unknown_and_disabled_users_cost_a_password_verification(client, svc, monkeypatch):
    """Each attempt runs exactly one argon2 verification, whether the account exists or not."""
    await add_user(svc)
    await add_user(svc, "dora")
    dora = await store.get_user_by_key(svc.db, "dora")
    await store.disable_user(svc.db, dora.id, svc.clock())
    calls: list[str | None] = []
    original = PasswordHasher.verify

    async def counting(self, hash_, secret):
        calls.append(hash_)
        return await original(self, hash_, secret)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    for name in ("alice", "nobody", "dora"):
        calls.clear()
        response = await try_password(client, name, "not the password")
        assert response.status_code == 422
        assert len(calls) == 1, name
    assert calls == [None], "a disabled account must not be checked against its real hash"


# ---- throttling ---------------------------------------------------------------------------


async def test_account_is_throttled_after_five_failures_with_growing_delays(client, svc, clock):
    """Five free failures, then 429 with 'Wait N seconds' and Retry-After; each further failure doubles N."""
    await add_user(svc)
    for _ in range(5):
        assert (await try_password(client)).status_code == 422
    for wait in (1, 2, 4, 8):
        refused = await try_password(client, password=PASSWORD)
        assert refused.status_code == 429, "even the right password waits"
        assert refused.headers["retry-after"] == str(wait)
        assert error_text(refused) == html.escape(message("signin.throttled", seconds=wait))
        assert session_cookie(client) is None
        clock.advance(wait - 0.5)
        assert (await try_password(client)).status_code == 429
        clock.advance(0.5)
        assert (await try_password(client)).status_code == 422
    clock.advance(16)
    assert (await sign_in(client)).status_code == 303


async def test_success_resets_the_count(client, svc, clock):
    """After a successful sign-in the next mistakes are free again."""
    await add_user(svc)
    for _ in range(4):
        assert (await try_password(client)).status_code == 422
    assert (await sign_in(client)).status_code == 303
    client.cookies.clear()
    for _ in range(5):
        assert (await try_password(client)).status_code == 422
    assert (await try_password(client)).status_code == 429


async def test_account_throttle_counts_guesses_from_every_address(client, other_client, svc):
    """Guesses from one address delay the account everywhere, so rotating addresses does not help."""
    await add_user(svc)
    for _ in range(5):
        assert (await try_password(other_client)).status_code == 422
    response = await sign_in(client)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"


async def test_unknown_names_are_throttled_like_real_ones(client, svc):
    """Throttling does not reveal whether an account exists."""
    await add_user(svc)
    statuses = {}
    for name in ("alice", "nobody"):
        statuses[name] = [(await try_password(client, name)).status_code for _ in range(6)]
        client.cookies.clear()
    assert statuses["alice"] == statuses["nobody"] == [422] * 5 + [429]


async def test_address_is_throttled_across_usernames(client, other_client, svc, settings):
    """One address guessing a different name each time is slowed down too; other addresses are not."""
    await add_user(svc)
    statuses = []
    for n in range(100):
        response = await try_password(client, f"user{n}")
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429, "an address guessing many names is never throttled"
    assert len(statuses) > settings.password_free_attempts + 1, "one name per guess: the account limit is not it"
    assert set(statuses[:-1]) == {422}
    assert int(response.headers["retry-after"]) >= 1
    assert shows(response.text, "signin.throttled_address", seconds=int(response.headers["retry-after"]))
    assert "from this computer or network" in response.text, "a shared address: the message must not blame the person"
    assert (await sign_in(client)).status_code == 429, "the address waits, whatever the name"
    assert (await sign_in(other_client)).status_code == 303


async def test_the_real_user_is_not_locked_out_for_long(client, other_client, svc, clock, settings):
    """However long an attacker keeps guessing, the owner waits at most the configured maximum delay."""
    await add_user(svc)
    guesses = 0
    while guesses < 40:
        response = await try_password(other_client)
        if response.status_code == 429:
            clock.advance(int(response.headers["retry-after"]))
        else:
            assert response.status_code == 422
            guesses += 1
    refused = await sign_in(client)
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert wait <= settings.password_max_delay
    clock.advance(wait)
    assert (await sign_in(client)).status_code == 303


# ---- where sign-in leads ------------------------------------------------------------------


async def test_sign_in_returns_to_the_page_asked_for(client, svc):
    """Opening a page signed out leads through sign-in back to that page."""
    await add_user(svc)
    response = await client.get("/profile")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fprofile"
    page = await client.get(response.headers["location"])
    assert 'name="next" value="/profile"' in page.text
    signed_in = await try_password(client, "alice", PASSWORD, next="/profile")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/profile"


@pytest.mark.parametrize("password", ["", "a wrong password"])
async def test_a_refused_password_keeps_the_page_asked_for(client, svc, password):
    """A wrong or missing password shows the form again with the same ``next``; the right one then leads there."""
    await add_user(svc)
    refused = await try_password(client, "alice", password, next="/profile")
    assert refused.status_code == 422
    assert 'name="next" value="/profile"' in refused.text
    signed_in = await try_password(client, "alice", PASSWORD, next="/profile")
    assert signed_in.headers["location"] == "/profile"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/\r\n/evil.example",
        "/\x00/evil.example",
        "/€",
        "evil",
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
async def test_next_never_leads_to_another_site(client, svc, target, htmx):
    """A ``next`` that is not a plain path of this app leads to the start page instead."""
    await add_user(svc)
    token = await csrf(client)
    response = await client.post(
        "/signin",
        data={"csrf_token": token, "username": "alice", "password": PASSWORD, "next": target},
        headers={"HX-Request": "true"} if htmx else {},
    )
    location = response.headers["hx-redirect" if htmx else "location"]
    assert response.status_code == (200 if htmx else 303)
    assert location == "/"


async def test_signed_in_user_skips_the_sign_in_page(client, svc):
    """The sign-in page sends a signed-in user to the start page."""
    await add_user(svc)
    await sign_in(client)
    response = await client.get("/signin")
    assert response.status_code == 303
    assert response.headers["location"] == "/"


# ---- disabled accounts ----------------------------------------------------------------------


async def test_disabled_user_cannot_sign_in(client, svc):
    """A disabled account gets the same answer as a wrong password, even with the right one."""
    await add_user(svc)
    alice = await store.get_user_by_key(svc.db, "alice")
    await store.disable_user(svc.db, alice.id, svc.clock())
    response = await sign_in(client)
    assert response.status_code == 422
    assert error_text(response) == html.escape(message("signin.invalid"))
    assert session_cookie(client) is None


async def test_disabling_ends_open_sessions(client, other_client, svc):
    """Once an account is disabled, every browser signed in to it is sent to the sign-in page."""
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    alice = await store.get_user_by_key(svc.db, "alice")
    await store.disable_user(svc.db, alice.id, svc.clock())
    for browser in (client, other_client):
        response = await browser.get("/profile")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")


async def test_disabled_flag_alone_stops_a_session(client, svc):
    """Even if a session row survived, a disabled account is not let in."""
    await add_user(svc)
    await sign_in(client)
    await svc.db.execute(update(users).values(disabled_at=svc.clock()))
    response = await client.get("/profile")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")
