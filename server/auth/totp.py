"""RFC 6238 time-based one-time passwords: SHA1, 6 digits, 30-second steps."""

import re

import pyotp
from pyotp.exceptions import OTPVerificationError

STEP_SECONDS = 30
DIGITS = 6

_CODE = re.compile(r"[0-9]{6}")


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def new_secret() -> str:
    """Return a new 160-bit base32 secret (32 characters) from a CSPRNG."""
    return pyotp.random_base32(length=32)


def normalize_code(raw: str) -> str | None:
    """Strip all whitespace; return the code if it is exactly six ASCII digits, else None."""
    code = "".join(raw.split())
    return code if _CODE.fullmatch(code) else None


def matched_step(secret: str, code: str, now: float) -> int | None:
    """Return the time step `code` matches (previous, current or next step), or None."""
    normalized = normalize_code(code)
    if normalized is None:
        return None
    try:
        return _totp(secret).verify_and_get_timecode(normalized, for_time=now, valid_window=1)
    except OTPVerificationError:
        return None


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """Return `otpauth://totp/ISSUER:USERNAME?secret=…&issuer=ISSUER` for authenticator apps."""
    return _totp(secret).provisioning_uri(name=username, issuer_name=issuer)


def group_secret(secret: str) -> str:
    """Split the secret into space-separated groups of four for manual entry."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
