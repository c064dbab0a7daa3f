"""Single-use backup codes: 8 Crockford base32 characters (40 bits)."""

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8

_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_ALLOWED = frozenset(ALPHABET)


def new_code() -> str:
    """Return a new random code of 8 alphabet characters."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(raw: str) -> str | None:
    """Return the canonical code for user input, or None if it is not a valid code.

    Case-insensitive; whitespace and hyphens are ignored; O reads as 0, I and L as 1.
    """
    compact = "".join(raw.split()).replace("-", "")
    if not compact.isascii():
        return None
    code = compact.upper().translate(_ALIASES)
    if len(code) != LENGTH or not _ALLOWED.issuperset(code):
        return None
    return code


def display(code: str) -> str:
    """Format a canonical code as XXXX-XXXX."""
    if len(code) != LENGTH:
        raise ValueError(f"backup codes have {LENGTH} characters")
    return f"{code[:4]}-{code[4:]}"
