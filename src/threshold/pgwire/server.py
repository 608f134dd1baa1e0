"""The front door itself: an asyncio server for PostgreSQL clients, on its own thread beside the HTTP server.

It bounds what any client can take: connections (`pg.max_connections`), the time to sign in
(`pg.startup_seconds`), silence (`pg.idle_seconds`) and message size (`pg.message_bytes`); every query within
it is bounded by the gateway's allowance for interface `pg` (time, rows, bytes, concurrency).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from typing import TYPE_CHECKING

from threshold.errors import InvalidInput
from threshold.platform import Platform

if TYPE_CHECKING:
    from threshold.pgwire.session import Session
    from threshold.settings import PgSettings


class FrontDoor:
    def __init__(self, platform: Platform, settings: PgSettings | None = None) -> None:
        self.platform = platform
        self.settings = settings or platform.settings.pg
        self.tls = tls_context(self.settings)
        self.sessions: dict[int, Session] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._open = 0
        """Connections open, signed in or not (only the door's event loop changes it)."""

    # -- sessions --------------------------------------------------------------------------------

    def enter(self, session: Session) -> bool:
        with self._lock:
            if len(self.sessions) >= self.settings.max_connections:
                return False
            self.sessions[session.pid] = session
            return True

    def leave(self, session: Session) -> None:
        with self._lock:
            self.sessions.pop(session.pid, None)

    def cancel(self, pid: int, key: int) -> None:
        """A CancelRequest: stop the running query of the session with this id and key (else nothing)."""
        with self._lock:
            session = self.sessions.get(pid)
        if session is not None and session.key == key and session.cancel is not None:
            session.cancel.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from threshold.pgwire.session import Session

        # Sockets still starting up count too (a flood that never signs in is bounded, for at most
        # `startup_seconds` each): as many again as the sessions allowed.
        if self._open >= 2 * self.settings.max_connections:
            writer.close()
            return
        self._open += 1
        try:
            await self._run(Session(self, reader, writer))
        finally:
            self._open -= 1

    async def _run(self, session: Session) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            self.leave(session)
            if task is not None:
                self._tasks.discard(task)

    # -- serving ---------------------------------------------------------------------------------

    def start(self, sock: socket.socket) -> None:
        """Serve on `sock` (already bound) from a thread of its own; returns once it listens."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._handle, sock=sock, limit=64 * 1024))
            except BaseException as e:
                failure.append(e)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=run, name="threshold-pgwire", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])


def tls_context(settings: PgSettings) -> ssl.SSLContext | None:
    """The server's TLS context when a certificate is configured (TLS 1.2 at least), else None."""
    if not settings.tls_certificate:
        return None
    if not settings.tls_key:
        raise InvalidInput("pg.tls_certificate is set without pg.tls_key (THRESHOLD_PG__TLS_KEY)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_certificate, settings.tls_key)
    except (OSError, ssl.SSLError) as e:
        raise InvalidInput(f"cannot load the front door's TLS certificate: {e}") from None
    return context
