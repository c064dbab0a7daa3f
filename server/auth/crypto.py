"""AES-256-GCM sealing of small secrets, with key rotation."""

import base64
import contextlib
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
_VERSION = "v1"
_URLSAFE_B64 = re.compile(r"[A-Za-z0-9_-]*={0,2}")


SEALED_PREFIX_LENGTH = len(_VERSION) + 1 + 8
"""Characters of a sealed value that name its key: ``v1:<kid>``."""


class SealError(Exception):
    """A sealed value could not be opened (unknown key, tampered, or wrong context)."""


def _b64decode(text: str) -> bytes:
    """Strictly decode URL-safe base64 (no "+" or "/"), padding optional."""
    if not _URLSAFE_B64.fullmatch(text):
        raise ValueError("not URL-safe base64")
    unpadded = text.rstrip("=")
    return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))


class Keyring:
    """AES-GCM keys; the first one seals, all of them open."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._aeads: dict[str, AESGCM] = {}
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"keys must be {KEY_BYTES} bytes, got {len(key)}")
            self._aeads.setdefault(self.key_id(key), AESGCM(key))
        self._current = self.key_id(keys[0])

    @staticmethod
    def key_id(key: bytes) -> str:
        """Return the public id of a key: the first 8 hex characters of its SHA-256."""
        return hashlib.sha256(key).hexdigest()[:8]

    def has_key(self, kid: str) -> bool:
        """Whether a value sealed with key ``kid`` can be opened here."""
        return kid in self._aeads

    @property
    def current_key_id(self) -> str:
        """The id of the key used for sealing."""
        return self._current

    def seal(self, plaintext: str, context: str) -> str:
        """Encrypt `plaintext` bound to `context`: `v1:<kid>:<urlsafe b64 of nonce + ciphertext>`."""
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = self._aeads[self._current].encrypt(nonce, plaintext.encode(), context.encode())
        payload = base64.urlsafe_b64encode(nonce + ciphertext).decode("ascii")
        return f"{_VERSION}:{self._current}:{payload}"

    def open(self, sealed: str, context: str) -> str:
        """Decrypt a sealed value; raise SealError unless it is authentic for `context`."""
        _, kid, payload = _split(sealed)
        aead = self._aeads.get(kid)
        if aead is None:
            raise SealError(f"sealed with unknown key {kid!r}")
        try:
            blob = _b64decode(payload)
        except ValueError as exc:  # includes binascii.Error
            raise SealError("sealed value is not valid base64") from exc
        if len(blob) < _NONCE_BYTES + _TAG_BYTES:
            raise SealError("sealed value is too short")
        try:
            plaintext = aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context.encode())
        except InvalidTag as exc:
            raise SealError("sealed value was tampered with or belongs to another context") from exc
        return plaintext.decode()

    def needs_reseal(self, sealed: str) -> bool:
        """True unless `sealed` was sealed with the current key."""
        try:
            _, kid, _ = _split(sealed)
        except SealError:
            return True
        return kid != self._current


def key_id_of(sealed: str) -> str | None:
    """The id of the key a sealed value (or its first ``SEALED_PREFIX_LENGTH`` characters) names; no key needed."""
    parts = sealed.split(":", 2)
    return parts[1] if len(parts) >= 2 and parts[0] == _VERSION and parts[1] else None


def _split(sealed: str) -> tuple[str, str, str]:
    parts = sealed.split(":", 2)
    if len(parts) != 3 or parts[0] != _VERSION:
        raise SealError("not a v1 sealed value")
    return parts[0], parts[1], parts[2]


def parse_keys(text: str) -> list[bytes]:
    """Parse comma- or whitespace-separated URL-safe base64 keys of 32 bytes (first = current)."""
    items = [item for item in re.split(r"[\s,]+", text) if item]
    if not items:
        raise ValueError("no encryption keys found")
    keys = []
    for number, item in enumerate(items, start=1):
        try:
            key = _b64decode(item)
        except ValueError:
            raise ValueError(f"encryption key #{number} is not URL-safe base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(f"encryption key #{number} decodes to {len(key)} bytes, expected {KEY_BYTES}")
        keys.append(key)
    return keys


def new_key_text() -> str:
    """Return a new random 32-byte key as URL-safe base64."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def load_or_create_key_file(path: Path) -> list[bytes]:
    """Read keys from `path` (one per line, first = current), creating it with mode 0600 if missing.

    Refuses a file that group or others may access.
    """
    if not path.exists():
        _create_key_file(path)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, encoding="utf-8", errors="replace") as file:
        mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
        if mode & 0o077:
            raise ValueError(
                f"key file {path} has mode {mode:04o}; it must not be group/world accessible (chmod 600 it)"
            )
        return parse_keys(file.read())


def _create_key_file(path: Path) -> None:
    """Write a new key file atomically: private temp file, then hard-link into place."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(new_key_text() + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
