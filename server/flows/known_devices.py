"""Device cookies of accounts: issued after a completed sign-in, recognized at the password, revoked.

A browser whose device cookie is a live one of the account it signs in to is served in the
hashing queue's known lane and counts its failed passwords on its own counter, not on the
account's, which a guesser keeps closed. It skips neither the password nor the second factor.
"""

from server import audit, device_store, store, store_accounts
from server.audit import CONSOLE
from server.auth import device_cookie
from server.auth.devices import summarize_user_agent
from server.auth.tokens import token_hash
from server.flows import throttling
from server.services import Client, Services


async def recognize(svc: Services, user: store.User | None, cookie: str | None) -> int | None:
    """The device id when ``cookie`` is a signed, unexpired, unrevoked device of this usable account."""
    if user is None or user.disabled_at is not None:
        return None
    parsed = device_cookie.read(svc.device_key, cookie)
    if parsed is None or parsed[0] != user.id:
        return None
    return await device_store.recognized(svc.db, user.id, token_hash(parsed[1]), svc.clock())


async def remember(svc: Services, user: store.User, client: Client) -> str | None:
    """After a completed sign-in: a new device cookie value, or None when the browser's own is still live
    (then its label and last use are updated: once per sign-in, not per request)."""
    now = svc.clock()
    label = summarize_user_agent(client.user_agent)
    parsed = device_cookie.read(svc.device_key, client.device)
    if (
        parsed is not None
        and parsed[0] == user.id
        and await device_store.used(svc.db, user.id, token_hash(parsed[1]), label, now)
    ):
        return None
    value, token = device_cookie.issue(svc.device_key, user.id)
    expires_at = now + svc.settings.device_cookie_lifetime
    device_id = await device_store.remember(svc.db, user.id, token_hash(token), label, now, expires_at)
    # A reused id (a forgotten device's) must not bring that device's failures with it.
    await store_accounts.clear_counters(svc.db, [throttling.DEVICE_KEY.format(device_id)])
    return value


async def forget(svc: Services, user: store.User, client: Client = CONSOLE) -> int:
    """Revoke every device cookie of the account (a new password, disabled, 2FA reset); recorded when any was."""
    count = await device_store.forget_all(svc.db, user.id)
    if count:
        await audit.record(svc, "devices.forgotten", user=user, client=client, detail={"count": count})
    return count


def signed(svc: Services, cookie: str | None) -> bool:
    """Whether ``cookie`` carries a right HMAC: without one the browser is a stranger, no query needed."""
    return device_cookie.read(svc.device_key, cookie) is not None
