"""``next=`` under a root path: dot segments (plain, percent-encoded, mixed) never lead outside the app."""

import httpx
import pytest

from tests.utils import PASSWORD, add_user, csrf_of, isolated_state

ESCAPES = [
    "/security/../../evil",
    "/security/../evil",
    "/security/..",
    "/security/%2e%2e/x",
    "/security/%2E%2E/x",
    "/security/.%2e/x",
    "/security/%2e./x",
    "/security/%252e%252e/x",
    "/security/./../evil",
    "/security/..//evil.example",
    "/security/..\\evil.example",
    "/security/%5c..%5cevil",
    "/security/profile/%2e%2e/%2e%2e/evil",
    "/security/.",
    "/security/%2e",
    "/securityevil",
]


async def _signin_with_next(client: httpx.AsyncClient, root: str, target: str) -> str:
    page = await client.get(f"{root}/signin")
    response = await client.post(
        f"{root}/signin",
        data={"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD, "next": target},
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


@pytest.fixture
async def under_root(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=isolated_state(app), root_path="/security")  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as b:
        yield b


@pytest.mark.parametrize("target", ESCAPES)
async def test_next_with_dot_segments_cannot_leave_the_root_path(under_root, svc, target):
    """Under ``--root-path /security``, ``next`` with ``..`` (encoded or not) leads to the start page instead."""
    await add_user(svc)
    assert await _signin_with_next(under_root, "/security", target) == "/security/"


@pytest.mark.parametrize("target", ["/../evil", "/%2e%2e/evil", "/./profile", "/profile/../../evil"])
async def test_next_with_dot_segments_is_refused_without_a_root_path(client, svc, target):
    """Without a root path, ``next`` with dot segments leads to the start page too."""
    await add_user(svc)
    assert await _signin_with_next(client, "", target) == "/"


@pytest.mark.parametrize("target", ["/security/profile", "/security/profile?x=1", "/security/a..b/c"])
async def test_next_inside_the_root_path_still_works(under_root, svc, target):
    """Plain paths under the root path (a name merely containing dots included) are kept."""
    await add_user(svc)
    assert await _signin_with_next(under_root, "/security", target) == target
