"""The device cookie's format: <user id>.<token>.<HMAC>, read only when its HMAC is right."""

import pytest

from server.auth import device_cookie

KEY = device_cookie.derive_key(b"m" * 32)


def test_a_cookie_reads_back_as_its_account_and_token():
    """What ``issue`` writes, ``read`` returns: the account's id and the token (stored only hashed)."""
    value, token = device_cookie.issue(KEY, 42)
    assert device_cookie.read(KEY, value) == (42, token)
    assert value.startswith("42.")


def test_every_cookie_is_new():
    """Two cookies of one account never share a token."""
    assert device_cookie.issue(KEY, 1)[1] != device_cookie.issue(KEY, 1)[1]


@pytest.mark.parametrize(
    "change",
    [
        lambda v: "43" + v[2:],  # another account's id under the same token and HMAC
        lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),  # altered HMAC
        lambda v: v[:5] + ("A" if v[5] != "A" else "B") + v[6:],  # altered token
        lambda v: v + ".x",
        lambda v: v.replace(".", "-"),
        lambda v: "",
        lambda v: "0." + v.split(".", 1)[1],
    ],
)
def test_an_altered_or_malformed_cookie_reads_as_none(change):
    """Any change to a cookie makes it unreadable (the HMAC covers the account and the token)."""
    value, _ = device_cookie.issue(KEY, 42)
    assert device_cookie.read(KEY, change(value)) is None


def test_a_cookie_signed_with_another_key_reads_as_none():
    """A cookie from another installation, or made with a guessed key, is refused."""
    value, _ = device_cookie.issue(device_cookie.derive_key(b"o" * 32), 42)
    assert device_cookie.read(KEY, value) is None
    assert device_cookie.read(KEY, None) is None
