"""schemathesis against the real server's /openapi.json (loopback only, bounded examples)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.endpoint.conftest import Server

QUERIES = [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 3",
    "ASK { ?s ?p ?o }",
    "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 3",
    "DESCRIBE ?s WHERE { ?s ?p ?o } LIMIT 1",
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "INSERT DATA { <a> <b> <c> }",
    "SELECT * WHERE { ?s ?p",
]
query_bytes = st.one_of(
    st.sampled_from(QUERIES).map(str.encode),
    st.text(max_size=200).map(str.encode),
    st.binary(max_size=64),
)
schemathesis.openapi.media_type("application/sparql-query", query_bytes)


MINE = {"/sparql", "/query", "/health"}


@pytest.mark.slow
def test_no_server_errors_and_responses_conform(server: Server) -> None:
    """Every operation of the app: no 5xx. The endpoint's own operations: every check."""
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} >= {
        ("GET", "/sparql"),
        ("POST", "/sparql"),
        ("GET", "/health"),
    }
    calls: dict[str, int] = {}
    for operation in operations:
        _fuzz(operation, mine=operation.path in MINE, calls=calls)
    print("schemathesis calls per operation:", calls)
    assert sum(calls.values()) >= 100


def _fuzz(operation, *, mine: bool, calls: dict[str, int]) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy())
    @settings(
        max_examples=150 if mine else 25,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        calls[label] = calls.get(label, 0) + 1
        if mine:
            # any string is a schema-valid `query`, few are SPARQL: a 400 for them is right
            case.call_and_validate(timeout=30, excluded_checks=[positive_data_acceptance])
        else:  # other features' routes (pages, dumps...): their own tests check conformance
            case.call_and_validate(timeout=30, checks=[not_a_server_error])

    check()
