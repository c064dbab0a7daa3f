"""A software security key for HTTP tests: ES256, attestation ``none``, real signatures (``cryptography``).

It answers the options the server sends the way a browser plus a USB key would, as the JSON
``static/keys.js`` posts; tests can make it lie (origin, RP id, counter) to check each refusal.
"""

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ORIGIN = "http://localhost"
RP_ID = "localhost"
UP, UV, AT = 0x01, 0x04, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()


@dataclass
class SoftKey:
    """One authenticator holding one credential; ``counter`` is the signature counter it reports next."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    counter: int = 0
    user_handle: bytes | None = None
    verified: bool = False

    def _cose_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: x, -3: y})

    def _auth_data(self, rp_id: str, attested: bool) -> bytes:
        self.counter += 1
        flags = UP | (UV if self.verified else 0) | (AT if attested else 0)
        data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.counter)
        if attested:
            cid = self.credential_id
            data += bytes(16) + struct.pack(">H", len(cid)) + cid + self._cose_key()
        return data

    def create(self, options: dict[str, Any], *, origin: str = ORIGIN, rp_id: str | None = None) -> str:
        """The JSON a browser posts after ``navigator.credentials.create()``."""
        self.user_handle = unb64(options["user"]["id"])
        client_data = _client_data("webauthn.create", options["challenge"], origin)
        auth_data = self._auth_data(rp_id or options["rp"]["id"], attested=True)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        cid = b64(self.credential_id)
        response = {"clientDataJSON": b64(client_data), "attestationObject": b64(attestation), "transports": ["usb"]}
        return json.dumps(
            {"id": cid, "rawId": cid, "type": "public-key", "response": response, "clientExtensionResults": {}}
        )

    def get(self, options: dict[str, Any], *, origin: str = ORIGIN, rp_id: str | None = None) -> str:
        """The JSON a browser posts after ``navigator.credentials.get()``."""
        client_data = _client_data("webauthn.get", options["challenge"], origin)
        auth_data = self._auth_data(rp_id or options["rpId"], attested=False)
        signature = self.private_key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        cid = b64(self.credential_id)
        response = {
            "clientDataJSON": b64(client_data),
            "authenticatorData": b64(auth_data),
            "signature": b64(signature),
        }
        if self.user_handle is not None:
            response["userHandle"] = b64(self.user_handle)
        return json.dumps(
            {"id": cid, "rawId": cid, "type": "public-key", "response": response, "clientExtensionResults": {}}
        )
