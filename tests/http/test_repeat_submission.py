"""Issue 14 item 1: the same form submitted twice (double click, resubmit) gets the same result, not an error."""

import asyncio
import re

import httpx

from server.flows import repeat
from tests.utils import (
    BACKUP_DISPLAY,
    PROFILE,
    FakeClock,
    code,
    csrf,
    enrollment_path,
    open_enable_dialog,
    shows,
    start_signin,
    submit_backup_code,
    text_of,
)

BACKUP_FORM = "/profile/2fa/backup-code"


def submission_of(html: str) -> str:
    match = re.search(r'name="submission" value="([^"]+)"', html)
    assert match, "the form has no submission id"
    return match.group(1)


async def backup_form(client: httpx.AsyncClient) -> dict[str, str]:
    """The New Backup Codes prompt as a browser has it: its CSRF token and its one-time submission id."""
    page = await client.get(BACKUP_FORM)
    assert page.status_code == 200, page.text
    return {"csrf_token": await csrf(client, PROFILE), "submission": submission_of(page.text)}


def shown_code(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return text_of(response.text, "backup-code")


async def test_new_backup_code_submitted_twice_shows_the_same_code(client, clock, signed_in_with_2fa):
    """A second submit of the same New Backup Codes form shows the code the first one issued."""
    form = {**await backup_form(client), "code": code(signed_in_with_2fa.secret, clock)}
    first = await client.post(BACKUP_FORM, data=form)
    second = await client.post(BACKUP_FORM, data=form, headers={"HX-Request": "true"})
    assert BACKUP_DISPLAY.fullmatch(shown_code(first))
    assert shown_code(second) == shown_code(first)
    assert not shows(second.text, "code.reused")


async def test_concurrent_double_submit_issues_one_code(client, clock, svc, signed_in_with_2fa, other_client):
    """Two requests of one form at once: one code is issued, both answers show it, and it is the one that works."""
    form = {**await backup_form(client), "code": code(signed_in_with_2fa.secret, clock)}
    first, second = await asyncio.gather(client.post(BACKUP_FORM, data=form), client.post(BACKUP_FORM, data=form))
    issued = shown_code(first)
    assert shown_code(second) == issued
    clock.advance(60)
    await start_signin(other_client)
    assert (await submit_backup_code(other_client, issued)).status_code == 303


async def test_a_new_form_with_the_same_code_is_still_refused(client, clock, signed_in_with_2fa):
    """Only the same form repeats: another form with an already used code is refused as reused."""
    used = code(signed_in_with_2fa.secret, clock)
    assert shown_code(await client.post(BACKUP_FORM, data={**await backup_form(client), "code": used}))
    again = await client.post(BACKUP_FORM, data={**await backup_form(client), "code": used})
    assert again.status_code == 422
    assert shows(again.text, "code.reused")


async def test_another_session_cannot_repeat_a_submission(client, other_client, clock, signed_in_with_2fa):
    """A submission id is bound to the session that got the form: another session does not get its code."""
    form = {**await backup_form(client), "code": code(signed_in_with_2fa.secret, clock)}
    issued = shown_code(await client.post(BACKUP_FORM, data=form))
    await start_signin(other_client)
    from tests.utils import submit_code

    assert (await submit_code(other_client, code(signed_in_with_2fa.secret, clock, 1))).status_code == 303
    theirs = {**form, "csrf_token": await csrf(other_client, PROFILE)}
    response = await other_client.post(BACKUP_FORM, data=theirs)
    assert issued not in response.text


async def test_repeat_after_a_refusal_runs_again(client, clock, signed_in_with_2fa):
    """A refused submit (wrong code) is not remembered: the same form with the right code then works."""
    form = await backup_form(client)
    wrong = await client.post(BACKUP_FORM, data={**form, "code": "000000"})
    assert wrong.status_code == 422
    assert BACKUP_DISPLAY.fullmatch(
        shown_code(await client.post(BACKUP_FORM, data={**form, "code": code(signed_in_with_2fa.secret, clock)}))
    )


async def test_the_issued_code_is_repeated_only_for_minutes(client, clock: FakeClock, signed_in_with_2fa):
    """The stored code expires quickly: after its lifetime a repeat no longer shows it."""
    form = {**await backup_form(client), "code": code(signed_in_with_2fa.secret, clock)}
    issued = shown_code(await client.post(BACKUP_FORM, data=form))
    clock.advance(repeat.SECRET_LIFETIME + 1)
    late = await client.post(BACKUP_FORM, data=form)
    assert issued not in late.text


async def test_verify_and_enable_submitted_twice_reports_success_twice(client, signed_in_without_2fa, clock):
    """A second Verify and Enable of the same form shows the success, not "already on"."""
    secret, base, _ = await open_enable_dialog(client)
    step3 = await client.get(base + "/verify")
    form = {
        "csrf_token": await csrf(client, PROFILE),
        "submission": submission_of(step3.text),
        "code": code(secret, clock),
    }
    first = await client.post(base, data=form, headers={"HX-Request": "true"})
    second = await client.post(base, data=form, headers={"HX-Request": "true"})
    for response in (first, second):
        assert response.status_code == 200
        assert shows(response.text, "card.enabled")
        assert not shows(response.text, "enroll.already_on")


async def test_enable_clicked_twice_keeps_one_secret(client, signed_in_without_2fa):
    """A double click on Enable opens one setup: both answers show the same secret and setup."""
    token = await csrf(client, PROFILE)
    first, second = await asyncio.gather(
        client.post("/profile/2fa/enable", data={"csrf_token": token}, follow_redirects=True),
        client.post("/profile/2fa/enable", data={"csrf_token": token}, follow_redirects=True),
    )
    assert text_of(first.text, "manual-secret") == text_of(second.text, "manual-secret")
    assert enrollment_path(first.text) == enrollment_path(second.text)
