"""Wizard tampering: only a code for the secret the server issued, in the newest dialog, switches 2FA on."""

import asyncio

from sqlalchemy import select

from server.auth import totp
from server.tables import metadata
from tests.peek import code_at
from tests.security.helpers import PARALLEL
from tests.utils import (
    PROFILE,
    add_user,
    code,
    csrf,
    enrollment_path,
    event_kinds,
    foreign_code,
    open_enable_dialog,
    post,
    security_card,
    shows,
    sign_in,
    sign_out,
    signed_in_without_two_factor,
    start_signin,
    submit_code,
    text_of,
    user_row,
    wrong_code,
)


async def test_enable_without_verifying_leaves_signin_password_only(client, svc, clock):
    """Walking all steps but never verifying switches nothing on: the next sign-in needs only the password."""
    await signed_in_without_two_factor(client, svc)
    _, base, _ = await open_enable_dialog(client)
    for step in ("backup", "verify"):
        assert (await client.get(f"{base}/{step}")).status_code == 200
    assert (await post(client, base, {})).status_code == 422
    await sign_out(client)
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert client.cookies.get("mirox_session")


def unrelated_secret(secret: str, times: list[float]) -> str:
    """A new secret whose codes at ``times`` match no code of ``secret`` near them (no chance collision)."""
    while True:
        candidate = totp.new_secret()
        if all(code_at(candidate, t) not in {code_at(secret, t + 30 * k) for k in range(-2, 3)} for t in times):
            return candidate


async def test_client_supplied_secret_is_ignored(client, svc, clock):
    """A secret sent with Verify (and a code for it) does not become the account's secret."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    mine = unrelated_secret(secret, [clock(), clock() + 60])
    planted = {"secret": mine, "totp_secret": mine, "secret_sealed": mine, "backup_code": "AAAA-AAAA"}
    response = await post(client, base, {"code": code_at(mine, clock()), **planted})
    assert response.status_code == 422
    assert shows(response.text, "code.invalid")
    assert (await user_row(svc))["totp_secret_sealed"] is None
    assert (await post(client, base, {"code": code(secret, clock), **planted})).status_code == 303
    await sign_out(client)
    clock.advance(60)
    await start_signin(client)
    assert (await submit_code(client, code_at(mine, clock()))).status_code == 422
    assert (await submit_code(client, code(secret, clock))).status_code == 303


async def test_nothing_changes_on_the_account_before_verify(client, svc, clock):
    """Opening the dialog, walking all steps and a wrong code leave the account exactly as it was."""
    await signed_in_without_two_factor(client, svc)
    before = await user_row(svc)
    secret, base, _ = await open_enable_dialog(client)
    await client.get(base + "/backup")
    await client.get(base + "/verify")
    await post(client, base, {"code": wrong_code(secret, clock)})
    assert await user_row(svc) == before
    assert before["totp_secret_sealed"] is None
    assert "badge-off" in security_card((await client.get(PROFILE)).text)


async def test_code_for_another_secret_is_rejected(client, svc, clock):
    """A code from some other authenticator entry does not switch 2FA on."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    response = await post(client, base, {"code": foreign_code(secret, clock)})
    assert response.status_code == 422
    assert shows(response.text, "code.invalid")
    assert (await user_row(svc))["totp_secret_sealed"] is None


async def test_verify_with_made_up_enrollment_id_changes_nothing(client, svc, clock):
    """The wizard cannot be skipped: Verify with an id that was never issued answers 409."""
    await signed_in_without_two_factor(client, svc)
    before = await user_row(svc)
    secret, _, _ = await open_enable_dialog(client)
    response = await post(client, "/profile/2fa/setup/AAAAAAAAAAAAAAAA", {"code": code(secret, clock)})
    assert response.status_code == 409
    assert shows(response.text, "enroll.expired", issuer="Mirox")
    assert await user_row(svc) == before


async def test_another_sessions_enrollment_cannot_be_opened_or_verified(client, other_client, svc, clock):
    """A second browser of the same user cannot read or finish the first browser's setup."""
    await signed_in_without_two_factor(client, svc)
    assert (await sign_in(other_client)).status_code == 303
    secret, base, _ = await open_enable_dialog(client)
    for step in ("scan", "backup", "verify"):
        response = await other_client.get(f"{base}/{step}")
        assert response.status_code == 404
        assert secret not in response.text.replace(" ", "")
    response = await post(other_client, base, {"code": code(secret, clock)})
    assert response.status_code == 409
    assert (await user_row(svc))["totp_secret_sealed"] is None
    done = await post(client, base, {"code": code(secret, clock)})
    assert done.status_code == 303


