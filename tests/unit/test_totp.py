"""Tests for server.auth.totp."""

import base64
import subprocess
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest

from server.auth import totp
from tests.peek import code_at

RFC_SEED = b"12345678901234567890"
RFC_SECRET = base64.b32encode(RFC_SEED).decode()
RFC_SHA1_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
FIXED_SECRETS = [RFC_SECRET, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "GRUSAOJWSZAKQWYM6YLVNZOHGUA7MXOT"]
INTEROP_TIMES = [1_700_000_000, 1_700_000_010, 1_700_000_029, 1_700_000_030, 1_766_000_059, 2_000_000_000]


@pytest.mark.parametrize(("when", "expected"), RFC_SHA1_VECTORS)
def test_library_matches_rfc6238_sha1_vectors(when: int, expected: str) -> None:
    """pyotp reproduces the RFC 6238 SHA1 8-digit vectors."""
    assert pyotp.TOTP(RFC_SECRET, digits=8).at(when) == expected


@pytest.mark.parametrize(("when", "expected"), RFC_SHA1_VECTORS)
def test_six_digit_codes_are_rfc_vector_suffixes(when: int, expected: str) -> None:
    """Six-digit codes are the last six digits of the RFC vectors and match the right step."""
    assert code_at(RFC_SECRET, when) == expected[-6:]
    assert totp.matched_step(RFC_SECRET, expected[-6:], when) == when // 30


def test_constants() -> None:
    """The module uses 30-second steps and 6 digits."""
    assert (totp.STEP_SECONDS, totp.DIGITS) == (30, 6)


def test_new_secret_is_160_bits_and_random() -> None:
    """Secrets are 32 base32 characters decoding to 20 bytes, different every time."""
    secrets = {totp.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert len(secret) == 32
        assert len(base64.b32decode(secret)) == 20


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("123456", "123456"), (" 123 456 ", "123456"), ("12\t34\n56", "123456"), ("000000", "000000")],
)
def test_normalize_code_accepts_six_digits(raw: str, expected: str) -> None:
    """Whitespace is stripped from six-digit codes."""
    assert totp.normalize_code(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "1234567",
        "12345a",
        "12-456",
        "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # fullwidth digits
    ],
)
def test_normalize_code_rejects_other_input(raw: str) -> None:
    """Anything other than exactly six ASCII digits is rejected."""
    assert totp.normalize_code(raw) is None


@pytest.mark.parametrize("offset", [-30, 0, 30])
def test_matched_step_accepts_adjacent_steps(offset: int) -> None:
    """A code is accepted one step early, on time and one step late, returning its own step."""
    secret = totp.new_secret()
    issued_at = 1_700_000_015.5
    code = code_at(secret, issued_at)
    assert totp.matched_step(secret, code, issued_at + offset) == int(issued_at) // 30


@pytest.mark.parametrize("offset", [-60, 60, 90])
def test_matched_step_rejects_distant_steps(offset: int) -> None:
    """A code two or more steps away is rejected."""
    secret = FIXED_SECRETS[1]
    issued_at = 1_700_000_015.5
    code = code_at(secret, issued_at)
    now = issued_at + offset
    # guard against a coincidental match with a code of the window at `now`
    assert code not in {code_at(secret, now + d) for d in (-30, 0, 30)}
    assert totp.matched_step(secret, code, now) is None


def test_matched_step_normalizes_whitespace() -> None:
    """Codes typed with spaces are accepted."""
    secret = FIXED_SECRETS[1]
    code = code_at(secret, 1_700_000_000)
    assert totp.matched_step(secret, f" {code[:3]} {code[3:]} ", 1_700_000_000) == 1_700_000_000 // 30


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12345678901234567890"])
def test_matched_step_rejects_malformed_codes(code: str) -> None:
    """Malformed codes give None rather than an exception."""
    assert totp.matched_step(FIXED_SECRETS[1], code, 1_700_000_000) is None


def test_matched_step_rejects_code_for_other_secret() -> None:
    """A code from a different secret is rejected."""
    now = 1_700_000_000
    code = code_at(FIXED_SECRETS[0], now)
    assert code != code_at(FIXED_SECRETS[1], now)
    assert totp.matched_step(FIXED_SECRETS[1], code, now) is None


def _oath_code(oathtool: str, secret: str, when: int) -> str:
    result = subprocess.run(
        [oathtool, "--totp", "-b", secret, "--now", f"@{when}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return result.stdout.strip()


@pytest.mark.parametrize("secret", FIXED_SECRETS)
@pytest.mark.parametrize("when", INTEROP_TIMES)
def test_oathtool_codes_interoperate(oathtool: str, secret: str, when: int) -> None:
    """Codes from Debian's oathtool match code_at and are accepted at the right steps only."""
    code = _oath_code(oathtool, secret, when)
    assert len(code) == 6
    assert code == code_at(secret, when)
    step = when // 30
    for offset in (-30, 0, 30):
        assert totp.matched_step(secret, code, when + offset) == step
    for offset in (-60, 60):
        assert totp.matched_step(secret, code, when + offset) is None


def test_oathtool_accepts_our_codes(oathtool: str) -> None:
    """oathtool validates a code produced by code_at (oathtool prints the matching offset)."""
    secret, when = FIXED_SECRETS[2], 1_700_000_000
    result = subprocess.run(
        [oathtool, "--totp", "-b", secret, "--now", f"@{when}", code_at(secret, when)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_provisioning_uri_exact_shape() -> None:
    """The URI has the otpauth label ISSUER:USERNAME, the secret and the issuer, nothing else."""
    secret = FIXED_SECRETS[1]
    assert totp.provisioning_uri(secret, "alice", "Mirox") == (
        f"otpauth://totp/Mirox:alice?secret={secret}&issuer=Mirox"
    )


def test_provisioning_uri_quotes_special_characters() -> None:
    """Spaces and symbols are URL-quoted and survive a round trip."""
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "alice+x@example.com", "Mirox & Co")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/Mirox & Co:alice+x@example.com"
    assert " " not in uri
    assert parse_qs(parts.query) == {"secret": [secret], "issuer": ["Mirox & Co"]}
    parsed = pyotp.parse_uri(uri)
    assert (parsed.secret, parsed.name, parsed.issuer) == (secret, "alice+x@example.com", "Mirox & Co")


def test_group_secret_groups_of_four() -> None:
    """Manual-entry secrets are shown in space-separated groups of four."""
    assert totp.group_secret("ABCDEFGHIJKLMNOP") == "ABCD EFGH IJKL MNOP"
    secret = totp.new_secret()
    grouped = totp.group_secret(secret)
    assert [len(g) for g in grouped.split(" ")] == [4] * 8
    assert grouped.replace(" ", "") == secret
