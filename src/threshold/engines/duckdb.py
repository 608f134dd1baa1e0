"""The second wall: a DuckDB that can read the warehouse folder and nothing else.

Configured in this order (DuckDB refuses another): allowed directories, then external access off,
then configuration locked. Autoloading extensions and Python replacement scans are off, so even
SQL that got past the parser cannot reach files, URLs, extensions, settings or other databases.
Each query runs on its own cursor: its temporary views die with it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

import duckdb
import pyarrow as pa

from threshold.errors import InvalidInput
from threshold.lake import ReadPlan, _quote_ident, _quote_str
from threshold.settings import Settings

VIEW_SCHEMA = '"__thr"'
MAX_VIEWS = 5000
_VALUE_ERRORS = ("Conversion Error", "Out of Range Error", "Invalid Input Error", "Constraint Error")


def engine_error(e: Exception, hide: tuple[str, ...] = ()) -> str:
    """DuckDB's message in one line, with quoted values blanked where the message could echo data,
    and the folders in `hide` (warehouse, home) never named: e.g. a data file gone missing."""
    text = " ".join(str(e).split("\n")[0].split())
    for path in sorted(hide, key=len, reverse=True):
        text = text.replace(path, "…")
    if text.startswith(_VALUE_ERRORS) or "convert" in text.lower():
        text = re.sub(r"'(?:[^']|'')*'", "'…'", text)
    for name in ("__thr_",):
        text = re.sub(name + r"[0-9a-f]+_\d+", "dataset", text)
    return text[:300]


class Engine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        warehouse = str(settings.warehouse_dir) + "/"
        settings.spill_dir.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {
            "temp_directory": str(settings.spill_dir),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "python_enable_replacements": False,
        }
        if settings.engine_threads:
            config["threads"] = settings.engine_threads
        if settings.engine_memory_limit:
            config["memory_limit"] = settings.engine_memory_limit
        self._db = duckdb.connect(":memory:", config=config)
        self._db.execute("SET TimeZone = 'UTC'")
        self._db.execute(
            f"SET allowed_directories = [{_quote_str(warehouse)}, {_quote_str(str(settings.spill_dir) + '/')}]"
        )
        # DuckDB 2.0.1's common_subplan optimizer answers `A JOIN A ... UNION A JOIN A ...` wrongly
        # (found by the governance suite's reference comparison): correct answers come first.
        self._db.execute("SET disabled_optimizers = 'common_subplan'")
        self._db.execute("SET enable_external_access = false")
        self._db.execute("SET lock_configuration = true")
        self._db.execute(f"CREATE SCHEMA {VIEW_SCHEMA}")
        self._lock = threading.Lock()
        self._views: dict[str, None] = {}  # insertion-ordered: the oldest are dropped first

    def ensure_views(self, bodies: Mapping[str, str]) -> None:
        """Keep a persistent view per (snapshot, reader's view) so repeated queries skip creating them.

        Names are content hashes in a schema no dataset can be named after (domain names start with a
        letter), and the parser admits only catalog datasets, so user SQL can never name one.
        """
        missing = [n for n in bodies if n not in self._views]
        if not missing:
            return
        with self._lock:
            cur = self._db.cursor()
            try:
                for name in missing:
                    if name in self._views:
                        continue
                    cur.execute(f"CREATE OR REPLACE VIEW {VIEW_SCHEMA}.{_quote_ident(name)} AS {bodies[name]}")
                    self._views[name] = None
                while len(self._views) > MAX_VIEWS:
                    old = next(iter(self._views))
                    cur.execute(f"DROP VIEW IF EXISTS {VIEW_SCHEMA}.{_quote_ident(old)}")
                    del self._views[old]
            finally:
                cur.close()

    def run(
        self,
        sql: str,
        views: Mapping[str, ReadPlan | tuple[ReadPlan, str]],
        *,
        max_rows: int | None,
        timeout: float | None = None,
    ) -> tuple[pa.Table, bool]:
        """Run generated SQL over per-query views. Returns (result, truncated)."""
        with self._lock:
            cur = self._db.cursor()
        timer = threading.Timer(timeout, cur.interrupt) if timeout else None
        try:
            for view, plan in views.items():
                body = plan[1] if isinstance(plan, tuple) else plan.relation_sql()
                cur.execute(f"CREATE TEMP VIEW {_quote_ident(view)} AS {body}")
            if timer:
                timer.start()
            result = cur.sql(sql)
            if max_rows is None:
                return result.to_arrow_table(), False
            reader = result.to_arrow_reader(batch_size=min(max_rows + 1, 100_000))
            batches, n = [], 0
            for batch in reader:
                batches.append(batch)
                n += batch.num_rows
                if n > max_rows:
                    break
            table = pa.Table.from_batches(batches, schema=reader.schema)
            if table.num_rows > max_rows:
                return table.slice(0, max_rows), True
            return table, False
        except duckdb.InterruptException as e:
            raise InvalidInput(f"the query ran longer than {timeout or 0:.0f} s and was stopped") from e
        except (duckdb.Error, OSError) as e:
            # An error DuckDB meets after the first batch reaches us through pyarrow's reader as a bare
            # OSError carrying DuckDB's whole message (with the SQL): it must be cleaned up the same way.
            hide = (str(self.settings.warehouse_dir), str(self.settings.home_dir))
            raise InvalidInput(f"the query failed: {engine_error(e, hide)}") from e
        finally:
            if timer:
                timer.cancel()
            cur.close()

    def close(self) -> None:
        self._db.close()
