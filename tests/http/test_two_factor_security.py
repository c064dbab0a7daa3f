"""Security rules of 2FA: replay, races, throttling, half-signed-in access, secrets at rest and in logs."""

import asyncio
import dataclasses
import logging
import re
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import String, Text, func, select
from starlette.routing import Route

from server import store
from server.app import create_app
from server.messages import EVENTS
from server.routes import routes
from server.tables import metadata, sessions
from tests.utils import (
    PASSWORD,
    PROFILE,
    TWO_FACTOR,
    add_user,
    browser,
    code,
    csrf,
    enable_two_factor,
    enrollment_path,
    post,
    shows,
    sign_in,
    sign_out,
    signin_csrf,
    start_signin,
    submit_backup_code,
    submit_code,
    text_of,
    user_row,
    user_with_two_factor,
    user_with_two_factor_signed_out,
    wrong_code,
)

PARALLEL = 20


@pytest.fixture
async def enrolled(client, svc, clock):
    """alice has 2FA on and is signed out; a minute has passed since she enabled it."""
    return await user_with_two_factor_signed_out(client, svc, clock)


@pytest.fixture
async def racer(app):
    """A browser whose simultaneous requests each get their own request state, as under uvicorn."""
    async with browser(app) as b:
        yield b


async def alice_id(svc) -> int:
    user = await store.get_user_by_key(svc.db, "alice")
    assert user is not None
    return user.id


async def session_count(svc) -> int:
    row = await svc.db.fetch_one(
        select(func.count()).select_from(sessions).where(sessions.c.user_id == await alice_id(svc))
    )
    assert row is not None
    return int(row[0])


async def event_kinds(svc) -> list[str]:
    return [event.kind for event in await store.recent_events(svc.db, await alice_id(svc), limit=200)]


async def half_signed_in_browsers(stack: AsyncExitStack, app, count: int) -> list:
    """``count`` browsers, each past the password step of alice, each with its CSRF token ready."""
    result = []
    for i in range(count):
        b = await stack.enter_async_context(browser(app, ip=f"10.1.0.{i + 1}"))
        await start_signin(b)
        result.append((b, await signin_csrf(b)))
    return result


# ---- replay -----------------------------------------------------------------------------------


async def test_code_used_to_enable_cannot_sign_in(client, svc, clock):
    """The code that switched 2FA on is spent: the same step does not complete a sign-in."""
    await add_user(svc)
    await sign_in(client)
    enrolled = await enable_two_factor(client, clock)
    await sign_out(client)
    await start_signin(client)
    response = await submit_code(client, code(enrolled.secret, clock))
    assert response.status_code == 422
    assert shows(response.text, "code.reused")
    assert not client.cookies.get("mirox_session")


async def test_code_used_at_signin_is_rejected_at_a_second_signin(client, other_client, enrolled, clock):
    """A code someone watched being typed cannot be used again in another browser."""
    value = code(enrolled.secret, clock)
    await start_signin(client)
    await start_signin(other_client)
    assert (await submit_code(client, value)).status_code == 303
    response = await submit_code(other_client, value)
    assert response.status_code == 422
    assert shows(response.text, "code.reused")
    assert not other_client.cookies.get("mirox_session")


@pytest.mark.parametrize("path", ["/profile/2fa/disable", "/profile/2fa/backup-code"])
async def test_code_used_at_signin_is_rejected_at_card_actions(client, svc, enrolled, clock, path):
    """The step spent at sign-in cannot turn 2FA off or issue a new backup code."""
    value = code(enrolled.secret, clock)
    await start_signin(client)
    assert (await submit_code(client, value)).status_code == 303
    before = await user_row(svc)
    response = await post(client, path, {"code": value})
    assert response.status_code == 422
    assert shows(response.text, "code.reused")
    after = await user_row(svc)
    assert after["totp_secret_sealed"] == before["totp_secret_sealed"]
    assert after["backup_code_hash"] == before["backup_code_hash"]


