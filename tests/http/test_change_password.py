"""Change password on the Profile page: the current one, the new one twice, rules, throttling, other sessions end."""

import pytest

from server.flows.password import common_passwords, new_password_problem
from tests.utils import PASSWORD, add_user, post, shows, sign_in, signed_in, user_row

NEW = "a brand new passphrase"
PAGE = "/profile/password"


async def change(client, current: str = PASSWORD, new: str = NEW, confirm: str | None = None, htmx: bool = False):  # type: ignore[no-untyped-def]
    data = {"current_password": current, "new_password": new, "confirm_password": new if confirm is None else confirm}
    return await post(client, PAGE, data, htmx=htmx)


async def test_the_page_asks_for_the_current_password_and_the_new_one_twice(client, svc):
    """Without JavaScript the dialog is a page with three labelled password fields."""
    await add_user(svc)
    await sign_in(client)
    page = await client.get(PAGE)
    assert page.status_code == 200
    for label in ("Current password", "New password", "New password again"):
        assert f">{label}</label>" in page.text
    assert "Change password" in (await client.get("/profile")).text


async def test_a_change_signs_out_the_other_sessions_and_is_recorded(client, other_client, svc, app):
    """The new password works, the old does not; this browser stays, the other is signed out; a notice is recorded."""
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    before = (await user_row(svc))["password_hash"]
    response = await change(client)
    assert response.status_code == 303
    assert shows((await client.get("/profile")).text, "password.changed")
    assert (await user_row(svc))["password_hash"] != before
    assert await signed_in(client)
    assert not await signed_in(other_client)
    assert (await sign_in(other_client)).status_code == 422
    assert (await sign_in(other_client, password=NEW)).status_code == 303
    assert "Your password was changed" in (await other_client.get("/profile")).text


@pytest.mark.parametrize(
    ("new", "confirm", "key"),
    [
        ("short", "short", "setup.password_short"),
        (NEW, NEW + "x", "setup.password_mismatch"),
        ("qwertyuiop", "qwertyuiop", "password.common"),
        ("QwertyUIOP", "QwertyUIOP", "password.common"),
        ("alice", "alice", "setup.password_short"),
    ],
)
async def test_a_weak_or_mistyped_new_password_is_refused_with_a_reason(client, svc, new, confirm, key):
    """Too short, not repeated the same, or a common password: 422 with the reason, nothing changes."""
    await add_user(svc)
    await sign_in(client)
    before = await user_row(svc)
    response = await change(client, new=new, confirm=confirm)
    assert response.status_code == 422
    assert shows(response.text, key)
    assert await user_row(svc) == before


async def test_the_username_is_not_a_password(client, svc):
    """A long username may not be the new password, in any case."""
    await add_user(svc, "maintenance.lead")
    await sign_in(client, "maintenance.lead")
    response = await change(client, new="Maintenance.Lead")
    assert response.status_code == 422 and shows(response.text, "password.is_username")


async def test_a_wrong_current_password_is_refused_and_throttled_like_sign_in(client, svc, settings):
    """Wrong current passwords count on the sign-in counters: after the free ones, 429 with Retry-After."""
    await add_user(svc)
    await sign_in(client)
    response = await change(client, current="not my password")
    assert response.status_code == 422 and shows(response.text, "password.current_wrong")
    for _ in range(settings.password_free_attempts):
        response = await change(client, current="not my password")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    response = await change(client)
    assert response.status_code == 429, "the right password waits too"


async def test_htmx_gets_the_errors_in_the_dialog(client, svc):
    """With htmx a refusal is re-rendered into the dialog (422), with the reason as an alert."""
    await add_user(svc)
    await sign_in(client)
    response = await change(client, new="short", htmx=True)
    assert response.status_code == 422
    assert response.headers.get("HX-Retarget") == "#modal-root"
    assert 'role="alert"' in response.text


def test_the_shipped_list_holds_thousands_of_common_passwords():
    """The list ships with the package: well over a thousand entries of at least the minimum length."""
    assert len(common_passwords()) > 1500
    assert "1234567890" in common_passwords()
    assert new_password_problem("bob", "correct horse battery", "correct horse battery") is None
