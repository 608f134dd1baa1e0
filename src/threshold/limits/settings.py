"""The limits section of the settings: `THRESHOLD_LIMITS__<FIELD>` (e.g. `THRESHOLD_LIMITS__QUERY_SECONDS=10`).

Every bound the platform applies to people, files and requests is declared here, once, and applied by
every interface through `threshold.limits`. A message that a limit stopped something names the field
and its environment variable, so a person can tell an administrator exactly what to change.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

KiB, MiB, GiB = 1024, 1024**2, 1024**3


class LimitSettings(BaseModel):
    """Bounds on time, rows, bytes, concurrency, uploads and sign-in attempts."""

    # -- queries: time -------------------------------------------------------------------------
    query_seconds: float = Field(default=30.0, gt=0, le=24 * 3600)
    """Longest an interactive query (web, API, CLI, Python client) may run, delivery of its result
    included. A request may ask for less (`timeout` in the API), never more."""
    job_query_seconds: float = Field(default=1800.0, gt=0, le=7 * 24 * 3600)
    """Longest a query run by a job (derivations, checks, scheduled work) may run."""

    # -- queries: result size ------------------------------------------------------------------
    query_rows: int = Field(default=1_000_000, ge=1)
    """Most rows one interactive query returns. A caller may ask for fewer (`max_rows`), never more;
    a longer result is cut there and says so."""
    query_result_bytes: int = Field(default=1 * GiB, ge=1 * KiB)
    """Most result bytes (Arrow, in memory) one interactive query returns; a larger result is cut there
    and says so. Streamed results never hold more than one batch in server memory."""
    job_query_rows: int = Field(default=100_000_000, ge=1)
    """Most rows a job's query returns (a derivation stores its whole result)."""
    job_query_result_bytes: int = Field(default=8 * GiB, ge=1 * KiB)
    """Most result bytes a job's query returns; a job whose result is larger fails and says so."""

    # -- queries: concurrency ------------------------------------------------------------------
    person_queries: int = Field(default=2, ge=1, le=1000)
    """Queries one person may have running at once (per server process); one more is answered
    HTTP 429 with `Retry-After`."""
    queries: int = Field(default=0, ge=0, le=10_000)
    """Interactive queries running at once on one server process, everyone together. They run on a
    pool of this many threads of their own, so pages, sign-in and the API keep the request threads.
    0: twice the number of cores, at least 4."""
    job_queries: int = Field(default=2, ge=1, le=1000)
    """Queries jobs may have running at once, apart from (and never taking from) the interactive ones."""
    refusal_window_seconds: float = Field(default=5.0, gt=0, le=3600)
    """A person refused as too busy (429) is recorded at once; their further refusals within this many
    seconds are counted in memory, answered before any other work, and recorded as one usage event
    with their count when the window ends (or the server stops): a client retrying in a loop costs
    the server no metadata write per refusal."""

    long_query_seconds: float = Field(default=0.25, ge=0, le=24 * 3600)
    """After this many seconds, while someone else has a query running (or admitted in the last 2 s), a
    query's thread drops to the lowest scheduling priority (nice 19); it gets it back when nobody else
    has work and when it ends. A long query runs on what the processor has spare and never slows
    others' short queries; alone it keeps the whole machine. A person who already has a query running
    this long, or had one stopped past it (client gone, or out of time) in the last 30 s, gets their next
    one at the lowest priority from its start. 0: off. Needs the right to give the
    priority back (root, `CAP_SYS_NICE` or `RLIMIT_NICE`); without it queries keep their priority."""

    # -- the engine ------------------------------------------------------------------------------
    engine_memory: str = ""
    """DuckDB memory limit of the gateway engine, e.g. `8GB`; beyond it a query spills to the spill
    folder (`home/spill`) and slows down instead of taking the machine. Empty: half of the memory
    this process may use (the machine's, or its cgroup's limit)."""
    engine_spill_bytes: str = ""
    """Most disk the gateway engine's spill folder may use, e.g. `50GB`. Empty: DuckDB's default
    (90% of the free space of that disk)."""
    share_memory: str = "2GB"
    """DuckDB memory limit of a share's conversion: large files stream within it. Shares of files and Arrow
    tables of at most 1 MiB (`sharing.small`) run together on one database of their process, within one such
    limit and without spilling."""

    # -- requests and files ----------------------------------------------------------------------
    upload_bytes: int = Field(default=10 * GiB, ge=1)
    """Largest file that may be shared, by upload (API, web) or from a path (CLI, Python). An upload
    is refused as soon as it passes this, before the rest is received."""
    request_bytes: int = Field(default=16 * MiB, ge=1 * KiB)
    """Largest request body of any route other than uploads (JSON, forms, policy and contract files)."""
    spreadsheet_bytes: int = Field(default=2 * GiB, ge=1 * KiB)
    """Largest decompressed size of a spreadsheet (.xlsx, .xlsm, .ods: the sum of its parts; .xls: the
    file), checked before any cell is read."""
    spreadsheet_cells: int = Field(default=20_000_000, ge=1)
    """Largest sheet grid (rows x columns from the first to the last cell used, the declared dimension
    too) and most cells one spreadsheet may hold; checked before any grid is built."""
    spreadsheet_ratio: int = Field(default=200, ge=2)
    """Largest compression ratio (decompressed / compressed) of a part of an .xlsx/.xlsm/.ods file: a
    higher one is a decompression bomb, not a spreadsheet."""
    csv_line_bytes: int = Field(default=8 * MiB, ge=1 * KiB)
    """Longest line (record) of a CSV file."""
    csv_columns: int = Field(default=10_000, ge=1)
    """Most columns (fields per line) of a CSV file."""
    json_depth: int = Field(default=64, ge=1, le=128)
    """Deepest nesting of arrays and objects in a JSON file (measured over its first 16 MB; past that
    DuckDB's reader refuses anything deeper than 128, its own bound, so this is at most 128)."""

    # -- sign-in -----------------------------------------------------------------------------------
    signin_window_seconds: int = Field(default=900, ge=1)
    """Failed sign-ins are counted over this many seconds (per account and per client address)."""
    signin_free_failures: int = Field(default=5, ge=1)
    """Failures within the window before any delay: after these, each attempt waits."""
    signin_delay_seconds: float = Field(default=1.0, gt=0)
    """First delay after the free failures; it doubles with every further failure."""
    signin_max_delay_seconds: float = Field(default=60.0, gt=0)
    """Longest delay between two attempts (before the lockout)."""
    signin_lockout_failures: int = Field(default=20, ge=1)
    """Failures within the window that lock the account (or the address) for `signin_lockout_seconds`."""
    signin_lockout_seconds: int = Field(default=900, ge=1)
    """How long a lockout lasts, counted from the last failure."""
    signin_address_factor: int = Field(default=5, ge=1)
    """A client address (many people behind one office proxy) gets this many times the failures of an
    account before the same delays and lockout apply."""

    def setting(self, field: str) -> str:
        """`limits.<field> = <value> (THRESHOLD_LIMITS__<FIELD>)`: how messages name a limit."""
        return f"limits.{field} = {getattr(self, field)} (THRESHOLD_LIMITS__{field.upper()})"
