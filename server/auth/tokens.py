"""Random tokens, their stored hashes, and CSRF tokens bound to a session."""

import base64
import hashlib
import hmac
import secrets

_CSRF_LABEL = b"mirox-csrf-v1\x00"


def new_token() -> str:
    """Return a new 256-bit URL-safe token (43 characters)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest stored in place of `token`."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_public_id() -> str:
    """Return a new 96-bit URL-safe identifier (16 characters) safe to show in URLs."""
    return secrets.token_urlsafe(12)


def csrf_token(key: bytes, binding: str) -> str:
    """Return the CSRF token for `binding` (e.g. a session id): HMAC-SHA256, URL-safe base64."""
    mac = hmac.new(key, _CSRF_LABEL + binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def csrf_ok(key: bytes, binding: str, presented: str | None) -> bool:
    """Check a presented CSRF token in constant time."""
    if not presented or not presented.isascii():
        return False
    return hmac.compare_digest(csrf_token(key, binding), presented)
