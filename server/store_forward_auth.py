"""The statement of forward auth: a live session, its account, the account's standing with the 2FA
policy and its groups, in one read."""

from dataclasses import dataclass

from databases import Database
from sqlalchemy import exists, select

from server import store
from server.db import Prepared
from server.store_policy import StandingRow, standing_of
from server.tables import group_members, groups, policy_groups, policy_states, sessions, two_factor_policy, users

_listed = group_members.alias("listed")
_member = group_members.alias("member")
_PASSPORT = Prepared(
    select(
        *store.SIGNED_IN_COLUMNS,
        two_factor_policy.c.scope,
        two_factor_policy.c.grace_days,
        two_factor_policy.c.grace_until,
        exists()
        .where(_listed.c.user_id == users.c.id, _listed.c.group_id == policy_groups.c.group_id)
        .label("in_listed_group"),
        policy_states.c.reached_at,
        policy_states.c.extended_until,
        policy_states.c.met_at,
        groups.c.name.label("group_name"),
    )
    .select_from(
        sessions.join(users, users.c.id == sessions.c.user_id)
        .join(two_factor_policy, two_factor_policy.c.id == 1)
        .outerjoin(policy_states, policy_states.c.user_id == users.c.id)
        .outerjoin(_member, _member.c.user_id == users.c.id)
        .outerjoin(groups, groups.c.id == _member.c.group_id)
    )
    .where(*store.LIVE_SESSION)
    .order_by(groups.c.name_key)
)


@dataclass(frozen=True)
class Passport:
    """What ``/auth/verify`` decides from: the session, its account, the standing's inputs, the groups (sorted)."""

    session: store.Session
    user: store.User
    standing: StandingRow
    groups: list[str]


async def passport(db: Database, token_hash: str, now: float, idle_timeout: float) -> Passport | None:
    """The passport of a session token, None when it is no live session (as ``store.signed_in``).

    One statement by the session token's index (a row per group of the account, or one row
    without a group); the session's activity mark is written at most once a second.
    """
    rows = await _PASSPORT.fetch_all(db, token_hash=token_hash, idle_since=now - idle_timeout, now=now)
    if not rows:
        return None
    first = rows[0]
    session, user = await store.live_session(db, first, now)
    groups_of_user = [row["group_name"] for row in rows if row["group_name"] is not None]
    return Passport(session, user, standing_of(first), groups_of_user)
