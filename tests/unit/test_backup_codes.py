"""Tests for server.auth.backup_codes."""

import pytest

from server.auth import backup_codes

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_alphabet_is_crockford() -> None:
    """The alphabet is Crockford base32: 32 symbols without I, L, O, U."""
    assert backup_codes.ALPHABET == ALPHABET
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_new_code_is_8_alphabet_characters() -> None:
    """New codes are 8 alphabet characters (40 bits) and differ between calls."""
    codes = [backup_codes.new_code() for _ in range(200)]
    assert all(len(code) == 8 and set(code) <= set(ALPHABET) for code in codes)
    assert len(set(codes)) == 200


def test_new_code_uses_whole_alphabet() -> None:
    """Over many codes every alphabet symbol appears (no truncated alphabet)."""
    seen = set("".join(backup_codes.new_code() for _ in range(500)))
    assert seen == set(ALPHABET)


def test_new_code_normalizes_to_itself() -> None:
    """A freshly generated code is already canonical."""
    code = backup_codes.new_code()
    assert backup_codes.normalize(code) == code
    assert backup_codes.normalize(backup_codes.display(code)) == code


@pytest.mark.parametrize(
    "raw",
    ["abcd-efgh", " ABCD EFGH ", "abcdefgh", "ABCD-EFGH", "aBcD\tEfGh\n", "ab-cd-ef-gh", "abcd - efgh"],
)
def test_normalize_variants(raw: str) -> None:
    """Case, spaces, tabs and hyphens do not matter."""
    assert backup_codes.normalize(raw) == "ABCDEFGH"


@pytest.mark.parametrize(("raw", "expected"), [("o0Oo-1iIl", "00001111"), ("LOIL-zzzz", "1011ZZZZ")])
def test_normalize_crockford_aliases(raw: str, expected: str) -> None:
    """O reads as 0, I and L read as 1."""
    assert backup_codes.normalize(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ABCD-EFG",
        "ABCDEFGHJ",
        "ABCD-EFGU",
        "uuuuuuuu",
        "ABCD_EFGH",
        "ABCD.EFGH",
        "ABCD\u00c9FGH",
        "ABCD\u0131FGH",  # dotless i upper-cases to I: must not become 1
        "\uff21\uff22\uff23\uff24\uff25\uff26\uff27\uff28",  # fullwidth ABCDEFGH
    ],
)
def test_normalize_rejects_invalid(raw: str) -> None:
    """Wrong lengths, U, punctuation and non-ASCII characters are rejected."""
    assert backup_codes.normalize(raw) is None


def test_display_groups_of_four() -> None:
    """Codes are displayed as XXXX-XXXX."""
    assert backup_codes.display("ABCDEFGH") == "ABCD-EFGH"


def test_display_rejects_wrong_length() -> None:
    """display refuses something that is not a canonical code."""
    with pytest.raises(ValueError):
        backup_codes.display("ABC")
