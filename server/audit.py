"""Recording security events: once in the database's hash chain, once to the configured stream.

Every security event of the app goes through ``record``: sign-in steps (with the factor used),
throttling, two-factor changes, backup-code use, session ends and administrator commands. A
record holds what happened, to which account, from where, and small counts; never a password,
code, secret or token (nothing of the kind is ever passed in). It also moves the metrics.
"""

import json

from server import audit_store, metrics
from server.auth.devices import summarize_user_agent
from server.services import Client, Services
from server.store import User

CONSOLE = Client(ip="console", user_agent="")
"""Where administrator commands come from."""


async def record(
    svc: Services,
    kind: str,
    *,
    user: User | None = None,
    client: Client = CONSOLE,
    outcome: str = "success",
    factor: str | None = None,
    detail: dict[str, int | str | bool] | None = None,
) -> None:
    """Append one security event to the audit trail and stream it to the configured sink."""
    admin = client is CONSOLE
    entry = audit_store.AuditEntry(
        kind=kind,
        at=svc.clock(),
        outcome=outcome,
        user_id=None if user is None else user.id,
        username=None if user is None else user.username,
        factor=factor,
        actor="admin" if admin else "user",
        ip=client.ip,
        device="Administrator" if admin else summarize_user_agent(client.user_agent),
        detail=json.dumps(detail or {}, sort_keys=True, separators=(",", ":")),
    )
    stored = await audit_store.record_event(svc.db, entry)
    svc.audit_sink.emit(stored)
    metrics.count_event(stored)


async def record_signin(svc: Services, user: User, client: Client, factor: str) -> None:
    """A completed sign-in; marked ``new_device`` when the account has signed in before, never from this device."""
    device = summarize_user_agent(client.user_agent)
    before, known = await audit_store.signed_in_before(svc.db, user.id, device)
    detail: dict[str, int | str | bool] = {"new_device": True} if before and not known else {}
    await record(svc, "signin", user=user, client=client, factor=factor, detail=detail)
