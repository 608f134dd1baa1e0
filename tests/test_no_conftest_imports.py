"""No test imports a conftest by name: in a whole run the module name `conftest` belongs to whichever folder's
conftest was collected last, so `from conftest import X` passes alone and fails (or imports the wrong X) in a
whole run. Shared helpers live in plain modules (tests/orgs.py, tests/pgwire/pgclient.py)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent
IMPORTS_CONFTEST = re.compile(r"^\s*(from\s+conftest\s+import|import\s+conftest\b)", re.MULTILINE)


def test_no_test_module_imports_a_conftest_by_name() -> None:
    offenders = sorted(
        str(path.relative_to(TESTS)) for path in TESTS.rglob("*.py") if IMPORTS_CONFTEST.search(path.read_text("utf-8"))
    )
    assert offenders == []


def test_the_check_finds_such_an_import() -> None:
    assert IMPORTS_CONFTEST.search("import os\nfrom conftest import add_budget\n")
    assert IMPORTS_CONFTEST.search("    import conftest\n")
    assert not IMPORTS_CONFTEST.search("from orgs import Org  # not conftest\n")
