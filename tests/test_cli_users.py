"""``run.py user …`` as an administrator expects it: the overview, one account, enable, unlock, sign out;
passwords on stdin, bad keys and bad input answered with one clear line; every command's --help."""

import json

import pytest
from sqlalchemy import update

from server import audit, cli, device_store, store
from server.auth.crypto import new_key_text
from server.auth.throttle import Policy
from server.services import open_services
from server.settings import Settings
from server.tables import users
from tests.utils import PASSWORD
from tests.utils import run_cli as run


async def add(monkeypatch, *names: str) -> None:
    for name in names:
        assert await run(monkeypatch, "user", "add", name, stdin=PASSWORD + "\n") == 0


async def listed(monkeypatch, capsys) -> dict[str, dict]:
    capsys.readouterr()
    assert await run(monkeypatch, "user", "list", "--json") == 0
    return {row["username"]: row for row in json.loads(capsys.readouterr().out)}


async def kinds(settings: Settings, name: str) -> list[str]:
    async with open_services(settings) as svc:
        user = await store.get_user_by_key(svc.db, name)
        return [e.kind for e in await store.recent_events(svc.db, user.id, 50)]


async def with_session_and_failures(settings: Settings, name: str) -> float:
    """A completed sign-in with a live session, and enough wrong passwords to delay the next; returns now."""
    async with open_services(settings) as svc:
        user = await store.get_user_by_key(svc.db, name)
        now = svc.clock()
        await store.create_session(svc.db, store.NewSession("h" * 64, user.id, now, now + 3600, "Firefox", "192.0.2.1"))
        await audit.record(svc, "signin", user=user)
        for _ in range(8):
            await store.claim_attempt(svc.db, f"password:account:{name}", now, Policy(5, 60.0, 300.0))
        return now


async def remembered_browser(settings: Settings, name: str) -> int:
    """The account remembers one browser ("Firefox 121 on Linux", for an hour); its device id."""
    async with open_services(settings) as svc:
        user = await store.get_user_by_key(svc.db, name)
        now = svc.clock()
        return await device_store.remember(svc.db, user.id, "d" * 64, "Firefox 121 on Linux", now, now + 3600)


async def test_user_list_json_has_every_column(environment, monkeypatch, capsys):
    """Groups, state, 2FA with date, required-by with deadline, last sign-in, delays and live sessions per account."""
    await add(monkeypatch, "alice", "bob")
    await run(monkeypatch, "group", "add", "control-room", "alice")
    await run(monkeypatch, "policy", "require-2fa", "--groups", "control-room", "--grace-days", "7")
    async with open_services(environment) as svc:
        await svc.db.execute(
            update(users).where(users.c.username_key == "bob").values(totp_secret_sealed="x", totp_enabled_at=5.0)
        )
    now = await with_session_and_failures(environment, "alice")
    rows = await listed(monkeypatch, capsys)
    alice, bob = rows["alice"], rows["bob"]
    assert alice["groups"] == ["control-room"] and alice["disabled_at"] is None
    assert alice["two_factor"] is False and alice["requirement"] == "due"
    assert alice["required_by"] == ["control-room"] and alice["deadline"] > now + 6.9 * 86400
    assert alice["last_signin"] is not None and alice["locked_until"] > now and alice["live_sessions"] == 1
    assert bob["two_factor"] is True and bob["two_factor_since"] == 5.0
    assert bob["requirement"] == "not_required" and bob["required_by"] == [] and bob["deadline"] is None
    assert bob["last_signin"] is None and bob["locked_until"] is None and bob["live_sessions"] == 0


async def test_user_list_table(environment, monkeypatch, capsys):
    """The table has a header and one aligned line per account, with the deadline spelled out."""
    await add(monkeypatch, "alice")
    await run(monkeypatch, "policy", "require-2fa", "--all", "--grace-until", "2099-12-15")
    capsys.readouterr()
    assert await run(monkeypatch, "user", "list") == 0
    header, alice = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["NAME", "GROUPS", "STATE"] and "LOCKED UNTIL" in header
    assert alice.startswith("alice ") and "everyone" in alice and "by 2099-12-16 00:00 UTC" in alice
    assert alice.split()[-1] == "0" and "never" in alice


