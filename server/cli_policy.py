"""``run.py group add|remove|list`` and ``run.py policy show|require-2fa|off``: who must use 2FA, and by when."""

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from server.auth.policy import DEFAULT_GRACE_DAYS, Scope
from server.cli_parsing import command, command_group, moment
from server.flows import admin
from server.services import open_services
from server.settings import Settings


def when(at: float) -> str:
    """A moment as an administrator reads it: UTC, to the minute."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def deadline(text: str) -> float:
    """``--grace-until``: an ISO 8601 date-time (UTC unless it says otherwise); a date alone means the end of that day."""
    at = moment(text)
    if len(text.strip()) == 10:  # a date alone: "by the 15th" includes the 15th
        at += timedelta(days=1).total_seconds()
    return at


def days(text: str) -> float:
    """``--grace-days``: a number of days, 0 to 3650 (fractions allowed: 0.5 is 12 hours)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3650:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 0 to 3650")
    return value


def group_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one group, e.g. --groups control-room,maintenance")
    return names


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``group`` and ``policy`` command groups of run.py (``common``: the global flags)."""
    group = command_group(sub, "group", "groups of accounts (the policy can name them)", common)
    add = command(
        group,
        "add",
        "put accounts in a group (created when new)",
        "python run.py group add control-room alice bob",
        common=common,
        description="Put accounts in a group; the group is created when it does not exist yet.",
    )
    remove = command(
        group,
        "remove",
        "take accounts out of a group",
        "python run.py group remove control-room bob",
        common=common,
        description="Take accounts out of a group. A group left empty is deleted unless the policy names it.",
    )
    for membership in (add, remove):
        membership.add_argument("group", help="the group's name, e.g. control-room")
        membership.add_argument("users", nargs="+", metavar="USER", help="account names")
    command(group, "list", "list the groups and their members", "python run.py group list", common=common)

    policy = command_group(sub, "policy", "whether two-factor authentication is required, of whom, by when", common)
    command(policy, "show", "show the two-factor policy", "python run.py policy show", common=common)
    require = command(
        policy,
        "require-2fa",
        "require two-factor authentication of everyone or of groups",
        "python run.py policy require-2fa --groups control-room --grace-days 7",
        "python run.py policy require-2fa --all --grace-until 2026-12-15",
        common=common,
        description=(
            "Require two-factor authentication. During the grace period every page shows a banner;"
            " after it the account can only set up 2FA, read the help and sign out."
            f" Without --grace-days or --grace-until the grace period is {DEFAULT_GRACE_DAYS:g} days."
        ),
    )
    whom = require.add_mutually_exclusive_group(required=True)
    whom.add_argument("--all", action="store_true", help="every account")
    whom.add_argument("--groups", type=group_names, help="comma-separated groups, e.g. control-room,maintenance")
    grace = require.add_mutually_exclusive_group()
    grace.add_argument(
        "--grace-days", type=days, help="days from when the policy reaches an account (joins a group, …)"
    )
    grace.add_argument(
        "--grace-until", type=deadline, help="a fixed end, e.g. 2026-12-15 (the whole day) or 2026-12-15T06:00Z"
    )
    command(
        policy,
        "off",
        "require two-factor authentication of nobody (each person chooses)",
        "python run.py policy off",
        common=common,
    )


def describe_grace(grace_days: float | None, grace_until: float | None) -> str:
    if grace_until is not None:
        return f"until {when(grace_until)}"
    return (
        f"{DEFAULT_GRACE_DAYS if grace_days is None else grace_days:g} day(s) from when the policy reaches an account"
    )


async def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        async with open_services(settings) as svc:
            if args.command == "group":
                return await _group(svc, args)
            return await _policy(svc, args)
    except admin.Refused as exc:
        print(exc, file=sys.stderr)
        return 1


async def _group(svc: Any, args: argparse.Namespace) -> int:
    if args.action == "list":
        listings = await admin.list_groups(svc)
        if not listings:
            print("No groups yet. Create one with: run.py group add GROUP USER…")
        for listing in listings:
            named = " (named by the two-factor policy)" if listing.in_policy else ""
            print(f"{listing.name}{named}: {', '.join(listing.members) or '(no members)'}")
        return 0
    if args.action == "add":
        name, added = await admin.add_to_group(svc, args.group, args.users)
        print(f"Added to {name}: {', '.join(added) or 'nobody new (all were members already)'}.")
        return 0
    name, removed = await admin.remove_from_group(svc, args.group, args.users)
    print(f"Removed from {name}: {', '.join(removed) or 'nobody (none were members)'}.")
    return 0


async def _policy(svc: Any, args: argparse.Namespace) -> int:
    if args.action == "show":
        view = await admin.show_policy(svc)
        scope = Scope(view.row.scope)
        if scope is Scope.NOBODY:
            print("Two-factor authentication is required of nobody: each person chooses.")
            return 0
        whom = "everyone" if scope is Scope.EVERYONE else "the groups " + ", ".join(view.groups)
        print(f"Two-factor authentication is required of {whom}.")
        print(f"Grace period: {describe_grace(view.row.grace_days, view.row.grace_until)}.")
        print(f"Accounts it covers: {view.covered}, of which {view.met} have two-factor authentication on.")
        print(f"Set at {when(view.row.changed_at)}. See each account with: run.py user list")
        return 0
    if args.action == "off":
        _, lifted = await admin.set_policy(svc, Scope.NOBODY)
        print(f"Two-factor authentication is now required of nobody (lifted from {lifted} account(s)).")
        return 0
    scope = Scope.EVERYONE if args.all else Scope.GROUPS
    reached, lifted = await admin.set_policy(
        svc, scope, groups=args.groups or (), grace_days=args.grace_days, grace_until=args.grace_until
    )
    whom = "everyone" if args.all else "the groups " + ", ".join(args.groups)
    print(
        f"Two-factor authentication is now required of {whom}; grace period"
        f" {describe_grace(args.grace_days, args.grace_until)}."
        f" Reached {reached} account(s) now, lifted from {lifted}."
    )
    return 0
