"""one check history: the results a contract kept become runs of quality checks

Contract rules are now evaluated by quality's checks and their results read from `quality_check_runs`.
Every result a contract kept (`contracts.results`, the last check of that version) becomes one run of a
check of its own (source `contract`, inactive: it stood for that version; its dataset is the result's
object, else the contract's), stamped with the contract's `checked_at`; the result as the contract view
said it (kind, object, property, rule, expected, actual, message) is kept whole in the run's
`detail.contract`, so the view reads exactly what it read before. Each contract keeps its rules
(`contracts.rules`): each names the check of its result, or carries the note of a skipped rule.
`contracts.status`, `results` and `checked_at` go (computed from the runs now). The downgrade puts the
results back from the rules and the runs and removes the checks this migration made.

Revision ID: quality_one_check_history
Revises: limits_sign_in_failures
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "quality_one_check_history"
down_revision = "insights"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_MIGRATED = "contract result kept before checks and contracts shared one history"
_STATUS = {"passed": "pass", "failed": "fail", "error": "error"}

_contracts = sa.table(
    "contracts",
    sa.column("id", sa.Integer()),
    sa.column("dataset_id", sa.Integer()),
    sa.column("version", sa.String()),
    sa.column("status", sa.String()),
    sa.column("results", sa.JSON()),
    sa.column("rules", sa.JSON()),
    sa.column("checked_at", _TZ),
    sa.column("created_by_id", sa.Integer()),
    sa.column("created_at", _TZ),
)
_datasets = sa.table("datasets", sa.column("id", sa.Integer()), sa.column("full_name", sa.String()))
_checks = sa.table(
    "quality_checks",
    sa.column("id", sa.Integer()),
    sa.column("dataset_id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("options", sa.JSON()),
    sa.column("blocking", sa.Boolean()),
    sa.column("schedule", sa.String()),
    sa.column("source", sa.String()),
    sa.column("contract_ref", sa.String()),
    sa.column("active", sa.Boolean()),
    sa.column("created_by_id", sa.Integer()),
    sa.column("created_at", _TZ),
    sa.column("updated_at", _TZ),
    sa.column("last_status", sa.String()),
    sa.column("last_run_at", _TZ),
)
_runs = sa.table(
    "quality_check_runs",
    sa.column("id", sa.Integer()),
    sa.column("check_id", sa.Integer()),
    sa.column("dataset_id", sa.Integer()),
    sa.column("snapshot_id", sa.BigInteger()),
    sa.column("trigger", sa.String()),
    sa.column("user_id", sa.Integer()),
    sa.column("at", _TZ),
    sa.column("status", sa.String()),
    sa.column("blocking", sa.Boolean()),
    sa.column("rejected", sa.Boolean()),
    sa.column("failing", sa.BigInteger()),
    sa.column("checked", sa.BigInteger()),
    sa.column("metric", sa.Float()),
    sa.column("message", sa.Text()),
    sa.column("sample", sa.JSON()),
    sa.column("detail", sa.JSON()),
    sa.column("duration_ms", sa.Float()),
)
_FIELDS = ("kind", "object", "property", "rule", "status", "expected", "actual", "message")


def _kind(result: dict[str, Any]) -> str:
    """The check kind that evaluates such a rule now (the result itself is kept whole)."""
    if result.get("kind") == "schema":
        return "schema"
    if result.get("kind") == "sla":
        return "freshness"
    return {"required": "not_null", "unique": "unique"}.get(str(result.get("rule")), "sql")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _rule(result: dict[str, Any], check: int | None) -> dict[str, Any]:
    skipped = check is None
    return {
        "kind": result.get("kind"),
        "object": result.get("object"),
        "property": result.get("property"),
        "rule": result.get("rule"),
        "expected": result.get("expected"),
        "what": "",
        "check": check,
        "column": None,
        "percent": False,
        "note": result.get("message") if skipped else None,
        "status": "skipped" if skipped else None,
    }


def upgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("rules", sa.JSON(), nullable=True))
    conn = op.get_bind()
    datasets = {name: i for i, name in conn.execute(sa.select(_datasets.c.id, _datasets.c.full_name))}
    for c in conn.execute(sa.select(_contracts).order_by(_contracts.c.id)).all():
        at = c.checked_at or c.created_at or datetime.now(UTC)
        rules = []
        for result in c.results or []:
            if not isinstance(result, dict):
                continue
            status = _STATUS.get(str(result.get("status")))
            if status is None:  # skipped: a rule no check runs
                rules.append(_rule(result, None))
                continue
            where = (
                f"{result.get('object')}.{result.get('property')}" if result.get("property") else result.get("object")
            )
            dataset_id = datasets.get(str(result.get("object")), c.dataset_id)
            check_id = conn.execute(
                sa.insert(_checks)
                .returning(_checks.c.id)
                .values(
                    dataset_id=dataset_id,
                    name=f"{where}: {result.get('rule')}"[:200],
                    kind=_kind(result),
                    options={"migrated": _MIGRATED},
                    blocking=False,
                    schedule=None,
                    source="contract",
                    contract_ref=f"contract {c.version} (kept result)"[:200],
                    active=False,
                    created_by_id=c.created_by_id,
                    created_at=at,
                    updated_at=at,
                    last_status=status,
                    last_run_at=at,
                )
            ).scalar_one()
            conn.execute(
                sa.insert(_runs).values(
                    check_id=check_id,
                    dataset_id=dataset_id,
                    snapshot_id=None,
                    trigger="manual",
                    user_id=None,
                    at=at,
                    status=status,
                    blocking=False,
                    rejected=False,
                    failing=None,
                    checked=None,
                    metric=_number(result.get("actual")),
                    message=str(result.get("message") or "")[:4000],
                    sample={},
                    detail={"contract": {k: result.get(k) for k in _FIELDS}},
                    duration_ms=0.0,
                )
            )
            rules.append(_rule(result, check_id))
        conn.execute(sa.update(_contracts).where(_contracts.c.id == c.id).values(rules=rules))
    with op.batch_alter_table("contracts") as batch:
        batch.alter_column("rules", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("status")
        batch.drop_column("results")
        batch.drop_column("checked_at")


def downgrade() -> None:
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("status", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("results", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("checked_at", _TZ, nullable=True))
    conn = op.get_bind()
    back = {v: k for k, v in _STATUS.items()}
    for c in conn.execute(sa.select(_contracts.c.id, _contracts.c.rules).order_by(_contracts.c.id)).all():
        results, times = [], []
        for rule in c.rules or []:
            if rule.get("status"):
                said = {k: rule.get(k) for k in ("kind", "object", "property", "rule", "expected")}
                results.append(said | {"status": rule["status"], "actual": None, "message": rule.get("note") or ""})
                continue
            run = (
                conn.execute(
                    sa.select(_runs)
                    .where(_runs.c.check_id == rule.get("check"), _runs.c.rejected.is_(False))
                    .order_by(_runs.c.id.desc())
                    .limit(1)
                ).first()
                if rule.get("check") is not None
                else None
            )
            if run is None:
                continue
            times.append(run.at)
            kept = (run.detail or {}).get("contract")
            if isinstance(kept, dict):
                results.append(kept)
                continue
            actual = run.metric if run.metric is not None else run.failing
            results.append(
                {k: rule.get(k) for k in ("kind", "object", "property", "rule", "expected")}
                | {"status": back.get(run.status, "error"), "actual": actual, "message": run.message}
            )
        status = (
            "failed"
            if any(r.get("status") in ("failed", "error") for r in results)
            else ("passed" if results else "unchecked")
        )
        conn.execute(
            sa.update(_contracts)
            .where(_contracts.c.id == c.id)
            .values(status=status, results=results, checked_at=max(times) if times else None)
        )
    contract_checks = conn.execute(sa.select(_checks.c.id, _checks.c.options).where(_checks.c.source == "contract"))
    made = [i for i, options in contract_checks if (options or {}).get("migrated") == _MIGRATED]
    for i in range(0, len(made), 500):
        chunk = made[i : i + 500]
        conn.execute(sa.delete(_runs).where(_runs.c.check_id.in_(chunk)))
        conn.execute(sa.delete(_checks).where(_checks.c.id.in_(chunk)))
    with op.batch_alter_table("contracts") as batch:
        batch.alter_column("status", existing_type=sa.String(length=20), nullable=False)
        batch.alter_column("results", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("rules")
