"""One settings object. Every field reads `THRESHOLD_<FIELD>` (nested: `THRESHOLD_SECTION__KEY`)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from threshold.errors import InvalidInput
from threshold.limits.settings import LimitSettings

_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "development"}


class OwnerEvidencePoints(BaseModel):
    """Points each piece of evidence gives a person suggested as a product's owner
    (`THRESHOLD_PRODUCTS__OWNER_POINTS__<FIELD>`); the suggestions are ranked by their sum."""

    shared_first: float = 30
    """Shared the dataset first."""
    append_each: float = 5
    """Each later append or replace by the same person ..."""
    append_max: float = 20
    """... up to this many points."""
    domain_owner: float = 25
    """Owner of the dataset's domain."""
    source_owner: float = 25
    """Owns the source system it came from."""
    writes_it: float = 25
    """Owns the derivation that computes the dataset."""
    upstream_owner: float = 10
    """Owns a dataset upstream of it."""
    member: float = 10
    """Member of the dataset's domain."""
    heavy_user_max: float = 20
    """Times the share of the window's weeks the person used it in (repeat users only)."""
    question_each: float = 8
    """Each recurring question the person asked first ..."""
    question_max: float = 16
    """... up to this many points."""


class QualitySettings(BaseModel):
    """Quality scores and incident response times (`THRESHOLD_QUALITY__<FIELD>`)."""

    score_window_days: int = Field(default=30, ge=1, le=3650)
    """A dataset's quality score counts the check runs of this many days."""
    incident_window_days: int = Field(default=90, ge=1, le=3650)
    """Time to acknowledge and to fix: incidents opened in this many days."""
    blocking_weight: float = Field(default=2.0, ge=1.0, le=100.0)
    """How much more a blocking check counts in the score than a non-blocking one."""


class ProductSettings(BaseModel):
    """Consumption patterns, promotion candidates and data products (`THRESHOLD_PRODUCTS__<FIELD>`).

    A candidate's score is the sum over its signals of `weight x min(value / target, 1)`: with the
    default weights (summing to 100) a dataset that meets every target scores 100.
    """

    window_weeks: int = Field(default=8, ge=1, le=104)
    """Weeks of usage the candidate score, the reuse matrix and the producer view look at."""
    trend_weeks: int = Field(default=4, ge=1, le=52)
    """Rising and falling datasets: the last `trend_weeks` weeks against the `trend_weeks` before."""
    candidate_threshold: float = Field(default=70.0, ge=0, le=100)
    """Score from which a dataset becomes a promotion candidate (its domain's owners are told)."""
    candidate_min_people: int = Field(default=3, ge=1)
    """Fewer distinct consumers than this never makes a candidate, whatever the score."""
    repeat_weeks: int = Field(default=3, ge=2)
    """A person who used a dataset in this many distinct weeks is a repeat user."""
    recurring_people: int = Field(default=2, ge=2)
    """A question (query shape) asked of a dataset by this many people is a recurring question."""
    session_minutes: int = Field(default=30, ge=1, le=24 * 60)
    """Reads by one person less than this apart belong to one session (datasets used together)."""
    include_browsing: bool = False
    """Count browsing (dataset page previews) as use in every consumption figure: dataset usage, the long
    tail, patterns, candidates and producer views. The platform's own reads (quality and contract checks)
    never count."""
    deprecation_notice_days: int = Field(default=90, ge=1)
    """Deprecating a product tells everyone who used it in this many days."""
    weight_people: float = 15.0
    """Points for distinct consumers, full at `target_people`."""
    target_people: int = Field(default=10, ge=1)
    weight_domains: float = 30.0
    """Points for consumer domains other than the owning one (cross-domain reuse)."""
    target_domains: int = Field(default=3, ge=1)
    weight_repeat: float = 15.0
    """Points for repeat users (see `repeat_weeks`)."""
    target_repeat: int = Field(default=5, ge=1)
    weight_questions: float = 15.0
    """Points for recurring questions (see `recurring_people`)."""
    target_questions: int = Field(default=3, ge=1)
    weight_purposes: float = 10.0
    """Points for distinct purposes, declared with queries or granted with access."""
    target_purposes: int = Field(default=3, ge=1)
    weight_dependents: float = 10.0
    """Points for downstream dependents (derived datasets, products built on it)."""
    target_dependents: int = Field(default=2, ge=1)
    weight_demand: float = 5.0
    """Points for unmet demand: nominations, people refused a read, requests waiting."""
    target_demand: int = Field(default=2, ge=1)
    owner_points: OwnerEvidencePoints = Field(default_factory=OwnerEvidencePoints)
    """Points of the evidence behind owner suggestions (see `OwnerEvidencePoints`)."""


