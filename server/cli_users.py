"""``run.py user …``: accounts from the command line, each action recorded as done by an administrator."""

import argparse
import getpass
import json
import sys
from typing import Any

from server import audit, audit_store, store
from server.cli_parsing import command, command_group
from server.cli_policy import when
from server.flows import account, admin_accounts, known_devices, remembered_browsers, two_factor
from server.flows.account import username_key
from server.messages import EVENTS, message
from server.services import Services, open_services
from server.settings import Settings

COMMANDS: dict[str, tuple[str, ...]] = {
    "add": (
        "create an account (the password is asked twice in a terminal, or read as one line from stdin)",
        "python run.py user add alice",
        "echo 'a long passphrase' | python run.py user add alice",
    ),
    "list": (
        "list the accounts: groups, 2FA, the policy's deadline, last sign-in, delays, sessions",
        "python run.py user list",
        "python run.py user list --json | jq '.[] | select(.requirement == \"overdue\")'",
    ),
    "show": (
        "show one account, its remembered browsers and its recent security activity",
        "python run.py user show alice",
    ),
    "disable": ("disable an account and end its sessions", "python run.py user disable alice"),
    "enable": ("enable a disabled account again", "python run.py user enable alice"),
    "set-password": (
        "set a new password (asked in a terminal, or one line of stdin); ends the account's sessions",
        "python run.py user set-password alice",
    ),
    "reset-2fa": (
        "turn 2FA off for someone who lost phone and backup code (under the policy: a fresh grace period)",
        "python run.py user reset-2fa alice",
    ),
    "unlock": ("clear the account's failed-attempt delays (passwords and codes)", "python run.py user unlock alice"),
    "signout": ("end every session and half-finished sign-in of the account", "python run.py user signout alice"),
    "clear-flag": (
        'clear the flag a person set with "This wasn\'t me" (after checking the account)',
        "python run.py user clear-flag alice",
    ),
}


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``user`` command group of run.py (``common``: the global flags)."""
    user = command_group(sub, "user", "manage accounts", common)
    for action, (text, *examples) in COMMANDS.items():
        parser = command(user, action, text, *examples, common=common, description=text[0].upper() + text[1:] + ".")
        if action == "list":
            parser.add_argument("--json", action="store_true", help="one JSON array, times in Unix seconds")
        else:
            parser.add_argument("name", help="the account's name (any letter case)")


def read_password(prompt: str) -> str:
    """The password: asked twice in a terminal, else one line of stdin (its line ending, \\n or \\r\\n, removed)."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Repeat: ") != first:
            raise SystemExit(message("setup.password_mismatch"))
        return first
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("No password on standard input: pipe one line, or run the command in a terminal.")
    return line.removesuffix("\n").removesuffix("\r")


def _report(problem: str | None, success: str) -> int:
    """Print the problem (a message key) to stderr and fail, or print what was done."""
    if problem:
        print(message(problem), file=sys.stderr)
        return 1
    print(success)
    return 0


