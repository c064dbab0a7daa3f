"""``/metrics``: the Prometheus text format, for operators' addresses or their bearer token only."""

import dataclasses

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.settings import Settings
from tests.utils import (
    PASSWORD,
    add_user,
    browser,
    code,
    isolated_state,
    sign_in,
    start_signin,
    submit_code,
    user_with_two_factor_signed_out,
    wrong_code,
)

TOKEN = "scrape-token-for-tests-0123456789"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, metrics_token=TOKEN)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


def value(found: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_refused_to_an_address_that_is_not_allowed(other_client):
    """From 10.0.0.9 (not loopback, not configured) /metrics is 403 and shows nothing."""
    response = await other_client.get("/metrics")
    assert response.status_code == 403
    assert "mirox_" not in response.text


async def test_a_configured_bearer_token_opens_metrics_from_anywhere(app):
    """The right token is let in from any address; a wrong or missing one is not."""
    async with browser(app, ip="203.0.113.5") as remote:
        assert (await remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 200
        assert (await remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})).status_code == 403
        assert (await remote.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})).status_code == 403
        assert (await remote.get("/metrics")).status_code == 403


async def test_sign_ins_move_the_counters_by_outcome_and_factor(client, svc, clock, app):
    """A wrong password, a wrong code and a code sign-in each count once, under their outcome and factor."""
    enrolled = await user_with_two_factor_signed_out(client, svc, clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=isolated_state(app)), base_url="http://testserver"
    ) as metrics_reader:
        before = await scrape(metrics_reader)
        assert (await sign_in(client, password=PASSWORD + "x")).status_code == 422
        await start_signin(client)
        assert (await submit_code(client, wrong_code(enrolled.secret, clock))).status_code == 422
        assert (await submit_code(client, code(enrolled.secret, clock))).status_code == 303
        after = await scrape(metrics_reader)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("mirox_signins_total", outcome="failure", factor="password") == 1
    assert moved("mirox_signins_total", outcome="failure", factor="totp") == 1
    assert moved("mirox_signins_total", outcome="success", factor="totp") == 1
    assert moved("mirox_signins_total", outcome="success", factor="password") == 0
    assert moved("mirox_request_duration_seconds_count", route="two_factor_submit", method="POST") == 2
    assert moved("mirox_request_duration_seconds_count", route="signin_submit", method="POST") == 2
    assert moved("mirox_argon2_queue_wait_seconds_count") >= 2
    assert ("mirox_db_pool_connections_in_use", ()) in after
    assert not any("/profile" in dict(labels).get("route", "") for _, labels in after)


async def test_throttled_attempts_are_counted(client, svc, settings):
    """A refused attempt after the free ones counts as throttled, by the factor it tried."""
    await add_user(svc)
    before = await scrape(client)
    for _ in range(settings.password_free_attempts + 1):
        await sign_in(client, password="wrong password")
    after = await scrape(client)
    name = "mirox_throttled_attempts_total"
    assert value(after, name, factor="password") - value(before, name, factor="password") >= 1
