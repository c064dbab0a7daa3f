"""The Enable dialog: scan the QR code, save the backup code, verify and enable."""

import html
import re
from datetime import datetime

import segno

from server import store
from server.auth import totp
from server.messages import message
from tests.utils import (
    BACKUP_DISPLAY,
    PROFILE,
    START,
    code,
    enrollment_path,
    open_enable_dialog,
    post,
    security_card,
    shows,
    signed_in_without_two_factor,
    start_signin,
    submit_backup_code,
    text_of,
    user_row,
    wrong_code,
)

SECRET_GROUPED = re.compile(r"(?:[A-Z2-7]{4} ){7}[A-Z2-7]{4}")


def svg_paths(html_text: str) -> list[str]:
    svg = re.search(r"<svg.*?</svg>", html_text, re.S)
    assert svg, "no inline SVG"
    return re.findall(r' d="([^"]+)"', svg.group(0))


async def test_step_one_shows_inline_qr_svg_for_the_provisioning_uri(client, svc):
    """Step 1 shows the QR code as inline SVG encoding otpauth://totp/Mirox:alice?secret=…&issuer=Mirox."""
    await signed_in_without_two_factor(client, svc)
    secret, _, step1 = await open_enable_dialog(client)
    assert "<svg" in step1.text
    assert "<img" not in step1.text
    expected_uri = f"otpauth://totp/Mirox:alice?secret={secret}&issuer=Mirox"
    expected = segno.make_qr(expected_uri, error="m").svg_inline(scale=6, border=4, light="#fff", omitsize=True)
    assert svg_paths(step1.text) == svg_paths(expected)


async def test_no_url_on_the_page_carries_the_secret(client, svc):
    """Neither an image URL nor any link, form action or htmx URL contains the secret."""
    await signed_in_without_two_factor(client, svc)
    secret, base, step1 = await open_enable_dialog(client)
    urls = re.findall(r'(?:src|srcset|href|action|hx-get|hx-post|data)="([^"]*)"', step1.text)
    assert urls, "the page has links"
    for url in urls:
        if url.startswith("otpauth:"):
            continue  # a link for the authenticator app on this device, never fetched from a server
        assert secret not in url.upper().replace("%20", "").replace(" ", ""), url
    assert secret not in base


async def test_manual_entry_shows_secret_grouped_in_fours(client, svc):
    """Under Manual Entry the 32-character base32 secret appears in groups of four."""
    await signed_in_without_two_factor(client, svc)
    _, _, step1 = await open_enable_dialog(client)
    assert "Manual Entry" in step1.text
    grouped = text_of(step1.text, "manual-secret")
    assert SECRET_GROUPED.fullmatch(grouped), grouped


async def test_step_two_shows_one_backup_code_as_xxxx_xxxx(client, svc):
    """Step 2 shows a single 8-character backup code formatted XXXX-XXXX."""
    await signed_in_without_two_factor(client, svc)
    _, base, _ = await open_enable_dialog(client)
    step2 = await client.get(base + "/backup")
    assert step2.status_code == 200
    backup_code = text_of(step2.text, "backup-code")
    assert BACKUP_DISPLAY.fullmatch(backup_code), backup_code
    assert len(BACKUP_DISPLAY.findall(step2.text.replace(f'data-copy="{backup_code}"', ""))) == 1


async def test_steps_show_the_same_secret_and_code_when_revisited(client, svc):
    """Back and Next within one setup show the same secret and backup code every time."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    first = text_of((await client.get(base + "/backup")).text, "backup-code")
    again = await client.get(base + "/scan")
    assert text_of(again.text, "manual-secret").replace(" ", "") == secret
    assert text_of((await client.get(base + "/backup")).text, "backup-code") == first


async def test_wrong_code_rerenders_step_three_with_422(client, svc, clock):
    """A wrong code shows step 3 again with status 422 and a clear message."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    response = await post(client, base, {"code": wrong_code(secret, clock)})
    assert response.status_code == 422
    assert "Step 3 of 3" in response.text
    assert shows(response.text, "code.invalid")
    assert 'aria-invalid="true"' in response.text
    assert "<html" in response.text


