"""The statements of groups, the two-factor policy and each account's standing with it."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from databases import Database
from sqlalchemy import bindparam, delete, exists, select, update

from server.db import Prepared, insert, record, transaction
from server.tables import group_members, groups, policy_groups, policy_states, two_factor_policy, users

# ---- groups ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    id: int
    name: str


@dataclass(frozen=True)
class GroupListing:
    """A group, its members' names (sorted) and whether the policy names it."""

    name: str
    members: list[str]
    in_policy: bool


async def get_group(db: Database, name_key: str) -> Group | None:
    row = await db.fetch_one(select(groups.c.id, groups.c.name).where(groups.c.name_key == name_key))
    return None if row is None else record(Group, row)


async def ensure_group(db: Database, name: str, name_key: str, now: float) -> Group:
    """The group of that name, created if it does not exist yet."""
    await db.execute(
        insert(db, groups)
        .values(name=name, name_key=name_key, created_at=now)
        .on_conflict_do_nothing(index_elements=[groups.c.name_key])
    )
    found = await get_group(db, name_key)
    assert found is not None
    return found


async def add_member(db: Database, group_id: int, user_id: int, now: float) -> bool:
    """Put an account in a group; False when it was in it already."""
    row = await db.fetch_one(
        insert(db, group_members)
        .values(group_id=group_id, user_id=user_id, added_at=now)
        .on_conflict_do_nothing(index_elements=[group_members.c.group_id, group_members.c.user_id])
        .returning(group_members.c.user_id)
    )
    return row is not None


async def remove_member(db: Database, group_id: int, user_id: int) -> bool:
    """Take an account out of a group; False when it was not in it."""
    row = await db.fetch_one(
        delete(group_members)
        .where(group_members.c.group_id == group_id, group_members.c.user_id == user_id)
        .returning(group_members.c.user_id)
    )
    return row is not None


async def drop_group_if_unused(db: Database, group_id: int) -> bool:
    """Delete a group that has no member left and that the policy does not name."""
    row = await db.fetch_one(
        delete(groups)
        .where(
            groups.c.id == group_id,
            ~exists().where(group_members.c.group_id == group_id),
            ~exists().where(policy_groups.c.group_id == group_id),
        )
        .returning(groups.c.id)
    )
    return row is not None


async def list_groups(db: Database) -> list[GroupListing]:
    named = select(policy_groups.c.group_id)
    rows = await db.fetch_all(
        select(groups.c.id, groups.c.name, groups.c.id.in_(named).label("in_policy")).order_by(groups.c.name_key)
    )
    members = await db.fetch_all(
        select(group_members.c.group_id, users.c.username)
        .join(users, users.c.id == group_members.c.user_id)
        .order_by(users.c.username_key)
    )
    by_group: dict[int, list[str]] = {}
    for member in members:
        by_group.setdefault(int(member["group_id"]), []).append(member["username"])
    return [GroupListing(row["name"], by_group.get(int(row["id"]), []), bool(row["in_policy"])) for row in rows]


async def groups_by_user(db: Database, user_id: int | None = None) -> dict[int, list[str]]:
    """The names of each account's groups (of one account when ``user_id`` is given), sorted."""
    statement = (
        select(group_members.c.user_id, groups.c.name)
        .join(groups, groups.c.id == group_members.c.group_id)
        .order_by(groups.c.name_key)
    )
    if user_id is not None:
        statement = statement.where(group_members.c.user_id == user_id)
    found: dict[int, list[str]] = {}
    for row in await db.fetch_all(statement):
        found.setdefault(int(row["user_id"]), []).append(row["name"])
    return found


# ---- the policy ------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRow:
    scope: str
    grace_days: float | None
    grace_until: float | None
    changed_at: float


async def get_policy(db: Database) -> tuple[PolicyRow, list[str]]:
    """The policy and the names of the groups it names."""
    row = await db.fetch_one(select(two_factor_policy).where(two_factor_policy.c.id == 1))
    assert row is not None, "the policy row is missing: run `run.py db upgrade`"
    names = await db.fetch_all(
        select(groups.c.name).join(policy_groups, policy_groups.c.group_id == groups.c.id).order_by(groups.c.name_key)
    )
    return record(PolicyRow, row), [name["name"] for name in names]


