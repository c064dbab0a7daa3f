"""Two server processes, one PostgreSQL: every single-use or counted thing holds across processes.

A and B are separate ``python run.py`` processes on different ports; a browser's
requests may land on either (as behind a load balancer). Time is real here, so
TOTP codes are chosen by time step, never by "now" at the moment of sending.
"""

import asyncio
import time
from html import escape

import pytest

from server.messages import message
from tests.multiprocess.conftest import Cluster
from tests.servers import (
    PASSWORD,
    browser,
    code_for,
    enable_two_factor,
    page_token,
    session_cookie,
    sign_in,
    submit,
)

pytestmark = pytest.mark.multiprocess


def shows(html: str, key: str) -> bool:
    return escape(message(key)) in html


async def test_session_from_a_works_on_b_and_sign_out_on_b_ends_it_on_a(cluster: Cluster):
    """Sessions live in the database: a cookie issued by A opens Profile on B, and B's sign-out ends it on A."""
    cluster.add_user("alice")
    a, b = cluster.a.url, cluster.b.url
    async with browser() as on_a:
        response = await sign_in(on_a, a, "alice")
        assert response.status_code == 303, response.text
        token = session_cookie(on_a)

        async with browser(cookies={"mirox_session": token}) as on_b:
            profile = await on_b.get(b + "/profile")
            assert profile.status_code == 200
            assert "alice" in profile.text
            assert (await submit(on_b, b + "/profile", b + "/signout", {})).status_code == 303

        ended = await on_a.get(a + "/profile")
        assert ended.status_code == 303
        assert ended.headers["location"].startswith("/signin")

    async with browser() as stranger:
        assert (await stranger.get(b + "/profile")).status_code == 303


async def test_totp_code_accepted_by_a_is_a_replay_on_b(cluster: Cluster):
    """The used time step is recorded in the database, so B refuses a code A already accepted.

    2FA is enabled on A with the code of step s (the server records s as used). The
    sign-in code is then the code of step s + 1: both servers accept it while the
    clock is anywhere in steps s .. s + 2, i.e. for at least 30 s after enrolment,
    so a step boundary during the test cannot make it flaky.
    """
    cluster.add_user("bob")
    a, b = cluster.a.url, cluster.b.url
    async with browser() as owner:
        assert (await sign_in(owner, a, "bob")).status_code == 303
        enrolled = await enable_two_factor(owner, a)
    code = code_for(enrolled.secret, enrolled.step + 1)

    async with browser() as first:
        response = await sign_in(first, a, "bob")
        assert response.headers["location"].startswith("/signin/two-factor")
        response = await submit(first, a + "/signin/two-factor", a + "/signin/two-factor", {"code": code})
        assert response.status_code == 303, response.text
        assert (await first.get(a + "/profile")).status_code == 200

    async with browser() as replay:
        response = await sign_in(replay, b, "bob")
        assert response.headers["location"].startswith("/signin/two-factor")
        response = await submit(replay, b + "/signin/two-factor", b + "/signin/two-factor", {"code": code})
        assert response.status_code == 422
        assert shows(response.text, "code.reused"), response.text
        assert "mirox_session" not in replay.cookies
        assert (await replay.get(b + "/profile")).status_code == 303


async def test_one_backup_code_used_twenty_times_at_once_on_both_succeeds_once(cluster: Cluster):
    """20 pending sign-ins (made one by one, alternating A and B) then spend one backup code together.

    The spend is one conditional UPDATE of the account, so exactly one request gets a
    session; the others are refused (wrong code once it is spent, or throttled) or, when
    the winner has already ended their pending sign-in, sent back to the sign-in page.
    """
    cluster.add_user("carol")
    servers = [cluster.a.url, cluster.b.url]
    async with browser() as owner:
        assert (await sign_in(owner, servers[0], "carol")).status_code == 303
        enrolled = await enable_two_factor(owner, servers[0])

    clients = [browser() for _ in range(20)]
    try:
        tokens = []
        for i, client in enumerate(clients):
            base = servers[i % 2]
            response = await sign_in(client, base, "carol")
            assert response.headers["location"].startswith("/signin/two-factor"), response.text
            tokens.append(await page_token(client, base + "/signin/backup-code"))

        responses = await asyncio.gather(
            *(
                client.post(
                    servers[i % 2] + "/signin/backup-code",
                    data={"csrf_token": token, "code": enrolled.backup_code},
                )
                for i, (client, token) in enumerate(zip(clients, tokens, strict=True))
            )
        )
        statuses = sorted(r.status_code for r in responses)
        winners = [i for i, r in enumerate(responses) if r.headers.get("location") == "/profile"]
        assert len(winners) == 1, [(r.status_code, r.headers.get("location")) for r in responses]
        assert set(statuses) <= {303, 422, 429}, statuses
        # A request that reaches the server after the winner ended every pending sign-in of the
        # account finds its own ended too: it is sent back to the sign-in page, without a session.
        ended = [r for i, r in enumerate(responses) if r.status_code == 303 and i not in winners]
        assert all(r.headers["location"].startswith("/signin") for r in ended)
        assert all(clients[i].cookies.get("mirox_session") is None for i in range(len(clients)) if i not in winners)
        assert all(
            shows(r.text, "backup.invalid") if r.status_code == 422 else "Too many wrong codes" in r.text
            for r in responses
            if r.status_code != 303
        )

        winner = clients[winners[0]]
        other_server = servers[(winners[0] + 1) % 2]
        profile = await winner.get(other_server + "/profile")
        assert profile.status_code == 200
        assert shows(profile.text, "card.backup_used")
    finally:
        for client in clients:
            await client.aclose()

    async with browser() as later:
        response = await sign_in(later, servers[1], "carol")
        assert response.status_code == 303
        assert response.headers["location"] == "/", "2FA is off after the backup code was used"


async def test_failed_passwords_on_both_processes_count_towards_one_limit(cluster: Cluster):
    """Five wrong passwords alternating A and B; then the next attempt is refused (429) on either."""
    cluster.add_user("dave")
    a, b = cluster.a.url, cluster.b.url
    async with browser() as attacker:
        tokens = [await page_token(attacker, base + "/signin") for base in (a, b, a)]
        for i in range(5):
            fifth_sent = time.monotonic()
            response = await sign_in(attacker, (a, b)[i % 2], "dave", "wrong password")
            assert response.status_code == 422, (i, response.status_code)
            assert shows(response.text, "signin.invalid")
        # The fifth failure blocks the account for a minute (MIROX_THROTTLE_BASE_DELAY in the cluster).
        attempts = await asyncio.gather(
            *(
                attacker.post(base + "/signin", data={"csrf_token": token, "username": "dave", "password": password})
                for base, token, password in zip(
                    (a, b, a), tokens, ("wrong password", "wrong password", PASSWORD), strict=True
                )
            )
        )
        elapsed = time.monotonic() - fifth_sent
    assert [r.status_code for r in attempts] == [429, 429, 429], f"{elapsed:.2f} s after the fifth failure"
    assert all(int(r.headers["retry-after"]) > 50 for r in attempts)
    for response in attempts:
        assert int(response.headers["retry-after"]) >= 1
        assert "Too many failed attempts" in response.text
