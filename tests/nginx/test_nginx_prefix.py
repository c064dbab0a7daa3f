"""The README's path-prefix configuration in a real nginx: Mirox at ``https://portal.plant.example/security/``."""

from collections.abc import Iterator

import pytest

from tests.nginx.harness import PORTAL_HOST, Stack, available, running_stack
from tests.servers import PASSWORD, submit


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not available():
        pytest.skip("Debian's nginx and openssl are not installed (bash .ci/run installs them)")
    with running_stack(tmp_path_factory.mktemp("prefix"), root_path="/security") as running:
        yield running


async def test_under_the_prefix_links_and_redirects_keep_it(portal):
    """Sign-in page, form action and the redirect after the password all carry ``/security``."""
    portal.add_user("quinn")
    base = f"https://{PORTAL_HOST}:{portal.port}/security"
    async with portal.browser() as b:
        page = await b.get(base + "/signin")
        assert page.status_code == 200
        assert 'action="/security/signin"' in page.text
        response = await submit(b, base + "/signin", base + "/signin", {"username": "quinn", "password": PASSWORD})
        assert response.status_code == 303
        assert response.headers["location"] == "/security/"
        assert "Quinn" in (await b.get(base + "/profile")).text or "quinn" in (await b.get(base + "/profile")).text


async def test_the_bare_prefix_redirects_to_its_folder(portal):
    """``/security`` (no slash) is sent to ``/security/``."""
    async with portal.browser() as b:
        response = await b.get(f"https://{PORTAL_HOST}:{portal.port}/security")
    assert response.status_code == 301
    assert response.headers["location"].endswith("/security/")
