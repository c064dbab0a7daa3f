"""Issue 14 item 3: Download and Print of a backup code just shown, for that session only and for minutes."""

import re

from server.flows import repeat
from tests.utils import (
    PASSWORD,
    PROFILE,
    code,
    csrf,
    open_enable_dialog,
    shows,
    sign_in,
    text_of,
)


def keep_links(html: str) -> tuple[str, str]:
    download = re.search(r'href="([^"]+/download)"', html)
    printable = re.search(r'href="([^"]+/print)"', html)
    assert download and printable, "no Download and Print links"
    return download.group(1), printable.group(1)


async def test_wizard_code_downloads_and_prints_for_its_session_only(
    client, other_client, svc, clock, signed_in_without_2fa
):
    """Step 2's Download is a small text file and Print a card (user, date, code, help); another session gets 404."""
    _, base, _ = await open_enable_dialog(client)
    step2 = await client.get(base + "/backup")
    backup_code = text_of(step2.text, "backup-code")
    download, printable = keep_links(step2.text)
    file = await client.get(download)
    assert file.status_code == 200
    assert file.headers["content-type"].startswith("text/plain")
    assert file.headers["content-disposition"].startswith("attachment;")
    assert file.headers["cache-control"] == "no-store"
    assert backup_code in file.text and "alice" in file.text
    card = await client.get(printable)
    assert card.status_code == 200
    assert text_of(card.text, "backup-code") == backup_code
    assert "alice" in card.text and "<time datetime=" in card.text
    assert shows(card.text, "backup.card_help", contact="your administrator")
    await sign_in(other_client, "alice", PASSWORD)
    for url in (download, printable):
        response = await other_client.get(url)
        assert response.status_code == 404
        assert backup_code not in response.text
    clock.advance(svc.settings.enrollment_ttl + 1)
    assert (await client.get(download)).status_code == 404


async def test_new_backup_code_downloads_for_minutes_for_its_session(client, other_client, clock, signed_in_with_2fa):
    """The code New Backup Codes issued can be downloaded by that session for minutes, then no more."""
    prompt = await client.get("/profile/2fa/backup-code")
    submission = re.search(r'name="submission" value="([^"]+)"', prompt.text)
    assert submission
    issued = await client.post(
        "/profile/2fa/backup-code",
        data={
            "csrf_token": await csrf(client, PROFILE),
            "submission": submission.group(1),
            "code": code(signed_in_with_2fa.secret, clock),
        },
    )
    backup_code = text_of(issued.text, "backup-code")
    download, printable = keep_links(issued.text)
    assert backup_code in (await client.get(download)).text
    assert text_of((await client.get(printable)).text, "backup-code") == backup_code
    gone = await other_client.get(download)
    assert gone.status_code in (303, 404) and backup_code not in gone.text
    clock.advance(repeat.SECRET_LIFETIME + 1)
    late = await client.get(download)
    assert late.status_code == 404
    assert shows(late.text, "backup.gone")
