"""PostgreSQL v3 framing: reading length-prefixed messages within a size bound, and building the backend's.

Every length field is hostile: a message longer than `limit` (or shorter than its own header) is a protocol
error before a byte of its body is read, so a client can never make the server allocate more than the bound.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
GSS_REQUEST = 80877104
CANCEL_REQUEST = 80877102
STARTUP_LIMIT = 10_000
"""A startup packet is a few names and values; PostgreSQL's own bound is the same."""


class ProtocolError(Exception):
    """The client broke the protocol: answered with an ErrorResponse (08P01), then the connection closes."""


async def read_startup(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(code, body) of an untyped startup-phase packet (startup, SSL, GSS or cancel request)."""
    head = await reader.readexactly(4)
    (length,) = struct.unpack("!i", head)
    if length < 8 or length > STARTUP_LIMIT:
        raise ProtocolError(f"invalid startup packet length {length}")
    body = await reader.readexactly(length - 4)
    (code,) = struct.unpack("!i", body[:4])
    return code, body[4:]


async def read_message(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bytes]:
    """(type byte, body) of one typed message, refused before reading when its length is over `limit`."""
    head = await reader.readexactly(5)
    kind = head[:1]
    (length,) = struct.unpack("!i", head[1:])
    if length < 4:
        raise ProtocolError(f"invalid message length {length}")
    if length - 4 > limit:
        raise ProtocolError(
            f"message of {length} bytes is over the limit of {limit} (pg.message_bytes, THRESHOLD_PG__MESSAGE_BYTES)"
        )
    return kind, await reader.readexactly(length - 4)


def startup_parameters(body: bytes) -> dict[str, str]:
    """The name/value pairs of a startup packet (after the protocol code), ended by an empty name."""
    r = Reader(body)
    out: dict[str, str] = {}
    while True:
        name = r.cstring()
        if not name:
            return out
        out[name] = r.cstring()


class Reader:
    """Reads the fields of one message body; running past its end is a protocol error, never an IndexError."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.at = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.body):
            raise ProtocolError("message shorter than its fields")
        out = self.body[self.at : self.at + n]
        self.at += n
        return out

    def byte(self) -> bytes:
        return self._take(1)

    def int16(self) -> int:
        return int(struct.unpack("!h", self._take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack("!i", self._take(4))[0])

    def cstring(self) -> str:
        end = self.body.find(b"\x00", self.at)
        if end < 0:
            raise ProtocolError("unterminated string in message")
        out = self.body[self.at : end]
        self.at = end + 1
        return _text(out)

    def rest(self) -> bytes:
        return self._take(len(self.body) - self.at)

    def count(self, what: str) -> int:
        n = self.int16()
        if n < 0:
            raise ProtocolError(f"negative count of {what}")
        return n


def _text(b: bytes) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("text that is not UTF-8 (only client_encoding UTF8 is supported)") from None


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(text: str) -> bytes:
    return text.replace("\x00", "").encode("utf-8") + b"\x00"


def authentication(code: int, data: bytes = b"") -> bytes:
    return message(b"R", struct.pack("!i", code) + data)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def ready(status: str) -> bytes:
    return message(b"Z", status.encode())


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def error(code: str, text: str, *, severity: str = "ERROR", hint: str | None = None) -> bytes:
    body = b"S" + cstr(severity) + b"V" + cstr(severity) + b"C" + cstr(code) + b"M" + cstr(text)
    if hint:
        body += b"H" + cstr(hint)
    return message(b"E", body + b"\x00")


def notice(text: str) -> bytes:
    return message(
        b"N", b"S" + cstr("NOTICE") + b"V" + cstr("NOTICE") + b"C" + cstr("01000") + b"M" + cstr(text) + b"\x00"
    )


def row_description(fields: Sequence[tuple[str, int, int, int]]) -> bytes:
    """fields: (name, type oid, type size, format)."""
    body = struct.pack("!h", len(fields))
    for name, oid, size, fmt in fields:
        body += cstr(name) + struct.pack("!ihihih", 0, 0, oid, size, -1, fmt)
    return message(b"T", body)


def parameter_description(oids: Sequence[int]) -> bytes:
    return message(b"t", struct.pack("!h", len(oids)) + b"".join(struct.pack("!i", o) for o in oids))


PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")
EMPTY_QUERY = message(b"I")
