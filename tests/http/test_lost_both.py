"""Lost both phone and backup code: the code screens say whom to ask and what they can do."""

import dataclasses

import pytest

from server.settings import Settings
from tests.utils import BACKUP, TWO_FACTOR, shows, start_signin

CONTACT = "the IT help desk (extension 4321)"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, help_contact=CONTACT)


@pytest.mark.parametrize("screen", [TWO_FACTOR, BACKUP])
async def test_code_screens_name_the_configured_contact_and_the_reset(client, signed_out_with_2fa, screen):
    """The code and backup-code screens say: ask the configured contact, who can run user reset-2fa."""
    await start_signin(client)
    page = await client.get(screen)
    assert page.status_code == 200
    assert shows(page.text, "signin.lost_both", contact=CONTACT)
    assert "user reset-2fa" in page.text and CONTACT in page.text


def test_the_default_contact_is_the_administrator():
    """Without MIROX_HELP_CONTACT the screens say "Ask your administrator"."""
    assert Settings.from_env({}).help_contact == "your administrator"
    assert Settings.from_env({"MIROX_HELP_CONTACT": CONTACT}).help_contact == CONTACT