async def run(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as svc:
        if args.action == "list":
            return await _list(svc, args.json)
        if args.action == "add":
            problem = await admin_accounts.add(svc, args.name, read_password(f"Password for {args.name}: "))
            return _report(problem, f"Created {args.name}.")
        user = await store.get_user_by_key(svc.db, username_key(args.name))
        if user is None:
            print(f"No account named {args.name}.", file=sys.stderr)
            return 1
        return await _act(svc, args.action, user)


async def _act(svc: Services, action: str, user: store.User) -> int:
    name = user.username
    if action == "show":
        print(await _describe(svc, user))
    elif action == "disable":
        await store.disable_user(svc.db, user.id, svc.clock())
        await audit.record(svc, "admin.user_disable", user=user)
        await known_devices.forget(svc, user)
        print(f"Disabled {name}; their sessions have ended.")
    elif action == "enable":
        changed = await admin_accounts.enable(svc, user)
        print(f"Enabled {name}." if changed else f"{name} was not disabled.")
    elif action == "set-password":
        problem = await account.set_password(svc, user, read_password(f"New password for {name}: "))
        if not problem:
            await audit.record(svc, "admin.set_password", user=user)
        return _report(problem, f"Password changed for {name}.")
    elif action == "reset-2fa":
        changed = await two_factor.admin_reset(svc, user)
        print(f"Two-factor authentication {'turned off' if changed else 'was already off'} for {name}.")
    elif action == "unlock":
        cleared = await admin_accounts.unlock(svc, user)
        print(f"Failed-attempt delays cleared for {name}." if cleared else f"{name} had no failed attempts to clear.")
    elif action == "signout":
        ended, pending = await admin_accounts.sign_out_everywhere(svc, user)
        print(f"Signed out {name}: {ended} session(s) and {pending} half-finished sign-in(s) ended.")
    else:  # clear-flag
        await audit_store.set_flag(svc.db, user.id, None)
        await audit.record(svc, "admin.clear_flag", user=user)
        print(f"Flag cleared for {name}.")
    return 0


def _moment(at: float | None, none: str = "-") -> str:
    return none if at is None else when(at)


def _columns(view: admin_accounts.AccountView) -> list[str]:
    state = f"disabled {_moment(view.disabled_at)}" if view.disabled_at else "active"
    if view.flagged_at:
        state += ", FLAGGED"
    deadline = {
        "met": "met",
        "due": f"by {_moment(view.deadline)}",
        "overdue": f"OVERDUE since {_moment(view.deadline)}",
    }
    return [
        view.username,
        ",".join(view.groups) or "-",
        state,
        f"on since {_moment(view.two_factor_since)}" if view.two_factor else "off",
        ",".join(view.required_by) or "-",
        deadline.get(view.requirement, "-"),
        _moment(view.last_signin, "never"),
        _moment(view.locked_until),
        str(view.live_sessions),
    ]


HEADINGS = ["NAME", "GROUPS", "STATE", "2FA", "REQUIRED BY", "DEADLINE", "LAST SIGN-IN", "LOCKED UNTIL", "SESSIONS"]


async def _list(svc: Services, as_json: bool) -> int:
    views = await admin_accounts.overview(svc)
    if as_json:
        print(json.dumps([view.as_json() for view in views], indent=1))
        return 0
    rows = [HEADINGS, *(_columns(view) for view in views)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADINGS))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


async def _browsers(svc: Services, user: store.User) -> list[str]:
    """The account's remembered browsers: how many, then one a line (the person forgets them on Profile)."""
    browsers = await remembered_browsers.listed(svc, user)
    lines = [f"Browsers:      {len(browsers)} remembered"]
    for b in browsers:
        lines.append(f"  {b.label}  (id {b.id}, since {when(b.remembered_at)}, last used {when(b.last_used_at)})")
    return lines


async def _describe(svc: Services, user: store.User) -> str:
    """``user show``: the account, one fact a line, then its recent security activity."""
    (view,) = await admin_accounts.overview(svc, user)
    cells = dict(zip(HEADINGS, _columns(view), strict=True))
    lines = [
        f"Username:      {view.username}",
        f"Created:       {when(view.created_at)}",
        f"State:         {cells['STATE']}",
        f"Groups:        {cells['GROUPS']}",
        f"Two-factor:    {cells['2FA']}",
        f"Required by:   {cells['REQUIRED BY']}",
        f"Deadline:      {cells['DEADLINE']}",
        f"Last sign-in:  {cells['LAST SIGN-IN']}",
        f"Locked until:  {cells['LOCKED UNTIL']}",
        f"Sessions:      {cells['SESSIONS']}",
        *await _browsers(svc, user),
    ]
    if view.flagged_at:
        lines.append(f"FLAGGED:       reported a security notice as not theirs at {when(view.flagged_at)}")
        lines.append(
            f"               check `run.py audit export --user {view.username}`, then `run.py user clear-flag`"
        )
    lines.append("Recent security activity:")
    for event in await admin_accounts.recent_activity(svc, user):
        lines.append(f"  {when(event.at)}  {EVENTS.get(event.kind, event.kind)}  ({event.ip}, {event.device})")
    return "\n".join(lines)