class InsightSettings(BaseModel):
    """Insights: saved questions, their results kept for reuse, charts and exports (`THRESHOLD_INSIGHTS__<FIELD>`)."""

    result_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    """Most rows an insight's result keeps (pages, charts, exports); a longer result is cut there and says so."""
    result_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Largest result (compressed Arrow) kept for reuse; a larger one is computed again for every view."""
    results_per_insight: int = Field(default=20, ge=1, le=1000)
    """Results kept per insight (one per reader decision and parameter values); the oldest go first."""
    page_rows: int = Field(default=200, ge=1, le=10_000)
    """Rows of the result an insight page shows (exports carry all of them)."""
    locale: str = "en_GB"
    """How numbers and dates are shown when the reader's browser or account does not say (a Babel locale)."""


class JobSettings(BaseModel):
    """The jobs core: scheduler and outbox (`THRESHOLD_JOBS__<FIELD>`)."""

    scheduler: bool = True
    """`threshold serve` runs due jobs (refreshes, checks) in a thread; off: only `threshold jobs run --due`
    (from cron or a systemd timer) or another server runs them."""
    interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How often the scheduler thread looks for due jobs."""
    outbox_attempts: int = Field(default=3, ge=1, le=20)
    """Attempts to deliver one outbox message (webhook, OpenLineage event) before it is marked failed."""
    outbox_backoff_seconds: float = Field(default=0.5, ge=0, le=600)
    """Wait before the second attempt; each further one waits twice as long."""
    outbox_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    """Timeout of one delivery attempt."""


class PrivacySettings(BaseModel):
    """What people may learn about each other's use of data (`THRESHOLD_PRIVACY__<FIELD>`).

    A person always sees their own usage; the governance group and administrators see everyone's.
    Everyone else sees usage as counts per domain and purpose, never names.
    """

    producers_see_names: bool = True
    """Producers (members of the domain whose data is read) see who read it. False: producers too see
    domains and purposes only, never names (what many works councils ask for)."""


class LiteracySettings(BaseModel):
    """Learning tracks and the personal report of data use (`THRESHOLD_LITERACY__<FIELD>`, docs/literacy.md).

    A person always sees their own path and report; nobody else ever sees one person's report. What a
    team lead sees is off by default: switch it on where the organisation (and its works council) agrees.
    """

    tracks_file: Path | None = None
    """A YAML file of learning tracks (docs/literacy.md); None: the ten-week programme shipped with Threshold."""
    team_view: bool = False
    """Owners of a domain see their domain's members' report as totals (never a ranking, never one person's
    figures). Off: there is no team view."""
    team_min_people: int = Field(default=5, ge=2, le=1000)
    """The team view shows a domain only when it has at least this many members (fewer would name people)."""
    viewer_names: bool = False
    """A person's report names who viewed their insights and used their data (only people they may know
    about). Off: counts per domain only."""


class OperationsSettings(BaseModel):
    """Table maintenance and the home's clean-up (`THRESHOLD_OPERATIONS__<FIELD>`, docs/operations.md)."""

    time_travel_days: int = Field(default=0, ge=0)
    """Time travel (and retention) this home promises: snapshot expiry never removes a snapshot that a
    query `AS OF` any moment of the last this-many days reads. 0 = every published snapshot is kept for
    ever, and expiry removes only snapshots that were never published."""
    compact_target_mb: int = Field(default=256, ge=1, le=8192)
    """Compaction rewrites a dataset's small files into files of about this size."""
    compact_schedule: str = Field(default="none", max_length=100)
    """When the `operations.compact` job compacts every dataset (the jobs schedule grammar, e.g. `daily at
    03:00`); `none`: only when asked (`threshold maintenance compact --all`, `threshold jobs run`)."""
    expire_schedule: str = Field(default="none", max_length=100)
    """When the `operations.expire` job expires snapshots of every dataset past `time_travel_days`."""
    sweep_schedule: str = Field(default="daily", max_length=100)
    """When the `operations.sweep` job sweeps the whole home for what killed writes left (a server also
    sweeps when it starts; a share sweeps its own dataset)."""


