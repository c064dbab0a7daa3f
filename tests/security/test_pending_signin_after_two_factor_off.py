"""A half-finished sign-in cannot be finished once its account's 2FA is turned off (by reset, Disable or backup code)."""

from sqlalchemy import func, select

from server import store
from server.flows import two_factor
from server.tables import pending_signins, users
from tests.security.helpers import session_count
from tests.utils import (
    BACKUP,
    PROFILE,
    TWO_FACTOR,
    alice_id,
    code,
    event_kinds,
    post,
    sign_in,
    start_signin,
    submit_backup_code,
    submit_code,
    user_with_two_factor,
)


async def _pending_rows(svc) -> int:
    row = await svc.db.fetch_one(select(func.count()).select_from(pending_signins))
    return int(row[0])


async def _refused_to_signin_page(client, path: str, value: str) -> None:
    response = await (submit_code(client, value) if path == TWO_FACTOR else submit_backup_code(client, value))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/signin?m=expired"
    assert not client.cookies.get("mirox_session")
    assert (await client.get(PROFILE)).headers["location"].startswith("/signin")


async def test_any_six_digits_after_an_admin_reset_do_not_sign_in(client, svc, signed_out_with_2fa):
    """Password step for alice, then ``user reset-2fa alice``: "123456" is refused, not passed."""
    await start_signin(client)
    user = await store.get_user(svc.db, await alice_id(svc))
    assert await two_factor.admin_reset(svc, user)
    assert await _pending_rows(svc) == 0
    await _refused_to_signin_page(client, TWO_FACTOR, "123456")
    assert await session_count(svc) == 0


async def test_a_pending_signin_of_an_account_without_two_factor_is_refused(client, svc, signed_out_with_2fa):
    """Even a pending row that survived (written before the reset ended them) never becomes a session."""
    await start_signin(client)
    alice = await alice_id(svc)
    await svc.db.execute(
        users.update().where(users.c.id == alice).values(totp_secret_sealed=None, backup_code_hash=None)
    )
    assert await _pending_rows(svc) == 1
    signins_before = (await event_kinds(svc)).count("signin")
    await _refused_to_signin_page(client, TWO_FACTOR, "000000")
    assert await session_count(svc) == 0
    assert (await event_kinds(svc)).count("signin") == signins_before
    assert await _pending_rows(svc) == 0


async def test_disable_from_the_card_ends_the_accounts_pending_signins(client, other_client, svc, clock):
    """alice disables 2FA in one browser; the half-finished sign-in in another browser ends."""
    enrolled = await user_with_two_factor(client, svc, clock)
    await start_signin(other_client)
    response = await post(client, "/profile/2fa/disable", {"code": code(enrolled.secret, clock)}, page=PROFILE)
    assert response.status_code in (200, 303), response.text
    assert not (await store.get_user(svc.db, await alice_id(svc))).two_factor_on
    assert await _pending_rows(svc) == 0
    await _refused_to_signin_page(other_client, TWO_FACTOR, code(enrolled.secret, clock))


async def test_backup_code_sign_in_ends_the_other_pending_signins(client, other_client, svc, signed_out_with_2fa):
    """Signing in with the backup code turns 2FA off: a second half-finished sign-in cannot finish."""
    await start_signin(client)
    await start_signin(other_client)
    assert (await submit_backup_code(client, signed_out_with_2fa.backup_code)).status_code == 303
    assert await _pending_rows(svc) == 0
    await _refused_to_signin_page(other_client, BACKUP, signed_out_with_2fa.backup_code)
    assert (await sign_in(other_client)).status_code == 303
    assert await session_count(svc) == 2
