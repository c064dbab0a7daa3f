"""Static files: versioned URLs cached for a year, ETag revalidation otherwise, gzip for text.

Pages link to ``/static/NAME?v=HASH`` (``HASH`` a digest of the file's content), so a
browser keeps a file for a year and a deploy that changes it changes its URL. A request
without the current hash gets ``no-cache``: the browser revalidates it with the ETag
(``If-None-Match`` → 304).

Only static files are gzipped. Dynamic HTML is deliberately never compressed: its pages
carry CSRF tokens, TOTP secrets and backup codes next to text an attacker can influence
(usernames, user agents, query strings), and compressing them would let a BREACH attack
recover those secrets from response sizes.
"""

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import ASGIApp, Scope

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
IMMUTABLE = f"public, max-age={365 * 24 * 60 * 60}, immutable"


@lru_cache(maxsize=64)
def version(name: str) -> str:
    """A short digest of a static file's content, for its cache-busting URL (read once per process)."""
    try:
        return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


class _VersionedFiles(StaticFiles):
    """StaticFiles whose responses say how long they may be cached."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
        current = version(os.path.relpath(full_path, STATIC_DIR))
        response.headers["Cache-Control"] = IMMUTABLE if asked and asked == current else "no-cache"
        return response


def static_files() -> ASGIApp:
    """The ASGI app mounted at ``/static`` (gzip for text files of 512 bytes or more)."""
    return GZipMiddleware(_VersionedFiles(directory=STATIC_DIR), minimum_size=512, compresslevel=6)