class StorageSettings(BaseModel):
    """Where the warehouse's files are kept (`THRESHOLD_STORAGE__<FIELD>`, docs/deployment.md). `local`: the
    warehouse folder itself. `s3`: an S3-compatible object store; the warehouse folder is then this machine's
    cache of it (files written there are uploaded before they are committed; files read are fetched once)."""

    kind: Literal["local", "s3"] = "local"
    """`local` (the default: one machine) or `s3`."""
    endpoint: str = Field(default="", max_length=500)
    """The object store's URL, e.g. `https://s3.eu-central-1.amazonaws.com` or `http://minio:9000`; empty:
    AWS's own endpoint for `region`."""
    bucket: str = Field(default="", max_length=63)
    """The bucket holding the warehouse (it must exist)."""
    prefix: str = Field(default="", max_length=500)
    """A folder inside the bucket (e.g. `threshold/prod`); empty: the bucket's root."""
    region: str = Field(default="us-east-1", max_length=64)
    """The bucket's region."""
    access_key_id: SecretStr = SecretStr("")
    """Access key (`THRESHOLD_STORAGE__ACCESS_KEY_ID`); empty: the standard AWS chain (AWS_* variables,
    instance role). Never shown in any output."""
    secret_access_key: SecretStr = SecretStr("")
    """Secret key (`THRESHOLD_STORAGE__SECRET_ACCESS_KEY`). Never shown in any output."""
    path_style: bool = True
    """Address buckets as `endpoint/bucket/key` (MinIO, moto, most self-hosted stores); off: virtual hosts
    (`bucket.endpoint/key`)."""
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """Connect and request timeout of one call to the store."""
    cache_max_bytes: int = Field(default=0, ge=0)
    """Bound of this machine's cache of the store (the warehouse folder), in bytes: past it, the copies used
    least recently are removed (never one a running query reads; it is fetched again when next read). 0: no
    bound (the cache holds what some snapshot references)."""

    @model_validator(mode="after")
    def _check(self) -> StorageSettings:
        if self.kind == "s3" and not self.bucket:
            raise InvalidInput("THRESHOLD_STORAGE__BUCKET must name a bucket when THRESHOLD_STORAGE__KIND is s3")
        self.prefix = self.prefix.strip("/")
        if ".." in self.prefix.split("/"):
            raise InvalidInput("THRESHOLD_STORAGE__PREFIX must not climb out of the bucket ('..')")
        return self


class ServerSettings(BaseModel):
    """`threshold serve`: its worker processes (`THRESHOLD_SERVER__<FIELD>`, docs/deployment.md#several-api-workers)."""

    workers: int = Field(default=1, ge=1, le=64)
    """Worker processes serving the web UI and the API on one address (`threshold serve --workers N`). More than
    one needs PostgreSQL (`database_url`): the embedded SQLite store is served by one process. Each worker
    answers any request; a change made through one is seen by the next request every worker answers (the
    caches are keyed on the store's metadata version). Per-process limits are divided among the workers."""
    preload: bool = True
    """Workers are forked from the supervisor, which imported their code once (a worker, first or replacement,
    answers about a second sooner and costs that much less CPU); off: each worker is a fresh interpreter that
    imports everything itself (also what the supervisor does whenever forking is unsafe)."""


