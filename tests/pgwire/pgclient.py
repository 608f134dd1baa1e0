"""Helpers of the front door's tests: a bare protocol client and a door on a free port."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import shutil
import socket
import struct
from pathlib import Path

from threshold.pgwire.server import FrontDoor
from threshold.platform import Platform
from threshold.sharing.service import share

BUDGET_CSV = "cost_centre,amount\nCC-1,1200.50\nCC-2,800.00\n"


def add_budget(org, tmp: Path) -> None:
    """finance.budget: restricted, so it exists only for finance's members (ben), governance and admins."""
    csv = tmp / "budget.csv"
    csv.write_text(BUDGET_CSV, encoding="utf-8")
    share(org.platform, csv, domain="finance", user=org.ben, visibility="restricted", description="Budget lines")


def psql_binary() -> str | None:
    found = shutil.which("psql")
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), reverse=True):
        return str(d)
    return None


def serve(platform: Platform, **settings: object) -> FrontDoor:
    door = FrontDoor(platform, platform.settings.pg.model_copy(update=settings))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    door.start(sock)
    return door


# --- a raw client, for what no driver sends ----------------------------------------------------------


class Raw:
    """A bare protocol client: sends hand-made (and malformed) messages, reads the server's."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def message(self) -> tuple[bytes, bytes]:
        head = self._read(5)
        (length,) = struct.unpack("!i", head[1:])
        return head[:1], self._read(length - 4)

    def until(self, kind: bytes) -> list[tuple[bytes, bytes]]:
        out = []
        while True:
            m = self.message()
            out.append(m)
            if m[0] == kind:
                return out

    def closed(self) -> bool:
        """Reads to the end: True once the server closed the connection."""
        try:
            while True:
                self.message()
        except (ConnectionError, OSError):
            return True

    def startup(self, user: str, password: str, **params: str) -> None:
        body = struct.pack("!i", 196608)
        for k, v in {"user": user, "database": "threshold", **params}.items():
            body += k.encode() + b"\0" + v.encode() + b"\0"
        body += b"\0"
        self.send(struct.pack("!i", len(body) + 4) + body)
        kind, data = self.message()
        assert kind == b"R" and struct.unpack("!i", data[:4])[0] == 10
        nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        first_bare = f"n=,r={nonce}"
        first = ("n,," + first_bare).encode()
        body = b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first
        self.send(b"p" + struct.pack("!i", len(body) + 4) + body)
        kind, data = self.message()
        server_first = data[4:].decode()
        attrs = dict(a.split("=", 1) for a in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth = f"{first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(hashlib.sha256(client_key).digest(), auth, hashlib.sha256).digest()
        proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature, strict=True))).decode()
        final = f"{without_proof},p={proof}".encode()
        self.send(b"p" + struct.pack("!i", len(final) + 4) + final)
        messages = self.until(b"Z")
        assert not [m for m in messages if m[0] == b"E"], messages

    def close(self) -> None:
        self.sock.close()


def msg(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def error_of(messages: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The fields of the first ErrorResponse among `messages` (code letter -> text), or {}."""
    for kind, body in messages:
        if kind == b"E":
            fields = {}
            for part in body.split(b"\0"):
                if part:
                    fields[part[:1].decode()] = part[1:].decode()
            return fields
    return {}
