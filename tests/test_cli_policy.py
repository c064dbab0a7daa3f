"""``run.py group …`` and ``run.py policy …``: who must use 2FA and by when, as the app then sees it."""

import dataclasses

import pytest
from sqlalchemy import update

from server import store
from server.auth.policy import DAY, DEFAULT_GRACE_DAYS, Requirement
from server.flows import policy
from server.services import open_services
from server.settings import Settings
from server.tables import users
from tests.utils import PASSWORD
from tests.utils import run_cli as run


async def add_accounts(monkeypatch, *names: str) -> None:
    for name in names:
        assert await run(monkeypatch, "user", "add", name, stdin=PASSWORD + "\n") == 0


async def standing_of(settings: Settings, name: str, *, later: float = 0.0):
    """The account's standing, ``later`` seconds from now."""
    async with open_services(settings) as svc:
        user = await store.get_user_by_key(svc.db, name)
        assert user is not None
        now = svc.clock()
        return await policy.standing(dataclasses.replace(svc, clock=lambda: now + later), user)


async def kinds(settings: Settings, name: str) -> list[str]:
    async with open_services(settings) as svc:
        user = await store.get_user_by_key(svc.db, name)
        return [e.kind for e in await store.recent_events(svc.db, user.id, 50)]


async def test_group_add_list_remove(environment, monkeypatch, capsys):
    """Groups are made by adding members; ``list`` shows them; removing the last member deletes the group."""
    await add_accounts(monkeypatch, "alice", "bob")
    assert await run(monkeypatch, "group", "add", "control-room", "alice", "BOB") == 0
    assert "Added to control-room: alice, bob." in capsys.readouterr().out
    assert await run(monkeypatch, "group", "add", "control-room", "alice") == 0
    assert "nobody new" in capsys.readouterr().out
    assert await run(monkeypatch, "group", "list") == 0
    assert capsys.readouterr().out.splitlines() == ["control-room: alice, bob"]
    assert await run(monkeypatch, "group", "remove", "Control-Room", "alice", "bob") == 0
    assert "Removed from control-room: alice, bob." in capsys.readouterr().out
    assert await run(monkeypatch, "group", "list") == 0
    assert "No groups yet" in capsys.readouterr().out
    assert "admin.group_add" in await kinds(environment, "alice")
    assert "admin.group_remove" in await kinds(environment, "alice")


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (("group", "add", "control-room", "alice", "nobody"), "No account named nobody."),
        (("group", "add", "control room", "alice"), "is not a group name"),
        (("group", "remove", "nowhere", "alice"), "No group named nowhere."),
        (("policy", "require-2fa", "--groups", "nowhere"), "No group named nowhere."),
    ],
)
async def test_unknown_users_and_groups_change_nothing(environment, monkeypatch, capsys, argv, error):
    """An unknown account or group fails with one clear line on stderr, exit 1, and changes nothing."""
    await add_accounts(monkeypatch, "alice")
    capsys.readouterr()
    assert await run(monkeypatch, *argv) == 1
    captured = capsys.readouterr()
    assert error in captured.err and "Traceback" not in captured.err
    assert await run(monkeypatch, "group", "list") == 0
    assert "No groups yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ("policy", "require-2fa"),
        ("policy", "require-2fa", "--all", "--groups", "x"),
        ("policy", "require-2fa", "--all", "--grace-days", "seven"),
        ("policy", "require-2fa", "--all", "--grace-days", "-1"),
        ("policy", "require-2fa", "--all", "--grace-until", "2026-02-30"),
        ("policy", "require-2fa", "--all", "--grace-days", "3", "--grace-until", "2099-01-01"),
        ("policy", "require-2fa", "--groups", ","),
    ],
)
async def test_bad_policy_arguments_are_usage_errors(environment, monkeypatch, capsys, argv):
    """Missing whom, both whoms, bad numbers and impossible dates: argparse's usage error (exit 2), no change."""
    with pytest.raises(SystemExit) as stopped:
        await run(monkeypatch, *argv)
    assert stopped.value.code == 2
    assert "usage:" in capsys.readouterr().err
    assert await run(monkeypatch, "policy", "show") == 0
    assert "required of nobody" in capsys.readouterr().out


async def test_a_grace_date_in_the_past_is_refused(environment, monkeypatch, capsys):
    """A past date would confine everyone at once: refused, with what to use if that is meant."""
    assert await run(monkeypatch, "policy", "require-2fa", "--all", "--grace-until", "2001-01-01") == 1
    assert "--grace-days 0" in capsys.readouterr().err