async def test_older_step_is_rejected_after_a_newer_one_was_used(client, svc, enrolled, clock):
    """After the next step's code was used, the current step's code is not accepted either."""
    await start_signin(client)
    assert (await submit_code(client, code(enrolled.secret, clock, 1))).status_code == 303
    response = await post(client, "/profile/2fa/disable", {"code": code(enrolled.secret, clock)})
    assert response.status_code == 422
    assert shows(response.text, "code.reused")
    assert (await user_row(svc))["totp_secret_sealed"] is not None


async def test_same_code_submitted_twenty_times_at_once_signs_in_once(app, svc, enrolled, clock):
    """Twenty browsers racing with one code: exactly one gets a session."""
    value = code(enrolled.secret, clock)
    async with AsyncExitStack() as stack:
        browsers = await half_signed_in_browsers(stack, app, PARALLEL)
        responses = await asyncio.gather(
            *(b.post(TWO_FACTOR, data={"csrf_token": token, "code": value}) for b, token in browsers)
        )
        winners = [b for b, _ in browsers if b.cookies.get("mirox_session")]
    assert sum(r.status_code == 303 for r in responses) == 1, [r.status_code for r in responses]
    assert len(winners) == 1
    assert {r.status_code for r in responses} <= {303, 422, 429}
    assert await session_count(svc) == 1


async def test_same_code_for_new_backup_codes_twenty_times_at_once_issues_one(racer, svc, clock):
    """Twenty parallel New Backup Codes requests with one code: exactly one code is issued."""
    enrolled = await user_with_two_factor(racer, svc, clock)
    token = await csrf(racer, PROFILE)
    value = code(enrolled.secret, clock)
    responses = await asyncio.gather(
        *(racer.post("/profile/2fa/backup-code", data={"csrf_token": token, "code": value}) for _ in range(PARALLEL))
    )
    issued = [r for r in responses if r.status_code == 200 and 'id="backup-code"' in r.text]
    assert len(issued) == 1, [r.status_code for r in responses]
    assert (await event_kinds(svc)).count("2fa.new_backup") == 1


async def test_same_code_for_disable_twenty_times_at_once_disables_once(racer, svc, clock):
    """Twenty parallel Disable requests with one code turn 2FA off exactly once."""
    enrolled = await user_with_two_factor(racer, svc, clock)
    token = await csrf(racer, PROFILE)
    value = code(enrolled.secret, clock)
    await asyncio.gather(
        *(racer.post("/profile/2fa/disable", data={"csrf_token": token, "code": value}) for _ in range(PARALLEL))
    )
    assert (await user_row(svc))["totp_secret_sealed"] is None
    assert (await event_kinds(svc)).count("2fa.disabled") == 1


async def test_verify_and_enable_twenty_times_at_once_enables_once(racer, svc, clock):
    """Twenty parallel Verify and Enable submissions switch 2FA on once."""
    await add_user(svc)
    await sign_in(racer)
    step1 = await post(racer, "/profile/2fa/enable")
    secret = text_of(step1.text, "manual-secret").replace(" ", "")
    base = enrollment_path(step1.text)
    token = await csrf(racer, PROFILE)
    value = code(secret, clock)
    responses = await asyncio.gather(
        *(racer.post(base, data={"csrf_token": token, "code": value}) for _ in range(PARALLEL))
    )
    assert any(r.status_code == 303 for r in responses)
    assert (await event_kinds(svc)).count("2fa.enabled") == 1
    assert (await user_row(svc))["totp_secret_sealed"] is not None


async def test_enable_clicked_twenty_times_at_once_leaves_one_setup(racer, svc, clock):
    """A burst of Enable clicks (double-click, several tabs) never errors and leaves one usable setup."""
    await add_user(svc)
    await sign_in(racer)
    token = await csrf(racer, PROFILE)
    responses = await asyncio.gather(
        *(racer.post("/profile/2fa/enable", data={"csrf_token": token}) for _ in range(PARALLEL))
    )
    assert [r.status_code for r in responses] == [200] * PARALLEL
    rows = await svc.db.fetch_all(select(metadata.tables["enrollments"]))
    assert len(rows) == 1
    survivor = next(r for r in responses if enrollment_path(r.text).endswith("/" + rows[0]["id"]))
    secret = text_of(survivor.text, "manual-secret").replace(" ", "")
    done = await post(racer, enrollment_path(survivor.text), {"code": code(secret, clock)})
    assert done.status_code == 303
    assert (await user_row(svc))["totp_secret_sealed"] is not None


