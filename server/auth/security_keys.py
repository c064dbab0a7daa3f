"""WebAuthn security keys: ceremony options and response checks (py_webauthn), pure logic.

The relying party (id and origin) comes from the public URL setting; every response is
checked against it, against the challenge the server issued, and (for sign-in) against the
stored public key. Anything a browser (or an attacker) sends is untrusted: a response that
cannot be parsed or verified is ``None``, never an exception.
"""

import base64
import binascii
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

logger = logging.getLogger("mirox")

V = TypeVar("V")

MAX_RESPONSE_CHARS = 8 * 1024
"""Longest response accepted (a registration with attestation ``none`` is well under 2 KiB)."""
CHALLENGE_BYTES = 32
USER_HANDLE_BYTES = 32
TIMEOUT_MS = 120_000
LOCAL_NAMES = frozenset({"localhost"})


@dataclass(frozen=True)
class RelyingParty:
    """Who the keys are registered to: the host name (RP id), the exact origin, a display name."""

    id: str
    origin: str
    name: str


@dataclass(frozen=True)
class NewKey:
    """A verified registration: what is stored for the key."""

    credential_id: str
    public_key: str
    sign_count: int


@dataclass(frozen=True)
class Assertion:
    """What an assertion names before it is verified: the credential and the challenge it signed."""

    credential_id: str
    challenge: str
    user_handle: str | None


def relying_party(public_url: str, name: str) -> RelyingParty | None:
    """The relying party of a public URL (``https://mirox.plant.example``); None when unset or unusable."""
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return RelyingParty(id=parts.hostname, origin=f"{parts.scheme}://{parts.netloc}".lower(), name=name)


def unavailable_reason(public_url: str) -> str | None:
    """Why browsers will refuse keys at this URL: "unset", "insecure" (plain http, not localhost), or None."""
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "unset"
    if parts.scheme == "http" and parts.hostname not in LOCAL_NAMES:
        return "insecure"
    return None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_challenge() -> str:
    return b64url(secrets.token_bytes(CHALLENGE_BYTES))


def new_user_handle() -> str:
    """A random user handle per account (never the user id: it is shown to the authenticator)."""
    return b64url(secrets.token_bytes(USER_HANDLE_BYTES))


def _descriptors(credential_ids: list[str]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=unb64url(cid)) for cid in credential_ids]


def registration_options(
    rp: RelyingParty, challenge: str, user_handle: str, username: str, existing: list[str], *, passkey: bool
) -> dict[str, Any]:
    """``navigator.credentials.create()`` options as JSON-ready data (attestation none)."""
    selection = AuthenticatorSelectionCriteria(
        resident_key=ResidentKeyRequirement.REQUIRED if passkey else ResidentKeyRequirement.DISCOURAGED,
        user_verification=UserVerificationRequirement.REQUIRED if passkey else UserVerificationRequirement.DISCOURAGED,
    )
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=username,
        user_id=unb64url(user_handle),
        challenge=unb64url(challenge),
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=selection,
        exclude_credentials=_descriptors(existing),
    )
    data: dict[str, Any] = json.loads(options_to_json(options))
    return data


def authentication_options(
    rp: RelyingParty, challenge: str, allowed: list[str], *, user_verification: bool
) -> dict[str, Any]:
    """``navigator.credentials.get()`` options: the given keys (or any discoverable one when empty)."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=unb64url(challenge),
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(allowed),
        user_verification=(
            UserVerificationRequirement.REQUIRED if user_verification else UserVerificationRequirement.DISCOURAGED
        ),
    )
    data: dict[str, Any] = json.loads(options_to_json(options))
    return data


def _parse(payload: str) -> dict[str, Any] | None:
    if not payload or len(payload) > MAX_RESPONSE_CHARS:
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_RESPONSE_CHARS else None


def signed_challenge(payload: str) -> str | None:
    """The challenge a response's clientDataJSON carries (to find the one the server issued), or None."""
    data = _parse(payload)
    response = data.get("response") if data else None
    client_data = _text(response.get("clientDataJSON")) if isinstance(response, dict) else None
    if client_data is None:
        return None
    try:
        parsed = json.loads(unb64url(client_data))
    except (ValueError, binascii.Error):
        return None
    challenge = parsed.get("challenge") if isinstance(parsed, dict) else None
    return challenge if isinstance(challenge, str) and 0 < len(challenge) <= 128 else None


def assertion_of(payload: str) -> Assertion | None:
    """The credential id, signed challenge and user handle an assertion names (not verified yet)."""
    data = _parse(payload)
    challenge = signed_challenge(payload)
    if data is None or challenge is None:
        return None
    credential_id = _text(data.get("id"))
    response = data.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if credential_id is None or len(credential_id) > 1400:
        return None
    return Assertion(credential_id, challenge, handle if isinstance(handle, str) and len(handle) <= 128 else None)


def _verified(what: str, rp: RelyingParty, payload: str, challenge: str, verify: Callable[..., V]) -> V | None:
    """``verify``'s result for this relying party and challenge, or None: ``what`` names it in the log.

    Untrusted input: a response that does not parse is refused before py_webauthn sees it, and
    any failure inside ``verify`` (py_webauthn's parsing and checks) is a refusal too.
    """
    if _parse(payload) is None:
        return None
    try:
        return verify(
            credential=payload,
            expected_challenge=unb64url(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except Exception as exc:
        logger.debug("security key %s refused: %s", what, exc)
        return None


def verify_registration(rp: RelyingParty, payload: str, challenge: str, *, passkey: bool) -> NewKey | None:
    """A verified registration for this relying party and challenge, or None."""
    verified = _verified(
        "registration",
        rp,
        payload,
        challenge,
        lambda **expected: verify_registration_response(**expected, require_user_verification=passkey),
    )
    if verified is None:
        return None
    return NewKey(b64url(verified.credential_id), b64url(verified.credential_public_key), verified.sign_count)


def verify_assertion(
    rp: RelyingParty, payload: str, challenge: str, public_key: str, *, user_verification: bool
) -> int | None:
    """The signed sign count of a verified assertion by this key, or None.

    The counter is compared by the caller (and by the database) so that a regression is
    told apart from a bad signature: it is a cloned key, logged, not a typo.
    """
    verified = _verified(
        "assertion",
        rp,
        payload,
        challenge,
        lambda **expected: verify_authentication_response(
            **expected,
            credential_public_key=unb64url(public_key),
            credential_current_sign_count=0,
            require_user_verification=user_verification,
        ),
    )
    return None if verified is None else int(verified.new_sign_count)


def counter_regressed(stored: int, signed: int) -> bool:
    """Whether a signed counter is not past the stored one (both 0: a key without a counter)."""
    return (stored > 0 or signed > 0) and signed <= stored
