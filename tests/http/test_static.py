"""Static files: versioned URLs cached for a year, ETag revalidation, gzip for text files and never for pages."""

import re

from server.static import IMMUTABLE
from tests.utils import add_user, sign_in

GZIP = {"Accept-Encoding": "gzip"}


async def linked_assets(client) -> list[str]:
    page = await client.get("/signin")
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)


async def test_pages_link_static_files_by_content_version_and_those_are_kept_a_year(client, svc):
    """Every asset a page links carries its content hash, and that URL may be cached for a year."""
    assets = await linked_assets(client)
    assert {a.split("?")[0] for a in assets} >= {"/static/app.css", "/static/app.js", "/static/htmx-4.0.1.min.js"}
    for asset in assets:
        assert re.search(r"\?v=[0-9a-f]{16}$", asset), asset
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert response.headers["cache-control"] == IMMUTABLE, asset


async def test_a_stale_or_missing_version_is_revalidated_not_kept(client, svc):
    """Only the current content hash is cached for a year; any other URL of the file is revalidated."""
    for url in ("/static/app.js", "/static/app.js?v=0123456789abcdef"):
        response = await client.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache", url


async def test_revalidation_with_the_etag_answers_304_without_a_body(client, svc):
    """A browser presenting the file's ETag gets 304 Not Modified and no body."""
    first = await client.get("/static/app.css", headers=GZIP)
    etag = first.headers["etag"]
    again = await client.get("/static/app.css", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


async def test_static_text_files_are_gzipped(client, svc):
    """JavaScript and CSS go out compressed to browsers that accept gzip, and decompress to the file."""
    for name in ("app.js", "app.css", "htmx-4.0.1.min.js"):
        response = await client.get(f"/static/{name}", headers=GZIP)
        assert response.headers["content-encoding"] == "gzip", name
        assert "Accept-Encoding" in response.headers["vary"], name
        assert int(response.headers["content-length"]) < len(response.content), name


async def test_pages_with_secrets_are_never_compressed(client, svc):
    """Pages carrying CSRF tokens and account data are sent uncompressed (no BREACH length oracle)."""
    await add_user(svc)
    await sign_in(client)
    for url, headers in (("/profile", {}), ("/profile", {"HX-Request": "true"}), ("/signin", {})):
        response = await client.get(url, headers={**GZIP, **headers})
        assert response.status_code in (200, 303), url
        assert "content-encoding" not in response.headers, url