async def test_wrong_code_with_htmx_gets_a_dialog_fragment(client, svc, clock):
    """For htmx the 422 is a dialog fragment aimed at #modal-root, not a full page."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    response = await post(client, base, {"code": wrong_code(secret, clock)}, htmx=True)
    assert response.status_code == 422
    assert "<html" not in response.text and "<!doctype" not in response.text.lower()
    assert "<dialog" in response.text
    assert "Step 3 of 3" in response.text
    assert shows(response.text, "code.invalid")
    assert response.headers["HX-Retarget"] == "#modal-root"


async def test_malformed_code_asks_for_six_digits(client, svc):
    """Letters or too few digits are refused with 422 and the 6-digit hint."""
    await signed_in_without_two_factor(client, svc)
    _, base, _ = await open_enable_dialog(client)
    response = await post(client, base, {"code": "12ab5"})
    assert response.status_code == 422
    assert shows(response.text, "code.format")
    assert (await user_row(svc))["totp_secret_sealed"] is None


async def test_code_with_spaces_is_accepted(client, svc, clock):
    """A code typed as '123 456' counts as '123456'."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    value = code(secret, clock)
    response = await post(client, base, {"code": f" {value[:3]} {value[3:]} "})
    assert response.status_code == 303, response.text
    assert (await user_row(svc))["totp_secret_sealed"] is not None


async def test_step_of_made_up_enrollment_id_is_not_found(client, svc):
    """Opening a step of an id that was never issued shows the expired-setup message with 404."""
    await signed_in_without_two_factor(client, svc)
    for step in ("scan", "backup", "verify"):
        response = await client.get(f"/profile/2fa/setup/AAAAAAAAAAAAAAAA/{step}")
        assert response.status_code == 404
        assert shows(response.text, "enroll.expired", issuer="Mirox")


async def test_unknown_step_name_is_not_found(client, svc):
    """Only the three wizard steps exist."""
    await signed_in_without_two_factor(client, svc)
    _, base, _ = await open_enable_dialog(client)
    response = await client.get(base + "/done")
    assert response.status_code == 404


async def test_enrollment_expires_after_15_minutes(client, svc, clock):
    """After 10 minutes the setup is gone: its steps answer 404 and Verify 409, 2FA stays off."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    clock.advance(10 * 60 + 1)
    step = await client.get(base + "/verify")
    assert step.status_code == 404
    assert shows(step.text, "enroll.expired", issuer="Mirox")
    response = await post(client, base, {"code": code(secret, clock)})
    assert response.status_code == 409
    assert shows(response.text, "enroll.expired", issuer="Mirox")
    assert (await user_row(svc))["totp_secret_sealed"] is None


async def test_enrollment_still_works_shortly_before_10_minutes(client, svc, clock):
    """Nine and a half minutes after Enable the setup can still be finished."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    clock.advance(9 * 60 + 30)
    response = await post(client, base, {"code": code(secret, clock)})
    assert response.status_code == 303, response.text
    assert (await user_row(svc))["totp_secret_sealed"] is not None


async def test_success_flips_badge_to_enabled_with_the_date(client, svc, clock):
    """After Verify and Enable the Security card says Enabled and shows the activation date."""
    await signed_in_without_two_factor(client, svc)
    assert "badge-off" in security_card((await client.get(PROFILE)).text)
    secret, base, _ = await open_enable_dialog(client)
    response = await post(client, base, {"code": code(secret, clock)})
    assert response.status_code == 303
    assert response.headers["location"].startswith(PROFILE)
    card = security_card((await client.get(PROFILE)).text)
    assert '<span class="badge badge-on">Enabled</span>' in card
    day = datetime.fromtimestamp(START)
    assert f'datetime="{day.date().isoformat()}"' in card
    assert day.strftime("%-d %b %Y") in card
    assert shows(card, "card.enabled")
    row = await user_row(svc)
    assert row["totp_enabled_at"] == START