class EngineSettings(BaseModel):
    """Which engine answers a query (`THRESHOLD_ENGINE__<FIELD>`, docs/deployment.md "Big queries on Daft on
    Ray"). DuckDB, embedded, answers every query unless a query's planned scan is larger than
    `daft_above_bytes` or its person asks for Daft; Daft needs the `scale` extra (`pip install 'threshold[scale]'`)."""

    daft_above_bytes: int = Field(default=0, ge=0)
    """A query whose planned scan (the data files of the snapshots it reads, from the Iceberg snapshot
    summaries) is larger than this runs on Daft; 0: only when its person asks for it (`--engine daft`)."""
    ray_address: str = Field(default="", max_length=500)
    """The Ray cluster Daft runs on (e.g. `ray://head:10001` or `head:6379`); empty: Daft's own runner on
    this machine, no cluster."""
    fallback: bool = True
    """A query Daft cannot run (a SQL construct it does not support, a mask or filter it cannot compile)
    runs on DuckDB instead, with a note; off: the person gets the one-line reason and no answer."""


class PgSettings(BaseModel):
    """The PostgreSQL front door (`THRESHOLD_PG__<FIELD>`, docs/pgwire.md)."""

    port: int = Field(default=0, ge=0, le=65535)
    """Port `threshold serve` also listens on for PostgreSQL clients (psql, DBeaver, Power BI...); 0: off.
    `threshold serve --pg-port N` sets it for one run."""
    max_connections: int = Field(default=100, ge=1, le=10_000)
    """Client connections open at once; one more is refused (SQLSTATE 53300)."""
    startup_seconds: float = Field(default=30.0, gt=0, le=3600)
    """Time a new connection has to finish its startup, TLS and sign-in."""
    idle_seconds: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
    """A connection that sends nothing (or reads nothing of a result) for this long is closed."""
    message_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, le=1024**3)
    """Largest message a client may send (a query with its parameters); a longer one closes the connection
    before any of it is read."""
    tls_certificate: Path | None = None
    """PEM certificate (chain) of the front door; with `tls_key`, clients may (`sslmode=require`) use TLS."""
    tls_key: Path | None = None
    """PEM private key of `tls_certificate`."""
    require_tls: bool = False
    """Refuse connections that do not use TLS (needs `tls_certificate`)."""


class ErasureSettings(BaseModel):
    """The right to erasure and subject access (`THRESHOLD_ERASURE__<FIELD>`, docs/compliance.md)."""

    key: str | None = Field(default=None, max_length=500)
    """The secret an erasure certificate's subject identifiers are keyed with (HMAC-SHA256): a certificate
    never stores the value itself. Unset: a random key is generated into `home/erasure_key` on first use."""
    max_datasets: int = Field(default=500, ge=1, le=100_000)
    """An erasure or subject access report searches at most this many datasets (tagged and derived)."""
    report_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    """A subject access report lists at most this many rows per dataset (their count is always exact)."""


class SourcesSettings(BaseModel):
    """Databases as sources (`THRESHOLD_SOURCES__<FIELD>`, docs/sources.md)."""

    key: str | None = Field(default=None, max_length=500)
    """The secret source credentials are encrypted under (any text; a Fernet key is derived from it). Unset: a
    random key is generated into `home/sources_key` on first use. Changing it makes stored passwords unreadable
    (add the connections again)."""
    connect_timeout_seconds: float = Field(default=15.0, gt=0, le=600)
    """A source database that does not accept the connection within this time fails the sync or test."""
    statement_timeout_seconds: float = Field(default=600.0, gt=0, le=24 * 3600)
    """The extracting query may run this long on the source (set on the source's session where it has one)."""
    max_rows: int = Field(default=50_000_000, ge=1)
    """A sync that would read more rows than this stops, and changes nothing."""
    max_bytes: int = Field(default=8 * 1024**3, ge=1024)
    """A sync whose extracted data (in memory, as Arrow) grows past this stops, and changes nothing."""
    batch_rows: int = Field(default=50_000, ge=100, le=10_000_000)
    """Rows fetched from the source per round trip (server-side cursor)."""
    postgres_copy: bool = True
    """Read PostgreSQL tables with `COPY ... TO STDOUT` as CSV, parsed by pyarrow (several times faster than the
    driver's rows); tables with a type it cannot read exactly are read through the driver whatever this says."""
    tool_output_bytes: int = Field(default=2 * 1024**3, ge=1024)
    """Most output an Access file's `mdb-export` may write for one table."""


