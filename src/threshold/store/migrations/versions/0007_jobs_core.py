"""jobs core: scheduled jobs and their run history; derivation and check schedules carried over

Every scheduled derivation becomes a `derivation.refresh` job (key: its dataset) and every active
scheduled check a `quality.check` job (key: its id), with the `next_run_at` they had; the capabilities
keep their `schedule` text and lose `next_run_at` (timing is the jobs core's). The downgrade puts
`next_run_at` back from the jobs.

Revision ID: 0007_jobs_core
Revises: 0006
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007_jobs_core"
down_revision = "0006"
branch_labels = None
depends_on = None

_REFRESH, _CHECK = "derivation.refresh", "quality.check"


def upgrade() -> None:
    jobs = op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("schedule", sa.String(length=50), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key", name="uq_jobs_kind_key"),
    )
    op.create_index("ix_jobs_next_run_at", "jobs", ["next_run_at"])
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("worker", sa.String(length=100), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_job_runs_job_id", "job_runs", ["job_id"])
    op.create_index("ix_job_runs_kind_key", "job_runs", ["kind", "key"])

    # Carried in SQL, row by row as they are (no round trip through Python types).
    now = sa.literal(datetime.now(UTC), sa.DateTime(timezone=True))
    derivations = sa.table(
        "derivations",
        sa.column("dataset_id", sa.Integer()),
        sa.column("schedule", sa.String()),
        sa.column("next_run_at", sa.DateTime(timezone=True)),
    )
    checks = sa.table(
        "quality_checks",
        sa.column("id", sa.Integer()),
        sa.column("dataset_id", sa.Integer()),
        sa.column("schedule", sa.String()),
        sa.column("next_run_at", sa.DateTime(timezone=True)),
        sa.column("active", sa.Boolean()),
    )
    datasets = sa.table("datasets", sa.column("id", sa.Integer()), sa.column("full_name", sa.String()))
    names = ["kind", "key", "label", "schedule", "next_run_at", "attempts", "created_at"]
    op.execute(
        jobs.insert().from_select(
            names,
            sa.select(
                sa.literal(_REFRESH),
                datasets.c.full_name,
                datasets.c.full_name,
                derivations.c.schedule,
                derivations.c.next_run_at,
                sa.literal(0),
                now,
            )
            .join_from(derivations, datasets, datasets.c.id == derivations.c.dataset_id)
            .where(derivations.c.schedule.is_not(None)),
        )
    )
    op.execute(
        jobs.insert().from_select(
            names,
            sa.select(
                sa.literal(_CHECK),
                sa.cast(checks.c.id, sa.String(200)),
                datasets.c.full_name,
                checks.c.schedule,
                checks.c.next_run_at,
                sa.literal(0),
                now,
            )
            .join_from(checks, datasets, datasets.c.id == checks.c.dataset_id)
            .where(checks.c.schedule.is_not(None), checks.c.active.is_(True)),
        )
    )

    op.drop_index("ix_derivations_next_run_at", table_name="derivations")
    with op.batch_alter_table("derivations") as batch:
        batch.drop_column("next_run_at")
    op.drop_index("ix_quality_checks_next_run_at", table_name="quality_checks")
    with op.batch_alter_table("quality_checks") as batch:
        batch.drop_column("next_run_at")


def downgrade() -> None:
    with op.batch_alter_table("derivations") as batch:
        batch.add_column(sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_derivations_next_run_at", "derivations", ["next_run_at"])
    with op.batch_alter_table("quality_checks") as batch:
        batch.add_column(sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_quality_checks_next_run_at", "quality_checks", ["next_run_at"])
    op.execute(
        sa.text(
            "UPDATE derivations SET next_run_at = (SELECT j.next_run_at FROM jobs j JOIN datasets ds"
            " ON j.key = ds.full_name WHERE j.kind = :kind AND ds.id = derivations.dataset_id)"
        ).bindparams(kind=_REFRESH)
    )
    op.execute(
        sa.text(
            "UPDATE quality_checks SET next_run_at = (SELECT j.next_run_at FROM jobs j"
            " WHERE j.kind = :kind AND j.key = CAST(quality_checks.id AS VARCHAR(200)))"
        ).bindparams(kind=_CHECK)
    )
    op.drop_index("ix_job_runs_kind_key", table_name="job_runs")
    op.drop_index("ix_job_runs_job_id", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_index("ix_jobs_next_run_at", table_name="jobs")
    op.drop_table("jobs")
