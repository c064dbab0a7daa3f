"""The database schema: SQLAlchemy Core tables at the latest schema version.

Every timestamp is a float of Unix seconds (UTC), so both SQLite and PostgreSQL
compare and add them the same way and the clock stays injectable.
"""

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

UNKNOWN_BROWSER = "Unknown browser"
"""The label of a remembered browser stored before labels were (schema version 9)."""


def _seconds(name: str, *, nullable: bool = False) -> Column[float]:
    """A point in time: Unix seconds."""
    return Column(name, Float, nullable=nullable)


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),
    Column("username_key", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    _seconds("created_at"),
    _seconds("disabled_at", nullable=True),
    Column("totp_secret_sealed", Text),
    _seconds("totp_enabled_at", nullable=True),
    Column("totp_last_step", Integer),
    Column("backup_code_hash", Text),
    # Security notices (schema version 4): the last audit record the person has answered,
    # and when they answered one "This wasn't me" (the administrator clears it).
    Column("notices_seen_seq", Integer, nullable=False, server_default="0"),
    Column("flagged_at", Float),
    # Security keys (schema version 5): when the account's first key made 2FA on; None without keys.
    _seconds("keys_enabled_at", nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    _seconds("created_at"),
    _seconds("last_seen_at"),
    _seconds("authenticated_at"),
    _seconds("expires_at"),
    Column("user_agent", String(512), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("notice", String(64)),
)

throttle = Table(
    "throttle",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    _seconds("next_allowed_at"),
    _seconds("updated_at"),
)

setup_tokens = Table(
    "setup_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    _seconds("created_at"),
    _seconds("expires_at"),
)

pending_signins = Table(
    "pending_signins",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    _seconds("created_at"),
    _seconds("expires_at"),
    Column("attempts", Integer, nullable=False),
    Column("user_agent", String(512), nullable=False),
    Column("ip", String(64), nullable=False),
)

devices = Table(
    "devices",
    metadata,
    # Browsers that completed a sign-in to the account (schema version 6): their device
    # cookie's token, hashed, puts them ahead of unknown clients and past the account's lock.
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    _seconds("created_at"),
    _seconds("expires_at"),
    # What Remembered browsers shows (schema version 9): the browser and system that signed in,
    # and when the device last completed a sign-in (written once per sign-in, not per request).
    Column("label", String(120), nullable=False, server_default=UNKNOWN_BROWSER),
    _seconds("last_used_at", nullable=True),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("secret_sealed", Text, nullable=False),
    Column("backup_code_sealed", Text, nullable=False),
    _seconds("created_at"),
    _seconds("expires_at"),
    UniqueConstraint("user_id", name="enrollments_one_per_user"),
)

security_events = Table(
    "security_events",
    metadata,
    Column("id", Integer, primary_key=True),
    # None for what concerns no known account (a wrong password for an unknown name, a command).
    # Audit records outlive their account: deleting one unlinks its records, the username stays.
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True),
    Column("kind", String(40), nullable=False),
    _seconds("at"),
    Column("ip", String(64), nullable=False),
    Column("device", String(200), nullable=False),
    # The audit trail (schema version 4): what happened, with which factor, by whom, and the
    # hash chain (server/auth/audit_chain.py) that makes an edit, deletion or insertion visible.
    Column("seq", Integer, nullable=False, unique=True),
    Column("outcome", String(20), nullable=False),
    Column("factor", String(20)),
    Column("username", String(64)),
    Column("actor", String(20), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)
"""One row (id 1): the number and hash of the last audit record. Appending updates it first,
so concurrent appends (several processes) queue on its row lock and never fork the chain."""

# Groups and the two-factor policy (schema version 5).

groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("name_key", String(64), nullable=False, unique=True),
    _seconds("created_at"),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    # Whose groups: the standing check and ``user list`` look members up by account.
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
    _seconds("added_at"),
)

two_factor_policy = Table(
    "two_factor_policy",
    metadata,
    Column("id", Integer, primary_key=True),
    # "nobody" (the default), "everyone" or "groups" (those in ``policy_groups``).
    Column("scope", String(10), nullable=False),
    # The grace period: a fixed date-time, or days from when the policy reaches an account.
    Column("grace_days", Float),
    _seconds("grace_until", nullable=True),
    _seconds("changed_at"),
)
"""One row (id 1), read on every signed-in request, so a change applies at once in every process."""

policy_groups = Table(
    "policy_groups",
    metadata,
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)

policy_states = Table(
    "policy_states",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # When the policy reached the account (its grace period counts from here), a later deadline
    # an administrator's reset of 2FA gave, and when the account met it (2FA on).
    _seconds("reached_at"),
    _seconds("extended_until", nullable=True),
    _seconds("met_at", nullable=True),
)

submissions = Table(
    "submissions",
    metadata,
    # A form's one-time submission id, per session and action (schema version 7): the first request
    # with it claims the row and stores its result; a repeat (double click, resubmit) gets that result.
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("action", String(16), primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("result", Text),  # None while the first request runs; a secret in it is sealed
    _seconds("expires_at"),
    Index("ix_submissions_expires_at", "expires_at"),
)
"""Results of one-time form submissions, kept for minutes so a repeat gets the same answer."""

LOOKUP_INDEXES = (
    # The activity list: newest events of one user, without sorting all of them.
    Index("ix_security_events_user_at", security_events.c.user_id, security_events.c.at, security_events.c.id),
    # purge_expired runs at every sign-in: it finds expired rows without scanning the tables.
    Index("ix_sessions_expires_at", sessions.c.expires_at),
    Index("ix_sessions_last_seen_at", sessions.c.last_seen_at),
    Index("ix_pending_signins_expires_at", pending_signins.c.expires_at),
    Index("ix_enrollments_expires_at", enrollments.c.expires_at),
    Index("ix_throttle_updated_at", throttle.c.updated_at),
    # Ending a user's sign-ins, and the cascade from a deleted session to its enrollment.
    Index("ix_pending_signins_user_id", pending_signins.c.user_id),
    Index("ix_enrollments_session_id", enrollments.c.session_id),
)
"""Indexes added by schema version 3, one per lookup path that had none."""

AUDIT_INDEXES = (
    # audit export --since/--until reads a time range.
    Index("ix_security_events_at", security_events.c.at),
)

security_keys = Table(
    "security_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("credential_id", String(1400), nullable=False, unique=True),
    Column("public_key", Text, nullable=False),
    Column("sign_count", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    # Random per account (the same for all its keys), never the user id: authenticators store it.
    Column("user_handle", String(64), nullable=False, index=True),
    _seconds("created_at"),
    _seconds("last_used_at", nullable=True),
)
"""Registered WebAuthn credentials (schema version 5); public keys only, nothing secret."""

key_challenges = Table(
    "key_challenges",
    metadata,
    Column("challenge", String(64), primary_key=True),
    Column("purpose", String(20), nullable=False),
    # Whose ceremony it is: the session, the pending sign-in or (passkey sign-in) the browser.
    Column("binding", String(80), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),
    # Registration: the user handle the new key is given (the account's, or a new random one).
    Column("user_handle", String(64)),
    _seconds("expires_at"),
    Index("ix_key_challenges_expires_at", "expires_at"),
)
"""Issued WebAuthn challenges (schema version 5), each spent once by a DELETE … RETURNING."""

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)
