"""One client connection: startup, sign-in, then simple and extended queries until it ends.

Every statement is one of three things: a session command the front door answers itself (`SET`, `SHOW`,
`BEGIN`/`COMMIT`/`ROLLBACK`, `DISCARD`), a catalog query answered by the person's governed catalog
(`pgwire.catalog`), or a query that goes to the gateway as that person with interface `pg` (walls, masks,
row filters, purposes, limits and a usage event, exactly as the HTTP API). Nothing else reaches an engine.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from threshold.errors import Busy, Denied, InvalidInput, LimitExceeded, NotFound, ThresholdError, Unauthenticated
from threshold.gateway.service import open_query
from threshold.gateway.stream import Cancel, QueryStream
from threshold.identity.service import Person, get_person
from threshold.pgwire import statements, types, wire
from threshold.pgwire.auth import SignInFailed, sign_in
from threshold.pgwire.catalog import Shadow, is_catalog_query
from threshold.pgwire.results import batches, encode, fields_of, next_rows

if TYPE_CHECKING:
    from threshold.pgwire.server import FrontDoor

SERVER_VERSION = "16.0 (Threshold)"
PURPOSE = "threshold.purpose"
_pids = itertools.count(1000)
_READ_VERBS = {"select", "with", "values", "table", "from", "pivot", "unpivot", "("}


class Failed(Exception):
    """A statement failed: answered with an ErrorResponse; the connection stays usable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Prepared:
    sql: str
    param_oids: list[int]


@dataclass
class Portal:
    sql: str
    result_formats: list[int]
    started: bool = False
    fields: list[tuple[str, int, int, int]] | None = None
    rows: Iterator[list[bytes]] | None = None
    pending: list[bytes] = field(default_factory=list)
    sent: int = 0
    tag: str | None = None
    stream: QueryStream | None = None
    notes: list[str] = field(default_factory=list)
    done: bool = False