async def test_enable_in_another_session_replaces_the_first(client, other_client, svc, clock):
    """Enable in another browser makes the first browser's setup fail; nothing is half on; the newer one works."""
    await signed_in_without_two_factor(client, svc)
    assert (await sign_in(other_client)).status_code == 303
    first_secret, first_base, _ = await open_enable_dialog(client)
    second_secret, second_base, _ = await open_enable_dialog(other_client)
    assert first_secret != second_secret and first_base != second_base
    response = await post(client, first_base, {"code": code(first_secret, clock)})
    assert response.status_code == 409
    assert shows(response.text, "enroll.expired", issuer="Mirox")
    row = await user_row(svc)
    assert row["totp_secret_sealed"] is None and row["backup_code_hash"] is None
    assert (await client.get(first_base + "/scan")).status_code == 404
    response = await post(other_client, second_base, {"code": code(second_secret, clock)})
    assert response.status_code == 303


async def test_enable_again_in_the_same_session_continues_the_setup(client, svc):
    """Reopening Enable in the same browser (Esc, reload, Back, a second tab) shows the same secret: no dead entry."""
    await signed_in_without_two_factor(client, svc)
    first_secret, first_base, _ = await open_enable_dialog(client)
    second_secret, second_base, step1 = await open_enable_dialog(client)
    assert (second_secret, second_base) == (first_secret, first_base)
    assert shows(step1.text, "enroll.continued", issuer="Mirox")


async def test_first_browser_secret_does_not_work_after_the_other_enables(client, other_client, svc, clock):
    """After another browser's setup enables 2FA, only its secret is valid at sign-in."""
    await signed_in_without_two_factor(client, svc)
    assert (await sign_in(other_client)).status_code == 303
    first_secret, _, _ = await open_enable_dialog(client)
    second_secret, second_base, _ = await open_enable_dialog(other_client)
    assert (await post(other_client, second_base, {"code": code(second_secret, clock)})).status_code == 303
    await sign_out(client)
    clock.advance(60)
    await start_signin(client)
    response = await submit_code(client, code(first_secret, clock))
    assert response.status_code == 422
    assert not client.cookies.get("mirox_session")


async def test_verify_and_enable_twenty_times_at_once_enables_once(racer, svc, clock):
    """Twenty parallel Verify and Enable submissions switch 2FA on once."""
    await add_user(svc)
    await sign_in(racer)
    secret, base, _ = await open_enable_dialog(racer)
    token = await csrf(racer, PROFILE)
    value = code(secret, clock)
    responses = await asyncio.gather(
        *(racer.post(base, data={"csrf_token": token, "code": value}) for _ in range(PARALLEL))
    )
    assert any(r.status_code == 303 for r in responses)
    assert (await event_kinds(svc)).count("2fa.enabled") == 1
    assert (await user_row(svc))["totp_secret_sealed"] is not None


async def test_enable_clicked_twenty_times_at_once_leaves_one_setup(racer, svc, clock):
    """A burst of Enable clicks (double-click, several tabs) never errors and leaves one usable setup."""
    await add_user(svc)
    await sign_in(racer)
    token = await csrf(racer, PROFILE)
    responses = await asyncio.gather(
        *(racer.post("/profile/2fa/enable", data={"csrf_token": token}) for _ in range(PARALLEL))
    )
    assert [r.status_code for r in responses] == [303] * PARALLEL
    rows = await svc.db.fetch_all(select(metadata.tables["enrollments"]))
    assert len(rows) == 1
    assert {r.headers["location"].split("?")[0] for r in responses} == {f"/profile/2fa/setup/{rows[0]['id']}/scan"}
    survivor = await racer.get(responses[0].headers["location"])
    secret = text_of(survivor.text, "manual-secret").replace(" ", "")
    done = await post(racer, enrollment_path(survivor.text), {"code": code(secret, clock)})
    assert done.status_code == 303
    assert (await user_row(svc))["totp_secret_sealed"] is not None