async def test_success_with_htmx_updates_the_card_and_closes_the_dialog(client, svc, clock):
    """For htmx, success answers with partials: the card (Enabled) and an empty #modal-root."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    response = await post(client, base, {"code": code(secret, clock)}, htmx=True)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'hx-target="#security-card"' in response.text
    assert '<hx-partial hx-target="#modal-root" hx-swap="innerHTML"></hx-partial>' in response.text
    assert "badge-on" in response.text
    assert shows(response.text, "card.enabled")


async def test_htmx_enable_opens_a_modal_fragment(client, svc):
    """Clicking Enable with htmx answers with the dialog fragment retargeted to #modal-root."""
    await signed_in_without_two_factor(client, svc)
    response = await post(client, "/profile/2fa/enable", htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<dialog")
    assert response.headers["HX-Retarget"] == "#modal-root"
    assert "<svg" in response.text


async def test_step_two_backup_code_is_active_after_enable(client, signed_out_with_2fa):
    """The backup code shown in step 2 signs in once 2FA is on."""
    await start_signin(client)
    response = await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == PROFILE
    assert client.cookies.get("mirox_session")


async def test_backup_code_of_the_dialog_is_stored_only_after_verify(client, svc, clock):
    """Before Verify and Enable, the step-2 backup code is not usable: the account has no backup code."""
    await signed_in_without_two_factor(client, svc)
    _, base, _ = await open_enable_dialog(client)
    await client.get(base + "/backup")
    assert (await user_row(svc))["backup_code_hash"] is None
    user = await store.get_user_by_key(svc.db, "alice")
    assert user is not None and not user.two_factor_on


async def test_enable_when_already_on_opens_no_new_setup(client, svc, clock):
    """Enable on an account with 2FA on starts no setup and says 2FA is already on."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    assert (await post(client, base, {"code": code(secret, clock)})).status_code == 303
    before = await user_row(svc)
    response = await post(client, "/profile/2fa/enable", htmx=True)
    assert "<svg" not in response.text
    assert shows(response.text, "enroll.already_on")
    response = await post(client, "/profile/2fa/enable")
    assert response.status_code == 303
    assert shows(security_card((await client.get(PROFILE)).text), "enroll.already_on")
    assert await user_row(svc) == before


async def test_expired_setup_names_the_button_and_the_dead_entry(client, svc, clock):
    """The expired setup says "Start again" (its button), to delete the earlier entry, and that the password comes first."""
    await signed_in_without_two_factor(client, svc)
    _, base, _ = await open_enable_dialog(client)
    clock.advance(svc.settings.enrollment_ttl + 1)
    page = await client.get(base + "/scan")
    assert page.status_code == 404
    assert shows(page.text, "enroll.expired", issuer="Mirox")
    assert "Click Start again" in message("enroll.expired", issuer="Mirox")
    assert "Click Enable" not in message("enroll.expired", issuer="Mirox")
    assert ">Start again</button>" in page.text
    assert shows(page.text, "enroll.asks_password")


async def test_reopening_enable_continues_and_a_new_secret_says_to_delete_the_old_entry(client, svc, clock):
    """Enable again in the same session continues the setup; after it expired, step 1 says to delete the dead entry."""
    await signed_in_without_two_factor(client, svc)
    secret, base, _ = await open_enable_dialog(client)
    again_secret, again_base, again = await open_enable_dialog(client)
    assert (again_secret, again_base) == (secret, base)
    assert shows(again.text, "enroll.continued", issuer="Mirox")
    clock.advance(svc.settings.enrollment_ttl + 1)  # the setup has expired, and the password window with it
    resumed = await post(client, "/profile/reauth", {"password": "correct horse battery", "then": "enable_2fa"})
    fresh = await client.get(resumed.headers["location"])  # Start again, after the password
    assert text_of(fresh.text, "manual-secret").replace(" ", "") != secret
    assert shows(fresh.text, "enroll.replaced", issuer="Mirox")
    wrong = await post(client, enrollment_path(fresh.text), {"code": "000000"})
    assert shows(wrong.text, "enroll.delete_earlier", issuer="Mirox")


async def test_step_one_offers_the_phone_link_and_names_account_issuer_and_alphabet(client, svc):
    """Step 1 links the otpauth:// URI (for the phone that cannot scan itself); Manual Entry names account, issuer
    and the secret's characters."""
    await signed_in_without_two_factor(client, svc)
    secret, _, step1 = await open_enable_dialog(client)
    link = re.search(r'<a class="btn primary" href="(otpauth://[^"]+)">([^<]+)</a>', step1.text)
    assert link and link.group(2) == message("enroll.phone_link")
    assert html.unescape(link.group(1)) == totp.provisioning_uri(secret, "alice", "Mirox")
    assert text_of(step1.text, "manual-account") == "alice"
    assert text_of(step1.text, "manual-issuer") == "Mirox"
    assert shows(step1.text, "enroll.secret_characters") and "A\u2013Z and the digits 2\u20137" in step1.text
