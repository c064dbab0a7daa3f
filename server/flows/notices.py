"""Security notices: what happened to the account since the person last answered, and their answer.

The notices are read from the audit trail (records after ``users.notices_seen_seq``), so
nothing is written twice and an attacker signed in elsewhere cannot hide them: only an
answer from a signed-in browser moves the mark, and only up to what that browser was shown.
"""

from dataclasses import dataclass, field

from server import audit, audit_store, store
from server.auth.devices import summarize_user_agent
from server.flows import known_devices
from server.messages import message
from server.services import Client, Services

FAILURES = {
    "signin.failed_password": "password",
    "signin.failed_code": "code",
    "signin.failed_backup": "code",
    "signin.throttled": "refused",
}
SINGLE = {
    "2fa.backup_used": "notice.backup_used",
    "2fa.reset_by_admin": "notice.reset_by_admin",
    "2fa.new_backup": "notice.new_backup",
    "admin.set_password": "notice.password_set_by_admin",
    "password.changed": "notice.password_changed",
}


@dataclass(frozen=True)
class Notice:
    """One line of the notices: a message key, its values, and when (formatted by the page)."""

    key: str
    at: float
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Notices:
    items: list[Notice]
    up_to: int
    """The last record shown: an answer covers it and everything before, nothing after."""


def _failures(records: list[dict[str, object]]) -> Notice | None:
    counts = {"password": 0, "code": 0, "refused": 0}
    last: dict[str, object] | None = None
    for record in records:
        kind = str(record["kind"])
        if kind in FAILURES:
            counts[FAILURES[kind]] += 1
            last = record
    if last is None:
        return None
    parts = [
        message(f"notice.count.{what}" + ("" if count == 1 else "s"), count=count)
        for what, count in counts.items()
        if count
    ]
    summary = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return Notice("notice.failures", float(str(last["at"])), {"summary": summary, "ip": str(last["ip"])})


def _own_signin(record: dict[str, object], session: store.Session) -> bool:
    """The sign-in that began the session looking at the notices (no news to that browser)."""
    return (
        float(str(record["at"])) >= session.created_at
        and record["ip"] == session.ip
        and record["device"] == summarize_user_agent(session.user_agent)
    )


async def pending(svc: Services, user: store.User, session: store.Session) -> Notices | None:
    """The notices not answered yet, or None."""
    records = await audit_store.records_for_notices(svc.db, user.id, user.notices_seen_seq)
    if not records:
        return None
    items = []
    failures = _failures(records)
    if failures is not None:
        items.append(failures)
    for record in records:
        kind, at = str(record["kind"]), float(str(record["at"]))
        if kind in SINGLE:
            items.append(Notice(SINGLE[kind], at))
        elif kind == "signin" and '"new_device":true' in str(record["detail"]) and not _own_signin(record, session):
            items.append(Notice("notice.new_device", at, {"device": str(record["device"]), "ip": str(record["ip"])}))
    if not items:  # only this browser's own sign-in
        return None
    return Notices(items, int(str(records[-1]["seq"])))


async def acknowledge(svc: Services, user: store.User, up_to: int) -> None:
    """ "That was me": the notices shown, up to ``up_to``, are answered."""
    await audit_store.answer_notices(svc.db, user.id, up_to)


async def disown(svc: Services, user: store.User, session: store.Session, up_to: int, client: Client) -> int:
    """ "This wasn't me": end every other session and pending sign-in, forget every browser, flag the account."""
    await audit_store.answer_notices(svc.db, user.id, up_to)
    ended = await audit_store.end_other_signins(svc.db, user.id, session.id)
    await known_devices.forget(svc, user, client)
    await audit_store.set_flag(svc.db, user.id, svc.clock())
    await audit.record(svc, "notice.disowned", user=user, client=client, detail={"sessions_ended": ended})
    return ended
