"""Readable syntax errors (sparql_api/syntax.py): the undeclared prefix named, whatever
the declarations' spelling, in time linear in the query."""

from __future__ import annotations

import time

import pyoxigraph as ox
import pytest

from sparql_api.syntax import syntax_error


def error_for(query: str):
    try:
        ox.Store().query(query)
    except SyntaxError as exc:
        return syntax_error(str(exc), query)
    raise AssertionError("the query parsed")


@pytest.mark.parametrize(
    "query",
    [
        "PREFIX ex: <http://ex/> SELECT * WHERE { ?s ex:p dip:Scenario }",
        "prefix ex:<http://ex/> SELECT * WHERE { ?s ex:p dip:Scenario }",
        "PREFIX ex:<http://ex/>\nPREFIX : <http://ex/>SELECT * WHERE { ?s :p dip:Scenario }",
        "PREFIXex:<http://ex/> SELECT * WHERE { ?s ex:p dip:Scenario }",
        "PREFIX:<http://ex/> SELECT * WHERE { ?s :p dip:Scenario }",
        # a PREFIX in a comment or a string declares nothing
        "# PREFIX dip: <x>\nSELECT * WHERE { ?s ?p dip:Scenario }",
    ],
)
def test_the_undeclared_prefix_is_named(query: str) -> None:
    err = error_for(query)
    assert err.details == {"prefix": "dip", "namespace": "https://w3id.org/dipkg/ontology#"}
    assert "PREFIX dip: <https://w3id.org/dipkg/ontology#>" in str(err)


@pytest.mark.parametrize(
    "query,column",
    [
        ("SELECT * WHERE { dip:x ?p ?o }", 18),
        ("SELECT * WHERE { ?s dip:p ?o }", 21),
        ("SELECT * WHERE { ?s ?p ?o FILTER(?o = dip:x) }", 39),
        ("SELECT * WHERE { ?s ?p ?o BIND(dip:f(?o) AS ?i) }", 32),
        ("SELECT * WHERE { ?s ?p ?o } ORDER BY dip:f(?o)", 38),
        ('SELECT * WHERE {\n  ?s ?p "贵州😀" .\n  dip:x ?p ?o }', 3),
    ],
)
def test_the_undeclared_prefix_is_named_wherever_it_is(query: str, column: int) -> None:
    """pyoxigraph says "Prefix not found" only for a name where its parser stops (an
    object); elsewhere it reports a later place and other words ("syntax error at 1:26:
    expected OPTIONAL" for a subject), which is what a user forgetting a PREFIX saw."""
    err = error_for(query)
    assert err.details == {"prefix": "dip", "namespace": "https://w3id.org/dipkg/ontology#"}
    assert (err.line, err.column) == (query.count("\n") + 1, column)


def test_an_undeclared_prefix_after_the_error_is_not_blamed() -> None:
    """The first error is what is reported: a prefix only used after it is left alone."""
    err = error_for("SELECT * WHERE { ?s ?p } LIMIT 1 dip:x")
    assert err.details is not None and "prefix" not in err.details


def test_declared_prefixes_are_read_in_linear_time() -> None:
    """A comment of ``PREFIX`` repeated to 64 KiB: the declarations' pattern tried at each
    one scanned the rest (5-6 s); a bound on this process's CPU time, not a benchmark."""
    query = "SELECT * WHERE { ?s ?p x:y } #" + "PREFIX" * 10900
    started = time.process_time()
    err = error_for(query)
    assert time.process_time() - started < 1.0
    assert err.details is not None and err.details["prefix"] == "x"


@pytest.mark.parametrize(
    "query,reason",
    [
        (
            "SELECT ?x WHERE { ?s ?p ?o } GROUP BY ?s",
            "the SELECT contains a variable that is unbound",
        ),
        (
            "SELECT (COUNT(*) AS ?s) ?s WHERE { ?s ?p ?o }",
            "the SELECT contains a variable that is unbound",
        ),
        ("SELECT * WHERE { <http://e.org/a b> ?p ?o }", "IRI parsing failed"),
    ],
)
def test_a_check_of_the_grammar_is_said_as_its_reason(query: str, reason: str) -> None:
    """The parser lists such checks among the tokens it expected ("expected one of "$",
    "(", ..., IF, TZ, The SELECT contains a variable that is unbound"): said as the reason,
    not as something to type."""
    err = error_for(query)
    assert str(err).endswith(f": {reason}"), str(err)
    assert "expected" not in str(err)
    assert err.details == {"reasons": [reason[0].upper() + reason[1:]]}
    assert err.line == 1 and err.column is not None


def test_tokens_are_still_the_expected_ones() -> None:
    """Keywords and punctuation stay what may come there (not reasons)."""
    err = error_for("SELECT * WHERE { ?s ?p ?o } LIMIT -1")
    assert err.details == {"expected": ["HAVING", "OFFSET", "OPTIONAL", "VALUES"]}
    assert error_for("SELECT * WHERE { ?s ?p }").details["expected"]  # type: ignore[index]


def test_a_quote_escaped_in_a_token_does_not_end_it() -> None:
    """An unclosed string: the parser expects '"\\""' among others; the escaped quote
    must not merge the list into one item (with the character class shown)."""
    err = error_for('SELECT * WHERE { ?s ?p "abc }')
    expected = err.details["expected"]  # type: ignore[index]
    assert len(expected) > 1 and not any("[" in w for w in expected), expected
