"""Sign-in over the front door: SCRAM-SHA-256 (RFC 5802/7677) against the secrets identity keeps, with the
sign-in throttle of the web and API. No password, token or proof is ever sent in the clear or logged."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Awaitable, Callable

from threshold.errors import Busy, Unauthenticated
from threshold.identity import scram
from threshold.identity.service import Person, authenticate_scram, scram_salt
from threshold.pgwire import wire
from threshold.platform import Platform

MECHANISM = "SCRAM-SHA-256"


class SignInFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def sign_in(
    platform: Platform,
    user: str,
    address: str,
    send: Callable[[bytes], Awaitable[None]],
    receive: Callable[[], Awaitable[tuple[bytes, bytes]]],
) -> Person:
    """Run the SASL exchange; the person signed in, or `SignInFailed` with a SQLSTATE and a message."""
    await send(wire.authentication(10, wire.cstr(MECHANISM) + b"\x00"))
    kind, body = await receive()
    if kind != b"p":
        raise wire.ProtocolError("expected a SASL initial response")
    r = wire.Reader(body)
    mechanism = r.cstring()
    if mechanism != MECHANISM:
        raise SignInFailed("28000", f"authentication mechanism {mechanism!r} is not supported; use {MECHANISM}")
    length = r.int32()
    first = r.rest()
    if length != len(first):
        raise wire.ProtocolError("SASL initial response of the wrong length")
    text = _ascii(first)
    if not text.startswith(("n,", "y,")):
        raise SignInFailed("28000", "SCRAM channel binding is not supported: connect with channel_binding=disable")
    parts = text.split(",", 2)
    if len(parts) != 3 or parts[1] != "":
        raise wire.ProtocolError("malformed SCRAM client-first message")
    header = parts[0] + ",,"
    bare = parts[2]
    nonce = next((a[2:] for a in bare.split(",") if a.startswith("r=")), "")
    if not nonce or len(nonce) > 200:
        raise wire.ProtocolError("SCRAM client-first message without a nonce")
    salt, iterations = await asyncio.to_thread(scram_salt, platform, user)
    full_nonce = nonce + base64.b64encode(secrets.token_bytes(18)).decode()
    server_first = f"r={full_nonce},s={base64.b64encode(salt).decode()},i={iterations}"
    await send(wire.authentication(11, server_first.encode()))
    kind, body = await receive()
    if kind != b"p":
        raise wire.ProtocolError("expected a SASL response")
    final = _ascii(body)
    without_proof, sep, proof_text = final.rpartition(",p=")
    attrs = dict(a.split("=", 1) for a in without_proof.split(",") if "=" in a)
    if not sep or attrs.get("r") != full_nonce or attrs.get("c") != base64.b64encode(header.encode()).decode():
        raise SignInFailed("28000", "SCRAM exchange does not match (nonce or channel binding)")
    try:
        proof = base64.b64decode(proof_text, validate=True)
    except ValueError:
        raise wire.ProtocolError("SCRAM proof is not base64") from None
    auth_message = f"{bare},{server_first},{without_proof}".encode()
    try:
        person, secret = await asyncio.to_thread(
            authenticate_scram,
            platform,
            user,
            lambda s: scram.client_key_of(s, auth_message, proof) is not None,
            address=address,
        )
    except Busy as e:
        raise SignInFailed("28000", str(e)) from None
    except Unauthenticated:
        raise SignInFailed("28P01", f'password authentication failed for user "{user}"') from None
    signature = scram.server_signature(secret, auth_message)
    await send(wire.authentication(12, b"v=" + base64.b64encode(signature)))
    return person


def _ascii(b: bytes) -> str:
    try:
        return b.decode("ascii")
    except UnicodeDecodeError:
        raise wire.ProtocolError("SCRAM message is not ASCII") from None
