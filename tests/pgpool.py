"""Per-test PostgreSQL databases made ahead: copies of a prepared template waiting in a pool.

A PostgreSQL-parametrised test gets a metadata database of its own, a copy of a prepared home's database
(`CREATE DATABASE x TEMPLATE y`, ~0.4 s on a quiet machine, ~2 s loaded) which is dropped after it. The
copy and the drop cost the server the same whenever they run; what a test waits for is what runs on its
thread. `DatabasePool` runs both on one background thread per test process: after a test takes a copy of
a template, the thread makes the next copy of that template (tests of one module mostly use one), and a
used database handed back is dropped there too. A test whose copy is ready waits for nothing; one whose
template has no copy ready makes its own on the spot, as before. A copy in the pool is only ever handed
to one test, and nobody has connected to it before: the test starts from exactly the template's state.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque

import sqlalchemy as sa

_NOTHING = object()

SPARES = 1
"""Copies kept ready per template: one is enough while making a copy takes less time than a test does
(more would only hold the server's disk and a core while the next template's copy waits)."""


def _name(url: str) -> str:
    return url.rsplit("/", 1)[1]


class DatabasePool:
    """Databases on the server at `admin_url` (a database there to connect to): fresh ones, copies of
    templates made ahead, and the drop of used ones, off the test's thread (see the module's text)."""

    def __init__(self, admin_url: str, spares: int = SPARES) -> None:
        self.admin_url = admin_url
        self.spares = spares
        self._engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=1)
        self._lock = threading.Condition()
        self._ready: dict[str | None, deque[str]] = {}
        """Template URL (None: an empty database) -> copies made, not yet taken."""
        self._wanted: deque[str | None] = deque()
        """Templates whose spares the thread should make, in the order asked."""
        self._drops: deque[str] = deque()
        self._failed: list[str] = []
        """Drops the thread could not do (tried again by `close`)."""
        self._busy = 0
        self._making: object = _NOTHING
        """The template the thread is making a copy of now (a test asking for one waits for it)."""
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="pg-test-databases", daemon=True)
        self._thread.start()

    def _url(self, name: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def create(self, template: str | None = None, strategy: str = "") -> str:
        """A new database now (a copy of `template` when given), on the caller's thread."""
        name = f"thr_{uuid.uuid4().hex[:12]}"
        copy_of = f' TEMPLATE "{_name(template)}"' if template else ""
        how = f" STRATEGY {strategy}" if strategy else ""
        with self._engine.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"{copy_of}{how}'))
        return self._url(name)

    def drop(self, url: str) -> None:
        """Drop a database now, on the caller's thread."""
        with self._engine.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{_name(url)}" WITH (FORCE)'))

    def take(self, template: str | None = None) -> str:
        """A database of the caller's own: a ready copy of `template` (an empty one when None), or one
        made now when none is ready; the thread then makes the next."""
        with self._lock:
            ready = self._ready.setdefault(template, deque())
            while not ready and self._making == template:  # nearly made: cheaper than making another
                self._lock.wait()
            url = ready.popleft() if ready else None
            if template not in self._wanted:
                self._wanted.append(template)
            self._lock.notify_all()
        return url if url is not None else self.create(template)

    def give_back(self, url: str) -> None:
        """A database the caller is done with (no connection open to it): dropped by the thread."""
        with self._lock:
            self._drops.append(url)
            self._lock.notify_all()

    def _next(self) -> tuple[str, str | None] | None:
        """The next job for the thread, under the lock: a spare to make first, else a drop."""
        for template in list(self._wanted):
            if len(self._ready.setdefault(template, deque())) < self.spares:
                return "make", template
            self._wanted.remove(template)
        if self._drops and not self._closed:
            return "drop", self._drops.popleft()
        return None

    def _work(self) -> None:
        while True:
            with self._lock:
                job = self._next()
                while job is None and not self._closed:
                    self._lock.wait()
                    job = self._next()
                if job is None:
                    return
                self._busy += 1
                if job[0] == "make":
                    self._making = job[1]
            what, url = job
            try:
                if what == "make":
                    made = self.create(url)
                    with self._lock:
                        self._ready.setdefault(url, deque()).append(made)
                else:
                    assert url is not None
                    try:
                        self.drop(url)
                    except sa.exc.SQLAlchemyError:
                        with self._lock:
                            self._failed.append(url)
            except sa.exc.SQLAlchemyError:
                pass  # a spare not made: the next test of that template makes its copy on the spot
            finally:
                with self._lock:
                    self._busy -= 1
                    self._making = _NOTHING
                    self._lock.notify_all()

    def discard(self, template: str) -> None:
        """Drop the template `template` and its ready copies, off the caller's thread (by the thread, or at
        `close` by the dropper)."""
        with self._lock:
            if template in self._wanted:
                self._wanted.remove(template)
            self._drops.extend(self._ready.pop(template, deque()))
            self._drops.append(template)  # after its copies: a template in use by a copy cannot go
            self._lock.notify_all()

    def close(self) -> None:
        """Stop the thread after the job it is doing, then drop every database still held (copies not taken,
        drops not done, templates discarded) in a process of its own that outlives this one: a test run
        does not wait for the server to drop them (10-20 s for the last test of a loaded worker)."""
        with self._lock:
            self._wanted.clear()
            self._closed = True  # the thread takes no more drops
            self._lock.notify_all()
        self._thread.join(timeout=120)
        with self._lock:
            left = [u for ready in self._ready.values() for u in ready] + list(self._drops) + self._failed
            self._ready.clear()
            self._drops.clear()
            self._failed = []
        self._engine.dispose()
        if left:
            drop_later(self.admin_url, [_name(u) for u in left])


_DROPPER = """
import sys
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1], isolation_level="AUTOCOMMIT")
with engine.connect() as c:
    for name in sys.argv[2:]:
        try:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except sa.exc.SQLAlchemyError:
            pass
"""


def drop_later(admin_url: str, names: list[str]) -> None:
    """Drop databases `names` (this pool's, in the order given) from a detached process."""
    import subprocess
    import sys

    assert all(n.startswith("thr_") and n.replace("_", "").isalnum() for n in names), names
    subprocess.Popen(
        [sys.executable, "-c", _DROPPER, admin_url, *names],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
