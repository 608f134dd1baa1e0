"""Running gateway queries for HTTP: on the query pool, stopped when the client goes, streamed back.

Queries never run on the request threads: they run on `platform.limits.pool`, as many threads as
queries may run at once, so pages, sign-in and the API keep their threads whatever people query.
While a query runs (and while its result streams) the client's connection is watched; when it goes,
the query is interrupted in DuckDB and recorded as cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread
import pyarrow as pa
from fastapi import Request
from fastapi.responses import StreamingResponse

from threshold.gateway.stream import Cancel, QueryStream
from threshold.identity.service import Person
from threshold.interface import exports
from threshold.platform import Platform

T = TypeVar("T")
WINDOW_BYTES = 1 << 20
"""A result this small (Arrow bytes) is read whole before the response starts: its headers are exact."""
MEDIA = {
    "arrow": "application/vnd.apache.arrow.stream",
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "json": "application/json",
}


def bearer_digest(request: Request) -> str | None:
    """The digest of the request's API token (how `limits.refusals` knows a caller), if it sends one."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    return hashlib.sha256(auth[7:].strip().encode()).hexdigest()


async def refuse_known(request: Request) -> None:
    """Dependency of the query route, resolved before authentication and on the event loop: a token whose
    person was refused in full within the open refusal window and is still over a bound is answered 429
    from memory (counted, recorded with the window), without a thread, a metadata read or a parse."""
    digest = bearer_digest(request)
    if digest is not None:
        request.app.state.platform.limits.refuse_known(digest)


def remember_refused(request: Request, platform: Platform, person: Person, interface: str, kind: str) -> None:
    """After a refusal in full: let `refuse_known` answer this token's next refusals in the window."""
    digest = bearer_digest(request)
    if digest is not None:
        platform.limits.remember_refused(digest, person.id, person.name, interface, kind)


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the request body is read by then)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def in_pool(request: Request, platform: Platform, work: Callable[[], T], cancel: Cancel) -> T:
    """Run blocking `work` on the query pool; if the client goes meanwhile, `cancel` stops the query."""
    loop = asyncio.get_running_loop()
    return await _watched(request, asyncio.ensure_future(loop.run_in_executor(platform.limits.pool, work)), cancel)


async def admitted(
    request: Request, platform: Platform, open_stream: Callable[[], QueryStream], cancel: Cancel
) -> QueryStream:
    """Check, authorise and admit a query on the request threads (not started): the refusals of a flood
    (429) then never queue in front of admitted queries on the query pool."""
    return await _watched(request, asyncio.ensure_future(anyio.to_thread.run_sync(open_stream)), cancel)


async def _watched(request: Request, job: asyncio.Future[T], cancel: Cancel) -> T:
    watcher: asyncio.Future[None] = asyncio.ensure_future(_disconnected(request))
    try:
        both: list[asyncio.Future[Any]] = [job, watcher]
        done, _ = await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
        if watcher in done and not job.done():
            cancel.cancel()
        return await job
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher


@dataclass
class Started:
    """A started query with the start of its result: all of it when `complete` (then its headers are exact)."""

    stream: QueryStream
    head: list[pa.RecordBatch] = field(default_factory=list)
    rest: Iterator[pa.RecordBatch] | None = None
    complete: bool = False


def start(stream: QueryStream, window: int = WINDOW_BYTES) -> Started:
    """Read the first `window` bytes of the result (blocking: run it in the pool)."""
    it = stream.batches()
    started = Started(stream, rest=it)
    size = 0
    for batch in it:
        started.head.append(batch)
        size += batch.nbytes
        if size >= window:
            return started
    started.complete = True
    return started


def headers(s: Started) -> dict[str, str]:
    """What the response says before its body: the allowance in force, and the outcome when it is known."""
    a = s.stream.allowance
    out = {
        "X-Threshold-Row-Limit": str(a.rows),
        "X-Threshold-Byte-Limit": str(a.bytes),
        "X-Threshold-Time-Limit": f"{a.seconds:g}",
    }
    if s.complete:
        out["X-Threshold-Rows"] = str(s.stream.rows)
        out["X-Threshold-Truncated"] = str(s.stream.truncated).lower()
    return out


def tail(s: Started, summary: exports.ExportSummary) -> dict[str, Any]:
    """What the result came to, written at the end of JSON documents and Arrow streams."""
    st = s.stream
    return {
        "row_count": summary.rows,
        "truncated": st.truncated,
        "datasets": st.datasets,
        "duration_ms": st.duration_ms,
        "notes": st.notes,
        **({"error": summary.error} if summary.error else {}),
    }


def respond(
    request: Request, platform: Platform, s: Started, fmt: str, filename: str | None = None
) -> StreamingResponse:
    """Stream the result in `fmt` (arrow, csv, ndjson, json); the query ends with the response."""
    summary = exports.ExportSummary()
    stream = s.stream

    def batches() -> Iterator[pa.RecordBatch]:
        yield from s.head
        if s.rest is not None and not s.complete:
            yield from s.rest

    schema = stream.schema
    if fmt == "arrow":
        chunks = exports.arrow_chunks(schema, batches(), summary, lambda: tail(s, summary))
    elif fmt == "csv":
        chunks = exports.csv_chunks(schema, batches(), summary)
    elif fmt == "ndjson":
        chunks = exports.ndjson_chunks(batches(), summary)
    else:
        chunks = exports.json_chunks(schema, batches(), summary, lambda: tail(s, summary))
    extra = headers(s)
    if fmt == "csv":
        extra["X-Threshold-Neutralised"] = exports.NEUTRALISED
    if filename:
        extra["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(_body(request, platform, stream, chunks), media_type=MEDIA[fmt], headers=extra)


async def _body(
    request: Request, platform: Platform, stream: QueryStream, chunks: Iterator[bytes]
) -> AsyncIterator[bytes]:
    """The chunks, each made on the query pool; the client's leaving cancels the query at once."""
    loop = asyncio.get_running_loop()
    watcher = asyncio.ensure_future(_disconnected(request))
    watcher.add_done_callback(lambda f: stream.cancel() if not f.cancelled() else None)
    pool = platform.limits.pool
    try:
        while True:
            chunk = await loop.run_in_executor(pool, next, chunks, None)
            if chunk is None:
                return
            yield chunk
    finally:
        watcher.cancel()
        # Recorded before the response ends; if this task is itself cancelled the close still runs.
        await asyncio.wrap_future(pool.submit(stream.close))
