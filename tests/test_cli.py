"""The command line: user administration and schema upgrades, configured by MIROX_* variables."""

import pytest
from sqlalchemy import update

from server import store
from server.messages import message
from server.services import open_services
from server.settings import Settings
from server.tables import users
from tests.utils import PASSWORD
from tests.utils import run_cli as run


async def user(settings: Settings, name: str) -> store.User | None:
    async with open_services(settings) as svc:
        return await store.get_user_by_key(svc.db, name)


async def password_ok(settings: Settings, name: str, password: str) -> bool:
    async with open_services(settings) as svc:
        account = await store.get_user_by_key(svc.db, name)
        ok, _ = await svc.hasher.verify(account.password_hash if account else None, password)
        return ok


async def test_user_add_creates_an_account(environment, monkeypatch, capsys):
    """``user add NAME`` reads the password from stdin and creates the account."""
    assert await run(monkeypatch, "user", "add", "alice", stdin=PASSWORD + "\n") == 0
    assert "Created alice." in capsys.readouterr().out
    assert await password_ok(environment, "alice", PASSWORD)


async def test_user_add_twice_fails(environment, monkeypatch, capsys):
    """A name that is taken (in any letter case) is refused with the message for it."""
    assert await run(monkeypatch, "user", "add", "alice", stdin=PASSWORD + "\n") == 0
    capsys.readouterr()
    assert await run(monkeypatch, "user", "add", "ALICE", stdin="another password\n") == 1
    assert message("setup.taken") in capsys.readouterr().err
    assert await password_ok(environment, "alice", PASSWORD)


@pytest.mark.parametrize(
    ("name", "password", "key"),
    [
        ("bob", "short\n", "setup.password_short"),
        ("bob", "\n", "setup.password_short"),
        ("b o b", PASSWORD, "setup.username"),
    ],
)
async def test_user_add_rejects_weak_passwords_and_bad_names(environment, monkeypatch, capsys, name, password, key):
    """A short password or an invalid name creates nothing and says why."""
    assert await run(monkeypatch, "user", "add", name, stdin=password) == 1
    assert message(key) in capsys.readouterr().err
    async with open_services(environment) as svc:
        assert not await store.any_users(svc.db)


async def test_user_list(environment, monkeypatch, capsys):
    """``user list`` shows every account with its state."""
    for name in ("bob", "alice", "carol"):
        assert await run(monkeypatch, "user", "add", name, stdin=PASSWORD + "\n") == 0
    await run(monkeypatch, "user", "disable", "carol")
    async with open_services(environment) as svc:
        await svc.db.execute(update(users).where(users.c.username_key == "bob").values(totp_secret_sealed="x"))
    capsys.readouterr()
    assert await run(monkeypatch, "user", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "GROUPS", "STATE"]
    rows = [line.split() for line in lines[1:]]
    assert [(row[0], row[2]) for row in rows] == [("alice", "active"), ("bob", "active"), ("carol", "disabled")]
    assert [row[3] for row in rows[:2]] == ["off", "on"]


async def test_user_disable_ends_sessions(environment, monkeypatch, capsys):
    """``user disable`` marks the account disabled and removes its sessions."""
    await run(monkeypatch, "user", "add", "alice", stdin=PASSWORD + "\n")
    async with open_services(environment) as svc:
        alice = await store.get_user_by_key(svc.db, "alice")
        now = svc.clock()
        await store.create_session(
            svc.db, store.NewSession("h" * 64, alice.id, now, now + 3600, "Firefox", "192.0.2.1")
        )
    assert await run(monkeypatch, "user", "disable", "alice") == 0
    assert "Disabled alice" in capsys.readouterr().out
    async with open_services(environment) as svc:
        alice = await store.get_user_by_key(svc.db, "alice")
        assert alice.disabled_at is not None
        assert await store.signed_in(svc.db, "h" * 64, svc.clock(), 1800) is None


async def test_user_set_password(environment, monkeypatch, capsys):
    """``user set-password`` replaces the password; a weak one is refused and changes nothing."""
    await run(monkeypatch, "user", "add", "alice", stdin=PASSWORD + "\n")
    assert await run(monkeypatch, "user", "set-password", "alice", stdin="too short\n") == 1
    assert message("setup.password_short") in capsys.readouterr().err
    assert await password_ok(environment, "alice", PASSWORD)
    assert await run(monkeypatch, "user", "set-password", "alice", stdin="a brand new passphrase\n") == 0
    assert "Password changed for alice." in capsys.readouterr().out
    assert await password_ok(environment, "alice", "a brand new passphrase")
    assert not await password_ok(environment, "alice", PASSWORD)


async def test_user_reset_2fa_turns_it_off_and_records_it(environment, monkeypatch, capsys):
    """``user reset-2fa`` turns two-factor off and leaves an event in the account's activity."""
    await run(monkeypatch, "user", "add", "alice", stdin=PASSWORD + "\n")
    async with open_services(environment) as svc:
        await svc.db.execute(
            update(users).values(
                totp_secret_sealed="sealed", totp_enabled_at=1.0, backup_code_hash="h", totp_last_step=9
            )
        )
    assert await run(monkeypatch, "user", "reset-2fa", "alice") == 0
    assert "turned off" in capsys.readouterr().out
    async with open_services(environment) as svc:
        alice = await store.get_user_by_key(svc.db, "alice")
        assert not alice.two_factor_on
        assert alice.backup_code_hash is None and alice.totp_last_step is None
        assert [e.kind for e in await store.recent_events(svc.db, alice.id)] == ["2fa.reset_by_admin", "admin.user_add"]
    assert await run(monkeypatch, "user", "reset-2fa", "alice") == 0
    assert "was already off" in capsys.readouterr().out


@pytest.mark.parametrize("action", ["disable", "set-password", "reset-2fa"])
async def test_unknown_user_is_reported(environment, monkeypatch, capsys, action):
    """Acting on a name that does not exist fails with a clear message."""
    assert await run(monkeypatch, "user", action, "nobody", stdin=PASSWORD + "\n") == 1
    assert "No account named nobody." in capsys.readouterr().err


async def test_db_upgrade_reports_the_version(environment, monkeypatch, capsys):
    """``db upgrade`` creates the schema and prints its version."""
    from server.migrations import LATEST

    assert await run(monkeypatch, "db", "upgrade") == 0
    assert f"Schema is at version {LATEST}." in capsys.readouterr().out
    assert await run(monkeypatch, "db", "upgrade") == 0


async def test_configuration_error_names_the_variable(environment, monkeypatch, capsys):
    """A bad MIROX_* value stops the command with exit code 2 and names the variable."""
    monkeypatch.setenv("MIROX_PORT", "eighty")
    assert await run(monkeypatch, "user", "list") == 2
    assert "MIROX_PORT" in capsys.readouterr().err


async def test_keys_new_prints_a_usable_key(environment, monkeypatch, capsys):
    """``keys new`` prints a key that the app accepts as MIROX_TOTP_KEYS."""
    assert await run(monkeypatch, "keys", "new") == 0
    key = capsys.readouterr().out.strip()
    monkeypatch.setenv("MIROX_TOTP_KEYS", key)
    assert await run(monkeypatch, "user", "list") == 0
