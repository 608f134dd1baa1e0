"""The function allow-list (`sql/functions.txt`) against DuckDB's own catalog, `duckdb_functions()`.

A function may be on the list only if it computes on its arguments alone. These tests classify every
DuckDB function from what DuckDB says of it (name, kind, side effects, macro body, description) and fail
when an allowed one touches catalogs, settings, files, extensions, the environment or the session: a new
DuckDB version that adds such a function under a listed name, or gives a listed macro a catalog query,
fails here before it reaches a person.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from threshold.errors import InvalidInput
from threshold.sql.check import _TABLE_FUNCTIONS, allowed_functions, check

# Families of names that reach outside a query's own values (catalog, settings, files, extensions, env...).
DANGEROUS_NAMES = re.compile(
    r"^(read_|parquet_|iceberg_|delta_|json_execute|sniff_|glob$|getenv$|current_setting$|getvariable$|"
    r"set_variable$|duckdb_|pragma_|pg_(?!typeof$)|has_\w*_privilege$|current_(database|schema|schemas|catalog|"
    r"user|role|query|query_id|transaction_id|connection_id)$|session_user$|user$|nextval$|currval$|setval$|"
    r"txid_|checkpoint$|force_checkpoint$|index_key$|write_log$|setseed$|sleep|which_secret$|load_|install_|"
    r"sql_auto_complete$|query$|query_table$|summary$|stats$|vector_type$|enable_|disable_|test_|"
    r"icu_calendar_names$|format_type$|col_description$|obj_description$|shobj_description$|in_search_path$|"
    r"version$|platform$|database_size$|storage_info$|table_info$|show_|describe$|finalize$|arrow_scan)",
    re.IGNORECASE,
)
# What a description says when a function reads or changes something other than its arguments.
DANGEROUS_WORDS = re.compile(
    r"\b(catalog|setting|settings|configuration|database|extension|environment variable|secret|"
    r"sequence|log entry|logging|checkpoint|connection|session|named index|sleeps?)\b",
    re.IGNORECASE,
)
# Macros whose body reads a catalog or a table.
DANGEROUS_MACRO = re.compile(r"\bFROM\b|duckdb_|pg_catalog|information_schema|current_setting|getvariable", re.I)
# Reviewed: nondeterministic, but compute nothing outside the query.
SIDE_EFFECTS_REVIEWED = {"random", "uuid", "uuidv4", "uuidv7", "gen_random_uuid", "error"}
# Reviewed: their descriptions use a listed word for what they compute on their arguments alone.
WORDS_REVIEWED = {"damerau_levenshtein", "parse_filename"}  # "extension": of a file name, text alone


@pytest.fixture(scope="module")
def catalog() -> list[tuple[str, str, bool, str, str]]:
    con = duckdb.connect()
    rows = con.sql(
        "SELECT function_name, function_type, coalesce(has_side_effects, false), coalesce(macro_definition, ''), "
        "coalesce(description, '') FROM duckdb_functions()"
    ).fetchall()
    con.close()
    return [(str(n).lower(), str(t), bool(se), str(m), str(d)) for n, t, se, m, d in rows]


def test_no_allowed_function_has_a_dangerous_name(catalog: list[tuple[str, str, bool, str, str]]) -> None:
    names = {n for n, *_ in catalog}
    allowed = allowed_functions()
    assert not sorted(n for n in allowed & names if DANGEROUS_NAMES.search(n))


def test_no_allowed_function_has_side_effects_beyond_the_reviewed(
    catalog: list[tuple[str, str, bool, str, str]],
) -> None:
    allowed = allowed_functions()
    assert sorted({n for n, _, se, _, _ in catalog if se and n in allowed} - SIDE_EFFECTS_REVIEWED) == []


def test_no_allowed_macro_reads_a_catalog_or_a_table(catalog: list[tuple[str, str, bool, str, str]]) -> None:
    allowed = allowed_functions()
    bad = {n for n, t, _, m, _ in catalog if n in allowed and t == "macro" and DANGEROUS_MACRO.search(m)}
    assert sorted(bad) == []


def test_no_allowed_function_is_described_as_touching_the_platform(
    catalog: list[tuple[str, str, bool, str, str]],
) -> None:
    allowed = allowed_functions()
    bad = {n for n, _, _, _, d in catalog if n in allowed and DANGEROUS_WORDS.search(d)} - WORDS_REVIEWED
    assert sorted(bad) == []


def test_table_functions_are_only_the_computing_ones(catalog: list[tuple[str, str, bool, str, str]]) -> None:
    kinds: dict[str, set[str]] = {}
    for n, t, *_ in catalog:
        kinds.setdefault(n, set()).add(t)
    only_tables = {n for n, ts in kinds.items() if ts <= {"table", "table_macro"}}
    assert sorted((only_tables & allowed_functions()) - _TABLE_FUNCTIONS) == []


def test_the_classifier_catches_what_was_taken_out(catalog: list[tuple[str, str, bool, str, str]]) -> None:
    """The rules above would have caught each function this review removed (they can fail)."""
    by_name = {n: (t, se, m, d) for n, t, se, m, d in catalog}
    for name in ("index_key", "setseed", "vector_type", "format_type", "current_setting", "write_log", "sleep_ms"):
        t, se, m, d = by_name[name]
        caught = bool(DANGEROUS_NAMES.search(name)) or (se and name not in SIDE_EFFECTS_REVIEWED)
        caught = caught or (t == "macro" and bool(DANGEROUS_MACRO.search(m))) or bool(DANGEROUS_WORDS.search(d))
        assert caught, name
        assert name not in allowed_functions()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT index_key({'table': 'plant_kpis'}, 1)",
        "SELECT setseed(0.5)",
        "SELECT vector_type(1)",
        "SELECT format_type(1, 1)",
        "SELECT 1 WHERE true AND index_key({'table': 'x'}, 1) IS NOT NULL",
    ],
)
def test_removed_functions_are_refused_by_the_parser(sql: str) -> None:
    with pytest.raises(InvalidInput, match="is not allowed"):
        check(sql)
