"""The protocol itself, spoken by hand: extended-query details no driver shows, and hostile bytes.

Every malformed message ends in a clear ErrorResponse (SQLSTATE 08P01) and a closed connection, never in a
crash, a hang or an allocation of what a length field claims; the server goes on serving everyone else.
"""

from __future__ import annotations

import random
import shutil
import socket
import struct
import subprocess

import psycopg
import pytest
from pgclient import Raw, error_of, msg, serve

from threshold.pgwire import types

KPIS = "manufacturing.plant_kpis"


def _parse(name: str, sql: str, oids: list[int] = ()) -> bytes:  # type: ignore[assignment]
    body = name.encode() + b"\0" + sql.encode() + b"\0" + struct.pack("!h", len(oids))
    return msg(b"P", body + b"".join(struct.pack("!i", o) for o in oids))


def _bind(portal: str, stmt: str, values: list[bytes | None] = ()) -> bytes:  # type: ignore[assignment]
    body = portal.encode() + b"\0" + stmt.encode() + b"\0" + struct.pack("!h", 0) + struct.pack("!h", len(values))
    for v in values:
        body += struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
    return msg(b"B", body + struct.pack("!h", 0))


def _execute(portal: str, rows: int) -> bytes:
    return msg(b"E", portal.encode() + b"\0" + struct.pack("!i", rows))


SYNC = msg(b"S")


def _rows(messages: list[tuple[bytes, bytes]]) -> list[str]:
    out = []
    for kind, body in messages:
        if kind == b"D":
            (length,) = struct.unpack("!i", body[2:6])
            out.append(body[6 : 6 + length].decode())
    return out


@pytest.fixture
def raw(front):
    client = Raw(front.port)
    client.startup("anna", "anna-pass")
    yield client
    client.close()


def test_a_portal_is_read_in_pieces_as_the_client_asks(raw) -> None:
    raw.send(_parse("", f"SELECT plant FROM {KPIS} ORDER BY day") + _bind("", "") + _execute("", 2) + msg(b"H"))
    first = raw.until(b"s")  # PortalSuspended after two rows
    assert _rows(first) == ["Berlin", "Lyon"]
    raw.send(_execute("", 2) + msg(b"H"))
    assert _rows(raw.until(b"s")) == ["Berlin", "Porto"]
    raw.send(_execute("", 0) + SYNC)
    rest = raw.until(b"Z")
    assert _rows(rest) == ["Lyon"]
    assert (b"C", b"SELECT 5\0") in rest


def test_a_statement_is_described_before_its_parameters_are_known(raw) -> None:
    raw.send(_parse("s1", f"SELECT plant, scrap_rate FROM {KPIS} WHERE plant = $1", [types.TEXT]))
    raw.send(msg(b"D", b"S" + b"s1\0") + SYNC)
    answer = raw.until(b"Z")
    kinds = [k for k, _ in answer]
    assert kinds[:3] == [b"1", b"t", b"T"]
    description = dict(answer)[b"T"]
    assert b"plant\0" in description and b"scrap_rate\0" in description
    raw.send(_bind("p1", "s1", [b"Porto"]) + _execute("p1", 0) + SYNC)
    assert _rows(raw.until(b"Z")) == ["Porto"]


def test_an_error_in_an_extended_batch_skips_to_sync_and_the_connection_stays_usable(raw) -> None:
    raw.send(_parse("", f"DELETE FROM {KPIS}") + _bind("", "") + _execute("", 0) + SYNC)
    answer = raw.until(b"Z")
    assert error_of(answer)["C"] in ("0A000", "42501")
    assert [k for k, _ in answer].count(b"E") == 1  # the Bind and Execute after the error were skipped
    raw.send(_bind("", "nope") + SYNC)
    assert error_of(raw.until(b"Z"))["C"] == "26000"
    raw.send(msg(b"Q", f"SELECT count(*) FROM {KPIS}\0".encode()))
    assert _rows(raw.until(b"Z")) == ["5"]


