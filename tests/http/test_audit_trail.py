"""The audit trail: every security event once in the database and once in the configured stream.

The journey of each test goes through every factor (password, code, backup code) and every
two-factor change; then the database and the stream are scanned for anything secret.
"""

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from server import audit_store
from server.app import create_app
from server.auth import audit_chain
from server.settings import Settings
from server.tables import audit_head, security_events
from tests.syslog_receiver import parse, receiver
from tests.utils import (
    PASSWORD,
    FakeClock,
    add_user,
    code,
    enable_two_factor,
    isolated_state,
    post,
    sign_in,
    sign_out,
    start_signin,
    submit_backup_code,
    submit_code,
    text_of,
    wrong_code,
)

WRONG_PASSWORD = "hunter2 is not it"
TYPED_AS_NAME = "my secret passphrase"
"""A password typed into the username field by mistake: it must not be logged either."""


@dataclasses.dataclass
class Stream:
    spec: str
    read: Callable[[int], list[str]]
    """All records so far as text (waiting for at least ``n`` of them)."""
    raw: Callable[[int], list[bytes]]


@pytest.fixture(params=["file", "udp", "tcp"])
def stream(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stream]:
    if request.param == "file":
        path = tmp_path / "audit.jsonl"

        def lines(_: int) -> list[bytes]:
            return path.read_bytes().splitlines() if path.exists() else []

        yield Stream(f"file:{path}", lambda n: [line.decode() for line in lines(n)], lines)
        return
    with receiver(request.param) as (port, received):
        yield Stream(
            f"syslog+{request.param}://127.0.0.1:{port}",
            lambda n: [raw.decode() for raw in received.wait_for(n)],
            received.wait_for,
        )


@pytest.fixture
def settings(settings: Settings, stream: Stream) -> Settings:
    return dataclasses.replace(settings, audit_sink=stream.spec)


@pytest.fixture
async def recording(app: LifespanManager) -> AsyncIterator[tuple[httpx.AsyncClient, set[str]]]:
    """A browser, and every cookie value the server ever set for it (session and pending tokens)."""
    seen: set[str] = set()

    async def remember(response: httpx.Response) -> None:
        seen.update(value for value in response.cookies.values() if value)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=isolated_state(app)),
        base_url="http://testserver",
        event_hooks={"response": [remember]},
    ) as browser:
        yield browser, seen


async def full_journey(client: httpx.AsyncClient, svc: object, clock: FakeClock) -> set[str]:
    """Sign-in with password and code, enable, new backup code, backup-code sign-in, disable; the secrets used."""
    await add_user(svc)  # type: ignore[arg-type]
    secrets = {PASSWORD, WRONG_PASSWORD, TYPED_AS_NAME}
    assert (await sign_in(client, password=WRONG_PASSWORD)).status_code == 422
    assert (await sign_in(client, name=TYPED_AS_NAME)).status_code == 422
    assert (await sign_in(client)).status_code == 303
    first = await enable_two_factor(client, clock)
    secrets |= {first.secret, first.backup_code, code(first.secret, clock)}
    await sign_out(client)
    clock.advance(60)

    await start_signin(client)
    wrong = wrong_code(first.secret, clock)
    assert (await submit_code(client, wrong)).status_code == 422
    used = code(first.secret, clock)
    assert (await submit_code(client, used)).status_code == 303
    secrets |= {wrong, used}
    clock.advance(30)
    used = code(first.secret, clock)
    response = await post(client, "/profile/2fa/backup-code", {"code": used})
    new_backup = text_of(response.text, "backup-code")
    secrets |= {used, new_backup}
    await sign_out(client)
    clock.advance(60)

    await start_signin(client)
    assert (await submit_backup_code(client, new_backup)).status_code == 303
    second = await enable_two_factor(client, clock)
    secrets |= {second.secret, second.backup_code, code(second.secret, clock)}
    clock.advance(30)
    used = code(second.secret, clock)
    assert (await post(client, "/profile/2fa/disable", {"code": used})).status_code in (200, 303)
    secrets.add(used)
    return secrets


