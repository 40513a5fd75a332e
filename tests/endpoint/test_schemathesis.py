"""schemathesis against the real server's /openapi.json (loopback only, bounded examples)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


@pytest.mark.slow
def test_no_server_errors_and_responses_conform(server: Server) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} >= {("GET", "/sparql"), ("POST", "/sparql"),
                                                                   ("GET", "/health")}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            # any string is a schema-valid `query`, few are SPARQL: a 400 for them is right
            case.call_and_validate(timeout=30, excluded_checks=[positive_data_acceptance])

        check()
