"""Dialog results and dialog pages: what the page around them shows."""

import re

import pytest

from server.messages import EVENTS
from tests.utils import code, post


async def test_new_backup_code_refreshes_the_activity_list(client, clock, signed_in_with_2fa):
    """The htmx answer of New Backup Codes also replaces the page's activity list, which then lists the new code."""
    response = await post(
        client, "/profile/2fa/backup-code", {"code": code(signed_in_with_2fa.secret, clock)}, htmx=True
    )
    assert response.status_code == 200
    partial = re.search(
        r'<hx-partial hx-target="#activity" hx-swap="outerHTML">(.*?)</hx-partial>', response.text, re.S
    )
    assert partial, "the activity list is not part of the answer"
    assert EVENTS["2fa.new_backup"] in partial.group(1)


@pytest.mark.parametrize("path", ["/profile/2fa/check", "/profile/2fa/disable", "/profile/password", "/nowhere"])
async def test_dialog_pages_without_javascript_have_one_h1(client, signed_in_with_2fa, path):
    """Without JavaScript a dialog (or an error) is a page of its own, with exactly one top-level heading."""
    response = await client.get(path)
    assert len(re.findall(r"<h1\b", response.text)) == 1, response.text[:400]