async def test_policy_for_a_group_reaches_its_members_only(environment, monkeypatch, capsys):
    """``require-2fa --groups`` makes members due within the grace period, records it, and leaves others alone."""
    await add_accounts(monkeypatch, "alice", "bob")
    await run(monkeypatch, "group", "add", "control-room", "alice")
    assert await run(monkeypatch, "policy", "require-2fa", "--groups", "control-room", "--grace-days", "7") == 0
    assert "Reached 1 account(s) now" in capsys.readouterr().out
    alice = await standing_of(environment, "alice")
    assert alice.requirement is Requirement.DUE
    assert (await standing_of(environment, "bob")).requirement is Requirement.NOT_REQUIRED
    assert (await standing_of(environment, "alice", later=7 * DAY)).requirement is Requirement.OVERDUE
    assert "policy.applied" in await kinds(environment, "alice")
    assert await run(monkeypatch, "policy", "show") == 0
    shown = capsys.readouterr().out
    assert "required of the groups control-room" in shown and "7 day(s)" in shown and "covers: 1" in shown
    assert await run(monkeypatch, "group", "list") == 0
    assert "control-room (named by the two-factor policy): alice" in capsys.readouterr().out


async def test_joining_a_group_under_the_policy_starts_the_grace_period(environment, monkeypatch):
    """A member added later is reached when added; one taken out is no longer required (both recorded)."""
    await add_accounts(monkeypatch, "alice", "bob")
    await run(monkeypatch, "group", "add", "control-room", "alice")
    await run(monkeypatch, "policy", "require-2fa", "--groups", "control-room")
    await run(monkeypatch, "group", "add", "control-room", "bob")
    assert (await standing_of(environment, "bob")).requirement is Requirement.DUE
    await run(monkeypatch, "group", "remove", "control-room", "bob")
    assert (await standing_of(environment, "bob")).requirement is Requirement.NOT_REQUIRED
    assert (await kinds(environment, "bob"))[:2] == ["policy.lifted", "admin.group_remove"]


async def test_a_changed_grace_period_applies_at_once(environment, monkeypatch):
    """Changing the grace period moves every covered account's deadline (no stale copy per account)."""
    await add_accounts(monkeypatch, "alice")
    await run(monkeypatch, "policy", "require-2fa", "--all", "--grace-days", "30")
    assert (await standing_of(environment, "alice", later=2 * DAY)).requirement is Requirement.DUE
    await run(monkeypatch, "policy", "require-2fa", "--all", "--grace-days", "1")
    assert (await standing_of(environment, "alice", later=2 * DAY)).requirement is Requirement.OVERDUE


async def test_default_grace_and_a_fixed_date(environment, monkeypatch):
    """No grace flag gives the default days; ``--grace-until DATE`` ends after that whole day (UTC)."""
    await add_accounts(monkeypatch, "alice")
    await run(monkeypatch, "policy", "require-2fa", "--all")
    first = await standing_of(environment, "alice")
    assert first.requirement is Requirement.DUE
    assert first.deadline is not None
    await run(monkeypatch, "policy", "require-2fa", "--all", "--grace-until", "2099-12-15")
    assert (await standing_of(environment, "alice")).deadline == 4_101_062_400.0  # 2099-12-16T00:00Z
    assert DEFAULT_GRACE_DAYS == 7


async def test_policy_off_lifts_it(environment, monkeypatch, capsys):
    """``policy off`` requires nobody again, at once; turning it back on starts a new grace period."""
    await add_accounts(monkeypatch, "alice")
    await run(monkeypatch, "policy", "require-2fa", "--all", "--grace-days", "0")
    assert (await standing_of(environment, "alice")).confined
    assert await run(monkeypatch, "policy", "off") == 0
    assert "lifted from 1 account(s)" in capsys.readouterr().out
    assert (await standing_of(environment, "alice")).requirement is Requirement.NOT_REQUIRED


async def test_an_account_with_two_factor_meets_the_policy_when_reached(environment, monkeypatch):
    """An account that has 2FA on is required but met; both moments are in its activity."""
    await add_accounts(monkeypatch, "alice")
    async with open_services(environment) as svc:
        await svc.db.execute(update(users).values(totp_secret_sealed="sealed", totp_enabled_at=1.0))
    await run(monkeypatch, "policy", "require-2fa", "--all", "--grace-days", "0")
    assert (await standing_of(environment, "alice")).requirement is Requirement.MET
    assert (await kinds(environment, "alice"))[:2] == ["policy.met", "policy.applied"]


async def test_an_account_created_under_the_policy_is_reached(environment, monkeypatch):
    """An account made after ``require-2fa --all`` is covered too, its grace period counted from its creation."""
    await run(monkeypatch, "policy", "require-2fa", "--all", "--grace-days", "2")
    await add_accounts(monkeypatch, "carol")
    assert (await standing_of(environment, "carol", later=DAY)).requirement is Requirement.DUE
    assert "policy.applied" in await kinds(environment, "carol")


async def test_global_flags_after_the_command(environment, monkeypatch, capsys, tmp_path):
    """``--data-dir`` and the other global flags are accepted after the subcommand too."""
    monkeypatch.delenv("MIROX_DATABASE_URL")
    data = tmp_path / "elsewhere"
    assert await run(monkeypatch, "user", "add", "alice", "--data-dir", str(data), stdin=PASSWORD + "\n") == 0
    assert await run(monkeypatch, "group", "add", "ops", "alice", "--data-dir", str(data)) == 0
    assert await run(monkeypatch, "--data-dir", str(data), "group", "list") == 0
    assert "ops: alice" in capsys.readouterr().out
    assert (data / "mirox.sqlite3").exists()