async def test_backup_code_used_twenty_times_at_once_gives_one_session(app, svc, enrolled):
    """Twenty browsers racing with the one backup code: exactly one gets a session."""
    async with AsyncExitStack() as stack:
        browsers = await half_signed_in_browsers(stack, app, PARALLEL)
        responses = await asyncio.gather(
            *(
                b.post("/signin/backup-code", data={"csrf_token": token, "code": enrolled.backup_code})
                for b, token in browsers
            )
        )
        winners = [b for b, _ in browsers if b.cookies.get("mirox_session")]
    assert sum(r.status_code == 303 for r in responses) == 1, [r.status_code for r in responses]
    assert len(winners) == 1
    assert await session_count(svc) == 1
    assert (await event_kinds(svc)).count("2fa.backup_used") == 1


async def test_parallel_wrong_codes_on_one_pending_signin_are_capped_at_five(app, settings, svc, enrolled, clock):
    """Twenty wrong codes at once through one pending sign-in: only five are ever checked."""
    # The shared throttle is relaxed here so that the per-sign-in limit alone has to hold.
    relaxed = dataclasses.replace(settings, second_factor_free_attempts=1000)
    manager = LifespanManager(create_app(relaxed, clock=clock, announce=lambda _: None))
    async with manager, browser(manager) as b:
        await start_signin(b)
        pending = b.cookies.get("mirox_pending")
        token = await signin_csrf(b)
        bad = wrong_code(enrolled.secret, clock)
        responses = await asyncio.gather(
            *(b.post(TWO_FACTOR, data={"csrf_token": token, "code": bad}) for _ in range(PARALLEL))
        )
        assert all(r.status_code in (303, 422) for r in responses), [r.status_code for r in responses]
        assert (await event_kinds(svc)).count("signin.failed_code") == 5
        b.cookies.set("mirox_pending", pending)
        response = await submit_code(b, code(enrolled.secret, clock))
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")
        assert not b.cookies.get("mirox_session")


# ---- the shared second-factor throttle ---------------------------------------------------------


def wait_of(html_text: str) -> int:
    match = re.search(r"Wait (\d+) seconds", html_text)
    assert match, "no wait time on the page"
    return int(match.group(1))


async def test_failures_across_different_checks_share_one_throttle(client, other_client, svc, clock):
    """Five wrong codes spread over sign-in, Check 2FA, New Backup Codes and Disable: the next must wait."""
    enrolled = await user_with_two_factor(client, svc, clock)
    bad = wrong_code(enrolled.secret, clock)
    await start_signin(other_client)
    assert (await submit_code(other_client, bad)).status_code == 422
    assert (await post(client, "/profile/2fa/check", {"code": bad})).status_code == 422
    assert (await post(client, "/profile/2fa/check", {"code": bad})).status_code == 422
    assert (await post(client, "/profile/2fa/backup-code", {"code": bad})).status_code == 422
    assert (await post(client, "/profile/2fa/disable", {"code": bad})).status_code == 422
    response = await post(client, "/profile/2fa/check", {"code": code(enrolled.secret, clock)})
    assert response.status_code == 429
    wait = wait_of(response.text)
    assert wait >= 1
    assert shows(response.text, "code.throttled", seconds=wait)
    clock.advance(wait)
    response = await post(client, "/profile/2fa/check", {"code": code(enrolled.secret, clock)})
    assert response.status_code == 303
    assert shows((await client.get(PROFILE)).text, "card.check_ok")


async def test_throttle_also_blocks_the_signin_code_step(client, other_client, svc, clock):
    """After five wrong codes on the card, even the right code at sign-in has to wait."""
    enrolled = await user_with_two_factor(client, svc, clock)
    for _ in range(5):
        await post(client, "/profile/2fa/check", {"code": wrong_code(enrolled.secret, clock)})
    await start_signin(other_client)
    response = await submit_code(other_client, code(enrolled.secret, clock))
    assert response.status_code == 429
    assert shows(response.text, "code.throttled", seconds=wait_of(response.text))
    assert not other_client.cookies.get("mirox_session")