def variants(secret: str) -> set[str]:
    """How a secret might be written: as typed, without separators, in either case."""
    bare = secret.replace("-", "").replace(" ", "")
    return {secret, bare, bare.lower(), bare.upper()}


def forbidden_in(text: str, forbidden: set[str]) -> set[str]:
    """The forbidden strings in ``text``: as a whole word, or anywhere when long (a 6-digit code may occur in a hash)."""
    words = set(re.findall(r"[A-Za-z0-9]+", text))
    return {s for s in forbidden if s in words or (len(s) >= 8 and s in text)}


EXPECTED = {
    ("signin.failed_password", "failure", "password"),
    ("signin", "success", "password"),
    ("2fa.enabled", "success", "totp"),
    ("signin.failed_code", "failure", "totp"),
    ("signin", "success", "totp"),
    ("2fa.new_backup", "success", "totp"),
    ("2fa.backup_used", "success", "backup_code"),
    ("signin", "success", "backup_code"),
    ("2fa.disabled", "success", "totp"),
}


async def test_a_full_journey_is_recorded_once_in_the_database_and_the_stream_without_any_secret(
    recording, svc, clock, stream
):
    """Every event is in the database and the stream, once each, and no password, code, secret or token is in either."""
    client, cookies = recording
    secrets = await full_journey(client, svc, clock)
    rows = [
        dict(row._mapping) for row in await svc.db.fetch_all(select(security_events).order_by(security_events.c.seq))
    ]
    heads = [dict(row._mapping) for row in await svc.db.fetch_all(select(audit_head))]
    streamed = stream.read(len(rows))

    assert {(r["kind"], r["outcome"], r["factor"]) for r in rows} >= EXPECTED
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert len(streamed) == len(rows), "each event once in the stream"
    stored_text = json.dumps(rows) + json.dumps(heads)
    forbidden = set().union(*(variants(s) for s in secrets)) | cookies
    for text, where in ((stored_text, "database"), ("\n".join(streamed), stream.spec)):
        leaked = sorted(forbidden_in(text, forbidden))
        assert not leaked, f"{where} holds {leaked}"
    unknown = [r for r in rows if r["kind"] == "signin.failed_password" and r["username"] is None]
    assert unknown and json.loads(unknown[0]["detail"]) == {"account": "unknown"}


async def test_streamed_records_carry_the_chain_of_the_database(recording, svc, clock, stream):
    """Each streamed record names its number and hash, the same as the database's, so a shipped copy anchors the chain."""
    client, _ = recording
    await full_journey(client, svc, clock)
    head, rows = await audit_store.audit_snapshot(svc.db)
    assert audit_chain.verify(rows, head) is None
    raw = stream.raw(len(rows))
    if stream.spec.startswith("file:"):
        shipped = [json.loads(line) for line in raw]
    else:
        messages = [parse(message) for message in raw]
        for message in messages:
            assert message.app == "mirox" and message.pri in (10 * 8 + 4, 10 * 8 + 5)
        shipped = [json.loads(message.message) for message in messages]
        assert [m.structured["mirox@32473"]["hash"] for m in messages] == [r["hash"] for r in rows]
        assert [m.msgid for m in messages] == [r["kind"] for r in rows]
    assert [(s["seq"], s["hash"], s["kind"]) for s in shipped] == [(r["seq"], r["hash"], r["kind"]) for r in rows]


@pytest.mark.parametrize("stream", ["file"], indirect=True)
async def test_the_default_stream_is_standard_error_as_json_lines(tmp_path, settings, clock, capsys, stream):
    """Without MIROX_AUDIT_SINK, each record is one JSON object on one line of standard error."""
    application = create_app(dataclasses.replace(settings, audit_sink="stderr"), clock=clock, announce=lambda _: None)
    async with (
        LifespanManager(application) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver") as c,
    ):
        await sign_in(c, name="nobody", password=WRONG_PASSWORD)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert [(r["kind"], r["outcome"], r["username"]) for r in records] == [("signin.failed_password", "failure", None)]
    assert records[0]["time"].endswith("Z") and records[0]["detail"] == {"account": "unknown"}
    assert WRONG_PASSWORD not in "\n".join(lines) and "nobody" not in "\n".join(lines)
