"""Secrets at rest: no TOTP secret, backup code, password or session token in the database, files, logs or caches."""

import logging
from pathlib import Path

from sqlalchemy import String, Text, select

from server.auth.tokens import token_hash
from server.tables import metadata, sessions
from tests.utils import (
    PASSWORD,
    add_user,
    browser_with_cookie,
    click_enable,
    code,
    enable_two_factor,
    enrollment_path,
    open_enable_dialog,
    post,
    session_cookie,
    sign_in,
    sign_out,
    signed_in,
    start_signin,
    submit_backup_code,
    submit_code,
    text_of,
    user_row,
    wrong_code,
)


async def text_values(svc) -> list[str]:
    """Every text value in every table."""
    values = []
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not columns:
            continue
        for row in await svc.db.fetch_all(select(*columns)):
            values += [row[c.name] for c in columns if isinstance(row[c.name], str)]
    return values


def needles(secret: str, backup_code: str) -> list[str]:
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return [secret, secret.lower(), grouped, backup_code, backup_code.replace("-", ""), backup_code.lower()]


def assert_nowhere(values: list[str], secret: str, backup_code: str) -> None:
    for value in values:
        for needle in needles(secret, backup_code):
            assert needle not in value, f"{needle!r} found in the database"


async def test_secret_and_backup_code_are_not_stored_in_clear_during_setup(client, svc, clock):
    """While the Enable dialog is open the pending secret and backup code are sealed, not plain."""
    await add_user(svc)
    await sign_in(client)
    secret, base, _ = await open_enable_dialog(client)
    backup_code = text_of((await client.get(base + "/backup")).text, "backup-code")
    values = await text_values(svc)
    assert_nowhere(values, secret, backup_code)
    sealed = await svc.db.fetch_all(select(metadata.tables["enrollments"]))
    assert len(sealed) == 1
    assert sealed[0]["secret_sealed"].startswith("v1:")
    assert sealed[0]["backup_code_sealed"].startswith("v1:")


async def test_secret_and_backup_code_are_not_stored_in_clear_after_enable(client, svc, clock):
    """After enabling, no text column of any table holds the secret or the backup code."""
    await add_user(svc)
    await sign_in(client)
    enrolled = await enable_two_factor(client, clock)
    assert_nowhere(await text_values(svc), enrolled.secret, enrolled.backup_code)
    row = await user_row(svc)
    assert str(row["totp_secret_sealed"]).startswith("v1:")
    assert str(row["backup_code_hash"]).startswith("$argon2")
    assert PASSWORD not in " ".join(await text_values(svc))


async def test_new_backup_code_is_not_stored_in_clear(client, svc, clock, signed_in_with_2fa):
    """A code from New Backup Codes is stored only as a hash."""
    response = await post(client, "/profile/2fa/backup-code", {"code": code(signed_in_with_2fa.secret, clock)})
    new_code = text_of(response.text, "backup-code")
    assert_nowhere(await text_values(svc), signed_in_with_2fa.secret, new_code)


async def test_sqlite_file_holds_no_secret(client, svc, clock, settings, no_pg):
    """Even the raw SQLite file and its write-ahead log never contain the secret or backup code."""
    await add_user(svc)
    await sign_in(client)
    enrolled = await enable_two_factor(client, clock)
    path = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert files
    for file in files:
        blob = file.read_bytes()
        for needle in needles(enrolled.secret, enrolled.backup_code):
            assert needle.encode() not in blob, (file.name, needle)


async def test_responses_showing_a_secret_or_code_are_not_stored(client, svc, clock):
    """Every response with the secret, the QR code or a backup code carries Cache-Control: no-store."""
    await add_user(svc)
    await sign_in(client)
    responses = [await click_enable(client), await post(client, "/profile/2fa/enable", htmx=True)]
    secret = text_of(responses[-1].text, "manual-secret").replace(" ", "")
    base = enrollment_path(responses[-1].text)
    for step in ("scan", "backup", "verify"):
        responses.append(await client.get(f"{base}/{step}"))
        responses.append(await client.get(f"{base}/{step}", headers={"HX-Request": "true"}))
    responses.append(await post(client, base, {"code": wrong_code(secret, clock)}))
    responses.append(await post(client, base, {"code": code(secret, clock)}))
    clock.advance(11 * 60)
    responses.append(await post(client, "/profile/reauth", {"password": PASSWORD, "then": "new_backup_code"}))
    clock.advance(30)
    issued = await post(client, "/profile/2fa/backup-code", {"code": code(secret, clock)})
    assert 'id="backup-code"' in issued.text
    responses.append(issued)
    for response in responses:
        assert response.headers["Cache-Control"] == "no-store", response.request.url


async def test_no_secret_or_code_in_logs(client, clock, caplog, capfd, signed_out_with_2fa):
    """Across enable, sign-in with a code, New Backup Codes and backup sign-in, logs hold no secret."""
    for name in [*logging.root.manager.loggerDict, None]:
        caplog.set_level(logging.DEBUG, logger=name)
    await start_signin(client)
    assert (await submit_code(client, code(signed_out_with_2fa.secret, clock))).status_code == 303
    clock.advance(30)
    response = await post(client, "/profile/2fa/backup-code", {"code": code(signed_out_with_2fa.secret, clock)})
    new_code = text_of(response.text, "backup-code")
    await sign_out(client)
    await start_signin(client)
    assert (await submit_backup_code(client, new_code)).status_code == 303
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    printed = "".join(capfd.readouterr())
    for text in (logged, printed):
        for needle in [
            *needles(signed_out_with_2fa.secret, signed_out_with_2fa.backup_code),
            *needles(signed_out_with_2fa.secret, new_code),
        ]:
            assert needle not in text
        assert PASSWORD not in text


async def test_database_keeps_only_a_hash_of_the_token(app, client, svc):
    """Someone who reads the sessions table cannot use what they read as a cookie."""
    await add_user(svc)
    await sign_in(client)
    token = session_cookie(client)
    rows = await svc.db.fetch_all(select(sessions))
    assert len(rows) == 1
    assert token not in repr([tuple(row) for row in rows])
    assert rows[0]["token_hash"] == token_hash(token)
    async with browser_with_cookie(app, rows[0]["token_hash"]) as thief:
        assert not await signed_in(thief)
