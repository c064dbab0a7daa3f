"""The statements of one-time form submissions: claim one, store its result, read it back."""

from dataclasses import dataclass

from databases import Database
from sqlalchemy import ColumnElement, and_, delete, select, update

from server.db import insert
from server.tables import submissions


@dataclass(frozen=True)
class Submission:
    """Which form instance: the session that got the form, the action, and the form's one-time id."""

    session_id: int
    action: str
    id: str


def _this(submission: Submission) -> ColumnElement[bool]:
    c = submissions.c
    return and_(c.session_id == submission.session_id, c.action == submission.action, c.id == submission.id)


async def claim(db: Database, submission: Submission, now: float, expires_at: float) -> bool:
    """Claim a submission (or take over an expired claim); exactly one request gets True."""
    row = await db.fetch_one(
        insert(db, submissions)
        .values(
            session_id=submission.session_id,
            action=submission.action,
            id=submission.id,
            result=None,
            expires_at=expires_at,
        )
        .on_conflict_do_update(
            index_elements=[submissions.c.session_id, submissions.c.action, submissions.c.id],
            set_={"result": None, "expires_at": expires_at},
            where=submissions.c.expires_at <= now,
        )
        .returning(submissions.c.id)
    )
    return row is not None


async def finish(db: Database, submission: Submission, result: str, expires_at: float) -> None:
    """Store the claimed submission's result, kept until ``expires_at``."""
    await db.execute(update(submissions).where(_this(submission)).values(result=result, expires_at=expires_at))


async def release(db: Database, submission: Submission) -> None:
    """Forget a claim whose request did not succeed, so nothing is repeated from it."""
    await db.execute(delete(submissions).where(_this(submission)))


async def state(db: Database, submission: Submission, now: float) -> tuple[bool, str | None]:
    """Whether the submission is claimed (and not expired), and its result once there is one."""
    row = await db.fetch_one(select(submissions.c.result).where(_this(submission), submissions.c.expires_at > now))
    return (False, None) if row is None else (True, row["result"])
