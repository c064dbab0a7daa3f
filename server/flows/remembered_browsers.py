"""Remembered browsers: the device cookies of an account as its owner sees them, forgotten one by one.

Forgetting gives up a privilege (getting past the account's delays), so it asks for no password;
it is scoped to the signed-in account: another account's device id reads like an unknown one.
"""

import hmac
from dataclasses import dataclass

from server import audit, device_store, store
from server.auth import device_cookie
from server.auth.tokens import token_hash
from server.services import Client, Services

MAX_ID = 2**31
"""Device ids are 32-bit database integers: a larger one from a URL is no device (and would overflow the driver)."""


@dataclass(frozen=True)
class RememberedBrowser:
    """One row of the list: never the token or its hash."""

    id: int
    label: str
    remembered_at: float
    last_used_at: float
    current: bool


def _own_hash(svc: Services, user: store.User, cookie: str | None) -> str | None:
    """The token hash of this browser's device cookie when it is a signed one of this account."""
    parsed = device_cookie.read(svc.device_key, cookie)
    return token_hash(parsed[1]) if parsed is not None and parsed[0] == user.id else None


async def listed(svc: Services, user: store.User, cookie: str | None = None) -> list[RememberedBrowser]:
    """The account's unexpired remembered browsers, the last used first; ``current`` is the one sending ``cookie``."""
    own = _own_hash(svc, user, cookie)
    return [
        RememberedBrowser(
            device.id,
            device.label,
            device.created_at,
            device.last_used_at,
            own is not None and hmac.compare_digest(device.token_hash, own),
        )
        for device in await device_store.listed(svc.db, user.id, svc.clock())
    ]


async def forget(svc: Services, user: store.User, device_id: int, client: Client) -> bool | None:
    """Forget one browser of the account: None when it has no such device, else whether it was this browser."""
    forgotten = None if device_id >= MAX_ID else await device_store.forget_one(svc.db, user.id, device_id)
    if forgotten is None:
        return None
    label, hashed = forgotten
    await audit.record(svc, "device.forgotten", user=user, client=client, detail={"browser": label})
    own = _own_hash(svc, user, client.device)
    return own is not None and hmac.compare_digest(hashed, own)


async def forget_others(svc: Services, user: store.User, client: Client) -> int:
    """Forget every browser of the account but this one; how many (recorded when any)."""
    count = await device_store.forget_others(svc.db, user.id, _own_hash(svc, user, client.device))
    if count:
        await audit.record(svc, "device.forgotten", user=user, client=client, detail={"count": count, "others": True})
    return count