def test_a_length_field_over_the_limit_closes_the_connection_before_anything_is_read(front) -> None:
    for length in (0x7FFFFFFF, 5 * 1024 * 1024, 3, -1):
        client = Raw(front.port)
        client.startup("anna", "anna-pass")
        client.send(b"Q" + struct.pack("!i", length))
        answer = []
        try:
            while True:
                answer.append(client.message())
        except (ConnectionError, OSError):
            pass
        error = error_of(answer)
        assert error["C"] == "08P01" and error["S"] == "FATAL", length
        if length > 1024:
            assert "pg.message_bytes" in error["M"]
        client.close()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(struct.pack("!i", 0x7FFFFFFF) + struct.pack("!i", 196608), id="huge startup"),
        pytest.param(struct.pack("!i", 4), id="tiny startup"),
        pytest.param(struct.pack("!ii", 16, 196608) + b"user\0anna", id="truncated startup"),
        pytest.param(struct.pack("!ii", 12, 196608) + b"ab\xff\0", id="startup not utf-8"),
        pytest.param(struct.pack("!ii", 8, 2 << 16), id="protocol 2"),
        pytest.param(struct.pack("!ii", 8, 196608), id="no user"),
    ],
)
def test_a_malformed_startup_is_refused(front, data: bytes) -> None:
    client = Raw(front.port)
    client.send(data)
    client.sock.shutdown(1)  # the client says no more: a truncated packet must not wait for the rest
    assert client.closed()
    client.close()
    with psycopg.connect(front.dsn("anna")) as conn:  # and everyone else is still served
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize(
    "data",
    [
        msg(b"z", b"what"),
        msg(b"P", b"no terminator"),
        msg(b"B", b"\0\0" + struct.pack("!h", 3)),  # three parameter formats announced, none sent
        msg(b"B", b"\0\0\0\0" + struct.pack("!h", 1) + struct.pack("!i", 1 << 30)),  # a value longer than the message
        msg(b"P", b"\0SELECT 1\0" + struct.pack("!h", -5)),
        msg(b"D", b"X\0"),
        msg(b"p", b"a password after sign-in"),
    ],
)
def test_a_malformed_message_ends_in_a_protocol_error(raw, data: bytes) -> None:
    raw.send(data + SYNC)
    answer = []
    try:
        while True:
            answer.append(raw.message())
            if answer[-1][0] == b"Z":
                break
    except (ConnectionError, OSError):
        pass
    error = error_of(answer)
    assert error, answer
    assert error["C"] in ("08P01", "26000", "34000", "42601"), error


def test_random_bytes_never_crash_the_server(front) -> None:
    rng = random.Random(18)
    for _ in range(40):
        client = Raw(front.port)
        if rng.random() < 0.5:
            client.startup("anna", "anna-pass")
        kind = bytes([rng.randrange(32, 127)])
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        client.send(kind + struct.pack("!i", len(body) + 4) + body + SYNC + msg(b"X"))
        client.sock.shutdown(1)
        assert client.closed()
        client.close()
    with psycopg.connect(front.dsn("anna")) as conn:
        assert conn.execute(f"SELECT count(*) FROM {KPIS}").fetchone() == (5,)


def test_connections_over_the_limit_are_refused(module_org) -> None:
    door = serve(module_org.platform, max_connections=1)
    try:
        first = Raw(door.port)
        first.startup("anna", "anna-pass")
        dsn = f"host=127.0.0.1 port={door.port} user=anna password=anna-pass dbname=threshold sslmode=disable"
        with pytest.raises(psycopg.OperationalError, match="too many connections"):
            psycopg.connect(dsn)
        first.send(msg(b"X"))
        first.closed()
        first.close()
    finally:
        door.stop()


