"""Every route validates its input: schemathesis fuzzes the live ASGI app from its own OpenAPI document,
as an admin and as a member, with a bounded number of examples per operation. No input may be a
server error: every bad input is a 4xx with a one-line message."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from threshold.api.app import create_app
from threshold.identity.service import create_token

EXAMPLES = 10
"""Examples per operation and person: enough to reach the edges (huge ids, odd text), quick for the suite."""
SKIPPED = {("DELETE", "/api/v1/tokens/{token_id}")}
"""Would revoke the tokens this test signs in with."""


@pytest.fixture(scope="module")
def fuzzed(module_org: Any) -> Any:
    app = create_app(module_org.platform)
    tokens = {who: create_token(module_org.platform, who)[1] for who in ("admin", "carla")}
    return schemathesis.openapi.from_asgi("/openapi.json", app), tokens


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failing example of each operation is enough
)


def _check(case: Any, token: str) -> None:
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    content_type = (response.headers.get("content-type") or [""])[0]
    if response.status_code >= 400 and content_type.startswith("application/json"):
        detail = response.json().get("detail")
        assert isinstance(detail, str) and "\n" not in detail, f"{where}: {detail!r}"


def _fuzz(schema: Any, token: str) -> list[str]:
    """Every operation with its examples; the failures, one line per failing operation."""
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            _check(case, token)

        try:
            run()
        except Exception as e:  # noqa: BLE001  (every failing operation is listed, not just the first)
            failures.append(
                f"{operation.method.upper()} {operation.path}: {type(e).__name__}: {str(e).splitlines()[0]}"
            )
    return failures


def test_no_input_is_a_server_error_for_an_admin(fuzzed: Any) -> None:
    schema, tokens = fuzzed
    failures = _fuzz(schema, tokens["admin"])
    assert not failures, "\n".join(failures)


def test_no_input_is_a_server_error_for_a_member(fuzzed: Any) -> None:
    schema, tokens = fuzzed
    failures = _fuzz(schema, tokens["carla"])
    assert not failures, "\n".join(failures)
