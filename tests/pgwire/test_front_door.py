"""psql and psycopg through the front door: the gateway's walls, masks and refusals, sign-in, parameters,
purposes and the usage record, exactly as over HTTP."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select

from threshold.identity.service import create_token, revoke_token
from threshold.store.models import UsageEvent
from threshold.usage.service import flush

KPIS = "manufacturing.plant_kpis"


def test_psql_reads_through_the_gateway_and_masked_values_stay_masked(front) -> None:
    outsider = front.psql("carla", f"SELECT plant, operator_name, e_mail FROM {KPIS} ORDER BY day")
    assert outsider.returncode == 0, outsider.stderr
    assert "Berlin" in outsider.stdout and "(5 rows)" in outsider.stdout
    assert "Anna Schmidt" not in outsider.stdout and "anna.schmidt@example.com" not in outsider.stdout
    owner = front.psql("anna", f"SELECT operator_name FROM {KPIS} ORDER BY day LIMIT 1")
    assert "Anna Schmidt" in owner.stdout


def test_a_restricted_dataset_is_absent_from_psql_listings_for_an_outsider_and_there_for_a_member(front) -> None:
    outsider = front.psql("carla", r"\dt *.*")
    assert outsider.returncode == 0, outsider.stderr
    assert "plant_kpis" in outsider.stdout
    assert "budget" not in outsider.stdout and "finance" not in outsider.stdout
    plain = front.psql("carla", r"\dt")  # every domain is on the search path
    assert "plant_kpis" in plain.stdout and "budget" not in plain.stdout
    member = front.psql("ben", r"\dt *.*")
    assert "budget" in member.stdout and "finance" in member.stdout
    described = front.psql("ben", r"\d finance.budget")
    assert "cost_centre" in described.stdout and "amount" in described.stdout
    hidden = front.psql("carla", r"\d finance.budget")
    assert "cost_centre" not in hidden.stdout + hidden.stderr
    assert "Did not find any relation" in hidden.stdout + hidden.stderr
    schemas = front.psql("carla", r"\dn")
    assert "manufacturing" in schemas.stdout and "finance" not in schemas.stdout


def test_the_catalog_tables_answer_only_what_the_person_may_know(front) -> None:
    queries = {
        "information_schema.tables": "SELECT table_schema || '.' || table_name FROM information_schema.tables",
        "information_schema.columns": "SELECT table_schema || '.' || table_name || '.' || column_name "
        "FROM information_schema.columns",
        "pg_class": "SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
    }
    for who, sees_budget in (("carla", False), ("ben", True)):
        with psycopg.connect(front.dsn(who)) as conn:
            for what, sql in queries.items():
                names = " ".join(r[0] for r in conn.execute(sql).fetchall())
                assert ("finance.budget" in names) is sees_budget, (who, what)
                assert "manufacturing.plant_kpis" in names, (who, what)
            # the gateway's engine and its views are nowhere: only the person's datasets
            tables = {r[0] for r in conn.execute("SELECT table_schema FROM information_schema.tables").fetchall()}
            assert tables <= {"manufacturing", "finance"}
    with psycopg.connect(front.dsn("ben")) as conn:
        assert conn.execute("SELECT amount FROM finance.budget ORDER BY cost_centre").fetchall()[0][0] == pytest.approx(
            1200.5
        )


def test_a_non_select_is_refused_with_the_gateways_message_and_the_connection_stays_usable(front) -> None:
    with psycopg.connect(front.dsn("anna"), autocommit=True) as conn:
        for sql in (
            f"DELETE FROM {KPIS}",
            f"DROP TABLE {KPIS}",
            "COPY (SELECT 1) TO '/tmp/x'",
            "CREATE TABLE manufacturing.fake AS SELECT * FROM pg_catalog.pg_class",  # not on the catalog either
            "SELECT 1 FROM pg_catalog.pg_class LIMIT 1; CREATE TABLE fake (a INTEGER)",
        ):
            with pytest.raises(psycopg.Error) as caught:
                conn.execute(sql)
            assert caught.value.sqlstate in ("42501", "0A000"), sql
            assert "read-only" in str(caught.value)
        assert conn.execute("SELECT count(*) FROM " + KPIS).fetchone() == (5,)
    refused = front.psql("anna", f"DELETE FROM {KPIS}")
    assert refused.returncode != 0 and "read-only" in refused.stderr


def test_a_wrong_password_is_refused_and_a_token_signs_in(front) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(front.dsn("anna", "not-her-password"))
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(front.dsn("nobody", "whatever"))
    token_id, token = create_token(front.org.platform, "carla", name="pg")
    with psycopg.connect(front.dsn("carla", token)) as conn:
        assert conn.execute("SELECT current_user").fetchone() is not None
        assert conn.execute(f"SELECT count(*) FROM {KPIS}").fetchone() == (5,)
    revoke_token(front.org.platform, token_id)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(front.dsn("carla", token))
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(front.dsn("anna", token))  # carla's token is not anna's password


def test_parameters_are_bound_as_literals_and_an_injection_stays_a_value(front) -> None:
    with psycopg.connect(front.dsn("anna")) as conn:
        rows = conn.execute(
            f"SELECT plant, scrap_rate FROM {KPIS} WHERE plant = %s ORDER BY day", ["Berlin"]
        ).fetchall()
        assert [r[0] for r in rows] == ["Berlin", "Berlin"]
        assert conn.execute(f"SELECT count(*) FROM {KPIS} WHERE scrap_rate > %s", [0.1]).fetchone() == (3,)
        assert conn.execute("SELECT %s::INTEGER + %s", [40, 2]).fetchone() == (42,)
        evil = "Berlin' OR '1'='1"
        assert conn.execute(f"SELECT count(*) FROM {KPIS} WHERE plant = %s", [evil]).fetchone() == (0,)
        evil = "x'; DROP TABLE manufacturing.plant_kpis; --"
        assert conn.execute("SELECT %s AS v", [evil]).fetchone() == (evil,)
        assert conn.execute("SELECT %s AS v, %s AS w", ["it's $1", None]).fetchone() == ("it's $1", None)
        binary = conn.cursor(binary=True)
        binary.execute(f"SELECT count(*), min(scrap_rate) FROM {KPIS} WHERE plant = %b", ["Lyon"])
        assert binary.fetchone() == (2, pytest.approx(0.08))
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("SELECT %s::INTEGER", ["7; SELECT 1"])
        assert caught.value.sqlstate is not None


def test_purpose_by_set_and_by_options_and_a_pg_usage_event(front) -> None:
    platform = front.org.platform
    with psycopg.connect(front.dsn("carla"), autocommit=True) as conn:
        conn.execute("SET threshold.purpose = 'quarterly review'")
        assert conn.execute("SHOW threshold.purpose").fetchone() == ("quarterly review",)
        conn.execute(f"SELECT plant FROM {KPIS} WHERE plant = 'Lyon'")
    with psycopg.connect(front.dsn("carla", options=r"-c threshold.purpose=energy\\ audit")) as conn:
        conn.execute(f"SELECT count(*) FROM {KPIS}").fetchone()
    flush(platform)
    with platform.store.session() as s:
        events = s.scalars(
            select(UsageEvent)
            .where(UsageEvent.user_id == front.org.carla.id, UsageEvent.interface == "pg")
            .order_by(UsageEvent.id)
        ).all()
        purposes = [e.purpose for e in events]
    assert "quarterly review" in purposes and "energy audit" in purposes
    assert all(e.status == "ok" for e in events)


def test_a_session_speaks_what_drivers_expect(front) -> None:
    with psycopg.connect(front.dsn("anna")) as conn:
        assert conn.info.server_version >= 150000
        assert conn.execute("SELECT version()").fetchone()[0].startswith("PostgreSQL")
        assert conn.execute("SELECT current_database()").fetchone() == ("threshold",)
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("read committed",)
        conn.execute("SET session_authorization = 'admin'")  # accepted, and changes nothing
        assert conn.execute("SELECT current_user").fetchone() == ("anna",)
        conn.execute("SET application_name = 'test'")
        conn.commit()  # BEGIN ... COMMIT around reads is accepted
        row = conn.execute(
            f"SELECT day, scrap_rate, plant, TRUE AS ok, CAST(2 AS SMALLINT) AS s, CAST(1.5 AS DECIMAL(4,2)) AS d, "
            f"TIMESTAMP '2026-01-01 10:00:00' AS t FROM {KPIS} ORDER BY day LIMIT 1"
        ).fetchone()
        import datetime as dt
        from decimal import Decimal

        expected = (
            dt.date(2026, 1, 3),
            pytest.approx(0.12),
            "Berlin",
            True,
            2,
            Decimal("1.5"),
            dt.datetime(2026, 1, 1, 10),
        )
        assert row == expected
        binary = conn.cursor(binary=True)  # the same values in binary format (numeric falls back to text)
        binary.execute(
            f"SELECT day, scrap_rate, plant, TRUE AS ok, CAST(2 AS SMALLINT) AS s, CAST(1.5 AS DECIMAL(4,2)) AS d, "
            f"TIMESTAMP '2026-01-01 10:00:00' AS t FROM {KPIS} ORDER BY day LIMIT 1"
        )
        assert binary.fetchone() == expected
    with psycopg.connect(front.dsn("carla"), autocommit=True) as conn:
        said = {}
        for name in ("finance.nothing", "finance.budget"):  # a restricted dataset reads as one that does not exist
            with pytest.raises(psycopg.Error) as caught:
                conn.execute(f"SELECT * FROM {name}")
            said[name] = (caught.value.sqlstate, str(caught.value).replace(name, "NAME"))
        assert said["finance.nothing"] == said["finance.budget"]
        assert "1200" not in str(said)


def test_a_column_named_like_a_catalog_word_is_still_data(front) -> None:
    with psycopg.connect(front.dsn("anna")) as conn:
        sql = f"SELECT plant AS version, 'pg_class' AS note FROM {KPIS} ORDER BY day LIMIT 1"
        assert conn.execute(sql).fetchone() == ("Berlin", "pg_class")


def test_a_membership_given_during_a_session_counts_at_the_next_statement(front) -> None:
    from threshold.identity.service import join_domain

    with psycopg.connect(front.dsn("carla"), autocommit=True) as conn:
        listed = "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        assert "finance.budget" not in [r[0] for r in conn.execute(listed)]
        join_domain(front.org.platform, "carla", "finance")
        try:
            assert "finance.budget" in [r[0] for r in conn.execute(listed)]
            assert conn.execute("SELECT count(*) FROM finance.budget").fetchone() == (2,)
        finally:
            from sqlalchemy import delete

            from threshold.store.models import Domain, Membership

            with front.org.platform.store.session() as s:
                finance = s.scalars(select(Domain.id).where(Domain.name == "finance")).one()
                s.execute(
                    delete(Membership).where(Membership.user_id == front.org.carla.id, Membership.domain_id == finance)
                )
        assert "finance.budget" not in [r[0] for r in conn.execute(listed)]


@pytest.mark.parametrize("value", ["0", "1.50", "-12345.6789", "0.0001", "100000000", "-0.05", "99999999999999.99"])
def test_decimals_arrive_exactly_in_text_and_in_binary(front, value: str) -> None:
    from decimal import Decimal

    with psycopg.connect(front.dsn("anna")) as conn:
        sql = f"SELECT CAST('{value}' AS DECIMAL(18, 4)) AS d"
        assert conn.execute(sql).fetchone() == (Decimal(value),)
        assert conn.cursor(binary=True).execute(sql).fetchone() == (Decimal(value),)