def test_an_idle_connection_is_closed_with_a_reason(module_org) -> None:
    door = serve(module_org.platform, idle_seconds=0.2)
    try:
        client = Raw(door.port)
        client.startup("anna", "anna-pass")
        answer = []
        try:
            while True:
                answer.append(client.message())
        except (ConnectionError, OSError):
            pass
        assert error_of(answer)["C"] == "57P05"
        client.close()
    finally:
        door.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_tls_when_a_certificate_is_configured_and_plain_connections_refused_when_required(
    module_org, certificate
) -> None:
    cert, key = certificate
    door = serve(module_org.platform, tls_certificate=cert, tls_key=key, require_tls=True)
    try:
        base = f"host=127.0.0.1 port={door.port} user=anna password=anna-pass dbname=threshold"
        with psycopg.connect(base + " sslmode=require") as conn:
            assert conn.pgconn.ssl_in_use
            assert conn.execute(f"SELECT count(*) FROM {KPIS}").fetchone() == (5,)
        with pytest.raises(psycopg.OperationalError, match="only TLS"):
            psycopg.connect(base + " sslmode=disable")
    finally:
        door.stop()


def test_a_cancel_request_interrupts_the_running_query_and_the_connection_stays_usable(front) -> None:
    client = Raw(front.port)
    keys: list[bytes] = []
    original = client.message

    def remember() -> tuple[bytes, bytes]:
        m = original()
        if m[0] == b"K":
            keys.append(m[1])
        return m

    client.message = remember  # type: ignore[method-assign]
    client.startup("anna", "anna-pass")
    client.message = original  # type: ignore[method-assign]
    client.send(msg(b"Q", b"SELECT sum(i * i) FROM range(100000000000) t(i)\0"))
    client.sock.settimeout(0.05)
    answer: list[tuple[bytes, bytes]] = []
    for _ in range(2000):  # ask again until the query has started and is stopped (bounded by its time limit)
        canceller = socket.create_connection(("127.0.0.1", front.port))
        canceller.sendall(struct.pack("!ii", 16, 80877102) + keys[0])
        canceller.close()
        try:
            answer = client.until(b"Z")
            break
        except TimeoutError:
            continue
    client.sock.settimeout(30)
    assert error_of(answer)["C"] == "57014"
    client.send(msg(b"Q", b"SELECT 1\0"))
    assert _rows(client.until(b"Z")) == ["1"]
    client.close()


def test_the_time_limit_stops_a_gateway_query_and_a_catalog_query_alike(front) -> None:
    limits = front.org.platform.limits
    before = limits.settings
    limits.settings = before.model_copy(update={"query_seconds": 0.5})
    try:
        with psycopg.connect(front.dsn("anna"), autocommit=True) as conn:
            for sql in (
                "SELECT sum(i * i) FROM range(100000000000) t(i)",
                "SELECT count(*) FROM pg_catalog.pg_class, range(100000000000) t(i)",
            ):
                with pytest.raises(psycopg.Error) as caught:
                    conn.execute(sql)
                assert caught.value.sqlstate == "57014", sql
                assert "limits.query_seconds" in str(caught.value)
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        limits.settings = before


def test_sockets_that_never_sign_in_are_bounded_too(module_org) -> None:
    door = serve(module_org.platform, max_connections=1)
    try:
        silent = [Raw(door.port) for _ in range(2)]  # twice the sessions allowed may be starting up
        for client in silent:
            client.send(b"\0")  # a partial startup packet: the server now holds them
        extra = Raw(door.port)
        assert extra.closed()  # refused at once, before any byte is read
        extra.close()
        for client in silent:
            client.close()
        dsn = f"host=127.0.0.1 port={door.port} user=anna password=anna-pass dbname=threshold sslmode=disable"
        for _ in range(100):  # the silent ones are gone as soon as the server has seen them close
            try:
                with psycopg.connect(dsn) as conn:
                    assert conn.execute("SELECT 1").fetchone() == (1,)
                break
            except psycopg.OperationalError:
                continue
        else:
            raise AssertionError("the front door never took a connection again")
    finally:
        door.stop()