async def set_policy(db: Database, policy: PolicyRow, group_ids: list[int]) -> None:
    """Replace the policy and the groups it names, in one transaction (every process reads it at its next request)."""
    async with transaction(db):
        await db.execute(
            update(two_factor_policy)
            .where(two_factor_policy.c.id == 1)
            .values(
                scope=policy.scope,
                grace_days=policy.grace_days,
                grace_until=policy.grace_until,
                changed_at=policy.changed_at,
            )
        )
        await db.execute(delete(policy_groups))
        for group_id in group_ids:
            await db.execute(policy_groups.insert().values(group_id=group_id))


# ---- each account's standing -------------------------------------------------------------


@dataclass(frozen=True)
class StandingRow:
    """What the standing of one account is computed from: the policy, its membership and its state."""

    scope: str
    grace_days: float | None
    grace_until: float | None
    in_listed_group: bool
    reached_at: float | None
    extended_until: float | None
    met_at: float | None


def standing_of(row: Mapping[str, Any]) -> StandingRow:
    """The standing from a row holding its columns (SQLite gives ``in_listed_group`` as 0 or 1)."""
    return replace(record(StandingRow, row), in_listed_group=bool(row["in_listed_group"]))


_IN_LISTED_GROUP = (
    exists()
    .where(
        group_members.c.user_id == bindparam("user_id"),
        group_members.c.group_id == policy_groups.c.group_id,
    )
    .label("in_listed_group")
)
_STANDING = Prepared(
    select(
        two_factor_policy.c.scope,
        two_factor_policy.c.grace_days,
        two_factor_policy.c.grace_until,
        _IN_LISTED_GROUP,
        policy_states.c.reached_at,
        policy_states.c.extended_until,
        policy_states.c.met_at,
    )
    .select_from(two_factor_policy.outerjoin(policy_states, policy_states.c.user_id == bindparam("user_id")))
    .where(two_factor_policy.c.id == 1)
)


async def standing_row(db: Database, user_id: int) -> StandingRow:
    """One indexed read: the policy row, whether the account is in a group it names, the account's state."""
    row = await _STANDING.fetch_one(db, user_id=user_id)
    assert row is not None, "the policy row is missing: run `run.py db upgrade`"
    return standing_of(row)


@dataclass(frozen=True)
class PolicyState:
    user_id: int
    reached_at: float
    extended_until: float | None
    met_at: float | None


async def policy_states_of(db: Database) -> dict[int, PolicyState]:
    """Every account the policy has reached, by account id."""
    rows = await db.fetch_all(select(policy_states))
    return {int(row["user_id"]): record(PolicyState, row) for row in rows}


async def covered_user_ids(db: Database) -> set[int]:
    """The accounts the current policy covers: all, the members of the groups it names, or none."""
    policy, _ = await get_policy(db)
    if policy.scope == "everyone":
        rows = await db.fetch_all(select(users.c.id))
    elif policy.scope == "groups":
        rows = await db.fetch_all(
            select(group_members.c.user_id)
            .join(policy_groups, policy_groups.c.group_id == group_members.c.group_id)
            .distinct()
        )
    else:
        return set()
    return {int(row[0]) for row in rows}


async def start_state(db: Database, user_id: int, now: float, *, met: bool) -> bool:
    """Record that the policy reached an account now (met already when 2FA is on); False if it had."""
    row = await db.fetch_one(
        insert(db, policy_states)
        .values(user_id=user_id, reached_at=now, met_at=now if met else None)
        .on_conflict_do_nothing(index_elements=[policy_states.c.user_id])
        .returning(policy_states.c.user_id)
    )
    return row is not None


async def end_state(db: Database, user_id: int) -> bool:
    """The policy no longer covers the account: forget when it reached it; False if it had not."""
    row = await db.fetch_one(
        delete(policy_states).where(policy_states.c.user_id == user_id).returning(policy_states.c.user_id)
    )
    return row is not None


async def mark_met(db: Database, user_id: int, now: float) -> bool:
    """The account met the policy now (2FA turned on); False when it is not covered or had met it."""
    row = await db.fetch_one(
        update(policy_states)
        .where(policy_states.c.user_id == user_id, policy_states.c.met_at.is_(None))
        .values(met_at=now)
        .returning(policy_states.c.user_id)
    )
    return row is not None


async def mark_unmet(db: Database, user_id: int, extended_until: float | None = None) -> bool:
    """2FA went off again: not met any more, with a later deadline when one is given."""
    values: dict[str, float | None] = {"met_at": None}
    if extended_until is not None:
        values["extended_until"] = extended_until
    row = await db.fetch_one(
        update(policy_states)
        .where(policy_states.c.user_id == user_id)
        .values(**values)
        .returning(policy_states.c.user_id)
    )
    return row is not None
