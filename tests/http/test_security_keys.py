"""Security keys on the Profile page: adding (registration) and removing, over HTTP with a software key."""

import json

import pytest

from server.settings import Settings
from tests.keys import add_key, add_options, stored_keys, with_keys
from tests.soft_key import SoftKey
from tests.utils import (
    BACKUP_DISPLAY,
    PASSWORD,
    add_user,
    browser,
    code,
    event_kinds,
    post,
    require_two_factor,
    shows,
    sign_in,
    signed_in_without_two_factor,
    user_row,
    wrong_code,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_keys(settings)


async def test_a_key_alone_turns_two_factor_on_and_shows_the_backup_code(client, svc):
    """A key added with 2FA off turns 2FA on and shows the single backup code once."""
    await signed_in_without_two_factor(client, svc)
    response = await add_key(client, SoftKey())
    assert response.status_code == 200
    assert shows(response.text, "keys.first")
    assert BACKUP_DISPLAY.search(response.text)
    assert 'name="stored" value="yes" required' in response.text  # Done waits for "I have stored this code"
    row = await user_row(svc)
    assert row["keys_enabled_at"] is not None and row["backup_code_hash"] is not None
    profile = await client.get("/profile")
    assert "Yellow YubiKey" in profile.text and "badge-on" in profile.text
    assert {"key.added", "2fa.enabled"} <= set(await event_kinds(svc))


async def test_with_the_app_on_adding_a_key_needs_a_current_code(client, svc, signed_in_with_2fa, clock):
    """With the app set up, a key is added only with a current code from it."""
    refused = await add_key(client, SoftKey())
    assert refused.status_code == 422 and shows(refused.text, "key.format")
    assert await stored_keys(svc) == []
    wrong = await add_key(client, SoftKey(), code=wrong_code(signed_in_with_2fa.secret, clock))
    assert wrong.status_code == 422 and shows(wrong.text, "code.invalid")
    assert await stored_keys(svc) == []
    added = await add_key(client, SoftKey(), code=code(signed_in_with_2fa.secret, clock))
    assert added.status_code == 303
    profile = await client.get(added.headers["location"])
    assert shows(profile.text, "keys.added") and "Yellow YubiKey" in profile.text


async def test_with_keys_only_adding_another_needs_a_registered_key(client, svc):
    """With keys only, a second key is added only after a registered key confirms."""
    await signed_in_without_two_factor(client, svc)
    first = SoftKey()
    await add_key(client, first)
    refused = await add_key(client, SoftKey())
    assert refused.status_code == 422 and len(await stored_keys(svc)) == 1
    stranger = SoftKey()
    refused = await add_key(client, SoftKey(), confirm_with=stranger)
    assert refused.status_code == 422 and shows(refused.text, "key.invalid")
    added = await add_key(client, SoftKey(), name="Spare", confirm_with=first)
    assert added.status_code == 303
    assert [k["name"] for k in await stored_keys(svc)] == ["Yellow YubiKey", "Spare"]


@pytest.mark.parametrize(
    "lie",
    [{"origin": "https://mirox-login.example"}, {"origin": "http://localhost:8080"}, {"rp_id": "evil.example"}],
)
async def test_a_key_made_for_another_origin_or_rp_id_is_refused(client, svc, lie):
    """A registration signed for another origin or relying party (a phishing page) stores nothing."""
    await signed_in_without_two_factor(client, svc)
    response = await add_key(client, SoftKey(), **lie)
    assert response.status_code == 422 and shows(response.text, "key.invalid")
    assert await stored_keys(svc) == []
    assert (await user_row(svc))["keys_enabled_at"] is None


async def test_a_registration_cannot_be_replayed(client, svc):
    """The same registration answer posted twice is refused the second time: its challenge is spent."""
    await signed_in_without_two_factor(client, svc)
    options = await add_options(client)
    credential = SoftKey().create(options["publicKey"])
    first = await post(client, "/profile/keys", {"credential": credential})
    assert first.status_code == 200
    again = await post(client, "/profile/keys", {"credential": credential, "code": "", "confirmation": ""})
    assert again.status_code in (409, 422)
    assert len(await stored_keys(svc)) == 1


async def test_a_challenge_issued_to_another_session_is_refused(app, client, svc):
    """A registration for a challenge issued to another session of the same account is refused."""
    await signed_in_without_two_factor(client, svc)
    async with browser(app, ip="10.0.0.7") as other:
        assert (await sign_in(other)).status_code == 303
        options = await add_options(other)
    response = await post(client, "/profile/keys", {"credential": SoftKey().create(options["publicKey"])})
    assert response.status_code == 409 and shows(response.text, "key.expired")
    assert await stored_keys(svc) == []


async def test_an_expired_challenge_is_refused(client, svc, clock):
    """A registration answered after the challenge's lifetime is refused."""
    await signed_in_without_two_factor(client, svc)
    options = await add_options(client)
    clock.advance(svc.settings.key_challenge_ttl + 1)
    response = await post(client, "/profile/keys", {"credential": SoftKey().create(options["publicKey"])})
    assert response.status_code in (403, 409)
    assert await stored_keys(svc) == []


def _bad_payloads() -> list[str]:
    good = SoftKey().create({"challenge": "AAAA", "rp": {"id": "localhost"}, "user": {"id": "AAAA"}})
    data = json.loads(good)
    no_attestation = {**data, "response": {"clientDataJSON": data["response"]["clientDataJSON"]}}
    return [
        "",
        "not json",
        "[]",
        "{}",
        '{"response": 5}',
        '{"id": "x", "response": {"clientDataJSON": "%%%"}}',
        json.dumps(no_attestation),
        json.dumps({**data, "id": "A" * 12000}),
        "x" * 20000,
    ]


@pytest.mark.parametrize("payload", _bad_payloads())
async def test_malformed_and_oversized_registrations_get_a_clear_4xx(client, svc, payload):
    """A malformed or oversized key answer is a clear 4xx that stores nothing, never a 5xx."""
    await signed_in_without_two_factor(client, svc)
    await add_options(client)
    response = await post(client, "/profile/keys", {"name": "k", "credential": payload})
    assert 400 <= response.status_code < 500, response.text
    assert await stored_keys(svc) == []


async def test_removing_the_only_key_needs_it_and_turns_two_factor_off(client, svc):
    """Remove confirms with a registered key; with the last key gone (and no app) 2FA is off."""
    await signed_in_without_two_factor(client, svc)
    key = SoftKey()
    await add_key(client, key)
    key_id = (await stored_keys(svc))[0]["id"]
    refused = await post(client, "/profile/keys/remove", {"key": str(key_id)})
    assert refused.status_code == 422 and len(await stored_keys(svc)) == 1
    confirm = (await post(client, "/profile/keys/confirm-options")).json()["confirm"]
    removed = await post(client, "/profile/keys/remove", {"key": str(key_id), "confirmation": key.get(confirm)})
    assert removed.status_code == 303
    assert await stored_keys(svc) == []
    row = await user_row(svc)
    assert row["keys_enabled_at"] is None and row["backup_code_hash"] is None
    assert "key.removed" in await event_kinds(svc)


async def test_another_users_key_cannot_confirm(app, client, svc):
    """A key registered to another account does not confirm an action on this one."""
    await signed_in_without_two_factor(client, svc)
    mine = SoftKey()
    await add_key(client, mine)
    await add_user(svc, "bob")
    theirs = SoftKey()
    async with browser(app, ip="10.0.0.8") as bob:
        assert (await sign_in(bob, "bob")).status_code == 303
        assert (await add_key(bob, theirs)).status_code == 200
    key_id = (await stored_keys(svc))[0]["id"]
    confirm = (await post(client, "/profile/keys/confirm-options")).json()["confirm"]
    refused = await post(client, "/profile/keys/remove", {"key": str(key_id), "confirmation": theirs.get(confirm)})
    assert refused.status_code == 422 and shows(refused.text, "key.invalid")
    assert len(await stored_keys(svc)) == 2


async def test_a_counter_that_goes_back_is_refused_and_recorded(client, svc):
    """A valid signature whose counter is not past the stored one (a cloned key) is refused and recorded."""
    await signed_in_without_two_factor(client, svc)
    key = SoftKey()
    await add_key(client, key)
    key_id = (await stored_keys(svc))[0]["id"]
    key.counter = 0  # the clone reports the counter it was copied at
    confirm = (await post(client, "/profile/keys/confirm-options")).json()["confirm"]
    refused = await post(client, "/profile/keys/remove", {"key": str(key_id), "confirmation": key.get(confirm)})
    assert refused.status_code == 422
    assert len(await stored_keys(svc)) == 1
    assert "key.counter_regressed" in await event_kinds(svc)


async def test_removing_another_accounts_key_is_refused(app, client, svc):
    """A key id of another account cannot be removed (404-like refusal, nothing changes)."""
    await signed_in_without_two_factor(client, svc)
    await add_user(svc, "bob")
    async with browser(app, ip="10.0.0.8") as bob:
        assert (await sign_in(bob, "bob")).status_code == 303
        await add_key(bob, SoftKey())
    key_id = (await stored_keys(svc))[0]["id"]
    response = await post(client, "/profile/keys/remove", {"key": str(key_id)})
    assert response.status_code == 409 and shows(response.text, "key.not_on")
    assert len(await stored_keys(svc)) == 1


@pytest.mark.parametrize(
    ("public_url", "reason"),
    [("", "keys.unavailable_unset"), ("http://mirox.plant.example", "keys.unavailable_insecure")],
)
async def test_without_a_usable_public_url_the_section_says_why(app, settings, clock, public_url, reason):
    """Without MIROX_PUBLIC_URL, or over plain http on a non-localhost name, the section says why keys are unavailable."""
    import dataclasses

    from asgi_lifespan import LifespanManager

    from server.app import create_app
    from server.services import open_services

    plain = dataclasses.replace(settings, public_url=public_url)
    async with LifespanManager(create_app(plain, clock=clock)) as other, browser(other) as b:
        async with open_services(plain, clock=clock) as services:
            await add_user(services)
        assert (await sign_in(b)).status_code == 303
        profile = await b.get("/profile")
        assert shows(profile.text, reason) and "Add security key" not in profile.text
        refused = await post(b, "/profile/keys/options")
        assert refused.status_code == 409 and refused.json()["error"]


async def test_a_key_meets_the_two_factor_policy(client, svc):
    """Under a policy that requires 2FA, an account with a key alone meets it."""
    from server import store
    from server.auth.policy import Requirement, Scope
    from server.flows import admin, policy

    await signed_in_without_two_factor(client, svc)
    await admin.set_policy(svc, Scope.EVERYONE, grace_days=7)
    user = await store.get_user_by_key(svc.db, "alice")
    assert (await policy.standing(svc, user)).requirement is Requirement.DUE
    assert (await add_key(client, SoftKey())).status_code == 200
    user = await store.get_user_by_key(svc.db, "alice")
    assert (await policy.standing(svc, user)).requirement is Requirement.MET
    assert "policy.met" in await event_kinds(svc)


async def test_past_the_deadline_the_setup_page_offers_a_key_and_a_key_frees_the_account(client, svc):
    """An overdue account (no phone in the control room) can meet the policy on its setup page with a key alone."""
    from server.auth.policy import Scope
    from server.flows import admin

    await signed_in_without_two_factor(client, svc)
    await admin.set_policy(svc, Scope.EVERYONE, grace_days=0)
    setup = "/profile/2fa/required"
    assert (await client.get("/profile")).headers["location"] == setup
    page = await client.get(setup)
    assert page.status_code == 200 and "Add security key" in page.text
    added = await add_key(client, SoftKey(), page=setup)
    assert added.status_code == 200 and shows(added.text, "keys.first")
    assert (await client.get("/profile")).status_code == 200
    assert "policy.met" in await event_kinds(svc)


async def confirm_with(client, key: SoftKey) -> str:
    """A touch of ``key`` for the Security card's code prompts (as static/keys.js sends it)."""
    options = (await post(client, "/profile/keys/confirm-options")).json()["confirm"]
    return key.get(options)


async def test_with_keys_only_disable_is_confirmed_by_a_key_and_turns_everything_off(client, svc):
    """Disable, confirmed by a registered key, turns 2FA off: keys and backup code gone."""
    await signed_in_without_two_factor(client, svc)
    key = SoftKey()
    await add_key(client, key)
    stranger = await confirm_with(client, SoftKey())
    refused = await post(client, "/profile/2fa/disable", {"confirmation": stranger})
    assert refused.status_code == 422 and shows(refused.text, "key.invalid")
    done = await post(client, "/profile/2fa/disable", {"confirmation": await confirm_with(client, key)})
    assert done.status_code == 303
    assert await stored_keys(svc) == []
    row = await user_row(svc)
    assert row["keys_enabled_at"] is None and row["backup_code_hash"] is None
    assert "2fa.disabled" in await event_kinds(svc)


async def test_with_keys_only_new_backup_codes_is_confirmed_by_a_key(client, svc):
    """New Backup Codes, confirmed by a registered key, shows a new code and replaces the old one."""
    await signed_in_without_two_factor(client, svc)
    key = SoftKey()
    first = BACKUP_DISPLAY.search((await add_key(client, key)).text).group(0)
    before = (await user_row(svc))["backup_code_hash"]
    response = await post(client, "/profile/2fa/backup-code", {"confirmation": await confirm_with(client, key)})
    assert response.status_code == 200 and shows(response.text, "card.new_backup")
    assert BACKUP_DISPLAY.search(response.text).group(0) != first
    assert (await user_row(svc))["backup_code_hash"] != before


async def test_with_the_app_disable_turns_the_keys_off_too(client, svc, signed_in_with_2fa, clock):
    """Disable with a current app code removes the security keys as well."""
    await add_key(client, SoftKey(), code=code(signed_in_with_2fa.secret, clock))
    clock.advance(30)
    done = await post(client, "/profile/2fa/disable", {"code": code(signed_in_with_2fa.secret, clock)})
    assert done.status_code == 303
    assert await stored_keys(svc) == []
    assert (await user_row(svc))["keys_enabled_at"] is None


async def test_the_last_key_cannot_be_removed_while_the_policy_requires_2fa(client, svc):
    """Under a policy that requires 2FA, removing the only factor (a key, no app) is refused; nothing changes."""
    from server.auth.policy import Scope
    from server.flows import admin

    await signed_in_without_two_factor(client, svc)
    key = SoftKey()
    await add_key(client, key)
    await admin.set_policy(svc, Scope.EVERYONE, grace_days=7)
    key_id = (await stored_keys(svc))[0]["id"]
    refused = await post(
        client, "/profile/keys/remove", {"key": str(key_id), "confirmation": await confirm_with(client, key)}
    )
    assert refused.status_code == 403 and shows(refused.text, "code.required")
    assert len(await stored_keys(svc)) == 1


def keys_section_of(html: str) -> str:
    return html.split('id="security-keys"')[1].split("</section>")[0]


async def password_confirmed(client, then: str, page: str = "/profile") -> str:
    """Submit the action ``then`` with a stale session, answer the password prompt; the page it leads back to."""
    asked = await post(client, "/profile/keys", {"name": "Blue key"}, page=page)
    assert asked.status_code == 303 and asked.headers["location"] == "/profile/reauth?then=key_add"
    prompt = f"/profile/reauth?then={then}"
    resumed = await post(client, "/profile/reauth", {"password": PASSWORD, "then": then}, page=prompt)
    assert resumed.status_code == 303 and resumed.headers["location"] == f"{page}#security-keys"
    back = await client.get(page)
    assert back.status_code == 200
    return back.text


@pytest.mark.parametrize("then", ["key_options", "key_add"])
async def test_after_the_password_prompt_add_security_key_says_to_click_it_again(client, svc, clock, then):
    """Add security key with a stale session: after the password, the section says to click Add again, once,
    and the next Add needs no password."""
    await signed_in_without_two_factor(client, svc)
    clock.advance(11 * 60)
    page = await password_confirmed(client, then)
    assert shows(keys_section_of(page), "keys.confirmed_add") and "data-key-resumed" in page
    assert not shows(keys_section_of((await client.get("/profile")).text), "keys.confirmed_add")
    added = await add_key(client, SoftKey(), name="Blue key")
    assert added.status_code == 200 and shows(added.text, "keys.first")


async def test_after_the_password_prompt_remove_says_to_click_it_again(client, svc, clock):
    """Remove with a stale session: after the password, the section says to click Remove again."""
    await signed_in_without_two_factor(client, svc)
    await add_key(client, SoftKey())
    clock.advance(11 * 60)
    resumed = await post(client, "/profile/reauth", {"password": PASSWORD, "then": "key_remove"})
    assert resumed.status_code == 303
    section = keys_section_of((await client.get("/profile")).text)
    assert shows(section, "keys.confirmed_remove") and "data-key-resumed" not in section


async def test_the_section_itself_says_nothing_of_a_password(client, svc):
    """Opening the Security keys section (GET) leads to it without a status."""
    await signed_in_without_two_factor(client, svc)
    opened = await client.get("/profile/keys")
    assert opened.status_code == 303
    section = keys_section_of((await client.get(opened.headers["location"])).text)
    assert not shows(section, "keys.confirmed_add") and 'role="status"' not in section


async def test_past_the_deadline_the_setup_page_says_to_click_add_again(client, svc, clock):
    """An overdue account whose password is stale: after the prompt, its setup page says to click Add again."""
    await signed_in_without_two_factor(client, svc)
    await require_two_factor(svc, 0)
    clock.advance(11 * 60)
    page = await password_confirmed(client, "key_add", page="/profile/2fa/required")
    assert "Add security key" in page and shows(keys_section_of(page), "keys.confirmed_add")
