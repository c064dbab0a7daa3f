"""``run.py audit verify`` finds tampering; ``run.py audit export`` hands auditors CSV or JSON lines."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, insert, select, update

from server import audit, audit_store, store
from server.auth import audit_chain
from server.services import Client, open_services
from server.settings import Settings
from server.tables import security_events
from tests.utils import START, FakeClock, add_user
from tests.utils import run_cli as run

BROWSER = Client(ip="192.0.2.7", user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")
DAY = 24 * 60 * 60


async def five_records(settings: Settings) -> None:
    """alice signs in, fails, signs in; bob signs in; an administrator rotates keys: one record each, a day apart."""
    clock = FakeClock()
    async with open_services(settings, clock=clock) as svc:
        await add_user(svc, "alice")
        await add_user(svc, "bob")
        alice = await store.get_user_by_key(svc.db, "alice")
        bob = await store.get_user_by_key(svc.db, "bob")
        await audit.record(svc, "signin", user=alice, client=BROWSER, factor="password")
        clock.advance(DAY)
        await audit.record(svc, "signin.failed_code", user=alice, client=BROWSER, outcome="failure", factor="totp")
        clock.advance(DAY)
        await audit.record(svc, "signin", user=bob, client=BROWSER, factor="totp")
        clock.advance(DAY)
        await audit.record(svc, "signin", user=alice, client=BROWSER, factor="totp")
        clock.advance(DAY)
        await audit.record(svc, "admin.keys_rotate", detail={"resealed": 2})


async def tamper(settings: Settings, statement) -> None:  # type: ignore[no-untyped-def]
    async with open_services(settings) as svc:
        await svc.db.execute(statement)


async def verify(monkeypatch, capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = await run(monkeypatch, "audit", "verify")
    return code, capsys.readouterr().out


async def test_verify_reports_an_intact_chain(environment, monkeypatch, capsys):
    """Untouched records verify, and the answer says how many there are."""
    await five_records(environment)
    code, out = await verify(monkeypatch, capsys)
    assert code == 0 and "intact: 5 record(s)" in out


async def test_verify_finds_an_edited_record(environment, monkeypatch, capsys):
    """Changing what a record says (a failure made a success) is reported at that record."""
    await five_records(environment)
    await tamper(environment, update(security_events).where(security_events.c.seq == 2).values(outcome="success"))
    code, out = await verify(monkeypatch, capsys)
    assert code == 1 and "record 2 (altered)" in out


async def test_verify_finds_a_deleted_record(environment, monkeypatch, capsys):
    """Removing a record from the middle is reported at the record after the gap."""
    await five_records(environment)
    await tamper(environment, delete(security_events).where(security_events.c.seq == 3))
    code, out = await verify(monkeypatch, capsys)
    assert code == 1 and "record 4 (deleted)" in out


async def test_verify_finds_a_deleted_last_record(environment, monkeypatch, capsys):
    """Removing the newest record is caught by the head, which still counts it."""
    await five_records(environment)
    await tamper(environment, delete(security_events).where(security_events.c.seq == 5))
    code, out = await verify(monkeypatch, capsys)
    assert code == 1 and "record 5 (deleted)" in out


async def test_verify_finds_an_inserted_record(environment, monkeypatch, capsys):
    """A record added behind the app's back, even with a correctly computed hash, is reported."""
    await five_records(environment)
    async with open_services(environment) as svc:
        _, rows = await audit_store.audit_snapshot(svc.db)
        last = rows[-1]
        forged = {**{k: last[k] for k in audit_chain.HASHED_FIELDS}, "seq": 6, "kind": "signin", "outcome": "success"}
        digest = audit_chain.link_hash(last["hash"], forged)
        await svc.db.execute(insert(security_events).values(**forged, prev_hash=last["hash"], hash=digest))
    code, out = await verify(monkeypatch, capsys)
    assert code == 1 and "record 6 (inserted)" in out


