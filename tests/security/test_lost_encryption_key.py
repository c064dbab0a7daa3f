"""A server started without the key that sealed the TOTP secrets: refuses to start, and never blames the user."""

import dataclasses
import logging

import pytest
from asgi_lifespan import LifespanManager

from server.app import create_app
from server.auth.crypto import Keyring, new_key_text, parse_keys
from server.tables import users
from tests.security.helpers import second_factor_failures
from tests.utils import (
    PROFILE,
    alice_id,
    code,
    event_kinds,
    post,
    shows,
    start_signin,
    submit_code,
    user_with_two_factor,
)


def _key_id(key_text: str) -> str:
    return Keyring.key_id(parse_keys(key_text)[0])


async def test_server_refuses_to_start_when_stored_secrets_use_a_key_it_lacks(settings, clock, signed_out_with_2fa):
    """Started with a new key only (the old key file after a rotation): start-up fails naming the missing key id."""
    missing = _key_id(settings.totp_keys)
    new_key = new_key_text()
    application = create_app(dataclasses.replace(settings, totp_keys=new_key), clock=clock, announce=print)
    with pytest.raises(RuntimeError) as refused:
        async with LifespanManager(application):
            pass
    text = str(refused.value)
    assert missing in text
    assert "MIROX_TOTP_KEYS" in text
    assert settings.totp_keys not in text and new_key not in text


async def test_server_starts_when_the_old_key_is_kept_after_the_new_one(settings, clock, signed_out_with_2fa):
    """The way out the message names: the old key after the new one."""
    keys = f"{new_key_text()},{settings.totp_keys}"
    application = create_app(dataclasses.replace(settings, totp_keys=keys), clock=clock, announce=print)
    async with LifespanManager(application):
        pass


async def _seal_with_a_key_the_server_lacks(svc, secret: str) -> str:
    """alice's secret as a process with another key would have written it (after this server started)."""
    other = new_key_text()
    alice = await alice_id(svc)
    sealed = Keyring(parse_keys(other)).seal(secret, f"totp:user:{alice}")
    await svc.db.execute(users.update().where(users.c.id == alice).values(totp_secret_sealed=sealed))
    return other


async def test_undecryptable_secret_at_signin_is_not_the_users_failure(
    client, svc, settings, signed_out_with_2fa, clock, caplog
):
    """A correct code against a secret this server cannot open: "misconfigured", no failure counted, logged loudly."""
    other = await _seal_with_a_key_the_server_lacks(svc, signed_out_with_2fa.secret)
    await start_signin(client)
    with caplog.at_level(logging.ERROR, logger="mirox"):
        for _ in range(settings.pending_signin_attempts + 1):
            response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
            assert response.status_code == 503
            assert shows(response.text, "code.misconfigured")
            assert not shows(response.text, "code.invalid")
    assert await second_factor_failures(svc) == 0
    assert "signin.failed_code" not in await event_kinds(svc)
    assert _key_id(other) in caplog.text
    assert other not in caplog.text and signed_out_with_2fa.secret not in caplog.text
    assert not client.cookies.get("mirox_session")


async def test_undecryptable_secret_in_card_actions_is_not_the_users_failure(client, svc, settings, clock, caplog):
    """Check 2FA and Disable against a secret the server cannot open answer "misconfigured" and count nothing."""
    enrolled = await user_with_two_factor(client, svc, clock)
    other = await _seal_with_a_key_the_server_lacks(svc, enrolled.secret)
    with caplog.at_level(logging.ERROR, logger="mirox"):
        for path in ["/profile/2fa/check", "/profile/2fa/disable"] * 4:
            response = await post(client, path, {"code": code(enrolled.secret, clock)}, page=PROFILE)
            assert response.status_code == 503, response.text
            assert shows(response.text, "code.misconfigured")
    assert await second_factor_failures(svc) == 0
    assert not any(kind.endswith("_failed") for kind in await event_kinds(svc))
    assert _key_id(other) in caplog.text