class Session:
    def __init__(self, door: FrontDoor, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.door = door
        self.platform = door.platform
        self.settings = door.settings
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) else "local"
        self.pid = next(_pids)
        self.key = secrets.randbits(31)
        self.person: Person | None = None
        self.params: dict[str, str] = {}
        self.statements: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}
        self.shadow: Shadow | None = None
        self.cancel: Cancel | None = None
        self.status = "I"
        self.skipping = False
        self.out = bytearray()
        self.tls = False
        self._person_version: int | None = None

    # -- plumbing --------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.out += data

    async def flush(self) -> None:
        if self.out:
            self.writer.write(bytes(self.out))
            self.out.clear()
        await asyncio.wait_for(self.writer.drain(), self.settings.idle_seconds)

    async def _receive(self) -> tuple[bytes, bytes]:
        return await asyncio.wait_for(
            wire.read_message(self.reader, self.settings.message_bytes), self.settings.idle_seconds
        )

    # -- the connection's life -------------------------------------------------------------------

    async def run(self) -> None:
        try:
            if await self._startup():
                await self._serve()
        except wire.ProtocolError as e:
            await self._last_words(wire.error("08P01", str(e), severity="FATAL"))
        except TimeoutError:
            await self._last_words(
                wire.error("57P05", "terminating connection: idle for longer than pg.idle_seconds", severity="FATAL")
            )
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._close_all()
            self.writer.close()

    async def _last_words(self, data: bytes) -> None:
        try:
            self.out.clear()
            self.writer.write(data)
            await asyncio.wait_for(self.writer.drain(), 5)
        except (OSError, TimeoutError):
            pass

    def _close_all(self) -> None:
        for portal in self.portals.values():
            if portal.stream is not None:
                portal.stream.close()
        self.portals.clear()
        if self.shadow is not None:
            self.shadow.close()

    async def _startup(self) -> bool:
        limit = self.settings.startup_seconds
        while True:
            code, body = await asyncio.wait_for(wire.read_startup(self.reader), limit)
            if code == wire.SSL_REQUEST:
                if self.door.tls is not None and not self.tls:
                    self.writer.write(b"S")
                    await self.writer.drain()
                    await asyncio.wait_for(self.writer.start_tls(self.door.tls), limit)
                    self.tls = True
                else:
                    self.writer.write(b"N")
                    await self.writer.drain()
                continue
            if code == wire.GSS_REQUEST:
                self.writer.write(b"N")
                await self.writer.drain()
                continue
            if code == wire.CANCEL_REQUEST:
                if len(body) == 8:
                    pid, key = struct.unpack("!ii", body)
                    self.door.cancel(pid, key)
                return False
            if code >> 16 != 3:
                raise wire.ProtocolError(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: only 3.0")
            break
        startup = wire.startup_parameters(body)
        if self.door.tls is not None and not self.tls and self.settings.require_tls:
            await self._last_words(
                wire.error("28000", "this server accepts only TLS connections (sslmode=require)", severity="FATAL")
            )
            return False
        user = startup.get("user", "")
        if not user:
            raise wire.ProtocolError("no user name in the startup packet")
        if not self.door.enter(self):
            await self._last_words(
                wire.error(
                    "53300",
                    f"too many connections (pg.max_connections = {self.settings.max_connections})",
                    severity="FATAL",
                )
            )
            return False

        async def send(data: bytes) -> None:
            self.send(data)
            await asyncio.wait_for(self.flush(), limit)

        async def receive() -> tuple[bytes, bytes]:
            return await asyncio.wait_for(wire.read_message(self.reader, 64 * 1024), limit)

        try:
            self.person = await sign_in(self.platform, user, self.address, send, receive)
        except SignInFailed as e:
            await self._last_words(wire.error(e.code, str(e), severity="FATAL"))
            return False
        self.params = {
            "server_version": SERVER_VERSION,
            "server_encoding": "UTF8",
            "client_encoding": "UTF8",
            "datestyle": "ISO, MDY",
            "timezone": "UTC",
            "integer_datetimes": "on",
            "intervalstyle": "postgres",
            "standard_conforming_strings": "on",
            "is_superuser": "off",
            "session_authorization": user,
            "application_name": startup.get("application_name", "")[:200],
            "search_path": "public",
            "transaction_isolation": "read committed",
            "default_transaction_read_only": "on",
            "transaction_read_only": "on",
            "max_identifier_length": "63",
            "server_version_num": "160000",
            "_version": f"PostgreSQL {SERVER_VERSION}: a governed Threshold front door",
        }
        for name, value in statements.options(startup.get("options", "")).items():
            self._set(name, value)
        if startup.get("database"):
            self.params["_database"] = startup["database"]
        self.send(wire.authentication(0))
        for name in (
            "server_version",
            "server_encoding",
            "client_encoding",
            "datestyle",
            "timezone",
            "integer_datetimes",
            "intervalstyle",
            "standard_conforming_strings",
            "is_superuser",
            "session_authorization",
            "application_name",
            "default_transaction_read_only",
        ):
            shown = {"datestyle": "DateStyle", "timezone": "TimeZone", "intervalstyle": "IntervalStyle"}.get(name, name)
            self.send(wire.parameter_status(shown, self.params[name]))
        self.send(wire.message(b"K", struct.pack("!ii", self.pid, self.key)))
        self.send(wire.ready("I"))
        await self.flush()
        return True

    async def _serve(self) -> None:
        while True:
            kind, body = await self._receive()
            if kind == b"X":
                return
            if kind == b"Q":
                await self._simple(wire.Reader(body).cstring())
                self.send(wire.ready(self.status))
                await self.flush()
            elif kind in b"PBDECSH" and len(kind) == 1:
                await self._extended(kind, wire.Reader(body))
            elif kind in (b"d", b"c", b"f"):
                continue  # COPY data outside a COPY: ignored, as PostgreSQL does
            elif kind == b"F":
                self.send(wire.error("0A000", "function calls are not supported"))
                self.send(wire.ready(self.status))
                await self.flush()
            else:
                raise wire.ProtocolError(f"unexpected message type {kind!r}")

    # -- simple query ----------------------------------------------------------------------------

    async def _simple(self, sql: str) -> None:
        try:
            parts = statements.split(sql)
        except InvalidInput as e:
            self._error(Failed("42601", str(e)))
            return
        if not parts:
            self.send(wire.EMPTY_QUERY)
            return
        for text in parts:
            portal = Portal(text, [])
            try:
                await self._start(portal)
                if portal.fields is not None:
                    self.send(wire.row_description(portal.fields))
                await self._execute(portal, 0)
            except Failed as e:
                self._error(e)
                return
            except Exception as e:  # a fault of ours: said, logged by no one, and the connection lives on
                self._error(Failed("XX000", f"internal error: {_first_line(str(e)) or type(e).__name__}"))
                return
            finally:
                if portal.stream is not None:
                    portal.stream.close()

    def _error(self, e: Failed) -> None:
        self.send(wire.error(e.code, str(e)))
        if self.status == "T":
            self.status = "E"

    # -- extended query --------------------------------------------------------------------------

    async def _extended(self, kind: bytes, r: wire.Reader) -> None:
        if kind == b"S":
            self.skipping = False
            self.send(wire.ready(self.status))
            await self.flush()
            return
        if kind == b"H":
            await self.flush()
            return
        if self.skipping:
            return
        try:
            if kind == b"P":
                name, sql = r.cstring(), r.cstring()
                oids = [r.int32() for _ in range(r.count("parameter types"))]
                try:
                    n = statements.parameter_count(sql)
                except InvalidInput as e:
                    raise Failed("42601", str(e)) from None
                oids += [0] * max(0, n - len(oids))
                if name in self.statements and name:
                    raise Failed("42P05", f'prepared statement "{name}" already exists')
                self.statements[name] = Prepared(sql, oids)
                self.send(wire.PARSE_COMPLETE)
            elif kind == b"B":
                portal_name, name = r.cstring(), r.cstring()
                formats = [r.int16() for _ in range(r.count("parameter formats"))]
                values: list[bytes | None] = []
                for _ in range(r.count("parameters")):
                    length = r.int32()
                    values.append(None if length == -1 else r._take(length))
                results = [r.int16() for _ in range(r.count("result formats"))]
                prepared = self._statement(name)
                if len(values) != len(prepared.param_oids):
                    raise Failed(
                        "08P01",
                        f"bind message supplies {len(values)} parameters, "
                        f"but the statement needs {len(prepared.param_oids)}",
                    )
                fmts = formats * len(values) if len(formats) == 1 else formats or [0] * len(values)
                if len(fmts) != len(values):
                    raise wire.ProtocolError("bind message has the wrong number of parameter formats")

                def literal(i: int) -> str:
                    if not 1 <= i <= len(values):
                        raise InvalidInput(f"there is no parameter ${i}")
                    return types.literal(values[i - 1], prepared.param_oids[i - 1], fmts[i - 1] == 1)

                try:
                    sql = statements.bind(prepared.sql, literal) if values else prepared.sql
                except InvalidInput as e:
                    raise Failed("22P02", str(e)) from None
                old = self.portals.pop(portal_name, None)
                if old is not None and old.stream is not None:
                    old.stream.close()
                self.portals[portal_name] = Portal(sql, results)
                self.send(wire.BIND_COMPLETE)
            elif kind == b"D":
                what, name = r.byte(), r.cstring()
                if what == b"S":
                    prepared = self._statement(name)
                    self.send(wire.parameter_description([o or types.TEXT for o in prepared.param_oids]))
                    fields = await self._describe_statement(prepared)
                    self.send(wire.row_description(fields) if fields else wire.NO_DATA)
                elif what == b"P":
                    portal = self._portal(name)
                    await self._start(portal)
                    self.send(wire.row_description(portal.fields) if portal.fields is not None else wire.NO_DATA)
                else:
                    raise wire.ProtocolError("describe of something other than a statement or portal")
            elif kind == b"E":
                name, max_rows = r.cstring(), r.int32()
                portal = self._portal(name)
                await self._start(portal)
                await self._execute(portal, max(max_rows, 0))
            elif kind == b"C":
                what, name = r.byte(), r.cstring()
                if what == b"S":
                    self.statements.pop(name, None)
                elif what == b"P":
                    closing = self.portals.pop(name, None)
                    if closing is not None and closing.stream is not None:
                        closing.stream.close()
                else:
                    raise wire.ProtocolError("close of something other than a statement or portal")
                self.send(wire.CLOSE_COMPLETE)
        except Failed as e:
            self._error(e)
            self.skipping = True
        except (wire.ProtocolError, asyncio.CancelledError):
            raise
        except Exception as e:
            self._error(Failed("XX000", f"internal error: {_first_line(str(e)) or type(e).__name__}"))
            self.skipping = True

    def _statement(self, name: str) -> Prepared:
        if name not in self.statements:
            raise Failed("26000", f'prepared statement "{name}" does not exist')
        return self.statements[name]

    def _portal(self, name: str) -> Portal:
        if name not in self.portals:
            raise Failed("34000", f'portal "{name}" does not exist')
        return self.portals[name]

    async def _describe_statement(self, prepared: Prepared) -> list[tuple[str, int, int, int]] | None:
        """The result's columns before any parameter is known: parameters taken as NULL, run with no row
        on the person's catalog (empty tables of the same schema), never on data."""
        sql = statements.bind(prepared.sql, lambda _i: "NULL")
        if self._command(sql) is not None:
            return None
        try:
            allowance = self.platform.limits.allowance("pg", max_rows=1)
            table = await asyncio.to_thread(
                self._shadow().query, f"SELECT * FROM ({sql}) AS described LIMIT 0", self.params, allowance
            )
        except Exception:
            return None
        return fields_of(table.schema, [])

    # -- running one statement -------------------------------------------------------------------

    def _command(self, sql: str) -> str | None:
        words = statements.code_words(sql)
        if not words:
            return "EMPTY"
        first = words[0]
        if first in ("begin", "start"):
            return "BEGIN"
        if first in ("commit", "end"):
            return "COMMIT"
        if first == "rollback" or first == "abort":
            return "ROLLBACK"
        if first in ("set", "reset"):
            return "SET"
        if first == "show":
            return "SHOW"
        if first in ("discard", "deallocate", "listen", "unlisten"):
            return first.upper() + (" ALL" if first == "discard" else "")
        return None

    async def _start(self, portal: Portal) -> None:
        """Work out what a statement answers and start it (once): its fields, or a command tag."""
        if portal.started:
            return
        portal.started = True
        command = self._command(portal.sql)
        if command is not None:
            self._run_command(portal, command)
            return
        await asyncio.to_thread(self._refresh_person)
        assert self.person is not None
        allowance = self.platform.limits.allowance("pg")
        if is_catalog_query(portal.sql):
            words = statements.code_words(portal.sql)
            if len(statements.split(portal.sql)) != 1 or not words or words[0] not in _READ_VERBS:
                raise Failed("0A000", "only read-only queries are allowed on the catalog (SELECT, WITH, VALUES)")
            try:
                table = await asyncio.to_thread(self._shadow().query, portal.sql, self.params, allowance)
            except LimitExceeded as e:
                raise Failed("57014", str(e)) from None
            except Exception as e:
                raise Failed("42P01" if "does not exist" in str(e) else "42601", _first_line(str(e))) from None
            portal.fields = fields_of(table.schema, portal.result_formats)
            portal.rows = iter([encode(table, portal.fields)])
            return
        self.cancel = Cancel()
        try:
            stream = await asyncio.to_thread(
                open_query,
                self.platform,
                portal.sql,
                user=self.person,
                purpose=self.params.get(PURPOSE) or None,
                interface="pg",
                cancel=self.cancel,
                start=False,
            )
            portal.stream = stream
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self.platform.limits.pool, stream.begin)
        except ThresholdError as e:
            raise self._failure(e, portal.sql) from None
        portal.fields = fields_of(stream.schema, portal.result_formats)
        portal.rows = batches(stream, portal.fields)

    def _failure(self, e: ThresholdError, sql: str) -> Failed:
        words = statements.code_words(sql)
        if isinstance(e, Denied):
            return Failed("42501", str(e))
        if isinstance(e, Busy):
            return Failed("53300", f"{e} (try again in {e.retry_after} s)")
        if isinstance(e, LimitExceeded):
            return Failed("57014", str(e))
        if isinstance(e, NotFound):
            return Failed("42P01", str(e))
        if isinstance(e, Unauthenticated):
            return Failed("28000", str(e))
        if isinstance(e, InvalidInput):
            return Failed("42601" if words and words[0] in _READ_VERBS else "0A000", str(e))
        return Failed("XX000", str(e))

    def _run_command(self, portal: Portal, command: str) -> None:
        if command == "EMPTY":
            portal.tag = ""
        elif command == "BEGIN":
            self.status = "T"
            portal.tag = "BEGIN"
        elif command in ("COMMIT", "ROLLBACK"):
            portal.tag = "ROLLBACK" if self.status == "E" else command
            self.status = "I"
        elif command == "SET":
            s = statements.setting(portal.sql)
            if s is None:
                raise Failed("42601", "could not read this SET: write SET name = 'value'")
            if s.value is None:
                if s.name == "all" or s.name == PURPOSE:
                    self.params.pop(PURPOSE, None)
            else:
                self._set(s.name, s.value)
            portal.tag = "RESET" if s.value is None else "SET"
        elif command == "SHOW":
            words = statements.code_words(portal.sql)
            name = ".".join(words[1:]) if len(words) > 1 else ""
            name = {"time.zone": "timezone", "transaction.isolation.level": "transaction_isolation"}.get(name, name)
            if name == "all":
                rows = [(k, v) for k, v in sorted(self.params.items()) if not k.startswith("_")]
                table = pa.table({"name": [k for k, _ in rows], "setting": [v for _, v in rows]})
            elif name in self.params and not name.startswith("_"):
                table = pa.table({name: [self.params[name]]})
            else:
                raise Failed("42704", f'unrecognized configuration parameter "{name}"')
            portal.fields = fields_of(table.schema, portal.result_formats)
            portal.rows = iter([encode(table, portal.fields)])
        else:
            portal.tag = command

    def _refresh_person(self) -> None:
        """Memberships and roles as they are now, not as they were at sign-in: re-read whenever the store's
        metadata version (which every change to people and memberships moves) has moved."""
        version = self.platform.store.metadata_version()
        if version is not None and version == self._person_version:
            return
        assert self.person is not None
        try:
            self.person = get_person(self.platform, self.person.name)
        except NotFound:
            raise Failed("28000", "this account no longer exists") from None
        self._person_version = version
        if self.shadow is not None:
            self.shadow.person = self.person  # rebuilt for it: the metadata version moved

    def _set(self, name: str, value: str) -> None:
        name = name.lower()
        if name.startswith("_") or name in ("session_authorization", "is_superuser", "server_version"):
            return  # who the session is and what it runs on are not the client's to say
        if name == PURPOSE:
            value = value.strip()[:200]
        self.params[name.lower()] = value

    def _shadow(self) -> Shadow:
        if self.shadow is None:
            assert self.person is not None
            self.shadow = Shadow(self.platform, self.person)
        return self.shadow

    async def _execute(self, portal: Portal, max_rows: int) -> None:
        """Send the portal's rows (at most `max_rows`, 0 = all), then its completion or suspension."""
        if portal.done:
            self.send(wire.command_complete(portal.tag or f"SELECT {portal.sent}"))
            return
        if portal.rows is None:
            portal.done = True
            if portal.tag == "":
                self.send(wire.EMPTY_QUERY)
            else:
                self.send(wire.command_complete(portal.tag or ""))
            return
        loop = asyncio.get_running_loop()
        sent = 0
        while not max_rows or sent < max_rows:
            if not portal.pending:
                try:
                    chunk = await loop.run_in_executor(self.platform.limits.pool, next_rows, portal.rows)
                except ThresholdError as e:
                    portal.done = True
                    raise self._failure(e, portal.sql) from None
                if chunk is None:
                    break
                portal.pending = chunk
            take = portal.pending if not max_rows else portal.pending[: max_rows - sent]
            portal.pending = portal.pending[len(take) :]
            for row in take:
                self.send(row)
            sent += len(take)
            portal.sent += len(take)
            if len(self.out) > 256 * 1024:
                await self.flush()
        if max_rows and sent >= max_rows:
            if not portal.pending:  # is there more? one look ahead says whether to suspend or complete
                try:
                    ahead = await loop.run_in_executor(self.platform.limits.pool, next_rows, portal.rows)
                    portal.pending = ahead or []
                except ThresholdError as e:
                    portal.done = True
                    raise self._failure(e, portal.sql) from None
            if portal.pending:
                self.send(wire.PORTAL_SUSPENDED)
                return
        portal.done = True
        if portal.stream is not None:
            portal.stream.close()
            for note in portal.stream.notes:
                self.send(wire.notice(note))
        self.send(wire.command_complete(f"SELECT {portal.sent}"))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "catalog query failed"
