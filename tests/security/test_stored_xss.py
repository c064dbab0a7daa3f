"""Stored XSS: user agents, forwarded addresses and usernames shown on Profile stay inert text."""

from html.parser import HTMLParser

import pytest

from server import store
from server.flows.account import username_key
from tests.security.helpers import behind_proxy_layer
from tests.utils import PASSWORD, PROFILE, sign_in

MARK = "pwned"
PAYLOADS = {
    "script": f"<script>{MARK}(1)</script>",
    "img onerror": f'"><img src=x onerror={MARK}(1)>',
    "htmx attributes": f'" hx-get="/{MARK}" hx-trigger="load',
    "single-quoted handler": f"' onmouseover='{MARK}(1)",
    "svg onload": f"<svg/onload={MARK}(1)>",
    "htmx in a tag": f'<div hx-get="/{MARK}" hx-trigger="load">x</div>',
}
TEXT_ATTRIBUTES = {"aria-label", "value", "title", "content", "alt"}


class Page(HTMLParser):
    """The elements of a page: (tag, attributes) in order, and its text."""

    def __init__(self, html_text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.script_text: list[str] = []
        self.in_script = False
        self.feed(html_text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))
        self.in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False

    def handle_data(self, data: str) -> None:
        (self.script_text if self.in_script else self.text).append(data)


def assert_inert(html_text: str) -> None:
    """No element or attribute came from a payload; only text and text-only attributes may carry it."""
    page = Page(html_text)
    for tag, attrs in page.elements:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            if MARK in name or MARK in (value or ""):
                assert name in TEXT_ATTRIBUTES, (tag, name, value)
        if tag == "script":
            assert dict(attrs).get("src", "").startswith("/static/"), attrs
        assert tag not in ("img", "svg", "div") or MARK not in repr(attrs), (tag, attrs)
    assert not "".join(page.script_text).strip(), "inline script"


def text_of_page(html_text: str) -> str:
    return "".join(Page(html_text).text)


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
async def test_user_agent_and_forwarded_address_are_inert_on_the_session_and_activity_lists(
    app, client, svc, settings, payload
):
    """A hostile User-Agent and a forwarded address (from a proxy that passed it on) render as text."""
    await store.create_user(svc.db, "alice", "alice", await svc.hasher.hash(PASSWORD), svc.clock())
    user_agents = [payload, f"Mozilla/5.0 (compatible; {payload}bot/2.1)"]
    proxy = settings.trusted_proxies.split(",")[0]
    for user_agent in user_agents:
        headers = {"User-Agent": user_agent, "X-Forwarded-For": payload}
        async with behind_proxy_layer(app, settings, proxy, headers) as hostile:
            assert (await sign_in(hostile)).status_code == 303
    await sign_in(client)
    for headers in ({}, {"HX-Request": "true"}):
        response = await client.get(PROFILE, headers=headers)
        assert response.status_code == 200
        assert_inert(response.text)
    page = (await client.get(PROFILE)).text
    assert payload in text_of_page(page), "the payload must reach the page (as text) for this test to mean anything"


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
async def test_username_is_inert_on_the_profile_and_sign_in_pages(client, svc, payload):
    """A username holding markup (from an older release or a direct import) renders as text everywhere."""
    created = await store.create_user(
        svc.db, payload, username_key(payload), await svc.hasher.hash(PASSWORD), svc.clock()
    )
    assert created
    failed = await sign_in(client, payload, "not the password")
    assert failed.status_code == 422
    assert_inert(failed.text)
    assert (await sign_in(client, payload)).status_code == 303
    page = await client.get(PROFILE)
    assert page.status_code == 200
    assert_inert(page.text)
    assert payload in text_of_page(page.text)