async def test_success_resets_the_throttle(client, svc, clock):
    """After a successful code the count starts again: five more wrong codes are all just wrong."""
    enrolled = await user_with_two_factor(client, svc, clock)
    for _ in range(4):
        await post(client, "/profile/2fa/check", {"code": wrong_code(enrolled.secret, clock)})
    assert (await post(client, "/profile/2fa/check", {"code": code(enrolled.secret, clock)})).status_code == 303
    for _ in range(5):
        response = await post(client, "/profile/2fa/check", {"code": wrong_code(enrolled.secret, clock)})
        assert response.status_code == 422
    response = await post(client, "/profile/2fa/check", {"code": wrong_code(enrolled.secret, clock)})
    assert response.status_code == 429


async def test_parallel_wrong_guesses_cannot_slip_past_the_limit(app, svc, clock):
    """Twenty wrong codes at once: only the five free attempts are even checked."""
    async with browser(app) as client:
        await wrong_guesses_race(client, svc, clock)


async def wrong_guesses_race(client, svc, clock):
    enrolled = await user_with_two_factor(client, svc, clock)
    token = await csrf(client, PROFILE)
    bad = wrong_code(enrolled.secret, clock)
    responses = await asyncio.gather(
        *(client.post("/profile/2fa/check", data={"csrf_token": token, "code": bad}) for _ in range(PARALLEL))
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(422) == 5, statuses
    assert statuses.count(429) == PARALLEL - 5
    assert (await event_kinds(svc)).count("2fa.check_failed") == 5


# ---- half signed in: password accepted, code outstanding -----------------------------------------

ALLOWED_BEFORE_SECOND_FACTOR = {
    "signin",
    "signin_submit",
    "two_factor",
    "two_factor_submit",
    "backup_code",
    "backup_code_submit",
    "cancel_signin",
    "setup",
    "setup_submit",
    "healthz",
}


def user_routes() -> list[Route]:
    """Every route of the app's route table except sign-in, setup, health and static files."""
    found = [r for r in routes() if isinstance(r, Route) and r.name not in ALLOWED_BEFORE_SECOND_FACTOR]
    assert len(found) >= 14, [r.name for r in found]
    return found


def fill(route: Route, session_id: int) -> str:
    params = {
        name: session_id if type(convertor).__name__ == "IntegerConvertor" else "AAAAAAAAAAAAAAAA"
        for name, convertor in route.param_convertors.items()
    }
    if "step" in params:
        params["step"] = "scan"
    return str(route.url_path_for(route.name, **params))


@pytest.mark.parametrize("htmx", [False, True], ids=["browser", "htmx"])
async def test_half_signed_in_user_reaches_no_user_route(client, other_client, svc, enrolled, clock, htmx):
    """Every user route, GET and POST, sends a half-signed-in browser to the two-factor screen."""
    await start_signin(other_client)
    assert (await submit_code(other_client, code(enrolled.secret, clock))).status_code == 303
    other_session = next(iter(await store.list_sessions(svc.db, await alice_id(svc), clock(), 3600)))
    before = await user_row(svc)
    await start_signin(client)
    token = await signin_csrf(client)
    headers = {"HX-Request": "true"} if htmx else {}
    crawled = 0
    for route in user_routes():
        path = fill(route, other_session.id)
        for method in sorted(route.methods or ()):
            data = {"csrf_token": token, "code": code(enrolled.secret, clock), "password": PASSWORD}
            if method == "POST":
                response = await client.post(path, data=data, headers=headers)
            else:
                response = await client.request(method, path, headers=headers)
            where = f"{method} {path}"
            if htmx:
                assert response.status_code == 200, where
                assert response.headers.get("HX-Redirect") == TWO_FACTOR, where
                assert response.content == b"", where
            else:
                assert response.status_code == 303, where
                assert response.headers["location"] == TWO_FACTOR, where
                assert response.content == b"", where
            assert not client.cookies.get("mirox_session"), where
            crawled += 1
    assert crawled >= 20
    assert await user_row(svc) == before
    assert (await other_client.get(PROFILE)).status_code == 200
    assert (await submit_code(client, code(enrolled.secret, clock, 1))).status_code == 303


async def test_pending_cookie_of_one_user_is_no_session_for_another(client, svc, enrolled):
    """A pending token is not a session: pages still ask for the code, not for bob's data."""
    await add_user(svc, "bob")
    await start_signin(client)
    page = await client.get("/")
    assert page.status_code == 303
    assert page.headers["location"] == TWO_FACTOR


# ---- CSRF and cross-site requests on the card ----------------------------------------------------


async def test_disable_without_csrf_token_is_refused(client, svc, clock):
    """A forged form without the CSRF token cannot turn 2FA off, even with a valid code."""
    enrolled = await user_with_two_factor(client, svc, clock)
    response = await client.post("/profile/2fa/disable", data={"code": code(enrolled.secret, clock)})
    assert response.status_code == 403
    assert shows(response.text, "error.csrf")
    assert (await user_row(svc))["totp_secret_sealed"] is not None


async def test_disable_from_another_origin_is_refused(client, svc, clock):
    """A cross-site request is refused even with a valid token and code."""
    enrolled = await user_with_two_factor(client, svc, clock)
    token = await csrf(client, PROFILE)
    response = await client.post(
        "/profile/2fa/disable",
        data={"csrf_token": token, "code": code(enrolled.secret, clock)},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert (await user_row(svc))["totp_secret_sealed"] is not None


# ---- secrets at rest ------------------------------------------------------------------------------


async def text_values(svc) -> list[str]:
    """Every text value in every table."""
    values = []
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not columns:
            continue
        for row in await svc.db.fetch_all(select(*columns)):
            values += [row[c.name] for c in columns if isinstance(row[c.name], str)]
    return values


def needles(secret: str, backup_code: str) -> list[str]:
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return [secret, secret.lower(), grouped, backup_code, backup_code.replace("-", ""), backup_code.lower()]


def assert_nowhere(values: list[str], secret: str, backup_code: str) -> None:
    for value in values:
        for needle in needles(secret, backup_code):
            assert needle not in value, f"{needle!r} found in the database"


async def test_secret_and_backup_code_are_not_stored_in_clear_during_setup(client, svc, clock):
    """While the Enable dialog is open the pending secret and backup code are sealed, not plain."""
    await add_user(svc)
    await sign_in(client)
    step1 = await post(client, "/profile/2fa/enable")
    secret = text_of(step1.text, "manual-secret").replace(" ", "")
    base = enrollment_path(step1.text)
    backup_code = text_of((await client.get(base + "/backup")).text, "backup-code")
    values = await text_values(svc)
    assert_nowhere(values, secret, backup_code)
    sealed = await svc.db.fetch_all(select(metadata.tables["enrollments"]))
    assert len(sealed) == 1
    assert sealed[0]["secret_sealed"].startswith("v1:")
    assert sealed[0]["backup_code_sealed"].startswith("v1:")


async def test_secret_and_backup_code_are_not_stored_in_clear_after_enable(client, svc, clock):
    """After enabling, no text column of any table holds the secret or the backup code."""
    await add_user(svc)
    await sign_in(client)
    enrolled = await enable_two_factor(client, clock)
    assert_nowhere(await text_values(svc), enrolled.secret, enrolled.backup_code)
    row = await user_row(svc)
    assert str(row["totp_secret_sealed"]).startswith("v1:")
    assert str(row["backup_code_hash"]).startswith("$argon2")
    assert PASSWORD not in " ".join(await text_values(svc))


async def test_new_backup_code_is_not_stored_in_clear(client, svc, clock):
    """A code from New Backup Codes is stored only as a hash."""
    enrolled = await user_with_two_factor(client, svc, clock)
    response = await post(client, "/profile/2fa/backup-code", {"code": code(enrolled.secret, clock)})
    new_code = text_of(response.text, "backup-code")
    assert_nowhere(await text_values(svc), enrolled.secret, new_code)


async def test_sqlite_file_holds_no_secret(client, svc, clock, settings, no_pg):
    """Even the raw SQLite file and its write-ahead log never contain the secret or backup code."""
    await add_user(svc)
    await sign_in(client)
    enrolled = await enable_two_factor(client, clock)
    path = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert files
    for file in files:
        blob = file.read_bytes()
        for needle in needles(enrolled.secret, enrolled.backup_code):
            assert needle.encode() not in blob, (file.name, needle)


# ---- caching and logs -------------------------------------------------------------------------------


async def test_responses_showing_a_secret_or_code_are_not_stored(client, svc, clock):
    """Every response with the secret, the QR code or a backup code carries Cache-Control: no-store."""
    await add_user(svc)
    await sign_in(client)
    responses = [await post(client, "/profile/2fa/enable"), await post(client, "/profile/2fa/enable", htmx=True)]
    secret = text_of(responses[-1].text, "manual-secret").replace(" ", "")
    base = enrollment_path(responses[-1].text)
    for step in ("scan", "backup", "verify"):
        responses.append(await client.get(f"{base}/{step}"))
        responses.append(await client.get(f"{base}/{step}", headers={"HX-Request": "true"}))
    responses.append(await post(client, base, {"code": wrong_code(secret, clock)}))
    responses.append(await post(client, base, {"code": code(secret, clock)}))
    clock.advance(11 * 60)
    responses.append(await post(client, "/profile/reauth", {"password": PASSWORD, "then": "backup"}))
    clock.advance(30)
    issued = await post(client, "/profile/2fa/backup-code", {"code": code(secret, clock)})
    assert 'id="backup-code"' in issued.text
    responses.append(issued)
    for response in responses:
        assert response.headers["Cache-Control"] == "no-store", response.request.url


async def test_no_secret_or_code_in_logs(client, svc, clock, caplog, capfd):
    """Across enable, sign-in with a code, New Backup Codes and backup sign-in, logs hold no secret."""
    for name in [*logging.root.manager.loggerDict, None]:
        caplog.set_level(logging.DEBUG, logger=name)
    enrolled = await user_with_two_factor_signed_out(client, svc, clock)
    await start_signin(client)
    assert (await submit_code(client, code(enrolled.secret, clock))).status_code == 303
    clock.advance(30)
    response = await post(client, "/profile/2fa/backup-code", {"code": code(enrolled.secret, clock)})
    new_code = text_of(response.text, "backup-code")
    await sign_out(client)
    await start_signin(client)
    assert (await submit_backup_code(client, new_code)).status_code == 303
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    printed = "".join(capfd.readouterr())
    for text in (logged, printed):
        for needle in [*needles(enrolled.secret, enrolled.backup_code), *needles(enrolled.secret, new_code)]:
            assert needle not in text
        assert PASSWORD not in text


# ---- security events ------------------------------------------------------------------------------


async def test_wrong_codes_at_signin_are_recorded_with_the_address(client, other_client, svc, enrolled, clock):
    """A wrong code typed by someone else shows up on Profile with that browser's address."""
    await start_signin(other_client)
    await submit_code(other_client, wrong_code(enrolled.secret, clock))
    await start_signin(client)
    await submit_code(client, code(enrolled.secret, clock))
    events = await store.recent_events(svc.db, await alice_id(svc))
    failed = [e for e in events if e.kind == "signin.failed_code"]
    assert len(failed) == 1 and failed[0].ip == "10.0.0.9"
    page = (await client.get(PROFILE)).text
    activity = page[page.index('id="activity"') :]
    assert EVENTS["signin.failed_code"] in activity
    assert "10.0.0.9" in activity


async def test_every_two_factor_change_is_recorded(client, svc, clock):
    """Enable, sign-in, New Backup Codes, Disable and signing out others are all in the log."""
    enrolled = await user_with_two_factor(client, svc, clock)
    await post(client, "/profile/2fa/backup-code", {"code": code(enrolled.secret, clock)})
    clock.advance(30)
    await post(client, "/profile/2fa/disable", {"code": code(enrolled.secret, clock)})
    await post(client, "/sessions/signout-others")
    kinds = await event_kinds(svc)
    for kind in ("2fa.enabled", "signin", "2fa.new_backup", "2fa.disabled", "sessions.signed_out_others"):
        assert kind in kinds, kind
    page = (await client.get(PROFILE)).text
    for kind in ("2fa.enabled", "2fa.new_backup", "2fa.disabled", "sessions.signed_out_others"):
        assert EVENTS[kind] in page, kind
