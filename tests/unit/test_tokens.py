"""Tests for server.auth.tokens."""

import base64
import hashlib
import re

import pytest

from server.auth import tokens

URLSAFE = re.compile(r"[A-Za-z0-9_-]+")


def _decoded_length(text: str) -> int:
    return len(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def test_new_token_is_256_bits_urlsafe_and_unique() -> None:
    """Tokens are 43 URL-safe characters carrying 32 random bytes, never repeated."""
    values = [tokens.new_token() for _ in range(200)]
    assert len(set(values)) == 200
    for value in values:
        assert URLSAFE.fullmatch(value)
        assert _decoded_length(value) == 32


def test_new_public_id_is_96_bits() -> None:
    """Public ids are 16 URL-safe characters carrying 12 random bytes."""
    values = {tokens.new_public_id() for _ in range(200)}
    assert len(values) == 200
    for value in values:
        assert len(value) == 16 and URLSAFE.fullmatch(value)
        assert _decoded_length(value) == 12


def test_token_hash_is_sha256_hex() -> None:
    """The stored hash is the SHA-256 hex digest of the token."""
    token = tokens.new_token()
    assert tokens.token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", tokens.token_hash(token))
    assert tokens.token_hash(token) != tokens.token_hash(tokens.new_token())


KEY = b"k" * 32


def test_csrf_token_shape_and_determinism() -> None:
    """CSRF tokens are deterministic, unpadded URL-safe base64 of a 32-byte MAC."""
    token = tokens.csrf_token(KEY, "session-1")
    assert token == tokens.csrf_token(KEY, "session-1")
    assert URLSAFE.fullmatch(token) and "=" not in token
    assert _decoded_length(token) == 32


def test_csrf_token_depends_on_binding_and_key() -> None:
    """Different bindings or keys give different tokens."""
    token = tokens.csrf_token(KEY, "session-1")
    assert token != tokens.csrf_token(KEY, "session-2")
    assert token != tokens.csrf_token(b"x" * 32, "session-1")


def test_csrf_ok_accepts_matching_token() -> None:
    """The token made for a binding is accepted for it."""
    assert tokens.csrf_ok(KEY, "session-1", tokens.csrf_token(KEY, "session-1"))


@pytest.mark.parametrize(
    "presented",
    [
        None,
        "",
        tokens.csrf_token(KEY, "session-2"),
        tokens.csrf_token(b"x" * 32, "session-1"),
        tokens.csrf_token(KEY, "session-1")[:-1],
        tokens.csrf_token(KEY, "session-1") + "=",
        "é" * 43,
    ],
)
def test_csrf_ok_rejects_others(presented: str | None) -> None:
    """Missing, foreign, truncated, padded or non-ASCII tokens are rejected."""
    assert not tokens.csrf_ok(KEY, "session-1", presented)
