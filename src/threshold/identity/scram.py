"""SCRAM-SHA-256 secrets (RFC 5802, RFC 7677): what lets the PostgreSQL front door check a password or a
personal token without ever receiving it.

The store keeps passwords as argon2 hashes and tokens as SHA-256 digests; neither lets a server check a
SCRAM proof, which needs the *StoredKey* derived from the plaintext with the salt the client is sent. So the
StoredKey and ServerKey are derived whenever the plaintext passes through the platform: a password when it is
set (or at the next successful sign-in, for passwords set before), a token when it is created. One salt per
person serves all of their secrets, so the server can send it before it knows which one the client holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

ITERATIONS = 4096
"""PBKDF2 rounds, PostgreSQL's default (`scram_iterations`): every client computes them at each connection."""


@dataclass(frozen=True)
class Secret:
    stored_key: bytes
    server_key: bytes


def salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    # SASLprep is skipped, as libpq does for passwords it cannot normalise: both sides use the UTF-8 bytes.
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def derive(password: str, salt: bytes, iterations: int = ITERATIONS) -> Secret:
    salted = salted_password(password, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return Secret(
        stored_key=hashlib.sha256(client_key).digest(),
        server_key=hmac.new(salted, b"Server Key", hashlib.sha256).digest(),
    )


def client_key_of(secret: Secret, auth_message: bytes, proof: bytes) -> bytes | None:
    """The ClientKey the proof reveals, if it matches `secret` (constant-time), else None."""
    signature = hmac.new(secret.stored_key, auth_message, hashlib.sha256).digest()
    if len(proof) != len(signature):
        return None
    client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
    if not hmac.compare_digest(hashlib.sha256(client_key).digest(), secret.stored_key):
        return None
    return client_key


def server_signature(secret: Secret, auth_message: bytes) -> bytes:
    return hmac.new(secret.server_key, auth_message, hashlib.sha256).digest()


def encode(secret: Secret) -> str:
    return base64.b64encode(secret.stored_key).decode() + ":" + base64.b64encode(secret.server_key).decode()


def decode(text: str) -> Secret:
    stored, server = text.split(":", 1)
    return Secret(base64.b64decode(stored), base64.b64decode(server))