class ComplianceSettings(BaseModel):
    """The collection register and retention (`THRESHOLD_COMPLIANCE__<FIELD>`, docs/compliance.md)."""

    register_required: bool = False
    """A dataset holding personal data (detected or tagged) is published only with its collection register
    complete: purpose, legal basis, data subjects, retention and its date column, source system, controller
    (and an Art. 9(2) condition for special categories). False: the register is recorded when given."""
    retention_schedule: str = Field(default="daily", max_length=100)
    """When the `compliance.retention` job removes rows past their retention (the jobs schedule grammar);
    `none`: only `threshold retention run`."""
    retention_notice_days: int = Field(default=7, ge=0, le=365)
    """Owners are told this many days before rows of their dataset reach the end of their retention."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THRESHOLD_", env_nested_delimiter="__", extra="ignore")

    home: Path = Path(".threshold")
    """The embedded home: metadata store, Iceberg catalog and warehouse live here unless set apart."""

    database_url: str | None = None
    """SQLAlchemy URL of the metadata store and Iceberg SQL catalog. Default: SQLite file in `home`.
    PostgreSQL: `postgresql+psycopg://user@host/db`."""

    warehouse: Path | None = None
    """Folder holding the Iceberg tables' files (with `storage.kind = s3`: this machine's cache of them).
    Default: `home/warehouse`."""

    storage: StorageSettings = Field(default_factory=StorageSettings)
    """Local folder or S3-compatible object store for the warehouse (see `StorageSettings`)."""

    environment: str = "development"
    """`development` or `production`; production refuses placeholder secrets."""

    secret_key: str = ""
    """Signs web sessions. Generated and kept in `home/secret_key` when not set (development)."""

    preview_minutes: int = Field(default=60, ge=1)
    """A file uploaded for a preview waits this long for its person to publish it, then it is removed."""

    previews_per_person: int = Field(default=5, ge=1)
    """Uploads one person may keep waiting in previews; a new one removes their oldest."""

    preview_rows: int = Field(default=20, ge=1, le=1000)
    """Rows a share preview shows, as they will be stored."""

    engine_threads: int = Field(default=0, ge=0)
    """DuckDB threads; 0 = one per core."""

    profile_sample_rows: int = 100_000
    """Rows sampled for top values and sensitive-data detection at share time."""

    guardrail_personal_mask: str = "redact"
    """How the built-in guardrail masks the sensitive class (personal data, financial identifiers) for
    readers outside the domain the values come from (`redact`, `hash`, `null`, `partial`, `year`)."""

    openlineage_url: str | None = None
    """Where Threshold POSTs OpenLineage events for its shares and derivations (e.g. Marquez at
    `http://marquez:5000`; a bare host gets `/api/v1/lineage`). None: no events are emitted."""

    lock_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How long a write waits for a locked metadata store (a SQLite file another process is writing)
    before it gives up. The Iceberg catalog's commits share the store's connections, so they wait
    exactly as long."""

    writer_wait_seconds: float = Field(default=600.0, gt=0, le=24 * 3600)
    """How long a share (or repair, compaction) waits for another writer of the same dataset to finish."""

    cleanup_grace_minutes: float = Field(default=60.0, ge=0)
    """Files and folders of unknown origin are removed by the clean-up only once this old, and a dataset
    whose writer lock is held is never touched: a writer still at work is never disturbed."""

    resident: bool | None = None
    """The resident query helper (docs/operations.md): `threshold query`, `datasets`, `show`, `usage` and
    `share` run in a warm helper process per home, started by the first of them, instead of importing
    everything again (same service calls, same output, usage and audit). True/False switch it on/off;
    unset: on, except under pytest or in CI (`CI` set), where a test switches it on. Read by the CLI before
    this object exists."""

    resident_idle_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)
    """A resident helper that has run no command for this long exits (the next command starts a new one)."""

    resident_queries: int = Field(default=4, ge=1, le=64)
    """Commands a resident helper runs at once; one more runs in its own process, as without the helper."""

    resident_start_seconds: float = Field(default=10.0, gt=0, le=600)
    """How long the first command waits for a new helper to start before it runs in its own process."""

    resident_answer_seconds: float = Field(default=2.0, gt=0, le=600)
    """How long a command waits for a running helper to answer before it runs in its own process (a hung
    helper costs this much). Read by the client only, like `resident_start_seconds`: not part of a helper's key."""

    jobs: JobSettings = Field(default_factory=JobSettings)
    """The scheduler and the outbox (see `JobSettings`)."""

    quality: QualitySettings = Field(default_factory=QualitySettings)
    """Quality scores and incident response times (see `QualitySettings`)."""

    operations: OperationsSettings = Field(default_factory=OperationsSettings)
    """Snapshot expiry, compaction and their optional schedules (see `OperationsSettings`)."""

    products: ProductSettings = Field(default_factory=ProductSettings)
    """Consumption patterns, candidate scoring and product lifecycle (see `ProductSettings`)."""

    insights: InsightSettings = Field(default_factory=InsightSettings)
    """Insights and boards (see `InsightSettings`)."""

    limits: LimitSettings = Field(default_factory=LimitSettings)
    """Time, rows, bytes, concurrency, upload and sign-in bounds (see `LimitSettings`)."""

    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    """Who sees whose names in usage and consumer views (see `PrivacySettings`)."""

    server: ServerSettings = Field(default_factory=ServerSettings)
    """The API server's worker processes (see `ServerSettings`)."""

    engine: EngineSettings = Field(default_factory=EngineSettings)
    """Which engine answers a query: DuckDB, or Daft (on a Ray cluster) for big ones (see `EngineSettings`)."""

    pg: PgSettings = Field(default_factory=PgSettings)
    """The PostgreSQL front door (see `PgSettings`)."""

    erasure: ErasureSettings = Field(default_factory=ErasureSettings)
    """The right to erasure and subject access reports (see `ErasureSettings`)."""
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    """Databases as sources: credential key, timeouts and limits of a sync (see `SourcesSettings`)."""

    literacy: LiteracySettings = Field(default_factory=LiteracySettings)
    """Learning tracks and who sees the personal report's totals (see `LiteracySettings`)."""

    compliance: ComplianceSettings = Field(default_factory=ComplianceSettings)
    """The collection register and retention (see `ComplianceSettings`)."""

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.environment == "production" and self.secret_key.strip().lower() in _PLACEHOLDER_SECRETS:
            raise InvalidInput("THRESHOLD_SECRET_KEY must be set to a real secret in production")
        return self

    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @cached_property
    def warehouse_dir(self) -> Path:
        return (self.warehouse or self.home_dir / "warehouse").expanduser().resolve()

    @cached_property
    def staging_dir(self) -> Path:
        """Private scratch space for shares in progress; a share's folder is removed when it ends."""
        return self.home_dir / "staging"

    @cached_property
    def previews_dir(self) -> Path:
        """Uploads waiting in a share preview: `previews/<token>/` (see `sharing/staged.py`); they outlive
        the process that received them, and are removed when published, cancelled or expired."""
        return self.staging_dir / "previews"

    @cached_property
    def spill_dir(self) -> Path:
        return self.home_dir / "spill"

    @cached_property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'threshold.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    def session_secret(self) -> str:
        if self.secret_key:
            return self.secret_key
        cached = self.__dict__.get("_secret")
        if cached:
            return str(cached)
        path = self.home_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        self.__dict__["_secret"] = path.read_text().strip()
        return str(self.__dict__["_secret"])

    def sources_key(self) -> bytes:
        """The secret source credentials are encrypted under: configured, else generated into the home once."""
        if self.sources.key:
            return self.sources.key.encode()
        path = self.home_dir / "sources_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    def erasure_key(self) -> bytes:
        """The key of erasure certificates' subject hashes: configured, else generated into the home once."""
        if self.erasure.key:
            return self.erasure.key.encode()
        path = self.home_dir / "erasure_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()
