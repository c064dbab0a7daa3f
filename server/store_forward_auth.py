"""The statement of forward auth: an account's standing with the 2FA policy and its groups, in one read."""

from databases import Database
from sqlalchemy import bindparam, exists, select

from server.db import Prepared
from server.store_policy import StandingRow
from server.tables import group_members, groups, policy_groups, policy_states, two_factor_policy

_listed = group_members.alias("listed")
_member = group_members.alias("member")
_PASSPORT = Prepared(
    select(
        two_factor_policy.c.scope,
        two_factor_policy.c.grace_days,
        two_factor_policy.c.grace_until,
        exists()
        .where(_listed.c.user_id == bindparam("user_id"), _listed.c.group_id == policy_groups.c.group_id)
        .label("in_listed_group"),
        policy_states.c.reached_at,
        policy_states.c.extended_until,
        policy_states.c.met_at,
        groups.c.name.label("group_name"),
    )
    .select_from(
        two_factor_policy.outerjoin(policy_states, policy_states.c.user_id == bindparam("user_id"))
        .outerjoin(_member, _member.c.user_id == bindparam("user_id"))
        .outerjoin(groups, groups.c.id == _member.c.group_id)
    )
    .where(two_factor_policy.c.id == 1)
    .order_by(groups.c.name_key)
)


async def passport(db: Database, user_id: int) -> tuple[StandingRow, list[str]]:
    """What ``/auth/verify`` needs beyond the session: the standing's inputs and the group names, sorted.

    One statement (a row per group, or one row without a group), indexed by the account id.
    """
    rows = await _PASSPORT.fetch_all(db, user_id=user_id)
    assert rows, "the policy row is missing: run `run.py db upgrade`"
    first = rows[0]
    standing = StandingRow(
        scope=first["scope"],
        grace_days=first["grace_days"],
        grace_until=first["grace_until"],
        in_listed_group=bool(first["in_listed_group"]),
        reached_at=first["reached_at"],
        extended_until=first["extended_until"],
        met_at=first["met_at"],
    )
    return standing, [row["group_name"] for row in rows if row["group_name"] is not None]