async def test_verify_finds_a_record_inserted_in_the_middle(environment, monkeypatch, capsys):
    """Renumbering to slip a record in between two others is reported at the slipped-in record."""
    await five_records(environment)
    async with open_services(environment) as svc:
        for seq in (5, 4, 3):
            await svc.db.execute(update(security_events).where(security_events.c.seq == seq).values(seq=seq + 1))
        _, rows = await audit_store.audit_snapshot(svc.db)
        before = rows[1]
        forged = {**{k: before[k] for k in audit_chain.HASHED_FIELDS}, "seq": 3, "kind": "signin"}
        digest = audit_chain.link_hash(before["hash"], forged)
        await svc.db.execute(insert(security_events).values(**forged, prev_hash=before["hash"], hash=digest))
    code, out = await verify(monkeypatch, capsys)
    assert code == 1 and "record 3 (inserted)" in out


async def export(monkeypatch, capsys, *args: str) -> str:  # type: ignore[no-untyped-def]
    assert await run(monkeypatch, "audit", "export", *args) == 0
    return capsys.readouterr().out


async def stored(settings: Settings) -> list[dict]:  # type: ignore[type-arg]
    async with open_services(settings) as svc:
        rows = await svc.db.fetch_all(select(security_events).order_by(security_events.c.seq))
        return [dict(row._mapping) for row in rows]


def day(offset: int) -> str:
    return datetime.fromtimestamp(START + offset * DAY, UTC).isoformat()


async def test_export_csv_round_trips_through_the_csv_module(environment, monkeypatch, capsys):
    """Every field of every record comes back from Python's csv reader as it is stored."""
    await five_records(environment)
    rows = list(csv.DictReader(io.StringIO(await export(monkeypatch, capsys, "--format", "csv"))))
    expected = await stored(environment)
    assert len(rows) == 5
    for row, record in zip(rows, expected, strict=True):
        assert int(row["seq"]) == record["seq"] and float(row["at"]) == record["at"]
        for name in ("kind", "outcome", "username", "actor", "ip", "device", "detail", "prev_hash", "hash"):
            assert row[name] == (record[name] or ""), name
        assert row["time"].endswith("Z")


async def test_export_jsonl_round_trips_and_filters_by_time_and_user(environment, monkeypatch, capsys):
    """--since/--until pick a time range (until exclusive) and --user one account's records."""
    await five_records(environment)
    lines = (await export(monkeypatch, capsys, "--format", "jsonl")).splitlines()
    everything = [json.loads(line) for line in lines]
    expected = await stored(environment)
    assert [{k: r[k] for k in audit_store.AUDIT_FIELDS} for r in expected] == [
        {k: e[k] for k in audit_store.AUDIT_FIELDS} for e in everything
    ]
    window = await export(monkeypatch, capsys, "--format", "jsonl", "--since", day(1), "--until", day(3))
    assert [json.loads(line)["seq"] for line in window.splitlines()] == [2, 3]
    alice = await export(monkeypatch, capsys, "--format", "jsonl", "--user", "ALICE")
    assert [json.loads(line)["seq"] for line in alice.splitlines()] == [1, 2, 4]


async def test_export_refuses_a_date_it_cannot_read(environment, monkeypatch, capsys):
    """A malformed --since is a usage error that names the expected form, not a traceback."""
    with pytest.raises(SystemExit) as exit_info:
        await run(monkeypatch, "audit", "export", "--since", "yesterday")
    assert exit_info.value.code == 2
    assert "2026-12-01" in capsys.readouterr().err


async def test_a_flag_shows_in_user_list_and_user_show_until_cleared(environment, monkeypatch, capsys):
    """ "This wasn't me" flags the account: `user list` and `user show` say so; `user clear-flag` clears and records it."""
    await five_records(environment)
    async with open_services(environment) as svc:
        alice = await store.get_user_by_key(svc.db, "alice")
        await audit_store.set_flag(svc.db, alice.id, START)
    assert await run(monkeypatch, "user", "list") == 0
    listed = capsys.readouterr().out
    rows = {line.split()[0]: line for line in listed.splitlines()[1:]}
    assert "FLAGGED" in rows["alice"] and "FLAGGED" not in rows["bob"]
    assert await run(monkeypatch, "user", "show", "alice") == 0
    assert "FLAGGED:" in capsys.readouterr().out
    assert await run(monkeypatch, "user", "clear-flag", "alice") == 0
    assert "Flag cleared for alice." in capsys.readouterr().out
    assert await run(monkeypatch, "user", "list") == 0
    assert "FLAGGED" not in capsys.readouterr().out
    assert (await stored(environment))[-1]["kind"] == "admin.clear_flag"
