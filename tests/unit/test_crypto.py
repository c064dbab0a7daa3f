"""Tests for server.auth.crypto."""

import base64
import hashlib
import os
import re
import stat
from pathlib import Path

import pytest

from server.auth.crypto import (
    KEY_BYTES,
    SEALED_PREFIX_LENGTH,
    Keyring,
    SealError,
    key_id_of,
    load_or_create_key_file,
    new_key_text,
    parse_keys,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
CONTEXT = "totp:user:42"


def _b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_roundtrip() -> None:
    """A sealed value opens to the same text, including non-ASCII text."""
    ring = Keyring([KEY_A])
    for text in ["JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "", "pässwörd ✓"]:
        assert ring.open(ring.seal(text, CONTEXT), CONTEXT) == text


def test_sealed_format_and_no_plaintext() -> None:
    """Sealed values are v1:<kid>:<urlsafe b64 of 12-byte nonce + ciphertext + 16-byte tag>."""
    ring = Keyring([KEY_A])
    sealed = ring.seal("SECRETSECRET", CONTEXT)
    match = re.fullmatch(r"v1:([0-9a-f]{8}):([A-Za-z0-9_-]+=*)", sealed)
    assert match is not None
    assert match.group(1) == hashlib.sha256(KEY_A).hexdigest()[:8] == Keyring.key_id(KEY_A)
    assert len(base64.urlsafe_b64decode(match.group(2))) == 12 + len("SECRETSECRET") + 16
    assert "SECRETSECRET" not in sealed


def test_nonce_is_fresh_each_time() -> None:
    """Sealing the same text twice gives different values."""
    ring = Keyring([KEY_A])
    assert ring.seal("same", CONTEXT) != ring.seal("same", CONTEXT)


def test_tampered_ciphertext_is_rejected() -> None:
    """Flipping any byte of nonce, ciphertext or tag makes open fail."""
    ring = Keyring([KEY_A])
    sealed = ring.seal("secret", CONTEXT)
    prefix, payload = sealed.rsplit(":", 1)
    blob = base64.urlsafe_b64decode(payload)
    for index in (0, 11, 12, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[index] ^= 1
        with pytest.raises(SealError):
            ring.open(f"{prefix}:{base64.urlsafe_b64encode(bytes(tampered)).decode()}", CONTEXT)


def test_wrong_context_is_rejected() -> None:
    """A value sealed for one user cannot be opened as another user's."""
    ring = Keyring([KEY_A])
    with pytest.raises(SealError):
        ring.open(ring.seal("secret", "totp:user:42"), "totp:user:43")


@pytest.mark.parametrize(
    "sealed",
    ["", "garbage", "v1:abc", "v2:00000000:AAAA", "v1:00000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
)
def test_malformed_values_are_rejected(sealed: str) -> None:
    """Malformed values, other versions and unknown key ids raise SealError."""
    with pytest.raises(SealError):
        Keyring([KEY_A]).open(sealed, CONTEXT)


@pytest.mark.parametrize("payload", ["!!!!", "AAAA", "A" * 36, "AAAA AAAA"])
def test_bad_payload_is_rejected(payload: str) -> None:
    """Invalid base64 or a payload too short for nonce and tag raises SealError."""
    with pytest.raises(SealError):
        Keyring([KEY_A]).open(f"v1:{Keyring.key_id(KEY_A)}:{payload}", CONTEXT)


def test_rotation() -> None:
    """After rotation, old values still open, need resealing, and new values use the new key."""
    old_ring, new_ring = Keyring([KEY_A]), Keyring([KEY_B, KEY_A])
    old_sealed = old_ring.seal("secret", CONTEXT)
    assert not old_ring.needs_reseal(old_sealed)
    assert new_ring.open(old_sealed, CONTEXT) == "secret"
    assert new_ring.needs_reseal(old_sealed)
    resealed = new_ring.seal("secret", CONTEXT)
    assert resealed.startswith(f"v1:{Keyring.key_id(KEY_B)}:")
    assert not new_ring.needs_reseal(resealed)
    assert new_ring.current_key_id == Keyring.key_id(KEY_B)
    with pytest.raises(SealError):
        Keyring([KEY_B]).open(old_sealed, CONTEXT)


def test_needs_reseal_for_malformed_value() -> None:
    """Anything not sealed with the current key needs resealing."""
    assert Keyring([KEY_A]).needs_reseal("garbage")


@pytest.mark.parametrize("keys", [[], [b"short"], [KEY_A, b"x" * 31], [b"x" * 33]])
def test_keyring_rejects_bad_keys(keys: list[bytes]) -> None:
    """A keyring needs at least one key, all exactly 32 bytes."""
    with pytest.raises(ValueError):
        Keyring(keys)


def test_parse_keys_separators_and_order() -> None:
    """Keys may be separated by commas, spaces or newlines, padded or not; order is kept."""
    text = f" {_b64(KEY_A)},{_b64(KEY_B).rstrip('=')}\n\n{_b64(KEY_A)} "
    assert parse_keys(text) == [KEY_A, KEY_B, KEY_A]
    assert parse_keys(f"{_b64(KEY_B)}, {_b64(KEY_A)}") == [KEY_B, KEY_A]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no encryption keys"),
        (" , \n", "no encryption keys"),
        ("not*base64", "#1 is not URL-safe base64"),
        (f"{_b64(KEY_A)},{_b64(b'x' * 16)}", "#2 decodes to 16 bytes, expected 32"),
        (base64.b64encode(b"\xfb" * 32).decode(), "#1 is not URL-safe base64"),
    ],
)
def test_parse_keys_errors(text: str, message: str) -> None:
    """Bad key text raises ValueError with a clear message."""
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_keys(text)


def test_new_key_text_is_random_32_bytes() -> None:
    """New keys parse back to one 32-byte key and differ between calls."""
    first, second = new_key_text(), new_key_text()
    assert first != second
    assert [len(key) for key in parse_keys(first)] == [32]


def test_key_file_created_private(tmp_path: Path) -> None:
    """A missing key file is created (with parent directories) with mode 0600 and reused."""
    path = tmp_path / "state" / "keys" / "seal.keys"
    keys = load_or_create_key_file(path)
    assert len(keys) == 1 and len(keys[0]) == 32
    assert _mode(path) == 0o600
    assert load_or_create_key_file(path) == keys
    assert parse_keys(path.read_text()) == keys
    assert [p.name for p in path.parent.iterdir()] == ["seal.keys"]  # no temp file left behind


def test_key_file_private_despite_permissive_umask(tmp_path: Path) -> None:
    """The key file is 0600 even with umask 000."""
    old = os.umask(0)
    try:
        path = tmp_path / "seal.keys"
        load_or_create_key_file(path)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600


def test_key_file_with_several_keys(tmp_path: Path) -> None:
    """Existing files may hold several keys, one per line, first is current."""
    path = tmp_path / "seal.keys"
    path.write_text(f"{_b64(KEY_B)}\n{_b64(KEY_A)}\n")
    path.chmod(0o600)
    keys = load_or_create_key_file(path)
    assert keys == [KEY_B, KEY_A]
    assert Keyring(keys).current_key_id == Keyring.key_id(KEY_B)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_refused_when_readable_by_others(tmp_path: Path, mode: int) -> None:
    """A key file that group or others can read is refused."""
    path = tmp_path / "seal.keys"
    path.write_text(_b64(KEY_A) + "\n")
    path.chmod(mode)
    with pytest.raises(ValueError, match="chmod 600"):
        load_or_create_key_file(path)


def test_key_file_with_garbage_is_refused(tmp_path: Path) -> None:
    """A key file that does not hold valid keys raises ValueError."""
    path = tmp_path / "seal.keys"
    path.write_text("hello world\n")
    path.chmod(0o600)
    with pytest.raises(ValueError, match=r"not URL-safe base64|decodes to"):
        load_or_create_key_file(path)


def test_key_id_is_read_from_a_sealed_value_or_its_prefix_without_any_key():
    """The start-up check names the key of stored secrets from their first characters alone."""
    keyring = Keyring([os.urandom(KEY_BYTES)])
    sealed = keyring.seal("secret", "ctx")
    assert key_id_of(sealed) == keyring.current_key_id
    assert key_id_of(sealed[:SEALED_PREFIX_LENGTH]) == keyring.current_key_id
    assert keyring.has_key(keyring.current_key_id) and not keyring.has_key("00000000")
    assert key_id_of("not sealed") is None
