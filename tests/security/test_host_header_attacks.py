"""Host header: a forged ``Host`` never ends up in a redirect, and an allow-list refuses unknown names."""

import dataclasses

import httpx
import pytest
from asgi_lifespan import LifespanManager

from server.app import create_app
from tests.utils import isolated_state


@pytest.mark.parametrize("path", ["/profile/", "/signin/", "/profile/2fa/check/", "/setup/"])
async def test_trailing_slash_does_not_redirect_to_the_forged_host(client, path):
    """``GET /profile/`` with ``Host: evil.com`` is a 404, never a redirect to http://evil.com/profile."""
    response = await client.get(path, headers={"Host": "evil.com"})
    assert response.status_code == 404
    assert "evil.com" not in response.headers.get("location", "")


async def _answer(application: object, host: str) -> httpx.Response:
    async with LifespanManager(application) as manager:  # type: ignore[arg-type]
        transport = httpx.ASGITransport(app=isolated_state(manager))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as b:
            return await b.get("/signin")


async def test_every_host_is_answered_by_default(settings, clock):
    """Without ``MIROX_ALLOWED_HOSTS`` every host name is answered, as before (existing deployments)."""
    assert (await _answer(create_app(settings, clock=clock, announce=print), "anything.example")).status_code == 200


async def test_allowed_hosts_refuse_a_rebound_host_name(settings, clock):
    """With ``MIROX_ALLOWED_HOSTS`` set, a request for another name (DNS rebinding) gets 400 and no page."""
    limited = dataclasses.replace(settings, allowed_hosts=("security.plant.example", "*.intranet.example"))
    refused = await _answer(create_app(limited, clock=clock, announce=print), "evil.example")
    assert refused.status_code == 400
    assert "csrf" not in refused.text
    for host in ("security.plant.example", "security.plant.example:8443", "a.intranet.example"):
        assert (await _answer(create_app(limited, clock=clock, announce=print), host)).status_code == 200
