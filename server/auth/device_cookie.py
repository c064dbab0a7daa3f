"""Device cookies: ``<user id>.<token>.<HMAC>``, a browser's proof that it completed a sign-in to an account.

The HMAC (keyed with a key derived from the server's first key) rejects forged or altered
cookies before the database is asked; only the token's hash is stored, so a copy of the
database gives no working cookie. The account's rows are the revocation list.
"""

import base64
import hashlib
import hmac
import re

from server.auth.tokens import new_token

_LABEL = b"mirox-device-v1\x00"
_SHAPE = re.compile(r"([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})")


def derive_key(master: bytes) -> bytes:
    """The key that signs device cookies, derived from the server's first key."""
    return hmac.new(master, b"mirox device cookie", hashlib.sha256).digest()


def _mac(key: bytes, user_id: int, token: str) -> str:
    digest = hmac.new(key, _LABEL + f"{user_id}.{token}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue(key: bytes, user_id: int) -> tuple[str, str]:
    """A new cookie value for the account and the token in it (store only the token's hash)."""
    token = new_token()
    return f"{user_id}.{token}.{_mac(key, user_id, token)}", token


def read(key: bytes, value: str | None) -> tuple[int, str] | None:
    """(user id, token) of a well-formed cookie whose HMAC is right (constant-time compare); else None."""
    match = _SHAPE.fullmatch(value or "")
    if match is None:
        return None
    user_id, token, mac = int(match.group(1)), match.group(2), match.group(3)
    return (user_id, token) if hmac.compare_digest(mac, _mac(key, user_id, token)) else None
