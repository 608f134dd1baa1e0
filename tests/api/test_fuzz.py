"""Every route validates its input: schemathesis fuzzes the live ASGI app from its own OpenAPI document,
as an admin and as a member, with a bounded number of examples per operation. No input may be a
server error: every bad input is a 4xx with a one-line message."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.python.asgi import ASGIClient, get_client, shutdown_lifespans

from threshold.api.app import create_app
from threshold.identity.service import create_token

EXAMPLES = 10
"""Examples per operation and person: enough to reach the edges (huge ids, odd text), quick for the suite."""
SKIPPED = {("DELETE", "/api/v1/tokens/{token_id}")}
"""Would revoke the tokens this test signs in with."""


@pytest.fixture(scope="module")
def fuzzed(module_org: Any) -> Iterator[Any]:
    """The app's schema, the people's tokens, and one client to the app for every example.

    One client, not schemathesis' default of a new one per request: the same requests reach the app, without
    building a `requests` session per request and, with `trust_env` off, without reading the environment's
    proxy settings and looking for a `.netrc` on every request (together ~40% of the sending side's CPU)."""
    app = create_app(module_org.platform)
    tokens = {who: create_token(module_org.platform, who)[1] for who in ("admin", "carla")}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    try:
        with get_client(app) as client:
            client.trust_env = False
            yield schema, tokens, client
    finally:
        # schemathesis starts an app's lifespan once and keeps it running until the process exits: the app's
        # jobs scheduler went on ticking over this module's home for the rest of the worker's tests (and a test
        # that counts scheduler threads, run later on the same worker, found it).
        shutdown_lifespans()


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failing example of each operation is enough
)


def _check_as(case: Any, token: str, client: ASGIClient) -> None:
    client.cookies.clear()  # as from a new client: nothing the app set on an earlier response is sent back
    response = case.call(session=client, headers={"Authorization": f"Bearer {token}"})
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    content_type = (response.headers.get("content-type") or [""])[0]
    if response.status_code >= 400 and content_type.startswith("application/json"):
        detail = response.json().get("detail")
        assert isinstance(detail, str) and "\n" not in detail, f"{where}: {detail!r}"


@dataclass
class _Everyone:
    """The people each example is sent as (name -> token), the client that sends it, and the operation's failures so
    far, per person."""

    tokens: dict[str, str]
    client: ASGIClient
    failed: dict[str, str] = field(default_factory=dict)


def _check(case: Any, token: _Everyone) -> None:
    """`case` sent as every person who has not failed on this operation yet (their first failing example is
    enough, as when each person's examples stopped at it)."""
    for who, bearer in token.tokens.items():
        if who in token.failed:
            continue
        try:
            _check_as(case, bearer, token.client)
        except Exception as e:  # noqa: BLE001  (the other people's examples still run)
            token.failed[who] = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0]}"


def _fuzz(schema: Any, tokens: dict[str, str], client: ASGIClient) -> dict[str, list[str]]:
    """Every operation with its examples, each example sent as every person of `tokens`: per person, the
    failures, one line per failing operation.

    The examples are generated once and sent as each person: generating them is half of the work. They are
    the examples each person's own run had (`derandomize` seeds them from the source of `run`, unchanged)."""
    failures: dict[str, list[str]] = {who: [] for who in tokens}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    token = _Everyone(tokens, client)
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        token.failed = {}

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            _check(case, token)

        try:
            run()
        except Exception as e:  # noqa: BLE001  (generating the examples failed: a failure for everyone)
            why = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0]}"
            token.failed.update({who: why for who in tokens if who not in token.failed})
        for who, why in token.failed.items():
            failures[who].append(f"{operation.method.upper()} {operation.path}: {why}")
    return failures


@pytest.fixture(scope="module")
def fuzz_failures(fuzzed: Any) -> dict[str, list[str]]:
    schema, tokens, client = fuzzed
    return _fuzz(schema, tokens, client)


def test_no_input_is_a_server_error_for_an_admin(fuzz_failures: dict[str, list[str]]) -> None:
    assert not fuzz_failures["admin"], "\n".join(fuzz_failures["admin"])


def test_no_input_is_a_server_error_for_a_member(fuzz_failures: dict[str, list[str]]) -> None:
    assert not fuzz_failures["carla"], "\n".join(fuzz_failures["carla"])