async def test_user_show_with_recent_activity(environment, monkeypatch, capsys):
    """``user show`` prints the account's facts and its recent security activity by name."""
    await add(monkeypatch, "alice")
    await run(monkeypatch, "group", "add", "ops", "alice")
    capsys.readouterr()
    assert await run(monkeypatch, "user", "show", "ALICE") == 0
    shown = capsys.readouterr().out
    assert "Username:      alice" in shown and "Groups:        ops" in shown and "Two-factor:    off" in shown
    assert "Recent security activity:" in shown
    assert "Added to a group by an administrator" in shown and "Account created by an administrator" in shown


async def test_user_show_lists_the_remembered_browsers(environment, monkeypatch, capsys):
    """``user show`` counts the account's remembered browsers and lists each with its label and times."""
    await add(monkeypatch, "alice")
    await remembered_browser(environment, "alice")
    capsys.readouterr()
    assert await run(monkeypatch, "user", "show", "alice") == 0
    shown = capsys.readouterr().out
    assert "Browsers:      1 remembered" in shown
    assert "  Firefox 121 on Linux  (id " in shown and "last used " in shown and "d" * 64 not in shown


async def test_user_enable_undoes_disable(environment, monkeypatch, capsys):
    """``user enable`` lets a disabled account sign in again, and says when there was nothing to do."""
    await add(monkeypatch, "alice")
    await run(monkeypatch, "user", "disable", "alice")
    capsys.readouterr()
    assert await run(monkeypatch, "user", "enable", "alice") == 0
    assert "Enabled alice." in capsys.readouterr().out
    assert (await listed(monkeypatch, capsys))["alice"]["disabled_at"] is None
    assert await run(monkeypatch, "user", "enable", "alice") == 0
    assert "alice was not disabled." in capsys.readouterr().out
    assert (await kinds(environment, "alice"))[0] == "admin.user_enable"


async def test_user_unlock_clears_the_delays(environment, monkeypatch, capsys):
    """``user unlock`` ends the failed-attempt delay of the account at once."""
    await add(monkeypatch, "alice")
    await with_session_and_failures(environment, "alice")
    assert (await listed(monkeypatch, capsys))["alice"]["locked_until"] is not None
    assert await run(monkeypatch, "user", "unlock", "alice") == 0
    assert "Failed-attempt delays cleared for alice." in capsys.readouterr().out
    assert (await listed(monkeypatch, capsys))["alice"]["locked_until"] is None
    assert (await kinds(environment, "alice"))[0] == "admin.user_unlock"


async def test_user_signout_ends_every_session(environment, monkeypatch, capsys):
    """``user signout`` ends the sessions and half-finished sign-ins of the account."""
    await add(monkeypatch, "alice")
    await with_session_and_failures(environment, "alice")
    async with open_services(environment) as svc:
        alice = await store.get_user_by_key(svc.db, "alice")
        now = svc.clock()
        await store.create_pending_signin(svc.db, "p" * 64, alice.id, now, now + 300, "Firefox", "192.0.2.1")
    capsys.readouterr()
    assert await run(monkeypatch, "user", "signout", "alice") == 0
    assert "1 session(s) and 1 half-finished sign-in(s) ended" in capsys.readouterr().out
    async with open_services(environment) as svc:
        assert await store.signed_in(svc.db, "h" * 64, svc.clock(), 1800) is None
        assert await store.get_pending_signin(svc.db, "p" * 64, svc.clock(), 5) is None
    assert (await kinds(environment, "alice"))[0] == "admin.user_signout"


