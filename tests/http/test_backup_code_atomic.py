"""A backup-code sign-in happens whole or not at all, even if the server fails right after spending the code.

Regression test for a crash found by tests/soak/test_crash.py: the code was spent and 2FA
turned off in one transaction, but the session began in a later statement, so a kill -9
in between left the code spent and no session (the browser got no answer and nothing to
show for the code).
"""

import sqlite3

from databases import Database
from sqlalchemy import select

from server import audit_store
from server.tables import sessions
from tests.utils import start_signin, submit_backup_code, user_row


async def test_failure_right_after_the_code_is_spent_still_leaves_the_session_it_paid_for(
    client, svc, monkeypatch, signed_out_with_2fa
):
    """The database fails on the first statement after the spend: 2FA is off and the session is there."""
    await start_signin(client)
    record_event = audit_store.record_event

    async def fail_after_spend(db: Database, entry: audit_store.AuditEntry) -> dict[str, object]:
        if entry.kind == "2fa.backup_used":
            raise sqlite3.OperationalError("disk I/O error")  # the process dies here
        return await record_event(db, entry)

    monkeypatch.setattr(audit_store, "record_event", fail_after_spend)
    response = await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert response.status_code == 503

    row = await user_row(svc)
    assert row["totp_secret_sealed"] is None and row["backup_code_hash"] is None
    begun = await svc.db.fetch_all(
        select(sessions).where(sessions.c.user_id == row["id"], sessions.c.notice == "card.backup_used")
    )
    assert len(begun) == 1, "the code was spent, so the session it paid for must exist"
