"""What an administrator does from the command line to groups and the two-factor policy.

Each change is recorded in the audit trail (actor ``admin``) and followed by a reconciliation, so
the policy reaches the accounts it now covers (their grace period starts) and leaves the others.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from server import audit, store, store_policy
from server.auth.policy import Scope
from server.flows import policy
from server.flows.account import username_key
from server.services import Services

GROUP_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Refused(Exception):
    """A command that cannot be done as asked; the message is the one line that says why."""


def group_key(name: str) -> str:
    """What makes two group names the same name."""
    return name.strip().casefold()


async def accounts_named(svc: Services, names: list[str]) -> list[store.User]:
    """The accounts of these names, all of them, or Refused naming the unknown ones (nothing changes)."""
    found = [(name, await store.get_user_by_key(svc.db, username_key(name))) for name in names]
    unknown = [name for name, user in found if user is None]
    if unknown:
        raise Refused(f"No account named {', '.join(unknown)}.")
    return [user for _, user in found if user is not None]


async def add_to_group(svc: Services, group: str, names: list[str]) -> tuple[str, list[str]]:
    """Put accounts in a group (created if new): its name as stored, and those that were not in it yet."""
    if not GROUP_PATTERN.fullmatch(group):
        raise Refused(f"{group!r} is not a group name: use 1 to 64 letters, digits, dots, dashes or underscores.")
    users = await accounts_named(svc, names)
    found = await store_policy.ensure_group(svc.db, group, group_key(group), svc.clock())
    added = []
    for user in users:
        if await store_policy.add_member(svc.db, found.id, user.id, svc.clock()):
            await audit.record(svc, "admin.group_add", user=user, detail={"group": found.name})
            added.append(user.username)
    await policy.reconcile(svc)
    return found.name, added


async def remove_from_group(svc: Services, group: str, names: list[str]) -> tuple[str, list[str]]:
    """Take accounts out of a group: its name as stored, and those that were in it. A group left
    empty is deleted unless the policy names it."""
    found = await store_policy.get_group(svc.db, group_key(group))
    if found is None:
        raise Refused(f"No group named {group}.")
    users = await accounts_named(svc, names)
    removed = []
    for user in users:
        if await store_policy.remove_member(svc.db, found.id, user.id):
            await audit.record(svc, "admin.group_remove", user=user, detail={"group": found.name})
            removed.append(user.username)
    await store_policy.drop_group_if_unused(svc.db, found.id)
    await policy.reconcile(svc)
    return found.name, removed


async def list_groups(svc: Services) -> list[store_policy.GroupListing]:
    return await store_policy.list_groups(svc.db)


@dataclass(frozen=True)
class PolicyView:
    """The policy as ``policy show`` prints it, with how many accounts it covers and how they stand."""

    row: store_policy.PolicyRow
    groups: list[str]
    covered: int
    met: int


async def show_policy(svc: Services) -> PolicyView:
    row, names = await store_policy.get_policy(svc.db)
    states = await store_policy.policy_states_of(svc.db)
    covered = await store_policy.covered_user_ids(svc.db)
    met = sum(1 for user_id in covered if user_id in states and states[user_id].met_at is not None)
    return PolicyView(row, names, len(covered), met)


async def set_policy(
    svc: Services,
    scope: Scope,
    *,
    groups: Sequence[str] = (),
    grace_days: float | None = None,
    grace_until: float | None = None,
) -> tuple[int, int]:
    """Replace the policy; (accounts it reached now, accounts it was lifted from).

    The groups must exist (a typo would otherwise require 2FA of nobody, silently).
    """
    now = svc.clock()
    if grace_until is not None and grace_until <= now:
        raise Refused("That grace date is in the past; use --grace-days 0 to require two-factor authentication now.")
    if grace_days is not None and not 0 <= grace_days <= 3650:
        raise Refused("--grace-days takes a number of days from 0 to 3650.")
    group_ids = []
    for name in groups:
        found = await store_policy.get_group(svc.db, group_key(name))
        if found is None:
            raise Refused(f"No group named {name}. Add its members first: run.py group add {name} USER…")
        group_ids.append(found.id)
    if scope is Scope.GROUPS and not group_ids:
        raise Refused("Name at least one group: --groups control-room,maintenance")
    if scope is Scope.NOBODY:
        grace_days = grace_until = None
    row = store_policy.PolicyRow(scope.value, grace_days, grace_until, now)
    await store_policy.set_policy(svc.db, row, sorted(set(group_ids)))
    detail: dict[str, int | str | bool] = {"scope": scope.value, "groups": ",".join(sorted(set(groups)))}
    if grace_days is not None:
        detail["grace_days"] = str(grace_days)
    if grace_until is not None:
        detail["grace_until"] = str(grace_until)
    await audit.record(svc, "admin.policy", detail=detail)
    return await policy.reconcile(svc)