@pytest.mark.parametrize("action", ["show", "enable", "unlock", "signout", "clear-flag"])
async def test_unknown_user(environment, monkeypatch, capsys, action):
    """Every account command names an unknown account in one line and exits 1."""
    assert await run(monkeypatch, "user", action, "nobody") == 1
    err = capsys.readouterr().err
    assert err.strip() == "No account named nobody."


async def test_a_password_piped_from_windows_loses_its_carriage_return(environment, monkeypatch):
    """``\\r\\n`` ends the line; the \\r is not part of the password."""
    assert await run(monkeypatch, "user", "add", "alice", stdin=PASSWORD + "\r\n") == 0
    async with open_services(environment) as svc:
        alice = await store.get_user_by_key(svc.db, "alice")
        assert (await svc.hasher.verify(alice.password_hash, PASSWORD))[0]


@pytest.mark.parametrize("action", ["add", "set-password"])
async def test_empty_stdin_says_so(environment, monkeypatch, capsys, action):
    """No line on stdin is not an empty password: one clear line, non-zero exit, nothing changes."""
    if action == "set-password":
        await add(monkeypatch, "alice")
    with pytest.raises(SystemExit) as stopped:
        await run(monkeypatch, "user", action, "alice", stdin="")
    assert "No password on standard input" in str(stopped.value.code)


@pytest.mark.parametrize("keys", ["garbage", "c2hvcnQ", ","])
async def test_bad_totp_keys_are_one_line(environment, monkeypatch, capsys, keys):
    """A malformed MIROX_TOTP_KEYS stops any command with one line naming it, exit 2, no traceback."""
    monkeypatch.setenv("MIROX_TOTP_KEYS", keys)
    assert await run(monkeypatch, "user", "list") == 2
    err = capsys.readouterr().err
    assert err.startswith("Configuration error: MIROX_TOTP_KEYS") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


async def test_keys_rotate_without_the_old_key(environment, monkeypatch, capsys):
    """Rotating with only a new key cannot open the stored secrets: one line saying what to do, exit 1."""
    async with open_services(environment) as svc:
        alice_added = await svc.db.execute(
            users.insert().values(
                username="alice",
                username_key="alice",
                password_hash="x",
                created_at=1.0,
                totp_secret_sealed=svc.keyring.seal("JBSWY3DPEHPK3PXP", "totp:user:1"),
            )
        )
        assert alice_added
    monkeypatch.setenv("MIROX_TOTP_KEYS", new_key_text())
    assert await run(monkeypatch, "keys", "rotate") == 1
    err = capsys.readouterr().err
    assert err.startswith("Cannot re-encrypt") and "MIROX_TOTP_KEYS=NEW,OLD" in err and len(err.splitlines()) == 1


def commands(parser) -> list[tuple[list[str], object]]:
    """Every leaf command of run.py with its parser."""
    import argparse

    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = commands(sub)
                found += [([name, *path], p) for path, p in inner] or [([name], sub)]
    return found


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in commands(cli.parser())])
def test_every_command_has_help_with_an_example(path, capsys):
    """``run.py … --help`` explains each command and shows an example of it."""
    with pytest.raises(SystemExit) as stopped:
        cli.main([*path.split(), "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and f"python run.py {path}" in out


async def test_user_unlock_clears_a_remembered_browsers_delay_too(environment, monkeypatch, capsys):
    """A browser that signed in before counts its failures on its own counter: ``unlock`` clears that one too."""
    await add(monkeypatch, "alice")
    device = await remembered_browser(environment, "alice")
    async with open_services(environment) as svc:
        now = svc.clock()
        for _ in range(8):
            await store.claim_attempt(svc.db, f"password:device:{device}", now, Policy(5, 60.0, 300.0))
    assert (await listed(monkeypatch, capsys))["alice"]["locked_until"] is not None
    assert await run(monkeypatch, "user", "unlock", "alice") == 0
    assert (await listed(monkeypatch, capsys))["alice"]["locked_until"] is None
